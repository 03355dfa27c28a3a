# pyright: strict
"""The customer mirror on dlt: a resource over `store.customers.sync()` and the run behind the CLI."""

from __future__ import annotations

import logging
import os
import threading
from array import array
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Full, Queue
from typing import Any, cast

import dlt
from dlt.common.destination import TLoaderFileFormat
from dlt.common.destination.exceptions import SqlClientNotAvailable
from dlt.common.pipeline import LoadInfo
from dlt.common.schema.typing import TColumnSchema
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.extract.resource import DltResource

from .._client import Store
from .._constants import MAX_PAGE_SIZE
from .._customers import SyncRun
from .._sync import DEFAULT_LAG, DEFAULT_MAX_CLOCK_SKEW, SyncWindow, parse_watermark
from ._plan import (
    DATASET,
    DEFAULT_INTO,
    DELETED_AT,
    FILE_FORMATS,
    ID_FIELD,
    PIPELINE,
    TABLE,
    column_hints,
    destination,
    gone,
)

logger = logging.getLogger("threedcart.mirror")

BATCH = MAX_PAGE_SIZE
"""Customers handed to dlt at once (one list per page read): dlt's extract takes lists much faster."""
CHUNK = 20_000
"""Customers per load of `run()`: dlt normalises and loads one chunk while the next is read."""
QUEUED_BATCHES = 16
"""Batches (of up to 500 customers) read ahead of the load: the memory a mirror holds besides dlt's."""
DUCKDB_SETTINGS: dict[str, Any] = {"memory_limit": "64MB", "threads": 1, "preserve_insertion_order": False}
"""DuckDB's settings in a mirror into a DuckDB file. Its buffer pool keeps the table's blocks cached
up to the memory limit (80% of the machine's by default), so a mirror's memory would grow with the
table: 64 MB holds one JSON reader's 32 MiB buffer (one thread: two would need 64 MiB at once) and
the merge's working set, and the rest spills to disk. Row order means nothing in the table."""
DELETE_BATCH = 1000
"""Ids per DELETE or UPDATE statement of a reconciliation."""


class MirrorError(Exception):
    """A mirror that must not run: another store's mirror in the dataset, reconciling a destination
    that has no SQL client. (API errors raise the SDK's own errors; dlt's raise its own.)"""


@dataclass
class SyncOutcome:
    """What the `customers` resource's sync run ended in (filled once the resource was read)."""

    read: int = 0
    """Customers read (each once) and handed to dlt."""
    since: datetime | None = None
    """The watermark the run started from (None: the beginning)."""
    complete: bool | None = None
    """True when the window was proven complete (the watermark moved to `next_since`)."""
    reason: str = ""
    """Why it is not complete."""
    window: SyncWindow | None = None
    next_since: datetime | None = None
    passes: int = 0


def _same_store(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


@dataclass
class _Sync:
    """How a mirror reads the store: the sync run from the watermark in the resource's state, and
    the state after it."""

    store: Store
    lag: float
    concurrency: int
    max_clock_skew: float | None
    page_size: int
    full: bool
    outcome: SyncOutcome

    def start(self, state: MutableMapping[str, Any]) -> SyncRun:
        mirrored = state.get("secure_url")
        if isinstance(mirrored, str) and not _same_store(mirrored, self.store.secure_url):
            raise MirrorError(
                f"this dataset mirrors {mirrored}, not {self.store.secure_url}: "
                "give each store its own dataset"
            )
        stored = state.get("next_since")
        since = None
        if isinstance(stored, str) and not self.full:
            since = parse_watermark(stored, self.store.store_tz)
        skew = state.get("clock_skew")
        self.outcome.since = since
        return self.store.customers.sync(
            since,
            lag=self.lag,
            page_size=self.page_size,
            concurrency=self.concurrency,
            max_clock_skew=self.max_clock_skew,
            last_clock_skew=timedelta(seconds=skew) if isinstance(skew, int | float) else None,
        )

    def finish(self, state: MutableMapping[str, Any], run: SyncRun) -> None:
        result = self.outcome
        result.complete, result.reason = run.complete, run.reason
        result.window, result.next_since, result.passes = run.window, run.next_since, run.passes
        if run.complete and run.next_since is not None:
            # only now, and only in the state that is loaded with the last of these rows
            state["next_since"] = run.next_since.isoformat()
            state["clock_skew"] = None if run.clock_skew is None else run.clock_skew.total_seconds()
            state["secure_url"] = self.store.secure_url
        elif run.complete is False:
            logger.warning("mirror: %s; the watermark stays", run.reason)


def _resource(rows: Iterator[list[dict[str, Any]]]) -> DltResource:
    return dlt.resource(
        rows,
        name=TABLE,
        write_disposition="merge",
        primary_key=ID_FIELD,
        columns=cast("dict[str, TColumnSchema]", column_hints()),
        max_table_nesting=0,
    )


def customers(
    store: Store,
    *,
    lag: float = DEFAULT_LAG,
    concurrency: int = 4,
    max_clock_skew: float | None = DEFAULT_MAX_CLOCK_SKEW,
    page_size: int = MAX_PAGE_SIZE,
    full: bool = False,
    outcome: SyncOutcome | None = None,
) -> DltResource:
    """A dlt resource of the store's customers, merged into the table `customers` by CustomerID.

    Each run reads `store.customers.sync()` from the watermark kept in the resource's state
    (`dlt.current.resource_state()`), so the watermark is stored in the destination with the rows
    of the same load; it moves only when the sync run proves its window complete (else the rows
    read are loaded and the next run reads the window again; `outcome.complete` is False).
    Columns come from the spec's Customer (`column_hints()`): arrays and objects are one JSON
    column each (`max_table_nesting=0`), and a field the spec (or the service) adds becomes a
    column at the next run (rows read before keep it null until their customer changes: `full`
    reads every customer again, from the beginning). Pass `outcome` to learn how the run ended.

        pipeline = dlt.pipeline("threedcart_customers", destination="duckdb", dataset_name="threedcart")
        pipeline.run(threedcart.mirror.customers(store))
    """
    result = outcome if outcome is not None else SyncOutcome()
    sync = _Sync(store, lag, concurrency, max_clock_skew, page_size, full, result)

    def rows() -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state(TABLE)
        run = sync.start(state)
        batch: list[dict[str, Any]] = []
        for customer in run:
            batch.append(customer.to_dict())
            if len(batch) >= BATCH:
                result.read += len(batch)
                yield batch
                batch = []
        if batch:
            result.read += len(batch)
            yield batch
        sync.finish(state, run)

    return _resource(rows())


_END = object()


class _Feed:
    """A sync run read in a thread of its own, a batch at a time, into a bounded queue: the loads
    of `run()` take their rows from it while the next ones are read (dlt normalises and loads one
    chunk while the store, rate-limited, answers the pages of the next)."""

    def __init__(self, run: SyncRun, batch: int = BATCH, queued: int = QUEUED_BATCHES) -> None:
        self.run = run
        self._batch = batch
        self.finished = False
        self._queue: Queue[object] = Queue(maxsize=queued)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="threedcart-mirror-reader", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def _read(self) -> None:
        try:
            batch: list[dict[str, Any]] = []
            for customer in self.run:
                batch.append(customer.to_dict())
                if len(batch) >= self._batch:
                    if not self._put(batch):
                        return  # closed: leaving the loop abandons the run's pages
                    batch = []
            if batch and not self._put(batch):
                return
            self._put(_END)
        except BaseException as exc:  # handed to the loading thread, which raises it
            self._put(exc)

    def batches(self, limit: int) -> Iterator[list[dict[str, Any]]]:
        """Batches up to about `limit` customers, or up to the end of the run (`finished`)."""
        taken = 0
        while taken < limit:
            item = self._queue.get()
            if item is _END:
                self.finished = True
                return
            if isinstance(item, BaseException):
                raise item
            batch = cast("list[dict[str, Any]]", item)
            taken += len(batch)
            yield batch

    def close(self) -> None:
        """Stop reading (the run ended, or a load failed): the reader leaves the run."""
        self._stop.set()
        self._thread.join(timeout=5)


def _load_in_chunks(
    pipeline: dlt.Pipeline, sync: _Sync, options: dict[str, Any], chunk: int
) -> list[LoadInfo]:
    """The sync run in loads of about `chunk` customers, each read while the one before loads; the
    watermark is in the state of the last load only (a run killed between two loads reads the
    window again, and its rows are merged again)."""
    feed: _Feed | None = None
    loads: list[LoadInfo] = []

    def rows() -> Iterator[list[dict[str, Any]]]:
        nonlocal feed
        state = dlt.current.resource_state(TABLE)
        if feed is None:
            feed = _Feed(sync.start(state), batch=min(BATCH, chunk))
        for batch in feed.batches(chunk):
            sync.outcome.read += len(batch)
            yield batch
        if feed.finished:
            sync.finish(state, feed.run)

    try:
        while True:
            loads.append(pipeline.run(_resource(rows()), **options))
            if feed is None or feed.finished:
                return loads
    finally:
        if feed is not None:
            feed.close()


@dataclass
class MirrorResult:
    """What `run` did: the sync's outcome, and the rows inserted, updated and deleted."""

    destination: str
    sync: SyncOutcome
    inserted: int | None
    """New rows (None when the destination has no SQL client to count with)."""
    updated: int | None
    """Rows replaced by a newer read of their customer."""
    deleted: int = 0
    """Rows removed (or, with soft delete, marked) by the reconciliation."""
    soft_delete: bool = False
    reconciled: bool = False
    store_customers: int | None = None
    """Customers the reconciliation found in the store."""
    rows: int | None = None
    """Rows in the table after the run (soft-deleted ones included)."""
    loads: list[LoadInfo] = field(default_factory=lambda: [])

    @property
    def complete(self) -> bool:
        """The sync window was proven complete (and the watermark moved)."""
        return bool(self.sync.complete)

    def summary(self) -> str:
        """One line: inserted, updated, deleted."""
        n = "?"
        inserted = n if self.inserted is None else f"{self.inserted:,}"
        updated = n if self.updated is None else f"{self.updated:,}"
        verb = "marked deleted" if self.soft_delete else "deleted"
        line = f"inserted {inserted}, updated {updated}, {verb} {self.deleted:,}"
        if not self.reconciled:
            line += " (not reconciled)"
        return line


def pipeline_for(
    into: str = DEFAULT_INTO, *, dataset: str = DATASET, pipelines_dir: str | os.PathLike[str] | None = None
) -> dlt.Pipeline:
    """The dlt pipeline of a mirror into `into` (see `run`). Its local working folder is
    `pipelines_dir/mirror-<hash of the destination without secrets and the dataset>` (default
    `pipelines_dir`: `$THREEDCART_MIRROR_DIR`, else dlt's `~/.dlt/pipelines`), so that
    mirrors into different destinations never share a local state; the state that counts is the
    one stored in the destination."""
    target = destination(into)
    base = pipelines_dir or os.environ.get("THREEDCART_MIRROR_DIR") or None
    base_dir = Path(base) if base else Path.home() / ".dlt" / "pipelines"
    folder = base_dir / f"{target.work_folder}-{dataset}"
    if target.name == "duckdb" and target.credentials is not None:
        # a bounded buffer pool spills to disk, so a mirror's memory stays flat (DUCKDB_SETTINGS)
        dest: Any = dlt.destinations.duckdb(
            DuckDbCredentials(target.credentials, global_config=dict(DUCKDB_SETTINGS))
        )
    elif target.name == "postgres" and target.credentials is not None:
        dest = dlt.destinations.postgres(target.credentials)
    elif target.credentials is not None:
        dest = dlt.destination(target.name, credentials=target.credentials)  # pyright: ignore[reportUnknownMemberType]
    else:
        dest = target.name
    return dlt.pipeline(
        pipeline_name=PIPELINE, destination=dest, dataset_name=dataset, pipelines_dir=str(folder)
    )


def _column(pipeline: dlt.Pipeline, name: str) -> str:
    return pipeline.default_schema.naming.normalize_identifier(name)


def _count(pipeline: dlt.Pipeline) -> int | None:
    """Rows in the table (0 when it does not exist yet); None without a SQL client."""
    if not pipeline.default_schema_name:
        return 0
    try:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(TABLE)
            with client.execute_query(f"SELECT COUNT(*) FROM {table}") as cursor:
                row = cursor.fetchone()
            return int(row[0]) if row else 0
    except SqlClientNotAvailable:
        return None
    except DatabaseUndefinedRelation:
        return 0


def _mirrored_ids(pipeline: dlt.Pipeline, soft_delete: bool) -> array[int]:
    """Every CustomerID in the table (not yet marked deleted), in increasing order."""
    key = _column(pipeline, ID_FIELD)
    ids: array[int] = array("q")
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name(TABLE)
        key_sql = client.escape_column_name(key)
        where = (
            f" WHERE {client.escape_column_name(_column(pipeline, DELETED_AT))} IS NULL"
            if soft_delete
            else ""
        )
        try:
            with client.execute_query(f"SELECT {key_sql} FROM {table}{where} ORDER BY {key_sql}") as cursor:
                while chunk := cursor.fetchmany(10_000):
                    ids.extend(int(row[0]) for row in chunk)
        except DatabaseUndefinedRelation:
            pass
    return ids


def _store_ids(store: Store, concurrency: int) -> array[int]:
    """Every CustomerID of the store, in increasing order (`iter()`: a customer that exists from
    start to end is read exactly once; 8 bytes per customer)."""
    ids: array[int] = array("q")
    ordered = True
    for customer in store.customers.iter(concurrency=concurrency):
        key = customer.customer_id
        if not isinstance(key, int):
            continue
        if ids and key < ids[-1]:
            ordered = False
        ids.append(key)
    return ids if ordered else array("q", sorted(ids))


def reconcile(
    pipeline: dlt.Pipeline, store: Store, *, soft_delete: bool = False, concurrency: int = 4
) -> tuple[int, int]:
    """Remove (or mark with `_deleted_at`) the rows whose customer the store no longer has; the
    rows changed and the store's customers. Costs one `iter()` of the store: ⌈N/499⌉ + 1
    requests for N customers (pages of 500 that overlap by one)."""
    existing = _store_ids(store, concurrency)
    stale = list(gone(_mirrored_ids(pipeline, soft_delete), existing))
    if not stale:
        return 0, len(existing)
    changed = 0
    now = datetime.now(UTC)
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name(TABLE)
        key_sql = client.escape_column_name(_column(pipeline, ID_FIELD))
        deleted_sql = client.escape_column_name(_column(pipeline, DELETED_AT))
        with client.begin_transaction():
            for start in range(0, len(stale), DELETE_BATCH):
                ids = ", ".join(str(int(i)) for i in stale[start : start + DELETE_BATCH])
                if soft_delete:
                    client.execute_sql(
                        f"UPDATE {table} SET {deleted_sql} = %s WHERE {key_sql} IN ({ids})"
                        f" AND {deleted_sql} IS NULL",
                        now,
                    )
                else:
                    client.execute_sql(f"DELETE FROM {table} WHERE {key_sql} IN ({ids})")
                changed += min(DELETE_BATCH, len(stale) - start)
    return changed, len(existing)


def run(
    store: Store,
    destination: str = DEFAULT_INTO,
    *,
    reconcile: bool = False,
    soft_delete: bool = False,
    full: bool = False,
    dataset: str = DATASET,
    lag: float = DEFAULT_LAG,
    concurrency: int = 4,
    max_clock_skew: float | None = DEFAULT_MAX_CLOCK_SKEW,
    pipelines_dir: str | os.PathLike[str] | None = None,
    pipeline: dlt.Pipeline | None = None,
    on_loaded: Callable[[MirrorResult], None] | None = None,
    loader_file_format: TLoaderFileFormat | None = None,
    chunk: int = CHUNK,
) -> MirrorResult:
    """Mirror the store's customers into `destination` (a URL, see `pipeline_for`) and return what
    changed: one table `customers`, each customer at its latest version, keyed by CustomerID.

    A load package a killed run left behind is loaded first. Then the customers updated since the
    watermark stored in the destination are merged in; the watermark moves with them, in the same
    load, and only when the window is proven complete (`result.complete`; else run again). With
    `full`, every customer is read again (from the beginning; after a spec change, to fill a new
    column in every row). With `reconcile`, every CustomerID of the store is read afterwards and
    the rows of customers that no longer exist are deleted, or with `soft_delete` marked in
    `_deleted_at`. Inserted and updated are counted from the table's rows before and after the load.
    `loader_file_format`: dlt's load files (default: `FILE_FORMATS` of the destination, else dlt's
    choice). The rows go in loads of about `chunk` customers, each read while the one before is
    loaded (a rate-limited store keeps answering meanwhile); the watermark moves with the last.
    """
    pipeline = pipeline or pipeline_for(destination, dataset=dataset, pipelines_dir=pipelines_dir)
    loads: list[LoadInfo] = []
    outcome = SyncOutcome()
    sync = _Sync(store, lag, concurrency, max_clock_skew, MAX_PAGE_SIZE, full, outcome)
    try:
        pipeline.sync_destination()
        if pipeline.has_pending_data:
            # a run killed after it extracted: load what it read (its rows and its state) first
            loads.append(pipeline.run())
        before = _count(pipeline)
        file_format = loader_file_format or FILE_FORMATS.get(pipeline.destination.destination_name)
        options: dict[str, Any] = {} if file_format is None else {"loader_file_format": file_format}
        loads += _load_in_chunks(pipeline, sync, options, chunk)
    except Exception:
        # dlt keeps the state of an extracted load locally even when its load then fails for
        # good: the next run would start from a watermark whose rows never arrived. Forget the
        # local working folder instead; the next run restores the state from the destination
        # (the last load that finished) and reads that window again.
        pipeline.drop()
        raise
    after = _count(pipeline)
    inserted = None if before is None or after is None else after - before
    updated = None if inserted is None else max(outcome.read - inserted, 0)
    result = MirrorResult(
        destination=destination, sync=outcome, inserted=inserted, updated=updated, loads=loads
    )
    result.soft_delete = soft_delete
    if on_loaded is not None:
        on_loaded(result)
    if reconcile:
        if after is None:
            raise MirrorError(
                f"{pipeline.destination.destination_name} has no SQL client: it cannot reconcile"
            )
        result.deleted, result.store_customers = _reconcile(
            pipeline, store, soft_delete=soft_delete, concurrency=concurrency
        )
        result.reconciled = True
    result.rows = _count(pipeline)
    return result


_reconcile = reconcile

# pyright: strict
"""`threedcart customers mirror`: the customers in a database (registered on `customers_app` by `_app`).

The mirror itself is `threedcart.mirror`, which needs the `mirror` extra (dlt); it is imported
when the command runs, so no other command loads dlt.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from .._constants import install_hint
from .._sync import DEFAULT_LAG, DEFAULT_MAX_CLOCK_SKEW
from ..errors import ThreeDCartError
from ._app import CLIError, ClockSkewOpt, ConcurrencyOpt, LagOpt, _store, customers_app  # pyright: ignore[reportPrivateUsage]  (the CLI's own helpers)
from ._output import clean, say_error

USAGE_ERROR = 2
_INSTALL = install_hint("mirror")
_DEFAULT_INTO = "duckdb:///customers.duckdb"


def _fail(message: str, code: int = 1) -> typer.Exit:
    say_error(clean(message))
    return typer.Exit(code)


def _cause(exc: BaseException) -> BaseException:
    """The error under dlt's wrappers (`PipelineStepFailed` and the like): the SDK's, or the innermost."""
    seen: set[int] = set()
    current: BaseException | None = exc
    innermost = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ThreeDCartError | CLIError):
            return current
        innermost = current
        nested = getattr(current, "exception", None)
        current = nested if isinstance(nested, BaseException) else (current.__cause__ or current.__context__)
    return innermost


@customers_app.command("mirror")
def mirror_cmd(
    ctx: typer.Context,
    into: Annotated[
        str,
        typer.Option(
            "--into",
            help="Where to: duckdb:///FILE (the default, customers.duckdb here), "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE, or a dlt destination by name "
            "(bigquery, snowflake, ...: settings from dlt's config or environment).",
            envvar="THREEDCART_MIRROR_INTO",
            show_default=False,
        ),
    ] = _DEFAULT_INTO,
    reconcile: Annotated[
        bool,
        typer.Option(
            "--reconcile",
            help="Also read every CustomerID of the store and delete the rows of customers that no "
            "longer exist (one page request per 499 customers).",
        ),
    ] = False,
    soft_delete: Annotated[
        bool,
        typer.Option(
            "--soft-delete",
            help="With --reconcile (implied): mark such rows in _deleted_at instead of deleting them.",
        ),
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Read every customer again, not only those updated since the last run (e.g. to "
            "fill a column the spec added in rows that have not changed since).",
        ),
    ] = False,
    dataset: Annotated[
        str, typer.Option(help="The dataset (a schema in DuckDB and PostgreSQL) of the table.")
    ] = "threedcart",
    lag: LagOpt = DEFAULT_LAG,
    max_clock_skew: ClockSkewOpt = DEFAULT_MAX_CLOCK_SKEW,
    concurrency: ConcurrencyOpt = 4,
    work_dir: Annotated[
        Path | None,
        typer.Option(
            "--work-dir",
            help="dlt's local working folder (default ~/.dlt/pipelines); the state that counts is "
            "stored in the destination.",
            envvar="THREEDCART_MIRROR_DIR",
        ),
    ] = None,
) -> None:
    """Mirror the store's customers into a database table, exact after every run.

    Merges the customers updated since the last run into the table `customers` (one row per
    CustomerID, columns from the spec) and stores the watermark in the destination with them,
    in the same load; a run killed at any point loses nothing and the next one resumes. A run
    that cannot prove its window complete loads what it read, keeps the watermark and exits 1.
    Prints what it inserted, updated and deleted.

    Example: threedcart customers mirror --into postgresql://mirror@localhost/crm --reconcile
    """
    # dlt sends anonymous usage figures unless told not to; a command line should not phone home
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    # the run's outcome is the one line below; the library's warning about it would repeat it
    logging.getLogger("threedcart.mirror").addHandler(logging.NullHandler())
    try:
        from .. import mirror
    except ModuleNotFoundError as exc:
        raise _fail(
            f"mirror needs the mirror extra ({exc.name} is missing): {_INSTALL}", USAGE_ERROR
        ) from None
    # before any thread starts: one malloc arena per thread would grow the run's memory with the
    # store's size (MALLOC_ARENA_MAX, when set, stands)
    mirror.limit_malloc_arenas()
    try:
        mirror.destination(into)
    except ValueError as exc:
        raise _fail(str(exc), USAGE_ERROR) from None
    shown = mirror.redact(into)
    secret = urlsplit(into).password if "://" in into else None

    def scrub(text: str) -> str:
        """dlt's and the drivers' messages may quote the URL: never with its password."""
        text = text.replace(into, shown)
        return text.replace(secret, "***") if secret else text

    started = time.perf_counter()
    try:
        with _store(ctx) as store:
            result = mirror.run(
                store,
                into,
                reconcile=reconcile or soft_delete,
                soft_delete=soft_delete,
                full=full,
                dataset=dataset,
                lag=lag,
                concurrency=concurrency,
                max_clock_skew=max_clock_skew,
                pipelines_dir=work_dir,
            )
    except (CLIError, mirror.MirrorError, ValueError) as exc:
        raise _fail(scrub(str(exc))) from None
    except Exception as exc:  # dlt wraps what stopped a step (the SDK's errors included)
        cause = _cause(exc)
        name = "" if isinstance(cause, CLIError) else f"{type(cause).__name__}: "
        raise _fail(scrub(f"mirror failed: {name}{cause}")) from None
    seconds = time.perf_counter() - started
    sync = result.sync
    since = sync.since.isoformat() if sync.since else "the beginning"
    if not result.complete:
        if sync.window is None:  # the store's clock is not sane: nothing was read
            raise _fail(f"mirror refused: {sync.reason}; the watermark stays at {since}")
        raise _fail(
            f"mirror incomplete: {sync.reason}; {sync.read} customers loaded into {shown}: "
            f"{result.summary()}; the watermark stays at {since}"
        )
    window = sync.window.describe() if sync.window is not None else "nothing to sync yet"
    after = sync.next_since.isoformat() if sync.next_since else since
    sys.stdout.write(
        clean(
            f"mirrored {sync.read} customers into {shown} in {seconds:.1f} s: {result.summary()} "
            f"(window {window}, {result.rows if result.rows is not None else '?'} rows); "
            f"next run from {after}"
        )
        + "\n"
    )

"""`threedcart.mirror` and `threedcart customers mirror`: the store's customers in DuckDB and in a real
PostgreSQL 15 (a throwaway cluster, tests/_postgres.py), against the mock.

The guarantee checked: after a run that starts at least `lag` seconds after the last write (with
`--reconcile` for deletes), the table equals the store exactly: the same CustomerIDs, and every field
of every row equal to the store's (read through the SDK); also after a writer changed the store
throughout the runs before (mock with `--bodiless-errors`), and after 5 runs killed with SIGKILL at
random points. Deletes vanish with `--reconcile` (or are marked with `--soft-delete`); a customer
deleted and re-created is both; a run that cannot prove its window exits 1 and leaves the watermark
stored in the destination as it was; a field the spec adds is a column that fills.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psycopg2
import pytest
import threedcart
import yaml
from _postgres import PostgresCluster
from conftest import API, SPEC, store_kwargs
from threedcart.mirror import _plan
from threedcart_mock.testing import MockServer

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # dlt: no usage figures from the tests
from dlt.common.normalizers.naming.snake_case import NamingConvention
from threedcart import mirror

# An imported subpackage is an attribute of its package, and tests/test_sdk_units.py checks that
# `threedcart` has no public attribute beyond `__all__` (it ignores the optional `contract` only):
# under xdist this module and that test share workers. `mirror` stays in sys.modules.
vars(threedcart).pop("mirror", None)

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "threedcart"]
NAMING = NamingConvention()
LAG = 1.0
SETTLE = LAG + 1.1  # the Date header counts whole seconds: a run this long after a write sees it
FAST = 20
"""Store seconds per real second of the mock in the functional test (its runs trust the store's clock)."""


# --- the pure part: columns, destinations, the reconciliation's walk ------------------------------
def test_columns_follow_the_spec_and_a_field_it_adds() -> None:
    columns = _plan.column_hints()
    assert list(columns)[: len(SPEC["components"]["schemas"]["Customer"]["properties"])] == list(
        SPEC["components"]["schemas"]["Customer"]["properties"]
    )
    assert columns["CustomerID"]["primary_key"] and not columns["CustomerID"]["nullable"]
    assert columns["Email"]["data_type"] == "text" and columns["Email"]["nullable"]
    assert columns["Enabled"]["data_type"] == "bool"
    assert columns["TotalStoreCredit"]["data_type"] == "double"
    assert columns["CustomerGroupID"]["data_type"] == "bigint"
    assert columns[mirror.DELETED_AT]["data_type"] == "timestamp"
    grown = {
        **_plan.CUSTOMER_FIELDS,
        "XTestPoints": {"type": "integer", "format": "int32"},
        "XTestTags": {"type": "array", "items": {"type": "string"}},
        "XTestPrefs": {"type": "object", "properties": {"XTestChannel": {"type": "string"}}},
        "XTestRef": {"allOf": [{"type": "number"}], "nullable": True},
        "XTestEither": {"type": ["null", "boolean"]},
        "XTestAny": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    }
    added = {
        name: c["data_type"] for name, c in _plan.column_hints(grown).items() if name.startswith("XTest")
    }
    assert added == {
        "XTestPoints": "bigint",
        "XTestTags": "json",
        "XTestPrefs": "json",
        "XTestRef": "double",
        "XTestEither": "bool",
        "XTestAny": "json",
    }


def _pair(into: str) -> tuple[str, str | None]:
    target = _plan.destination(into)
    return target.name, target.credentials


def test_destinations_from_urls() -> None:
    assert _pair("duckdb:///customers.duckdb") == ("duckdb", "customers.duckdb")
    assert _pair("duckdb:////var/m.duckdb") == ("duckdb", "/var/m.duckdb")
    pg = _plan.destination("postgresql://u:pw@db.example:5433/crm")
    assert (pg.name, pg.credentials) == ("postgres", "postgresql://u:pw@db.example:5433/crm")
    assert "pw" not in pg.identity and pg.identity == "postgresql://u@db.example:5433/crm"
    assert pg.work_folder == _plan.destination("postgresql://u:other@db.example:5433/crm").work_folder
    assert pg.work_folder != _plan.destination("postgresql://u:pw@db.example:5433/other").work_folder
    assert _pair("bigquery") == ("bigquery", None)
    assert _pair("snowflake://u:p@acct/db") == ("snowflake", "snowflake://u:p@acct/db")
    for bad in ("", "duckdb://", "not a name"):
        with pytest.raises(ValueError):
            _plan.destination(bad)
    assert _plan.redact("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert _plan.redact("duckdb:///x.duckdb") == "duckdb:///x.duckdb"


def test_gone_is_a_merge_walk() -> None:
    assert list(_plan.gone([1, 2, 3, 5, 8], [2, 3, 4, 8, 9])) == [1, 5]
    assert list(_plan.gone([1, 2], [])) == [1, 2]
    assert list(_plan.gone([], [1])) == []
    rng = random.Random(4)
    for _ in range(50):
        a = sorted(rng.sample(range(200), 40))
        b = sorted(rng.sample(range(200), 60))
        assert list(_plan.gone(a, b)) == [x for x in a if x not in set(b)]


# --- servers and helpers ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    if not PostgresCluster.available():
        pytest.fail("PostgreSQL's initdb is missing: apt-get install postgresql-15 (make test installs it)")
    with PostgresCluster() as cluster:
        yield cluster


_databases = iter(range(1, 1000))


@pytest.fixture(params=["duckdb", "postgres"])
def into(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh destination URL: a DuckDB file, or a new database of the module's PostgreSQL cluster."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path}/mirror.duckdb"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database(f"mirror{next(_databases)}")


def table(into: str, dataset: str = mirror.DATASET) -> dict[int, dict[str, Any]]:
    """The mirrored table by CustomerID, dlt's own columns left out, JSON columns parsed."""
    target = _plan.destination(into)
    query = f"SELECT * FROM {dataset}.{mirror.TABLE}"
    if target.name == "duckdb":
        assert target.credentials is not None
        with duckdb.connect(target.credentials, read_only=True) as con:
            cursor = con.execute(query)
            names = [d[0] for d in cursor.description]
            found = cursor.fetchall()
    else:
        con = psycopg2.connect(into)
        try:
            with con.cursor() as cur:
                cur.execute(query)
                names = [d[0] for d in cur.description]
                found = cur.fetchall()
        finally:
            con.close()
    rows: dict[int, dict[str, Any]] = {}
    for values in found:
        row = {n: v for n, v in zip(names, values, strict=True) if not n.startswith("_dlt_")}
        rows[row["customer_id"]] = row
    return rows


def store_customers(store: threedcart.Store) -> dict[int, dict[str, Any]]:
    """Every customer of the store through the SDK, by CustomerID, with the table's column names."""
    found: dict[int, dict[str, Any]] = {}
    for customer in store.customers.iter():
        row = {NAMING.normalize_identifier(k): v for k, v in customer.to_dict().items()}
        found[row["customer_id"]] = row
    return found


def assert_exact(into: str, store: threedcart.Store, *, soft_deleted: set[int] | None = None) -> None:
    """The table's live rows equal the store: the same ids, every field of every row."""
    rows = table(into)
    expected = store_customers(store)
    live = {k: v for k, v in rows.items() if v.get(mirror.DELETED_AT) is None}
    marked = {k for k, v in rows.items() if v.get(mirror.DELETED_AT) is not None}
    assert sorted(live.keys() - expected.keys()) == [], "rows of customers the store does not have"
    assert sorted(expected.keys() - live.keys()) == [], "customers missing from the table"
    if soft_deleted is not None:
        assert marked == soft_deleted
    for key, customer in expected.items():
        row = live[key]
        for column, value in customer.items():
            got = row[column]
            if isinstance(value, list | dict) and isinstance(got, str):
                got = json.loads(got)
            assert got == value, f"customer {key}: {column} is {got!r} in the table, {value!r} in the store"
        for column in row.keys() - customer.keys() - {mirror.DELETED_AT}:
            assert row[column] is None, f"customer {key}: {column} has {row[column]!r}, the store has none"


def cli_env(server: MockServer, work: Path) -> dict[str, str]:
    h = server.headers
    return {
        **os.environ,
        "THREEDCART_SECURE_URL": h["SecureURL"],
        "THREEDCART_PRIVATE_KEY": h["PrivateKey"],
        "THREEDCART_TOKEN": h["Token"],
        "THREEDCART_BASE_URL": server.url,
        "THREEDCART_MIRROR_DIR": str(work),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


def cli_mirror(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "customers", "mirror", "--lag", str(LAG), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _customer(n: int) -> dict[str, Any]:
    return {"Email": f"mirror{n}@example.com", "Password": "", "BillingCity": f"City {n}"}


def _stored_watermark(into: str, work: Path) -> str | None:
    """The watermark in the destination (read through a fresh local folder: nothing cached)."""
    pipeline = mirror.pipeline_for(into, pipelines_dir=work)
    pipeline.sync_destination()
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("next_since"), str):
                found.append(node["next_since"])
            for value in node.values():
                walk(value)

    walk(dict(pipeline.state))
    return found[0] if found else None


# --- runs against the mock ----------------------------------------------------------------------
def test_changes_deletes_and_a_recreated_customer(into: str, tmp_path: Path) -> None:
    settle = SETTLE / FAST
    with MockServer(["--seed-customers", "120", "--random-seed", "3", "--clock-speed", str(FAST)]) as server:
        with threedcart.Store(**store_kwargs(server)) as store:
            work = tmp_path / "work"

            def run(**options: Any) -> mirror.MirrorResult:
                return mirror.run(store, into, lag=LAG, max_clock_skew=None, pipelines_dir=work, **options)

            first = run(chunk=50)  # three loads, each read while the one before loads
            assert first.complete and (first.inserted, first.updated, first.deleted) == (120, 0, 0)
            assert len(first.loads) == 3
            assert first.rows == 120
            assert_exact(into, store)

            ids = sorted(store_customers(store))
            store.customers.update(ids[0], {"BillingCity": "Changed", "MailList": True})
            store.customers.update(ids[1], {"Comments": "ünïcode ✓ 'quotes' \"and\" \\"})
            new_id = store.customers.create(_customer(1))
            gone_id = ids[2]
            store.customers.delete(gone_id)
            time.sleep(settle)
            second = run()
            assert (second.inserted, second.updated, second.deleted) == (1, 2, 0)
            assert gone_id in table(into), "a delete is not seen without --reconcile"

            # a customer deleted and re-created (a new id): both
            recreated = store.customers.get(ids[3]).to_dict()
            store.customers.delete(ids[3])
            recreated.pop("CustomerID")
            recreated.pop("TotalStoreCredit", None)
            again = store.customers.create(recreated)
            time.sleep(settle)
            third = run(reconcile=True)
            assert third.reconciled and third.store_customers == 120
            assert (third.inserted, third.updated, third.deleted) == (1, 0, 2)
            assert_exact(into, store)
            assert {new_id, again} <= table(into).keys()
            assert not {gone_id, ids[3]} & table(into).keys()

            # soft delete: the row stays, marked
            store.customers.delete(ids[4])
            time.sleep(settle)
            fourth = run(reconcile=True, soft_delete=True)
            assert (fourth.inserted, fourth.updated, fourth.deleted) == (0, 0, 1)
            assert "marked deleted 1" in fourth.summary()
            marked = table(into)[ids[4]][mirror.DELETED_AT]
            assert (
                isinstance(marked, datetime) and abs(marked.astimezone(UTC) - datetime.now(UTC)).seconds < 60
            )
            assert_exact(into, store, soft_deleted={ids[4]})
            assert run(reconcile=True, soft_delete=True).deleted == 0  # marked once


@pytest.mark.slow
def test_exact_after_a_concurrent_writer(into: str, tmp_path: Path) -> None:
    """A writer updates, creates and deletes throughout three runs; one run after it stops: exact."""
    with MockServer(["--bodiless-errors", "--seed-customers", "400", "--random-seed", "5"]) as server:
        stop = threading.Event()
        writes = {"update": 0, "create": 0, "delete": 0}

        def writer() -> None:
            rng = random.Random(11)
            with threedcart.Store(**store_kwargs(server, max_retries=0)) as w:
                ids = [c.customer_id for c in w.customers.iter()]
                n = 0
                while not stop.is_set():
                    n += 1
                    kind = rng.choices(("update", "create", "delete"), (6, 2, 1))[0]
                    try:
                        if kind == "create":
                            ids.append(w.customers.create(_customer(1000 + n)))
                        elif kind == "update":
                            w.customers.update(
                                rng.choice(ids), {"BillingCity": f"W{n}", "NonTaxable": n % 2 == 0}
                            )
                        else:
                            w.customers.delete(ids.pop(rng.randrange(len(ids))))
                        writes[kind] += 1
                    except threedcart.APIError:
                        pass
                    time.sleep(0.005)

        thread = threading.Thread(target=writer, daemon=True)
        with threedcart.Store(**store_kwargs(server)) as store:
            work = tmp_path / "work"
            thread.start()
            try:
                for reconcile in (False, True, False):
                    result = mirror.run(
                        store, into, lag=LAG, pipelines_dir=work, reconcile=reconcile, chunk=150
                    )
                    assert result.complete, result.sync.reason
                    time.sleep(0.3)
            finally:
                stop.set()
                thread.join(30)
            assert min(writes.values()) > 0, writes
            time.sleep(SETTLE)
            final = mirror.run(store, into, lag=LAG, pipelines_dir=work, reconcile=True)
            assert final.complete
            assert_exact(into, store)


@pytest.mark.slow
def test_killed_runs_then_one_run_is_exact(into: str, tmp_path: Path) -> None:
    """`threedcart customers mirror --full --reconcile` killed with SIGKILL at random points until 5
    runs died (the store changing in between: updates, a create, a delete), then one run: the table
    equals the store. `--full` makes each killed run read, load and commit the whole store, so the
    kill points fall in every phase (start-up, reading, dlt's normalize and load, the reconciliation)."""
    seed = int(os.environ.get("MIRROR_KILL_SEED", "0")) or random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"kill points seeded with {seed} (MIRROR_KILL_SEED={seed} repeats them)")
    with MockServer(["--seed-customers", "3000", "--random-seed", "9"]) as server:
        env = cli_env(server, tmp_path / "work")
        with threedcart.Store(**store_kwargs(server)) as store:
            ids = sorted(c.customer_id for c in store.customers.iter())
            started = time.monotonic()
            baseline = cli_mirror(env, "--full", "--reconcile", "--into", into)
            assert baseline.returncode == 0, baseline.stderr
            duration = time.monotonic() - started  # of a whole run: the kill points fall within it
            killed_after: list[float] = []
            finished = 0
            while len(killed_after) < 5:
                assert finished < 10, f"runs ended before their kill point {finished} times: {killed_after}"
                proc = subprocess.Popen(
                    [*CLI, "customers", "mirror", "--lag", str(LAG), "--full", "--reconcile", "--into", into],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                delay = rng.uniform(0.2, 0.95) * duration
                try:
                    proc.wait(delay)
                    finished += 1
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(10)
                    killed_after.append(round(delay, 2))
                for n in range(rng.randint(5, 40)):
                    store.customers.update(rng.choice(ids), {"BillingCity": f"R{len(killed_after)}-{n}"})
                store.customers.create(_customer(len(killed_after) + 100 * finished))
                store.customers.delete(ids.pop(rng.randrange(len(ids))))
            time.sleep(SETTLE)
            final = cli_mirror(env, "--into", into, "--reconcile")
            assert final.returncode == 0, final.stderr
            assert "inserted" in final.stdout and "deleted" in final.stdout
            assert_exact(into, store)
            print(
                f"runs of {duration:.1f} s killed after {killed_after} s ({finished} finished first): "
                + final.stdout.strip()
            )


def test_a_load_that_fails_leaves_the_watermark_where_it_was(
    postgres: PostgresCluster, tmp_path: Path
) -> None:
    """A load PostgreSQL refuses (a CHECK constraint the row breaks) raises, and the next run, once the
    constraint is gone, reads that window again: dlt's local state, already ahead, is forgotten."""
    into, work = postgres.create_database("refusing"), tmp_path / "work"
    with MockServer(["--seed-customers", "20", "--clock-speed", str(FAST)]) as server:
        with threedcart.Store(**store_kwargs(server)) as store:

            def run() -> mirror.MirrorResult:
                return mirror.run(store, into, lag=LAG, max_clock_skew=None, pipelines_dir=work)

            assert run().inserted == 20
            con = psycopg2.connect(into)
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(
                    f"ALTER TABLE {mirror.DATASET}.customers "
                    "ADD CONSTRAINT no_boom CHECK (comments <> 'boom')"
                )
            key = min(store_customers(store))
            store.customers.update(key, {"Comments": "boom"})
            time.sleep(SETTLE / FAST)
            with pytest.raises(Exception, match="no_boom"):
                run()
            with con.cursor() as cur:
                cur.execute(f"ALTER TABLE {mirror.DATASET}.customers DROP CONSTRAINT no_boom")
            con.close()
            again = run()
            assert (again.inserted, again.updated) == (0, 1)
            assert_exact(into, store)


def test_cli_prints_counts_and_refuses_a_window_it_cannot_prove(tmp_path: Path) -> None:
    """Exit 1 and the watermark in the destination unchanged when the store's clock is not sane."""
    db, into, work = tmp_path / "store.sqlite", f"duckdb:///{tmp_path}/m.duckdb", tmp_path / "work"
    with MockServer(["--db", str(db), "--seed-customers", "50"]) as server:
        env = cli_env(server, work)
        first = cli_mirror(env, "--into", into)
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("mirrored 50 customers into " + into)
        assert "inserted 50, updated 0, deleted 0" in first.stdout
        again = cli_mirror(env, "--into", into, "--soft-delete")
        assert again.returncode == 0 and "marked deleted 0" in again.stdout, again.stderr
    watermark = _stored_watermark(into, tmp_path / "fresh1")
    assert watermark is not None
    with MockServer(["--db", str(db), "--clock-start", "2099-01-01T00:00:00Z"]) as server:
        refused = cli_mirror(cli_env(server, work), "--into", into)
        assert refused.returncode == 1
        assert refused.stderr.startswith("error: mirror refused: the store's clock"), refused.stderr
        assert "the watermark stays at" in refused.stderr
    assert _stored_watermark(into, tmp_path / "fresh2") == watermark


# --- memory: glibc's malloc arenas --------------------------------------------------------------
_HEAPS = """
import atexit, ctypes, sys, tempfile

def heaps():  # malloc_info's XML has one <heap> per arena
    libc = ctypes.CDLL(None)
    libc.fopen.restype, libc.fopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes, libc.fclose.argtypes = [ctypes.c_int, ctypes.c_void_p], [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        fp = libc.fopen(f.name.encode(), b"w")
        libc.malloc_info(0, fp)
        libc.fclose(fp)
        return open(f.name).read().count("<heap nr=")
"""
_THREADS = """
import threading
from threedcart import mirror
limited = mirror.limit_malloc_arenas() if sys.argv[1] == "limit" else None
barrier, held = threading.Barrier(8), []

def work():
    barrier.wait()  # eight threads allocate at once: glibc gives each an arena of its own
    held.append([bytearray(1000) for _ in range(2000)])

threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(limited, heaps())
"""
_GLIBC = sys.platform == "linux" and os.confstr("CS_GNU_LIBC_VERSION") is not None


def _arenas(*args: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _HEAPS + _THREADS, *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    limited, heaps = done.stdout.split()
    return limited, int(heaps)


def test_duckdb_is_held_to_a_bounded_buffer_pool(tmp_path: Path) -> None:
    """DuckDB would cache the table's blocks up to 80% of the machine's memory: a mirror's connection
    is held to 64 MB, one thread (one JSON reader's 32 MiB buffer) and no insertion order."""
    pipeline = mirror.pipeline_for(f"duckdb:///{tmp_path}/m.duckdb", pipelines_dir=tmp_path / "work")
    with pipeline.sql_client() as client:
        names = ("memory_limit", "threads", "preserve_insertion_order")
        settings: dict[str, Any] = {}
        for name in names:
            with client.execute_query(f"SELECT current_setting('{name}')") as cursor:
                settings[name] = cursor.fetchone()[0]
    assert settings["threads"] == 1 and settings["preserve_insertion_order"] is False, settings
    assert settings["memory_limit"] == "61.0 MiB", settings  # 64 MB, as DuckDB shows it


@pytest.mark.skipif(not _GLIBC, reason="malloc arenas are glibc's")
def test_malloc_arenas_are_capped_for_a_mirror_process() -> None:
    """A mirror's threads would each take a glibc arena (memory freed in one is not reused by the
    others: a 200,000-customer mirror grew by 0.35 kB a customer); two keep it flat."""
    limited, heaps = _arenas("none")
    assert limited == "None"
    assert heaps > 4, heaps  # the main arena and about one per thread: what the cap prevents
    assert _arenas("limit") == ("True", 2)
    env = {**os.environ, "MALLOC_ARENA_MAX": "3"}
    assert _arenas("limit", env=env) == ("False", 3)  # the user's own setting stands
    with pytest.raises(ValueError, match="arenas must be at least 1, not 0"):
        mirror.limit_malloc_arenas(0)


@pytest.mark.skipif(not _GLIBC, reason="malloc arenas are glibc's")
def test_the_cli_mirror_runs_on_two_malloc_arenas(tmp_path: Path) -> None:
    """`threedcart customers mirror` caps the arenas before its threads start (page readers, the
    feed, dlt's workers and DuckDB's): counted when the command has run, in its own process."""
    launcher = _HEAPS + (
        "atexit.register(lambda: print('heaps', heaps(), file=sys.stderr))\n"
        "import runpy; sys.argv = ['threedcart', *sys.argv[1:]]\n"
        "runpy.run_module('threedcart', run_name='__main__')\n"
    )
    into = f"duckdb:///{tmp_path}/m.duckdb"
    with MockServer(["--seed-customers", "2000"]) as server:
        done = subprocess.run(
            [sys.executable, "-c", launcher, "customers", "mirror", "--lag", str(LAG), "--into", into],
            env=cli_env(server, tmp_path / "work"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert "inserted 2,000" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "heaps 2", done.stderr


def test_cli_without_the_extra_says_how_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['dlt'] = None; sys.argv = ['threedcart', 'customers', 'mirror']\n"
        "from threedcart._cli import main; main()"
    )
    env = {**os.environ, "THREEDCART_SECURE_URL": "https://s", "THREEDCART_PRIVATE_KEY": "k"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "THREEDCART_TOKEN": "t"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: mirror needs the mirror extra (dlt is missing): pip install '.[mirror]' in a checkout of "
        f"threedcart, or pip install 'dist/threedcart-{threedcart.__version__}-py3-none-any.whl[mirror]' "
        "after make dist"
    ]


def test_cli_hides_the_password_of_the_url(tmp_path: Path) -> None:
    with MockServer() as server:
        result = cli_mirror(cli_env(server, tmp_path), "--into", "postgresql://u:s3cr3t-pw@127.0.0.1:1/db")
    assert result.returncode == 1
    assert "s3cr3t-pw" not in result.stderr + result.stdout
    assert result.stderr.startswith("error: mirror failed: ")


@pytest.mark.slow
def test_a_field_the_spec_adds_becomes_a_column_that_fills(tmp_path: Path) -> None:
    """The mock on a spec with three added fields (an integer, an array, an object) over the same
    database: the next run adds the columns and fills them for the customers updated; `--full`
    fills them everywhere. Arrays and objects are JSON columns."""
    spec = copy.deepcopy(SPEC)
    properties = spec["components"]["schemas"]["Customer"]["properties"]
    added = {
        "XTestPoints": {"type": "integer", "format": "int32", "nullable": True},
        "XTestTags": {"type": "array", "items": {"type": "string"}, "nullable": True},
        "XTestPrefs": {
            "type": "object",
            "nullable": True,
            "properties": {"XTestChannel": {"type": "string"}, "XTestEvery": {"type": "integer"}},
        },
    }
    properties.update(added)
    for name in ("CustomerUpdate", "CustomerUpdateItem", "CustomerCreate"):
        schema = spec["components"]["schemas"].get(name)
        if schema is not None and "properties" in schema:
            schema["properties"].update(copy.deepcopy(added))
    grown = tmp_path / "customers.yaml"
    grown.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    db, into, work = tmp_path / "store.sqlite", f"duckdb:///{tmp_path}/m.duckdb", tmp_path / "work"
    with MockServer(["--db", str(db), "--seed-customers", "30"]) as server:
        with threedcart.Store(**store_kwargs(server)) as store:
            assert mirror.run(store, into, lag=LAG, pipelines_dir=work).inserted == 30
    os.environ["THREEDCART_SPEC"] = str(grown)
    try:
        server = MockServer(["--db", str(db)]).start()
    finally:
        del os.environ["THREEDCART_SPEC"]
    try:
        with threedcart.Store(**store_kwargs(server)) as store:
            some = sorted(store_customers(store))[:3]
            values = {
                "XTestPoints": 7,
                "XTestTags": ["a", "b"],
                "XTestPrefs": {"XTestChannel": "sms", "XTestEvery": 2},
            }
            with httpx.Client(base_url=server.url + API, headers=server.headers) as raw:
                for key in some:
                    assert raw.put(f"/Customers/{key}", json=values).status_code == 200
            time.sleep(SETTLE)
            result = mirror.run(store, into, lag=LAG, pipelines_dir=work)
            assert (result.inserted, result.updated) == (0, 3)
            rows = table(into)
            for key in some:
                assert rows[key]["x_test_points"] == 7
                assert json.loads(rows[key]["x_test_tags"]) == ["a", "b"]
                assert json.loads(rows[key]["x_test_prefs"]) == values["XTestPrefs"]
            with duckdb.connect(f"{tmp_path}/m.duckdb", read_only=True) as con:
                types = dict(
                    con.execute(
                        "SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_name = 'customers' AND table_schema = 'threedcart'"
                    ).fetchall()
                )
            assert (types["x_test_points"], types["x_test_tags"], types["x_test_prefs"]) == (
                "BIGINT",
                "JSON",
                "JSON",
            )
            full = mirror.run(store, into, lag=LAG, pipelines_dir=work, full=True)
            assert (full.inserted, full.updated) == (0, 30)
            assert_exact(into, store)
    finally:
        server.stop()


def test_cli_help_names_every_option_with_an_example() -> None:
    from threedcart._cli._app import app
    from typer.testing import CliRunner

    shown = CliRunner().invoke(app, ["customers", "mirror", "--help"], env={"COLUMNS": "100"})
    assert shown.exit_code == 0, shown.output
    for option in ("--into", "--reconcile", "--soft-delete", "--full", "--dataset", "--lag", "--work-dir"):
        assert option in shown.output
    assert "Example: threedcart customers mirror --into postgresql://" in " ".join(shown.output.split())

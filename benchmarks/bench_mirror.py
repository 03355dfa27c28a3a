"""10. The mirror (`threedcart.mirror`, dlt): a first mirror of 100,000 customers into DuckDB and into
PostgreSQL as a ratio to an export of the same store in the same run (the documented rate limit on,
and off), the incremental run after 1,000 customers changed, and the peak memory of a mirror of
1,000,000 customers (the CLI in a child process).

The export is what `threedcart customers export` does, in this process: `iter(concurrency=4)` written
as JSON lines to a file. The mirror is `mirror.run(store, destination, concurrency=4)` into a fresh
DuckDB file or a fresh database of a throwaway PostgreSQL 15 cluster (tests/_postgres.py). With the
rate limit, the mock answers with the documented bucket (50 requests, 2 per second) and 300 ms of
latency, the store throttles itself (`rate_limit=True`), and the bucket is left to drain between
runs. BENCH_MIRROR_CUSTOMERS, BENCH_MIRROR_MEMORY_CUSTOMERS (0: skip) and BENCH_MIRROR_RATELIMIT=0
shrink it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import threedcart
from threedcart_mock.testing import MockServer

from ._harness import median, store, write

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _postgres import PostgresCluster
from threedcart import mirror

CUSTOMERS = int(os.environ.get("BENCH_MIRROR_CUSTOMERS", "100000"))
MEMORY_CUSTOMERS = int(os.environ.get("BENCH_MIRROR_MEMORY_CUSTOMERS", "1000000"))
RATE_LIMITED = os.environ.get("BENCH_MIRROR_RATELIMIT", "1") != "0"
CHANGED = 1000
RUNS = 3
LATENCY_MS = 300
DRAIN_SECONDS = 26  # the mock's bucket of 50 drains at 2 per second
LAG = 1.0


class _Destinations:
    """Fresh destinations: DuckDB files in a temporary folder, databases of one PostgreSQL cluster."""

    def __init__(self, folder: Path, postgres: PostgresCluster) -> None:
        self.folder, self.postgres, self.n = folder, postgres, 0

    def fresh(self, kind: str) -> tuple[str, Path]:
        self.n += 1
        work = self.folder / f"work{self.n}"
        if kind == "duckdb":
            return f"duckdb:///{self.folder}/m{self.n}.duckdb", work
        return self.postgres.create_database(f"bench{self.n}"), work


def _export(sdk: threedcart.Store, folder: Path) -> int:
    n = 0
    with (folder / "export.jsonl").open("w", encoding="utf-8") as out:
        for customer in sdk.customers.iter(concurrency=4):
            out.write(json.dumps(customer.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    return n


def _mirror(sdk: threedcart.Store, into: str, work: Path) -> mirror.MirrorResult:
    result = mirror.run(sdk, into, concurrency=4, lag=LAG, pipelines_dir=work)
    assert result.complete, result.sync.reason
    return result


def _timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def _first_mirrors(
    server: MockServer, dests: _Destinations, folder: Path, runs: int, drain: float, **options: Any
) -> tuple[dict[str, list[float]], dict[str, tuple[str, Path]]]:
    """Each contender `runs` times, alternating the order; the last destination of each kind."""
    times: dict[str, list[float]] = {"export": [], "duckdb": [], "postgres": []}
    last: dict[str, tuple[str, Path]] = {}
    names = list(times)
    for round_ in range(runs):
        for name in names if round_ % 2 == 0 else list(reversed(names)):
            if drain:
                time.sleep(drain)
            with store(server, **options) as sdk:
                if name == "export":
                    seconds, n = _timed(lambda sdk=sdk: _export(sdk, folder))
                else:
                    into, work = last[name] = dests.fresh(name)
                    seconds, result = _timed(lambda sdk=sdk, into=into, work=work: _mirror(sdk, into, work))
                    n = result.inserted
            assert n == CUSTOMERS, (name, n)
            times[name].append(seconds)
            print(f"  {name}: {seconds:.2f} s", flush=True)
    return times, last


def _incremental(server: MockServer, last: dict[str, tuple[str, Path]]) -> dict[str, Any]:
    """The run after 1,000 customers changed (median of 3), into the destinations of the first mirrors:
    each round changes 1,000 customers (a bulk update), then mirrors into each destination."""
    seconds: dict[str, list[float]] = {"duckdb": [], "postgres": []}
    reads: dict[str, list[int]] = {"duckdb": [], "postgres": []}
    with store(server) as sdk:
        ids = [c.customer_id for c in sdk.customers.iter(concurrency=4)]
        for round_ in range(3):
            start = round_ * CHANGED % max(len(ids) - CHANGED, 1)
            batch = ids[start : start + CHANGED]
            sdk.customers.update_many({"CustomerID": i, "Comments": f"round {round_}"} for i in batch)
            time.sleep(LAG + 1.1)
            for kind in seconds:
                into, work = last[kind]
                took, result = _timed(lambda into=into, work=work: _mirror(sdk, into, work))
                assert result.updated >= CHANGED and result.inserted == 0, result.summary()
                seconds[kind].append(took)
                reads[kind].append(result.sync.read)
    return {
        **{kind: round(median(t), 2) for kind, t in seconds.items()},
        "customers_read": reads,
    }


def _rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _memory(folder: Path) -> dict[str, Any]:
    """`threedcart customers mirror` of MEMORY_CUSTOMERS into DuckDB in a child process: its peak RSS
    (`ru_maxrss` from `os.wait4` of that child alone), and its resident memory sampled every second,
    as the highest of each tenth of the run (flat, or growing with the customers read)."""
    with MockServer(["--seed-customers", str(MEMORY_CUSTOMERS)], startup_timeout=1800) as server:
        env = {
            **os.environ,
            "THREEDCART_SECURE_URL": server.headers["SecureURL"],
            "THREEDCART_PRIVATE_KEY": server.headers["PrivateKey"],
            "THREEDCART_TOKEN": server.headers["Token"],
            "THREEDCART_BASE_URL": server.url,
            "THREEDCART_MIRROR_DIR": str(folder / "memwork"),
        }
        cli = str(Path(sys.executable).parent / "threedcart")
        into = f"duckdb:///{folder}/memory.duckdb"
        samples: list[float] = []
        started = time.perf_counter()
        with (folder / "memory.out").open("w+") as out, (folder / "memory.err").open("w+") as err:
            proc = subprocess.Popen(
                [cli, "customers", "mirror", "--into", into, "--lag", str(LAG)],
                env=env,
                stdout=out,
                stderr=err,
            )
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                rss = _rss_mb(proc.pid)
                if rss is not None:
                    samples.append(rss)
                time.sleep(1)
            proc.returncode = os.waitstatus_to_exitcode(status)
            seconds = time.perf_counter() - started
            out.seek(0)
            err.seek(0)
            output, errors = out.read(), err.read()
        if proc.returncode != 0:
            raise RuntimeError(f"the CLI mirror failed: {errors}")
    tenth = max(1, len(samples) // 10)
    return {
        "customers": MEMORY_CUSTOMERS,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "rss_mb_highest_by_tenth": [
            round(max(samples[i : i + tenth])) for i in range(0, len(samples), tenth)
        ],
        "output": output.strip(),
    }


def run() -> dict[str, Any]:
    data: dict[str, Any] = {"customers": CUSTOMERS, "runs": RUNS}
    with tempfile.TemporaryDirectory() as tmp, PostgresCluster() as postgres:
        folder = Path(tmp)
        dests = _Destinations(folder, postgres)
        with MockServer(["--seed-customers", str(CUSTOMERS)], startup_timeout=600) as server:
            times, last = _first_mirrors(server, dests, folder, RUNS, 0)
            med = {k: median(v) for k, v in times.items()}
            data["unlimited"] = {
                "seconds": {k: round(v, 2) for k, v in med.items()},
                "duckdb_over_export": round(med["duckdb"] / med["export"], 2),
                "postgres_over_export": round(med["postgres"] / med["export"], 2),
            }
            data["incremental_1000_changed_seconds"] = _incremental(server, last)
        if RATE_LIMITED:
            args = ["--seed-customers", str(CUSTOMERS), "--rate-limit", "on", "--latency-ms", str(LATENCY_MS)]
            with MockServer(args, startup_timeout=600) as server:
                times, _ = _first_mirrors(
                    server, dests, folder, 1, DRAIN_SECONDS, rate_limit=True, max_retries=5
                )
            sec = {k: v[0] for k, v in times.items()}
            data["rate_limited"] = {
                "latency_ms": LATENCY_MS,
                "seconds": {k: round(v, 2) for k, v in sec.items()},
                "duckdb_over_export": round(sec["duckdb"] / sec["export"], 3),
                "postgres_over_export": round(sec["postgres"] / sec["export"], 3),
            }
        if MEMORY_CUSTOMERS:
            data["memory"] = _memory(folder)
    data["target"] = (
        "first mirror <= 1.2x the export with the rate limit on (reported without it); "
        "peak memory of a 1M mirror < 300 MB"
    )
    return write("mirror", data)

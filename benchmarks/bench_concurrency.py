"""3. Concurrency: export with concurrency 1, 2, 4, 8 against a mock with a real store's latency."""

from __future__ import annotations

from typing import Any

from threedcart_mock.testing import MockServer

from ._harness import median, store, timed, write

CUSTOMERS = 20_000
LATENCY_MS = 100
LEVELS = (1, 2, 4, 8)
RUNS = 3


def run() -> dict[str, Any]:
    args = ["--seed-customers", str(CUSTOMERS), "--latency-ms", str(LATENCY_MS)]
    with MockServer(args) as mock, store(mock, max_retries=0) as sdk:
        times: dict[int, list[float]] = {level: [] for level in LEVELS}
        for round_ in range(RUNS):
            order = LEVELS if round_ % 2 == 0 else tuple(reversed(LEVELS))
            for level in order:
                n = 0

                def export(level: int = level) -> None:
                    nonlocal n
                    n = sum(1 for _ in sdk.customers.iter(concurrency=level))

                times[level].append(timed(export))
                assert n == CUSTOMERS
    base = median(times[1])
    return write(
        "concurrency",
        {
            "customers": CUSTOMERS,
            "latency_ms": LATENCY_MS,
            "seconds": {str(level): round(median(t), 3) for level, t in times.items()},
            "speedup_over_1": {str(level): round(base / median(t), 2) for level, t in times.items()},
            "target": "speed-up at 8 >= 5x",
            "runs": RUNS,
        },
    )

"""8. Export of 100,000 customers while a writer changes the store: completeness, and the cost of proving it.

A mock that answers errors without bodies; a writer thread that bulk-updates, deletes and
creates customers as fast as the mock answers. Each round exports the store with
`iter(concurrency=4)` twice, alternating: once quiet, once with the writer running. The
figures are the throughput ratio (writer / quiet), the writes that landed during the
export, the step-backs they caused, and the untouched customers missing (must be 0).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from typing import Any

from threedcart_mock.testing import MockServer

from ._harness import median, store, write

CUSTOMERS = 100_000
CONCURRENCY = 4
RUNS = 3


class _StepBacks(logging.Handler):
    """Counts the planner's step-backs (logged at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("paging: list changed"):
            self.count += 1


class _Writer:
    def __init__(self, mock: MockServer, seed: int, existing: set[int]) -> None:
        self.mock, self.seed, self.existing = mock, seed, existing
        self.touched: set[int] = set()
        self.writes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        rng = random.Random(self.seed)
        with store(self.mock, max_retries=5) as sdk:
            while not self._stop.is_set():
                ids = rng.sample(sorted(self.existing), 20)
                roll = rng.random()
                if roll < 0.5:
                    sdk.customers.update_many({"CustomerID": i, "Comments": f"b{self.writes}"} for i in ids)
                    self.touched.update(ids)
                elif roll < 0.75:
                    sdk.customers.delete(ids[0])
                    self.existing.discard(ids[0])
                    self.touched.add(ids[0])
                else:
                    self.existing.add(sdk.customers.create({"Email": f"bench{self.writes}@example.com"}))
                self.writes += 1


def run() -> dict[str, Any]:
    args = ["--seed-customers", str(CUSTOMERS), "--bodiless-errors"]
    quiet: list[float] = []
    busy: list[float] = []
    rounds: list[dict[str, int]] = []
    steps = _StepBacks()
    logger = logging.getLogger("threedcart")
    logger.addHandler(steps)
    logger.setLevel(logging.DEBUG)
    with MockServer(args) as mock, store(mock, max_retries=0) as sdk:
        existing = set(range(1, CUSTOMERS + 1))

        def export() -> tuple[list[int], float]:
            started = time.perf_counter()
            ids = [c.customer_id for c in sdk.customers.iter(concurrency=CONCURRENCY)]
            return ids, time.perf_counter() - started  # type: ignore[return-value]

        export()  # warm-up
        for round_ in range(RUNS):
            for mode in ("quiet", "busy") if round_ % 2 == 0 else ("busy", "quiet"):
                if mode == "quiet":
                    before = set(existing)
                    ids, seconds = export()
                    quiet.append(len(ids) / seconds)
                    if set(ids) != before or len(ids) != len(before):
                        raise RuntimeError("a quiet export did not return exactly the store")
                    continue
                before = set(existing)
                steps.count = 0
                with _Writer(mock, seed=round_, existing=existing) as writer:
                    ids, seconds = export()
                busy.append(len(ids) / seconds)
                counts = Counter(ids)
                untouched = before - writer.touched
                rounds.append(
                    {
                        "exported": len(ids),
                        "writes_during_export": writer.writes,
                        "step_backs": steps.count,
                        "customers_touched": len(writer.touched),
                        "untouched": len(untouched),
                        "untouched_missing": len(untouched - set(counts)),
                        "duplicates": sum(1 for n in counts.values() if n > 1),
                    }
                )
    logger.removeHandler(steps)
    logger.setLevel(logging.NOTSET)
    missing = sum(r["untouched_missing"] for r in rounds)
    return write(
        "chaos",
        {
            "customers": CUSTOMERS,
            "concurrency": CONCURRENCY,
            "quiet_customers_per_s": round(median(quiet)),
            "busy_customers_per_s": round(median(busy)),
            "throughput_busy_over_quiet": round(median(busy) / median(quiet), 3),
            "rounds": rounds,
            "writes_during_exports": sum(r["writes_during_export"] for r in rounds),
            "untouched_missing": missing,
            "duplicates": sum(r["duplicates"] for r in rounds),
            "completeness": round(
                1 - missing / max(1, sum(r["untouched"] for r in rounds)),
                6,
            ),
            "target": "every untouched customer exported exactly once (completeness 1.0, 0 duplicates)",
            "runs": RUNS,
        },
    )

"""What every benchmark shares: a mock on loopback, medians of alternated runs, result files."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import threedcart
from threedcart_mock.testing import MockServer

RESULTS = Path(__file__).parent / "results"


def store(mock: MockServer, **options: Any) -> threedcart.Store:
    return threedcart.Store(
        secure_url=mock.headers["SecureURL"],
        private_key=mock.headers["PrivateKey"],
        token=mock.headers["Token"],
        base_url=mock.url,
        **{"rate_limit": False, **options},
    )


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def alternate(runs: int, **contenders: Callable[[], object]) -> dict[str, list[float]]:
    """Time each contender `runs` times, alternating their order every round (A B, B A, ...)."""
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(runs):
        order = names if round_ % 2 == 0 else list(reversed(names))
        for name in order:
            times[name].append(timed(contenders[name]))
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def write(name: str, data: dict[str, Any]) -> dict[str, Any]:
    RESULTS.mkdir(exist_ok=True)
    data = {"benchmark": name, "machine": f"{platform.machine()}, {platform.python_version()}", **data}
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    print(json.dumps(data, indent=2), flush=True)
    return data

"""1. Per-call overhead: `store.customers.get` against a hand-written httpx GET (same headers, same reuse)."""

from __future__ import annotations

from typing import Any

import httpx
from threedcart_mock.testing import MockServer

from ._harness import alternate, median, store, write

CALLS = 100
RUNS = 41


def run() -> dict[str, Any]:
    with MockServer(["--seed-customers", "100"]) as mock, store(mock, max_retries=0) as sdk:
        raw = httpx.Client(base_url=mock.url, headers={**mock.headers, "Accept": "application/json"})
        url = "/3dCartWebAPI/v1/Customers/7"

        def with_sdk() -> None:
            for _ in range(CALLS):
                sdk.customers.get(7)

        def by_hand() -> None:
            for _ in range(CALLS):
                r = raw.get(url)
                r.raise_for_status()
                r.json()

        alternate(2, sdk=with_sdk, raw=by_hand)  # warm up both
        times = alternate(RUNS, sdk=with_sdk, raw=by_hand)
        raw.close()
    sdk_call = median(times["sdk"]) / CALLS
    raw_call = median(times["raw"]) / CALLS
    return write(
        "overhead",
        {
            "sdk_ms_per_call": round(sdk_call * 1000, 4),
            "raw_ms_per_call": round(raw_call * 1000, 4),
            "ratio_sdk_over_raw": round(sdk_call / raw_call, 3),
            "target": "<= 1.10",
            "calls_per_run": CALLS,
            "runs": RUNS,
        },
    )

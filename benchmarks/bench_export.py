"""2. Export throughput over 50,000 customers: SDK `iter()` against hand-written httpx loops."""

from __future__ import annotations

from typing import Any

import httpx
from threedcart_customers_client.models import Customer
from threedcart_mock.testing import MockServer

from ._harness import alternate, median, store, write

CUSTOMERS = 50_000
PAGE = 500
RUNS = 5


def _raw_pages(client: httpx.Client) -> list[Any]:
    pages = []
    offset = 1
    while True:
        r = client.get("/3dCartWebAPI/v1/Customers", params={"limit": PAGE, "offset": offset})
        if r.status_code != 200:
            break
        page = r.json()
        pages.append(page)
        if len(page) < PAGE:
            break
        offset += PAGE
    return pages


def run() -> dict[str, Any]:
    with MockServer(["--seed-customers", str(CUSTOMERS)]) as mock, store(mock, max_retries=0) as sdk:
        raw = httpx.Client(
            base_url=mock.url, headers={**mock.headers, "Accept": "application/json"}, timeout=60
        )
        counts: dict[str, int] = {}

        def with_sdk() -> None:
            counts["sdk"] = sum(1 for _ in sdk.customers.iter(page_size=PAGE))

        def raw_models() -> None:
            n = 0
            offset = 1
            while True:
                r = raw.get("/3dCartWebAPI/v1/Customers", params={"limit": PAGE, "offset": offset})
                if r.status_code != 200:
                    break
                page = [Customer.from_dict(item) for item in r.json()]
                n += len(page)
                if len(page) < PAGE:
                    break
                offset += PAGE
            counts["raw_models"] = n

        def raw_json() -> None:
            counts["raw_json"] = sum(len(p) for p in _raw_pages(raw))

        alternate(1, sdk=with_sdk, raw_models=raw_models, raw_json=raw_json)
        times = alternate(RUNS, sdk=with_sdk, raw_models=raw_models, raw_json=raw_json)
        raw.close()
    if set(counts.values()) != {CUSTOMERS}:
        raise RuntimeError(f"an export returned the wrong number of customers: {counts}")
    sdk_t, models_t, json_t = (median(times[k]) for k in ("sdk", "raw_models", "raw_json"))
    return write(
        "export",
        {
            "customers": CUSTOMERS,
            "page_size": PAGE,
            "sdk_customers_per_s": round(CUSTOMERS / sdk_t),
            "raw_models_customers_per_s": round(CUSTOMERS / models_t),
            "raw_json_customers_per_s": round(CUSTOMERS / json_t),
            "throughput_sdk_over_raw_models": round(models_t / sdk_t, 3),
            "throughput_sdk_over_raw_json": round(json_t / sdk_t, 3),
            "target": "sdk / raw-with-models >= 0.90",
            "runs": RUNS,
        },
    )

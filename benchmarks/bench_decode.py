"""4. Decode: the generated models parsing a page of 500 customers against `json.loads` of the same bytes."""

from __future__ import annotations

import json
from typing import Any

import httpx
from threedcart_customers_client.models import Customer
from threedcart_mock.testing import MockServer

from ._harness import alternate, median, write

LOOPS = 50
RUNS = 15


def run() -> dict[str, Any]:
    with MockServer(["--seed-customers", "500"]) as mock:
        body = httpx.get(
            mock.url + "/3dCartWebAPI/v1/Customers", params={"limit": 500}, headers=mock.headers
        ).content

    def loads() -> None:
        for _ in range(LOOPS):
            json.loads(body)

    def models() -> None:
        for _ in range(LOOPS):
            [Customer.from_dict(item) for item in json.loads(body)]

    alternate(2, json_loads=loads, models=models)
    times = alternate(RUNS, json_loads=loads, models=models)
    per_page = {k: median(v) / LOOPS for k, v in times.items()}
    return write(
        "decode",
        {
            "page_bytes": len(body),
            "json_loads_ms_per_page": round(per_page["json_loads"] * 1000, 3),
            "models_ms_per_page": round(per_page["models"] * 1000, 3),
            "ratio_models_over_json_loads": round(per_page["models"] / per_page["json_loads"], 2),
            "target": "<= 2.0",
            "runs": RUNS,
        },
    )

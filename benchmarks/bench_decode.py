"""4. Decode: the SDK turning a page of 500 customers into models, against `json.loads` of the same bytes.

The models contender is the generated `_build_response` of `list_customers`, the code every page the
SDK reads goes through (sync and async, `list()` and `iter()`): `parse_json` (orjson when it reads the
body as `json.loads` does) and `Customer.from_dict` for each item. The baseline is stdlib `json.loads`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from threedcart_customers_client import Client
from threedcart_customers_client.api.customers import list_customers
from threedcart_customers_client.models import Customer
from threedcart_mock.testing import MockServer

from ._harness import alternate, median, write

LOOPS = 50
RUNS = 15


def run() -> dict[str, Any]:
    with MockServer(["--seed-customers", "500"]) as mock:
        response = httpx.get(
            mock.url + "/3dCartWebAPI/v1/Customers", params={"limit": 500}, headers=mock.headers
        )
    body = response.content
    client = Client(base_url=mock.url)

    def page() -> Any:
        return list_customers._build_response(client=client, response=response).parsed

    # the SDK's path gives the same customers as the generated models over json.loads
    if page() != [Customer.from_dict(item) for item in json.loads(body)] or len(page()) != 500:
        raise RuntimeError("the SDK's decoding differs from Customer.from_dict over json.loads")

    def loads() -> None:
        for _ in range(LOOPS):
            json.loads(body)

    def models() -> None:
        for _ in range(LOOPS):
            page()

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
            "models_path": "list_customers._build_response: parse_json + Customer.from_dict",
            "target": "<= 1.3",
            "runs": RUNS,
        },
    )

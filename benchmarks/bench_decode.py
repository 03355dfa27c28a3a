"""4. Decode: the SDK turning a page of 500 customers into models, against `json.loads` of the same bytes.

The models contender is the generated `_build_response` of `list_customers`, the code every page the
SDK reads goes through (sync and async, `list()` and `iter()`): `parse_json` (orjson when it reads the
body as `json.loads` does) and `Customer.from_dict` for each item. The baseline is stdlib `json.loads`.

The same run weighs each performance fork of the generator's templates (templates/openapi-python-client/
FORKS.md): the client is generated again into a temporary directory with that fork's template left out,
so the generator's stock one renders in its place, loaded under another package name, and timed on the
same page against the committed client. A fork is kept when the stock page takes at least
`FORK_PAYS` times as long.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from threedcart_customers_client import Client
from threedcart_customers_client.api.customers import list_customers
from threedcart_customers_client.models import Customer
from threedcart_mock.testing import MockServer

from ._harness import alternate, median, write

LOOPS = 50
RUNS = 15
ROOT = Path(__file__).parent.parent
TEMPLATES = ROOT / "templates" / "openapi-python-client"
PACKAGE = "threedcart_customers_client"
# Each performance fork, by the custom templates that make it: left out, the stock ones render.
PERFORMANCE_FORKS = {
    "model_from_dict": ("model.py.jinja",),  # from_dict by one itemgetter call, positional arguments
    "parse_json": ("endpoint_macros.py.jinja",),  # orjson in place of httpx's response.json()
}
FORK_PAYS = 1.2


def _generate_without(forks: tuple[str, ...], into: Path) -> ModuleType:
    """The client generated from the custom templates less `forks`, imported as another package."""
    templates = into / "templates"
    shutil.copytree(TEMPLATES, templates)
    for name in forks:
        (templates / name).unlink()
    bin_dir = str(Path(sys.executable).parent)
    subprocess.run(
        [
            *(str(Path(bin_dir) / "openapi-python-client"), "generate"),
            *("--path", str(ROOT / "openapi" / "customers.yaml")),
            *("--config", str(ROOT / "generator-config.yml")),
            *("--custom-template-path", str(templates)),
            *("--meta", "pdm", "--overwrite", "--fail-on-warning"),
            *("--output-path", str(into / "out")),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")},
    )
    alias = "stock_" + "_".join(name.split(".")[0] for name in forks)
    package = into / "out" / PACKAGE
    spec = importlib.util.spec_from_file_location(
        alias, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module


def _forks(response: httpx.Response) -> dict[str, Any]:
    """Each performance fork's speed-up: the page through the stock template / through the fork."""
    with tempfile.TemporaryDirectory() as tmp:
        clients = {
            name: _generate_without(forks, Path(tmp) / name) for name, forks in PERFORMANCE_FORKS.items()
        }
        contenders = {"fork": importlib.import_module(PACKAGE), **clients}
        pages = {}
        for name, package in contenders.items():
            operation = importlib.import_module(f"{package.__name__}.api.customers.list_customers")
            client = package.Client(base_url="http://127.0.0.1:9")
            pages[name] = lambda operation=operation, client=client: (
                operation._build_response(client=client, response=response).parsed
            )
        expected = [c.to_dict() for c in pages["fork"]()]
        for name, page in pages.items():  # the same customers whichever template wrote the code
            if [c.to_dict() for c in page()] != expected:
                raise RuntimeError(f"the client generated without the {name} fork decodes differently")

    def loops(page: Any) -> Any:
        def run() -> None:
            for _ in range(LOOPS):
                page()

        return run

    alternate(2, **{name: loops(page) for name, page in pages.items()})
    times = alternate(RUNS, **{name: loops(page) for name, page in pages.items()})
    per_page = {name: median(v) / LOOPS for name, v in times.items()}
    forks = {}
    for name, templates in PERFORMANCE_FORKS.items():
        # the median of each round's ratio: the two ran back to back, under the same load
        speedup = round(
            median([stock / fork for stock, fork in zip(times[name], times["fork"], strict=True)]), 2
        )
        forks[name] = {
            "templates": list(templates),
            "stock_ms_per_page": round(per_page[name] * 1000, 3),
            "fork_ms_per_page": round(per_page["fork"] * 1000, 3),
            "speedup": speedup,
            "pays": speedup >= FORK_PAYS,
        }
    return forks


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
            # stock template's ms per page / the fork's, same page, same run
            "template_forks": _forks(response),
            "template_fork_pays": f">= {FORK_PAYS}",
        },
    )

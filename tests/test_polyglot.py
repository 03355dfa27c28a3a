"""Clients of the spec in other languages: generated, compiled and run against the mock.

tools/polyglot/run.py generates each client from the current openapi/customers.yaml and compiles
it: openapi-typescript + openapi-fetch, orval and @hey-api/openapi-ts (strict tsc with
exactOptionalPropertyTypes), openapi-generator's `java` (native; javac against Debian's Jackson)
and `go` (Debian's Go, offline). Each test runs one client against a mock that answers errors
without a body (`--bodiless-errors`) and one that answers them with the spec's error list: it
counts (countonly=1), reads a page, creates a customer with the required fields only, reads it
back, and reads a missing id, which the client's idiomatic error check must see as a 404.

`make polyglot` (part of `make test`) installs the generators and toolchains; without them these
tests fail and say so. Builds are cached in tools/polyglot/build by a hash of everything they
are made from (the spec included), so a second run only runs the clients.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from threedcart_mock.testing import MockServer

ROOT = Path(__file__).resolve().parents[1]
POLYGLOT = ROOT / "tools" / "polyglot"
SPEC_PATH = ROOT / "openapi" / "customers.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


def _load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("polyglot_run", POLYGLOT / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


polyglot = _load_runner()

# How each client's idiomatic error check saw the 404 (the consumers report it).
CHECKS = {
    "openapi-fetch": "!response.ok",
    "orval": "status === 404",
    "hey-api": "error !== undefined",
    "java": "catch (ApiException e) / e.getCode()",
    "go": "err != nil / httpRes.StatusCode",
}


@pytest.fixture(scope="module")
def bodiless_mock() -> Iterator[MockServer]:
    with MockServer(["--seed-customers", "12", "--bodiless-errors"]) as server:
        yield server


@pytest.fixture(scope="module")
def mock_with_bodies() -> Iterator[MockServer]:
    with MockServer(["--seed-customers", "7"]) as server:
        yield server


@functools.cache
def _tools() -> dict[str, str]:
    """The generators' and compilers' versions (part of each build's key), asked once: each asking
    starts java, javac, go and node (0.5 s idle, seconds on a busy machine)."""
    tools: dict[str, str] = polyglot.versions()
    return tools


def _build(client: str, spec: Path = SPEC_PATH, out: Path | None = None) -> Path:
    try:
        folder, _ = polyglot.build(client, spec, tools=_tools(), out=out)
    except polyglot.BuildError as exc:
        pytest.fail(f"{client} did not build from {spec.name}:\n{exc}")
    return Path(folder)


def _run(client: str, server: MockServer, *, bodiless: bool) -> dict[str, Any]:
    email = f"{client}-{'bodiless' if bodiless else 'bodies'}@polyglot.example.com"
    count = polyglot.store_count(server.url, server.headers)
    outcome: dict[str, Any] = polyglot.run(client, polyglot.client_env(server.url, server.headers, email))
    assert polyglot.problems(outcome, count=count, email=email, bodiless=bodiless) == [], outcome
    assert outcome["client"] == client and outcome["missing"]["check"] == CHECKS[client]
    return outcome


@pytest.mark.external
@pytest.mark.parametrize("client", polyglot.CLIENTS)
def test_client_compiles_and_works_against_the_mock(
    client: str, bodiless_mock: MockServer, mock_with_bodies: MockServer
) -> None:
    _build(client)
    bodiless = _run(client, bodiless_mock, bodiless=True)
    assert bodiless["missing"]["status"] == 404 and bodiless["missing"]["body"] is None
    with_body = _run(client, mock_with_bodies, bodiless=False)
    [error] = with_body["missing"]["body"]
    assert error["Key"] == "Error" and error["Status"] == "404"


def test_every_client_is_tested() -> None:
    assert set(CHECKS) == set(polyglot.CLIENTS) == set(polyglot.BUILDERS)


# --- closed request bodies, open answers ----------------------------------------------------------
def test_request_schemas_repeat_the_customer_fields_and_are_closed() -> None:
    """CustomerCreate, CustomerUpdate and CustomerUpdateItem repeat Customer's properties (an allOf
    cannot close a schema in OpenAPI 3.0); tools/spec_derive.py writes the copies at make generate."""
    customer = SCHEMAS["Customer"]["properties"]
    create, item = SCHEMAS["CustomerCreate"], SCHEMAS["CustomerUpdateItem"]
    assert create["properties"] == {k: v for k, v in customer.items() if k != "CustomerID"}
    assert item["properties"] == customer
    assert create["required"] == ["Email", "Password"] and item["required"] == ["CustomerID"]
    assert create["additionalProperties"] is False and item["additionalProperties"] is False
    update = SCHEMAS["CustomerUpdate"]
    assert update["properties"] == create["properties"] and update["additionalProperties"] is False
    answers = ("Customer", "CountResult", "WriteResult", "Error")
    assert all(SCHEMAS[name]["additionalProperties"] is True for name in answers)


_EXPECT_ERROR = re.compile(r"^// @ts-expect-error .*\n(?P<line>.*)$", re.M)


@pytest.mark.parametrize("source", ["openapi-fetch.ts", "orval.ts", "hey-api.ts"])
def test_typescript_clients_refuse_a_misspelt_field_and_a_create_id(source: str) -> None:
    """Each consumer asserts, with `@ts-expect-error`, that a CustomerCreate with `BillingCty` and one
    with `CustomerID` do not compile; tsc fails on a directive that suppresses nothing, so the
    builds above prove the errors are there."""
    expected = [line.group("line") for line in _EXPECT_ERROR.finditer((POLYGLOT / "ts" / source).read_text())]
    assert len(expected) == 2
    assert any("CustomerCreate" in line and "BillingCty:" in line for line in expected)
    assert any("CustomerCreate" in line and "CustomerID:" in line for line in expected)


@pytest.mark.slow
@pytest.mark.external
def test_an_open_create_body_would_fail_the_typescript_build(tmp_path: Path) -> None:
    """The control: with `additionalProperties: true` on CustomerCreate, the `@ts-expect-error`
    lines suppress nothing and tsc refuses the openapi-fetch client (TS2578)."""
    document = copy.deepcopy(SPEC)
    document["components"]["schemas"]["CustomerCreate"]["additionalProperties"] = True
    changed = tmp_path / "customers.json"
    changed.write_text(json.dumps(document))
    with pytest.raises(polyglot.BuildError) as refused:
        polyglot.build("openapi-fetch", changed, tools=_tools(), out=polyglot.BUILD / "control-open-create")
    message = str(refused.value)
    assert "TS2578" in message and "Unused '@ts-expect-error' directive" in message
    assert message.count("TS2578") == 2  # the misspelt field and the CustomerID

"""The spec drives the mock: a field, a filter or an operation added to (or removed from) a copy of
the spec works with no code edit (issue 17 items 1 and 3), and bad option values are usage errors
(issue 18 item 6). Every synthetic name starts with `XTest`; the copy reaches the mock through
THREEDCART_SPEC, and the mock runs as a subprocess on a loopback port, spoken to over HTTP."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import API, SPEC, http
from threedcart_mock.testing import MockServer

SCHEMAS = "#/components/schemas/"
JSON = "application/json"


def _add_field(spec: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    """A new Customer field, also in the request schemas that repeat Customer's properties (closed
    copies, written by tools/spec_derive.py in the repository); those built with allOf get it from
    Customer itself."""
    schemas = spec["components"]["schemas"]
    customer = schemas["Customer"]["properties"]
    for schema_name, node in schemas.items():
        own = node.get("properties") if isinstance(node, dict) else None
        if schema_name == "Customer" or (isinstance(own, dict) and {"Email", "BillingCity"} <= set(own)):
            (customer if schema_name == "Customer" else own)[name] = schema


def _write(tmp_path: Path, spec: dict[str, Any], name: str = "xtest-spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def spec_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, Any]], Path]:
    """Write a (changed) copy of the spec and point THREEDCART_SPEC at it for the mocks started next."""

    def use(spec: dict[str, Any]) -> Path:
        path = _write(tmp_path, spec)
        monkeypatch.setenv("THREEDCART_SPEC", str(path))
        return path

    return use


@contextlib.contextmanager
def _started(spec_file: Path, *args: str) -> Iterator[MockServer]:
    """A mock started on this copy of the spec (THREEDCART_SPEC set only while it starts)."""
    previous = os.environ.get("THREEDCART_SPEC")
    os.environ["THREEDCART_SPEC"] = str(spec_file)
    try:
        server = MockServer(list(args)).start()
    finally:
        if previous is None:
            del os.environ["THREEDCART_SPEC"]
        else:
            os.environ["THREEDCART_SPEC"] = previous
    try:
        yield server
    finally:
        server.stop()


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    (body,) = r.json()
    assert body["Key"] == "Error" and body["Status"] == str(status)
    return str(body["Message"])


def _create(client: httpx.Client, n: int, **fields: Any) -> int:
    r = client.post("/Customers", json={"Email": f"xtest{n}@example.com", "Password": "", **fields})
    assert r.status_code == 201, r.text
    return int(r.json()[0]["Value"])


# --- 1. fields of every JSON shape -----------------------------------------------------------------
XTEST_FIELDS: dict[str, dict[str, Any]] = {
    "XTestTags": {
        "type": "array",
        "nullable": True,
        "maxItems": 3,
        "items": {"type": "string", "maxLength": 10},
    },
    "XTestScore": {"type": "integer", "format": "int64"},
    "XTestLevel": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 10},
    "XTestRatio": {"type": "number", "minimum": 0, "maximum": 1},
    "XTestCode": {"type": "string", "pattern": "^[A-Z]{3}$"},
    "XTestSince": {"type": "string", "format": "date", "nullable": True},
    # OpenAPI 3.0.3: `nullable` changes only `type`; an enum that allows null lists it
    "XTestTier": {"type": "string", "enum": ["bronze", "silver", "gold", None], "nullable": True},
    "XTestFlag": {"type": "boolean"},
    "XTestAddress": {"$ref": SCHEMAS + "XTestAddress"},
    "XTestCounts": {"type": "object", "additionalProperties": {"type": "integer"}},
}
XTEST_ADDRESS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["Zip"],
    "properties": {
        "Zip": {"type": "string", "maxLength": 5},
        "Lines": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "Geo": {"type": "object", "properties": {"Lat": {"type": "number"}, "Lon": {"type": "number"}}},
    },
}
VALID = {
    "XTestTags": ["vip", "ünïcode"],
    "XTestScore": 2**62,
    "XTestLevel": 10,
    "XTestRatio": 0.25,
    "XTestCode": "ABC",
    "XTestSince": "2026-02-28",
    "XTestTier": "gold",
    "XTestFlag": True,
    "XTestAddress": {"Zip": "33602", "Lines": ["1 Main St", "Suite 2"], "Geo": {"Lat": 27.9, "Lon": -82.4}},
    "XTestCounts": {"orders": 3, "returns": 0},
}
INVALID = [
    ({"XTestTags": "vip"}, "XTestTags must be a JSON array"),
    ({"XTestTags": ["x" * 11]}, "XTestTags[0] is longer than 10 characters"),
    ({"XTestTags": ["a", "b", "c", "d"]}, "XTestTags must have at most 3 items"),
    ({"XTestTags": [1]}, "XTestTags[0] must be of type string"),
    ({"XTestScore": 2**63}, "XTestScore must be a 64-bit integer"),
    ({"XTestScore": 1.5}, "XTestScore must be of type integer"),
    ({"XTestScore": None}, "XTestScore must not be null"),
    ({"XTestLevel": 11}, "XTestLevel must be at most 10"),
    ({"XTestLevel": 2**31}, "XTestLevel must be a 32-bit integer"),
    ({"XTestRatio": "0.5"}, "XTestRatio must be of type number"),
    ({"XTestRatio": -0.1}, "XTestRatio must be at least 0"),
    ({"XTestCode": "abc"}, "XTestCode does not match the pattern ^[A-Z]{3}$"),
    ({"XTestSince": "2026-02-30"}, "XTestSince must be a valid date"),
    ({"XTestTier": "platinum"}, 'XTestTier must be one of "bronze", "silver", "gold", null'),
    ({"XTestFlag": "yes"}, "XTestFlag must be of type boolean"),
    ({"XTestAddress": {}}, "XTestAddress.Zip is required"),
    ({"XTestAddress": [1]}, "XTestAddress must be a JSON object"),
    ({"XTestAddress": {"Zip": "123456"}}, "XTestAddress.Zip is longer than 5 characters"),
    ({"XTestAddress": {"Zip": "1", "XTestOther": 1}}, "XTestAddress has properties the spec does not allow"),
    ({"XTestAddress": {"Zip": "1", "Lines": []}}, "XTestAddress.Lines must have at least 1 items"),
    ({"XTestAddress": {"Zip": "1", "Geo": {"Lat": "north"}}}, "XTestAddress.Geo.Lat must be of type number"),
    ({"XTestCounts": {"orders": "3"}}, "XTestCounts.orders must be of type integer"),
    ({"XTestTags": ["\ud800"]}, "XTestTags is not valid Unicode"),
]


def _shapes_spec() -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    spec["components"]["schemas"]["XTestAddress"] = XTEST_ADDRESS
    for name, schema in XTEST_FIELDS.items():
        _add_field(spec, name, schema)
    return spec


@pytest.fixture(scope="module")
def shapes_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    spec = _shapes_spec()
    with _started(_write(tmp_path_factory.mktemp("shapes"), spec), "--seed-customers", "3") as server:
        yield server


def test_the_spec_of_the_issue_starts(spec_copy: Callable[[dict[str, Any]], Path]) -> None:
    """The change that used to stop the mock with KeyError: 'array'."""
    spec = copy.deepcopy(SPEC)
    _add_field(spec, "XTestTags", {"type": "array", "nullable": True, "items": {"type": "string"}})
    spec_copy(spec)
    with MockServer(["--seed-customers", "2"]) as server, http(server) as client:
        (record,) = client.get("/Customers/1").json()
        assert record["XTestTags"] == []  # the zero of the type, as "" is a new string's
        cid = _create(client, 1, XTestTags=["a", "b"])
        assert client.get(f"/Customers/{cid}").json()[0]["XTestTags"] == ["a", "b"]


def test_every_shape_round_trips_through_create_update_and_bulk(shapes_mock: MockServer) -> None:
    with http(shapes_mock) as client:
        cid = _create(client, 1, **VALID)
        (record,) = client.get(f"/Customers/{cid}").json()
        assert {name: record[name] for name in VALID} == VALID
        # a page carries the same JSON
        page = client.get("/Customers", params={"email": "xtest1@example.com"}).json()
        assert page == [record]
        changed = {"XTestTags": None, "XTestAddress": {"Zip": "10001"}, "XTestCounts": {}, "XTestTier": None}
        assert client.put(f"/Customers/{cid}", json=changed).status_code == 200
        (record,) = client.get(f"/Customers/{cid}").json()
        assert {name: record[name] for name in changed} == changed
        assert record["XTestScore"] == 2**62 and record["XTestCode"] == "ABC"  # untouched
        bulk = client.put("/Customers", json=[{"CustomerID": cid, "XTestLevel": 0, "XTestRatio": 1}])
        assert bulk.status_code == 200, bulk.text
        (record,) = client.get(f"/Customers/{cid}").json()
        assert (record["XTestLevel"], record["XTestRatio"]) == (0, 1)


def test_new_records_get_a_valid_default_for_each_new_field(shapes_mock: MockServer) -> None:
    with http(shapes_mock) as client:
        (seeded,) = client.get("/Customers/1").json()
        cid = _create(client, 2)
        (created,) = client.get(f"/Customers/{cid}").json()
    for record in (seeded, created):
        assert record["XTestTags"] == [] and record["XTestScore"] == 0 and record["XTestFlag"] is False
        assert record["XTestSince"] == "" or record["XTestSince"] is None
        assert record["XTestTier"] is None  # "" is not in the enum; the field is nullable
        assert record["XTestCounts"] == {}
        assert "XTestCode" not in record  # no value satisfies the pattern that the mock can make up
        assert record["XTestAddress"]["Zip"]  # built from the schema: Zip is required


@pytest.mark.parametrize(("fields", "message"), INVALID, ids=[m for _, m in INVALID])
def test_an_invalid_value_is_a_400_naming_the_field(
    shapes_mock: MockServer, fields: dict[str, Any], message: str
) -> None:
    with http(shapes_mock) as client:
        before = client.get("/Customers", params={"countonly": 1}).json()
        h = {"Content-Type": "application/json"}
        body = {"Email": "xtest-bad@example.com", "Password": "", **fields}
        text = json.dumps(body)  # the lone surrogate goes as the escape JSON allows
        assert message in _error(client.post("/Customers", content=text, headers=h), 400)
        assert message in _error(client.put("/Customers/1", content=json.dumps(fields), headers=h), 400)
        bulk = json.dumps([{"CustomerID": 1}, {"CustomerID": 2, **fields}])
        assert f"item 1: {message}" in _error(client.put("/Customers", content=bulk, headers=h), 400)
        assert client.get("/Customers", params={"countonly": 1}).json() == before  # nothing written


def test_several_problems_are_named_together(shapes_mock: MockServer) -> None:
    with http(shapes_mock) as client:
        message = _error(client.put("/Customers/1", json={"XTestLevel": -1, "XTestFlag": 1}), 400)
        assert "XTestLevel must be at least 0" in message and "XTestFlag must be of type boolean" in message


# --- 2. filters from x-threedcart-filter -----------------------------------------------------------
def _filter_param(name: str, field: str, match: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "allowEmptyValue": True,
        "x-threedcart-filter": {"field": field, "match": match},
        "schema": schema,
    }


LISTS = ("/3dCartWebAPI/v1/Customers", "/3dCartWebAPI/v1/CustomerGroups/{id}/Customers")


@pytest.fixture(scope="module")
def filters_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    spec = copy.deepcopy(SPEC)
    _add_field(spec, "XTestTier", {"type": "string", "nullable": True, "maxLength": 10})
    _add_field(spec, "XTestScore", {"type": "integer", "format": "int32"})
    _add_field(spec, "XTestVip", {"type": "boolean"})
    _add_field(spec, "XTestTags", {"type": "array", "items": {"type": "string"}})
    new = [
        _filter_param("xtestzip", "BillingZipCode", "equals", {"type": "string", "maxLength": 20}),
        _filter_param("xtesttier", "XTestTier", "equals", {"type": "string", "maxLength": 10}),
        _filter_param("xtestscoremin", "XTestScore", "since", {"type": "integer"}),
        _filter_param("xtestscoremax", "XTestScore", "until", {"type": "integer"}),
        _filter_param("xtestvip", "XTestVip", "equals", {"type": "boolean"}),
        _filter_param("xtesttag", "XTestTags", "equals", {"type": "string"}),
    ]
    for path in LISTS:
        op = spec["paths"][path]["get"]
        op["parameters"] = [p for p in op["parameters"] if p != {"$ref": "#/components/parameters/phone"}]
        op["parameters"] += new
    path = _write(tmp_path_factory.mktemp("filters"), spec)
    with _started(path, "--seed-customers", "300", "--random-seed", "5") as server, http(server) as client:
        for n in range(12):
            _create(
                client,
                n,
                BillingZipCode="XT" + str(n % 3),
                XTestTier=("gold", "Silver", None)[n % 3],
                XTestScore=n * 10,
                XTestVip=n % 4 == 0,
                XTestTags=["early"] if n < 5 else ["late", "VIP"] if n % 2 else [],
                CustomerGroupID=n % 2,
            )
        yield server


def _all(client: httpx.Client, path: str = "/Customers", **params: Any) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    offset = 1
    while True:
        r = client.get(path, params={**params, "limit": 500, "offset": offset})
        if r.status_code != 200:
            assert r.status_code in (400, 404), r.text
            return records
        records += r.json()
        offset += 500


def _ids(records: list[dict[str, Any]]) -> list[int]:
    return [int(r["CustomerID"]) for r in records]


def test_a_new_filter_parameter_works_with_no_code(filters_mock: MockServer) -> None:
    with http(filters_mock) as client:
        everyone = _all(client)
        expected = [c for c in everyone if c["BillingZipCode"] == "XT1"]
        assert len(expected) == 4
        assert _ids(_all(client, xtestzip="xt1")) == _ids(expected)  # exact, case-insensitive
        assert client.get("/Customers", params={"xtestzip": "XT", "countonly": 1}).json() == {"TotalCount": 0}
        seeded_zip = everyone[0]["BillingZipCode"]
        count = sum(1 for c in everyone if c["BillingZipCode"] == seeded_zip)
        assert client.get("/Customers", params={"xtestzip": seeded_zip, "countonly": 1}).json() == {
            "TotalCount": count
        }
        # its schema is checked: a 400 naming the parameter
        assert "xtestzip is longer than 20 characters" in _error(
            client.get("/Customers", params={"xtestzip": "9" * 21}), 400
        )
        # combined with the spec's own filters (AND) and on the group list too
        group = _all(client, "/CustomerGroups/1/Customers", xtestzip="XT1")
        assert _ids(group) == _ids([c for c in expected if c["CustomerGroupID"] == 1])
        both = _all(client, xtestzip="XT1", state=expected[0]["BillingState"])
        assert _ids(both) == _ids([c for c in expected if c["BillingState"] == expected[0]["BillingState"]])


def test_filters_on_new_fields_of_each_type(filters_mock: MockServer) -> None:
    with http(filters_mock) as client:
        everyone = [c for c in _all(client) if c["Email"].startswith("xtest")]
        assert len(everyone) == 12

        def expect(**params: Any) -> Callable[[Callable[[dict[str, Any]], bool]], None]:
            def check(keep: Callable[[dict[str, Any]], bool]) -> None:
                assert _ids(_all(client, **params)) == _ids([c for c in everyone if keep(c)]), params

            return check

        expect(xtesttier="GOLD")(lambda c: c["XTestTier"] == "gold")
        expect(xtesttier="silver")(lambda c: c["XTestTier"] == "Silver")
        expect(xtestscoremin=30, xtestscoremax=70)(lambda c: 30 <= c["XTestScore"] <= 70)  # inclusive
        expect(xtestscoremin=100)(lambda c: c["XTestScore"] >= 100)
        expect(xtestvip="true")(lambda c: c["XTestVip"] is True)
        expect(xtestvip="false", xtestscoremin=1)(lambda c: c["XTestVip"] is False and c["XTestScore"] >= 1)
        expect(xtesttag="vip")(lambda c: "VIP" in c["XTestTags"])  # an item of the array
        expect(xtesttag="early", xtesttier="gold")(
            lambda c: "early" in c["XTestTags"] and c["XTestTier"] == "gold"
        )
        assert "xtestscoremin must be an integer" in _error(
            client.get("/Customers", params={"xtestscoremin": "ten"}), 400
        )
        assert "xtestvip must be true or false" in _error(
            client.get("/Customers", params={"xtestvip": "y"}), 400
        )
        # A record whose field changes leaves (and enters) the filter.
        gold = _ids(_all(client, xtesttier="gold"))
        assert client.put(f"/Customers/{gold[0]}", json={"XTestTier": "bronze"}).status_code == 200
        assert _ids(_all(client, xtesttier="gold")) == gold[1:]
        assert _ids(_all(client, xtesttier="bronze")) == gold[:1]


def test_a_removed_filter_is_no_longer_a_filter(filters_mock: MockServer) -> None:
    with http(filters_mock) as client:
        total = client.get("/Customers", params={"countonly": 1}).json()
        # phone is gone from the spec: an unknown query parameter, ignored like any other
        assert client.get("/Customers", params={"phone": "nobody", "countonly": 1}).json() == total
        assert client.get("/Customers", params={"xtestnothing": "x", "countonly": 1}).json() == total


def test_a_filter_on_a_field_the_spec_does_not_have_stops_the_start_with_one_line(tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["paths"][LISTS[0]]["get"]["parameters"].append(
        _filter_param("xtestghost", "XTestGhost", "equals", {"type": "string"})
    )
    env = {**os.environ, "THREEDCART_SPEC": str(_write(tmp_path, spec))}
    result = subprocess.run(
        [sys.executable, "-m", "threedcart_mock", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "xtestghost" in line and "XTestGhost" in line


# --- 3. operations without a handler: answered from the spec -----------------------------------------
XTEST_ORDERS = "/3dCartWebAPI/v1/Customers/{id}/XTestOrders"
XTEST_NOTES = "/3dCartWebAPI/v1/XTestNotes"
XTEST_NOTE = "/3dCartWebAPI/v1/XTestNotes/{xtest-note-id}"
XTEST_SPECIAL = "/3dCartWebAPI/v1/Customers/XTestSpecial"
ORDERS_EXAMPLE = [{"XTestOrderID": 7, "XTestTotal": 12.5, "XTestStatus": "open"}]


def _stateless_spec() -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    schemas = spec["components"]["schemas"]
    schemas["XTestNote"] = {
        "type": "object",
        "required": ["XTestText"],
        "properties": {
            "XTestNoteID": {"type": "integer", "readOnly": True, "minimum": 1},
            "XTestText": {"type": "string", "maxLength": 10},
            "XTestTags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            "XTestWhen": {"type": "string", "format": "date-time"},
        },
    }
    security = [{"SecureURL": [], "PrivateKey": [], "Token": []}]
    spec["paths"][XTEST_ORDERS] = {
        "parameters": [{"$ref": "#/components/parameters/customerId"}],
        "get": {
            "operationId": "getXTestOrders",
            "security": security,
            "parameters": [
                {
                    "name": "xtestpage",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                },
                {
                    "name": "xteststatus",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["open", "closed"]},
                },
                {
                    "name": "xtestids",
                    "in": "query",
                    "explode": False,
                    "schema": {"type": "array", "maxItems": 3, "items": {"type": "integer"}},
                },
                {
                    "name": "X-XTest-Mode",
                    "in": "header",
                    "schema": {"type": "string", "enum": ["fast", "slow"]},
                },
            ],
            "responses": {
                "404": {"$ref": "#/components/responses/CustomerNotFound"},
                "200": {
                    "description": "The orders.",
                    "content": {"application/json": {"schema": {"type": "array"}, "example": ORDERS_EXAMPLE}},
                },
            },
        },
    }
    spec["paths"][XTEST_NOTES] = {
        "post": {
            "operationId": "createXTestNote",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": SCHEMAS + "XTestNote"}}},
            },
            "responses": {
                "201": {
                    "description": "Created; no example: one is built from the schema.",
                    "headers": {"X-XTest-Trace": {"schema": {"type": "string"}, "example": "xtest-trace-1"}},
                    "content": {"application/json": {"schema": {"$ref": SCHEMAS + "XTestNote"}}},
                },
                "400": {"$ref": "#/components/responses/BadRequest"},
            },
        }
    }
    spec["paths"][XTEST_NOTE] = {
        "delete": {
            "operationId": "deleteXTestNote",
            "security": [],
            "parameters": [
                {
                    "name": "xtest-note-id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            ],
            "responses": {"204": {"description": "Deleted."}},
        }
    }
    # a new method on a path whose other methods are stateful
    spec["paths"]["/3dCartWebAPI/v1/Customers/{id}"]["patch"] = {
        "operationId": "patchXTestCustomer",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
            "200": {"description": "Patched.", "content": {JSON: {"example": {"XTestPatched": True}}}}
        },
    }
    spec["paths"][XTEST_SPECIAL] = {
        "get": {
            "operationId": "getXTestSpecial",
            "responses": {
                "200": {
                    "description": "A literal path beside /Customers/{id}.",
                    "content": {"text/plain": {"example": "xtest"}},
                }
            },
        }
    }
    return spec


@pytest.fixture(scope="module")
def stateless_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("stateless"), _stateless_spec())


@pytest.fixture(scope="module")
def stateless_mock(stateless_spec: Path) -> Iterator[MockServer]:
    with _started(stateless_spec) as server:
        yield server


def test_operations_without_a_handler_are_served_from_the_spec_and_listed_once(stateless_spec: Path) -> None:
    with _started(stateless_spec, "--seed-customers", "3") as server, http(server) as client:
        listed = [line for line in server.output if "answered statelessly from the spec" in line]
        assert len(listed) == 1
        for op in ("getXTestOrders", "createXTestNote", "deleteXTestNote", "getXTestSpecial"):
            assert op in listed[0]
        assert "GET /3dCartWebAPI/v1/Customers/{id}/XTestOrders (getXTestOrders)" in listed[0]
        assert "listCustomers" not in listed[0]
        assert "PATCH /3dCartWebAPI/v1/Customers/{id} (patchXTestCustomer)" in listed[0]
        assert client.patch("/Customers/3", json={"XTestAnything": 1}).json() == {"XTestPatched": True}
        assert client.patch("/Customers/3").status_code == 200  # its body is optional
        assert "must be a JSON object" in _error(client.patch("/Customers/3", json=[1]), 400)
        allowed = set(client.options("/Customers/3").headers["allow"].split(", "))
        assert {"GET", "PUT", "DELETE", "PATCH"} <= allowed

        r = client.get("/Customers/5/XTestOrders", params={"xtestpage": 1, "xteststatus": "open"})
        assert r.status_code == 200 and r.json() == ORDERS_EXAMPLE
        r = client.get(
            "/Customers/5/XTestOrders?xtestpage=2&xtestids=1,2,3", headers={"X-XTest-Mode": "fast"}
        )
        assert r.status_code == 200
        # the seven operations keep their state beside them
        cid = _create(client, 1)
        assert client.get(f"/Customers/{cid}").json()[0]["Email"] == "xtest1@example.com"
        assert client.get("/Customers/XTestSpecial").text == "xtest"  # a literal path wins over {id}
        assert client.get("/Customers/3").json()[0]["CustomerID"] == 3

        r = client.post("/XTestNotes", json={"XTestText": "hello", "XTestTags": ["a"]})
        assert r.status_code == 201 and r.headers["X-XTest-Trace"] == "xtest-trace-1"
        note = r.json()
        assert set(note) == {"XTestNoteID", "XTestText", "XTestTags", "XTestWhen"}
        assert note["XTestNoteID"] == 1 and note["XTestTags"] == ["a"] and note["XTestWhen"].startswith("20")

        # security: [] needs no credentials; the others do
        assert httpx.delete(server.url + API + "/XTestNotes/4").status_code == 204
        bare = httpx.get(server.url + API + "/Customers/5/XTestOrders", params={"xtestpage": 1})
        assert "missing header" in _error(bare, 401)
        wrong = client.post("/XTestNotes", json={"XTestText": "x"}, headers={"Token": "wrong"})
        _error(wrong, 401)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "message"),
    [
        ("GET", "/Customers/abc/XTestOrders", {"params": {"xtestpage": 1}}, 400, "id must be an integer"),
        ("GET", "/Customers/0/XTestOrders", {"params": {"xtestpage": 1}}, 400, "id must be at least 1"),
        ("GET", "/Customers/5/XTestOrders", {}, 400, "xtestpage is required"),
        (
            "GET",
            "/Customers/5/XTestOrders",
            {"params": {"xtestpage": 0}},
            400,
            "xtestpage must be at least 1",
        ),
        (
            "GET",
            "/Customers/5/XTestOrders",
            {"params": {"xtestpage": 1, "xteststatus": "lost"}},
            400,
            'xteststatus must be one of "open", "closed"',
        ),
        (
            "GET",
            "/Customers/5/XTestOrders?xtestpage=1&xtestids=1,x",
            {},
            400,
            "xtestids[1] must be an integer",
        ),
        (
            "GET",
            "/Customers/5/XTestOrders?xtestpage=1&xtestids=1,2,3,4",
            {},
            400,
            "xtestids must have at most 3",
        ),
        (
            "GET",
            "/Customers/5/XTestOrders",
            {"params": {"xtestpage": 1}, "headers": {"X-XTest-Mode": "warp"}},
            400,
            "X-XTest-Mode must be one of",
        ),
        ("POST", "/XTestNotes", {}, 400, "The request body is required"),
        ("POST", "/XTestNotes", {"json": {}}, 400, "XTestText is required"),
        (
            "POST",
            "/XTestNotes",
            {"json": {"XTestText": "x" * 11}},
            400,
            "XTestText is longer than 10 characters",
        ),
        (
            "POST",
            "/XTestNotes",
            {"json": {"XTestText": "x", "XTestTags": ["c"]}},
            400,
            "XTestTags[0] must be one of",
        ),
        (
            "POST",
            "/XTestNotes",
            {"json": {"XTestText": "x", "XTestWhen": "noon"}},
            400,
            "XTestWhen must be a valid date-time",
        ),
        ("POST", "/XTestNotes", {"json": [1]}, 400, "the request body must be a JSON object"),
        (
            "POST",
            "/XTestNotes",
            {"content": b'{"XTestText": ', "headers": {"Content-Type": "application/json"}},
            400,
            "Malformed JSON",
        ),
        (
            "POST",
            "/XTestNotes",
            {"content": b"XTestText=x", "headers": {"Content-Type": "text/plain"}},
            415,
            "Unsupported media type 'text/plain'",
        ),
        ("DELETE", "/XTestNotes/x", {}, 400, "xtest-note-id must be an integer"),
    ],
)
def test_invalid_requests_to_them_are_named_in_the_api_error_shape(
    stateless_mock: MockServer, method: str, path: str, kwargs: dict[str, Any], status: int, message: str
) -> None:
    with http(stateless_mock) as client:
        assert message in _error(client.request(method, path, **kwargs), status)


def test_fault_and_bodiless_options_apply_to_them(stateless_spec: Path) -> None:
    with _started(stateless_spec, "--bodiless-errors") as server, http(server) as client:
        r = client.get("/Customers/5/XTestOrders")
        assert r.status_code == 400 and r.content == b"" and "content-type" not in r.headers
        assert client.get("/Customers/5/XTestOrders", params={"xtestpage": 1}).status_code == 200
    with _started(stateless_spec, "--fault-rate", "1") as server, http(server) as client:
        statuses = {
            client.get("/Customers/5/XTestOrders", params={"xtestpage": 1}).status_code for _ in range(20)
        }
        assert statuses == {500, 503}
    with _started(stateless_spec, "--fault-after-commit", "1") as server, http(server) as client:
        for _ in range(10):
            try:
                r = client.post("/XTestNotes", json={"XTestText": "x"})
            except httpx.TransportError:
                continue  # dropped without an answer
            assert r.status_code == 500 and "after commit" in r.json()[0]["Message"]


def test_an_operation_without_any_success_answer_is_a_501_not_a_failed_start(
    spec_copy: Callable[[dict[str, Any]], Path],
) -> None:
    spec = copy.deepcopy(SPEC)
    spec["paths"]["/3dCartWebAPI/v1/XTestBroken"] = {
        "get": {"operationId": "getXTestBroken", "responses": {"404": {"description": "Never found."}}}
    }
    spec_copy(spec)
    with MockServer() as server, http(server) as client:
        assert "getXTestBroken" in _error(client.get("/XTestBroken"), 501)


# --- 4. option values --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--seed-customers", "-1"], "--seed-customers"),
        (["--seed-customers", "ten"], "--seed-customers"),
        (["--latency-ms", "-5"], "--latency-ms"),
        (["--latency-ms", "nan"], "--latency-ms"),
        (["--latency-ms", "inf"], "--latency-ms"),
        (["--db", "/nonexistent-xtest-folder/store.sqlite"], "--db"),
        (["--db", "."], "--db"),
        (["--port", "70000"], "--port"),
        (["--port", "-1"], "--port"),
        (["--fault-rate", "lots"], "--fault-rate"),
        (["--fault-after-commit", "2"], "--fault-after-commit"),
        (["--random-seed", "1.5"], "--random-seed"),
        (["--clock-speed", "-1"], "--clock-speed"),
        (["--max-url-bytes", "0"], "--max-url-bytes"),
    ],
)
def test_bad_option_values_are_one_line_usage_errors(args: list[str], option: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "threedcart_mock", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "listening" not in result.stdout
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and option in errors[0], result.stderr


def test_a_file_that_is_not_a_database_is_a_usage_error(tmp_path: Path) -> None:
    bogus = tmp_path / "not-a-database.sqlite"
    bogus.write_bytes(b"XTest: this is not SQLite\n" * 100)
    result = subprocess.run(
        [sys.executable, "-m", "threedcart_mock", "--port", "0", "--db", str(bogus)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "--db" in errors[0]


def test_a_filter_added_to_a_database_file_reads_its_records_and_never_a_stale_copy(tmp_path: Path) -> None:
    """A filter's column is filled from the stored records when the filter appears, and dropped when
    it goes: a filter that comes back after writes made without it finds what they wrote."""
    db = str(tmp_path / "xtest-store.sqlite")
    with_zip = copy.deepcopy(SPEC)
    with_zip["paths"][LISTS[0]]["get"]["parameters"].append(
        _filter_param("xtestzip", "BillingZipCode", "equals", {"type": "string", "maxLength": 20})
    )
    spec_file = _write(tmp_path, with_zip)
    with MockServer(["--db", db]) as server, http(server) as client:
        first = _create(client, 1, BillingZipCode="XT-1")
        _create(client, 2, BillingZipCode="XT-2")
    with _started(spec_file, "--db", db) as server, http(server) as client:
        assert _ids(_all(client, xtestzip="xt-1")) == [first]
    with MockServer(["--db", db]) as server, http(server) as client:  # the filter is gone: its column too
        assert client.put(f"/Customers/{first}", json={"BillingZipCode": "XT-3"}).status_code == 200
    with _started(spec_file, "--db", db) as server, http(server) as client:
        assert _all(client, xtestzip="xt-1") == []
        assert _ids(_all(client, xtestzip="XT-3")) == [first]


AGREEMENT_SCRIPT = """
import json, random, sys
from threedcart_mock._schema import body_schema_at, pointer
pool = [None, True, False, 0, 1, -1, 10, 11, 1.5, 1.0, 0.25, 2**31, 2**62, 2**63, -(2**31) - 1, "", "ABC",
        "abc", "x" * 300, "2026-02-30", "2026-02-28", "ABC\\n", [], ["a"], ["vip", "b"], ["x" * 11], [1],
        ["a", "b", "c", "d"], {}, {"Zip": "1"}, {"Zip": "123456"}, {"Zip": 1}, {"Zip": "1", "Lines": []},
        {"Zip": "1", "Geo": {"Lat": 1}}, {"Zip": "1", "Geo": {"Lat": "n"}}, {"orders": 1}, {"orders": "1"},
        "gold", "platinum", "\\ud800"]
fields = sys.argv[1].split(",")
rng = random.Random(int(sys.argv[2]))
at = pointer("paths", "/3dCartWebAPI/v1/Customers", "put", "requestBody")
bulk = body_schema_at(at + "/content/application~1json/schema")
assert bulk._fast is not None
disagree, slower, valid, checked = [], [], 0, 0
for _ in range(3000):
    item = {"CustomerID": rng.choice([1, 1, 1, 0, "1"])}
    for name in rng.sample(fields, rng.randrange(1, 4)):
        item[name] = rng.choice(pool)
    try:
        fast = bulk._fast([item])
    except Exception:
        fast = False
    slow = not bulk.problems([item], items="item")
    checked += 1
    valid += slow
    if fast and not slow:
        disagree.append(item)  # accepted by the fast path, refused by the validator: never allowed
    elif slow and not fast:
        slower.append(item)  # only slower: the validator judges it
print(json.dumps({"checked": checked, "valid": valid, "unsafe": [repr(d) for d in disagree[:5]],
                  "slower": [repr(d) for d in slower]}))
"""


def test_the_fast_path_judges_as_the_validator_does(tmp_path: Path) -> None:
    """jsonschema-rs (on the schema translated to draft 4) accepts exactly what OAS30Validator accepts."""
    spec_file = _write(tmp_path, _shapes_spec())
    fields = [*XTEST_FIELDS, "Email", "CustomerGroupID", "Enabled", "TotalStoreCredit", "BillingZipCode"]
    env = {**os.environ, "THREEDCART_SPEC": str(spec_file)}
    result = subprocess.run(
        [sys.executable, "-c", AGREEMENT_SCRIPT, ",".join(fields), "11"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=True,
    )
    found = json.loads(result.stdout)
    assert found["unsafe"] == [], found
    # Python's `$` also matches before a final newline (ECMA's does not): such a value is valid to
    # OAS30Validator, only not to the fast path, which then leaves it to the validator.
    assert all("\\n" in item for item in found["slower"]), found["slower"]
    assert 30 < found["valid"] < found["checked"] - 100  # both kinds were tried


def test_a_reference_to_nowhere_in_a_body_schema_stops_the_start_with_one_line(tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["paths"]["/3dCartWebAPI/v1/XTestNotes"] = {
        "post": {
            "operationId": "createXTestNote",
            "requestBody": {
                "content": {
                    JSON: {
                        "schema": {
                            "type": "object",
                            "properties": {"XTestItem": {"$ref": SCHEMAS + "XTestGone"}},
                        }
                    }
                }
            },
            "responses": {"201": {"description": "Created."}},
        }
    }
    env = {**os.environ, "THREEDCART_SPEC": str(_write(tmp_path, spec))}
    result = subprocess.run(
        [sys.executable, "-m", "threedcart_mock", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "XTestGone" in line

"""The mock store piece by piece, in this process: the Starlette app (`create_app`) through httpx's ASGI
transport, its HTTP/1.1 server (`_server.Server`) on an event loop in a thread on 127.0.0.1, the database,
the spec readers, the store clock and the command line's set-up (`__main__.main` with `run` replaced).

Every other mock test starts `python -m threedcart_mock` as a subprocess, which mutation testing cannot
instrument and which costs a second a test; these pin exact statuses, messages, bodies, headers and
stored state so that a changed constant, comparison, branch or string of the mock fails one of them.
Synthetic spec changes use names starting with `Xyzzy` (no real API adds them); they reach the mock
through THREEDCART_SPEC with the spec readers' caches cleared, and the caches are cleared again after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import errno
import hashlib
import json
import logging
import math
import os
import random
import re
import signal
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httptools
import httpx
import pytest
import yaml
from conftest import API, SPEC
from jsonschema.exceptions import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from threedcart_mock import __main__ as cli
from threedcart_mock import _app, _clock, _db, _operations, _schema, _server
from threedcart_mock._app import (
    NO_SUCH_RESOURCE_HEADER,
    DateHeader,
    IntParam,
    LeakyBucket,
    ListPlan,
    MockApi,
    Settings,
    StoreCredentials,
    api_base_path,
    api_routes,
    create_app,
    new_customer_defaults,
    normalize_url,
)
from threedcart_mock._clock import StoreClock
from threedcart_mock._db import EVERYONE, Database, Query, filter_column, json_path, shuffle_key
from threedcart_mock._operations import (
    MAX_BODY_BYTES,
    ApiError,
    Filter,
    Operation,
    Parameter,
    RequestBody,
    customer_filters,
    documented_answer,
    operations,
    parameter_value,
    parse_json,
    read_body,
    request_values,
)
from threedcart_mock._schema import MISSING, Field, SpecError, customer_fields, example, pointer
from threedcart_mock._server import ABORT_KEY, LOGGER, Limits, Server

DEMO = cli.DEMO_STORE
AUTH = {"SecureURL": DEMO.secure_url, "PrivateKey": DEMO.private_key, "Token": DEMO.token}
OTHER = StoreCredentials("https://other-store.3dcartstores.com", "other-key", "other-token")
OTHER_AUTH = {"SecureURL": OTHER.secure_url, "PrivateKey": OTHER.private_key, "Token": OTHER.token}
# A frozen store clock: 05:20Z on the DST fall-back day is 01:20 EDT in the store's zone.
FROZEN = datetime(2026, 11, 1, 5, 20, tzinfo=UTC)
FROZEN_STAMP = "2026-11-01 01:20:00"
FROZEN_DATE = "Sun, 01 Nov 2026 05:20:00 GMT"
JSON_HEADERS = {"Content-Type": "application/json"}
SCHEMAS = "#/components/schemas/"
CUSTOMERS = API + "/Customers"
GROUP = API + "/CustomerGroups/{id}/Customers"
AUTH_FAILED = "Authentication failure. The PrivateKey/Token/SecureURL combination is invalid"
NOT_FOUND = "The Customer record was not found"
NONE_FOUND = "No Customer records found"
GROUP_NONE = "The Customer Group was not found and/or contains no customer records"
PAST_END = "Offset amount exceeds the total number of records"


# --- the spec's list filters, read from the spec itself ----------------------------------------------
def _resolved(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _spec_filters(path: str) -> dict[str, dict[str, str]]:
    """Query parameter name -> its `x-threedcart-filter`, for the list at this path of the spec."""
    params = [_resolved(p) for p in SPEC["paths"][path]["get"]["parameters"]]
    return {p["name"]: p["x-threedcart-filter"] for p in params if "x-threedcart-filter" in p}


LIST_FILTERS = _spec_filters(CUSTOMERS)
GROUP_FILTERS = _spec_filters(GROUP)
EQUALS = sorted(name for name, f in LIST_FILTERS.items() if f["match"] == "equals")
TIMES = sorted(name for name, f in LIST_FILTERS.items() if f["field"] == "$lastUpdate")
assert EQUALS and TIMES and GROUP_FILTERS == LIST_FILTERS


# --- an app in this process ----------------------------------------------------------------------------
class Api:
    """A client of an ASGI app in this process: httpx's ASGI transport on an event loop of its own.

    Exceptions of the app are not raised here: its 500 is what a client would see.
    """

    def __init__(self, app: ASGIApp, headers: Mapping[str, str] | None = None, base: str = API) -> None:
        self.loop = asyncio.new_event_loop()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.client = httpx.AsyncClient(
            transport=transport,
            base_url="http://mock.test" + base,
            headers=dict(AUTH if headers is None else headers),
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def count(self, path: str = "/Customers", **params: Any) -> int:
        r = self.get(path, params={**params, "countonly": 1})
        assert r.status_code == 200, r.text
        return int(r.json()["TotalCount"])

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


class Store:
    """A mock store in this process: its settings, database, app and a client of the demo store."""

    def __init__(self, path: str = ":memory:", seed: int = 0, **settings: Any) -> None:
        settings.setdefault("clock_start", FROZEN)
        settings.setdefault("clock_speed", 0)
        self.settings = Settings([DEMO, OTHER], **settings)
        self.db = Database(path, order=self.settings.order, clock=self.settings.clock)
        self.app = create_app(self.settings, self.db)
        self.api: MockApi = self.app.state.api
        if seed:
            self.db.seed(DEMO.key, seed, 7, new_customer_defaults())
        self.client = Api(self.app)

    def rows(self) -> list[dict[str, Any]]:
        """Every record of the demo store, as stored, in id order."""
        found = self.db._conn.execute(
            "SELECT data FROM customers WHERE store = ? ORDER BY id", (DEMO.key,)
        ).fetchall()
        return [json.loads(row[0]) for row in found]

    def stamps(self) -> dict[int, str]:
        found = self.db._conn.execute("SELECT id, updated FROM customers WHERE store = ?", (DEMO.key,))
        return {int(cid): str(updated) for cid, updated in found}

    def close(self) -> None:
        self.client.close()
        self.db.close()


@pytest.fixture(scope="module")
def seeded() -> Iterator[Store]:
    """60 seeded customers of the demo store (group ids 0..3), a frozen clock. Never write to it."""
    store = Store(seed=60)
    yield store
    store.close()


@pytest.fixture
def store() -> Iterator[Store]:
    """An empty store for one test (the demo store and OTHER), a frozen clock."""
    made = Store()
    yield made
    made.close()


def _error(r: httpx.Response, status: int, value: str = "") -> str:
    """The message of an error answer in the API's shape (after checking its shape and Value)."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/json"
    (body,) = r.json()
    assert set(body) == {"Key", "Value", "Status", "Message"}
    assert (body["Key"], body["Status"], body["Value"]) == ("Error", str(status), value), body
    return str(body["Message"])


def _bodiless(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.content == b"" and r.headers["content-length"] == "0" and "content-type" not in r.headers


def _new(n: int = 1, **fields: Any) -> dict[str, Any]:
    return {"Email": f"xyzzy{n}@example.com", "Password": "", **fields}


def _create(client: Api, n: int = 1, **fields: Any) -> int:
    r = client.post("/Customers", json=_new(n, **fields))
    assert r.status_code == 201, r.text
    return int(r.json()[0]["Value"])


def _ids(r: httpx.Response) -> list[int]:
    assert r.status_code == 200, r.text
    return [int(c["CustomerID"]) for c in r.json()]


def _written(customer_id: int, status: int, message: str) -> dict[str, str]:
    return {"Key": "CustomerID", "Value": str(customer_id), "Status": str(status), "Message": message}


# --- synthetic specs ------------------------------------------------------------------------------------
SPEC_CACHES: tuple[Any, ...] = (
    _schema.spec_text,
    _schema.spec,
    _schema._registry,
    _schema.schema_at,
    _schema.body_schema_at,
    _schema._fast_registry,
    _schema.customer_fields,
    _schema.date_pattern,
    _operations.operations,
    _operations.customer_filters,
)


def _clear_spec_caches() -> None:
    for cached in SPEC_CACHES:
        cached.cache_clear()


@pytest.fixture
def use_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Any], Path]]:
    """Point the mock at a (changed) spec, a document or its text, with the readers' caches cleared."""

    def use(document: Any) -> Path:
        path = tmp_path / "xyzzy-spec.yaml"
        text = document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("THREEDCART_SPEC", str(path))
        _clear_spec_caches()
        return path

    yield use
    _clear_spec_caches()  # the next reader reads the real spec again (the variable is restored next)


def _add_field(spec: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    """A new Customer field, also in the closed request schemas that repeat Customer's properties."""
    for schema_name, node in spec["components"]["schemas"].items():
        own = node.get("properties") if isinstance(node, dict) else None
        if isinstance(own, dict) and (schema_name == "Customer" or {"Email", "BillingCity"} <= set(own)):
            own[name] = schema


def _filter_param(name: str, field: str, match: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "allowEmptyValue": True,
        "x-threedcart-filter": {"field": field, "match": match},
        "schema": schema,
    }


def _op(operation_id: str) -> Operation:
    return next(op for op in operations() if op.operation_id == operation_id)


# --- authentication ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "missing"),
    [
        ({}, "SecureURL, PrivateKey, Token"),
        ({"SecureURL": DEMO.secure_url}, "PrivateKey, Token"),
        ({"SecureURL": DEMO.secure_url, "PrivateKey": DEMO.private_key}, "Token"),
        ({"PrivateKey": DEMO.private_key, "Token": DEMO.token}, "SecureURL"),
        ({**AUTH, "PrivateKey": ""}, "PrivateKey"),
    ],
)
def test_missing_credentials_are_named(seeded: Store, headers: dict[str, str], missing: str) -> None:
    bare = Api(seeded.app, headers)
    try:
        message = _error(bare.get("/Customers/1"), 401)
    finally:
        bare.close()
    assert message == f"Authentication failure: missing header {missing}"


@pytest.mark.parametrize(
    "headers",
    [
        {**AUTH, "Token": "wrong"},
        {**AUTH, "PrivateKey": "wrong"},
        {**AUTH, "SecureURL": "https://xyzzy.3dcartstores.com"},
        {**AUTH, "PrivateKey": OTHER.private_key, "Token": OTHER.token},  # another store's key and token
        {**AUTH, "Token": DEMO.token + "x"},
    ],
)
def test_a_wrong_combination_is_one_message_naming_no_secret(seeded: Store, headers: dict[str, str]) -> None:
    r = seeded.client.get("/Customers/1", headers=headers)
    assert _error(r, 401) == AUTH_FAILED


def test_the_secure_url_matches_without_case_or_trailing_slash(seeded: Store) -> None:
    r = seeded.client.get("/Customers/1", headers={"SecureURL": DEMO.secure_url.upper() + "//"})
    assert _ids(r) == [1]
    assert normalize_url("  HTTPS://Shop.Example.com/ ") == "https://shop.example.com"


def test_credentials_hide_their_secrets() -> None:
    assert repr(OTHER) == (
        "StoreCredentials(secure_url='https://other-store.3dcartstores.com', private_key='***', token='***')"
    )
    assert StoreCredentials("HTTPS://A.example/", "k", "t").key == "https://a.example"


def test_two_stores_do_not_see_each_other(store: Store) -> None:
    mine = _create(store.client)
    other = Api(store.app, OTHER_AUTH)
    try:
        assert _error(other.get(f"/Customers/{mine}"), 404, str(mine)) == NOT_FOUND
        assert _error(other.delete(f"/Customers/{mine}"), 404, str(mine)) == NOT_FOUND
        assert other.count() == 0
        theirs = _create(other, 2)
    finally:
        other.close()
    assert theirs == mine + 1  # one id sequence for every store
    assert store.client.count() == 1


# --- lists and paging ----------------------------------------------------------------------------------
def test_the_default_page_is_ten_records_from_offset_one(seeded: Store) -> None:
    r = seeded.client.get("/Customers")
    assert _ids(r) == list(range(1, 11))
    assert r.headers["content-type"] == "application/json"
    stored = [json.dumps(row, separators=(",", ":"), ensure_ascii=False) for row in seeded.rows()[:10]]
    assert r.content == ("[" + ",".join(stored) + "]").encode()  # the stored JSON, joined


@pytest.mark.parametrize(
    ("params", "ids"),
    [
        ({"limit": 3}, [1, 2, 3]),
        ({"limit": 3, "offset": 0}, [1, 2, 3]),  # 0 is 1
        ({"limit": 3, "offset": 1}, [1, 2, 3]),
        ({"limit": 2, "offset": 59}, [59, 60]),
        ({"limit": 500, "offset": 60}, [60]),
        ({"limit": 1, "offset": 7}, [7]),
        ({"limit": "", "offset": "", "countonly": ""}, list(range(1, 11))),  # empty: not given
        ({"countonly": 0, "limit": 2}, [1, 2]),
    ],
)
def test_paging(seeded: Store, params: dict[str, Any], ids: list[int]) -> None:
    assert _ids(seeded.client.get("/Customers", params=params)) == ids


@pytest.mark.parametrize(
    ("params", "message", "value"),
    [
        ({"limit": 501}, "limit must be an integer between 1 and 500", "501"),
        ({"limit": 0}, "limit must be an integer between 1 and 500", "0"),
        ({"limit": "ten"}, "limit must be an integer between 1 and 500", "ten"),
        ({"limit": "+-5"}, "limit must be an integer between 1 and 500", "+-5"),
        ({"limit": "5" * 60}, "limit must be an integer between 1 and 500", "5" * 50),
        ({"offset": -1}, "offset must be an integer between 0 and 2147483647", "-1"),
        ({"offset": 2147483648}, "offset must be an integer between 0 and 2147483647", "2147483648"),
        ({"countonly": 2}, "countonly must be an integer between 0 and 1", "2"),
        ({"countonly": "yes"}, "countonly must be an integer between 0 and 1", "yes"),
        ({"offset": 61}, PAST_END, "61"),
        ({"offset": 2147483647}, PAST_END, "2147483647"),
    ],
)
def test_paging_mistakes_are_400s_naming_the_parameter(
    seeded: Store, params: dict[str, Any], message: str, value: str
) -> None:
    assert _error(seeded.client.get("/Customers", params=params), 400, value) == message


def test_countonly_answers_the_count_and_zero_is_a_count(seeded: Store) -> None:
    r = seeded.client.get("/Customers", params={"countonly": 1})
    assert r.status_code == 200 and r.content == b'{"TotalCount":60}'
    assert seeded.client.count(email="nobody@example.com") == 0
    assert seeded.client.count("/CustomerGroups/99/Customers") == 0


def test_no_match_is_a_404_with_its_own_message(seeded: Store) -> None:
    assert _error(seeded.client.get("/Customers", params={"email": "nobody@example.com"}), 404) == NONE_FOUND
    assert _error(seeded.client.get("/CustomerGroups/99/Customers"), 404) == GROUP_NONE
    r = seeded.client.get("/CustomerGroups/0/Customers", params={"offset": 500})
    assert _error(r, 400, "500") == PAST_END


@pytest.mark.parametrize("group", [0, 1, 2, 3])
def test_a_group_lists_its_members_only(seeded: Store, group: int) -> None:
    members = [c["CustomerID"] for c in seeded.rows() if c["CustomerGroupID"] == group]
    assert members
    path = f"/CustomerGroups/{group}/Customers"
    assert _ids(seeded.client.get(path, params={"limit": 500})) == members
    assert seeded.client.count(path) == len(members)
    assert _ids(seeded.client.get(path, params={"limit": 2, "offset": 2})) == members[1:3]


@pytest.mark.parametrize(
    "listing", ["/Customers", "/CustomerGroups/0/Customers", "/CustomerGroups/1/Customers"]
)
@pytest.mark.parametrize("name", EQUALS)
def test_every_equals_filter_of_the_spec_filters_every_listing(
    seeded: Store, name: str, listing: str
) -> None:
    field = LIST_FILTERS[name]["field"]
    members = [c for c in seeded.rows() if listing == "/Customers" or str(c["CustomerGroupID"]) in listing]
    value = str(next(c[field] for c in reversed(members) if c[field]))  # "" would be no filter at all
    expected = [c["CustomerID"] for c in members if str(c[field]).lower() == value.lower()]
    assert 0 < len(expected) < len(members) or name == "email"
    r = seeded.client.get(listing, params={name: value.swapcase(), "limit": 500})
    assert _ids(r) == expected, (name, listing)
    assert seeded.client.count(listing, **{name: value.upper()}) == len(expected)
    # exact, not a prefix: a part of the value matches nothing
    assert seeded.client.count(listing, **{name: value[:-1]}) == 0


def test_filters_combine_with_and(seeded: Store) -> None:
    rows = seeded.rows()
    target = rows[5]
    expected = [
        c["CustomerID"]
        for c in rows
        if (c["BillingState"], c["BillingCity"]) == (target["BillingState"], target["BillingCity"])
        and c["CustomerGroupID"] == target["CustomerGroupID"]
    ]
    params = {"state": target["BillingState"], "city": target["BillingCity"], "limit": 500}
    path = f"/CustomerGroups/{target['CustomerGroupID']}/Customers"
    assert _ids(seeded.client.get(path, params=params)) == expected


def _store_time(stamp: str) -> str:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").strftime("%m/%d/%Y %H:%M:%S")


@pytest.mark.parametrize("listing", ["/Customers", "/CustomerGroups/0/Customers"])
@pytest.mark.parametrize("name", TIMES)
def test_every_time_filter_of_the_spec_is_an_inclusive_bound(seeded: Store, name: str, listing: str) -> None:
    stamps = seeded.stamps()
    groups = {c["CustomerID"]: c["CustomerGroupID"] for c in seeded.rows()}
    members = sorted(cid for cid in stamps if listing == "/Customers" or groups[cid] == 0)
    bound = sorted(stamps[cid] for cid in members)[len(members) // 2]
    since = LIST_FILTERS[name]["match"] == "since"
    expected = [cid for cid in members if (stamps[cid] >= bound if since else stamps[cid] <= bound)]
    r = seeded.client.get(listing, params={name: _store_time(bound), "limit": 500})
    assert _ids(r) == expected and len(expected) < len(members)
    # one second later (since) or earlier (until) leaves the record at the bound out
    moved = datetime.strptime(bound, "%Y-%m-%d %H:%M:%S") + timedelta(seconds=1 if since else -1)
    r = seeded.client.get(listing, params={name: moved.strftime("%m/%d/%Y %H:%M:%S"), "limit": 500})
    assert len(_ids(r)) == len(expected) - 1


def test_a_time_window_takes_both_bounds(seeded: Store) -> None:
    stamps = seeded.stamps()
    ordered = sorted(stamps.values())
    low, high = ordered[10], ordered[20]
    params = {"lastupdatestart": _store_time(low), "lastupdateend": _store_time(high), "limit": 500}
    expected = sorted(cid for cid, stamp in stamps.items() if low <= stamp <= high)
    assert _ids(seeded.client.get("/Customers", params=params)) == expected and len(expected) == 11
    # a year before 1000 compares as a date (0999-...), not as text that sorts after 2024
    assert seeded.client.count(lastupdatestart="01/01/0999 00:00:00") == 60
    assert seeded.client.count(lastupdateend="01/01/0999 00:00:00") == 0


@pytest.mark.parametrize("name", TIMES)
@pytest.mark.parametrize(
    "raw",
    ["2026-01-01 00:00:00", "13/01/2026 00:00:00", "02/30/2026 10:00:00", "1/1/2026 00:00:00", "x" * 60],
)
def test_a_bad_time_is_a_400_naming_the_filter_and_the_format(seeded: Store, name: str, raw: str) -> None:
    r = seeded.client.get("/Customers", params={name: raw})
    assert _error(r, 400, raw[:50]) == f"{name} must be a valid date MM/DD/YYYY HH:MM:SS"


@pytest.mark.parametrize("name", EQUALS)
def test_a_filter_value_is_checked_against_its_schema(seeded: Store, name: str) -> None:
    node = _resolved(
        next(p for p in SPEC["paths"][CUSTOMERS]["get"]["parameters"] if _resolved(p)["name"] == name)
    )
    longest = node["schema"]["maxLength"]
    raw = "x" * (longest + 1)
    r = seeded.client.get("/Customers", params={name: raw})
    assert _error(r, 400, raw[:50]) == f"{name} is longer than {longest} characters"


def test_a_parameter_given_twice_is_refused_naming_it(seeded: Store) -> None:
    # which value would count is anyone's guess: validated by the first and applied by the last, a
    # filter matched what no one asked
    email = seeded.rows()[2]["Email"]
    twice = seeded.client.get("/Customers", params=[("email", "nobody@example.com"), ("email", email)])
    assert _error(twice, 400, email) == "email is given 2 times; give it once"
    invalid = seeded.client.get("/Customers", params=[("email", "x" * 101), ("email", ""), ("email", "")])
    assert _error(invalid, 400) == "email is given 3 times; give it once"
    since = next(f.param for f in customer_filters()["listCustomers"] if f.field == _operations.LAST_UPDATE)
    for name in ("limit", "offset", "countonly", since):
        r = seeded.client.get("/Customers", params=[(name, "1"), (name, "1")])
        assert _error(r, 400, "1") == f"{name} is given 2 times; give it once"
    group = seeded.client.get("/CustomerGroups/0/Customers", params=[("limit", "2"), ("limit", "3")])
    assert _error(group, 400, "3") == "limit is given 2 times; give it once"


def test_a_filter_matches_non_ascii_text_case_insensitively(store: Store) -> None:
    # the spec: filters match case-insensitively; SQLite's NOCASE alone folds ASCII only
    cid = _create(store.client, BillingCity="Zürich")
    street = _create(store.client, 2, BillingCity="Straße")
    assert _ids(store.client.get("/Customers", params={"city": "zürich"})) == [cid]
    assert _ids(store.client.get("/Customers", params={"city": "ZÜRICH"})) == [cid]
    assert _ids(store.client.get("/Customers", params={"city": "STRASSE"})) == [street]
    assert (
        store.client.get("/Customers", params={"city": "Zurich"}).status_code == 404
    )  # exact, not accent-blind


def test_a_file_of_an_older_mock_gets_its_filter_columns_folded_again(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    made = Store(path)
    cid = _create(made.client, BillingCity="ÅLESUND")
    made.close()
    # as a mock before casefolding left it: the column holds the text as sent, user_version 0
    conn = sqlite3.connect(path)
    column = filter_column("BillingCity")
    conn.execute(f"UPDATE customers SET {column} = json_extract(data, ?)", (json_path("BillingCity"),))
    conn.execute("PRAGMA user_version = 0")
    conn.commit()
    assert conn.execute(f"SELECT {column} FROM customers").fetchall() == [("ÅLESUND",)]
    conn.close()
    again = Store(path)
    try:
        assert _ids(again.client.get("/Customers", params={"city": "ålesund"})) == [cid]
        assert again.db._conn.execute("PRAGMA user_version").fetchone() == (_db._FORMAT,)
    finally:
        again.close()


# --- reads and writes of one record ------------------------------------------------------------------------
def test_create_answers_201_and_stores_the_defaults_with_the_fields_sent(store: Store) -> None:
    r = store.client.post("/Customers", json=_new(1, BillingCity="Tampa", CustomerGroupID=2, Comments="ünï"))
    assert r.status_code == 201 and r.json() == [_written(1, 201, "Created successfully")]
    assert r.content == b'[{"Key":"CustomerID","Value":"1","Status":"201","Message":"Created successfully"}]'
    (record,) = store.client.get("/Customers/1").json()
    expected = {"CustomerID": 1, **new_customer_defaults(), **_new(1, BillingCity="Tampa", CustomerGroupID=2)}
    assert record == {**expected, "Comments": "ünï"}
    assert list(record) == list(customer_fields())  # the spec's order
    assert store.stamps() == {1: FROZEN_STAMP}  # stamped by the store clock, in store time
    assert _ids(store.client.get("/CustomerGroups/2/Customers")) == [1]
    r = store.client.get("/Customers/1")
    assert r.content == json.dumps([record], separators=(",", ":"), ensure_ascii=False).encode()


def test_new_customers_get_each_fields_default() -> None:
    defaults = new_customer_defaults()
    fields = customer_fields()
    assert "CustomerID" not in defaults and set(defaults) == set(fields) - {"CustomerID"}
    for name, value in defaults.items():
        kind = fields[name].kind
        zero = {str: "", int: 0, float: 0.0, bool: name == "Enabled"}[kind]
        assert value == zero and type(value) is kind, name


def test_create_ignores_the_computed_credit_and_refuses_a_null_email(store: Store) -> None:
    cid = _create(store.client, TotalStoreCredit=99.5)
    assert store.client.get(f"/Customers/{cid}").json()[0]["TotalStoreCredit"] == 0.0
    r = store.client.post("/Customers", json=_new(2, Email=None))
    assert _error(r, 400) == "Email is required and must not be null on create"
    assert store.client.count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Email and Password are required"),
        ({"Email": "x@example.com"}, "Password is required"),
        (_new(1, CustomerID=5), "the request body has properties the spec does not allow: CustomerID"),
        (_new(1, Xyzzy=1, Abc=2), "the request body has properties the spec does not allow: Abc, Xyzzy"),
        (_new(1, Enabled="yes"), "Enabled must be of type boolean"),
        (_new(1, Enabled=None), "Enabled must not be null"),
        (_new(1, CustomerGroupID=1.5), "CustomerGroupID must be of type integer"),
        (_new(1, CustomerGroupID=2**31), "CustomerGroupID must be a 32-bit integer"),
        (_new(1, BillingZipCode="1" * 21), "BillingZipCode is longer than 20 characters"),
        ([_new(1)], "the request body must be a JSON object"),
        ("text", "the request body must be a JSON object"),
    ],
)
def test_create_names_what_is_wrong(store: Store, body: Any, message: str) -> None:
    assert _error(store.client.post("/Customers", json=body), 400) == message
    assert store.client.count() == 0


def test_many_problems_are_named_ten_at_a_time(store: Store) -> None:
    fields = [name for name, f in customer_fields().items() if f.kind is str][2:14]
    body = _new(1, **{name: 5 for name in fields})
    message = _error(store.client.post("/Customers", json=body), 400)
    named = [f"{name} must be of type string" for name in fields]
    assert message == "; ".join(named[:10]) + " (and 2 more)"


@pytest.mark.parametrize(
    ("content", "headers", "status", "message"),
    [
        (b'{"Email": ', JSON_HEADERS, 400, "Malformed JSON in request body: Expecting value at position 10"),
        (b'{"Email": NaN}', JSON_HEADERS, 400, "Malformed JSON in request body: NaN is not valid JSON"),
        (b"[-Infinity]", JSON_HEADERS, 400, "Malformed JSON in request body: -Infinity is not valid JSON"),
        (b"[" * 100_000, JSON_HEADERS, 400, "Malformed JSON in request body: nested too deeply"),
        (b'{"Email": "\xff"}', JSON_HEADERS, 400, "Request body is not valid UTF-8 (byte 11)"),
        (b"", JSON_HEADERS, 400, "Malformed JSON in request body: Expecting value at position 0"),
        (
            b"Email=x",
            {"Content-Type": "text/plain"},
            415,
            "Unsupported media type 'text/plain': send application/json",
        ),
        (b"{}", {}, 415, "Unsupported media type '(none)': send application/json"),
        (
            b"{}",
            {"Content-Type": "application/merge-patch+json"},
            415,
            "Unsupported media type 'application/merge-patch+json': send application/json",
        ),
    ],
)
def test_bodies_the_mock_cannot_read(
    store: Store, content: bytes, headers: dict[str, str], status: int, message: str
) -> None:
    for method, path in (("POST", "/Customers"), ("PUT", "/Customers/1"), ("PUT", "/Customers")):
        r = store.client.request(method, path, content=content, headers=headers)
        assert _error(r, status) == message, (method, path)


def test_a_json_media_type_with_parameters_is_json(store: Store) -> None:
    body = json.dumps(_new(1)).encode()
    r = store.client.post(
        "/Customers", content=body, headers={"Content-Type": "Application/JSON; charset=utf-8"}
    )
    assert r.status_code == 201


def test_a_body_over_the_limit_is_refused_unread(store: Store) -> None:
    big = b'{"Email": "' + b"x" * MAX_BODY_BYTES + b'"}'
    r = store.client.put("/Customers/1", content=big, headers=JSON_HEADERS)
    assert _error(r, 400) == "Request body is larger than 4194304 bytes"
    exactly = b" " * (MAX_BODY_BYTES - 2) + b"{}"
    assert (
        _error(store.client.put("/Customers/1", content=exactly, headers=JSON_HEADERS), 404, "1") == NOT_FOUND
    )


def test_a_lone_surrogate_in_a_value_is_a_400_naming_the_field(store: Store) -> None:
    cid = _create(store.client)
    text = json.dumps(_new(2, Comments="a\udfff"))  # JSON's \\udfff escape
    assert _error(store.client.post("/Customers", content=text, headers=JSON_HEADERS), 400) == (
        "Comments is not valid Unicode (it contains a lone surrogate)"
    )
    r = store.client.put(
        f"/Customers/{cid}", content=json.dumps({"BillingCity": "\ud800"}), headers=JSON_HEADERS
    )
    assert _error(r, 400) == "BillingCity is not valid Unicode (it contains a lone surrogate)"
    bulk = json.dumps(
        [{"CustomerID": cid}, {"CustomerID": cid, "Comments": "\udc00", "BillingCity": "\ud800"}]
    )
    assert _error(store.client.put("/Customers", content=bulk, headers=JSON_HEADERS), 400) == (
        "item 1: Comments is not valid Unicode (it contains a lone surrogate); "
        "BillingCity is not valid Unicode (it contains a lone surrogate)"
    )
    assert store.client.count() == 1 and store.rows()[0]["Comments"] == ""


def test_a_lone_surrogate_in_a_property_name_is_a_400(store: Store) -> None:
    # the name cannot be shown in a UTF-8 answer: the message says what is wrong without it
    message = "Request body: a property name is not valid Unicode (it contains a lone surrogate)"
    text = '{"Email": "a@example.com", "Password": "", "\\ud800": 1}'
    assert _error(store.client.post("/Customers", content=text, headers=JSON_HEADERS), 400) == message
    cid = _create(store.client)
    nested = '{"Comments": "x", "AdditionalField1": "y", "n": {"\\udfff": 1}}'
    assert _error(store.client.put(f"/Customers/{cid}", content=nested, headers=JSON_HEADERS), 400) == message
    bulk = f'[{{"CustomerID": {cid}, "Comments": "z", "\\ud83d": 1}}]'
    assert _error(store.client.put("/Customers", content=bulk, headers=JSON_HEADERS), 400) == message
    assert store.rows()[0]["Comments"] == ""  # nothing written
    # a pair, escaped, is one character: a name the answer can show
    pair = '{"Comments": "ok", "\\ud83d\\ude00": 1}'
    r = store.client.put(f"/Customers/{cid}", content=pair, headers=JSON_HEADERS)
    assert _error(r, 400) == "the request body has properties the spec does not allow: \U0001f600"


def test_get_update_and_delete_by_id(store: Store) -> None:
    cid = _create(store.client, BillingCity="Miami", BillingState="FL", Comments="keep")
    store.db.clock = StoreClock(FROZEN + timedelta(hours=1), 0)  # 01:20 EST, the repeated hour
    r = store.client.put(f"/Customers/{cid}", json={"BillingCity": "Tampa", "TotalStoreCredit": 5})
    assert r.status_code == 200 and r.json() == [_written(cid, 200, "updated successfully")]
    (record,) = store.client.get(f"/Customers/{cid}").json()
    assert (record["BillingCity"], record["BillingState"], record["Comments"]) == ("Tampa", "FL", "keep")
    assert record["TotalStoreCredit"] == 0.0  # computed by the store, never taken from a body
    assert store.stamps() == {cid: FROZEN_STAMP}  # the same wall time an hour later
    assert _ids(store.client.get("/Customers", params={"city": "tampa"})) == [cid]
    assert store.client.count(city="Miami") == 0  # the filter column follows the update
    assert (
        _error(store.client.put(f"/Customers/{cid}", json=[1]), 400)
        == "the request body must be a JSON object"
    )
    r = store.client.put("/Customers/424242", json={"Comments": "x"})
    assert _error(r, 404, "424242") == NOT_FOUND
    r = store.client.delete(f"/Customers/{cid}")
    assert r.status_code == 200 and r.json() == [_written(cid, 200, "Deleted successfully")]
    assert _error(store.client.get(f"/Customers/{cid}"), 404, str(cid)) == NOT_FOUND
    assert _error(store.client.delete(f"/Customers/{cid}"), 404, str(cid)) == NOT_FOUND
    assert _create(store.client, 2) == cid + 1  # ids are never reused


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("abc", "abc"),
        ("0", "0"),
        ("-1", "-1"),
        ("1.5", "1.5"),
        ("2147483648", "2147483648"),
        ("1%0A", "1\n"),
        ("9" * 60, "9" * 50),
        ("%E2%82%AC", "€"),
    ],
)
def test_a_bad_id_in_the_path_is_a_400(seeded: Store, raw: str, value: str) -> None:
    for method in ("GET", "PUT", "DELETE"):
        r = seeded.client.request(method, f"/Customers/{raw}", json={})
        assert _error(r, 400, value) == "id must be an integer between 1 and 2147483647", method
    assert json.dumps(value, ensure_ascii=False)[1:-1].encode() in r.content  # as it is, not escaped
    r = seeded.client.get(f"/CustomerGroups/{raw}/Customers")
    if raw != "0":
        assert _error(r, 400, value) == "id must be an integer between 0 and 2147483647"


def test_the_largest_ids_are_ids(seeded: Store) -> None:
    assert _error(seeded.client.get("/Customers/2147483647"), 404, "2147483647") == NOT_FOUND
    assert _error(seeded.client.get("/CustomerGroups/2147483647/Customers"), 404) == GROUP_NONE


# --- bulk updates ------------------------------------------------------------------------------------
def test_a_bulk_update_of_found_records_is_200(store: Store) -> None:
    a, b = _create(store.client, 1), _create(store.client, 2)
    store.db.clock = StoreClock(FROZEN + timedelta(days=1), 0)
    items = [
        {"CustomerID": a, "Comments": "A", "TotalStoreCredit": 1},
        {"CustomerID": b, "BillingState": "NY"},
    ]
    r = store.client.put("/Customers", json=items)
    assert r.status_code == 200
    assert r.json() == [_written(a, 200, "updated successfully"), _written(b, 200, "updated successfully")]
    rows = store.rows()
    assert (rows[0]["Comments"], rows[0]["TotalStoreCredit"], rows[1]["BillingState"]) == ("A", 0.0, "NY")
    assert store.stamps() == {a: "2026-11-02 00:20:00", b: "2026-11-02 00:20:00"}  # EST after the change
    assert _ids(store.client.get("/Customers", params={"state": "ny"})) == [b]


def test_a_bulk_update_with_missing_records_is_206_and_writes_the_others(store: Store) -> None:
    a = _create(store.client)
    items = [{"CustomerID": 777}, {"CustomerID": a, "Comments": "A2"}, {"CustomerID": a, "Comments": "A3"}]
    r = store.client.put("/Customers", json=items)
    assert r.status_code == 206
    assert r.json() == [
        _written(777, 404, NOT_FOUND),
        _written(a, 200, "updated successfully"),
        _written(a, 200, "updated successfully"),
    ]
    assert store.rows()[0]["Comments"] == "A3"  # in order, the last one wins


def test_a_bulk_update_of_no_found_record_is_404_per_item(store: Store) -> None:
    r = store.client.put("/Customers", json=[{"CustomerID": 777, "Comments": "x"}, {"CustomerID": 778}])
    assert r.status_code == 404
    assert r.json() == [
        {"Key": "Error", "Value": "777", "Status": "404", "Message": NOT_FOUND},
        {"Key": "Error", "Value": "778", "Status": "404", "Message": NOT_FOUND},
    ]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"Comments": "x"}], "item 0: CustomerID is required"),
        (
            [{"CustomerID": 1}, {"CustomerID": 1, "Email": "x" * 101}],
            "item 1: Email is longer than 100 characters",
        ),
        ([{"CustomerID": 1}, {"CustomerID": "1"}], "item 1: CustomerID must be of type integer"),
        ([{"CustomerID": 1}, {"CustomerID": True}], "item 1: CustomerID must be of type integer"),
        ([{"CustomerID": 0}], "item 0: CustomerID must be at least 1"),
        ([{"CustomerID": 1}, 5], "item 1 must be a JSON object"),
        ([], "the request body must be a JSON array of 1 to 500 items"),
        ([{"CustomerID": 1}] * 501, "the request body must be a JSON array of 1 to 500 items"),
        ({"CustomerID": 1}, "the request body must be a JSON array"),
    ],
)
def test_a_bulk_update_with_a_bad_item_writes_nothing(store: Store, items: Any, message: str) -> None:
    _create(store.client)
    before = store.rows()
    assert _error(store.client.put("/Customers", json=items), 400) == message
    assert store.rows() == before


# --- routes that are not the API's, methods, HEAD, the spec ------------------------------------------------
def test_a_path_the_spec_does_not_have_is_the_mocks_own_plain_404(seeded: Store) -> None:
    for path in ("/Xyzzy", "/3dCartWebAPI/v2/Customers"):
        r = seeded.client.get("http://mock.test" + path)
        assert r.status_code == 404 and r.headers[NO_SUCH_RESOURCE_HEADER] == "1"
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        assert r.text == (
            f"No such resource: GET {path} is not a path of the API (the spec's paths start with "
            f"{API}). This 404 is the mock's own answer, not one of the API.\n"
        )


def test_a_method_the_spec_does_not_have_is_405_with_allow(seeded: Store) -> None:
    r = seeded.client.request("PATCH", "/Customers/1")
    assert _error(r, 405) == f"Method not allowed: PATCH {API}/Customers/1"
    assert sorted(r.headers["allow"].split(", ")) == ["DELETE", "GET", "HEAD", "PUT"]
    r = seeded.client.request("DELETE", "/Customers")
    assert _error(r, 405) == f"Method not allowed: DELETE {API}/Customers"
    assert sorted(r.headers["allow"].split(", ")) == ["GET", "HEAD", "POST", "PUT"]


def test_an_http_error_other_than_404_and_405_keeps_its_detail() -> None:
    scope: Scope = {"type": "http", "method": "GET", "path": "/x", "query_string": b"", "headers": []}
    response = asyncio.run(_app._http_error(Request(scope), HTTPException(418, "Xyzzy teapot", {"X-A": "1"})))
    assert response.status_code == 418 and response.headers["x-a"] == "1"
    assert json.loads(response.body) == [
        {"Key": "Error", "Value": "", "Status": "418", "Message": "Xyzzy teapot: GET /x"}
    ]


def test_head_is_answered_as_get_without_a_body(seeded: Store) -> None:
    get, head = seeded.client.get("/Customers/1"), seeded.client.request("HEAD", "/Customers/1")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
    assert seeded.client.request("HEAD", "/Customers/999").status_code == 404


def test_the_spec_is_served_as_it_is(seeded: Store) -> None:
    r = seeded.client.get("http://mock.test/openapi.yaml", headers={})
    assert r.status_code == 200 and r.headers["content-type"] == "application/yaml"
    assert r.content == (Path(__file__).parent.parent / "openapi" / "customers.yaml").read_bytes()


def test_the_routes_are_the_specs_paths_literal_segments_first() -> None:
    expected = {
        path: {method.upper(): op["operationId"] for method, op in item.items() if method != "parameters"}
        for path, item in SPEC["paths"].items()
    }
    assert api_routes() == expected
    assert api_base_path() == API == "/3dCartWebAPI/v1"
    paths = ["/a/{id}", "/a/b", "/{x}/b", "/a/{id}/c"]
    assert sorted(paths, key=_app._route_order) == ["/a/b", "/a/{id}", "/a/{id}/c", "/{x}/b"]


# --- the gate: latency, rate limit, faults, bodiless errors -------------------------------------------------
def test_a_bucket_admits_its_capacity_then_says_how_long_to_wait() -> None:
    bucket = LeakyBucket(stamp=100.0)
    assert (bucket.capacity, bucket.rate, bucket.level) == (50, 2, 0)
    assert [bucket.admit(100.0) for _ in range(50)] == [0.0] * 50
    assert bucket.admit(100.0) == 0.5 and bucket.level == 50
    assert bucket.admit(100.25) == 0.25  # half a request drained
    assert bucket.admit(100.5) == 0.0 and bucket.level == 50
    assert bucket.admit(200.0) == 0.0 and bucket.level == 1  # drained to empty, never below
    slow = LeakyBucket(capacity=3, rate=0.5, level=3, stamp=0.0)
    assert slow.admit(0.0) == 2.0 and slow.stamp == 0.0


class FakeTime:
    """`time` as `_app` sees it: a monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = time.monotonic() + 1000  # after every real stamp

    def monotonic(self) -> float:
        return self.now


def test_the_rate_limit_is_a_bucket_per_store_answered_429(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeTime()
    monkeypatch.setattr(_app, "time", clock)
    limited = Store(rate_limit=True, seed=1)
    other = Api(limited.app, OTHER_AUTH)
    try:
        assert [limited.client.get("/Customers/1").status_code for _ in range(50)] == [200] * 50
        r = limited.client.get("/Customers/1")
        assert _error(r, 429) == "Too many requests: the store's request bucket is full"
        assert r.headers["retry-after"] == "1" and r.headers["date"] == FROZEN_DATE
        assert other.count() == 0  # another store has a bucket of its own
        bare = Api(limited.app, {})
        assert bare.get("/Customers/1").status_code == 401  # not authenticated: no bucket at all
        bare.close()
        assert set(limited.api._buckets) == {DEMO.key, OTHER.key}
        clock.now += 0.5  # one request drained
        assert limited.client.get("/Customers/1").status_code == 200
        assert limited.client.get("/Customers/1").status_code == 429
        limited.api._buckets[DEMO.key] = LeakyBucket(capacity=1, rate=0.25, level=1, stamp=clock.now)
        r = limited.client.get("/Customers/1")
        assert r.status_code == 429 and r.headers["retry-after"] == "4"
        limited.api._buckets[DEMO.key] = LeakyBucket(capacity=1, rate=0.4, level=1, stamp=clock.now)
        assert limited.client.get("/Customers/1").headers["retry-after"] == "3"  # 2.5 s, rounded up
    finally:
        other.close()
        limited.close()


def test_without_the_rate_limit_no_bucket_is_kept(seeded: Store) -> None:
    for _ in range(60):
        assert seeded.client.get("/Customers", params={"countonly": 1}).status_code == 200
    assert seeded.api._buckets == {}


def test_latency_delays_every_answer_by_its_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(_app, "asyncio", SimpleNamespace(sleep=sleep))
    slow = Store(latency_ms=250)
    bare = Api(slow.app, {})
    try:
        assert bare.get("/Customers").status_code == 401  # delayed before authentication
        assert slow.client.count() == 0
    finally:
        bare.close()
        slow.close()
    assert slept == [0.25, 0.25]


def _fault_statuses(seed: int, rate: float, count: int) -> list[int]:
    """What `--fault-rate` answers, from its own random sequence."""
    rng, found = random.Random(seed), []
    for _ in range(count):
        if rng.random() < rate:
            found.append(500 if rng.random() < 0.5 else 503)
        else:
            found.append(200)
    return found


@pytest.mark.parametrize(("seed", "rate"), [(0, 1.0), (3, 0.5), (11, 0.2)])
def test_injected_faults_follow_the_seed_and_never_write(seed: int, rate: float) -> None:
    faulty = Store(fault_rate=rate, random_seed=seed, seed=1)
    try:
        answers = [faulty.client.get("/Customers/1") for _ in range(30)]
        assert [r.status_code for r in answers] == _fault_statuses(seed, rate, 30)
        messages = {
            500: "Injected fault: internal server error",
            503: "Injected fault: service unavailable",
        }
        for r in answers:
            if r.status_code != 200:
                assert _error(r, r.status_code) == messages[r.status_code]
        assert len({r.status_code for r in answers}) > 1 or rate == 1.0
        posted = [faulty.client.post("/Customers", json=_new(n)).status_code for n in range(10)]
        assert len(faulty.rows()) == 1 + posted.count(201)
    finally:
        faulty.close()


def test_no_fault_rate_draws_nothing_from_its_sequence(seeded: Store) -> None:
    state = seeded.api._rng.getstate()
    assert seeded.client.count() == 60
    assert seeded.api._rng.getstate() == state


def _with_abort(app: ASGIApp, aborted: list[str]) -> ASGIApp:
    """The app behind a server that offers the scope's abort (as `_server` does)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[ABORT_KEY] = lambda: aborted.append(scope["method"])
        await app(scope, receive, send)

    return wrapped


def test_faults_after_commit_commit_then_answer_500_or_drop(store: Store) -> None:
    store.settings.fault_after_commit = 1.0
    aborted: list[str] = []
    client = Api(_with_abort(store.app, aborted))
    expected = random.Random("after-commit-0")
    try:
        for n in range(12):
            drop = expected.random() < 1.0 and expected.random() < 0.5
            r = client.post("/Customers", json=_new(n))
            if drop:
                assert r.status_code == 201 and aborted[-1] == "POST"  # what it answers goes nowhere
            else:
                assert _error(r, 500) == "Injected fault after commit: internal server error"
        assert len(store.rows()) == 12 and 0 < len(aborted) < 12
        assert client.get("/Customers", params={"countonly": 1}).status_code == 200  # reads are never faulted
        assert client.put("/Customers/999", json={}).status_code == 404  # nor failed writes
        before = len(aborted)
        assert {client.delete(f"/Customers/{cid}").status_code for cid in range(1, 13)} <= {200, 500}
        assert store.rows() == [] and len(aborted) > before
    finally:
        client.close()
    # without an abort in the scope, every fault is the 500; every successful write is faulted
    fault = "Injected fault after commit: internal server error"
    assert _error(store.client.post("/Customers", json=_new(1)), 500) == fault
    cid = store.rows()[0]["CustomerID"]
    assert _error(store.client.put(f"/Customers/{cid}", json={"Comments": "one"}), 500) == fault
    assert store.rows()[0]["Comments"] == "one"  # committed all the same
    assert (
        _error(store.client.put("/Customers", json=[{"CustomerID": cid, "Comments": "bulk"}]), 500) == fault
    )
    partial = store.client.put(
        "/Customers", json=[{"CustomerID": cid, "Comments": "206"}, {"CustomerID": 999}]
    )
    assert _error(partial, 500) == fault and store.rows()[0]["Comments"] == "206"
    assert _error(store.client.delete(f"/Customers/{cid}"), 500) == fault and store.rows() == []


def test_a_share_of_faults_after_commit_follows_its_own_sequence(store: Store) -> None:
    store.settings.fault_after_commit = 0.3
    expected = random.Random("after-commit-0")
    statuses = []
    for _ in range(20):
        if expected.random() >= 0.3:
            statuses.append(201)
        else:
            expected.random()
            statuses.append(500)
    assert [store.client.post("/Customers", json=_new(n)).status_code for n in range(20)] == statuses
    assert 201 in statuses and 500 in statuses and len(store.rows()) == 20


def test_bodiless_errors_drop_the_bodies_of_400_404_and_500_only() -> None:
    quiet = Store(bodiless_errors=True, seed=2)
    try:
        client = quiet.client
        _bodiless(client.post("/Customers", json={}), 400)
        _bodiless(client.get("/Customers", params={"limit": 501}), 400)
        _bodiless(client.get("/Customers", params={"offset": 10}), 400)
        _bodiless(client.get("/Customers", params={"email": "nobody@example.com"}), 404)
        _bodiless(client.get("/Customers/99"), 404)
        _bodiless(client.put("/Customers", json=[{"CustomerID": 99}]), 404)
        partial = client.put("/Customers", json=[{"CustomerID": 1}, {"CustomerID": 99}])
        assert partial.status_code == 206 and len(partial.json()) == 2
        assert _error(client.get("/Customers", headers={"Token": "x"}), 401) == AUTH_FAILED
        assert _error(client.post("/Customers", content=b"x"), 415).startswith("Unsupported media type")
        assert _error(client.request("PATCH", "/Customers"), 405).startswith("Method not allowed")
        quiet.db._conn.close()  # the store breaks: an internal error
        _bodiless(client.get("/Customers/1"), 500)
    finally:
        quiet.client.close()
    with_bodies = Store()
    try:
        with_bodies.db._conn.close()
        r = with_bodies.client.get("/Customers/1")
        assert _error(r, 500) == "Internal server error"
        assert r.headers.get_list("date") == [FROZEN_DATE]  # dated like every other answer
    finally:
        with_bodies.client.close()


def test_a_client_that_leaves_while_sending_its_body_gets_an_empty_400(store: Store) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(k.lower().encode(), v.encode()) for k, v in {**AUTH, **JSON_HEADERS}.items()]
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": API + "/Customers",
        "raw_path": (API + "/Customers").encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }
    asyncio.run(store.app(scope, receive, send))
    assert sent[0]["status"] == 400 and sent[1]["body"] == b""
    assert store.rows() == []


def test_every_answer_carries_one_date_from_the_store_clock(seeded: Store) -> None:
    answers = [
        seeded.client.get("/Customers/1"),
        seeded.client.get("/Customers/999"),
        seeded.client.get("/Customers", headers={"Token": "x"}),
        seeded.client.get("http://mock.test/Xyzzy"),
        seeded.client.request("PATCH", "/Customers"),
        seeded.client.get("http://mock.test/openapi.yaml"),
    ]
    for r in answers:
        assert r.headers.get_list("date") == [FROZEN_DATE], r.request.url


def test_the_date_header_replaces_the_apps_own_and_passes_other_scopes() -> None:
    sent: list[Message] = []
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])
        if scope["type"] == "http":
            headers = [(b"Date", b"yesterday"), (b"x-xyzzy", b"1"), (b"DATE", b"again")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    dated = DateHeader(app, StoreClock(FROZEN, 0))
    asyncio.run(dated({"type": "http"}, receive, send))
    asyncio.run(dated({"type": "lifespan"}, receive, send))
    assert seen == ["http", "lifespan"]
    assert sent[0]["headers"] == [(b"x-xyzzy", b"1"), (b"date", FROZEN_DATE.encode())]
    assert sent[1] == {"type": "http.response.body", "body": b"ok"}
    no_headers: list[Message] = []

    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204})

    async def keep(message: Message) -> None:
        no_headers.append(message)

    asyncio.run(DateHeader(bare, StoreClock(FROZEN, 0))({"type": "http"}, receive, keep))
    assert no_headers == [
        {"type": "http.response.start", "status": 204, "headers": [(b"date", FROZEN_DATE.encode())]}
    ]


def test_the_settings_and_the_database_must_agree_on_the_order() -> None:
    settings = Settings([DEMO])
    db = Database(order="shuffled")
    with pytest.raises(ValueError, match=r"^the database pages in 'shuffled' order, the settings say 'id'$"):
        MockApi(settings, db)
    db.close()


def test_settings_defaults_and_their_clock() -> None:
    settings = Settings([DEMO])
    assert (settings.latency_ms, settings.fault_rate, settings.rate_limit, settings.random_seed) == (
        0,
        0,
        False,
        0,
    )
    assert (settings.bodiless_errors, settings.fault_after_commit, settings.order) == (False, 0, "id")
    assert settings.clock_start is None and settings.clock_speed == 1.0 and settings.clock._real
    frozen = Settings([DEMO], clock_start=FROZEN, clock_speed=0)
    assert frozen.clock.now() == FROZEN and frozen.clock.speed == 0
    db = Database()
    app = create_app(frozen, db)
    assert db.clock is frozen.clock and app.clock is frozen.clock
    assert app.state.from_spec == []  # the real spec has no operation without a handler
    db.close()


# --- the spec drives the stateful handlers (synthetic fields, filters and parameters) -----------------------
XYZZY_FIELDS: dict[str, dict[str, Any]] = {
    "XyzzyScore": {"type": "integer", "format": "int32"},
    "XyzzyRatio": {"type": "number"},
    "XyzzyVip": {"type": "boolean"},
    "XyzzyTags": {"type": "array", "items": {"type": "string"}},
    "XyzzyLevels": {"type": "array", "items": {"type": "integer"}},
    "XyzzySince": {"type": "string", "format": "date", "nullable": True},
    "XyzzyWhen": {"type": "string", "format": "date-time", "nullable": True},
    "XyzzyCode": {"type": "string", "maxLength": 3},
    "XyzzyStamp": {"type": "string", "readOnly": True},
    "XyzzyAny": {"description": "no type at all"},
}
XYZZY_FILTERS = [
    _filter_param("xyzzyscore", "XyzzyScore", "equals", {"type": "integer"}),
    _filter_param("xyzzyscoremin", "XyzzyScore", "since", {"type": "integer"}),
    _filter_param("xyzzyscoremax", "XyzzyScore", "until", {"type": "integer"}),
    _filter_param("xyzzyratio", "XyzzyRatio", "equals", {"type": "number"}),
    _filter_param("xyzzyratiomin", "XyzzyRatio", "since", {"type": "number"}),
    _filter_param("xyzzyvip", "XyzzyVip", "equals", {"type": "boolean"}),
    _filter_param("xyzzyviptext", "XyzzyVip", "equals", {"type": "string"}),
    _filter_param("xyzzytag", "XyzzyTags", "equals", {"type": "string"}),
    _filter_param("xyzzylevel", "XyzzyLevels", "equals", {"type": "integer"}),
    _filter_param("xyzzysince", "XyzzySince", "since", {"type": "string"}),
    _filter_param("xyzzywhen", "XyzzyWhen", "until", {"type": "string"}),
    _filter_param("xyzzycode", "XyzzyCode", "since", {"type": "string"}),
    {"name": "xyzzymode", "in": "query", "schema": {"type": "string", "enum": ["a", "b"]}},
]


def _xyzzy_spec() -> dict[str, Any]:
    """The spec with a field of every shape, a filter of every kind, a default limit of 3, an ignored
    parameter, and getCustomer without its path parameter."""
    spec = copy.deepcopy(SPEC)
    for name, schema in XYZZY_FIELDS.items():
        _add_field(spec, name, schema)
    spec["components"]["schemas"]["Customer"]["properties"]["Enabled"]["default"] = False
    spec["components"]["parameters"]["limit"]["schema"]["default"] = 3
    spec["paths"][CUSTOMERS]["get"]["parameters"] += XYZZY_FILTERS
    spec["paths"][CUSTOMERS]["get"]["security"] = []  # a stateful operation needs a store all the same
    item = spec["paths"][CUSTOMERS + "/{id}"]
    shared = item.pop("parameters")
    for method in ("put", "delete"):
        item[method]["parameters"] = shared
    return spec


@pytest.fixture
def xyzzy_store(use_spec: Callable[[Any], Path]) -> Iterator[Store]:
    use_spec(_xyzzy_spec())
    made = Store()
    values = [
        # score, ratio, vip, tags, levels, since, when, code
        (10, 0.5, True, ["VIP", "early"], [1, 2], "2026-10-31", "2026-11-01T09:00:00Z", "AAA"),
        (20, 0.25, False, ["late"], [3], "2026-11-01", "2026-11-01T11:59:59Z", "BBB"),
        (30, 0.75, True, [], [], "2026-11-02", "2026-11-01T12:00:01Z", "ccc"),
        (30, 1.0, False, ["vip"], [2, 3], None, None, "DDD"),
    ]
    for n, (score, ratio, vip, tags, levels, since, when, code) in enumerate(values):
        _create(
            made.client,
            n,
            XyzzyScore=score,
            XyzzyRatio=ratio,
            XyzzyVip=vip,
            XyzzyTags=tags,
            XyzzyLevels=levels,
            XyzzySince=since,
            XyzzyWhen=when,
            XyzzyCode=code,
            XyzzyStamp="ignored",
            XyzzyAny={"a": [1]},
        )
    yield made
    made.close()


XYZZY_QUERIES: list[tuple[dict[str, Any], list[int]]] = [
    ({"xyzzyscore": 30}, [3, 4]),
    ({"xyzzyscore": "030"}, [3, 4]),
    ({"xyzzyscoremin": 20}, [2, 3, 4]),
    ({"xyzzyscoremax": 20}, [1, 2]),
    ({"xyzzyscoremin": 20, "xyzzyscoremax": 20}, [2]),
    ({"xyzzyratio": 0.5}, [1]),
    ({"xyzzyratio": "0.50"}, [1]),
    ({"xyzzyratio": 1}, [4]),
    ({"xyzzyratiomin": 0.5}, [1, 3, 4]),
    ({"xyzzyvip": "true"}, [1, 3]),
    ({"xyzzyvip": "0"}, [2, 4]),
    ({"xyzzyviptext": "TRUE"}, [1, 3]),
    ({"xyzzyviptext": "0"}, [2, 4]),
    ({"xyzzyviptext": "yes"}, []),
    ({"xyzzytag": "vip"}, [1, 4]),
    ({"xyzzytag": "Early"}, [1]),
    ({"xyzzylevel": 3}, [2, 4]),
    ({"xyzzysince": "11/01/2026 23:59:59"}, [2, 3]),  # a date field compares the date
    ({"xyzzysince": "2026-11-01"}, [2, 3]),  # not a store time: compared as the text it is
    ({"xyzzywhen": "11/01/2026 12:00:00"}, [1, 2]),
    ({"xyzzycode": "BBB"}, [2, 3, 4]),
    ({"xyzzycode": "bbb"}, [2, 3, 4]),  # NOCASE
    ({"xyzzymode": "a", "xyzzyscore": 10}, [1]),  # declared, validated, ignored
    ({"xyzzyscore": "", "xyzzytag": "", "limit": 500}, [1, 2, 3, 4]),
    ({}, [1, 2, 3]),  # the spec's default limit
]
XYZZY_MISTAKES: list[tuple[dict[str, Any], str, str]] = [
    ({"xyzzymode": "c"}, 'xyzzymode must be one of "a", "b"', "c"),
    ({"xyzzyscore": "ten"}, "xyzzyscore must be an integer", "ten"),
    ({"xyzzyratio": "nan"}, "xyzzyratio must be a number", "nan"),
    ({"xyzzyratio": "1e999"}, "xyzzyratio must be a number", "1e999"),
    ({"xyzzyvip": "yes"}, "xyzzyvip must be true or false", "yes"),
    ({"xyzzylevel": "x"}, "xyzzylevel must be an integer", "x"),
]


def test_spec_driven_filters_of_every_type(xyzzy_store: Store) -> None:
    for params, ids in XYZZY_QUERIES:
        r = xyzzy_store.client.get("/Customers", params=params)
        if ids:
            assert _ids(r) == ids, params
        else:
            assert _error(r, 404) == NONE_FOUND, params
    for params, message, value in XYZZY_MISTAKES:
        assert _error(xyzzy_store.client.get("/Customers", params=params), 400, value) == message, params


def test_spec_driven_fields_are_stored_and_read_only_ones_ignored(xyzzy_store: Store) -> None:
    (record,) = xyzzy_store.client.get("/Customers", params={"xyzzyscore": 10}).json()
    assert record["XyzzyTags"] == ["VIP", "early"] and record["XyzzyAny"] == {"a": [1]}
    assert record["XyzzyStamp"] == "" and record["Enabled"] is False  # read-only; the spec's default
    defaults = new_customer_defaults()
    assert defaults["Enabled"] is False and defaults["XyzzyTags"] == [] and defaults["XyzzyAny"] is None
    assert defaults["XyzzyScore"] == 0 and defaults["XyzzyRatio"] == 0.0 and defaults["XyzzyCode"] == ""
    assert defaults["XyzzySince"] is None  # "" is no date: the field is nullable


def test_a_stateful_operation_needs_credentials_whatever_the_spec_says(xyzzy_store: Store) -> None:
    bare = Api(xyzzy_store.app, {})
    try:
        message = _error(bare.get("/Customers"), 401)
    finally:
        bare.close()
    assert message == "Authentication failure: missing header SecureURL, PrivateKey, Token"


def test_an_operation_without_its_path_parameter_in_the_spec_is_a_400(xyzzy_store: Store) -> None:
    r = xyzzy_store.client.get("/Customers/1")
    assert _error(r, 400) == "getCustomer has no path parameter in the spec"
    assert xyzzy_store.client.delete("/Customers/4").status_code == 200  # the others keep theirs


def test_a_signed_integer_filter_value_matches_as_its_number(xyzzy_store: Store) -> None:
    assert _ids(xyzzy_store.client.get("/Customers", params={"xyzzyscore": "+30"})) == [3, 4]


def test_a_number_beyond_a_double_is_refused_not_stored_as_infinity(xyzzy_store: Store) -> None:
    before = xyzzy_store.client.get("/Customers", params={"limit": 500}).text
    for number in ("1e400", "-1E+400", "1" * 400 + ".5"):
        text = f'{{"Email": "big@example.com", "Password": "", "XyzzyRatio": {number}}}'
        r = xyzzy_store.client.post("/Customers", content=text, headers=JSON_HEADERS)
        assert _error(r, 400, number[:50]) == "Request body holds a number beyond a double's range"
    assert xyzzy_store.client.get("/Customers", params={"limit": 500}).text == before
    text = '{"Email": "big@example.com", "Password": "", "XyzzyRatio": 1.7e308}'  # the largest are fine
    assert xyzzy_store.client.post("/Customers", content=text, headers=JSON_HEADERS).status_code == 201


# --- operations without a handler: answered from the spec ---------------------------------------------------
XYZZY_ORDERS = API + "/Customers/{id}/XyzzyOrders"
ORDERS_EXAMPLE = [{"XyzzyOrderID": 7, "XyzzyTotal": 12.5}]
JSON = "application/json"


def _get(operation_id: str, responses: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"get": {"operationId": operation_id, "security": [], "responses": responses, **more}}


def _stateless_spec() -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    schemas, paths = spec["components"]["schemas"], spec["paths"]
    schemas["XyzzyNote"] = {
        "type": "object",
        "required": ["XyzzyText"],
        "properties": {
            "XyzzyNoteID": {"type": "integer", "readOnly": True, "minimum": 1},
            "XyzzyText": {"type": "string", "maxLength": 10},
            "XyzzySecret": {"type": "string", "writeOnly": True},
        },
    }
    spec["components"]["examples"] = {"XyzzyExample": {"value": {"XyzzyFrom": "ref"}}}
    spec["components"]["responses"]["XyzzyOk"] = {
        "description": "A shared answer.",
        "content": {JSON: {"example": {"XyzzyShared": True}}},
    }
    paths[XYZZY_ORDERS] = {
        "parameters": [{"$ref": "#/components/parameters/customerId"}],
        "get": {
            "operationId": "getXyzzyOrders",
            "parameters": [
                {
                    "name": "xyzzypage",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                },
                {
                    "name": "X-Xyzzy-Mode",
                    "in": "header",
                    "schema": {"type": "string", "enum": ["fast", "slow"]},
                },
                # headers that are never parameters (OpenAPI ignores them): required, never checked
                *[
                    {
                        "name": name,
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "enum": ["x/y"]},
                    }
                    for name in ("Accept", "Content-Type", "Authorization")
                ],
                {"name": "xyzzycookie", "in": "cookie", "schema": {"type": "string", "enum": ["crumb"]}},
                {"name": "xyzzyfilter", "in": "query", "content": {JSON: {"schema": {"type": "object"}}}},
                {
                    "name": "xyzzyids",
                    "in": "query",
                    "explode": False,
                    "schema": {"type": "array", "items": {"type": "integer"}},
                },
                {"in": "query", "schema": {"type": "string"}},  # no name: not a parameter
            ],
            "responses": {
                "404": {"description": "Never."},
                "200": {"description": "Orders.", "content": {JSON: {"example": ORDERS_EXAMPLE}}},
            },
        },
    }
    paths[API + "/XyzzyNotes"] = {
        "post": {
            "operationId": "createXyzzyNote",
            "requestBody": {"required": True, "content": {JSON: {"schema": {"$ref": SCHEMAS + "XyzzyNote"}}}},
            "responses": {
                "201": {
                    "description": "Created; its example is built from the schema.",
                    "headers": {
                        "X-Xyzzy-Trace": {"schema": {"type": "string"}, "example": "trace-1"},
                        "X-Xyzzy-Flag": {"schema": {"type": "boolean"}, "example": False},
                        "X-Xyzzy-Count": {"schema": {"type": "integer", "minimum": 3}},
                        "X-Xyzzy-Shape": {"example": {"a": [1, 2]}},
                        "X-Xyzzy-Nothing": {"description": "neither example nor schema"},
                        "X-Xyzzy-Odd": "not a header object",
                        "Content-Type": {"example": "text/html"},
                        "Content-Length": {"example": 99},
                    },
                    "content": {JSON: {"schema": {"$ref": SCHEMAS + "XyzzyNote"}}},
                },
            },
        },
        "put": {
            "operationId": "putXyzzyNotes",
            "requestBody": {
                "content": {
                    "text/plain": {},
                    "application/xyzzy-raw+json": {},  # JSON without a schema: parsed, not checked
                    "application/*": {"schema": {"type": "array", "maxItems": 1}},
                }
            },
            "responses": {
                "2XX": {"description": "Any success.", "content": {"text/plain": {"example": "done"}}}
            },
        },
    }
    paths[API + "/XyzzyNotes/{xyzzy-note-id}"] = {
        "delete": {
            "operationId": "deleteXyzzyNote",
            "security": [{}],  # an empty requirement: anonymous
            "parameters": [
                {
                    "name": "xyzzy-note-id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            ],
            "responses": {"204": {"description": "Deleted.", "content": {JSON: {"example": "ignored"}}}},
        }
    }
    paths[API + "/XyzzyBroken"] = _get("getXyzzyBroken", {"404": {"description": "Never found."}})
    paths[API + "/XyzzyDefault"] = _get(
        "getXyzzyDefault",
        {"default": {"description": "Whatever.", "content": {"text/plain": {"example": "plain"}}}},
    )
    paths[API + "/XyzzyShared"] = _get(
        "getXyzzyShared",
        {
            "201": {"description": "Higher: the lowest 2xx wins.", "content": {JSON: {"example": 201}}},
            "200": {"$ref": "#/components/responses/XyzzyOk"},
        },
    )
    paths[API + "/XyzzyOdd"] = _get("getXyzzyOdd", {"200": "not a response object"})
    paths[API + "/XyzzyEmpty"] = _get("getXyzzyEmpty", {"200": {"description": "No content."}})
    paths[API + "/XyzzyTextFirst"] = _get(
        "getXyzzyTextFirst",
        {
            "200": {
                "description": "JSON preferred.",
                "content": {"text/plain": {"example": "t"}, "application/xyzzy+json": {"example": [1]}},
            },
            "default": {"description": "Ignored beside a 2xx.", "content": {JSON: {"example": "default"}}},
        },
    )
    paths[API + "/XyzzyStar"] = _get(
        "getXyzzyStar",
        {
            "200": {
                "description": "Any.",
                "content": {
                    "*/*": {
                        "examples": {
                            "a": {"summary": "no value"},
                            "b": {"$ref": "#/components/examples/XyzzyExample"},
                        }
                    }
                },
            }
        },
    )
    paths[API + "/XyzzyStarText"] = _get(
        "getXyzzyStarText", {"200": {"description": "Any.", "content": {"*/*": {"example": "star"}}}}
    )
    paths[API + "/XyzzyTextObject"] = _get(
        "getXyzzyTextObject", {"200": {"description": "T.", "content": {"text/csv": {"example": {"a": 1}}}}}
    )
    paths[API + "/XyzzyBare"] = _get(
        "getXyzzyBare", {"200": {"description": "B.", "content": {JSON: "not a media object"}}}
    )
    paths[API + "/XyzzyNoExample"] = _get(
        "getXyzzyNoExample", {"200": {"description": "N.", "content": {JSON: {}}}}
    )
    paths[API + "/XyzzyReset"] = _get(
        "getXyzzyReset", {"205": {"description": "Reset.", "content": {JSON: {"example": "not sent"}}}}
    )
    paths[API + "/XyzzyMethods"] = {
        method: {
            "operationId": f"{method}XyzzyMethods",
            "security": [],
            "responses": {"200": {"description": method, "content": {"text/plain": {"example": method}}}},
        }
        for method in ("head", "options", "trace")
    }
    paths[API + "/XyzzyNoId"] = {
        "get": {"security": [], "responses": {"200": {"description": "No operationId."}}}
    }
    paths[API + "/XyzzyNull"] = None
    paths[API + "/XyzzyNotAnOperation"] = {"get": "not an operation", "summary": "x"}
    paths[API + "/XyzzyAlias"] = {"$ref": "#/paths/" + (API + "/XyzzyDefault").replace("/", "~1")}
    paths[API + "/Customers/XyzzySpecial"] = _get(
        "getXyzzySpecial",
        {"200": {"description": "Literal.", "content": {"text/plain": {"example": "special"}}}},
    )
    paths[CUSTOMERS + "/{id}"]["patch"] = {
        "operationId": "patchXyzzyCustomer",
        "requestBody": {"content": {JSON: {"schema": {"type": "object"}}}},
        "responses": {
            "200": {"description": "Patched.", "content": {JSON: {"example": {"XyzzyPatched": True}}}}
        },
    }
    return spec


@pytest.fixture
def stateless(use_spec: Callable[[Any], Path]) -> Iterator[Store]:
    use_spec(_stateless_spec())
    made = Store()
    yield made
    made.close()


def test_operations_without_a_handler_are_listed_once_in_the_specs_order(stateless: Store) -> None:
    gets = [
        "Broken",
        "Default",
        "Shared",
        "Odd",
        "Empty",
        "TextFirst",
        "Star",
        "StarText",
        "TextObject",
        "Bare",
    ]
    assert stateless.app.state.from_spec == [
        f"PATCH {CUSTOMERS}/{{id}} (patchXyzzyCustomer)",
        f"GET {XYZZY_ORDERS} (getXyzzyOrders)",
        f"PUT {API}/XyzzyNotes (putXyzzyNotes)",
        f"POST {API}/XyzzyNotes (createXyzzyNote)",
        f"DELETE {API}/XyzzyNotes/{{xyzzy-note-id}} (deleteXyzzyNote)",
        *[f"GET {API}/Xyzzy{name} (getXyzzy{name})" for name in [*gets, "NoExample", "Reset"]],
        *[f"{m.upper()} {API}/XyzzyMethods ({m}XyzzyMethods)" for m in ("head", "options", "trace")],
        f"GET {API}/XyzzyNoId (GET {API}/XyzzyNoId)",  # a path item that is null is none
        f"GET {API}/XyzzyAlias (getXyzzyDefault)",  # a path item that is a $ref
        f"GET {CUSTOMERS}/XyzzySpecial (getXyzzySpecial)",
    ]


def test_a_stateless_get_validates_its_parameters_and_answers_its_example(stateless: Store) -> None:
    client = stateless.client
    ok = client.get("/Customers/5/XyzzyOrders", params={"xyzzypage": 1}, headers={"Accept": "*/*"})
    assert ok.status_code == 200 and ok.json() == ORDERS_EXAMPLE and ok.headers["content-type"] == JSON
    fine = client.get(
        "/Customers/5/XyzzyOrders?xyzzypage=2&xyzzyids=1,2&xyzzyfilter=%7B%7D",
        headers={"X-Xyzzy-Mode": "slow", "Cookie": "xyzzycookie=crumb"},
    )
    assert fine.status_code == 200
    mistakes = [
        ("/Customers/abc/XyzzyOrders?xyzzypage=1", {}, "id must be an integer", "abc"),
        ("/Customers/0/XyzzyOrders?xyzzypage=1", {}, "id must be at least 1", "0"),
        ("/Customers/5/XyzzyOrders", {}, "xyzzypage is required", ""),
        ("/Customers/5/XyzzyOrders?xyzzypage=0", {}, "xyzzypage must be at least 1", "0"),
        (
            "/Customers/5/XyzzyOrders?xyzzypage=1",
            {"X-Xyzzy-Mode": "warp"},
            'X-Xyzzy-Mode must be one of "fast", "slow"',
            "warp",
        ),
        (
            "/Customers/5/XyzzyOrders?xyzzypage=1",
            {"Cookie": "xyzzycookie=cake"},
            'xyzzycookie must be one of "crumb"',
            "cake",
        ),
        ("/Customers/5/XyzzyOrders?xyzzypage=1&xyzzyfilter=%5B", {}, "xyzzyfilter must be JSON", "["),
        (
            "/Customers/5/XyzzyOrders?xyzzypage=1&xyzzyfilter=%5B%5D",
            {},
            "xyzzyfilter must be a JSON object",
            "[]",
        ),
        ("/Customers/5/XyzzyOrders?xyzzypage=1&xyzzyids=1,x", {}, "xyzzyids[1] must be an integer", "x"),
    ]
    for path, headers, message, value in mistakes:
        assert _error(client.get(path, headers=headers), 400, value) == message, path
    bare = Api(stateless.app, {})
    try:
        assert _error(bare.get("/Customers/5/XyzzyOrders?xyzzypage=1"), 401).startswith(
            "Authentication failure: missing"
        )
        assert bare.get("/XyzzyDefault").text == "plain"  # security: [] needs no credentials
        assert bare.delete("/XyzzyNotes/4").status_code == 204  # nor an empty requirement
    finally:
        bare.close()


def test_a_stateless_write_validates_its_body(stateless: Store) -> None:
    client = stateless.client
    r = client.post("/XyzzyNotes", json={"XyzzyText": "hello"})
    assert r.status_code == 201 and r.json() == {"XyzzyNoteID": 1, "XyzzyText": "string"}  # built
    assert r.headers["x-xyzzy-trace"] == "trace-1" and r.headers["x-xyzzy-flag"] == "false"
    assert r.headers["content-type"] == JSON and "x-xyzzy-nothing" not in r.headers
    mistakes: list[tuple[dict[str, Any], int, str]] = [
        ({}, 400, "The request body is required"),
        ({"json": {}}, 400, "XyzzyText is required"),
        ({"json": {"XyzzyText": "x" * 11}}, 400, "XyzzyText is longer than 10 characters"),
        ({"json": [1]}, 400, "the request body must be a JSON object"),
        (
            {"content": b"{", "headers": JSON_HEADERS},
            400,
            "Malformed JSON in request body: Expecting property name enclosed in double quotes at position 1",
        ),
        (
            {"content": b"x", "headers": {"Content-Type": "text/plain"}},
            415,
            "Unsupported media type 'text/plain': send application/json",
        ),
        ({"content": b"x"}, 415, "Unsupported media type '(none)': send application/json"),
    ]
    for kwargs, status, message in mistakes:
        assert _error(client.post("/XyzzyNotes", **kwargs), status) == message, kwargs
    # an optional body of several media types: text as it is, +json parsed and checked
    assert client.put("/XyzzyNotes").text == "done"
    assert (
        client.put("/XyzzyNotes", content=b"{not json", headers={"Content-Type": "text/plain"}).text == "done"
    )
    assert client.put("/XyzzyNotes", json=[1]).status_code == 200
    r = client.put("/XyzzyNotes", content=b"[1, 2]", headers={"Content-Type": "application/xyzzy+json"})
    assert _error(r, 400) == "the request body must have at most 1 items"
    r = client.put("/XyzzyNotes", content=b"x", headers={"Content-Type": "image/png"})
    assert _error(r, 415) == (
        "Unsupported media type 'image/png': send text/plain or application/xyzzy-raw+json or application/*"
    )
    raw = {"Content-Type": "application/xyzzy-raw+json"}
    assert client.put("/XyzzyNotes", content=b'{"any": "thing"}', headers=raw).text == "done"
    r = client.put("/XyzzyNotes", content=b"{", headers=raw)
    assert _error(r, 400).startswith("Malformed JSON in request body: ")
    r = client.delete("/XyzzyNotes/x")
    assert _error(r, 400, "x") == "xyzzy-note-id must be an integer"
    assert client.request("PATCH", "/Customers/3", json={"Xyzzy": 1}).json() == {"XyzzyPatched": True}
    assert client.get("/Customers/XyzzySpecial").text == "special"  # a literal path before /Customers/{id}
    for method in ("HEAD", "OPTIONS", "TRACE"):  # every method of OpenAPI is routed
        r = client.request(method, "/XyzzyMethods")
        assert (r.status_code, r.text) == (200, "" if method == "HEAD" else method.lower()), method
    assert _error(client.get("/XyzzyMethods"), 405) == f"Method not allowed: GET {API}/XyzzyMethods"
    r = client.get("/XyzzyReset")
    assert r.status_code == 205 and r.content == b"" and "content-type" not in r.headers
    assert _error(client.get("/Customers/3"), 404, "3") == NOT_FOUND


def test_a_stateless_body_schema_the_mock_cannot_use_stops_the_start(use_spec: Callable[[Any], Path]) -> None:
    spec = copy.deepcopy(SPEC)
    broken = {"type": "object", "properties": {"a": {"$ref": SCHEMAS + "XyzzyGone"}}}
    spec["paths"][API + "/XyzzyBad"] = {
        "post": {
            "operationId": "postXyzzyBad",
            "requestBody": {"content": {"text/plain": {}, JSON: {"schema": broken}}},
            "responses": {"201": {"description": "Created."}},
        }
    }
    use_spec(spec)
    db = Database()
    try:
        with pytest.raises(SpecError, match=f"^{SCHEMAS}XyzzyGone points to nothing in the spec$"):
            create_app(Settings([DEMO]), db)
    finally:
        db.close()


def test_an_operation_without_a_success_answer_is_a_501(stateless: Store) -> None:
    r = stateless.client.get("/XyzzyBroken")
    assert (
        _error(r, 501)
        == f"The spec documents no successful answer for GET {API}/XyzzyBroken (getXyzzyBroken)"
    )


def test_faults_after_commit_reach_stateless_writes_too(stateless: Store) -> None:
    stateless.settings.fault_after_commit = 1.0
    r = stateless.client.post("/XyzzyNotes", json={"XyzzyText": "x"})
    assert _error(r, 500) == "Injected fault after commit: internal server error"
    assert stateless.client.get("/XyzzyDefault").status_code == 200  # a read is never faulted
    assert _error(stateless.client.request("PATCH", "/Customers/3", json={}), 500).startswith(
        "Injected fault"
    )
    assert _error(stateless.client.put("/XyzzyNotes"), 500).startswith("Injected fault")
    assert stateless.client.delete("/XyzzyNotes/x").status_code == 400  # a failed write is not faulted


DOCUMENTED: list[tuple[str, int, bytes, str | None, dict[str, str]]] = [
    ("getXyzzyDefault", 200, b"plain", "text/plain", {}),
    ("getXyzzyShared", 200, b'{"XyzzyShared":true}', JSON, {}),
    ("getXyzzyOdd", 200, b"", None, {}),
    ("getXyzzyEmpty", 200, b"", None, {}),
    ("getXyzzyTextFirst", 200, b"[1]", "application/xyzzy+json", {}),
    ("getXyzzyReset", 205, b"", None, {}),
    ("getXyzzyStar", 200, b'{"XyzzyFrom":"ref"}', JSON, {}),
    ("getXyzzyStarText", 200, b"star", "text/plain", {}),
    ("getXyzzyTextObject", 200, b'{"a":1}', "text/csv", {}),
    ("getXyzzyBare", 200, b"null", JSON, {}),
    ("getXyzzyNoExample", 200, b"null", JSON, {}),
    ("deleteXyzzyNote", 204, b"", None, {}),
    ("putXyzzyNotes", 200, b"done", "text/plain", {}),
    (
        "createXyzzyNote",
        201,
        b'{"XyzzyNoteID":1,"XyzzyText":"string"}',
        JSON,
        {
            "X-Xyzzy-Trace": "trace-1",
            "X-Xyzzy-Flag": "false",
            "X-Xyzzy-Count": "3",
            "X-Xyzzy-Shape": '{"a":[1,2]}',
        },
    ),
]


def test_the_documented_answer_of_each_operation(stateless: Store) -> None:
    for operation_id, status, body, media, headers in DOCUMENTED:
        answer = documented_answer(_op(operation_id))
        assert answer is not None, operation_id
        found = (answer.status, answer.body, answer.media_type, dict(answer.headers))
        assert found == (status, body, media, headers), operation_id


def test_an_answer_built_from_a_schema_leaves_write_only_properties_out(stateless: Store) -> None:
    op = _op("createXyzzyNote")
    built = _operations._example_of(op.node["responses"]["201"]["content"][JSON], "#/x")
    assert built == {"XyzzyNoteID": 1, "XyzzyText": "string"}
    assert documented_answer(_op("getXyzzyBroken")) is None
    assert _operations._example_of({}, "#/x") is None
    assert _operations._example_of({"examples": {"a": {"summary": "s"}}}, "#/x") is None
    assert [_operations._header_text(v) for v in (True, False, "s", 3, [1])] == [
        "true",
        "false",
        "s",
        "3",
        "[1]",
    ]


# --- the HTTP/1.1 server, in this process -------------------------------------------------------------------
FROZEN_CLOCK = StoreClock(FROZEN, 0)
FAST = {"idle_timeout": 0.05, "header_timeout": 0.05, "body_timeout": 0.05}


class Served:
    """A `Server` on its own event loop in a thread, listening on 127.0.0.1 (a free port)."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.loop = _server.loop_factory()[0]()
        self.listening = socket.socket()
        self.listening.bind(("127.0.0.1", 0))
        self.port = int(self.listening.getsockname()[1])
        self.server = Server(app, limits, FROZEN_CLOCK)
        ready = threading.Event()
        self.thread = threading.Thread(
            target=self.loop.run_until_complete,
            args=(self.server.serve(self.listening, ready.set),),
            daemon=True,
        )
        self.thread.start()
        assert ready.wait(10), "the server did not start"

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def call(self, function: Callable[[], Any]) -> Any:
        """`function()` in the server's loop (its state is the loop's), and what it returns."""

        async def run() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.server.stop)
            self.thread.join(10)
            assert not self.thread.is_alive(), "the server did not stop"
        if not self.loop.is_closed():
            self.loop.close()
        self.listening.close()


@contextlib.contextmanager
def serving(app: ASGIApp, **limits: Any) -> Iterator[Served]:
    served = Served(app, Limits(**{"shutdown_timeout": 1.0, **limits}))
    try:
        yield served
    finally:
        served.stop()


class Answers:
    """The answers arriving on a socket, in order (httptools' response parser)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.parser = httptools.HttpResponseParser(self)
        self.done: list[tuple[int, dict[str, str], bytes]] = []
        self.headers: dict[str, str] = {}
        self.body = b""

    def on_message_begin(self) -> None:
        self.headers, self.body = {}, b""

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done.append((self.parser.get_status_code(), self.headers, self.body))

    def next(self) -> tuple[int, dict[str, str], bytes]:
        while not self.done:
            data = self.sock.recv(65536)
            assert data, "the server closed the connection before answering"
            self.parser.feed_data(data)
        return self.done.pop(0)


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (5 s at most)."""
    chunks = []
    sock.settimeout(5)
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def _servers_answer(raw: bytes, status: int, message: str) -> None:
    """An answer of the server's own: exactly `_answer`'s bytes."""
    assert raw == _server._answer(status, message, FROZEN_CLOCK), raw


def _still_open(sock: socket.socket, within: float = 0.3) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) != b""
    except TimeoutError:
        return True
    except ConnectionResetError:
        return False


async def _answer_ok(
    send: Send, body: bytes = b"ok", headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    length = [(b"content-length", b"%d" % len(body))]
    await send(
        {"type": "http.response.start", "status": 200, "headers": length if headers is None else headers}
    )
    await send({"type": "http.response.body", "body": body})


async def _read_all(receive: Receive) -> tuple[bytes, list[Message]]:
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            return b"".join(m.get("body", b"") for m in messages), messages


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers what it was asked: the scope (JSON-safe parts) and the body it received."""
    body, messages = await _read_all(receive)
    seen = {
        key: scope[key]
        for key in ("type", "http_version", "scheme", "method", "root_path", "path", "client", "server")
    }
    seen.update(
        raw_path=scope["raw_path"].decode(),
        query_string=scope["query_string"].decode(),
        headers=[[k.decode(), v.decode()] for k, v in scope["headers"]],
        asgi=scope["asgi"],
        state=scope["state"],
        abort=callable(scope[ABORT_KEY]),
        body=body.decode(),
        messages=len(messages),
    )
    await _answer_ok(send, json.dumps(seen).encode())


def test_status_lines_answers_addresses_and_body_framing() -> None:
    assert _server._status_line(200) == b"HTTP/1.1 200 OK\r\n"
    assert _server._status_line(431) == b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    assert _server._status_line(599) == b"HTTP/1.1 599 \r\n"
    body = b'[{"Key":"Error","Value":"","Status":"503","Message":"Xyzzy \\u00e9"}]'
    assert _server._answer(503, "Xyzzy é", FROZEN_CLOCK, {"Retry-After": "1"}) == (
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: close\r\nDate: "
        % len(body)
        + FROZEN_DATE.encode()
        + b"\r\nRetry-After: 1\r\n\r\n"
        + body
    )
    assert _server._answer(400, "x", FROZEN_CLOCK).count(b"\r\n") == 6
    assert _server._address(("127.0.0.1", 8300)) == ("127.0.0.1", 8300)
    assert _server._address(("::1", "8300", 0, 0)) == ("::1", 8300)
    assert [_server._address(v) for v in (None, ("127.0.0.1",), "127.0.0.1:1", [1, 2])] == [None] * 4
    chunked = b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert _server._body_framing([(b"transfer-encoding", b"gzip, Chunked")]) == chunked
    assert _server._body_framing([(b"content-length", b"12"), (b"x", b"1")]) == (
        b"PUT / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"
    )
    assert _server._body_framing([(b"content-length", b"0")]) is None
    assert _server._body_framing([(b"transfer-encoding", b"gzip")]) is None
    assert _server._body_framing([]) is None
    assert Limits() == Limits(30.0, 10.0, 30.0, 1000, 8192, 8192, 3.0)
    assert (_server.LINGER_SECONDS, _server.HIGH_WATER_BYTES, ABORT_KEY) == (2.0, 65536, "threedcart.abort")


def test_a_request_reaches_the_app_as_its_asgi_scope() -> None:
    with serving(echo) as served, served.connect() as sock:
        answers = Answers(sock)
        sock.sendall(
            b"POST /a%20b/c?x=1&y=%20 HTTP/1.1\r\nHost: t\r\nX-Xyzzy: One\r\nContent-Length: 5\r\n\r\nhello"
        )
        status, headers, body = answers.next()
        seen = json.loads(body)
        client = sock.getsockname()
        assert status == 200 and headers == {"content-length": str(len(body))}  # no Date of the server's own
        assert seen == {
            "type": "http",
            "http_version": "1.1",
            "scheme": "http",
            "method": "POST",
            "root_path": "",
            "path": "/a b/c",
            "client": [client[0], client[1]],
            "server": ["127.0.0.1", served.port],
            "raw_path": "/a%20b/c",
            "query_string": "x=1&y=%20",
            "headers": [["host", "t"], ["x-xyzzy", "One"], ["content-length", "5"]],
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "state": {},
            "abort": True,
            "body": "hello",
            "messages": 1,
        }
        sock.sendall(b"GET http://xyzzy.test HTTP/1.1\r\nHost: t\r\n\r\n")  # absolute form, no path
        seen = json.loads(answers.next()[2])
        assert (seen["path"], seen["raw_path"], seen["query_string"], seen["body"]) == ("/", "/", "", "")


def test_keep_alive_serves_requests_in_turn_and_http_1_0_closes() -> None:
    with serving(echo) as served:
        with served.connect() as sock:
            answers = Answers(sock)
            for n in range(3):
                sock.sendall(b"GET /%d HTTP/1.1\r\nHost: t\r\n\r\n" % n)
                assert json.loads(answers.next()[2])["path"] == f"/{n}"
        for request in (
            b"GET / HTTP/1.0\r\n\r\n",
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
        ):
            with served.connect() as sock:
                sock.sendall(request)
                raw = _until_closed(sock)
            head = raw.split(b"\r\n\r\n")[0]
            assert head.startswith(b"HTTP/1.1 200 OK\r\ncontent-length: ") and head.endswith(
                b"\r\nconnection: close"
            )


def test_pipelined_requests_are_answered_in_order() -> None:
    order: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body, _ = await _read_all(receive)
        order.append(scope["path"])
        await asyncio.sleep(0.005 if scope["path"] == "/1" else 0)
        await _answer_ok(send, scope["path"].encode() + body)

    requests = b"GET /1 HTTP/1.1\r\nHost: t\r\n\r\n" + b"PUT /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
    requests += b"GET /3 HTTP/1.1\r\nHost: t\r\n\r\n"
    with serving(app) as served, served.connect() as sock:
        answers = Answers(sock)
        sock.sendall(requests)
        assert [answers.next()[2] for _ in range(3)] == [b"/1", b"/2abc", b"/3"]
    assert order == ["/1", "/2", "/3"]  # the next one starts when the one before is answered


def test_an_answer_without_a_length_is_chunked_and_head_has_no_body() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        status = int(scope["path"][1:4])
        headers = [(b"transfer-encoding", b"chunked")] if scope["query_string"] == b"te" else []
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if status in (204, 304):
            await send({"type": "http.response.body"})
            return
        for part in (b"one ", b"", b"two"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    with serving(app) as served, served.connect() as sock:
        sock.sendall(b"GET /200 HTTP/1.1\r\n\r\n")
        sock.settimeout(5)
        raw = b""
        while not raw.endswith(b"0\r\n\r\n"):
            raw += sock.recv(65536)
        assert (
            raw == b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\none \r\n3\r\ntwo\r\n0\r\n\r\n"
        )
        answers = Answers(sock)
        sock.sendall(b"GET /200?te HTTP/1.1\r\n\r\n")
        status, headers, body = answers.next()
        assert (headers, body) == ({"transfer-encoding": "chunked"}, b"one two")  # not twice
        for status in (204, 304):
            sock.sendall(b"GET /%d HTTP/1.1\r\n\r\n" % status)
            assert answers.next() == (status, {}, b"")
    with serving(app) as served, served.connect() as sock:
        sock.sendall(b"HEAD /200 HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert _until_closed(sock) == b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n"


@pytest.mark.parametrize("value", [b"close", b"Keep-Alive, CLOSE", b" close "])
def test_connection_close_from_the_app_closes_after_the_answer(value: bytes) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _answer_ok(send, b"bye", [(b"Connection", value), (b"content-length", b"3")])

    with serving(app) as served, served.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert (
            _until_closed(sock)
            == b"HTTP/1.1 200 OK\r\nConnection: " + value + b"\r\ncontent-length: 3\r\n\r\nbye"
        )


def test_a_connection_header_without_close_keeps_the_connection() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"connection", b"keep-alive"), (b"content-length", b"2"), (b"content-length", b"9")]
        await _answer_ok(send, b"hi", [*headers, (b"x-tab", b"a\tb")])

    head = b"HTTP/1.1 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\ncontent-length: 9\r\n"
    with serving(app) as served, served.connect() as sock:
        for _ in range(2):
            sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
            expected = head + b"x-tab: a\tb\r\n\r\nhi"  # the first Content-Length counts; a tab is fine
            received = b""
            while len(received) < len(expected):
                received += sock.recv(65536)
            assert received == expected


def _logged(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [
        (r.getMessage(), str(r.exc_info[1]) if r.exc_info else "")
        for r in caplog.records
        if r.name == "threedcart_mock.server" and r.levelno >= logging.ERROR
    ]


def test_an_app_that_fails_before_answering_gets_the_servers_500(caplog: pytest.LogCaptureFixture) -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("xyzzy boom")

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    for app in (failing, silent):
        with serving(app) as served, served.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            _servers_answer(_until_closed(sock), 500, "Internal server error: the mock failed to answer")
    assert _logged(caplog) == [
        ("Exception in the mock's ASGI app", "xyzzy boom"),
        ("The mock's ASGI app returned without answering", ""),
    ]


def _start(status: int = 200, headers: list[tuple[bytes, bytes]] | None = None) -> Message:
    return {"type": "http.response.start", "status": status, "headers": headers or []}


def _part(body: bytes, more: bool = False) -> Message:
    return {"type": "http.response.body", "body": body, "more_body": more}


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
SERVER_500 = _server._answer(500, "Internal server error: the mock failed to answer", FROZEN_CLOCK)
BROKEN_ANSWERS: list[tuple[list[Message], bool, str, bytes]] = [
    ([_start(), _part(b"half", True)], False, "", CHUNKED_HEAD + b"4\r\nhalf\r\n"),
    ([_start(), _part(b"half", True)], True, "xyzzy after half", CHUNKED_HEAD + b"4\r\nhalf\r\n"),
    ([_start(headers=[(b"bad name", b"1")])], False, "invalid header in the answer: b'bad name'", b""),
    ([_start(headers=[(b"x", b"a\nb")])], False, "invalid header in the answer: b'x'", b""),
    ([_start(headers=[(b"x(", b"1")])], False, "invalid header in the answer: b'x('", b""),
    (
        [_start(headers=[(b"content-length", b"2")]), _part(b"abc")],
        False,
        "the answer is longer than its Content-Length",
        b"",
    ),
    (
        [_start(headers=[(b"content-length", b"4")]), _part(b"abc")],
        False,
        "the answer is shorter than its Content-Length",
        b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nabc",
    ),
    (
        [_part(b"x")],
        False,
        "expected the ASGI message 'http.response.start', got 'http.response.body'",
        SERVER_500,
    ),
    (
        [_start(), _start()],
        False,
        "expected the ASGI message 'http.response.body', got 'http.response.start'",
        b"",
    ),
]


@pytest.mark.parametrize(("messages", "raises", "error", "raw"), BROKEN_ANSWERS)
def test_an_app_that_breaks_its_answer_loses_the_connection(
    caplog: pytest.LogCaptureFixture, messages: list[Message], raises: bool, error: str, raw: bytes
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)
        if raises:
            raise RuntimeError(error)

    with serving(app) as served, served.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert _until_closed(sock) == raw
    if error:
        assert _logged(caplog) == [("Exception in the mock's ASGI app", error)]
    else:
        assert _logged(caplog) == [("The mock's ASGI app returned without completing its answer", "")]


def test_an_app_that_sends_after_its_answer_keeps_the_connection(caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _answer_ok(send)
        await send(_part(b"late"))

    with serving(app) as served, served.connect() as sock:
        answers = Answers(sock)
        for _ in range(2):
            sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
            assert answers.next() == (200, {"content-length": "2"}, b"ok")
    assert (
        _logged(caplog)
        == [
            (
                "Exception in the mock's ASGI app",
                "the ASGI message 'http.response.body' came after the answer was complete",
            )
        ]
        * 2
    )


def test_expect_100_continue_is_answered_when_the_app_reads_the_body() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/read":
            body, _ = await _read_all(receive)
            await _answer_ok(send, body)
        else:
            await _answer_ok(send, b"early")

    head = b"POST /read HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n"
    with serving(app) as served, served.connect() as sock:
        sock.sendall(head)
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        assert Answers(sock).next() == (200, {"content-length": "5"}, b"hello")
    with serving(app) as served, served.connect() as sock:
        sock.sendall(head.replace(b"/read", b"/early"))  # answered without reading: no 100
        assert Answers(sock).next() == (200, {"content-length": "5"}, b"early")
        sock.sendall(b"hello" + b"GET /early HTTP/1.1\r\n\r\n")
        assert Answers(sock).next()[2] == b"early"


def test_a_large_body_reaches_the_app_whole_under_flow_control() -> None:
    received: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.01)  # the body piles up beyond the high-water mark meanwhile
        body, messages = await _read_all(receive)
        received.append(len(messages))
        await _answer_ok(send, b"%d" % len(body))

    body = b"x" * 300_000
    with serving(app) as served, served.connect() as sock:
        sock.sendall(b"PUT / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        assert Answers(sock).next()[2] == b"300000"
        assert served.call(lambda: [c.read_paused for c in served.server.connections]) == [False]
    assert received[0] >= 1


def test_a_large_answer_waits_for_a_slow_reader() -> None:
    chunk = b"y" * (1 << 20)
    paused: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(_start(headers=[(b"content-length", b"%d" % (16 * len(chunk)))]))
        for n in range(16):
            await send(_part(chunk, n < 15))

    with serving(app) as served, served.connect() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        for _ in range(2000):  # until the server's transport is paused (bounded)
            paused = served.call(lambda: [c.write_paused for c in served.server.connections])
            if paused == [True]:
                break
            time.sleep(0.002)
        assert paused == [True]
        head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (16 * len(chunk))
        expected, received = len(head) + 16 * len(chunk), 0
        while received < expected:
            data = sock.recv(1 << 20)
            assert data
            received += len(data)
        assert received == expected
        assert served.call(lambda: [c.write_paused for c in served.server.connections]) == [False]


H2C = b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"


@pytest.mark.parametrize("split", [None, 0, 3])
def test_an_ignored_upgrade_keeps_its_body_and_the_connection(split: int | None) -> None:
    body = b'{"XyzzyText": "h2c"}'
    head = b"POST /up HTTP/1.1\r\nHost: t\r\n" + H2C + b"Content-Length: %d\r\n\r\n" % len(body)
    with serving(echo) as served, served.connect() as sock:
        answers = Answers(sock)
        if split is None:
            sock.sendall(head + body)
        else:
            sock.sendall(head + body[:split])
            time.sleep(0.002)
            sock.sendall(body[split:])
        status, headers, answer = answers.next()
        seen = json.loads(answer)
        assert status == 200 and "upgrade" not in headers and seen["body"] == body.decode()
        assert ["upgrade", "h2c"] in seen["headers"]
        sock.sendall(b"GET /after HTTP/1.1\r\n\r\n")
        assert json.loads(answers.next()[2])["path"] == "/after"


def test_an_ignored_upgrade_with_a_chunked_body_and_a_websocket_get() -> None:
    chunked = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    post = b"POST /c HTTP/1.1\r\n" + H2C + b"Transfer-Encoding: chunked\r\n\r\n" + chunked
    socket_get = b"GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    with serving(echo) as served, served.connect() as sock:
        answers = Answers(sock)
        sock.sendall(post + socket_get + socket_get)  # pipelined right behind the body
        assert json.loads(answers.next()[2])["body"] == "hello world"
        for _ in range(2):
            seen = json.loads(answers.next()[2])
            assert (seen["path"], seen["body"]) == ("/ws", "")


def test_a_client_that_half_closes_after_its_request_gets_the_answer() -> None:
    servers: list[Server] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for _ in range(2000):  # until the server has seen the end of the client's sending (bounded)
            if any(c.cycle is not None and not c.cycle.keep_alive for c in servers[0].connections):
                break
            await asyncio.sleep(0.001)
        await _answer_ok(send, b"late")

    with serving(app) as served, served.connect() as sock:
        servers.append(served.server)
        sock.sendall(b"GET /half HTTP/1.1\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        assert _until_closed(sock) == b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nlate"


@pytest.mark.parametrize("request_", [b"", b"GET / HT", b"PUT / HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc"])
def test_a_client_that_half_closes_before_its_request_ends_gets_nothing(request_: bytes) -> None:
    seen: list[list[Message]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        messages = [await receive(), await receive()]
        seen.append(messages)
        await _answer_ok(send)  # goes nowhere

    with serving(app) as served, served.connect() as sock:
        sock.sendall(request_)
        sock.shutdown(socket.SHUT_WR)
        assert _until_closed(sock) == b""
    if request_.startswith(b"PUT"):
        assert seen == [
            [
                {"type": "http.request", "body": b"abc", "more_body": True},
                {"type": "http.disconnect"},
            ]
        ]


# --- the server's limits ----------------------------------------------------------------------------------
def test_an_idle_connection_is_closed_fresh_or_between_requests() -> None:
    with serving(echo, **FAST) as served:
        with served.connect() as sock:
            assert _until_closed(sock) == b""  # never a byte: closed, nothing said
        with served.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
            raw = _until_closed(sock)  # answered, then idle
            assert raw.startswith(b"HTTP/1.1 200 OK\r\n") and raw.endswith(b'"messages": 1}')
        with served.connect() as sock:
            sock.sendall(b"\r\n")  # bytes between requests restart the idle timer
            assert _until_closed(sock) == b""


def test_a_head_that_does_not_end_in_time_is_a_408() -> None:
    with serving(echo, **FAST) as served, served.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nX-Xyzzy: dr")
        _servers_answer(
            _until_closed(sock), 408, "Request timeout: the request head was not complete within 0.05 s"
        )


def test_a_body_that_does_not_end_in_time_is_a_408_and_the_app_sees_a_disconnect() -> None:
    seen: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            seen.append(message)
            if message["type"] == "http.disconnect":
                await _answer_ok(send)  # goes nowhere
                return

    with serving(app, **FAST) as served, served.connect() as sock:
        sock.sendall(b"PUT / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab")
        _servers_answer(
            _until_closed(sock), 408, "Request timeout: the request body was not complete within 0.05 s"
        )
    assert seen == [{"type": "http.request", "body": b"ab", "more_body": True}, {"type": "http.disconnect"}]


def test_a_body_that_never_ends_after_an_early_answer_still_closes_the_connection() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _answer_ok(send, b"no")

    with serving(app, **FAST) as served, served.connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
        assert Answers(sock).next() == (200, {"content-length": "2"}, b"no")
        assert not _still_open(sock, 0.5)  # ten idle timeouts


def test_connections_beyond_the_limit_get_503_and_do_not_count() -> None:
    with serving(echo, max_connections=1) as served, served.connect() as first:
        for _ in range(2):
            with served.connect() as extra:
                raw = _until_closed(extra)
                assert raw == _server._answer(
                    503,
                    "Service unavailable: more than 1 open connections",
                    FROZEN_CLOCK,
                    {"Retry-After": "1"},
                )
        first.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert Answers(first).next()[0] == 200
        assert served.call(lambda: len(served.server.connections)) == 1


def test_a_long_url_is_a_414_even_when_it_arrives_in_pieces() -> None:
    with serving(echo, max_url_bytes=20) as served:
        with served.connect() as sock:
            sock.sendall(b"GET /" + b"a" * 19 + b" HTTP/1.1\r\n\r\n")  # 20 bytes: fine
            assert Answers(sock).next()[0] == 200
        with served.connect() as sock:
            sock.sendall(b"GET /" + b"a" * 15)
            time.sleep(0.002)
            sock.sendall(b"b" * 5 + b" HTTP/1.1\r\n\r\n")
            _servers_answer(_until_closed(sock), 414, "URI too long: the limit is 20 bytes")


def test_large_headers_are_a_431_counted_or_endless() -> None:
    with serving(echo, max_header_bytes=64, max_url_bytes=16) as served:
        with served.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nX-A: " + b"1" * 57 + b"\r\n\r\n")  # 3 + 57 + 4 = 64 bytes: fine
            assert Answers(sock).next()[0] == 200
        with served.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nX-A: " + b"1" * 58 + b"\r\n\r\n")
            _servers_answer(
                _until_closed(sock), 431, "Request header fields too large: the limit is 64 bytes"
            )
        with served.connect() as sock:
            # one line that never ends: httptools buffers it, so the head's bytes are counted as they come
            head = b"GET / HTTP/1.1\r\nX-Endless: "
            sock.sendall(head + b"1" * (64 + 16 + 1024 - len(head)))  # exactly the limit: still reading

            def head_bytes() -> list[int]:
                return [c.head_bytes for c in served.server.connections if c.in_head]

            for _ in range(2000):
                if served.call(head_bytes) == [64 + 16 + 1024]:
                    break
                time.sleep(0.001)
            assert served.call(head_bytes) == [1104]
            sock.sendall(b"1")  # one byte more
            _servers_answer(
                _until_closed(sock), 431, "Request header fields too large: the limit is 64 bytes"
            )


def test_an_invalid_request_is_a_400_and_what_follows_is_discarded() -> None:
    with serving(echo) as served, served.connect() as sock:
        sock.sendall(b"GARBAGE\x00 / HTTP/1.1\r\n\r\n")
        head = Answers(sock)
        assert head.next()[0] == 400
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n" * 3)  # lingering: read and thrown away
        assert _until_closed(sock) == b""
    with serving(echo) as served, served.connect() as sock:
        sock.sendall(b"GET /\xff HTTP/1.1\r\n\r\n")
        _servers_answer(_until_closed(sock), 400, "Invalid HTTP request")


def test_a_server_answer_while_the_app_answers_only_closes() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(_start())
        await send(_part(b"first", True))
        while (await receive())["type"] != "http.disconnect":
            pass
        await send(_part(b"never"))

    with serving(app, max_header_bytes=32) as served, served.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        started = b""
        while not started.endswith(b"5\r\nfirst\r\n"):
            data = sock.recv(1000)
            assert data
            started += data
        sock.sendall(b"GET / HTTP/1.1\r\nX-Big: " + b"1" * 40 + b"\r\n\r\n")  # pipelined, too large
        assert _until_closed(sock) == b""  # no second status line in the middle of an answer


def test_the_app_can_drop_the_connection_without_an_answer() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/abort":
            scope[ABORT_KEY]()
            await _answer_ok(send)  # goes nowhere
            assert (await receive())["type"] == "http.disconnect"
        else:
            await _answer_ok(send)

    with serving(app) as served:
        with served.connect() as sock:
            sock.sendall(b"GET /abort HTTP/1.1\r\n\r\n" + b"GET / HTTP/1.1\r\n\r\n")
            assert _until_closed(sock) == b""
        with served.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
            assert Answers(sock).next()[2] == b"ok"  # the server goes on


# --- shutdown and `run` ------------------------------------------------------------------------------------
def test_shutdown_closes_the_waiting_and_finishes_what_is_being_answered() -> None:
    release = asyncio.Event()
    started = threading.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/slow":
            started.set()
            await release.wait()
        else:
            await _read_all(receive)
        await _answer_ok(send, scope["path"].encode())

    served = Served(app, Limits(shutdown_timeout=5))
    try:
        idle, in_head, receiving, slow = (served.connect() for _ in range(4))
        in_head.sendall(b"GET / HTTP/1.1\r\nX-A: 1")
        receiving.sendall(b"PUT / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab")
        slow.sendall(b"GET /slow HTTP/1.1\r\n\r\n")
        assert started.wait(5)
        for _ in range(2000):  # every connection accepted and its bytes read (bounded)
            if served.call(lambda: sorted(c.idle() for c in served.server.connections)) == [
                False,
                False,
                False,
                True,
            ]:
                break
            time.sleep(0.001)
        served.loop.call_soon_threadsafe(served.server.stop)
        for sock in (idle, in_head, receiving):
            assert _until_closed(sock) == b""  # closed at once, nothing said
        served.loop.call_soon_threadsafe(release.set)
        assert (
            _until_closed(slow) == b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\n/slow"
        )
        served.thread.join(10)
        assert not served.thread.is_alive()
    finally:
        for sock in (idle, in_head, receiving, slow):
            sock.close()
        served.stop()


def test_shutdown_gives_up_on_an_answer_that_never_comes() -> None:
    cancelled = threading.Event()
    started = threading.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    served = Served(app, Limits(shutdown_timeout=0.05))
    try:
        with served.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
            assert started.wait(5)
            served.loop.call_soon_threadsafe(served.server.stop)
            assert _until_closed(sock) == b""
        served.thread.join(10)
        assert cancelled.is_set() and not served.thread.is_alive()
        assert served.server.tasks == set() and served.server.connections == set()
    finally:
        served.stop()


@pytest.fixture
def restored_signals_and_logger() -> Iterator[None]:
    """`run` and `main` install signal handlers and a log handler: the test process gets its own back."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    handlers, level, propagate = list(LOGGER.handlers), LOGGER.level, LOGGER.propagate
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)
    LOGGER.handlers[:] = handlers
    LOGGER.setLevel(level)
    LOGGER.propagate = propagate


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_serves_until_a_signal_and_puts_the_handlers_back(
    restored_signals_and_logger: None, signum: int
) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    LOGGER.handlers.clear()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    announced: list[str] = []
    answered: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _answer_ok(send)

    def client() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            answered.append(_until_closed(conn))
        signal.raise_signal(signum)  # handled by the loop: a graceful stop

    def announce(loop: str) -> None:  # runs in the loop: the request is made from a thread
        announced.append(loop)
        threading.Thread(target=client).start()

    _server.run(app, Limits(shutdown_timeout=1), FROZEN_CLOCK, sock, announce)
    assert announced == ["uvloop"]
    assert answered == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"]
    assert {s: signal.getsignal(s) for s in before} == before
    (handler,) = LOGGER.handlers
    assert (
        isinstance(handler, logging.StreamHandler)
        and LOGGER.level == logging.WARNING
        and not LOGGER.propagate
    )
    _server._log_to_stderr()  # a second time adds nothing
    assert len(LOGGER.handlers) == 1
    assert _server.loop_factory()[1] == "uvloop"


def _drop_first_seed() -> int:
    """A seed whose first fault after commit drops the connection (rather than answering 500)."""
    for seed in range(100):
        rng = random.Random(f"after-commit-{seed}")
        if rng.random() < 1.0 and rng.random() < 0.5:
            return seed
    raise AssertionError("no seed")


def test_the_mock_behind_its_server_dates_answers_once_and_can_drop_a_commit() -> None:
    seed = _drop_first_seed()
    mock = Store(fault_after_commit=1.0, random_seed=seed)
    auth = "".join(f"{k}: {v}\r\n" for k, v in AUTH.items()).encode()
    body = json.dumps(_new(1)).encode()
    try:
        with serving(mock.app) as served:
            with served.connect() as sock:
                sock.sendall(b"GET " + API.encode() + b"/Customers?countonly=1 HTTP/1.1\r\n" + auth + b"\r\n")
                status, headers, answer = Answers(sock).next()
                assert (status, answer) == (200, b'{"TotalCount":0}')
                assert headers == {"content-length": "16", "content-type": JSON, "date": FROZEN_DATE}
            with served.connect() as sock:
                sock.sendall(
                    b"POST "
                    + API.encode()
                    + b"/Customers HTTP/1.1\r\n"
                    + auth
                    + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                    + body
                )
                assert _until_closed(sock) == b""  # committed, then dropped without an answer
        assert [row["Email"] for row in mock.rows()] == ["xyzzy1@example.com"]
    finally:
        mock.close()


# --- the command line: validators, the parser, main's set-up ----------------------------------------------
@pytest.mark.parametrize(
    ("function", "text", "value"),
    [
        (cli._store, " https://a.example , key , tok ", StoreCredentials("https://a.example", "key", "tok")),
        (cli._fraction, "0", 0.0),
        (cli._fraction, "1", 1.0),
        (cli._fraction, "0.25", 0.25),
        (cli._count, "0", 0),
        (cli._count, "12", 12),
        (cli._milliseconds, "0", 0.0),
        (cli._milliseconds, "2.5", 2.5),
        (cli._port, "0", 0),
        (cli._port, "65535", 65535),
        (cli._seed, "-3", -3),
        (cli._database, ":memory:", ":memory:"),
        (cli._instant, " 2026-11-01T01:20:00-04:00 ", datetime(2026, 11, 1, 5, 20, tzinfo=UTC)),
        (cli._instant, "1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
        (cli._instant, "8999-12-31T23:59:59Z", datetime(8999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (cli._speed, "0", 0.0),
        (cli._speed, "60", 60.0),
        (cli._seconds, "0.001", 0.001),
        (cli._positive, "1", 1),
        (cli._on_off, "ON", True),
        (cli._on_off, "true", True),
        (cli._on_off, "1", True),
        (cli._on_off, "Yes", True),
        (cli._on_off, "off", False),
        (cli._on_off, "FALSE", False),
        (cli._on_off, "0", False),
        (cli._on_off, "no", False),
    ],
)
def test_an_option_value_is_read(function: Callable[[str], Any], text: str, value: Any) -> None:
    assert function(text) == value


@pytest.mark.parametrize(
    ("function", "text", "message"),
    [
        (cli._store, "only-a-url", "expected SECUREURL,PRIVATEKEY,TOKEN (three non-empty values)"),
        (cli._store, "a,b,c,d", "expected SECUREURL,PRIVATEKEY,TOKEN (three non-empty values)"),
        (cli._store, "a, ,c", "expected SECUREURL,PRIVATEKEY,TOKEN (three non-empty values)"),
        (cli._fraction, "lots", "'lots' is not a number"),
        (cli._fraction, "1.01", "must be between 0 and 1"),
        (cli._fraction, "-0.01", "must be between 0 and 1"),
        (cli._fraction, "nan", "must be between 0 and 1"),
        (cli._count, "ten", "'ten' is not a whole number"),
        (cli._count, "-1", "must be a whole number >= 0"),
        (cli._milliseconds, "soon", "'soon' is not a number of milliseconds"),
        (cli._milliseconds, "-0.5", "must be a finite number of milliseconds >= 0"),
        (cli._milliseconds, "inf", "must be a finite number of milliseconds >= 0"),
        (cli._milliseconds, "nan", "must be a finite number of milliseconds >= 0"),
        (cli._port, "http", "'http' is not a port number"),
        (cli._port, "65536", "must be between 0 and 65535 (0 picks a free port)"),
        (cli._port, "-1", "must be between 0 and 65535 (0 picks a free port)"),
        (cli._seed, "1.5", "'1.5' is not a whole number"),
        (cli._database, "  ", "must be a file name (or :memory:)"),
        (cli._database, ".", "'.' is a folder, not a database file"),
        (cli._database, "/xyzzy-nowhere/store.sqlite", "the folder '/xyzzy-nowhere' does not exist"),
        (
            cli._instant,
            "yesterday",
            "'yesterday' is not an ISO 8601 date and time, e.g. 2026-11-01T05:20:00Z",
        ),
        (
            cli._instant,
            "2026-11-01T05:20:00",
            "'2026-11-01T05:20:00' has no time zone: give an instant, e.g. 2026-11-01T05:20:00Z or ...-04:00",
        ),
        (cli._instant, "1969-12-31T23:59:59Z", "must be between the years 1970 and 8999"),
        (cli._instant, "9000-01-01T00:00:00Z", "must be between the years 1970 and 8999"),
        (cli._speed, "fast", "'fast' is not a number"),
        (cli._speed, "-1", "must be a finite number >= 0 (0 stops the clock)"),
        (cli._speed, "inf", "must be a finite number >= 0 (0 stops the clock)"),
        (cli._speed, "nan", "must be a finite number >= 0 (0 stops the clock)"),
        (cli._seconds, "long", "'long' is not a number of seconds"),
        (cli._seconds, "0", "must be a finite number of seconds > 0"),
        (cli._seconds, "-1", "must be a finite number of seconds > 0"),
        (cli._seconds, "inf", "must be a finite number of seconds > 0"),
        (cli._seconds, "nan", "must be a finite number of seconds > 0"),
        (cli._positive, "many", "'many' is not a whole number"),
        (cli._positive, "0", "must be at least 1"),
        (cli._on_off, "maybe", "expected on or off"),
    ],
)
def test_a_bad_option_value_is_named(function: Callable[[str], Any], text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        function(text)
    assert str(raised.value) == message


def test_a_database_file_may_be_new_in_a_writable_folder(tmp_path: Path) -> None:
    assert cli._database(str(tmp_path / "new.sqlite")) == str(tmp_path / "new.sqlite")
    existing = tmp_path / "old.sqlite"
    existing.write_bytes(b"")
    locked = tmp_path / "locked"
    locked.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "access", lambda path, mode: False)  # as for a user without rights
        assert cli._database(str(existing)) == str(existing)  # it exists: no need to create it
        with pytest.raises(
            argparse.ArgumentTypeError, match=r"^cannot create a file in the folder '.*locked'$"
        ):
            cli._database(str(locked / "new.sqlite"))


OPTION_HELP = {
    "--host": ("address to bind (default 127.0.0.1)", None),
    "--port": ("port to bind; 0 picks a free one (default 8300)", None),
    "--db": ("SQLite file, in a folder that exists (default: an in-memory database)", None),
    "--store": (
        "a store's credentials (repeatable); default: one demo store, printed at start-up",
        "SECUREURL,PRIVATEKEY,TOKEN",
    ),
    "--seed-customers": ("add N customers to each empty store", "N"),
    "--random-seed": ("seed of the fake data and the faults", "S"),
    "--latency-ms": ("delay every API answer by this long", None),
    "--fault-rate": ("share of API requests answered 500/503", None),
    "--fault-after-commit": (
        "share of successful creates, updates, bulk updates and deletes that commit and then answer 500 or "
        "drop the connection without an answer (and of successful writes answered from the spec's examples)",
        "P",
    ),
    "--rate-limit": (
        "enforce the leaky bucket (50 requests, 2/s per store; overflow is 429 with Retry-After)",
        "on|off",
    ),
    "--bodiless-errors": (
        "answer every 400, 404 and 500 of the API with that status and no body at all",
        None,
    ),
    "--order": ("list order: CustomerID (default), or a stable order that is not CustomerID order", None),
    "--clock-start": (
        "start the store clock at this instant, e.g. 2026-11-01T05:20:00Z (default: real time)",
        "ISO8601",
    ),
    "--clock-speed": (
        "store seconds per real second (default 1; 60 makes a real second a store minute)",
        "X",
    ),
    "--idle-timeout": (
        "close a connection with no request in progress after S seconds (default %(default)g)",
        "S",
    ),
    "--header-timeout": (
        "answer 408 and close when a request's head is not complete S seconds after its first byte "
        "(default %(default)g)",
        "S",
    ),
    "--body-timeout": (
        "answer 408 and close when a request's body is not complete S seconds after its head "
        "(default %(default)g)",
        "S",
    ),
    "--max-connections": ("answer 503 and close a connection beyond N open ones (default %(default)d)", "N"),
    "--max-url-bytes": ("answer 414 to a request target longer than B bytes (default %(default)d)", "B"),
    "--max-header-bytes": (
        "answer 431 to request headers of more than B bytes in all (default %(default)d)",
        "B",
    ),
    "--shutdown-timeout": (
        "on SIGTERM or SIGINT, give the requests being answered S seconds (default %(default)g)",
        "S",
    ),
}


def test_the_options_and_their_defaults() -> None:
    args = cli.parse_args([])
    assert vars(args) == {
        "host": "127.0.0.1",
        "port": 8300,
        "db": ":memory:",
        "store": None,
        "seed_customers": 0,
        "random_seed": 0,
        "latency_ms": 0,
        "fault_rate": 0,
        "fault_after_commit": 0,
        "rate_limit": False,
        "bodiless_errors": False,
        "order": "id",
        "clock_start": None,
        "clock_speed": 1.0,
        "idle_timeout": 30.0,
        "header_timeout": 10.0,
        "body_timeout": 30.0,
        "max_connections": 1000,
        "max_url_bytes": 8192,
        "max_header_bytes": 8192,
        "shutdown_timeout": 3.0,
    }
    assert cli.parse_args(["--rate-limit"]).rate_limit is True
    assert cli.parse_args(["--rate-limit", "off"]).rate_limit is False
    stores = cli.parse_args(["--store", "a,b,c", "--store", "d,e,f"]).store
    assert stores == [StoreCredentials("a", "b", "c"), StoreCredentials("d", "e", "f")]
    parser = cli.build_parser()
    assert parser.prog == "threedcart-mock"
    assert parser.description == "A local, stateful mock of the 3dcart REST API v1 Customers resource."
    helps = {a.option_strings[0]: (a.help, a.metavar) for a in parser._actions if a.dest != "help"}
    assert helps == OPTION_HELP
    (limits,) = [g for g in parser._action_groups if g.title == "limits of a shared sandbox"]
    assert [a.option_strings[0] for a in limits._group_actions] == list(OPTION_HELP)[-7:]
    text = parser.format_help()
    for shown in ("(default 30)", "(default 10)", "(default 1000)", "(default 8192)", "(default 3)"):
        assert shown in text.replace("\n", " ").replace("  ", " "), shown


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--order", "random"], "argument --order: invalid choice: 'random' (choose from 'id', 'shuffled')"),
        (["--port", "x"], "argument --port: 'x' is not a port number"),
        (["--rate-limit", "maybe"], "argument --rate-limit: expected on or off"),
    ],
)
def test_a_bad_option_is_a_usage_error_naming_it(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.parse_args(argv)
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"threedcart-mock: error: {message}"


class FakeSocket:
    """What `main` needs of the listening socket."""

    def __init__(self, name: tuple[Any, ...] = ("127.0.0.1", 8399)) -> None:
        self.name, self.closed = name, False

    def getsockname(self) -> tuple[Any, ...]:
        return self.name

    def close(self) -> None:
        self.closed = True


class FakeResource:
    """`resource` as `__main__` sees it."""

    RLIMIT_NOFILE = 7
    RLIM_INFINITY = -1

    def __init__(self, soft: int, hard: int) -> None:
        self.limits = (soft, hard)
        self.set: list[tuple[int, tuple[int, int]]] = []

    def getrlimit(self, which: int) -> tuple[int, int]:
        assert which == 7
        return self.limits

    def setrlimit(self, which: int, limits: tuple[int, int]) -> None:
        self.set.append((which, limits))


@pytest.mark.parametrize(
    ("soft", "hard", "expected"),
    [
        (-1, -1, []),
        (2000, 4096, []),
        (1256, 4096, []),
        (1024, 4096, [(7, (1256, 4096))]),
        (1024, -1, [(7, (1256, -1))]),
        (1024, 1100, [(7, (1100, 1100))]),
        (1024, 1024, []),
    ],
)
def test_the_file_limit_is_raised_as_far_as_allowed(
    monkeypatch: pytest.MonkeyPatch, soft: int, hard: int, expected: list[Any]
) -> None:
    fake = FakeResource(soft, hard)
    monkeypatch.setattr(cli, "resource", fake)
    cli._raise_file_limit(1256)
    assert fake.set == expected


@pytest.fixture
def fake_run(
    monkeypatch: pytest.MonkeyPatch, restored_signals_and_logger: None
) -> Iterator[list[dict[str, Any]]]:
    """`main` with `run` replaced: what it was given; the file limit left alone."""
    calls: list[dict[str, Any]] = []

    def run(
        app: Starlette, limits: Limits, clock: StoreClock, sock: Any, announce: Callable[[str], None]
    ) -> None:
        first = app.state.api.settings.stores[0]
        client = Api(
            app, {"SecureURL": first.secure_url, "PrivateKey": first.private_key, "Token": first.token}
        )
        try:
            count = client.count()
        finally:
            client.close()
        calls.append({"app": app, "limits": limits, "clock": clock, "sock": sock, "count": count})
        announce("uvloop")
        if isinstance(sock, FakeSocket) and sock.name[0] == "::1":
            raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run", run)
    monkeypatch.setattr(cli, "resource", FakeResource(-1, -1))
    yield calls


def _main(argv: list[str]) -> int | str | None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    return exited.value.code


def test_main_sets_up_the_store_from_its_options(
    fake_run: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "store.sqlite")
    argv = [
        "--port", "0", "--db", db, "--seed-customers", "5", "--random-seed", "4", "--latency-ms", "0",
        "--fault-rate", "0", "--fault-after-commit", "0.5", "--bodiless-errors", "--order", "shuffled",
        "--clock-start", "2026-11-01T05:20:00Z", "--clock-speed", "0", "--idle-timeout", "1",
        "--header-timeout", "2", "--body-timeout", "3", "--max-connections", "4", "--max-url-bytes", "5",
        "--max-header-bytes", "6", "--shutdown-timeout", "7",
    ]  # fmt: skip
    assert _main(argv) == 0
    (call,) = fake_run
    settings: Settings = call["app"].state.api.settings
    assert settings.stores == [DEMO] and settings.order == "shuffled" and settings.bodiless_errors
    assert (settings.fault_after_commit, settings.random_seed, settings.rate_limit) == (0.5, 4, False)
    assert call["clock"] is settings.clock and settings.clock.now() == FROZEN
    assert call["limits"] == Limits(1, 2, 3, 4, 5, 6, 7) and call["count"] == 5
    sock: socket.socket = call["sock"]
    port = sock.getsockname()[1]
    assert sock.getsockname()[0] == "127.0.0.1" and port > 0
    sock.close()
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"seeded 5 customers per empty store in \d+\.\d s", out[0])
    assert out[1:] == [
        f"demo store: SecureURL={DEMO.secure_url} PrivateKey={DEMO.private_key} Token={DEMO.token}",
        f"threedcart-mock listening on http://127.0.0.1:{port} (uvloop)",
    ]
    # the file keeps them: a store that is not empty is not seeded again
    assert (
        _main(["--port", "0", "--db", db, "--seed-customers", "9", "--store", "https://x.example,k,t"]) == 0
    )
    assert fake_run[1]["count"] == 9  # another store: empty, so seeded ...
    fake_run[1]["sock"].close()
    reopened = Database(db, order="id")
    assert reopened.count(DEMO.key, EVERYONE) == 5 and reopened.count("https://x.example", EVERYONE) == 9
    reopened.close()
    assert "demo store" not in capsys.readouterr().out  # ... and no demo store is announced


def test_main_formats_an_ipv6_url_and_treats_ctrl_c_as_a_clean_exit(
    fake_run: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bound: list[tuple[str, int]] = []
    fake = FakeSocket(("::1", 8399, 0, 0))

    def bind(host: str, port: int) -> FakeSocket:
        bound.append((host, port))
        return fake

    monkeypatch.setattr(cli, "_bind", bind)
    monkeypatch.setattr(cli, "resource", limits := FakeResource(100, 5000))
    assert _main(["--host", "::1", "--port", "8399", "--max-connections", "4"]) == 0
    assert bound == [("::1", 8399)] and limits.set == [(7, (260, 5000))]  # a descriptor a connection, and 256
    with pytest.raises(sqlite3.ProgrammingError):  # closed after serving, even after Ctrl-C
        fake_run[0]["app"].state.api.db.count(DEMO.key, EVERYONE)
    assert capsys.readouterr().out.splitlines() == [  # nothing seeded: no line about it
        f"demo store: SecureURL={DEMO.secure_url} PrivateKey={DEMO.private_key} Token={DEMO.token}",
        "threedcart-mock listening on http://[::1]:8399 (uvloop)",
    ]
    assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)
    handler = signal.getsignal(signal.SIGTERM)
    assert callable(handler)
    with pytest.raises(SystemExit) as exited:
        handler(signal.SIGTERM, None)
    assert exited.value.code == 0


def test_main_refuses_a_file_that_is_no_database(
    fake_run: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    fake = FakeSocket()
    monkeypatch.setattr(cli, "_bind", lambda host, port: fake)
    bogus = tmp_path / "xyzzy.sqlite"
    bogus.write_bytes(b"Xyzzy: not SQLite\n" * 100)
    assert _main(["--db", str(bogus)]) == 2
    assert fake.closed and fake_run == []
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"threedcart-mock: error: argument --db: cannot use {str(bogus)!r} as an SQLite database: "
        "file is not a database"
    )


def test_main_stops_with_one_line_on_a_spec_it_cannot_serve(
    fake_run: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    use_spec: Callable[[Any], Path],
) -> None:
    fake = FakeSocket()
    monkeypatch.setattr(cli, "_bind", lambda host, port: fake)
    ghost = copy.deepcopy(SPEC)
    ghost["paths"][CUSTOMERS]["get"]["parameters"].append(
        _filter_param("xyzzyghost", "XyzzyGhost", "equals", {"type": "string"})
    )
    path = use_spec(ghost)
    assert _main([]) == 1 and fake.closed
    assert capsys.readouterr().err == (
        f"threedcart-mock: cannot serve {path}: "
        "x-threedcart-filter of parameter 'xyzzyghost' of listCustomers: "
        "Customer has no field 'XyzzyGhost'\n"
    )
    gone = copy.deepcopy(SPEC)
    gone["paths"][CUSTOMERS]["post"]["requestBody"]["content"][JSON]["schema"] = {
        "$ref": SCHEMAS + "XyzzyGone"
    }
    fake.closed = False
    closed: list[Database] = []
    monkeypatch.setattr(Database, "close", lambda self: closed.append(self))
    path = use_spec(gone)
    assert _main([]) == 1 and fake.closed and len(closed) == 1
    assert capsys.readouterr().err == (
        f"threedcart-mock: cannot serve {path}: {SCHEMAS}XyzzyGone points to nothing in the spec\n"
    )
    assert fake_run == []


def test_a_print_of_the_operations_answered_from_the_spec(
    fake_run: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    use_spec: Callable[[Any], Path],
) -> None:
    spec = copy.deepcopy(SPEC)
    spec["paths"][API + "/XyzzyPing"] = _get("getXyzzyPing", {"204": {"description": "Pong."}})
    use_spec(spec)
    monkeypatch.setattr(cli, "_bind", lambda host, port: FakeSocket())
    assert _main(["--store", "https://x.example,k,t"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "answered statelessly from the spec's examples (no handler in the mock): "
        f"GET {API}/XyzzyPing (getXyzzyPing)",
        "threedcart-mock listening on http://127.0.0.1:8399 (uvloop)",
    ]


def test_binding_fails_with_one_line_and_status_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            cli._bind("127.0.0.1", port)
    assert exited.value.code == 1
    assert capsys.readouterr().err == (
        f"threedcart-mock: cannot listen on 127.0.0.1:{port}: the address is already in use "
        "(another server is listening there)\n"
    )
    with pytest.raises(SystemExit):
        cli._bind("127.0.0.1", 70000)
    assert (
        capsys.readouterr().err
        == "threedcart-mock: cannot listen on 127.0.0.1:70000: bind(): port must be 0-65535.\n"
    )
    made: list[Any] = []

    class Refusing:
        def __init__(self, family: int) -> None:
            made.append(family)

        def setsockopt(self, *args: Any) -> None:
            pass

        def bind(self, address: Any) -> None:
            raise (
                OSError(errno.EACCES, "Permission denied")
                if made[-1] == socket.AF_INET6
                else OSError("xyzzy")
            )

        def close(self) -> None:
            made.append("closed")

    monkeypatch.setattr(cli, "socket", SimpleNamespace(**{**vars(socket), "socket": Refusing}))
    with pytest.raises(SystemExit):
        cli._bind("::1", 80)
    with pytest.raises(SystemExit):
        cli._bind("127.0.0.1", 80)
    assert made == [socket.AF_INET6, "closed", socket.AF_INET, "closed"]
    assert capsys.readouterr().err.splitlines() == [
        "threedcart-mock: cannot listen on ::1:80: Permission denied",
        "threedcart-mock: cannot listen on 127.0.0.1:80: xyzzy",
    ]


# --- the store clock ----------------------------------------------------------------------------------------
class FakeMonotonic:
    """`time` as `_clock` sees it: a monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 500.0

    def monotonic(self) -> float:
        return self.now


def test_a_started_clock_runs_at_its_speed_from_its_start(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMonotonic()
    monkeypatch.setattr(_clock, "time", fake)
    start = datetime(2026, 11, 1, 1, 20, tzinfo=_clock.STORE_TZ)  # aware, not UTC: kept as the instant
    clock = StoreClock(start, speed=60)
    assert clock.now() == FROZEN and clock.now().tzinfo == UTC and not clock._real
    fake.now += 10  # ten real seconds are ten store minutes
    assert clock.now() == FROZEN + timedelta(minutes=10)
    assert clock.store_stamp() == "2026-11-01 01:30:00"
    assert clock.http_date() == b"Sun, 01 Nov 2026 05:30:00 GMT"
    fake.now += 30  # 01:30 EDT + 30 min = 01:00 EST: the repeated hour
    assert clock.store_stamp() == "2026-11-01 01:00:00"
    stopped = StoreClock(FROZEN, speed=0)
    fake.now += 1000
    assert stopped.now() == FROZEN and stopped.speed == 0


def test_the_http_date_is_made_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMonotonic()
    monkeypatch.setattr(_clock, "time", fake)
    clock = StoreClock(FROZEN + timedelta(microseconds=100), speed=1)
    first = clock.http_date()
    assert first == FROZEN_DATE.encode()
    fake.now += 0.5
    assert clock.http_date() is first  # the same second: not formatted again
    fake.now += 0.5
    assert clock.http_date() == b"Sun, 01 Nov 2026 05:20:01 GMT"


def test_a_runaway_clock_stops_at_the_end_of_time(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMonotonic()
    monkeypatch.setattr(_clock, "time", fake)
    end = datetime(9999, 12, 30, tzinfo=UTC)
    near = StoreClock(datetime(9999, 12, 29, tzinfo=UTC), speed=1)
    fake.now += 86400 - 1
    assert near.now() == end - timedelta(seconds=1)
    fake.now += 2
    assert near.now() == end  # past the last instant: held there
    overflowing = StoreClock(FROZEN, speed=1e300)
    fake.now += 1
    assert overflowing.now() == end  # a timedelta too large for Python: held there too
    assert overflowing.store_stamp() == "9999-12-29 19:00:00"


def test_the_default_clock_follows_the_wall_clock() -> None:
    clock = StoreClock()
    assert clock._real and clock.speed == 1.0
    before = datetime.now(UTC)
    now = clock.now()
    assert before <= now <= datetime.now(UTC) and now.tzinfo == UTC
    assert not StoreClock(speed=2)._real and not StoreClock(FROZEN)._real


@pytest.mark.parametrize(
    ("start", "speed", "message"),
    [
        (datetime(2026, 11, 1), 1.0, "the clock's start must be an aware instant (with a time zone)"),
        (None, -0.5, "the clock's speed must be a finite number >= 0"),
        (None, math.inf, "the clock's speed must be a finite number >= 0"),
        (None, math.nan, "the clock's speed must be a finite number >= 0"),
    ],
)
def test_a_clock_refuses_a_naive_start_and_a_bad_speed(
    start: datetime | None, speed: float, message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        StoreClock(start, speed)
    assert str(raised.value) == message
    assert (
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(8999, 12, 31, 23, 59, 59, tzinfo=UTC),
    ) == (_clock.EARLIEST_START, _clock.LATEST_START)


# --- the handlers' pieces -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("node", "bounds"),
    [
        ({}, (-(2**63), 2**63 - 1, None)),
        ({"format": "int32"}, (-(2**31), 2**31 - 1, None)),
        ({"format": "int64", "minimum": 1, "maximum": 500}, (1, 500, None)),
        ({"minimum": 1, "exclusiveMinimum": True, "maximum": 9, "exclusiveMaximum": True}, (2, 8, None)),
        ({"minimum": 0.5, "maximum": 9.5}, (1, 9, None)),
        ({"format": "int32", "minimum": -(2**40), "maximum": 2**40}, (-(2**31), 2**31 - 1, None)),
        ({"minimum": "1"}, (-(2**63), 2**63 - 1, None)),
        ({"enum": [3, 1, 7]}, (1, 7, frozenset({1, 3, 7}))),
        ({"enum": [3, 1, 7], "minimum": 2}, (2, 7, frozenset({1, 3, 7}))),
        ({"enum": []}, (-(2**63), 2**63 - 1, None)),
        ({"enum": [1, "2"]}, (-(2**63), 2**63 - 1, None)),
    ],
)
def test_the_bounds_of_an_integer_parameter(node: dict[str, Any], bounds: tuple[Any, ...]) -> None:
    assert _app._int_bounds(node) == bounds


def test_an_integer_parameter_reads_its_value_within_its_bounds() -> None:
    param = IntParam("xyzzy", -2, 5, frozenset({-2, 0, 5}), allow_empty=True)
    assert param.read({}, 9) == 9 and param.read({"xyzzy": ""}, 9) == 9
    assert [param.read({"xyzzy": v}, 9) for v in ("-2", "0", "5", "05", "+5")] == [-2, 0, 5, 5, 5]
    for raw in ("1", "6", "-3", "x", " 0", "0x", "1" * 20, "+-5", "++5"):
        with pytest.raises(ApiError) as raised:
            param.read({"xyzzy": raw}, 9)
        assert (raised.value.status, raised.value.message, raised.value.value) == (
            400,
            "xyzzy must be an integer between -2 and 5",
            raw,
        )
    strict = IntParam("xyzzy", 0, 9, None, allow_empty=False)
    with pytest.raises(ApiError, match=r"^xyzzy must be an integer between 0 and 9$"):
        strict.read({"xyzzy": ""}, 1)
    assert strict.read({"xyzzy": "9"}, 1) == 9
    assert IntParam.of(None) is None


def test_the_list_plans_come_from_the_spec() -> None:
    for operation_id in ("listCustomers", "listCustomerGroupCustomers"):
        plan = ListPlan.of(_op(operation_id))
        assert plan.limit == IntParam("limit", 1, 500, None, True)
        assert plan.offset == IntParam("offset", 0, 2**31 - 1, None, True)
        assert plan.countonly == IntParam("countonly", 0, 1, frozenset({0, 1}), True)
        assert plan.default_limit == 10 and plan.others == ()
        assert [fp.param.name for fp in plan.filters] == list(LIST_FILTERS)
        by_name = {fp.param.name: fp for fp in plan.filters}
        for name, ext in LIST_FILTERS.items():
            fp = by_name[name]
            assert (fp.filter.field, fp.filter.match) == (ext["field"], ext["match"])
            if ext["field"] == "$lastUpdate":
                assert fp.field is None
            else:
                assert fp.field == customer_fields()[ext["field"]] and fp.column() == f'"f_{ext["field"]}"'
    plain = ListPlan.of(_op("getCustomer"))  # no paging parameters at all
    assert (plain.limit, plain.offset, plain.countonly, plain.default_limit, plain.filters) == (
        None,
        None,
        None,
        10,
        (),
    )


def _field(kind: type, **schema: Any) -> Field:
    return Field("Xyzzy", kind, False, None, schema=schema, format=schema.get("format"))


@pytest.mark.parametrize(
    ("field", "raw", "value", "expected"),
    [
        (_field(str), "Tx", "Tx", "Tx"),
        (_field(bool), "TRUE", None, 1),
        (_field(bool), "false", None, 0),
        (_field(bool), "1", None, 1),
        (_field(bool), "0", None, 0),
        (_field(bool), "yes", None, "yes"),
        (_field(bool), "whatever", True, 1),
        (_field(bool), "whatever", False, 0),
        (_field(int), "-12", -12, -12),
        (_field(int), "1.5", 1.5, "1.5"),
        (_field(float), "0.25", 0.25, 0.25),
        (_field(float), "abc", "abc", "abc"),
        (_field(float), "inf", None, "inf"),
        (_field(float), "nan", None, "nan"),
        (_field(list, items={"type": "integer"}), "7", 7, 7),
        (_field(list, items={"type": "number"}), "0.5", 0.5, 0.5),
        (_field(list, items={"type": "boolean"}), "true", True, 1),
        (_field(list, items={"type": "string"}), "VIP", "VIP", "VIP"),
        (_field(list), "VIP", "VIP", "VIP"),
        (_field(dict), "{}", "{}", "{}"),
    ],
)
def test_a_filter_value_as_its_column_holds_it(field: Field, raw: str, value: Any, expected: Any) -> None:
    found = _app._for_field(field, raw, value)
    assert found == expected and type(found) is type(expected)


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        (_field(int), "30", 30),
        (_field(float), "0.5", 0.5),
        (_field(str, format="date"), "11/01/2026 23:59:59", "2026-11-01"),
        (_field(str, format="date-time"), "11/01/2026 23:59:59", "2026-11-01T23:59:59"),
        (_field(str, format="date"), "2026-11-01", "2026-11-01"),
        (_field(str, format="email"), "11/01/2026 23:59:59", "11/01/2026 23:59:59"),
        (_field(str), "BBB", "BBB"),
    ],
)
def test_a_bound_as_its_column_holds_it(field: Field, raw: str, expected: Any) -> None:
    assert _app._bound_for_field(field, raw, None) == expected


def test_a_store_time_is_checked_then_kept_as_the_database_keeps_times() -> None:
    param = _op("listCustomers").param("lastupdatestart")
    assert param is not None
    assert _app._moment(param, "11/01/2026 01:20:00") == "2026-11-01 01:20:00"
    assert _app._moment(param, "01/01/0999 00:00:00") == "0999-01-01 00:00:00"
    unchecked = Parameter("xyzzywhen", "query", False, True, True, "#/x", None, {})
    assert _app._moment(unchecked, "12/31/2026 23:59:59") == "2026-12-31 23:59:59"
    for raw in ("2026-01-01", "02/30/2026 00:00:00", "12/31/2026 24:00:00", "12/31/2026 23:59:59 "):
        with pytest.raises(ApiError) as raised:
            _app._moment(unchecked, raw)
        assert (raised.value.message, raised.value.value) == (
            "xyzzywhen must be a valid date MM/DD/YYYY HH:MM:SS",
            raw,
        )


def test_the_fields_a_write_keeps() -> None:
    kept = MockApi._fields(_new(1, Comments=None, TotalStoreCredit=3, CustomerGroupID=2, XyzzyUnknown=1))
    assert kept == {"Email": "xyzzy1@example.com", "Password": "", "Comments": None, "CustomerGroupID": 2}
    for body, where in ((5, ""), ([1], "item 3: ")):
        with pytest.raises(ApiError) as raised:
            MockApi._fields(body, where)
        assert raised.value.message == f"{where}the customer must be a JSON object"


def test_a_bulk_body_the_spec_lets_through_is_still_checked(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a spec whose bulk schema lets anything through, the handler still refuses what it cannot use."""
    monkeypatch.setattr(store.api, "_validate", lambda op, body: None)
    cid = _create(store.client)
    for body, message in (
        ({"CustomerID": cid}, "The body must be a JSON array of customers"),
        ([], "The body must be a JSON array of customers"),
        ([{"CustomerID": cid}, {"CustomerID": str(cid)}], "item 1: CustomerID is required"),
        ([{"CustomerID": True}], "item 0: CustomerID is required"),
        ([{"CustomerID": 1.0}], "item 0: CustomerID is required"),
        ([{"CustomerID": cid}, "x"], "item 1: the customer must be a JSON object"),
    ):
        assert _error(store.client.put("/Customers", json=body), 400) == message, body


def test_the_base_path_is_what_every_route_shares(monkeypatch: pytest.MonkeyPatch) -> None:
    for routes, base in (
        (["/a/b/c", "/a/b/d/e"], "/a/b"),
        (["/a/b"], "/a/b"),
        (["/a/x", "/b/x"], ""),
        (["/{id}/a", "/{id}/b"], ""),
        (["/a/{id}/x", "/a/{id}/y"], "/a"),
        (["/a/b", "/a/b/c"], "/a/b"),
    ):
        monkeypatch.setattr(_app, "api_routes", lambda routes=routes: {r: {} for r in routes})
        assert _app.api_base_path() == base, routes


# --- the spec readers ---------------------------------------------------------------------------------------
def test_the_spec_is_found_by_variable_repository_or_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("THREEDCART_SPEC", raising=False)
    assert _schema.spec_path() == _schema.REPOSITORY_SPEC
    assert Path(__file__).resolve().parent.parent / "openapi" / "customers.yaml" == _schema.REPOSITORY_SPEC
    assert Path(_schema.__file__).resolve().parent / "customers.yaml" == _schema.PACKAGED_SPEC
    monkeypatch.setenv("THREEDCART_SPEC", "")
    assert _schema.spec_path() == _schema.REPOSITORY_SPEC  # empty: not set
    monkeypatch.setenv("THREEDCART_SPEC", str(tmp_path / "xyzzy.yaml"))
    assert _schema.spec_path() == tmp_path / "xyzzy.yaml"
    monkeypatch.delenv("THREEDCART_SPEC")
    packaged = tmp_path / "customers.yaml"
    packaged.write_text("x")
    monkeypatch.setattr(_schema, "_SPEC_CANDIDATES", (tmp_path / "missing.yaml", tmp_path, packaged))
    assert _schema.spec_path() == packaged  # the first candidate that is a file
    monkeypatch.setattr(_schema, "_SPEC_CANDIDATES", (tmp_path / "missing.yaml",))
    with pytest.raises(FileNotFoundError) as raised:
        _schema.spec_path()
    assert str(raised.value) == (
        "openapi/customers.yaml not found (neither in the repository nor packaged); set THREEDCART_SPEC"
    )


def test_a_spec_that_is_no_mapping_is_refused(use_spec: Callable[[Any], Path]) -> None:
    path = use_spec("- just\n- a list\n")
    with pytest.raises(SpecError) as raised:
        _schema.spec()
    assert str(raised.value) == f"{path} is not an OpenAPI document"
    assert _schema.spec_text() == b"- just\n- a list\n"


def test_pointers_lookups_and_references() -> None:
    assert _schema.pointer("a/b", "c~d", 3) == "#/a~1b/c~0d/3"
    assert _schema.pointer() == "#"
    assert _schema.child("#/x", "y/z", 0) == "#/x/y~1z/0"
    assert _schema.lookup("#") is _schema.spec()
    assert _schema.lookup(pointer("paths", CUSTOMERS, "get", "parameters", 0)) == {
        "$ref": "#/components/parameters/limit"
    }
    assert _schema.lookup("#/servers/1/url") == "http://127.0.0.1:8300"
    for at, message in (
        ("other.yaml#/x", "only references inside the document are supported, not 'other.yaml#/x'"),
        ("#/components/xyzzy", "#/components/xyzzy points to nothing in the spec"),
        ("#/servers/9", "#/servers/9 points to nothing in the spec"),
        ("#/servers/x", "#/servers/x points to nothing in the spec"),
        ("#/openapi/x", "#/openapi/x points to nothing in the spec"),
    ):
        with pytest.raises(SpecError) as raised:
            _schema.lookup(at)
        assert str(raised.value) == message
    node, at = _schema.resolve({"$ref": "#/components/parameters/limit"}, "#/here")
    assert at == "#/components/parameters/limit" and node["name"] == "limit"
    assert _schema.resolve({"name": "x"}, "#/here") == ({"name": "x"}, "#/here")
    assert _schema.resolve({"$ref": 5}, "#/here") == ({"$ref": 5}, "#/here")


def test_a_reference_to_itself_is_refused(use_spec: Callable[[Any], Path]) -> None:
    spec = copy.deepcopy(SPEC)
    spec["components"]["schemas"]["XyzzyLoop"] = {"$ref": SCHEMAS + "XyzzyLoop2"}
    spec["components"]["schemas"]["XyzzyLoop2"] = {"$ref": SCHEMAS + "XyzzyLoop"}
    use_spec(spec)
    with pytest.raises(SpecError, match=f"^{SCHEMAS}XyzzyLoop2 refers to itself$"):
        _schema.resolve({"$ref": SCHEMAS + "XyzzyLoop2"}, "#")


def _phrases(schema: dict[str, Any], instance: Any, name: str = "n", items: str = "") -> list[str]:
    validator = _schema._Validator(schema, format_checker=_schema._FORMATS)
    found = [m for error in validator.iter_errors(instance) for m in _schema._messages(error, name, items)]
    return list(dict.fromkeys(found))  # as `Schema.problems` keeps them: once each


@pytest.mark.parametrize(
    ("schema", "instance", "messages"),
    [
        ({"type": "integer", "format": "int32"}, 2**31, ["n must be a 32-bit integer"]),
        ({"type": "integer", "format": "int64"}, 2**63, ["n must be a 64-bit integer"]),
        ({"type": "integer"}, 1.0, ["n must be of type integer"]),
        ({"type": "integer"}, True, ["n must be of type integer"]),
        ({"type": "string", "format": "email"}, "x", ["n must be a valid email"]),
        ({"type": "string", "format": "date-time"}, "noon", ["n must be a valid date-time"]),
        ({"maxLength": 2}, "abc", ["n is longer than 2 characters"]),
        ({"minLength": 2}, "a", ["n is shorter than 2 characters"]),
        ({"pattern": "^a$"}, "b", ["n does not match the pattern ^a$"]),
        ({"minimum": 1}, 0, ["n must be at least 1"]),
        ({"minimum": 1, "exclusiveMinimum": True}, 1, ["n must be greater than 1"]),
        ({"maximum": 5}, 6, ["n must be at most 5"]),
        ({"maximum": 5, "exclusiveMaximum": True}, 5, ["n must be less than 5"]),
        ({"multipleOf": 3}, 4, ["n must be a multiple of 3"]),
        ({"enum": [1, "a", None]}, 2, ['n must be one of 1, "a", null']),
        ({"minItems": 1, "maxItems": 2}, [], ["n must be a JSON array of 1 to 2 items"]),
        ({"minItems": 1, "maxItems": 2}, [1, 2, 3], ["n must be a JSON array of 1 to 2 items"]),
        ({"minItems": 2}, [1], ["n must have at least 2 items"]),
        ({"maxItems": 1}, [1, 2], ["n must have at most 1 items"]),
        ({"uniqueItems": True}, [1, 1], ["n must not contain the same item twice"]),
        ({"minProperties": 2}, {"a": 1}, ["n must have at least 2 properties"]),
        ({"maxProperties": 0}, {"a": 1}, ["n must have at most 0 properties"]),
        (
            {"properties": {"a": {}}, "additionalProperties": False},
            {"a": 1, "z": 1, "b": 2},
            ["n has properties the spec does not allow: b, z"],
        ),
        (
            {"additionalProperties": False},
            {f"k{n:02}": n for n in range(12)},
            ["n has properties the spec does not allow: " + ", ".join(f"k{n:02}" for n in range(10))],
        ),
        (
            {"oneOf": [{"type": "integer"}, {"minimum": 0}]},
            1,
            ["n matches more than one of the shapes the spec allows"],
        ),
        (
            {"oneOf": [{"type": "string"}, {"type": "boolean"}]},
            1,
            ["n matches none of the shapes the spec allows"],
        ),
        ({"anyOf": [{"type": "string"}]}, 1, ["n matches none of the shapes the spec allows"]),
        ({"not": {"type": "integer"}}, 1, ["n has a shape the spec does not allow"]),
        ({"type": "object"}, [], ["n must be a JSON object"]),
        ({"type": "array"}, {}, ["n must be a JSON array"]),
        ({"type": "string"}, None, ["n must not be null"]),
        ({"type": "string", "nullable": True}, None, []),
        ({"required": ["a"]}, {}, ["n.a is required"]),
        ({"required": ["a", "b"]}, {"b": 1}, ["n.a is required"]),
        ({"required": ["a", "b", "c"]}, {}, ["n.a, n.b and n.c are required"]),
        (
            {"properties": {"a": {"items": {"type": "string"}}}},
            {"a": ["x", 1]},
            ["n.a[1] must be of type string"],
        ),
    ],
)
def test_each_problem_is_one_message_naming_where(
    schema: dict[str, Any], instance: Any, messages: list[str]
) -> None:
    assert _phrases(schema, instance) == messages


def test_problems_of_a_body_and_of_its_items_are_named_by_their_place() -> None:
    body = {"properties": {"a": {"type": "integer"}, "b": {"required": ["c"]}}}
    assert _phrases(body, {"a": "x", "b": {}}, name="") == ["a must be of type integer", "b.c is required"]
    assert _phrases({"type": "integer"}, "x", name="") == ["the request body must be of type integer"]
    items = {"items": {"required": ["CustomerID"], "properties": {"t": {"items": {"type": "string"}}}}}
    assert _phrases(items, [{"CustomerID": 1}, {}], name="", items="item") == [
        "item 1: CustomerID is required"
    ]
    assert _phrases(items, [{"CustomerID": 1, "t": [1]}], name="", items="item") == [
        "item 0: t[0] must be of type string"
    ]
    assert _phrases({"items": {"type": "string"}}, [1], name="", items="item") == [
        "item 0 must be of type string"
    ]
    assert _phrases({"items": {"type": "string"}}, [1], name="n", items="item") == [
        "n[0] must be of type string"
    ]
    assert _schema._where([0, "a", 1, "b"], "", "") == "[0].a[1].b"
    assert _schema._where(["a"], "", "") == "a"
    assert _schema._where([], "n", "item") == "n"
    odd = ValidationError(
        "Xyzzy: a keyword the mock does not phrase",
        validator="xyzzy",
        validator_value=1,
        instance=1,
        schema=True,
    )
    assert list(_schema._messages(odd, "n", "")) == ["n Xyzzy: a keyword the mock does not phrase"]
    long = ValidationError("x" * 300, validator="xyzzy", validator_value=1, instance=1, schema={})
    assert list(_schema._messages(long, "n", "")) == ["n " + "x" * 200]


def test_a_schema_names_at_most_ten_problems() -> None:
    create = _schema.schema_at(pointer("components", "schemas", "CustomerCreate"))
    strings = [name for name, f in customer_fields().items() if f.kind is str]
    assert create.check(_new(1)) is None and create.problems(_new(1)) == []
    eleven = create.check({name: 1 for name in strings[:11]})
    assert eleven == "; ".join(f"{name} must be of type string" for name in strings[:10]) + " (and 1 more)"
    ten = create.check({name: 1 for name in strings[:10]})
    assert ten is not None and "more)" not in ten and ten.count(";") == 9
    assert _schema.MAX_PROBLEMS == 10


def test_the_fast_path_and_the_validator_agree_on_bodies() -> None:
    at = pointer("paths", CUSTOMERS, "put", "requestBody") + "/content/application~1json/schema"
    bulk = _schema.body_schema_at(at)
    assert bulk._fast is not None and _schema.schema_at(at)._fast is None
    assert bulk.problems([{"CustomerID": 1, "Comments": "ok"}], items="item") == []
    assert bulk.problems([{"CustomerID": 2**70}], items="item") == [
        "item 0: CustomerID must be a 32-bit integer"
    ]
    # a lone surrogate is more than jsonschema-rs takes: the validator judges (the schema allows it)
    assert bulk.problems([{"CustomerID": 1, "Comments": "\ud800"}], items="item") == []
    assert bulk.node == {
        "type": "array",
        "minItems": 1,
        "maxItems": 500,
        "items": {"$ref": SCHEMAS + "CustomerUpdateItem"},
    }


def test_draft4_translation_is_as_strict_as_openapi() -> None:
    assert _schema._draft4(5) == 5 and _schema._draft4([1]) == [1]
    assert _schema._draft4({"type": "string", "nullable": True}) == {
        "type": ["string", "null"],
        "nullable": True,
    }
    assert _schema._draft4({"type": ["string"], "nullable": True}) == {"type": ["string"], "nullable": True}
    assert _schema._draft4({"nullable": False, "type": "integer"}) == {"nullable": False, "type": "integer"}
    assert _schema._draft4({"$ref": "#/a", "nullable": True}) == {
        "nullable": True,
        "allOf": [{"$ref": "#/a"}],
    }
    assert _schema._draft4({"$ref": "#/a"}) == {"$ref": "#/a"}
    assert _schema._draft4({"type": "integer", "format": "int32", "allOf": [{"minimum": 0}]}) == {
        "type": "integer",
        "format": "int32",
        "allOf": [
            {"minimum": 0},
            {"anyOf": [{"not": {"type": "integer"}}, {"minimum": -(2**31), "maximum": 2**31 - 1}]},
        ],
    }
    bounds64 = {"anyOf": [{"not": {"type": "integer"}}, {"minimum": -(2**63), "maximum": 2**63 - 1}]}
    assert _schema._draft4({"format": "int64"}) == {"format": "int64", "allOf": [bounds64]}
    nested = {
        "properties": {"a": {"type": "string", "nullable": True}},
        "patternProperties": {"^x": {"type": "integer", "nullable": True}},
        "definitions": {"d": {"type": "boolean", "nullable": True}},
        "items": {"type": "number", "nullable": True},
        "additionalProperties": {"type": "array", "nullable": True},
        "not": {"type": "object", "nullable": True},
        "anyOf": [{"type": "string", "nullable": True}],
        "oneOf": [{"type": "string", "nullable": True}],
        "allOf": [{"type": "string", "nullable": True}],
        "enum": [{"type": "string", "nullable": True}],
        "additionalItems": {"type": "string", "nullable": True},
    }
    translated = _schema._draft4(nested)
    for key in ("properties", "patternProperties", "definitions"):
        assert next(iter(translated[key].values()))["type"][1] == "null", key
    for key in ("items", "additionalProperties", "not"):
        assert translated[key]["type"][1] == "null", key
    for key in ("anyOf", "oneOf", "allOf"):
        assert translated[key][0]["type"] == ["string", "null"], key
    assert translated["enum"] == nested["enum"] and translated["additionalItems"] == nested["additionalItems"]
    assert _schema._draft4({"items": [{"type": "string"}], "properties": 5}) == {
        "items": [{"type": "string"}],
        "properties": 5,
    }


def test_draft4_document_translates_schemas_and_request_bodies_only() -> None:
    nullable = {"type": "string", "nullable": True}
    translated = {"type": ["string", "null"], "nullable": True}
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "components": {
            "schemas": {"A": nullable},
            "requestBodies": {"B": {"content": {JSON: {"schema": nullable}, "text/plain": {}, "x/y": "odd"}}},
        },
        "paths": {
            "/p": {
                "post": {
                    "requestBody": {"content": {JSON: {"schema": nullable}}},
                    "responses": {"200": nullable},
                },
                "get": {"responses": {}},
                "parameters": [nullable],
            },
            "/q": None,
            "/r": {"put": {"requestBody": {"$ref": "#/components/requestBodies/B"}}},
            "/s": {"put": "odd"},
        },
    }
    out = _schema._draft4_document(document)
    assert out["openapi"] == "3.0.3" and out["components"]["schemas"] == {"A": translated}
    assert out["components"]["requestBodies"]["B"]["content"] == {
        JSON: {"schema": translated},
        "text/plain": {},
        "x/y": "odd",
    }
    post = out["paths"]["/p"]["post"]
    assert post["requestBody"]["content"][JSON]["schema"] == translated and post["responses"] == {
        "200": nullable
    }
    assert out["paths"]["/p"]["get"] == {"responses": {}} and out["paths"]["/p"]["parameters"] == [nullable]
    assert out["paths"]["/q"] is None and out["paths"]["/s"] == {"put": "odd"}
    assert out["paths"]["/r"] == {"put": {"requestBody": {"$ref": "#/components/requestBodies/B"}}}
    assert _schema._draft4_document({}) == {"components": {"schemas": {}, "requestBodies": {}}, "paths": {}}
    assert document["components"]["schemas"]["A"] is nullable and nullable == {
        "type": "string",
        "nullable": True,
    }


def test_schemas_the_mock_cannot_use_fail_at_start_up(use_spec: Callable[[Any], Path]) -> None:
    spec = copy.deepcopy(SPEC)
    schemas = spec["components"]["schemas"]
    schemas["XyzzyBadRef"] = {"type": "object", "properties": {"a": {"$ref": SCHEMAS + "XyzzyGone"}}}
    schemas["XyzzyBadType"] = {"type": "xyzzy"}
    schemas["XyzzyBadPattern"] = {"type": "string", "pattern": "["}
    use_spec(spec)
    with pytest.raises(SpecError, match=f"^{SCHEMAS}XyzzyGone points to nothing in the spec$"):
        _schema.Schema(SCHEMAS + "XyzzyBadRef").self_check()
    with pytest.raises(SpecError, match=f"^the schema at {SCHEMAS}XyzzyBadType cannot be used: "):
        _schema.Schema(SCHEMAS + "XyzzyBadType").self_check()
    bad_pattern = _schema.Schema(SCHEMAS + "XyzzyBadPattern", fast=True)
    assert bad_pattern._fast is None  # jsonschema-rs cannot compile it
    with pytest.raises(SpecError, match=f"^the schema at {SCHEMAS}XyzzyBadPattern cannot be used: "):
        bad_pattern.self_check()
    _schema.Schema(SCHEMAS + "Customer").self_check()  # a usable schema: nothing


def test_a_spec_with_a_discriminator_has_no_fast_path(use_spec: Callable[[Any], Path]) -> None:
    spec = copy.deepcopy(SPEC)
    spec["components"]["schemas"]["XyzzyPet"] = {
        "oneOf": [{"$ref": SCHEMAS + "Customer"}],
        "discriminator": {"propertyName": "Email"},
    }
    use_spec(spec)
    assert _schema._fast_registry() is None
    assert _schema.body_schema_at(SCHEMAS + "CustomerCreate")._fast is None
    assert _schema.body_schema_at(SCHEMAS + "CustomerCreate").check(_new(1)) is None


@pytest.mark.parametrize(
    ("node", "built"),
    [
        (None, None),
        ("string", None),
        ({"example": 5, "default": 6, "type": "string"}, 5),
        ({"default": 6, "enum": [7]}, 6),
        ({"enum": [7, 8], "type": "string"}, 7),
        ({"enum": [], "type": "boolean"}, True),
        (
            {
                "allOf": [
                    {"properties": {"a": {"type": "integer"}}},
                    {"type": "string"},
                    {"example": {"b": 1}},
                ]
            },
            {"a": 0, "b": 1},
        ),
        ({"oneOf": [{"type": "integer", "minimum": 3}, {"type": "string"}]}, 3),
        ({"anyOf": [{"type": "string", "format": "uuid"}]}, "00000000-0000-4000-8000-000000000000"),
        ({"oneOf": [], "type": "number"}, 0),
        (
            {"properties": {"a": {"type": "string"}, "w": {"type": "string", "writeOnly": True}}},
            {"a": "string"},
        ),
        ({"type": "array", "maxItems": 0, "items": {"type": "string"}}, []),
        ({"type": "array", "items": {"type": "boolean"}}, [True]),
        ({"type": "array", "minItems": 3, "items": {"type": "integer", "minimum": 1}}, [1, 1, 1]),
        ({"type": "array"}, [None]),
        ({"type": "integer"}, 0),
        ({"type": "integer", "minimum": 5}, 5),
        ({"type": "integer", "minimum": -3}, 0),
        ({"type": "integer", "minimum": 0}, 0),
        ({"type": "integer", "minimum": 0, "exclusiveMinimum": True}, 1),
        ({"type": "integer", "maximum": -2}, -2),
        ({"type": "integer", "maximum": 0, "exclusiveMaximum": True}, -1),
        ({"type": "integer", "maximum": 0}, 0),
        ({"type": "integer", "maximum": 5}, 0),
        ({"type": "integer", "minimum": 2.5}, 2),
        ({"type": "number", "minimum": 0.5}, 0.5),
        ({"type": "number", "maximum": -0.5, "exclusiveMaximum": True}, -1.5),
        ({"type": "boolean"}, True),
        ({"type": "string"}, "string"),
        ({"type": "string", "format": "date"}, "2026-01-01"),
        ({"type": "string", "format": "xyzzy"}, "string"),
        ({"type": "string", "minLength": 8}, "stringxx"),
        ({"type": "string", "maxLength": 3}, "str"),
        ({"type": "string", "format": "email", "minLength": 20, "maxLength": 18}, "user@example.comxx"),
        ({"type": "string", "maxLength": 0}, ""),
        ({}, None),
        ({"type": "xyzzy"}, None),
    ],
)
def test_an_example_built_from_a_schema(node: Any, built: Any) -> None:
    found = example(node)
    assert found == built and type(found) is type(built)


@pytest.mark.parametrize(
    ("format_", "built"),
    [
        ("date-time", "2026-01-01T00:00:00Z"),
        ("date", "2026-01-01"),
        ("time", "00:00:00Z"),
        ("email", "user@example.com"),
        ("idn-email", "user@example.com"),
        ("uuid", "00000000-0000-4000-8000-000000000000"),
        ("uri", "https://example.com/"),
        ("url", "https://example.com/"),
        ("hostname", "example.com"),
        ("ipv4", "192.0.2.1"),
        ("ipv6", "2001:db8::1"),
        ("byte", ""),
        ("password", ""),
    ],
)
def test_an_example_string_has_the_shape_of_its_format(format_: str, built: str) -> None:
    assert example({"type": "string", "format": format_}) == built
    assert _schema._FORMATS.conforms(built, format_)


def test_the_example_of_a_time_is_a_valid_time() -> None:
    assert _schema._FORMATS.conforms(example({"type": "string", "format": "time"}), "time")


def test_examples_stop_at_depth_eight_and_follow_references() -> None:
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(9):
        deep = {"type": "object", "properties": {"a": deep}}
    found = example(deep)
    for _ in range(8):
        found = found["a"]
    assert found == {"a": None}
    assert example({"$ref": "#/components/schemas/StoreDateTime"}) == "11/28/2026 17:05:00"
    assert example({"$ref": SCHEMAS + "CountResult"}) == {"TotalCount": 20000}


def test_object_properties_and_schema_types() -> None:
    member = {"properties": {"a": {"type": "integer"}}}
    node = {"allOf": [member, {"properties": {"a": {"type": "string"}, "b": {}}}], "properties": {"c": {}}}
    found = _schema.object_properties(node, "#/x")
    assert {name: prop for name, (prop, _) in found.items()} == {"a": {"type": "string"}, "b": {}, "c": {}}
    assert {name: at for name, (_, at) in found.items()} == {
        "a": "#/x/allOf/1/properties/a",
        "b": "#/x/allOf/1/properties/b",
        "c": "#/x/properties/c",
    }
    assert _schema.object_properties("x", "#/x") == {}
    deep: dict[str, Any] = {"properties": {"deepest": {}}}
    for _ in range(21):
        deep = {"allOf": [deep]}
    assert _schema.object_properties(deep, "#") == {}  # 21 levels: beyond the limit
    assert "deepest" in _schema.object_properties(deep["allOf"][0], "#")
    assert _schema.schema_type({"type": "string", "allOf": [{"type": "integer"}]}) == "string"
    assert _schema.schema_type({"allOf": ["x", {"description": "d"}, {"type": "integer"}]}) == "integer"
    assert _schema.schema_type({"allOf": [{"properties": {}}]}) == "object"
    assert _schema.schema_type({"type": ["string", "null"]}) is None
    assert _schema.schema_type({}) is None
    assert _schema.schema_type({"properties": {}}) == "object"


def test_the_customer_fields_come_from_the_spec() -> None:
    fields = customer_fields()
    assert list(fields) == list(SPEC["components"]["schemas"]["Customer"]["properties"])
    email = fields["Email"]
    assert (email.name, email.kind, email.nullable, email.max_length, email.minimum) == (
        "Email",
        str,
        True,
        100,
        None,
    )
    assert (email.at, email.read_only, email.format) == (
        pointer("components", "schemas", "Customer", "properties", "Email"),
        False,
        None,
    )
    assert (
        fields["CustomerID"].minimum == 1
        and fields["CustomerID"].format == "int32"
        and fields["CustomerID"].kind is int
    )
    assert fields["TotalStoreCredit"].kind is float and fields["Enabled"].kind is bool
    assert _schema.date_pattern().match("11/28/2026 17:05:00") and not _schema.date_pattern().match(
        "11/28/2026"
    )
    assert _schema.date_pattern().match("")  # empty: not given


def test_default_values_of_fields(use_spec: Callable[[Any], Path]) -> None:
    spec = copy.deepcopy(SPEC)
    _add_field(spec, "XyzzyPattern", {"type": "string", "pattern": "^[A-Z]{3}$", "example": "ABC"})
    _add_field(spec, "XyzzyNever", {"type": "string", "pattern": "^[A-Z]{3}$"})
    _add_field(spec, "XyzzyDefault", {"type": "integer", "default": 7})
    _add_field(spec, "XyzzyCounts", {"type": "object", "additionalProperties": {"type": "integer"}})
    _add_field(spec, "XyzzyNullable", {"type": "integer", "minimum": 1, "nullable": True})
    use_spec(spec)
    fields = customer_fields()
    assert _schema.default_value(fields["XyzzyPattern"]) == "ABC"
    assert _schema.default_value(fields["XyzzyNever"]) is MISSING
    assert _schema.default_value(fields["XyzzyDefault"]) == 7
    assert _schema.default_value(fields["XyzzyCounts"]) == {}
    assert _schema.default_value(fields["XyzzyNullable"]) is None
    assert _schema.default_value(fields["CustomerGroupID"]) == 0
    assert _schema.default_value(fields["CustomerID"]) == 1  # 0 is below its minimum: its example
    defaults = new_customer_defaults()
    assert "XyzzyNever" not in defaults and defaults["XyzzyPattern"] == "ABC" and defaults["Enabled"] is True


def test_a_lone_surrogate_is_the_only_unicode_problem() -> None:
    assert _schema.unicode_problem("ünï ✓", "n") is None
    assert (
        _schema.unicode_problem(["a", {"b": "\udc00"}], "n")
        == "n is not valid Unicode (it contains a lone surrogate)"
    )
    assert _schema.unicode_problem(None, "n") is None


# --- operations, parameters, bodies -------------------------------------------------------------------------
def _param(node: dict[str, Any], name: str = "x", *, explode: bool = True, **more: Any) -> Parameter:
    return Parameter(
        name,
        more.pop("location", "query"),
        more.pop("required", False),
        more.pop("allow_empty", False),
        explode,
        "#/x",
        None,
        node,
        **more,
    )


@pytest.mark.parametrize(
    ("param", "values", "value"),
    [
        (_param({"type": "integer"}), ["+7"], 7),
        (_param({"type": "integer"}), ["-0"], 0),
        (_param({"type": "number"}), ["5"], 5),
        (_param({"type": "number"}), ["-1.5e2"], -150.0),
        (_param({"type": "number"}), [".5"], 0.5),
        (_param({"type": "number"}), ["2."], 2.0),
        (_param({"type": "boolean"}), ["TRUE"], True),
        (_param({"type": "boolean"}), ["1"], True),
        (_param({"type": "boolean"}), ["False"], False),
        (_param({"type": "boolean"}), ["0"], False),
        (_param({"type": "string"}), ["a"], "a"),
        (_param({}), ["raw"], "raw"),
        (_param({"type": "array", "items": {"type": "integer"}}), ["1", "2"], [1, 2]),
        (_param({"type": "array", "items": {"type": "integer"}}, explode=False), ["1,2", "3"], [1, 2, 3]),
        (_param({"type": "array"}, explode=False), ["a,b"], ["a", "b"]),
        (_param({"type": "object"}), ["a,b"], "a,b"),
        (_param({}, json_content=True), ['{"a": [1]}'], {"a": [1]}),
        (_param({"type": "string"}), [], None),
        (_param({"type": "string"}, allow_empty=True), ["", ""], None),
        (_param({"type": "string"}), [""], ""),
    ],
)
def test_a_parameter_value_is_typed(param: Parameter, values: list[str], value: Any) -> None:
    found = parameter_value(param, values)
    assert found == value and type(found) is type(value)


@pytest.mark.parametrize(
    ("param", "values", "message", "value"),
    [
        (_param({"type": "integer"}), ["1.0"], "x must be an integer", "1.0"),
        (_param({"type": "integer"}), ["1" * 31], "x must be an integer", "1" * 31),
        (_param({"type": "number"}), ["1e"], "x must be a number", "1e"),
        (_param({"type": "number"}), ["-inf"], "x must be a number", "-inf"),
        (_param({"type": "number"}), ["1e400"], "x must be a number", "1e400"),
        (_param({"type": "boolean"}), ["yes"], "x must be true or false", "yes"),
        (
            _param({"type": "array", "items": {"type": "boolean"}}),
            ["true", "no"],
            "x[1] must be true or false",
            "no",
        ),
        (_param({}, json_content=True), ["{"], "x must be JSON", "{"),
        (_param({}, required=True), [], "x is required", ""),
        (_param({}, required=True, allow_empty=True), [""], "x is required", ""),
        (_param({"type": "string"}), ["a", "b"], "x is given 2 times; give it once", "b"),
        (_param({"type": "object"}), ["a,b", "c", "d"], "x is given 3 times; give it once", "c"),
        (_param({}, json_content=True), ["{}", "{}"], "x is given 2 times; give it once", "{}"),
    ],
)
def test_a_bad_parameter_value_is_a_400_naming_it(
    param: Parameter, values: list[str], message: str, value: str
) -> None:
    with pytest.raises(ApiError) as raised:
        parameter_value(param, values)
    assert (raised.value.status, raised.value.message, raised.value.value) == (400, message, value)


def test_a_parameter_value_is_checked_against_its_schema_in_the_spec() -> None:
    limit = _op("listCustomers").param("limit")
    assert limit is not None and limit.schema is not None and limit.raw["name"] == "limit"
    assert parameter_value(limit, ["500"]) == 500
    with pytest.raises(ApiError) as raised:
        parameter_value(limit, ["501"])
    assert (raised.value.message, raised.value.value) == ("limit must be at most 500", "501")
    assert (
        _op("listCustomers").param("limit", "header") is None and _op("listCustomers").param("xyzzy") is None
    )
    op = _op("getCustomer")
    (path_id,) = op.parameters
    assert path_id == Parameter(
        "id",
        "path",
        True,
        False,
        False,
        pointer("components", "parameters", "customerId"),
        pointer("components", "parameters", "customerId", "schema"),
        {},
    )
    assert path_id.node == {"type": "integer", "format": "int32", "minimum": 1}


def _request(
    path_params: dict[str, Any] | None = None,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Request:
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": query,
        "headers": headers or [],
        "path_params": path_params or {},
    }
    return Request(scope)


def test_request_values_come_from_where_the_parameter_is() -> None:
    request = _request(
        {"p0": 5, "id": "7"},
        b"a=1&a=2&b=",
        [(b"x-a", b"1"), (b"x-a", b"2"), (b"cookie", b"c=crumb; d=e")],
    )
    assert request_values(request, _param({}, "a"), {}) == ["1", "2"]
    assert request_values(request, _param({}, "b"), {}) == [""]
    assert request_values(request, _param({}, "z"), {}) == []
    assert request_values(request, _param({}, "X-A", location="header"), {}) == ["1", "2"]
    assert request_values(request, _param({}, "c", location="cookie"), {}) == ["crumb"]
    assert request_values(request, _param({}, "z", location="cookie"), {}) == []
    assert request_values(request, _param({}, "xyzzy-id", location="path"), {"xyzzy-id": "p0"}) == ["5"]
    assert request_values(request, _param({}, "id", location="path"), {}) == ["7"]
    assert request_values(request, _param({}, "gone", location="path"), {}) == []


def test_the_media_type_of_a_request_and_what_counts_as_json() -> None:
    assert (
        _operations.media_type(_request(headers=[(b"content-type", b" Application/JSON ; charset=utf-8")]))
        == JSON
    )
    assert _operations.media_type(_request()) == ""
    assert [
        _operations.is_json(m) for m in (JSON, "application/xyzzy+json", "text/json", "application/json5", "")
    ] == [
        True,
        True,
        False,
        False,
        False,
    ]
    matches = _operations._media_matches
    assert matches("*/*", "image/png") and matches("Application/JSON; charset=utf-8", JSON)
    assert matches("application/*", "application/xml") and not matches("application/*", "text/plain")
    assert not matches("text/plain", "text/html") and not matches("text/*", "")


def test_read_body_counts_what_it_streams() -> None:
    def receiving(parts: list[bytes]) -> Request:
        messages = [
            {"type": "http.request", "body": p, "more_body": n < len(parts) - 1} for n, p in enumerate(parts)
        ]

        async def receive() -> Message:
            return messages.pop(0)

        scope: Scope = {"type": "http", "method": "PUT", "path": "/", "query_string": b"", "headers": []}
        return Request(scope, receive)

    assert asyncio.run(read_body(receiving([b"ab", b"", b"cd"]))) == b"abcd"
    half = b"x" * (MAX_BODY_BYTES // 2)
    assert len(asyncio.run(read_body(receiving([half, half])))) == MAX_BODY_BYTES
    with pytest.raises(ApiError, match=r"^Request body is larger than 4194304 bytes$"):
        asyncio.run(read_body(receiving([half, half, b"x"])))  # no Content-Length: counted while read
    declared = _request(headers=[(b"content-length", b"4194305")])
    with pytest.raises(ApiError, match=r"^Request body is larger than 4194304 bytes$"):
        asyncio.run(read_body(declared))
    assert MAX_BODY_BYTES == 4 * 1024 * 1024


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xfe{}", "Request body is not valid UTF-8 (byte 0)"),
        (
            b'{"a": 1,}',
            "Malformed JSON in request body: Expecting property name enclosed in double quotes at position 8",
        ),
        (b"[Infinity]", "Malformed JSON in request body: Infinity is not valid JSON"),
        (b"[1] [2]", "Malformed JSON in request body: Extra data at position 4"),
        (b"[" * 200_000, "Malformed JSON in request body: nested too deeply"),
    ],
)
def test_a_body_that_is_not_json_is_named(data: bytes, message: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_json(data)
    assert (raised.value.status, raised.value.message) == (400, message)


def test_json_bodies_are_parsed() -> None:
    assert parse_json(b'{"a": [1, 2.5, null, true, "\\u00e9"]}') == {"a": [1, 2.5, None, True, "é"]}
    assert ApiError(418, "m").headers == {} and ApiError(418, "m", "v", {"A": "1"}).headers == {"A": "1"}
    assert str(ApiError(418, "xyzzy")) == "xyzzy" and ApiError(418, "m").value == ""


def test_the_request_bodies_of_operations() -> None:
    assert RequestBody.of(_op("getCustomer")) is None
    create = RequestBody.of(_op("createCustomer"))
    assert create == RequestBody(
        True, {JSON: pointer("paths", CUSTOMERS, "post", "requestBody", "content", JSON, "schema")}
    )
    assert create.schema_for(JSON) == (True, create.content[JSON])
    assert create.schema_for("text/plain") == (False, None)
    assert RequestBody(False, {"text/plain": None}).schema_for("text/plain") == (True, None)


def _operations_spec() -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    spec["servers"] = [{"url": "https://xyzzy.example/base/"}]
    spec["components"]["requestBodies"] = {"XyzzyBody": {"required": True, "content": {"text/plain": {}}}}
    spec["components"]["parameters"]["xyzzyShared"] = {
        "name": "xyzzyshared",
        "in": "header",
        "schema": {"type": "string"},
    }
    spec["paths"]["/XyzzyOps/{p1}/{xyzzy-id}"] = {
        "parameters": [
            {"$ref": "#/components/parameters/xyzzyShared"},
            {"name": "xyzzyq", "in": "query", "schema": {"type": "integer"}},
            {"name": "p1", "in": "path", "schema": {"type": "integer"}},  # no `required`: a path's always is
            "not a parameter",
        ],
        "get": {
            "operationId": "getXyzzyOps",
            "security": [{"SecureURL": []}, {}],
            "parameters": [
                {"name": "xyzzyq", "in": "query", "schema": {"type": "string"}},  # the operation's wins
                {"name": "xyzzyq", "in": "header", "schema": {"type": "boolean"}},
                {"name": "xyzzyc", "in": "query", "content": {JSON: {"schema": {"type": "object"}}}},
                {"name": "xyzzyn", "in": "query", "content": {"text/plain": {}}},
                {"name": "xyzzyempty", "in": "query", "content": {}},
                {"name": "xyzzyform", "in": "cookie"},
                {"name": "xyzzysimple", "in": "header", "style": "simple", "explode": True},
                {"name": "xyzzyspace", "in": "query", "style": "spaceDelimited"},
                {"name": "xyzzybad"},
            ],
            "requestBody": {"$ref": "#/components/requestBodies/XyzzyBody"},
            "responses": {"200": {"description": "ok"}},
        },
        "put": {"operationId": "putXyzzyOps", "requestBody": "odd", "responses": {}},
    }
    for n, ext in enumerate(
        [
            "not a mapping",
            {"match": "equals"},
            {"field": "Email", "match": "like"},
            {"field": "Email"},
            {"field": "$lastUpdate", "match": "equals"},
            {"field": "XyzzyGhost", "match": "equals"},
            {"field": "Enabled", "match": "since"},
            {"field": "Email", "match": "until", "sdk-name": "xyzzy_until"},
            {"field": "$lastUpdate", "match": "since"},
        ]
    ):
        spec["paths"][f"/XyzzyFilter{n}"] = {
            "get": {
                "operationId": f"getXyzzyFilter{n}",
                "parameters": [
                    {
                        "name": f"xyzzyf{n}",
                        "in": "query",
                        "x-threedcart-filter": ext,
                        "schema": {"type": "string"},
                    },
                    {"name": "xyzzyh", "in": "header", "x-threedcart-filter": {"field": "Nothing"}},
                    {"name": "xyzzyplain", "in": "query"},
                ],
                "responses": {"200": {"description": "ok"}},
            }
        }
    return spec


def test_operations_are_read_from_the_spec(use_spec: Callable[[Any], Path]) -> None:
    use_spec(_operations_spec())
    assert _operations.server_base_path() == "/base"
    op = _op("getXyzzyOps")
    assert op.route == "/base/XyzzyOps/{p1}/{p1_}"  # a made name never takes one the path has
    assert op.route_names == {"p1": "p1", "xyzzy-id": "p1_"}
    assert (op.method, op.path, op.at) == (
        "GET",
        "/XyzzyOps/{p1}/{xyzzy-id}",
        pointer("paths", "/XyzzyOps/{p1}/{xyzzy-id}", "get"),
    )
    assert op.secured is False  # one requirement of the two is empty: anonymous is allowed
    by_key = {(p.name, p.location): p for p in op.parameters}
    assert list(by_key) == [
        ("xyzzyshared", "header"),
        ("xyzzyq", "query"),
        ("p1", "path"),
        ("xyzzyq", "header"),
        ("xyzzyc", "query"),
        ("xyzzyn", "query"),
        ("xyzzyempty", "query"),
        ("xyzzyform", "cookie"),
        ("xyzzysimple", "header"),
        ("xyzzyspace", "query"),
    ]
    assert by_key[("xyzzyq", "query")].node == {"type": "string"}
    assert by_key[("xyzzyshared", "header")].at == "#/components/parameters/xyzzyShared"
    content = by_key[("xyzzyc", "query")]
    assert content.json_content and content.node == {"type": "object"} and content.schema_at is not None
    assert content.schema_at.endswith("/content/application~1json/schema")
    for name in ("xyzzyn", "xyzzyempty", "xyzzyform"):
        p = next(p for key, p in by_key.items() if key[0] == name)
        assert (p.json_content, p.schema_at, p.node, p.schema) == (False, None, {}, None), name
    assert [by_key[k].explode for k in by_key] == [
        False,
        True,
        False,
        False,
        True,
        True,
        True,
        True,
        True,
        False,
    ]
    assert [p.name for p in op.parameters if p.required] == ["p1"]
    assert not any(p.allow_empty for p in op.parameters)
    body = RequestBody.of(op)
    assert body == RequestBody(True, {"text/plain": None})
    assert RequestBody.of(_op("putXyzzyOps")) is None
    assert _op("putXyzzyOps").secured is True  # the document's security
    assert documented_answer(_op("putXyzzyOps")) is None


UNAPPLIABLE = [
    (0, "expected {field, match, sdk-name?}"),
    (1, "expected {field, match, sdk-name?}"),
    (2, "match 'like' is none of equals, since, until"),
    (3, "match '' is none of equals, since, until"),
    (4, "$lastUpdate takes since or until, not equals"),
    (5, "Customer has no field 'XyzzyGhost'"),
    (6, "since needs a string or number field, and Enabled is not one"),
]


def test_a_filter_the_mock_cannot_apply_is_named(use_spec: Callable[[Any], Path]) -> None:
    use_spec(_operations_spec())
    for n, message in UNAPPLIABLE:
        with pytest.raises(SpecError) as raised:
            _operations.filters(_op(f"getXyzzyFilter{n}"))
        assert (
            str(raised.value)
            == f"x-threedcart-filter of parameter 'xyzzyf{n}' of getXyzzyFilter{n}: {message}"
        )


def test_filters_name_their_sdk_keyword(use_spec: Callable[[Any], Path]) -> None:
    use_spec(_operations_spec())
    assert _operations.filters(_op("getXyzzyFilter7")) == (
        Filter("xyzzyf7", "Email", "until", "xyzzy_until"),
    )
    assert _operations.filters(_op("getXyzzyFilter8")) == (
        Filter("xyzzyf8", "$lastUpdate", "since", "xyzzyf8"),
    )
    assert set(customer_filters()) == {"listCustomers", "listCustomerGroupCustomers"}


def test_the_real_specs_filters() -> None:
    found = customer_filters()
    for operation_id, path in (("listCustomers", CUSTOMERS), ("listCustomerGroupCustomers", GROUP)):
        ours = _spec_filters(path)
        assert [(f.param, f.field, f.match) for f in found[operation_id]] == [
            (name, ext["field"], ext["match"]) for name, ext in ours.items()
        ]
        assert [f.sdk_name for f in found[operation_id]] == [
            ext.get("sdk-name", name) for name, ext in ours.items()
        ]
    assert _db.filtered_fields() == tuple(
        sorted({ext["field"] for ext in LIST_FILTERS.values()} - {"$lastUpdate"})
    )


@pytest.mark.parametrize(
    ("field", "match", "problem"),
    [
        (Field('Xy"zzy', str, False, None), "equals", "the field name 'Xy\"zzy' cannot be filtered on"),
        (Field("Xy\x00zzy", str, False, None), "equals", "the field name 'Xy\\x00zzy' cannot be filtered on"),
        (
            Field("Xyzzy", dict, False, None),
            "equals",
            "Xyzzy is an object; filters compare strings, numbers, booleans and arrays of them",
        ),
        (
            Field("Xyzzy", object, False, None),
            "until",
            "Xyzzy is an object; filters compare strings, numbers, booleans and arrays of them",
        ),
        (
            Field("Xyzzy", bool, False, None),
            "since",
            "since needs a string or number field, and Xyzzy is not one",
        ),
        (
            Field("Xyzzy", list, False, None),
            "until",
            "until needs a string or number field, and Xyzzy is not one",
        ),
        (Field("Xyzzy", list, False, None), "equals", None),
        (Field("Xyzzy", bool, False, None), "equals", None),
        (Field("Xyzzy", int, False, None), "since", None),
        (Field("Xyzzy", float, False, None), "until", None),
        (Field("Xyzzy", str, False, None), "since", None),
    ],
)
def test_what_a_filter_can_compare(field: Field, match: str, problem: str | None) -> None:
    assert _operations.filter_problem(field, match) == problem


def test_route_names_are_the_specs_when_they_are_identifiers() -> None:
    assert _operations._route_names("/a/{id}/b/{xyzzy-note-id}/{_x1}") == {
        "id": "id",
        "xyzzy-note-id": "p1",
        "_x1": "_x1",
    }
    assert _operations._route_names("/{p1}/{1x}") == {"p1": "p1", "1x": "p1_"}
    assert _operations._route_names("/{1x}/{p0}") == {"1x": "p0_", "p0": "p0"}
    assert _operations._route_names("/plain") == {}
    assert _operations._route_template("/a/{x-y}/{z}", {"x-y": "p0", "z": "z"}) == "/a/{p0}/{z}"


def test_the_server_base_path(use_spec: Callable[[Any], Path]) -> None:
    assert _operations.server_base_path() == ""  # https://apirest.3dcart.com
    spec = copy.deepcopy(SPEC)
    del spec["servers"]
    use_spec(spec)
    assert _operations.server_base_path() == ""
    spec["servers"] = [{"description": "no url"}]
    use_spec(spec)
    assert _operations.server_base_path() == ""
    spec["servers"] = [{"url": "/xyzzy/v9/"}, {"url": "/other"}]
    use_spec(spec)
    assert _operations.server_base_path() == "/xyzzy/v9"
    assert _op("listCustomers").route == "/xyzzy/v9" + CUSTOMERS
    assert _op("getCustomer").label == f"GET /xyzzy/v9{CUSTOMERS}/{{id}} (getCustomer)"


def test_a_path_with_a_generated_route_name_clash_is_served(use_spec: Callable[[Any], Path]) -> None:
    spec = copy.deepcopy(SPEC)
    path_params = [
        {"name": "p1", "in": "path", "required": True, "schema": {"type": "integer"}},
        {"name": "xyzzy-id", "in": "path", "required": True, "schema": {"type": "string"}},
    ]
    spec["paths"][API + "/XyzzyPair/{p1}/{xyzzy-id}"] = _get(
        "getXyzzyPair",
        {"200": {"description": "ok", "content": {"text/plain": {"example": "pair"}}}},
        parameters=path_params,
    )
    use_spec(spec)
    pair = Store()
    try:
        assert pair.client.get("/XyzzyPair/5/abc").text == "pair"
    finally:
        pair.close()


# --- the database -------------------------------------------------------------------------------------------
STORE_A, STORE_B = DEMO.key, OTHER.key


def _record(**fields: Any) -> dict[str, Any]:
    return {**new_customer_defaults(), **fields}


def test_queries_are_sql_with_their_arguments() -> None:
    assert Query() == EVERYONE and Query().where("s") == ("store = ?", ["s"])
    query = Query(
        group_id=0,
        equals=(('"f_A"', "Xyzzy"), ('"f_B"', 1)),
        updated_from="2026-01-01 00:00:00",
        updated_to="2026-12-31 23:59:59",
        bounds=(('"f_C"', ">=", 5), ('"f_C"', "<=", 9), ('"f_D"', "xyzzy", 1)),
        contains=(("Tags", "VIP"),),
    )
    sql, args = query.where("s")
    assert sql == (
        'store = ? AND group_id = ? AND "f_A" = ? AND "f_B" = ? AND updated >= ? AND updated <= ? '
        'AND "f_C" >= ? '
        'AND "f_C" <= ? AND "f_D" <= ? AND EXISTS (SELECT 1 FROM json_each(customers.data, ?) AS item '
        "WHERE casefold(item.value) = ?)"
    )  # text arguments folded, as the columns hold it
    assert args == [
        "s",
        0,
        "xyzzy",
        1,
        "2026-01-01 00:00:00",
        "2026-12-31 23:59:59",
        5,
        9,
        1,
        '$."Tags"',
        "vip",
    ]
    assert filter_column('Xy"z') == '"f_Xy""z"' and json_path("Email") == '$."Email"'
    assert _db._quote("a") == '"a"'


def test_shuffle_keys_are_a_bijection_of_ids() -> None:
    assert shuffle_key(1) == 2654435761 and shuffle_key(2) == (2 * 2654435761) % 2**32
    keys = [shuffle_key(n) for n in range(1, 5001)]
    assert len(set(keys)) == 5000 and keys != sorted(keys) and max(keys) < 2**32
    db = Database(order="shuffled")
    assert db.sort_key(3) == shuffle_key(3) and Database().sort_key(3) == 3
    with pytest.raises(ValueError, match=r"^order must be one of id, shuffled$"):
        Database(order=cast(Any, "random"))
    db.close()


def test_writes_keep_the_record_its_group_and_its_filter_columns() -> None:
    clock = StoreClock(FROZEN, 0)
    db = Database(clock=clock, filter_fields=["BillingState", "XyzzyList"])
    a = db.create(
        STORE_A, _record(CustomerID=99, BillingState="TX", CustomerGroupID=2, XyzzyList=["a", {"b": 1}])
    )
    b = db.create(STORE_B, _record(CustomerGroupID=True))
    c = db.create(STORE_A, _record(CustomerGroupID=None))
    assert (a, b, c) == (1, 2, 3)  # one sequence for every store; a CustomerID sent is not the id
    rows = db._conn.execute(
        'SELECT id, store, group_id, updated, "f_BillingState", "f_XyzzyList" FROM customers'
    ).fetchall()
    assert rows == [
        (1, STORE_A, 2, FROZEN_STAMP, "tx", '["a",{"b":1}]'),  # folded
        (2, STORE_B, None, FROZEN_STAMP, "", None),
        (3, STORE_A, None, FROZEN_STAMP, "", None),
    ]
    stored = db.get(STORE_A, 1)
    assert (
        stored is not None and json.loads(stored)["CustomerID"] == 1 and stored.startswith('{"CustomerID":1,')
    )
    assert db.get(STORE_B, 1) is None and db.get(STORE_A, 99) is None
    db.clock = StoreClock(FROZEN + timedelta(days=1), 0)
    assert db.update(STORE_A, 1, {"CustomerID": 7, "CustomerGroupID": 3, "Comments": "c"})
    assert not db.update(STORE_B, 1, {"Comments": "x"})
    row = db._conn.execute(
        'SELECT group_id, updated, "f_BillingState" FROM customers WHERE id = 1'
    ).fetchone()
    assert row == (3, "2026-11-02 00:20:00", "tx")
    record = json.loads(db.get(STORE_A, 1) or "")
    assert (record["CustomerID"], record["Comments"], record["CustomerGroupID"]) == (1, "c", 3)
    assert db.update_many(STORE_A, [(1, {"BillingState": "NY"}), (2, {"BillingState": "NY"}), (3, {})]) == [
        True,
        False,
        True,
    ]
    assert db.count(STORE_A, Query(equals=(('"f_BillingState"', "ny"),))) == 1  # folded
    assert db._conn.execute('SELECT "f_BillingState" FROM customers WHERE id = 2').fetchone() == ("",)
    assert set(db._update_sql) == {(), ("BillingState",)}
    assert db._update_sql[("BillingState",)] == (
        'UPDATE customers SET group_id = ?, updated = ?, data = ?, "f_BillingState" = ? WHERE id = ?'
    )
    assert not db.delete(STORE_B, 1) and db.delete(STORE_A, 1) and not db.delete(STORE_A, 1)
    assert db.count(STORE_A, EVERYONE) == 1 and db.count(STORE_B, EVERYONE) == 1
    assert db.create(STORE_A, _record()) == 4  # ids are never reused
    db.close()


def test_a_failed_write_is_rolled_back() -> None:
    db = Database()
    db.create(STORE_A, _record())
    with pytest.raises(TypeError):
        db.create(STORE_A, _record(Comments=object()))
    with pytest.raises(TypeError):
        db.update_many(STORE_A, [(1, {"Comments": "kept?"}), (1, {"Comments": object()})])
    assert db.count(STORE_A, EVERYONE) == 1 and json.loads(db.get(STORE_A, 1) or "")["Comments"] == ""
    assert db.create(STORE_A, _record()) == 2
    db.close()


def test_a_file_database_is_durable_and_its_filter_columns_follow_the_spec(tmp_path: Path) -> None:
    path = str(tmp_path / "xyzzy.sqlite")
    db = Database(path, filter_fields=["BillingState", "BillingCity"])
    assert db._conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db._conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    db.create(STORE_A, _record(BillingState="TX", BillingCity="Austin"))
    db.close()
    db = Database(path, filter_fields=["BillingState", "Comments"])  # BillingCity's filter is gone
    columns = {row[1] for row in db._conn.execute("PRAGMA table_info(customers)")}
    indexes = {row[0] for row in db._conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"f_BillingState", "f_Comments"} <= columns and "f_BillingCity" not in columns
    assert (
        "customers_f_BillingCity" not in indexes
        and {"customers_f_BillingState", "customers_f_Comments"} <= indexes
    )
    db.update(STORE_A, 1, {"BillingCity": "Dallas", "Comments": "c"})
    assert db._conn.execute('SELECT "f_Comments" FROM customers').fetchone() == ("c",)
    db.close()
    db = Database(path, filter_fields=["BillingCity"])  # back: filled afresh from the records
    assert db._conn.execute('SELECT "f_BillingCity" FROM customers').fetchone() == ("dallas",)
    assert db.count(STORE_A, Query(equals=(('"f_BillingCity"', "dallas"),))) == 1
    db.close()
    memory = Database(":memory:")
    assert memory._conn.execute("PRAGMA journal_mode").fetchone() == ("memory",)
    memory.close()


def test_a_generated_filter_column_of_an_older_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(_db._TABLE)
    old.execute(
        'ALTER TABLE customers ADD COLUMN "f_BillingState" TEXT'
        " GENERATED ALWAYS AS (json_extract(data, '$.BillingState')) VIRTUAL"
    )
    old.execute('CREATE INDEX "customers_f_BillingState" ON customers (store, "f_BillingState")')
    old.execute(
        "INSERT INTO customers (store, updated, data) VALUES (?, '2025-01-01 00:00:00', ?)",
        (STORE_A, json.dumps({"BillingState": "TX"})),
    )
    old.commit()
    old.close()
    db = Database(str(path), filter_fields=["BillingState"])
    hidden = {str(row[1]): int(row[6]) for row in db._conn.execute("PRAGMA table_xinfo(customers)")}
    assert hidden["f_BillingState"] == 0  # a plain column now, kept by the writes
    assert db.count(STORE_A, Query(equals=(('"f_BillingState"', "tx"),))) == 1
    db.close()


def test_an_older_file_gets_its_shuffle_keys(tmp_path: Path) -> None:
    path = tmp_path / "older.sqlite"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, store TEXT NOT NULL,"
        " group_id INTEGER, updated TEXT NOT NULL, data TEXT NOT NULL)"
    )
    old.executemany(
        "INSERT INTO customers (id, store, updated, data) VALUES (?, ?, '2025-01-01 00:00:00', ?)",
        [(n, STORE_A, json.dumps({"CustomerID": n})) for n in range(1, 21)],
    )
    old.commit()
    old.close()
    db = Database(str(path), order="shuffled")
    keys = dict(db._conn.execute("SELECT id, shuffle_key FROM customers").fetchall())
    assert keys == {n: shuffle_key(n) for n in range(1, 21)}
    ids = [json.loads(row)["CustomerID"] for row in db.page(STORE_A, EVERYONE, 500, 1)]
    assert ids == sorted(range(1, 21), key=shuffle_key)
    indexes = {row[0] for row in db._conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"customers_store_shuffled", "customers_group_shuffled"} <= indexes
    db.close()


def test_pages_start_from_a_known_position_when_they_can() -> None:
    db = Database()
    for n in range(30):
        db.create(STORE_A, _record(CustomerGroupID=n % 2))

    def ids(rows: list[str]) -> list[int]:
        return [int(json.loads(r)["CustomerID"]) for r in rows]

    assert db.known_positions(STORE_A) == {}
    assert ids(db.page(STORE_A, EVERYONE, 10, 1)) == list(range(1, 11))
    assert db.known_positions(STORE_A) == {1: 1, 10: 10}
    assert ids(db.page(STORE_A, EVERYONE, 10, 11)) == list(range(11, 21))  # after position 10
    assert ids(db.page(STORE_A, EVERYONE, 5, 10)) == list(range(10, 15))  # from position 10
    assert ids(db.page(STORE_A, EVERYONE, 5, 17)) == list(range(17, 22))  # by offset
    assert db.paths == Counter({"offset": 2, "after": 1, "from": 1})
    assert (
        ids(db.page(STORE_A, EVERYONE, 5, 31)) == [] and db.known_positions(STORE_A, Query(group_id=0)) == {}
    )
    assert db.page(STORE_B, EVERYONE, 5, 1) == []
    assert db.known_positions(STORE_B) == {}
    evens = Query(group_id=0)
    assert ids(db.page(STORE_A, evens, 3, 2)) == [3, 5, 7]
    assert db.known_positions(STORE_A, evens) == {2: 3, 4: 7}
    assert ids(db.page(STORE_A, evens, 3, 5)) == [9, 11, 13]  # after position 4
    db.close()


def test_a_write_forgets_the_positions_it_may_have_moved() -> None:
    db = Database()
    for n in range(30):
        db.create(STORE_A, _record(BillingState="TX" if n % 3 else "FL"))
    texans = Query(equals=(('"f_BillingState"', "TX"),))
    db.page(STORE_A, EVERYONE, 10, 1)
    db.page(STORE_A, EVERYONE, 10, 11)
    db.page(STORE_A, texans, 5, 1)
    assert db.known_positions(STORE_A) == {1: 1, 10: 10, 11: 11, 20: 20}
    assert db.known_positions(STORE_A, texans) == {1: 2, 5: 8}
    cursors = db._cursors[STORE_A]
    assert (cursors.high, cursors.high_filtered) == (20, 8)
    db.create(STORE_A, _record())  # id 31 sorts after every position
    assert db.known_positions(STORE_A) == {1: 1, 10: 10, 11: 11, 20: 20}
    db.update(STORE_A, 9, {"Comments": "x"})  # after the filtered positions; the store's stay
    assert db.known_positions(STORE_A) == {1: 1, 10: 10, 11: 11, 20: 20}
    assert db.known_positions(STORE_A, texans) == {1: 2, 5: 8}
    db.update(STORE_A, 8, {"Comments": "x"})  # at a filtered position: it and those after go
    assert db.known_positions(STORE_A, texans) == {1: 2} and db.known_positions(STORE_A)[20] == 20
    assert (cursors.high, cursors.high_filtered) == (20, 2)
    db.delete(STORE_A, 11)  # a delete moves every position at or after it
    assert db.known_positions(STORE_A) == {1: 1, 10: 10} and db.known_positions(STORE_A, texans) == {1: 2}
    assert (cursors.high, cursors.high_filtered) == (10, 2)
    db.delete(STORE_A, 1)
    assert db.known_positions(STORE_A) == {} and (cursors.high, cursors.high_filtered) == (-1, -1)
    db.update(STORE_B, 5, {"Comments": "x"})  # another store: no cursors to forget
    db.close()


def test_the_cursor_cache_drops_the_least_recently_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    cursors = _db._Cursors()
    q = Query(group_id=1)
    for position in range(1, 5):
        cursors.remember(EVERYONE, position, position * 10, limit=3)
    assert list(cursors.entries) == [(EVERYONE, 2), (EVERYONE, 3), (EVERYONE, 4)]
    cursors.remember(EVERYONE, 2, 20, limit=3)  # stored again: now the most recent
    cursors.remember(q, 1, 5, limit=3)
    assert list(cursors.entries) == [(EVERYONE, 4), (EVERYONE, 2), (q, 1)]
    assert (cursors.high, cursors.high_filtered) == (40, 5)
    cursors.changed(41, update=False)
    assert len(cursors.entries) == 3
    cursors.changed(6, update=True)  # beyond every filtered key: an update moves nothing
    assert len(cursors.entries) == 3
    cursors.changed(5, update=True)
    assert list(cursors.entries) == [(EVERYONE, 4), (EVERYONE, 2)] and cursors.high_filtered == -1
    cursors.changed(20, update=False)
    assert list(cursors.entries) == [] and cursors.high == -1
    assert _db.Database._CURSOR_CACHE_SIZE == 4096


def test_a_write_by_another_connection_forgets_every_position(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    db = Database(str(path))
    for _ in range(5):
        db.create(STORE_A, _record())
    db.page(STORE_A, EVERYONE, 2, 1)
    db.page(STORE_A, EVERYONE, 2, 2)
    assert db.paths == Counter({"offset": 1, "after": 1})
    other = sqlite3.connect(path)
    other.execute("DELETE FROM customers WHERE id = 1")
    other.commit()
    other.close()
    assert [json.loads(r)["CustomerID"] for r in db.page(STORE_A, EVERYONE, 2, 2)] == [3, 4]
    assert db.paths == Counter({"offset": 2, "after": 1})  # the cursors were forgotten
    db.close()


SEEDED_FIRST = (
    '{"CustomerID":1,"Email":"maria.martinez.0@example.com","Password":"","BillingCompany":"",'
    '"BillingFirstName":"Maria","BillingLastName":"Martinez","BillingAddress1":"8780 Oak St",'
    '"BillingAddress2":"",'
    '"BillingCity":"Denver","BillingState":"CO","BillingZipCode":"80202","BillingCountry":"US",'
    '"BillingPhoneNumber":"866-249-1186","BillingTaxID":null,"ShippingCompany":"","ShippingFirstName":"Maria",'
    '"ShippingLastName":"Martinez","ShippingAddress1":"8780 Oak St","ShippingAddress2":"",'
    '"ShippingCity":"Denver",'
    '"ShippingState":"CO","ShippingZipCode":"80202","ShippingCountry":"US","ShippingPhoneNumber":"866-249-1186",'
    '"ShippingAddressType":0,"CustomerGroupID":0,"Enabled":true,"MailList":false,"NonTaxable":false,'
    '"DisableBillingSameAsShipping":false,"Comments":"","AdditionalField1":"","AdditionalField2":"",'
    '"AdditionalField3":"","TotalStoreCredit":0.0,"ResetPassword":false}'
)


def test_seeding_is_deterministic_and_never_in_the_stores_future() -> None:
    db = Database(clock=StoreClock(FROZEN, 0))
    db.seed(STORE_A, 3, 7, new_customer_defaults())
    first = json.loads(db.get(STORE_A, 1) or "")
    again = Database(clock=StoreClock(FROZEN, 0))
    again.seed(STORE_A, 3, 7, new_customer_defaults())
    assert [again.get(STORE_A, n) for n in (1, 2, 3)] == [db.get(STORE_A, n) for n in (1, 2, 3)]
    assert db.get(STORE_A, 1) == SEEDED_FIRST
    stamps_by_id = dict(db._conn.execute("SELECT id, updated FROM customers").fetchall())
    assert stamps_by_id == {1: "2025-07-22 01:52:15", 2: "2026-06-15 11:57:26", 3: "2024-06-09 02:11:43"}
    assert first["Email"].endswith(".0@example.com") and first["Email"] == first["Email"].lower()
    assert first["BillingFirstName"] in _db._FIRST and first["BillingLastName"] in _db._LAST
    assert first["Email"].startswith(f"{first['BillingFirstName']}.{first['BillingLastName']}.".lower())
    assert (
        first["BillingCity"],
        first["BillingState"],
        first["BillingCountry"],
        first["BillingZipCode"],
    ) in [place[:3] + place[3:] for place in _db._PLACES]
    assert (
        first["ShippingAddress1"] == first["BillingAddress1"]
        and first["ShippingPhoneNumber"] == first["BillingPhoneNumber"]
    )
    assert re.fullmatch(r"[2-9]\d\d-[2-9]\d\d-\d{4}", first["BillingPhoneNumber"])
    assert re.fullmatch(r"\d{1,4} [A-Z][a-z]+ St", first["BillingAddress1"])
    stamps = sorted(str(s) for (s,) in db._conn.execute("SELECT updated FROM customers"))
    assert stamps[0] >= "2024-01-01 00:00:00" and stamps[-1] <= "2026-06-19 00:00:00"  # 900 days from 2024
    early = Database(clock=StoreClock(datetime(2024, 6, 1, 4, tzinfo=UTC), 0))  # 00:00 EDT
    early.seed(STORE_A, 50, 1, new_customer_defaults())
    latest = max(str(s) for (s,) in early._conn.execute("SELECT updated FROM customers"))
    assert latest <= "2024-05-31 23:00:00"  # an hour before the store's now, at the latest
    many = Database(clock=StoreClock(FROZEN, 0))
    many.seed(STORE_A, 400, 3, new_customer_defaults())
    rows = [json.loads(r) for r in many.page(STORE_A, EVERYONE, 400, 1)]
    groups = Counter(r["CustomerGroupID"] for r in rows)
    assert set(groups) == {0, 1, 2, 3} and groups[0] > groups[1] > groups[3]
    assert {r["MailList"] for r in rows} == {True, False} and {r["ShippingAddressType"] for r in rows} == {
        0,
        1,
    }
    assert any(r["BillingTaxID"] is None for r in rows) and any(
        str(r["BillingTaxID"]).startswith("TX") for r in rows
    )
    assert all(r["TotalStoreCredit"] == round(r["TotalStoreCredit"], 2) for r in rows)
    assert any(r["TotalStoreCredit"] > 0 for r in rows) and any(r["TotalStoreCredit"] == 0 for r in rows)
    assert len({r["Email"] for r in rows}) == 400
    # every name, place and street of the fake data is drawn among 400: any change to them shows here
    assert len({r["BillingFirstName"] for r in rows}) == len(_db._FIRST) == 41
    assert len({r["BillingLastName"] for r in rows}) == len(_db._LAST) == 39
    assert len({r["BillingCity"] for r in rows}) == len(_db._PLACES) == 18
    assert len({r["BillingAddress1"].split()[1] for r in rows}) == len(_db._STREETS) == 10
    updated = [str(u) for (u,) in many._conn.execute("SELECT updated FROM customers ORDER BY id")]
    digest = hashlib.sha256(("\n".join(many.page(STORE_A, EVERYONE, 400, 1)) + "\n".join(updated)).encode())
    assert digest.hexdigest() == "5bf47e02142a99f721e7da7778b3d1d2959c4b781623b685f59400eb13755b91"
    for each in (db, again, early, many):
        each.close()


def test_a_filter_column_without_its_index_is_dropped_all_the_same(tmp_path: Path) -> None:
    path = str(tmp_path / "bare.sqlite")
    db = Database(path, filter_fields=["BillingState"])
    db._conn.execute('DROP INDEX "customers_f_BillingState"')
    db.close()
    db = Database(path, filter_fields=[])
    columns = {row[1] for row in db._conn.execute("PRAGMA table_info(customers)")}
    assert "f_BillingState" not in columns
    assert db._insert_sql == (
        "INSERT INTO customers (id, store, group_id, updated, data, shuffle_key) VALUES (?, ?, ?, ?, ?, ?)"
    )
    db.close()


def test_the_server_ignores_a_second_reason_to_close() -> None:
    logged: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope[ABORT_KEY]()
        logged.append("aborted")
        raise RuntimeError("xyzzy after the abort")  # no 500 on a connection already dropped

    with serving(app) as served:
        with served.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
            assert _until_closed(sock) == b""
        with served.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nX-A: 1")  # a connection in its head, then closed under it

            def close_twice() -> tuple[bool, Any]:
                (conn,) = served.server.connections
                conn.transport.close()
                conn._idle_expired()  # the transport is closing already: nothing more to do
                conn.close_with(400, "never sent")
                return conn.closing_answer, conn.timer

            for _ in range(2000):
                if served.call(lambda: len(served.server.connections)) == 1:
                    break
                time.sleep(0.001)
            assert served.call(close_twice) == (False, None)
            assert _until_closed(sock) == b""
    assert logged == ["aborted"]


def test_the_module_runs_main(monkeypatch: pytest.MonkeyPatch, restored_signals_and_logger: None) -> None:
    import runpy
    import sys

    served: list[Limits] = []

    def run(app: ASGIApp, limits: Limits, clock: StoreClock, sock: socket.socket, announce: Any) -> None:
        served.append(limits)
        sock.close()

    monkeypatch.setattr(_server, "run", run)
    monkeypatch.setattr(
        sys, "argv", ["threedcart-mock", "--port", "0", "--max-connections", "1", "--store", "a,b,c"]
    )
    monkeypatch.delitem(sys.modules, "threedcart_mock.__main__")  # run afresh, as `python -m` does
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("threedcart_mock.__main__", run_name="__main__")
    assert exited.value.code == 0 and served == [Limits(max_connections=1)]


def test_binding_fails_when_no_socket_can_be_made(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_socket(family: int) -> socket.socket:
        raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")

    monkeypatch.setattr(cli, "socket", SimpleNamespace(**{**vars(socket), "socket": no_socket}))
    with pytest.raises(SystemExit) as exited:
        cli._bind("::1", 8300)
    assert exited.value.code == 1
    assert (
        capsys.readouterr().err
        == "threedcart-mock: cannot listen on ::1:8300: Address family not supported by protocol\n"
    )


# --- the subprocess helper (`testing.MockServer`), with a stand-in process ----------------------------------
class FakeProcess:
    """What `MockServer` needs of a `subprocess.Popen`."""

    def __init__(self, lines: list[str], *, stubborn: bool = False) -> None:
        self.stdout = iter(lines)
        self.pid, self.stubborn = 4242, stubborn
        self.returncode: int | None = None
        self.signals: list[int] = []

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, signum: int) -> None:
        self.signals.append(signum)

    def wait(self, timeout: float | None = None) -> int:
        if self.stubborn and timeout is not None:
            import subprocess

            raise subprocess.TimeoutExpired("mock", timeout)
        self.returncode = -9 if self.stubborn else 0
        return self.returncode

    def kill(self) -> None:
        self.signals.append(signal.SIGKILL)


def test_the_subprocess_helper_starts_reads_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    from threedcart_mock import testing

    started: list[tuple[list[str], dict[str, Any]]] = []
    process = FakeProcess(
        ["seeded 2 customers\n", "threedcart-mock listening on http://127.0.0.1:8399 (uvloop)\n", "later\n"]
    )

    def popen(cmd: list[str], **kwargs: Any) -> FakeProcess:
        started.append((cmd, kwargs))
        return process

    monkeypatch.setattr(testing.subprocess, "Popen", popen)
    server = testing.MockServer(["--seed-customers", "2"], startup_timeout=5)
    assert server.stop() is None and not server.running() and server.url == "" and server.output == []
    assert server.headers == AUTH
    with server as running:
        assert running is server and server.url == "http://127.0.0.1:8399" and server.pid == 4242
        assert server.running()
    ((cmd, kwargs),) = started
    assert cmd[1:] == ["-m", "threedcart_mock", "--port", "0", "--seed-customers", "2"]
    assert kwargs["env"]["PYTHONUNBUFFERED"] == "1" and kwargs["text"] is True
    assert process.signals == [signal.SIGTERM] and not server.running()
    for _ in range(1000):
        if len(server.output) == 3:
            break
        time.sleep(0.001)
    assert server.output == [
        "seeded 2 customers",
        "threedcart-mock listening on http://127.0.0.1:8399 (uvloop)",
        "later",
    ]


def test_the_subprocess_helper_reports_a_mock_that_does_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from threedcart_mock import testing

    monkeypatch.setattr(
        testing.subprocess, "Popen", lambda cmd, **kwargs: FakeProcess(["usage: threedcart-mock\n"])
    )
    with pytest.raises(RuntimeError) as raised:
        testing.MockServer(startup_timeout=5).start()
    assert str(raised.value) == "the mock did not start:\nusage: threedcart-mock"
    stubborn = FakeProcess(["threedcart-mock listening on http://127.0.0.1:1 (asyncio)\n"], stubborn=True)
    monkeypatch.setattr(testing.subprocess, "Popen", lambda cmd, **kwargs: stubborn)
    server = testing.MockServer().start()
    assert server.stop(signal.SIGINT) == -9 and stubborn.signals == [signal.SIGINT, signal.SIGKILL]
    done = FakeProcess(["threedcart-mock listening on http://127.0.0.1:1 (asyncio)\n"])
    monkeypatch.setattr(testing.subprocess, "Popen", lambda cmd, **kwargs: done)
    server = testing.MockServer().start()
    done.returncode = 3  # it exited on its own
    assert server.stop() == 3 and done.signals == []

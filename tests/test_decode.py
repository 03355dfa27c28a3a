"""The fast JSON path: `parse_json` (orjson when it reads a body as `json.loads` does) reads every
answer exactly as httpx's `response.json()` did, and the SDK turns each edge case into the same
value or the same typed error as before."""

from __future__ import annotations

import asyncio
import codecs
import json
import math
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import threedcart
import threedcart_customers_client.types
from threedcart_customers_client.api.customers import (
    create_customer,
    get_customer,
    list_customer_group_customers,
    list_customers,
)
from threedcart_customers_client.types import parse_json

ROOT = Path(__file__).parent.parent
CUSTOMER = {"CustomerID": 1, "Email": "ann@example.com", "Comments": None, "TotalStoreCredit": 2.5}
PAGE = json.dumps([CUSTOMER, {**CUSTOMER, "CustomerID": 2}]).encode()

# Bodies where orjson and json.loads differ, or could: each must read as json.loads reads it.
EDGE_BODIES: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b" \r\n\t ",
    "utf-8 BOM": codecs.BOM_UTF8 + PAGE,
    "utf-16": PAGE.decode().encode("utf-16"),
    "utf-16-le without BOM": PAGE.decode().encode("utf-16-le"),
    "utf-32": PAGE.decode().encode("utf-32"),
    "NaN": b'[{"CustomerID": 1, "TotalStoreCredit": NaN}]',
    "Infinity": b'[{"CustomerID": 1, "TotalStoreCredit": Infinity}]',
    "-Infinity": b'[{"CustomerID": 1, "TotalStoreCredit": -Infinity}]',
    "1e400": b'[{"CustomerID": 1e400}]',
    "u64 max": b'[{"CustomerID": 18446744073709551615}]',
    "2**64": b'[{"CustomerID": 18446744073709551616}]',
    "-2**63-1": b'[{"CustomerID": -9223372036854775809}]',
    "i64 min": b'[{"CustomerID": -9223372036854775808}]',
    "40 digits": b'[{"CustomerID": 1, "CustomerGroupID": ' + b"9" * 40 + b"}]",
    "5000 digits": b'[{"CustomerID": ' + b"9" * 5000 + b"}]",
    "5000 digits in a string": b'[{"CustomerID": 1, "Comments": "' + b"9" * 5000 + b'"}]',
    "long float": b'[{"CustomerID": 1, "TotalStoreCredit": 1.' + b"1" * 400 + b"}]",
    "invalid UTF-8": b'[{"CustomerID": 1, "Email": "\xff"}]',
    "UTF-8 of a surrogate": b'[{"CustomerID": 1, "Email": "\xed\xa0\x80"}]',
    "escaped lone surrogate": b'[{"CustomerID": 1, "Email": "\\ud800"}]',
    "escaped pair": b'[{"CustomerID": 1, "Email": "\\ud83d\\ude00"}]',
    "control character": b'[{"CustomerID": 1, "Email": "a\x01b"}]',
    "duplicate keys": b'[{"CustomerID": 1, "Email": "a", "CustomerID": 2}]',
    "trailing data": PAGE + b" x",
    "NUL after": PAGE + b"\x00",
    "deep 2000": b"[" * 2000 + b"]" * 2000,
    "deep 200000": b"[" * 200_000 + b"]" * 200_000,
    "a count": b'{"TotalCount": 3}',
    "html": b"<html>Service temporarily unavailable</html>",
    "a page": PAGE,
}


def _outcome(read: Callable[[bytes], Any], body: bytes) -> tuple[str, str]:
    """What reading `body` gives: the value (its repr shows types, NaN and key order) or the error."""
    try:
        return "value", repr(read(body))
    except RecursionError:
        return "RecursionError", ""
    except ValueError as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("name", sorted(EDGE_BODIES))
def test_parse_json_reads_every_edge_case_as_json_loads(name: str) -> None:
    body = EDGE_BODIES[name]
    assert _outcome(parse_json, body) == _outcome(json.loads, body)


def test_huge_integers_stay_integers() -> None:
    for text in ("18446744073709551616", "-9223372036854775809", "9" * 40, "1" + "0" * 30):
        value = parse_json(f'{{"n": {text}}}'.encode())["n"]
        assert type(value) is int and value == int(text)
    # within 64 bits the fast path answers, with the same integers
    assert parse_json(b"[18446744073709551615, -9223372036854775808]") == [2**64 - 1, -(2**63)]


def test_deep_nesting_is_a_recursion_error() -> None:
    for depth in (1100, 200_000):
        with pytest.raises(RecursionError):
            parse_json(b"[" * depth + b"]" * depth)


def test_errors_are_json_decode_errors_with_the_stdlib_message() -> None:
    with pytest.raises(json.JSONDecodeError, match=r"^Expecting value: line 1 column 1 \(char 0\)$"):
        parse_json(b"")
    with pytest.raises(UnicodeDecodeError):
        parse_json(b'["\xff"]')
    with pytest.raises(ValueError, match="Exceeds the limit"):
        parse_json(b"[" + b"9" * 5000 + b"]")


def test_parse_json_matches_json_loads_on_a_realistic_page() -> None:
    page = [
        {
            **CUSTOMER,
            "CustomerID": i,
            "Email": f"c{i}@example.com",
            "Comments": "é 😀 \u2028",
            "X": [1, {"a": None}],
        }
        for i in range(1, 200)
    ]
    body = json.dumps(page).encode()
    assert parse_json(body) == json.loads(body) == page
    assert math.isnan(parse_json(b"[NaN]")[0])


def test_generated_operations_read_bodies_with_parse_json() -> None:
    """No generated operation calls httpx's `response.json()`; the generated package requires orjson."""
    api = ROOT / "generated" / "threedcart_customers_client" / "api"
    sources = [p.read_text(encoding="utf-8") for p in api.rglob("*.py")]
    assert not any("response.json()" in s for s in sources)
    assert sum("parse_json(response.content)" in s for s in sources) >= 7
    project = tomllib.loads((ROOT / "generated" / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(d.replace(" ", "").startswith("orjson>=3.10,<4") for d in project["dependencies"])
    assert "orjson==3.13.0" in (ROOT / "requirements" / "dev.lock").read_text(encoding="utf-8").split("\n")


# --- through the SDK: the same answer or the same typed error as with json.loads ---------------------
OPERATIONS = (list_customers, list_customer_group_customers, get_customer, create_customer)


@pytest.fixture
def stdlib_json(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bool], None]]:
    """Switch the generated operations between `parse_json` and plain `json.loads` (the old reading)."""

    def use(stdlib: bool) -> None:
        for module in OPERATIONS:
            monkeypatch.setattr(module, "parse_json", json.loads if stdlib else parse_json)

    yield use


def _store(status: int, body: bytes) -> threedcart.Store:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})

    return threedcart.Store(
        secure_url="https://s.example.com",
        private_key="k",
        token="t",
        base_url="http://127.0.0.1:9",
        transport=httpx.MockTransport(handler),
        max_retries=0,
        rate_limit=False,
    )


def _sdk_outcome(call: Callable[[threedcart.Store], Any], status: int, body: bytes) -> tuple[str, str]:
    with _store(status, body) as store:
        try:
            result = call(store)
        except threedcart.errors.ThreeDCartError as exc:
            return type(exc).__name__, str(exc)
    if isinstance(result, list):
        return "value", repr([c.to_dict() if hasattr(c, "to_dict") else c for c in result])
    return "value", repr(result)


CALLS: dict[str, tuple[Callable[[threedcart.Store], Any], int]] = {
    "list": (lambda s: s.customers.list(), 200),
    "list of a group": (lambda s: s.customers.list(group_id=3), 200),
    "get": (lambda s: s.customers.get(1), 200),
    "count": (lambda s: s.customers.count(), 200),
    "create": (lambda s: s.customers.create({"Email": "a@example.com"}), 201),
    "list answered 500": (lambda s: s.customers.list(), 500),
    "list answered 400": (lambda s: s.customers.list(offset=9), 400),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("name", sorted(set(EDGE_BODIES) - {"deep 200000"}))
def test_the_sdk_answers_each_edge_case_as_before(
    stdlib_json: Callable[[bool], None], call: str, name: str
) -> None:
    fn, status = CALLS[call]
    body = EDGE_BODIES[name]
    stdlib_json(True)
    before = _sdk_outcome(fn, status, body)
    stdlib_json(False)
    assert _sdk_outcome(fn, status, body) == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("deep 200000", "nested too deeply"),
        ("deep 2000", "nested too deeply"),
        ("empty", "the service answered no list of customers to a list request"),  # no body: no JSON error
        ("invalid UTF-8", "unreadable answer (UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff"),
        ("5000 digits", "unreadable answer (ValueError: Exceeds the limit (4300 digits)"),
        ("1e400", "without a numeric CustomerID"),
    ],
)
def test_unreadable_pages_keep_their_messages(name: str, message: str) -> None:
    kind, text = _sdk_outcome(lambda s: s.customers.list(), 200, EDGE_BODIES[name])
    assert kind == "APIResponseValidationError" and message in text, (kind, text)


def test_readable_oddities_still_read() -> None:
    for name in ("utf-8 BOM", "utf-16", "utf-32", "a page"):
        kind, text = _sdk_outcome(lambda s: s.customers.list(), 200, EDGE_BODIES[name])
        assert kind == "value" and "'ann@example.com'" in text, name
    kind, text = _sdk_outcome(lambda s: s.customers.list(), 200, EDGE_BODIES["NaN"])
    assert kind == "value" and "'TotalStoreCredit': nan" in text
    # read exactly (no float), and then refused: an id beyond 64 bits is out of the API's range
    kind, text = _sdk_outcome(lambda s: s.customers.list(), 200, EDGE_BODIES["2**64"])
    assert kind == "APIResponseValidationError" and "CustomerID out of range (18446744073709551616;" in text


def test_the_async_store_reads_the_same() -> None:
    async def outcome(body: bytes) -> tuple[str, str]:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

        async with threedcart.AsyncStore(
            secure_url="https://s.example.com",
            private_key="k",
            token="t",
            base_url="http://127.0.0.1:9",
            transport=httpx.MockTransport(handler),
            max_retries=0,
            rate_limit=False,
        ) as store:
            try:
                return "value", repr([c.to_dict() for c in await store.customers.list()])
            except threedcart.errors.ThreeDCartError as exc:
                return type(exc).__name__, str(exc)

    for name in ("a page", "utf-8 BOM", "2**64", "deep 200000", "empty", "invalid UTF-8"):
        assert asyncio.run(outcome(EDGE_BODIES[name])) == _sdk_outcome(
            lambda s: s.customers.list(), 200, EDGE_BODIES[name]
        ), name


def test_parse_json_is_exported_from_types() -> None:
    assert "parse_json" in threedcart_customers_client.types.__all__

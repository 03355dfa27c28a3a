"""`store.customers` (`_resources`), sync and async alike: what each call sends, returns and raises.

No server: every store here sends through `httpx.MockTransport` with scripted answers (the
retry transport and the response hook stay in place), so these run once per mutant under
`make mutation`. Each scenario runs on `Store` and on `AsyncStore` with the same assertions.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import threedcart
from conftest import API
from threedcart import errors
from threedcart._resources import failure as _failure
from threedcart._resources import server_time
from threedcart_customers_client.models import Customer, CustomerCreate, CustomerUpdateItem
from threedcart_customers_client.types import UnreadableResponse

BASE = "http://127.0.0.1:9"
KINDS = ["sync", "async"]
Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """The service: scripted answers in order (or a function of the request), recording each request."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):  # a fresh copy: the transport consumes what it returns
            return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)
        return answer(request)

    @property
    def sent(self) -> list[tuple[str, str, dict[str, str]]]:
        """(method, path, query) of each request."""
        return [(r.method, r.url.path, dict(r.url.params)) for r in self.requests]

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def reply(status: int, body: Any = None, **headers: str) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    if isinstance(body, bytes):
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json", **headers})
    return httpx.Response(status, json=body, headers=headers)


def written(value: object, status: str = "200", message: str = "ok") -> list[dict[str, object]]:
    return [{"Key": "CustomerID", "Value": value, "Status": status, "Message": message}]


def error_body(*messages: str) -> list[dict[str, str]]:
    return [{"Key": "Error", "Value": "", "Status": "400", "Message": m} for m in messages]


def people(*ids: int) -> list[dict[str, object]]:
    return [{"CustomerID": i, "Email": f"c{i}@example.com"} for i in ids]


def _kwargs(**overrides: object) -> dict[str, Any]:
    return {
        "secure_url": "https://s.example",
        "private_key": "pk",
        "token": "tok",
        "base_url": BASE,
        "max_retries": 0,
        **overrides,
    }


def run(kind: str, script: Script, call: Callable[[Any], Any], **overrides: object) -> Any:
    """`call(store.customers)` on a Store or an AsyncStore that answers with `script`."""
    if kind == "sync":
        with threedcart.Store(**_kwargs(transport=httpx.MockTransport(script), **overrides)) as store:
            return _settle(call(store.customers))

    async def scenario() -> Any:
        async with threedcart.AsyncStore(
            **_kwargs(transport=httpx.MockTransport(script), **overrides)
        ) as store:
            result = call(store.customers)
            if hasattr(result, "__aiter__"):
                return [item async for item in result]
            if asyncio.iscoroutine(result):
                return await result
            return result

    return asyncio.run(scenario())


def _settle(result: Any) -> Any:
    if hasattr(result, "__next__") or type(result).__name__ == "SyncRun":
        return list(result)
    return result


def ids(customers: list[Customer]) -> list[object]:
    return [c.customer_id for c in customers]


# --- get ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_get_sends_one_get_with_the_credentials_and_returns_the_customer(kind: str) -> None:
    script = Script(reply(200, [{"CustomerID": 5, "Email": "ann@example.com", "BillingCity": "Miami"}]))
    customer = run(kind, script, lambda c: c.get(5))
    assert isinstance(customer, Customer)
    assert (customer.customer_id, customer.email, customer.billing_city) == (5, "ann@example.com", "Miami")
    assert script.sent == [("GET", f"{API}/Customers/5", {})]
    headers = script.requests[0].headers
    assert (headers["SecureURL"], headers["PrivateKey"], headers["Token"]) == (
        "https://s.example",
        "pk",
        "tok",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_get_of_an_empty_list_is_not_found(kind: str) -> None:
    with pytest.raises(errors.NotFoundError) as info:
        run(kind, Script(reply(200, [])), lambda c: c.get(1))
    assert type(info.value) is errors.NotFoundError
    assert info.value.message == "The Customer record was not found"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("record", [{"Email": "x@example.com"}, {"CustomerID": "7"}, {"CustomerID": True}])
def test_get_of_a_customer_without_a_numeric_id_is_a_validation_error(
    kind: str, record: dict[str, object]
) -> None:
    with pytest.raises(errors.APIResponseValidationError) as info:
        run(kind, Script(reply(200, [record])), lambda c: c.get(7))
    assert info.value.message == "the service sent a customer without a numeric CustomerID"
    assert info.value.status_code == 200


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bad", [0, -3, True, "5", 2.0, None])
def test_ids_must_be_positive_integers_and_nothing_is_sent(kind: str, bad: object) -> None:
    script = Script(reply(200, people(1)))
    for call in (
        lambda c: c.get(bad),
        lambda c: c.delete(bad),
        lambda c: c.update(bad, {"Email": "a@example.com"}),
    ):
        with pytest.raises(ValueError) as info:
            run(kind, script, call)
        assert str(info.value) == f"customer_id must be a positive integer, not {bad!r}"
    assert script.requests == []


@pytest.mark.parametrize("kind", KINDS)
def test_the_smallest_id_is_one(kind: str) -> None:
    script = Script(reply(200, people(1)))
    assert ids([run(kind, script, lambda c: c.get(1))]) == [1]
    assert script.sent == [("GET", f"{API}/Customers/1", {})]


# --- error answers -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("answer", "cls", "message"),
    [
        (reply(404, error_body("Customer not found")), errors.NotFoundError, "Customer not found"),
        (reply(400, error_body("a", "b", "a")), errors.BadRequestError, "a; b"),
        (reply(400, [{"Message": ""}, {"Message": "real"}, "text", 3]), errors.BadRequestError, "real"),
        (reply(400, {"Message": "one object"}), errors.BadRequestError, "one object"),
        (reply(401, error_body("bad key")), errors.AuthenticationError, "bad key"),
        (reply(429, error_body("slow down")), errors.RateLimitError, "slow down"),
        (reply(500), errors.ServerError, "Internal Server Error"),
        (reply(503, b"<html>"), errors.ServerError, "Service Unavailable"),
        (reply(400, b"{not json"), errors.BadRequestError, "Bad Request"),
        (reply(400, [{"Message": None}]), errors.BadRequestError, "Bad Request"),
        (reply(599), errors.ServerError, "HTTP 599"),
        (reply(418, error_body("teapot")), errors.APIError, "teapot"),
        (reply(404, b"[" * 5000), errors.NotFoundError, "Not Found"),
    ],
)
def test_error_answers_raise_the_class_of_their_status_with_the_services_message(
    kind: str, answer: httpx.Response, cls: type[errors.APIError], message: str
) -> None:
    with pytest.raises(errors.APIError) as info:
        run(kind, Script(answer), lambda c: c.get(3))
    assert type(info.value) is cls
    assert info.value.message == message and info.value.status_code == answer.status_code
    assert info.value.response.status_code == answer.status_code
    assert info.value.response.request.headers["PrivateKey"] == "[redacted]"


@pytest.mark.parametrize("kind", KINDS)
def test_an_unreadable_success_is_a_validation_error(kind: str) -> None:
    with pytest.raises(errors.APIResponseValidationError) as info:
        run(kind, Script(reply(200, b"{not json")), lambda c: c.get(3))
    assert info.value.message.startswith("unreadable answer (JSONDecodeError: Expecting property name")
    assert info.value.status_code == 200
    assert isinstance(info.value.__cause__, ValueError)
    with pytest.raises(errors.APIResponseValidationError) as info:
        run(kind, Script(reply(200, b"[" * 100_000)), lambda c: c.get(3))
    assert info.value.message == "unreadable answer (nested too deeply)"
    with pytest.raises(errors.APIResponseValidationError) as info:
        run(kind, Script(reply(200, {"CustomerID": 1})), lambda c: c.get(3))
    assert info.value.message.startswith("unreadable answer (")


def test_a_long_decoding_failure_is_cut_to_200_characters() -> None:
    cause = ValueError("y" * 500)
    unreadable = UnreadableResponse(httpx.Response(200, request=httpx.Request("GET", BASE)), cause)
    unreadable.__cause__ = cause
    failure = _failure(unreadable)
    assert isinstance(failure, errors.APIResponseValidationError)
    assert failure.message == "unreadable answer (ValueError: " + "y" * 188 + ")"


@pytest.mark.parametrize("kind", KINDS)
def test_a_failure_before_any_answer_is_raised_as_it_is(kind: str) -> None:
    failure = KeyError("not an answer")
    with pytest.raises(KeyError) as info:
        run(kind, Script(failure), lambda c: c.get(3))
    assert info.value is failure


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("exc", "cls", "message"),
    [
        (httpx.ConnectError("refused"), errors.APIConnectionError, "ConnectError: refused"),
        (httpx.ReadTimeout("too slow"), errors.APITimeoutError, "ReadTimeout: too slow"),
        (httpx.ConnectTimeout("no answer"), errors.APITimeoutError, "ConnectTimeout: no answer"),
        (httpx.RemoteProtocolError("broken"), errors.APIConnectionError, "RemoteProtocolError: broken"),
    ],
)
def test_transport_failures_are_connection_errors(
    kind: str, exc: Exception, cls: type[errors.APIConnectionError], message: str
) -> None:
    with pytest.raises(errors.APIConnectionError) as info:
        run(kind, Script(exc), lambda c: c.get(3))
    host = httpx.URL(BASE).host
    port = httpx.URL(BASE).port or {"https": 443, "http": 80}[httpx.URL(BASE).scheme]
    assert type(info.value) is cls and str(info.value) == f"no answer from {host}:{port} ({message})"
    assert info.value.request is not None and info.value.request.url == f"{BASE}{API}/Customers/3"
    assert info.value.__cause__ is exc


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("https://api.example.test/x", "api.example.test:443"),
        ("http://api.example.test/x", "api.example.test:80"),
        ("http://127.0.0.1:8300/x", "127.0.0.1:8300"),
        ("https://[::1]:9443/x", "[::1]:9443"),
    ],
)
def test_a_connection_error_names_the_host_and_port_it_could_not_reach(url: str, where: str) -> None:
    exc = httpx.ConnectError("[Errno -2] Name or service not known", request=httpx.Request("GET", url))
    failure = _failure(exc)
    assert str(failure) == f"no answer from {where} (ConnectError: [Errno -2] Name or service not known)"


def test_a_transport_failure_without_a_request_is_reported_without_one() -> None:
    failure = _failure(httpx.ConnectError("refused"))
    assert type(failure) is errors.APIConnectionError and str(failure) == "no answer (ConnectError: refused)"
    assert failure.request is None  # type: ignore[attr-defined]
    failure = _failure(httpx.PoolTimeout("busy"))
    assert type(failure) is errors.APITimeoutError and str(failure) == "no answer (PoolTimeout: busy)"


@pytest.mark.parametrize("kind", KINDS)
def test_a_transport_failure_keeps_its_request_redacted(kind: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(errors.APIConnectionError) as info:
        run(kind, Script(fail), lambda c: c.get(3))
    assert info.value.request is not None
    assert info.value.request.url == f"{BASE}{API}/Customers/3"
    assert info.value.request.headers["Token"] == "[redacted]"


@pytest.mark.parametrize("kind", KINDS)
def test_a_replaced_http_client_is_used_as_it_is(kind: str) -> None:
    # the SDK reads each answer from what the generated call returns: no hook to lose
    script = Script(reply(200, people(1)))
    if kind == "sync":
        with threedcart.Store(**_kwargs(transport=httpx.MockTransport(script))) as store:
            store.client.set_httpx_client(httpx.Client(base_url=BASE, transport=httpx.MockTransport(script)))
            assert store.customers.get(1).customer_id == 1
    else:

        async def scenario() -> int | None:
            async with threedcart.AsyncStore(**_kwargs(transport=httpx.MockTransport(script))) as store:
                store.client.set_async_httpx_client(
                    httpx.AsyncClient(base_url=BASE, transport=httpx.MockTransport(script))
                )
                return (await store.customers.get(1)).customer_id  # type: ignore[return-value]

        assert asyncio.run(scenario()) == 1
    assert len(script.requests) == 1


# --- options --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_a_timeout_applies_to_that_call_only(kind: str) -> None:
    script = Script(reply(200, people(1)))

    def calls(c: Any) -> Any:
        if kind == "sync":
            c.get(1, timeout=3)
            c.get(1)
            return None

        async def both() -> None:
            await c.get(1, timeout=3)
            await c.get(1)

        return both()

    run(kind, script, calls)
    first, second = (r.extensions["timeout"] for r in script.requests)
    assert first == {"connect": 3, "read": 3, "write": 3, "pool": 3}
    assert second == {"connect": 10.0, "read": 60.0, "write": 60.0, "pool": 60.0}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get(1, timeout=4),
        lambda c: c.list(timeout=4),
        lambda c: c.count(timeout=4),
        lambda c: c.create({"Email": "a@example.com"}, timeout=4),
        lambda c: c.update(1, {"Email": "a@example.com"}, timeout=4),
        lambda c: c.update_many([{"CustomerID": 1}], timeout=4),
        lambda c: c.delete(1, timeout=4),
        lambda c: c.iter(timeout=4),
        lambda c: c.sync(None, timeout=4),
    ],
)
def test_every_method_takes_a_timeout(kind: str, call: Callable[[Any], Any]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return reply(201, written("1"), Date="Sun, 01 Mar 2026 12:00:00 GMT")
        if request.method in ("PUT", "DELETE"):
            return reply(200, written("1"))
        if request.url.params.get("countonly") == "1":
            return reply(200, {"TotalCount": 1}, Date="Sun, 01 Mar 2026 12:00:00 GMT")
        return reply(200, people(1))

    script = Script(answer)
    run(kind, script, call)
    assert script.requests
    assert {json.dumps(r.extensions["timeout"]) for r in script.requests} == {
        json.dumps({"connect": 4, "read": 4, "write": 4, "pool": 4})
    }


@pytest.mark.parametrize("kind", KINDS)
def test_with_options_retries_apply_to_the_view_only(kind: str) -> None:
    script = Script(reply(500), reply(500), reply(200, people(1)), reply(500), reply(200, people(1)))

    def calls(c: Any) -> Any:
        store = c._store
        view = store.with_options(max_retries=2)
        _no_backoff(store, kind)
        _no_backoff(view, kind)
        if kind == "sync":
            got = view.customers.get(1)
            with pytest.raises(errors.ServerError):
                store.customers.get(1)
            return got

        async def both() -> Any:
            got = await view.customers.get(1)
            with pytest.raises(errors.ServerError):
                await store.customers.get(1)
            return got

        return both()

    assert ids([run(kind, script, calls)]) == [1]
    assert len(script.requests) == 4


async def _no_sleep(seconds: float) -> None:
    return None


def _no_backoff(store: Any, kind: str) -> None:
    """No waits between the attempts of `store`'s client (of the running loop, for async)."""
    if kind == "sync":
        store.client.get_httpx_client()._transport._sleep = lambda s: None
    else:
        store.client.get_async_httpx_client()._transport._sleep = _no_sleep


# --- list ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_list_asks_for_one_page_with_limit_offset_and_filters(kind: str) -> None:
    script = Script(reply(200, people(3, 4)))
    page = run(kind, script, lambda c: c.list())
    assert ids(page) == [3, 4] and all(isinstance(c, Customer) for c in page)
    page = run(
        kind,
        script,
        lambda c: c.list(
            limit=2,
            offset=3,
            email="a@example.com",
            first_name="Ann",
            last_name="Lee",
            country="US",
            state="FL",
            city="Miami",
            phone="555",
            updated_since="2026-01-31 10:30",
            updated_until="2026-02-01",
        ),
    )
    assert ids(page) == [3, 4]
    page = run(kind, script, lambda c: c.list(limit=500, offset=7, group_id=3))
    assert script.sent == [
        ("GET", f"{API}/Customers", {"limit": "500", "offset": "1"}),
        (
            "GET",
            f"{API}/Customers",
            {
                "limit": "2",
                "offset": "3",
                "email": "a@example.com",
                "firstname": "Ann",
                "lastname": "Lee",
                "country": "US",
                "state": "FL",
                "city": "Miami",
                "phone": "555",
                "lastupdatestart": "01/31/2026 10:30:00",
                "lastupdateend": "02/01/2026 23:59:59",
            },
        ),
        ("GET", f"{API}/CustomerGroups/3/Customers", {"limit": "500", "offset": "7"}),
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_list_uses_the_store_time_zone(kind: str) -> None:
    script = Script(reply(200, people(1)))
    since = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    run(kind, script, lambda c: c.list(updated_since=since), store_timezone="Asia/Tokyo")
    assert script.sent[0][2]["lastupdatestart"] == "01/15/2026 21:00:00"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"limit": 0}, "limit must be between 1 and 500, not 0"),
        ({"limit": 501}, "limit must be between 1 and 500, not 501"),
        ({"offset": 0}, "offset is 1-based and must be at least 1, not 0"),
        ({"offset": -5, "limit": 1}, "offset is 1-based and must be at least 1, not -5"),
    ],
)
def test_list_checks_limit_and_offset_before_sending(
    kind: str, arguments: dict[str, int], message: str
) -> None:
    script = Script(reply(200, people(1)))
    with pytest.raises(ValueError) as info:
        run(kind, script, lambda c: c.list(**arguments))
    assert str(info.value) == message and script.requests == []


@pytest.mark.parametrize("kind", KINDS)
def test_list_limits_at_the_edges_are_sent(kind: str) -> None:
    script = Script(reply(200, people(1)))
    run(kind, script, lambda c: c.list(limit=1, offset=1))
    run(kind, script, lambda c: c.list(limit=500, offset=2))
    assert [q for _, _, q in script.sent] == [{"limit": "1", "offset": "1"}, {"limit": "500", "offset": "2"}]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("answer", "offset"),
    [
        (reply(404), 1),
        (reply(404, error_body("No Customer records found")), 1),
        (reply(400, error_body("Offset amount exceeds the total number of records")), 1),
        (reply(400), 2),
        (reply(200, []), 1),
    ],
)
def test_list_past_the_end_or_without_matches_is_empty(
    kind: str, answer: httpx.Response, offset: int
) -> None:
    script = Script(answer, reply(200, {"TotalCount": 0}))
    assert run(kind, script, lambda c: c.list(offset=offset, state="FL")) == []
    # a 404 is confirmed with a count of the same filters first
    counted = [{"countonly": "1", "state": "FL"}] if answer.status_code == 404 else []
    assert [q for _, _, q in script.sent] == [
        {"limit": "500", "offset": str(offset), "state": "FL"},
        *counted,
    ]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("answer", [reply(404), reply(404, error_body("No Customer records found"))])
def test_list_of_a_404_whose_count_is_a_404_too_points_at_the_base_url(
    kind: str, answer: httpx.Response
) -> None:
    script = Script(answer)
    with pytest.raises(errors.NotFoundError) as info:
        run(kind, script, lambda c: c.list(offset=3))
    assert type(info.value) is errors.NotFoundError and "is base_url right" in info.value.message
    assert [q for _, _, q in script.sent] == [{"limit": "500", "offset": "3"}, {"countonly": "1"}]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("answer", "cls", "message"),
    [
        (reply(400, error_body("limit is invalid")), errors.BadRequestError, "limit is invalid"),
        (reply(400), errors.BadRequestError, "Bad Request"),
        (reply(500, error_body("boom")), errors.ServerError, "boom"),
        (reply(401, error_body("no")), errors.AuthenticationError, "no"),
        (
            reply(200, {"TotalCount": 4}),
            errors.APIResponseValidationError,
            "the service answered a count ({TotalCount}) to a list request",
        ),
        (
            reply(200, [{"CustomerID": 1}, {"Email": "x@example.com"}]),
            errors.APIResponseValidationError,
            "the service sent customers without a numeric CustomerID",
        ),
        (
            reply(200, [{"CustomerID": "1"}]),
            errors.APIResponseValidationError,
            "the service sent customers without a numeric CustomerID",
        ),
    ],
)
def test_list_errors(kind: str, answer: httpx.Response, cls: type[errors.APIError], message: str) -> None:
    with pytest.raises(errors.APIError) as info:
        run(kind, Script(answer), lambda c: c.list())
    assert type(info.value) is cls and info.value.message == message
    assert info.value.status_code == answer.status_code


@pytest.mark.parametrize("kind", KINDS)
def test_list_connection_failure(kind: str) -> None:
    expected = r"^no answer from 127\.0\.0\.1:9 \(ReadTimeout: slow\)$"
    with pytest.raises(errors.APITimeoutError, match=expected):
        run(kind, Script(httpx.ReadTimeout("slow")), lambda c: c.list())


# --- count -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_count_asks_countonly_with_the_filters(kind: str) -> None:
    script = Script(
        reply(200, {"TotalCount": 42}), reply(200, {"TotalCount": 0}), reply(200, {"TotalCount": 7})
    )
    assert run(kind, script, lambda c: c.count()) == 42
    assert run(kind, script, lambda c: c.count(state="TX", updated_until="2026-01-31")) == 0
    assert run(kind, script, lambda c: c.count(group_id=2, city="Waco")) == 7
    assert script.sent == [
        ("GET", f"{API}/Customers", {"countonly": "1"}),
        (
            "GET",
            f"{API}/Customers",
            {"countonly": "1", "state": "TX", "lastupdateend": "01/31/2026 23:59:59"},
        ),
        ("GET", f"{API}/CustomerGroups/2/Customers", {"countonly": "1", "city": "Waco"}),
    ]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("total", "shown"),
    [(-1, "'-1'"), ("many", "'many'"), (True, "'True'"), (1.5, "'1.5'"), ("9" * 60, repr("9" * 40))],
)
def test_a_count_that_is_not_a_whole_number_is_a_validation_error(
    kind: str, total: object, shown: str
) -> None:
    with pytest.raises(errors.APIResponseValidationError) as info:
        run(kind, Script(reply(200, {"TotalCount": total})), lambda c: c.count())
    assert info.value.message == f"the service answered a count that is not a whole number: {shown}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("answer", [reply(404), reply(404, error_body("No Customer records found"))])
def test_a_404_to_a_count_points_at_the_base_url(kind: str, answer: httpx.Response) -> None:
    with pytest.raises(errors.NotFoundError) as info:
        run(kind, Script(answer), lambda c: c.count(email="a@example.com"))
    assert type(info.value) is errors.NotFoundError and info.value.status_code == 404
    assert info.value.message == (
        f"{BASE}{API}/Customers answered 404 to a count, which the service answers 200 even for 0 matches: "
        "is base_url right (scheme and host only; the SDK adds the API path)?"
    )
    # no chained error in the traceback (a bodiless 404 is an answer of the generated client, not an error)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ or info.value.__context__ is None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("answer", "cls", "message"),
    [
        (reply(500, error_body("down")), errors.ServerError, "down"),
        (reply(400, error_body("bad filter")), errors.BadRequestError, "bad filter"),
        (reply(200, people(1)), errors.APIError, "OK"),
    ],
)
def test_count_errors(kind: str, answer: httpx.Response, cls: type[errors.APIError], message: str) -> None:
    with pytest.raises(errors.APIError) as info:
        run(kind, Script(answer), lambda c: c.count())
    assert type(info.value) is cls and info.value.message == message


# --- create / update -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_create_posts_the_customer_with_an_empty_password_and_returns_its_id(kind: str) -> None:
    script = Script(reply(201, written("1234", "201", "Created successfully")))
    assert run(kind, script, lambda c: c.create({"Email": "ann@example.com", "BillingCity": "Miami"})) == 1234
    assert run(kind, script, lambda c: c.create({"Email": "b@example.com", "Password": "pw"})) == 1234
    assert run(kind, script, lambda c: c.create(Customer(email="c@example.com"))) == 1234
    assert run(kind, script, lambda c: c.create(CustomerCreate(email="d@example.com", password="x"))) == 1234
    assert (
        run(kind, script, lambda c: c.create(CustomerUpdateItem(customer_id=3, email="e@example.com")))
        == 1234
    )
    assert [m for m, _, _ in script.sent] == ["POST"] * 5
    assert {p for _, p, _ in script.sent} == {f"{API}/Customers"}
    assert script.bodies() == [
        {"Email": "ann@example.com", "BillingCity": "Miami", "Password": ""},
        {"Email": "b@example.com", "Password": "pw"},
        {"Email": "c@example.com", "Password": ""},
        {"Email": "d@example.com", "Password": "x"},
        {"Email": "e@example.com", "Password": ""},  # a create body has no CustomerID (closed schema)
    ]
    assert script.requests[0].headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("customer", "cls", "message"),
    [
        ({"BillingCity": "Miami"}, ValueError, "a new customer needs an Email"),
        ({"Email": ""}, ValueError, "a new customer needs an Email"),
        (
            {"Email": "a@example.com", "email": "x", "Bogus": 1},
            ValueError,
            "customer has unknown field(s) Bogus, email; use the API's names, e.g. 'Email'",
        ),
        (["Email"], TypeError, "customer must be a Customer or a mapping, not list"),
        (None, TypeError, "customer must be a Customer or a mapping, not NoneType"),
    ],
)
def test_create_refuses_a_bad_customer_before_sending(
    kind: str, customer: object, cls: type, message: str
) -> None:
    script = Script(reply(201, written("1")))
    with pytest.raises(cls) as info:
        run(kind, script, lambda c: c.create(customer))
    assert type(info.value) is cls and str(info.value) == message and script.requests == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("value", "expected"), [("1", 1), ("2147483647", 2147483647), (77, 77), ("0012", 12)]
)
def test_create_reads_the_new_id(kind: str, value: object, expected: int) -> None:
    assert (
        run(kind, Script(reply(201, written(value, "201"))), lambda c: c.create({"Email": "a@x.com"}))
        == expected
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0", "'0'"),
        ("2147483648", "'2147483648'"),
        ("²", "'²'"),
        ("12a", "'12a'"),
        ("", "''"),
        ("12345678901", "'12345678901'"),
        ("x" * 60, repr("x" * 40)),
        (-4, "'-4'"),
    ],
)
def test_create_refuses_an_answer_that_is_not_an_id(kind: str, value: object, shown: str) -> None:
    with pytest.raises(errors.APIResponseValidationError) as info:
        run(kind, Script(reply(201, written(value, "201"))), lambda c: c.create({"Email": "a@x.com"}))
    assert info.value.message == f"the service answered a CustomerID that is not an id: {shown}"
    assert info.value.status_code == 201


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("answer", "cls", "message"),
    [
        (reply(200, written("5")), errors.APIError, "ok"),
        (reply(201, []), errors.APIError, "Created"),
        (
            reply(400, error_body("BillingState is longer than 100")),
            errors.BadRequestError,
            "BillingState is longer than 100",
        ),
    ],
)
def test_create_answers_that_are_not_a_created_id(
    kind: str, answer: httpx.Response, cls: type[errors.APIError], message: str
) -> None:
    with pytest.raises(errors.APIError) as info:
        run(kind, Script(answer), lambda c: c.create({"Email": "a@x.com"}))
    assert type(info.value) is cls and info.value.message == message


@pytest.mark.parametrize("kind", KINDS)
def test_update_puts_only_the_given_fields(kind: str) -> None:
    script = Script(reply(200, written("5")))
    assert run(kind, script, lambda c: c.update(5, {"BillingCity": "Tampa"})) is None
    assert run(kind, script, lambda c: c.update(6, Customer(comments="vip"))) is None
    assert script.sent == [("PUT", f"{API}/Customers/5", {}), ("PUT", f"{API}/Customers/6", {})]
    assert script.bodies() == [{"BillingCity": "Tampa"}, {"Comments": "vip"}]


@pytest.mark.parametrize("kind", KINDS)
def test_update_errors(kind: str) -> None:
    with pytest.raises(errors.NotFoundError) as info:
        run(
            kind,
            Script(reply(404, error_body("Customer not found"))),
            lambda c: c.update(5, {"Email": "a@x.com"}),
        )
    assert info.value.message == "Customer not found"
    with pytest.raises(errors.APIError) as info:
        run(kind, Script(reply(201, written("5"))), lambda c: c.update(5, {"Email": "a@x.com"}))
    assert type(info.value) is errors.APIError and info.value.status_code == 201
    with pytest.raises(errors.APIResponseValidationError, match="not an id: 'abc'"):
        run(kind, Script(reply(200, written("abc"))), lambda c: c.update(5, {"Email": "a@x.com"}))
    script = Script(reply(200, written("5")))
    with pytest.raises(ValueError) as value_info:
        run(kind, script, lambda c: c.update(5, {"Nope": 1}))
    assert str(value_info.value) == "customer has unknown field(s) Nope; use the API's names, e.g. 'Email'"
    with pytest.raises(TypeError) as type_info:
        run(kind, script, lambda c: c.update(5, 3))
    assert str(type_info.value) == "customer must be a Customer or a mapping, not int"
    assert script.requests == []


# --- delete ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_delete_sends_a_delete(kind: str) -> None:
    script = Script(reply(200, written("5")))
    assert run(kind, script, lambda c: c.delete(5)) is None
    assert script.sent == [("DELETE", f"{API}/Customers/5", {})]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("answer", [reply(404), reply(404, error_body("Customer not found"))])
def test_delete_of_an_absent_customer_is_not_found(
    kind: str, answer: httpx.Response, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="threedcart")
    with pytest.raises(errors.NotFoundError) as info:
        run(kind, Script(answer), lambda c: c.delete(5))
    assert info.value.message == ("Customer not found" if answer.content else "Not Found")
    assert "earlier attempt" not in caplog.text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("first", [reply(503), httpx.ReadTimeout("lost")])
@pytest.mark.parametrize("answer", [reply(404), reply(404, error_body("Customer not found"))])
def test_a_404_to_a_retried_delete_means_an_earlier_attempt_deleted_it(
    kind: str, first: Any, answer: httpx.Response, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="threedcart")
    script = Script(first, answer)

    def call(c: Any) -> Any:
        _no_backoff(c._store, kind)
        return c.delete(5)

    assert run(kind, script, call, max_retries=1) is None
    assert len(script.requests) == 2
    records = [r for r in caplog.records if "earlier attempt" in r.getMessage()]
    assert [(r.levelno, r.name, r.getMessage()) for r in records] == [
        (
            logging.INFO,
            "threedcart",
            "customer 5: the retried delete found it gone; an earlier attempt deleted it",
        )
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_a_404_to_a_retried_delete_after_a_refused_connection_is_not_found(kind: str) -> None:
    script = Script(httpx.ConnectError("refused"), reply(404, error_body("Customer not found")))

    def call(c: Any) -> Any:
        _no_backoff(c._store, kind)
        return c.delete(5)

    with pytest.raises(errors.NotFoundError, match="Customer not found"):
        run(kind, script, call, max_retries=1)
    assert len(script.requests) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_delete_other_answers(kind: str) -> None:
    with pytest.raises(errors.ServerError):
        run(kind, Script(reply(500, error_body("x"))), lambda c: c.delete(5))
    with pytest.raises(errors.APIError) as info:
        run(kind, Script(reply(201, written("5"))), lambda c: c.delete(5))
    assert type(info.value) is errors.APIError


# --- update_many ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_update_many_sends_batches_and_collects_the_updated_ids(kind: str) -> None:
    script = Script(reply(200, written("x")))
    items = [{"CustomerID": i, "Comments": f"c{i}"} for i in (1, 2, 3)]
    items.append(Customer(customer_id=4, comments="c4"))
    items.append(CustomerUpdateItem(customer_id=5, comments="c5"))
    result = run(kind, script, lambda c: c.update_many(iter(items), batch_size=2))
    assert result.updated == [1, 2, 3, 4, 5] and result.failed == [] and result.batches == 3 and result.ok
    assert script.sent == [("PUT", f"{API}/Customers", {})] * 3
    assert script.bodies() == [
        [{"CustomerID": 1, "Comments": "c1"}, {"CustomerID": 2, "Comments": "c2"}],
        [{"CustomerID": 3, "Comments": "c3"}, {"CustomerID": 4, "Comments": "c4"}],
        [{"CustomerID": 5, "Comments": "c5"}],
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_update_many_default_batch_is_500(kind: str) -> None:
    script = Script(reply(200, written("x")))
    result = run(kind, script, lambda c: c.update_many({"CustomerID": i} for i in range(1, 1002)))
    assert [len(b) for b in script.bodies()] == [500, 500, 1] and result.batches == 3
    assert result.updated == list(range(1, 1002))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [0, 501, -1])
def test_update_many_checks_the_batch_size(kind: str, size: int) -> None:
    script = Script(reply(200, written("x")))
    with pytest.raises(ValueError) as info:
        run(kind, script, lambda c: c.update_many([{"CustomerID": 1}], batch_size=size))
    assert str(info.value) == f"batch_size must be between 1 and 500, not {size}"
    assert script.requests == []


@pytest.mark.parametrize("kind", KINDS)
def test_update_many_batch_size_edges(kind: str) -> None:
    script = Script(reply(200, written("x")))
    assert (
        run(
            kind, script, lambda c: c.update_many([{"CustomerID": 1}, {"CustomerID": 2}], batch_size=1)
        ).batches
        == 2
    )
    assert run(kind, script, lambda c: c.update_many([{"CustomerID": 1}], batch_size=500)).batches == 1


@pytest.mark.parametrize("kind", KINDS)
def test_update_many_never_sends_items_that_break_the_schema(kind: str) -> None:
    script = Script(reply(200, written("x")))
    items: list[object] = [
        {"CustomerID": 1},
        7,
        {"Email": "no-id@example.com"},
        {"CustomerID": True},
        {"CustomerID": "3"},
        {"CustomerID": 2, "Bogus": 1},
        {"CustomerID": 4},
    ]
    result = run(kind, script, lambda c: c.update_many(items))
    assert result.updated == [1, 4] and script.bodies() == [[{"CustomerID": 1}, {"CustomerID": 4}]]
    failed = [(f.index, f.customer_id, f.status, f.sent) for f in result.failed]
    assert failed == [
        (1, None, 400, False),
        (2, None, 400, False),
        (3, None, 400, False),
        (4, None, 400, False),
        (5, 2, 400, False),
    ]
    assert result.failed[0].message == "must be a Customer or a mapping, not int"
    assert all(f.message for f in result.failed)
    assert "Bogus" in result.failed[4].message


@pytest.mark.parametrize("kind", KINDS)
def test_update_many_with_nothing_valid_sends_nothing(kind: str) -> None:
    script = Script(reply(200, written("x")))
    result = run(kind, script, lambda c: c.update_many([3, "x"]))
    assert script.requests == [] and result.batches == 0 and [f.index for f in result.failed] == [0, 1]
    assert result.failed[1].message == "must be a Customer or a mapping, not str"


@pytest.mark.parametrize("kind", KINDS)
def test_update_many_reads_a_206_item_by_item(kind: str) -> None:
    outcome = [
        {"Key": "CustomerID", "Value": "1", "Status": "200", "Message": "ok"},
        {"Key": "CustomerID", "Value": "2", "Status": "404", "Message": "Customer 2 not found"},
        {"Key": "CustomerID", "Value": "3", "Status": "201", "Message": "ok"},
        {"Key": "CustomerID", "Value": "4", "Status": "bad", "Message": "odd"},
    ]
    script = Script(reply(206, outcome))
    result = run(kind, script, lambda c: c.update_many([{"CustomerID": i} for i in (1, 2, 3, 4)]))
    assert result.updated == [1, 3] and result.batches == 1
    assert [(f.index, f.customer_id, f.status, f.message, f.sent) for f in result.failed] == [
        (1, 2, 404, "Customer 2 not found", True),
        (3, 4, 0, "odd", True),
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_update_many_a_206_that_does_not_match_the_batch_raises(kind: str) -> None:
    script = Script(reply(200, written("x")), reply(206, written("1")))
    with pytest.raises(errors.APIError) as info:
        run(kind, script, lambda c: c.update_many([{"CustomerID": i} for i in (1, 2, 3, 4)], batch_size=2))
    assert type(info.value) is errors.APIResponseValidationError and info.value.status_code == 206
    assert info.value.message == (
        "the service's answer to a bulk update of 2 does not match it: 1 results for 2 items"
    )
    partial = info.value.partial_result  # type: ignore[attr-defined]
    assert partial.updated == [1, 2] and partial.batches == 2 and partial.failed == []


@pytest.mark.parametrize("kind", KINDS)
def test_update_many_a_404_fails_the_batch_item_by_item(kind: str) -> None:
    per_item = [
        {"Key": "CustomerID", "Value": "8", "Status": "404", "Message": "Customer 8 not found"},
        {"Key": "CustomerID", "Value": "9", "Status": "404", "Message": "Customer 9 not found"},
    ]
    script = Script(
        reply(404, per_item), reply(404, error_body("None of them exist")), reply(200, written("x"))
    )
    result = run(
        kind, script, lambda c: c.update_many([{"CustomerID": i} for i in (8, 9, 10, 11, 12)], batch_size=2)
    )
    assert result.updated == [12] and result.batches == 3
    assert [(f.index, f.customer_id, f.status, f.message) for f in result.failed] == [
        (0, 8, 404, "Customer 8 not found"),
        (1, 9, 404, "Customer 9 not found"),
        (2, 10, 404, "None of them exist"),
        (3, 11, 404, "None of them exist"),
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_update_many_a_404_without_messages_uses_the_status_text(kind: str) -> None:
    per_item = [
        {"Key": "CustomerID", "Value": "8", "Status": "404"},
        {"Key": "CustomerID", "Value": "9", "Status": "404", "Message": "gone"},
    ]
    script = Script(reply(404, per_item), reply(404, [{"Key": "Error", "Status": "404"}]))
    result = run(kind, script, lambda c: c.update_many([{"CustomerID": i} for i in (8, 9, 10)], batch_size=2))
    assert [(f.customer_id, f.status, f.message) for f in result.failed] == [
        (8, 404, "gone"),  # the answer's message where the item has none of its own
        (9, 404, "gone"),
        (10, 404, "Not Found"),  # the status text where the answer has none
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_update_many_matches_results_by_the_id_they_name_not_their_place(kind: str) -> None:
    outcome = [
        {"Key": "CustomerID", "Value": "4", "Status": "404", "Message": "Customer 4 not found"},
        {"Key": "CustomerID", "Value": "2", "Status": "404", "Message": "Customer 2 not found"},
        {"Key": "CustomerID", "Value": "3", "Status": "200", "Message": "ok"},
        {"Key": "CustomerID", "Value": "1", "Status": "200", "Message": "ok"},
    ]
    gone = [
        {"Key": "Error", "Value": "6", "Status": "404", "Message": "Customer 6 not found"},
        {"Key": "Error", "Value": "5", "Status": "404", "Message": "Customer 5 not found"},
    ]
    unmatched = [  # names an id the batch does not hold: the answer's message for both, no guess
        {"Key": "Error", "Value": "9", "Status": "404", "Message": "Customer 9 not found"},
        {"Key": "Error", "Value": "7", "Status": "404", "Message": "Customer 7 not found"},
    ]
    script = Script(reply(206, outcome), reply(404, gone), reply(404, unmatched))
    result = run(
        kind,
        script,
        lambda c: c.update_many([{"CustomerID": i} for i in (1, 2, 3, 4, 5, 6)], batch_size=4),
    )
    result2 = run(kind, script, lambda c: c.update_many([{"CustomerID": i} for i in (7, 8)]))
    assert result.updated == [1, 3]
    assert [(f.customer_id, f.status, f.message) for f in result.failed] == [
        (2, 404, "Customer 2 not found"),
        (4, 404, "Customer 4 not found"),
        (5, 404, "Customer 5 not found"),
        (6, 404, "Customer 6 not found"),
    ]
    assert [(f.customer_id, f.message) for f in result2.failed] == [
        (7, "Customer 9 not found; Customer 7 not found"),
        (8, "Customer 9 not found; Customer 7 not found"),
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_update_many_splits_a_refused_batch_down_to_the_bad_item(kind: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if any(item["CustomerID"] == 3 for item in body):
            position = [item["CustomerID"] for item in body].index(3)
            return reply(400, error_body(f"item {position}: Email is invalid"))
        return reply(200, written("x"))

    script = Script(answer)
    result = run(kind, script, lambda c: c.update_many([{"CustomerID": i} for i in (1, 2, 3, 4)]))
    assert result.updated == [1, 2, 4]
    assert [(f.index, f.customer_id, f.status, f.message) for f in result.failed] == [
        (2, 3, 400, "Email is invalid")
    ]
    assert [[i["CustomerID"] for i in b] for b in script.bodies()] == [[1, 2, 3, 4], [1, 2], [3, 4], [3], [4]]
    assert result.batches == 5


@pytest.mark.parametrize("kind", KINDS)
def test_update_many_a_refused_bodiless_batch_uses_the_status_text(kind: str) -> None:
    script = Script(reply(400))
    result = run(kind, script, lambda c: c.update_many([{"CustomerID": 1}]))
    assert [(f.customer_id, f.status, f.message) for f in result.failed] == [(1, 400, "Bad Request")]


@pytest.mark.parametrize("kind", KINDS)
def test_update_many_a_bodiless_404_fails_the_batch_item_by_item(kind: str) -> None:
    script = Script(reply(404))
    result = run(kind, script, lambda c: c.update_many([{"CustomerID": 8}, {"CustomerID": 9}]))
    assert [(f.customer_id, f.status, f.message) for f in result.failed] == [
        (8, 404, "Not Found"),
        (9, 404, "Not Found"),
    ]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("answer", "cls"),
    [
        (reply(500, error_body("down")), errors.ServerError),
        (reply(401, error_body("no")), errors.AuthenticationError),
        (httpx.ConnectError("refused"), errors.APIConnectionError),
    ],
)
def test_update_many_raises_what_outlasts_retries_with_the_finished_part(
    kind: str, answer: Any, cls: type
) -> None:
    script = Script(reply(200, written("x")), answer)
    items = [7, {"CustomerID": 1}, {"CustomerID": 2}, {"CustomerID": 3}, "bad"]
    with pytest.raises(cls) as info:
        run(kind, script, lambda c: c.update_many(items, batch_size=1))
    assert type(info.value) is cls
    partial = info.value.partial_result  # type: ignore[attr-defined]
    # a batch whose answer was an error status counts as sent; one that got no answer does not
    assert partial.updated == [1] and partial.batches == (1 if cls is errors.APIConnectionError else 2)
    assert [f.index for f in partial.failed] == [0]
    assert len(script.requests) == 2


# --- iter --------------------------------------------------------------------------------------------
def _listing(total: int, *, count_date: str | None = None) -> Callable[[httpx.Request], httpx.Response]:
    """A store of customers 1..total answering list and count requests like the service."""

    def answer(request: httpx.Request) -> httpx.Response:
        query = request.url.params
        if query.get("countonly") == "1":
            headers = {"Date": count_date} if count_date else {}
            return reply(200, {"TotalCount": total}, **headers)
        offset, limit = int(query["offset"]), int(query["limit"])
        if total == 0:
            return reply(404, error_body("No Customer records found"))
        if offset > total:
            return reply(400, error_body("Offset amount exceeds the total number of records"))
        return reply(200, people(*range(offset, min(total, offset + limit - 1) + 1)))

    return answer


def _pages(script: Script) -> list[tuple[str, str] | str]:
    out: list[tuple[str, str] | str] = []
    for request in script.requests:
        q = request.url.params
        out.append("count" if q.get("countonly") == "1" else (q["offset"], q["limit"]))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_iter_reads_overlapping_pages_one_at_a_time(kind: str) -> None:
    script = Script(_listing(7))
    assert ids(run(kind, script, lambda c: c.iter(page_size=3, email="a@example.com"))) == [
        1,
        2,
        3,
        4,
        5,
        6,
        7,
    ]
    assert _pages(script) == [("1", "3"), ("3", "3"), ("5", "3"), ("7", "3")]
    assert {r.url.params["email"] for r in script.requests} == {"a@example.com"}


@pytest.mark.parametrize("kind", KINDS)
def test_iter_defaults_to_pages_of_500(kind: str) -> None:
    script = Script(_listing(3))
    assert ids(run(kind, script, lambda c: c.iter())) == [1, 2, 3]
    assert _pages(script) == [("1", "500"), ("3", "500")]  # the short page's end, proven


@pytest.mark.parametrize("kind", KINDS)
def test_iter_of_a_group(kind: str) -> None:
    script = Script(_listing(2))
    assert ids(run(kind, script, lambda c: c.iter(group_id=4, page_size=5))) == [1, 2]
    assert [p for _, p, _ in script.sent] == [f"{API}/CustomerGroups/4/Customers"] * 2


@pytest.mark.parametrize("kind", KINDS)
def test_iter_of_nothing(kind: str) -> None:
    script = Script(_listing(0))
    assert run(kind, script, lambda c: c.iter(page_size=5)) == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("concurrency", [2, 3])
def test_iter_with_concurrency_asks_the_count_with_the_first_pages(kind: str, concurrency: int) -> None:
    script = Script(_listing(10))
    got = ids(run(kind, script, lambda c: c.iter(page_size=4, concurrency=concurrency, state="FL")))
    assert got == list(range(1, 11))
    pages = _pages(script)
    assert pages[0] == "count" and pages.count("count") == 1
    assert sorted(p for p in pages if p != "count") == [("1", "4"), ("10", "4"), ("4", "4"), ("7", "4")]
    assert {r.url.params["state"] for r in script.requests} == {"FL"}


@pytest.mark.parametrize("kind", KINDS)
def test_iter_with_concurrency_raises_a_failed_count(kind: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("countonly") == "1":
            return reply(500, error_body("count failed"))
        return _listing(10)(request)

    with pytest.raises(errors.ServerError, match="count failed"):
        run(kind, Script(answer), lambda c: c.iter(page_size=4, concurrency=2))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("concurrency", [1, 3])
def test_iter_raises_a_failed_page(kind: str, concurrency: int) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("offset") == "4":
            return reply(401, error_body("key revoked"))
        return _listing(10)(request)

    with pytest.raises(errors.AuthenticationError, match="key revoked"):
        run(kind, Script(answer), lambda c: c.iter(page_size=4, concurrency=concurrency))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("concurrency", [1, 3])
def test_iter_steps_back_when_the_list_shrinks_in_front_of_it(kind: str, concurrency: int) -> None:
    store = list(range(1, 13))
    served: list[str] = []
    answered: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        query = request.url.params
        if query.get("countonly") == "1":
            return reply(200, {"TotalCount": len(store)})
        offset, limit = int(query["offset"]), int(query["limit"])
        served.append(query["offset"])
        if offset == 4 and 2 in store and 1 in answered:
            # deleted once the first page was read (pages read at once may come in any order):
            # every later record moves back
            store.remove(2)
            store.remove(3)
        page = store[offset - 1 : offset - 1 + limit]
        answered.append(offset)
        return reply(200, people(*page)) if page else reply(404)

    got = ids(run(kind, Script(answer), lambda c: c.iter(page_size=4, concurrency=concurrency)))
    assert sorted(got) == [1, 2, 3, *range(4, 13)] and len(got) == len(set(got))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"page_size": 0}, "page_size must be between 1 and 500, not 0"),
        ({"page_size": 501}, "page_size must be between 1 and 500, not 501"),
        ({"concurrency": 0}, "concurrency must be at least 1, not 0"),
    ],
)
def test_iter_and_sync_check_paging_before_sending(
    kind: str, arguments: dict[str, int], message: str
) -> None:
    script = Script(_listing(3))
    for call in (lambda c: c.iter(**arguments), lambda c: c.sync(None, **arguments)):
        with pytest.raises(ValueError) as info:
            run(kind, script, call)
        assert str(info.value) == message
    assert script.requests == []


@pytest.mark.parametrize("kind", KINDS)
def test_iter_paging_edges(kind: str) -> None:
    script = Script(_listing(3))
    assert ids(run(kind, script, lambda c: c.iter(page_size=1))) == [1, 2, 3]
    assert _pages(script) == [("1", "1"), ("2", "1"), ("3", "1"), ("4", "1")]
    script = Script(_listing(3))
    assert ids(run(kind, script, lambda c: c.iter(page_size=500, concurrency=1))) == [1, 2, 3]


@pytest.mark.parametrize("kind", KINDS)
def test_iter_is_lazy(kind: str) -> None:
    script = Script(_listing(3))
    if kind == "sync":
        with threedcart.Store(**_kwargs(transport=httpx.MockTransport(script))) as store:
            iterator = store.customers.iter()
            assert script.requests == []
            assert next(iterator).customer_id == 1
    else:

        async def scenario() -> None:
            async with threedcart.AsyncStore(**_kwargs(transport=httpx.MockTransport(script))) as store:
                iterator = store.customers.iter()
                assert script.requests == []
                assert (await iterator.__anext__()).customer_id == 1
                await iterator.aclose()

        asyncio.run(scenario())
    assert len(script.requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_iter_with_concurrency_honours_with_options_in_its_workers(kind: str) -> None:
    script = Script(_listing(6))
    got = run(kind, script, lambda c: c.iter(page_size=2, concurrency=3, timeout=7))
    assert ids(got) == list(range(1, 7))
    assert {r.extensions["timeout"]["read"] for r in script.requests} == {7}


# --- sync runs ---------------------------------------------------------------------------------------
STORE_DATE = "Sun, 01 Mar 2026 12:00:00 GMT"  # 07:00:00 in New York


@pytest.fixture
def machine_clock_at_store_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine's clock 0.4 s after STORE_DATE: a sane store clock (others: tests/test_sync_core.py)."""
    monkeypatch.setattr(
        "threedcart._sync._utc_now", lambda: datetime(2026, 3, 1, 12, 0, 0, 400_000, tzinfo=UTC)
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.usefixtures("machine_clock_at_store_date")
def test_a_sync_run_counts_then_reads_the_window_of_the_store_clock(kind: str) -> None:
    script = Script(_listing(4, count_date=STORE_DATE))
    holder: list[Any] = []

    def call(c: Any) -> Any:
        holder.append(c.sync(None, lag=2, page_size=3))
        return holder[0]

    assert ids(run(kind, script, call)) == [1, 2, 3, 4]
    sync_run = holder[0]
    assert type(sync_run).__name__ == ("SyncRun" if kind == "sync" else "AsyncSyncRun")
    until = datetime(2026, 3, 1, 11, 59, 58, tzinfo=UTC)
    assert sync_run.window.until == until and sync_run.window.since is None
    assert sync_run.estimate == 4 and sync_run.exported == 4 and sync_run.passes == 1
    assert sync_run.complete is True and sync_run.next_since == until and sync_run.reason == ""
    assert sync_run.clock_source == "store"
    window = {"lastupdateend": "03/01/2026 06:59:58"}
    assert script.sent == [
        ("GET", f"{API}/Customers", {"countonly": "1"}),
        ("GET", f"{API}/Customers", {"limit": "3", "offset": "1", **window}),
        ("GET", f"{API}/Customers", {"limit": "3", "offset": "3", **window}),
        ("GET", f"{API}/Customers", {"limit": "3", "offset": "4", **window}),
        ("GET", f"{API}/Customers", {"countonly": "1", **window}),
    ]
    assert repr(sync_run) == (
        f"{type(sync_run).__name__}(window=[the beginning, 2026-03-01T11:59:58+00:00], "
        "exported=4, passes=1, complete=True)"
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.usefixtures("machine_clock_at_store_date")
def test_a_sync_run_from_a_watermark_probes_and_reads_only_its_window(kind: str) -> None:
    script = Script(_listing(2, count_date=STORE_DATE))
    since = datetime(2026, 3, 1, 11, 0, 0, tzinfo=UTC)
    holder: list[Any] = []

    def call(c: Any) -> Any:
        holder.append(c.sync(since, concurrency=2, lag=1))
        return holder[0]

    assert sorted(ids(run(kind, script, call))) == [1, 2]  # type: ignore[type-var]
    window = {"lastupdatestart": "03/01/2026 06:00:00", "lastupdateend": "03/01/2026 06:59:59"}
    assert script.sent[0] == (
        "GET",
        f"{API}/Customers",
        {"countonly": "1", "lastupdatestart": "03/01/2026 06:00:00"},
    )
    assert script.sent[-1] == ("GET", f"{API}/Customers", {"countonly": "1", **window})
    assert all(q.items() >= window.items() for _, _, q in script.sent[1:])
    assert holder[0].window.since == since and holder[0].next_since == datetime(
        2026, 3, 1, 11, 59, 59, tzinfo=UTC
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.usefixtures("machine_clock_at_store_date")
def test_a_sync_run_with_nothing_to_sync_yet_reads_nothing(kind: str) -> None:
    script = Script(_listing(2, count_date=STORE_DATE))
    holder: list[Any] = []
    since = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

    def call(c: Any) -> Any:
        holder.append(c.sync(since))
        return holder[0]

    assert run(kind, script, call) == []
    assert len(script.requests) == 1 and holder[0].window is None and holder[0].complete is True
    assert holder[0].next_since == since and holder[0].estimate == 2
    assert repr(holder[0]).endswith("(window=None, exported=0, passes=0, complete=True)")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("date", [None, "yesterday", "Sun, 01 Mar 2026 12:00:00 -0000"])
def test_a_sync_run_without_a_store_date_uses_this_machines_clock(
    kind: str, date: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    script = Script(_listing(1, count_date=date))
    holder: list[Any] = []

    def call(c: Any) -> Any:
        holder.append(c.sync(None))
        return holder[0]

    assert ids(run(kind, script, call)) == [1]
    assert holder[0].clock_source == "client" and holder[0].clock_skew is None
    assert abs(holder[0].window.until - datetime.now(UTC)) < timedelta(seconds=30)
    assert ("no Date header" if date is None else f"unreadable Date header ({date!r})") in caplog.text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.usefixtures("machine_clock_at_store_date")
def test_a_sync_run_reads_again_while_the_window_counts_more(kind: str) -> None:
    counts = iter([3, 3, 2])

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("countonly") == "1":
            return reply(200, {"TotalCount": next(counts)}, Date=STORE_DATE)
        return _two_customers(request)

    holder: list[Any] = []

    def call(c: Any) -> Any:
        holder.append(c.sync(None, max_passes=3))
        return holder[0]

    script = Script(answer)
    assert ids(run(kind, script, call)) == [1, 2]  # each customer once across passes
    assert holder[0].passes == 2 and holder[0].complete is True and holder[0].exported == 2
    reading = [("1", "500"), ("2", "500")]
    assert _pages(script) == ["count", *reading, "count", *reading, "count"]


def _two_customers(request: httpx.Request) -> httpx.Response:
    """A page of customers 1 and 2 (whatever a count says), from the offset asked for."""
    offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
    page = [1, 2][offset - 1 : offset - 1 + limit]
    return reply(200, people(*page)) if page else reply(400, error_body("Offset amount exceeds the total"))


@pytest.mark.parametrize("kind", KINDS)
def test_a_sync_run_raises_a_failed_probe(kind: str) -> None:
    with pytest.raises(errors.NotFoundError, match="answered 404 to a count"):
        run(kind, Script(reply(404)), lambda c: c.sync(None))


def test_server_time_reads_the_date_header() -> None:
    assert server_time(None) is None
    assert server_time(httpx.Response(200)) is None
    assert server_time(httpx.Response(200, headers={"Date": ""})) is None
    assert server_time(httpx.Response(200, headers={"Date": "soon"})) is None
    assert server_time(httpx.Response(200, headers={"Date": "Sun, 01 Mar 2026 12:00:00 -0000"})) is None
    moment = server_time(httpx.Response(200, headers={"Date": STORE_DATE}))
    assert moment == datetime(2026, 3, 1, 12, 0, tzinfo=UTC) and moment.utcoffset() == timedelta(0)


# --- more answers the SDK cannot use ----------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("answer", "call", "message"),
    [
        (reply(200, {}), lambda c: c.count(), "unreadable answer (KeyError: 'TotalCount')"),
        (reply(200, 5), lambda c: c.count(), "unreadable answer (TypeError: )"),
        (reply(200, [5]), lambda c: c.get(1), "unreadable answer (TypeError: 'int' object is not iterable)"),
        (
            reply(201, [{"Key": 1}]),
            lambda c: c.create({"Email": "a@x.com"}),
            "unreadable answer (KeyError: 'Value')",
        ),
        (reply(200, "x"), lambda c: c.list(), "unreadable answer (TypeError: )"),
    ],
)
def test_answers_of_the_wrong_shape_name_what_failed(
    kind: str, answer: httpx.Response, call: Callable[[Any], Any], message: str
) -> None:
    with pytest.raises(errors.APIResponseValidationError) as info:
        run(kind, Script(answer), call)
    assert info.value.message == message and info.value.status_code == answer.status_code


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("body", [b"[1]", b"[true]", b'"text"'])
@pytest.mark.parametrize("status", [200, 404])
def test_a_body_the_generated_models_cannot_read_is_reported_with_its_answer(
    kind: str, body: bytes, status: int
) -> None:
    with pytest.raises(errors.APIError) as info:
        run(kind, Script(reply(status, body)), lambda c: c.get(3))
    assert info.value.response.status_code == status
    if status == 200:
        assert type(info.value) is errors.APIResponseValidationError
        assert info.value.message.startswith("unreadable answer (")
        assert isinstance(info.value.__cause__, UnreadableResponse)
    else:  # an error answer that is not the documented JSON is its status alone
        assert type(info.value) is errors.NotFoundError and info.value.message == "Not Found"


def test_a_hook_of_the_callers_own_that_fails_is_raised_as_it_is() -> None:
    failure = ValueError("a hook of mine")

    def broken(response: httpx.Response) -> None:
        raise failure

    def call(c: Any) -> Any:
        c._store.client.get_httpx_client().event_hooks["response"].append(broken)
        return c.get(3)

    with pytest.raises(ValueError) as info:
        run("sync", Script(reply(200, people(3))), call)
    assert info.value is failure


@pytest.mark.parametrize("kind", KINDS)
def test_error_messages_that_are_not_text_are_shown_as_text(kind: str) -> None:
    with pytest.raises(errors.BadRequestError) as info:
        run(kind, Script(reply(400, [{"Message": 404}, {"Message": "x"}])), lambda c: c.get(1))
    assert info.value.message == "404; x"


@pytest.mark.parametrize("kind", KINDS)
def test_a_400_of_an_undocumented_shape_still_ends_a_list_by_its_message(kind: str) -> None:
    exceeds = reply(400, {"Message": "Offset amount exceeds the total number of records"})
    assert run(kind, Script(exceeds), lambda c: c.list(offset=1)) == []
    with pytest.raises(errors.BadRequestError) as info:
        run(kind, Script(reply(400, {"Message": "offset is not a number"})), lambda c: c.list(offset=2))
    assert info.value.message == "offset is not a number"
    script = Script(reply(200, people(1, 2, 3)), exceeds, exceeds, reply(200, {"TotalCount": 0}))
    assert ids(run(kind, script, lambda c: c.iter(page_size=3))) == [1, 2, 3]
    # an end after a full page is verified from the start, and nothing there by a count
    assert _pages(script) == [("1", "3"), ("3", "3"), ("1", "3"), "count"]


@pytest.mark.parametrize("kind", KINDS)
def test_update_many_names_what_is_wrong_with_each_refused_item(kind: str) -> None:
    items = [
        {"Email": "x@example.com"},
        {"CustomerID": True, "Bogus": 1, "Email": 5},
        {"CustomerID": "3"},
        {"CustomerID": 0},
    ]
    result = run(kind, Script(reply(200, written("x"))), lambda c: c.update_many(items))
    assert [(f.index, f.customer_id, f.status, f.message, f.sent) for f in result.failed] == [
        (0, None, 400, "missing CustomerID", False),
        (
            1,
            None,
            400,
            "unknown field(s) Bogus; CustomerID must be an integer, not a boolean; "
            "Email must be a string, not an integer",
            False,
        ),
        (2, None, 400, "CustomerID must be an integer, not a string", False),
        (3, 0, 400, "CustomerID must be at least 1, not 0", False),
    ]
    assert result.batches == 0 and result.updated == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.usefixtures("machine_clock_at_store_date")
def test_a_sync_run_that_cannot_prove_its_window_says_why(kind: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("countonly") == "1":
            return reply(200, {"TotalCount": 5}, Date=STORE_DATE)
        return _two_customers(request)

    holder: list[Any] = []

    def call(c: Any) -> Any:
        holder.append(c.sync(None, max_passes=1, lag=1.5))
        assert holder[0].estimate is None and holder[0].window is None and holder[0].complete is None
        assert holder[0].passes == 0 and holder[0].exported == 0 and holder[0].clock_source == ""
        return holder[0]

    script = Script(answer)
    assert ids(run(kind, script, call)) == [1, 2]
    sync_run = holder[0]
    assert sync_run.complete is False and sync_run.next_since is None and sync_run.passes == 1
    assert (
        sync_run.reason
        == "the window still counts 5 customers after 1 reading(s), but the last reading found 2"
    )
    assert sync_run.estimate == 5 and sync_run.window.until == datetime(2026, 3, 1, 11, 59, 58, tzinfo=UTC)
    assert len(script.requests) == 4  # the count, pages 1 and 2 (the end of the short one), the count


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.usefixtures("machine_clock_at_store_date")
def test_a_sync_run_asks_in_the_store_time_zone(kind: str) -> None:
    script = Script(_listing(1, count_date=STORE_DATE))
    since = datetime(2026, 3, 1, 11, 0, 0, tzinfo=UTC)
    run(kind, script, lambda c: c.sync(since, lag=1), store_timezone="Asia/Tokyo")
    assert script.sent[0][2] == {"countonly": "1", "lastupdatestart": "03/01/2026 20:00:00"}
    assert script.sent[1][2] == {
        "limit": "500",
        "offset": "1",
        "lastupdatestart": "03/01/2026 20:00:00",
        "lastupdateend": "03/01/2026 20:59:59",
    }


def test_pages_are_fetched_on_named_worker_threads() -> None:
    import threading

    names: list[str] = []
    listing = _listing(9)
    earlier = set(threading.enumerate())  # page workers of earlier tests may still be reading

    def answer(request: httpx.Request) -> httpx.Response:
        names.append(threading.current_thread().name)
        return listing(request)

    assert ids(run("sync", Script(answer), lambda c: c.iter(page_size=3, concurrency=2))) == list(
        range(1, 10)
    )
    assert names and all(n.startswith("threedcart-page-") for n in names)
    workers = [t for t in set(threading.enumerate()) - earlier if t.name.startswith("threedcart-page")]
    for thread in workers:
        assert thread.daemon  # never joined at exit: a page in flight cannot hold up the process
        thread.join(5)  # each ends after its last page
    assert not [t for t in workers if t.is_alive()]


@pytest.mark.parametrize("kind", KINDS)
def test_count_and_iter_read_aware_dates_in_the_store_time_zone(kind: str) -> None:
    moment = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # 07:00 in New York (EST)
    script = Script(_listing(2, count_date=STORE_DATE))
    assert run(kind, script, lambda c: c.count(updated_since=moment)) == 2
    assert ids(run(kind, script, lambda c: c.iter(updated_until=moment))) == [1, 2]
    assert ids(run(kind, script, lambda c: c.iter(updated_until=moment, concurrency=2))) == [1, 2]
    assert script.sent[0][2] == {"countonly": "1", "lastupdatestart": "01/15/2026 07:00:00"}
    assert script.sent[1][2] == {"limit": "500", "offset": "1", "lastupdateend": "01/15/2026 07:00:00"}
    assert {q["lastupdateend"] for _, _, q in script.sent[2:]} == {"01/15/2026 07:00:00"}


@pytest.mark.parametrize("kind", KINDS)
def test_iter_of_a_group_with_concurrency_counts_and_reads_the_group(kind: str) -> None:
    script = Script(_listing(5))
    assert ids(run(kind, script, lambda c: c.iter(group_id=4, page_size=2, concurrency=2))) == [1, 2, 3, 4, 5]
    assert {p for _, p, _ in script.sent} == {f"{API}/CustomerGroups/4/Customers"}
    assert _pages(script)[0] == "count"


def _in_flight_sync(concurrency: int) -> tuple[list[object], int]:
    import threading
    import time

    changed = threading.Condition()
    active = [0, 0, 0]  # now, most, requests so far
    listing = _listing(12)

    def answer(request: httpx.Request) -> httpx.Response:
        with changed:
            active[0] += 1
            active[1] = max(active[1], active[0])
            active[2] += 1
            changed.notify_all()
            if active[2] <= concurrency:  # the first burst: the count and the first pages, together
                changed.wait_for(lambda: active[1] >= concurrency, timeout=1)
        time.sleep(0.005)
        with changed:
            active[0] -= 1
        return listing(request)

    got = ids(run("sync", Script(answer), lambda c: c.iter(page_size=3, concurrency=concurrency)))
    return got, active[1]


def _in_flight_async(concurrency: int) -> tuple[list[object], int]:
    active = [0, 0, 0]
    listing = _listing(12)

    async def answer(request: httpx.Request) -> httpx.Response:
        active[0] += 1
        active[1] = max(active[1], active[0])
        active[2] += 1
        if active[2] <= concurrency:
            for _ in range(100):
                if active[1] >= concurrency:
                    break
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.005)
        active[0] -= 1
        return listing(request)

    async def scenario() -> list[object]:
        transport = httpx.MockTransport(answer)
        async with threedcart.AsyncStore(**_kwargs(transport=transport)) as store:
            return [c.customer_id async for c in store.customers.iter(page_size=3, concurrency=concurrency)]

    return asyncio.run(scenario()), active[1]


@pytest.mark.parametrize("kind", KINDS)
def test_iter_sends_up_to_concurrency_requests_at_once(kind: str) -> None:
    measure = _in_flight_sync if kind == "sync" else _in_flight_async
    got, most = measure(1)
    assert got == list(range(1, 13)) and most == 1
    got, most = measure(2)
    assert got == list(range(1, 13)) and most == 2
    got, most = measure(3)
    assert got == list(range(1, 13)) and most == 3


def test_worker_threads_run_in_the_callers_context() -> None:
    import contextvars

    trace: contextvars.ContextVar[str] = contextvars.ContextVar("trace", default="none")
    seen: list[str] = []
    listing = _listing(6)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(trace.get())
        return listing(request)

    trace.set("caller")
    assert ids(run("sync", Script(answer), lambda c: c.iter(page_size=2, concurrency=2))) == list(range(1, 7))
    assert seen and set(seen) == {"caller"}  # e.g. a tracing context reaches the transport


def test_closing_a_concurrent_iteration_abandons_the_requests_in_flight() -> None:
    import threading

    finished: list[str] = []
    listing = _listing(30)
    started, release = threading.Event(), threading.Event()
    earlier = set(threading.enumerate())  # page workers of earlier tests may still be reading

    def answer(request: httpx.Request) -> httpx.Response:
        offset = request.url.params.get("offset")
        if offset not in (None, "1"):
            started.set()
            release.wait(10)  # held until close() has returned (10 s if close() waited for it)
        finished.append(offset or "count")
        return listing(request)

    with threedcart.Store(**_kwargs(transport=httpx.MockTransport(Script(answer)))) as store:
        iterator = store.customers.iter(page_size=3, concurrency=3)
        assert next(iterator).customer_id == 1
        assert started.wait(5)
        iterator.close()  # type: ignore[attr-defined]
        done = list(finished)
        release.set()
    assert "3" not in done  # close() returned while the page was in flight: nothing waited for it
    workers = [t for t in set(threading.enumerate()) - earlier if t.name.startswith("threedcart-page")]
    assert workers  # the pages were read on workers of this iteration
    for thread in workers:
        thread.join(5)  # the abandoned page ends on its own
    assert not [t for t in workers if t.is_alive()]


def test_closing_an_async_iteration_cancels_the_requests_in_flight() -> None:
    outcome: list[str] = []
    listing = _listing(30)

    async def answer(request: httpx.Request) -> httpx.Response:
        offset = request.url.params.get("offset")
        if offset not in (None, "1"):
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                outcome.append(f"cancelled {offset}")
                raise
        return listing(request)

    async def scenario() -> None:
        async with threedcart.AsyncStore(**_kwargs(transport=httpx.MockTransport(answer))) as store:
            iterator = store.customers.iter(page_size=3, concurrency=3)
            assert (await iterator.__anext__()).customer_id == 1
            await asyncio.sleep(0.01)
            await iterator.aclose()  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)
            assert sorted(outcome) == ["cancelled 3", "cancelled 5"]

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", KINDS)
def test_iter_stays_within_concurrency_when_it_steps_back(kind: str) -> None:
    import threading
    import time

    lock = threading.Lock()
    active = [0, 0]  # now, most
    calls: list[str] = []

    def page(offset: int) -> list[int]:
        if offset == 3 and calls.count("3") == 1:
            return [100, 101, 102]  # the first page 3 does not connect to page 1: step back
        return list(range(offset, min(9, offset + 2) + 1))

    def pause(offset: str | None) -> float:
        if offset == "3" and calls.count("3") == 1:
            return 0.3  # answered after page 5 was asked
        if offset == "5" and calls.count("5") == 1:
            return 0.6  # still in flight, and moot, when the planner steps back
        return 0.0 if offset is None else 0.05

    def answer_now(request: httpx.Request) -> httpx.Response:
        offset = request.url.params.get("offset")
        if offset is None:
            return reply(200, {"TotalCount": 9})
        return reply(200, people(*page(int(offset))))

    def enter(request: httpx.Request) -> float:
        offset = request.url.params.get("offset")
        with lock:
            calls.append(offset or "count")
            active[0] += 1
            active[1] = max(active[1], active[0])
            return pause(offset)

    def leave() -> None:
        with lock:
            active[0] -= 1

    if kind == "sync":

        def answer(request: httpx.Request) -> httpx.Response:
            time.sleep(enter(request))
            leave()
            return answer_now(request)

        got = ids(run("sync", Script(answer), lambda c: c.iter(page_size=3, concurrency=2)))
    else:

        async def aanswer(request: httpx.Request) -> httpx.Response:
            try:
                await asyncio.sleep(enter(request))
            finally:
                leave()
            return answer_now(request)

        async def scenario() -> list[object]:
            async with threedcart.AsyncStore(**_kwargs(transport=httpx.MockTransport(aanswer))) as store:
                return [c.customer_id async for c in store.customers.iter(page_size=3, concurrency=2)]

        got = asyncio.run(scenario())
    assert got == list(range(1, 10))
    assert calls[:7] == ["count", "1", "3", "5", "1", "3", "5"]  # page 3 did not connect: read again from 1
    assert active[1] == 2


# --- warnings point at the caller's line ------------------------------------------------------------
@pytest.fixture
def comments_deprecated(monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec marks Comments deprecated (as a later version of it could)."""
    from threedcart import _rows

    monkeypatch.setattr(_rows, "DEPRECATED_FIELDS", frozenset({"Comments"}))


DEPRECATED_COMMENTS = "Customer field(s) Comments are deprecated by the API"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("model", [False, True])
@pytest.mark.usefixtures("comments_deprecated")
def test_a_deprecated_field_given_to_create_warns_at_the_callers_line(kind: str, model: bool) -> None:
    data = {"Email": "xtest@example.com", "Comments": "old"}
    customer = Customer.from_dict(data) if model else data
    with pytest.warns(DeprecationWarning) as caught:
        assert run(kind, Script(reply(201, written("9"))), lambda c: c.create(customer)) == 9
    assert [(str(w.message), w.filename) for w in caught] == [(DEPRECATED_COMMENTS, __file__)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.usefixtures("comments_deprecated")
def test_a_deprecated_field_given_to_update_many_warns_at_the_callers_line(kind: str) -> None:
    with pytest.warns(DeprecationWarning) as caught:
        result = run(
            kind,
            Script(reply(200, written("4"))),
            lambda c: c.update_many([{"CustomerID": 4, "Comments": "x"}]),
        )
    assert result.updated == [4]
    assert [(str(w.message), w.filename) for w in caught] == [(DEPRECATED_COMMENTS, __file__)]


@pytest.mark.parametrize("kind", KINDS)
def test_a_deprecated_filter_warns_at_the_callers_line(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from threedcart import _params

    monkeypatch.setitem(_params.LIST_FILTERS, "city", dict(_params.LIST_FILTERS["city"], deprecated=True))
    with pytest.warns(DeprecationWarning) as caught:
        assert ids(run(kind, Script(reply(200, people(1))), lambda c: c.list(city="Tampa"))) == [1]
    assert [(str(w.message), w.filename) for w in caught] == [
        ("the filter city is deprecated by the API (city)", __file__)
    ]


# --- raw answers --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_a_raw_list_starts_at_offset_1(kind: str) -> None:
    script = Script(reply(200, people(1, 2)))
    raw = run(kind, script, lambda c: c.with_raw_response.list(limit=2))
    assert raw.status_code == 200 and ids(raw.parse()) == [1, 2]
    assert script.sent == [("GET", f"{API}/Customers", {"limit": "2", "offset": "1"})]


@pytest.mark.parametrize("kind", KINDS)
def test_a_raw_list_of_a_group_past_its_end_is_the_404_confirmed_by_the_groups_count(kind: str) -> None:
    script = Script(reply(404, error_body("No Customer records found")), reply(200, {"TotalCount": 0}))
    raw = run(kind, script, lambda c: c.with_raw_response.list(group_id=7, offset=3))
    assert raw.status_code == 404 and raw.parse() == []
    assert [(p, q.get("countonly")) for _, p, q in script.sent] == [
        (f"{API}/CustomerGroups/7/Customers", None),
        (f"{API}/CustomerGroups/7/Customers", "1"),
    ]


# --- sync runs: options and one-shot ------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_a_sync_run_is_read_once(kind: str) -> None:
    script = Script(_listing(2, count_date=STORE_DATE))

    def call(c: Any) -> Any:
        sync_run = c.sync(None, max_clock_skew=None)
        if kind == "sync":
            first = list(sync_run)
            sent = len(script.requests)
            with pytest.raises(RuntimeError) as again:
                list(sync_run)
            return first, sent, again.value

        async def twice() -> Any:
            first = [c async for c in sync_run]
            sent = len(script.requests)
            with pytest.raises(RuntimeError) as again:
                [c async for c in sync_run]
            return first, sent, again.value

        return twice()

    first, sent, error = run(kind, script, call)
    assert ids(first) == [1, 2] and len(script.requests) == sent  # the second reading sent nothing
    assert str(error) == (
        "this sync run was iterated already; start another with customers.sync(run.next_since)"
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.usefixtures("machine_clock_at_store_date")
def test_a_sync_run_refuses_a_store_clock_beyond_the_default_skew(kind: str) -> None:
    script = Script(_listing(2, count_date="Thu, 01 Jan 2099 00:00:00 GMT"))
    holder: list[Any] = []

    def call(c: Any) -> Any:
        holder.append(c.sync(None))
        return holder[0]

    assert run(kind, script, call) == [] and len(script.requests) == 1  # the probe only
    assert holder[0].complete is False and holder[0].next_since is None
    assert "more than the 300 s max_clock_skew allows" in holder[0].reason


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.usefixtures("machine_clock_at_store_date")
def test_a_sync_run_rereads_what_a_store_clock_step_back_since_the_last_run_hides(kind: str) -> None:
    script = Script(_listing(2, count_date="Sun, 01 Mar 2026 11:56:00 GMT"))  # 4 min slow now
    watermark = datetime(2026, 3, 1, 11, 50, tzinfo=UTC)
    holder: list[Any] = []

    def call(c: Any) -> Any:
        holder.append(c.sync(watermark, last_clock_skew=timedelta(0)))  # both clocks agreed last time
        return holder[0]

    assert ids(run(kind, script, call)) == [1, 2]
    assert holder[0].rewound_from == watermark
    assert holder[0].window.since == datetime(2026, 3, 1, 11, 46, 1, tzinfo=UTC)


# --- a page refused by the transport is judged by its status -----------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_an_oversized_404_after_a_short_page_still_ends_the_list(kind: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params["offset"] == "1":
            return reply(200, people(1))
        return reply(404, error_body("x" * 5000))  # larger than max_response_bytes: not read

    records = run(kind, Script(answer), lambda c: c.iter(page_size=2), max_response_bytes=2000)
    assert ids(records) == [1]


def test_an_unreadable_error_answer_is_the_error_of_its_status() -> None:
    response = httpx.Response(
        503, json=[{"Message": "XTest maintenance"}], request=httpx.Request("GET", BASE)
    )
    failure = _failure(UnreadableResponse(response, ValueError("bad")))
    assert type(failure) is errors.ServerError and failure.status_code == 503
    assert failure.message == "XTest maintenance"


def test_an_unreadable_success_without_a_cause_names_the_answer() -> None:
    response = httpx.Response(200, content=b"?", request=httpx.Request("GET", BASE))
    failure = _failure(UnreadableResponse(response, ValueError("bad")))  # raised without `from`
    assert isinstance(failure, errors.APIResponseValidationError)
    assert failure.message == "unreadable answer (the answer (200) is not the documented body: ValueError)"


def test_a_page_abandoned_by_closing_the_iteration_is_not_retried() -> None:
    import threading

    listing = _listing(30)
    started, release = threading.Event(), threading.Event()
    attempts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        offset = request.url.params.get("offset")
        if offset == "3":
            attempts.append(offset)
            started.set()
            release.wait(10)
            return reply(503, error_body("XTest busy"), **{"Retry-After": "0"})  # retried at once...
        return listing(request)

    with threedcart.Store(**_kwargs(transport=httpx.MockTransport(Script(answer)), max_retries=3)) as store:
        iterator = store.customers.iter(page_size=3, concurrency=3)
        assert next(iterator).customer_id == 1
        assert started.wait(5)
        iterator.close()  # type: ignore[attr-defined]
        release.set()
        for thread in [t for t in threading.enumerate() if t.name.startswith("threedcart-page")]:
            thread.join(5)
    assert attempts == ["3"]  # ...unless nobody reads it any more


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("customer_id", "shown"), [(0, "0"), (2**70, str(2**70)[:40]), (10**45, "1" + "0" * 39)]
)
def test_a_customer_with_an_id_out_of_range_is_shown_with_its_id(
    kind: str, customer_id: int, shown: str
) -> None:
    body = f'[{{"CustomerID": {customer_id}, "Email": "x@example.com"}}]'.encode()
    with pytest.raises(errors.APIResponseValidationError) as info:
        run(kind, Script(reply(200, body)), lambda c: c.get(1))
    assert info.value.message == (
        f"the service sent a customer with a CustomerID out of range ({shown}; ids run from 1 to 2**63-1)"
    )

"""Typed errors and validated arguments, sync and async, against loopback servers: ids out of
range, an AsyncStore across event loops, unusable timeouts, time zones, proxies, limits and
dates, a closed store, and what a DELETE's answers mean."""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import threedcart
from test_hostile_server import HostileServer, Seen, answer
from threedcart import errors
from threedcart._params import UPDATED_SINCE

CLI = str(Path(sys.executable).with_name("threedcart"))
CUSTOMER = {"CustomerID": 1, "Email": "ann@example.com"}
OFFSET_EXCEEDS = "Offset amount exceeds the total number of records"


def options(url: str, **overrides: object) -> dict[str, Any]:
    return {
        "secure_url": "https://s.example.com",
        "private_key": "typed-key",
        "token": "typed-token",
        "base_url": url,
        "max_retries": 0,
        "timeout": 2.0,
        **overrides,
    }


def both(url: str, call: Callable[[Any], Any], **overrides: object) -> list[Any]:
    """What `call(store.customers)` returns or raises with a Store and with an AsyncStore
    (async iterators are drained into a list)."""
    out: list[Any] = []
    with threedcart.Store(**options(url, **overrides)) as store:
        try:
            result = call(store.customers)
            out.append(list(result) if isinstance(result, Iterator | threedcart.SyncRun) else result)
        except Exception as exc:
            out.append(exc)

    async def scenario() -> Any:
        async with threedcart.AsyncStore(**options(url, **overrides)) as astore:
            result = call(astore.customers)
            if hasattr(result, "__aiter__"):
                return [item async for item in result]
            return await result if asyncio.iscoroutine(result) else result

    try:
        out.append(asyncio.run(scenario()))
    except Exception as exc:
        out.append(exc)
    return out


def dated(sock: socket.socket, status: int, body: bytes) -> None:
    answer(sock, status, body, {"Date": email.utils.formatdate(usegmt=True)})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield


# --- ids out of range ----------------------------------------------------------------------
def pages_with(customer_id: int) -> Callable[[socket.socket, int, Seen], None]:
    """A store of two customers, the second with this id, paged as the API pages."""
    records = [CUSTOMER, {"CustomerID": customer_id, "Email": "x@y.z"}]

    def behaviour(sock: socket.socket, n: int, seen: Seen) -> None:
        query = dict(parse_qsl(urlsplit(seen.target).query))
        if query.get("countonly") == "1":
            dated(sock, 200, json.dumps({"TotalCount": len(records)}).encode())
            return
        offset, limit = int(query.get("offset", "1")), int(query.get("limit", "10"))
        page = records[offset - 1 : offset - 1 + limit]
        if page:
            dated(sock, 200, json.dumps(page).encode())
        else:
            message = [{"Key": "Error", "Value": "", "Status": "400", "Message": OFFSET_EXCEEDS}]
            dated(sock, 400, json.dumps(message).encode())

    return behaviour


CALLS: dict[str, Callable[[Any], Any]] = {
    "iter": lambda c: c.iter(),
    "iter-concurrent": lambda c: c.iter(concurrency=3),
    "list": lambda c: c.list(),
    "sync": lambda c: c.sync(),
}


@pytest.mark.parametrize("customer_id", [2**63, 2**63 + 5, 2**64, 10**30, 0, -1, -(2**63) - 1])
@pytest.mark.parametrize("call", sorted(CALLS))
def test_an_id_out_of_range_in_a_page_is_a_validation_error(customer_id: int, call: str) -> None:
    with HostileServer(pages_with(customer_id)) as server:
        outcomes = both(server.url, CALLS[call])
    for outcome in outcomes:
        assert type(outcome) is errors.APIResponseValidationError, (call, outcome)
        assert "CustomerID out of range" in str(outcome) and outcome.status_code == 200


def test_the_largest_id_is_read() -> None:
    with HostileServer(pages_with(2**63 - 1)) as server:
        for outcome in both(server.url, lambda c: c.iter()):
            assert [c.customer_id for c in outcome] == [1, 2**63 - 1]


def test_get_of_a_customer_whose_id_is_out_of_range() -> None:
    body = json.dumps([{"CustomerID": 2**63, "Email": "x@y.z"}]).encode()
    with HostileServer(lambda sock, n, seen: answer(sock, 200, body)) as server:
        for outcome in both(server.url, lambda c: c.get(1)):
            assert type(outcome) is errors.APIResponseValidationError and "out of range" in str(outcome)


@pytest.mark.parametrize("command", [["export", "-o", "{out}"], ["sync", "--state", "{state}"]])
def test_the_cli_reports_an_id_out_of_range_in_one_line(tmp_path: Path, command: list[str]) -> None:
    args = [a.format(out=tmp_path / "out.jsonl", state=tmp_path / "state.json") for a in command]
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREEDCART_")}
    with HostileServer(pages_with(2**63)) as server:
        env.update(
            THREEDCART_SECURE_URL="https://s.example.com",
            THREEDCART_PRIVATE_KEY="typed-key",
            THREEDCART_TOKEN="typed-token",
            THREEDCART_BASE_URL=server.url,
        )
        done = subprocess.run(
            [CLI, "customers", *args], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "OverflowError" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    what = command[0]  # one line: how far the run got, why it stopped, what was (not) written
    assert len(errors) == 1 and errors[0].startswith(f"error: {what} stopped after 0 ")
    assert (
        "(APIResponseValidationError: 200 the service sent customers with a CustomerID out of range"
        in errors[0]
    )
    assert "was not written" in errors[0] if what == "export" else "the watermark stays" in errors[0]


# --- an AsyncStore on several event loops ------------------------------------------------------------
def ok(sock: socket.socket, n: int, seen: Seen) -> None:
    answer(sock, 200, json.dumps([CUSTOMER]).encode())


def test_an_async_store_serves_one_event_loop_after_another_and_several_at_once() -> None:
    with HostileServer(ok) as server:
        store = threedcart.AsyncStore(**options(server.url))
        for _ in range(3):  # three asyncio.run() calls: three event loops, one after another
            assert asyncio.run(store.customers.get(1)).customer_id == 1
        got: list[int] = []

        def worker() -> None:
            got.append(asyncio.run(store.customers.get(1)).customer_id)

        threads = [threading.Thread(target=worker) for _ in range(3)]  # three loops at once
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert got == [1, 1, 1]
        view = store.with_options(max_retries=1)
        assert asyncio.run(view.customers.get(1)).customer_id == 1  # a view follows the loop too
        asyncio.run(store.aclose())
        assert store.is_closed and view.is_closed
        with pytest.raises(errors.StoreClosedError):
            asyncio.run(store.customers.get(1))
    assert len(server.seen) == 7


def test_a_loop_that_ends_closes_its_connections() -> None:
    # run with ResourceWarnings as errors: a connection left open by an ended loop would show
    code = (
        "import asyncio, gc, threedcart\n"
        "s = threedcart.AsyncStore(secure_url='https://s', private_key='k', token='t', base_url={url!r})\n"
        "for _ in range(3):\n"
        "    print(asyncio.run(s.customers.get(1)).customer_id)\n"
        "gc.collect()\n"
        "asyncio.run(s.aclose())\n"
        "gc.collect()\n"
    )
    with HostileServer(ok) as server:
        done = subprocess.run(
            [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", code.format(url=server.url)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0 and done.stdout == "1\n1\n1\n", done.stderr
    assert "unclosed" not in done.stderr and "ResourceWarning" not in done.stderr, done.stderr


# --- timeouts, time zones, proxies, rate limits: checked at construction ------------------------------
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "0", "-3", "soon", "1e400"])
def test_an_unusable_threedcart_timeout_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("THREEDCART_SECURE_URL", "https://s.example.com")
    monkeypatch.setenv("THREEDCART_PRIVATE_KEY", "typed-key")
    monkeypatch.setenv("THREEDCART_TOKEN", "typed-token")
    monkeypatch.setenv("THREEDCART_TIMEOUT", value)
    for cls in (threedcart.Store, threedcart.AsyncStore):
        with pytest.raises(
            ValueError, match=f"THREEDCART_TIMEOUT must be a finite number of seconds .* not '{value}'"
        ):
            cls.from_env(base_url="http://127.0.0.1:9")


@pytest.mark.parametrize(
    "timeout", [math.inf, -math.inf, math.nan, httpx.Timeout(math.inf), httpx.Timeout(5, read=math.inf)]
)
def test_an_infinite_timeout_is_refused_wherever_it_is_given(timeout: Any) -> None:
    with HostileServer(ok) as server:
        for cls in (threedcart.Store, threedcart.AsyncStore):
            with pytest.raises(ValueError, match=r"^timeout"):
                cls(**options(server.url, timeout=timeout))
            store = cls(**options(server.url))
            with pytest.raises(ValueError, match=r"^timeout"):
                store.with_options(timeout=timeout)
        with threedcart.Store(**options(server.url)) as store, pytest.raises(ValueError, match=r"^timeout"):
            store.customers.get(1, timeout=timeout)
    assert server.seen == []
    # httpx's own "no limit" still works
    with HostileServer(ok) as server:
        with threedcart.Store(**options(server.url, timeout=httpx.Timeout(None))) as store:
            assert store.customers.get(1).customer_id == 1


@pytest.mark.parametrize(
    ("argument", "value", "error", "message"),
    [
        ("store_timezone", "Mars/Base", ValueError, "store_timezone: 'Mars/Base' is not a time zone"),
        ("store_timezone", "../../etc/passwd", ValueError, "store_timezone: "),
        ("store_timezone", 5, TypeError, "store_timezone must be an IANA zone name"),
        ("proxy", "::::", ValueError, "proxy is not a proxy URL"),
        ("proxy", "ftp://proxy.example.com", ValueError, "proxy is not a proxy URL"),
        ("proxy", 3128, TypeError, "proxy must be a URL"),
        ("rate_limit", "yes", TypeError, "rate_limit must be True, False, None, a RateLimit"),
        ("rate_limit", 50, TypeError, "rate_limit must be True, False, None, a RateLimit"),
        ("trust_env", "no", TypeError, "trust_env must be True or False"),
        ("base_url", 8080, TypeError, "base_url must be a string"),
    ],
)
def test_constructor_arguments_are_checked_and_named(
    argument: str, value: object, error: type[Exception], message: str
) -> None:
    for cls in (threedcart.Store, threedcart.AsyncStore):
        with pytest.raises(error) as info:
            cls(**options("http://127.0.0.1:9", **{argument: value}))
        assert str(info.value).startswith(message), info.value


def test_a_proxy_from_the_environment_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "::::")
    with pytest.raises(ValueError, match=r"^the http_proxy environment variable is not a proxy URL"):
        threedcart.Store(**options("http://127.0.0.1:9"))
    threedcart.Store(**options("http://127.0.0.1:9", trust_env=False)).close()  # not read


# --- method arguments: refused before any request ------------------------------------------------------
ARGUMENTS: list[tuple[str, Callable[[Any], Any], type[Exception], str]] = [
    ("limit=True", lambda c: c.list(limit=True), TypeError, "limit must be a whole number, not bool"),
    ("limit=2.5", lambda c: c.list(limit=2.5), TypeError, "limit must be a whole number, not float"),
    ("offset=1.0", lambda c: c.list(offset=1.0), TypeError, "offset must be a whole number"),
    ("page_size=True", lambda c: c.iter(page_size=True), TypeError, "page_size must be a whole number"),
    ("concurrency=2.0", lambda c: c.iter(concurrency=2.0), TypeError, "concurrency must be a whole number"),
    ("batch_size=2.5", lambda c: c.update_many([], batch_size=2.5), TypeError, "batch_size must be a whole"),
    (
        "year 0099 (text)",
        lambda c: c.list(**{UPDATED_SINCE: "01/15/0099"}),
        ValueError,
        f"{UPDATED_SINCE}: the year 99 cannot be sent",
    ),
    (
        "year 99 (date)",
        lambda c: c.count(**{UPDATED_SINCE: date(99, 1, 1)}),
        ValueError,
        f"{UPDATED_SINCE}: the year 99",
    ),
    (
        "year 1 (aware)",
        lambda c: c.list(**{UPDATED_SINCE: datetime(1, 1, 1, tzinfo=UTC)}),
        ValueError,
        f"{UPDATED_SINCE}: datetime.datetime(1, 1, 1",
    ),
]


@pytest.mark.parametrize(("name", "call", "error", "message"), ARGUMENTS, ids=[a[0] for a in ARGUMENTS])
def test_method_arguments_are_checked_and_named(
    name: str, call: Callable[[Any], Any], error: type[Exception], message: str
) -> None:
    with HostileServer(ok) as server:
        outcomes = both(server.url, call)
    assert server.seen == []  # refused before any request
    for outcome in outcomes:
        assert type(outcome) is error and str(outcome).startswith(message), (name, outcome)


def test_four_digit_years_are_still_sent() -> None:
    with HostileServer(ok) as server:
        both(server.url, lambda c: c.list(**{UPDATED_SINCE: date(1999, 1, 2)}))
    assert all("01%2F02%2F1999" in seen.target or "01/02/1999" in seen.target for seen in server.seen)


# --- a closed store ---------------------------------------------------------------------------------
def test_a_closed_store_raises_store_closed_error() -> None:
    assert issubclass(threedcart.StoreClosedError, threedcart.ThreeDCartError)
    assert threedcart.StoreClosedError is errors.StoreClosedError
    with HostileServer(ok) as server:
        store = threedcart.Store(**options(server.url))
        view = store.with_options(max_retries=1)
        pending = store.customers.iter()  # made before the close, read after it
        assert not store.is_closed
        view.close()  # a view leaves the connections to its store
        assert store.customers.get(1).customer_id == 1
        store.close()
        assert store.is_closed and view.is_closed
        for call in (
            lambda: store.customers.get(1),
            lambda: store.customers.list(),
            lambda: store.customers.delete(1),
            lambda: view.customers.count(),
            lambda: list(pending),
        ):
            with pytest.raises(errors.StoreClosedError, match="this Store is closed"):
                call()

        async def scenario() -> None:
            async with threedcart.AsyncStore(**options(server.url)) as astore:
                assert (await astore.customers.get(1)).customer_id == 1
            assert astore.is_closed
            with pytest.raises(errors.StoreClosedError, match="this AsyncStore is closed"):
                await astore.customers.get(1)
            with pytest.raises(errors.StoreClosedError):
                [c async for c in astore.customers.iter()]

        asyncio.run(scenario())
    assert len(server.seen) == 2


# --- what a DELETE's answers mean ---------------------------------------------------------------------
def test_a_delete_answered_204_is_done() -> None:
    with HostileServer(lambda sock, n, seen: answer(sock, 204, b"", reason="No Content")) as server:
        assert both(server.url, lambda c: c.delete(7)) == [None, None]
    assert [seen.method for seen in server.seen] == ["DELETE", "DELETE"]


def then(first: Callable[[socket.socket], None]) -> Callable[[socket.socket, int, Seen], None]:
    """`first` answers each odd request (the first attempt of each store), a 404 the others."""

    def behaviour(sock: socket.socket, n: int, seen: Seen) -> None:
        if n % 2:
            first(sock)
        else:
            answer(sock, 404, b"")

    return behaviour


def busy(sock: socket.socket) -> None:
    answer(sock, 429, b"", {"Retry-After": "0"})


def failing(sock: socket.socket) -> None:
    answer(sock, 500, b"")


def dropped(sock: socket.socket) -> None:
    sock.close()  # the request was sent; no answer: its outcome is unknown


def too_slow(sock: socket.socket) -> None:
    time.sleep(0.6)  # past the client's deadline: its outcome is unknown


@pytest.mark.parametrize(
    ("first", "deleted"),
    [(busy, False), (failing, True), (dropped, True), (too_slow, True)],
    ids=["429", "500", "dropped", "timeout"],
)
def test_a_404_to_a_retried_delete_is_done_only_after_an_attempt_of_unknown_outcome(
    first: Callable[[socket.socket], None], deleted: bool
) -> None:
    with HostileServer(then(first)) as server:
        outcomes = both(server.url, lambda c: c.delete(7), max_retries=1, timeout=0.15)
    assert len(server.seen) == 4  # two attempts each
    for outcome in outcomes:
        if deleted:
            assert outcome is None
        else:
            assert type(outcome) is errors.NotFoundError, outcome  # a 429 did nothing: it was never there


def test_a_plain_404_to_a_delete_is_not_found() -> None:
    with HostileServer(lambda sock, n, seen: answer(sock, 404, b"")) as server:
        for outcome in both(server.url, lambda c: c.delete(7), max_retries=2):
            assert type(outcome) is errors.NotFoundError


def test_a_refused_connection_is_a_typed_error_for_both_stores() -> None:
    for outcome in both(f"http://127.0.0.1:{free_port()}", lambda c: c.get(1)):
        assert type(outcome) is errors.APIConnectionError

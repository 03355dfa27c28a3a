"""What the retry transports and the throttle promise, pinned with scripted answers.

Every test here drives `RetryTransport` / `AsyncRetryTransport` (or the throttle) through
`httpx.MockTransport`, an injected sleep and, where time matters, a fake clock put in place of
the transport's `time` module, so that waits, deadlines and log lines are exact and no test
waits for real. Only the socket-level deadline tests use real sockets on loopback.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import logging
import math
import socket
import ssl
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
import threedcart
from threedcart import _transport
from threedcart._throttle import RateLimit, Throttle
from threedcart._transport import (
    MAYBE_PROCESSED,
    AsyncRetryTransport,
    PoolTransport,
    RetryPolicy,
    RetryTransport,
)
from threedcart.errors import APIResponseValidationError, ServerError

URL = "http://t/3dCartWebAPI/v1/Customers"
CREDENTIALS = {"SecureURL": "https://shop.example", "PrivateKey": "pk-secret", "Token": "tok-secret"}


class FakeTime:
    """Stands in for the `time` module inside `threedcart._transport`."""

    def __init__(self) -> None:
        self.mono = 1000.0
        self.perf = 50.0
        self.wall = 1_800_000_000.0

    def monotonic(self) -> float:
        return self.mono

    def perf_counter(self) -> float:
        return self.perf

    def time(self) -> float:
        return self.wall

    def sleep(self, seconds: float) -> None:  # pragma: no cover - the transports get their sleep injected
        raise AssertionError("the transport slept on the real clock")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(_transport, "time", fake)
    return fake


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that arrives in pieces (not read by the inner transport)."""

    def __init__(self, chunks: list[bytes], before: Callable[[int], None] | None = None) -> None:
        self.chunks = chunks
        self.before = before
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for i, chunk in enumerate(self.chunks):
            if self.before is not None:
                self.before(i)
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


Outcome = int | Exception | httpx.Response


def _answer(outcome: Outcome, request: httpx.Request) -> httpx.Response:
    if isinstance(outcome, Exception):
        if isinstance(outcome, httpx.RequestError):
            outcome._request = request
        raise outcome
    if isinstance(outcome, int):
        return httpx.Response(outcome, json={"status": outcome})
    return outcome


def scripted(
    outcomes: list[Outcome], *, policy: RetryPolicy | None = None, **options: Any
) -> tuple[RetryTransport, list[httpx.Request], list[float]]:
    """A sync transport answering `outcomes` in turn; the requests it saw; its sleeps."""
    seen: list[httpx.Request] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _answer(outcomes.pop(0), request)

    transport = RetryTransport(
        httpx.MockTransport(handler),
        policy or RetryPolicy(jitter=lambda: 1.0),
        sleep=sleeps.append,
        **options,
    )
    return transport, seen, sleeps


def ascripted(
    outcomes: list[Outcome], *, policy: RetryPolicy | None = None, **options: Any
) -> tuple[AsyncRetryTransport, list[httpx.Request], list[float]]:
    seen: list[httpx.Request] = []
    sleeps: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _answer(outcomes.pop(0), request)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    transport = AsyncRetryTransport(
        httpx.MockTransport(handler), policy or RetryPolicy(jitter=lambda: 1.0), sleep=sleep, **options
    )
    return transport, seen, sleeps


def send(transport: RetryTransport, method: str = "GET", url: str = URL, **kwargs: Any) -> httpx.Response:
    with httpx.Client(transport=transport) as client:
        return client.request(method, url, **kwargs)


def asend(
    transport: AsyncRetryTransport, method: str = "GET", url: str = URL, **kwargs: Any
) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport) as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


# --- the back-off and Retry-After ------------------------------------------------------------
@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [
        ("0", 0.0),  # retry at once
        ("-5", 0.0),  # negative: no wait, not a negative sleep
        ("2.5", 2.5),
        ("1e9", 1000.0),  # capped at max_retry_after
        ("nan", 1.0),  # unreadable: the back-off (attempt 2, no jitter: 0.5 * 4 / 2)
        ("inf", 1.0),
        ("-inf", 1.0),
        ("", 1.0),
        ("soon", 1.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past
        ("Wed, 21 Oct 2015 07:28:00 -0000", 1.0),  # a date without a known zone: unreadable
    ],
)
def test_retry_after_values(retry_after: str, wait: float) -> None:
    policy = RetryPolicy(jitter=lambda: 0.0, max_retry_after=1000.0)
    assert policy.delay(2, httpx.Response(503, headers={"Retry-After": retry_after})) == wait


def test_retry_after_as_a_date_counts_from_the_wall_clock(clock: FakeTime) -> None:
    policy = RetryPolicy(jitter=lambda: 0.0, max_retry_after=1000.0)
    when = email.utils.formatdate(clock.wall + 30, usegmt=True)
    assert policy.delay(0, httpx.Response(429, headers={"Retry-After": when})) == 30.0
    assert RetryPolicy().delay(0, httpx.Response(429, headers={"Retry-After": when})) == 30.0
    far = email.utils.formatdate(clock.wall + 3600, usegmt=True)
    assert RetryPolicy().delay(0, httpx.Response(429, headers={"Retry-After": far})) == 60.0


def test_without_retry_after_the_answer_gets_the_back_off() -> None:
    policy = RetryPolicy(jitter=lambda: 0.0)
    assert policy.delay(1, httpx.Response(503)) == 0.5
    assert policy.delay(1, None) == 0.5


def test_back_off_doubles_from_the_initial_delay_with_jitter_and_cap() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=5.0, jitter=lambda: 0.5)
    assert [policy.delay(a) for a in range(5)] == [0.75, 1.5, 3.0, 3.75, 3.75]
    low = RetryPolicy(initial_delay=1.0, max_delay=5.0, jitter=lambda: 0.0)
    assert [low.delay(a) for a in range(4)] == [0.5, 1.0, 2.0, 2.5]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("no connect"),
        httpx.ReadTimeout("slow"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("closed early"),
        httpx.WriteError("broken pipe"),
    ],
)
def test_idempotent_methods_are_retried_after_any_transport_error(method: str, exc: Exception) -> None:
    assert RetryPolicy.retries_error(method, exc) is True  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "retried"),
    [
        (httpx.ConnectError("refused"), True),
        (httpx.ConnectTimeout("no connect"), True),
        (httpx.ReadTimeout("slow"), False),
        (httpx.ReadError("reset"), False),
        (httpx.RemoteProtocolError("closed early"), False),
        (httpx.WriteError("broken pipe"), False),
        (httpx.WriteTimeout("slow write"), False),
    ],
)
def test_a_create_is_retried_only_when_it_never_left(exc: Exception, retried: bool) -> None:
    assert RetryPolicy.retries_error("POST", exc) is retried  # type: ignore[arg-type]


# --- attempts until retries run out ------------------------------------------------------------
@pytest.mark.parametrize("retries", [0, 1, 3])
def test_a_failing_get_is_tried_retries_plus_one_times(retries: int) -> None:
    transport, seen, sleeps = scripted(
        [503] * 10, policy=RetryPolicy(max_retries=retries, jitter=lambda: 1.0)
    )
    assert send(transport).status_code == 503
    assert len(seen) == retries + 1
    assert sleeps == [0.5, 1.0, 2.0][:retries]


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_an_unreachable_service_is_tried_retries_plus_one_times(retries: int) -> None:
    errors = [httpx.ReadTimeout(f"slow {i}") for i in range(10)]
    transport, seen, sleeps = scripted(
        list(errors), policy=RetryPolicy(max_retries=retries, jitter=lambda: 0.0)
    )
    with pytest.raises(httpx.ReadTimeout) as caught:
        send(transport, "PUT", json={})
    assert caught.value is errors[retries]  # the last attempt's own error
    assert len(seen) == retries + 1 and [r.method for r in seen] == ["PUT"] * (retries + 1)
    assert sleeps == [0.25, 0.5, 1.0][:retries]


def test_get_put_delete_recover_from_timeouts_and_resets() -> None:
    for method in ("GET", "PUT", "DELETE"):
        transport, seen, sleeps = scripted(
            [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("reset"), httpx.ConnectError("down"), 200],
            policy=RetryPolicy(max_retries=3, jitter=lambda: 1.0),
        )
        assert send(transport, method).status_code == 200
        assert len(seen) == 4 and sleeps == [0.5, 1.0, 2.0]


def test_a_create_is_retried_after_a_refused_connection_but_not_after_a_read_timeout() -> None:
    transport, seen, sleeps = scripted([httpx.ConnectTimeout("no connect"), 201])
    assert send(transport, "POST", json={}).status_code == 201
    assert len(seen) == 2 and sleeps == [0.5]
    read_timeout = httpx.ReadTimeout("slow")
    transport, seen, sleeps = scripted([read_timeout, 201])
    with pytest.raises(httpx.ReadTimeout) as caught:
        send(transport, "POST", json={})
    assert caught.value is read_timeout and len(seen) == 1 and sleeps == []
    transport, seen, sleeps = scripted([500, 201])
    assert send(transport, "POST", json={}).status_code == 500 and len(seen) == 1


def test_answers_that_are_not_retried_come_back_at_once() -> None:
    for status in (200, 400, 404, 409):
        transport, seen, sleeps = scripted([status, 200])
        assert send(transport).status_code == status and len(seen) == 1 and sleeps == []


def test_retry_after_zero_retries_at_once() -> None:
    transport, seen, sleeps = scripted([httpx.Response(429, headers={"Retry-After": "0"}), 200])
    assert send(transport, "POST", json={}).status_code == 200
    assert len(seen) == 2 and sleeps == [0.0]


def test_a_zero_back_off_still_retries_errors() -> None:
    transport, seen, sleeps = scripted(
        [httpx.ReadError("reset"), 200], policy=RetryPolicy(initial_delay=0.0, jitter=lambda: 1.0)
    )
    assert send(transport).status_code == 200
    assert len(seen) == 2 and sleeps == [0.0]


def test_retry_after_of_the_answer_sets_the_wait() -> None:
    transport, _seen, sleeps = scripted(
        [
            httpx.Response(503, headers={"Retry-After": "7"}),
            httpx.Response(429, headers={"Retry-After": "3"}),
            200,
        ],
        policy=RetryPolicy(max_retries=5, jitter=lambda: 1.0),
    )
    assert send(transport).status_code == 200 and sleeps == [7.0, 3.0]


class Reservations:
    """A throttle whose reservations are scripted."""

    def __init__(self, waits: list[float]) -> None:
        self.waits = waits

    def reserve(self) -> float:
        return self.waits.pop(0)

    async def areserve(self) -> float:
        return self.waits.pop(0)


def test_every_attempt_waits_for_its_reservation() -> None:
    throttle: Any = Reservations([0.0, 0.5, 1.0])
    transport, _seen, sleeps = scripted([503, 503, 200], throttle=throttle)
    assert send(transport).status_code == 200
    # reservation 0.0 (no sleep), back-off 0.5, reservation 0.5, back-off 1.0, reservation 1.0
    assert sleeps == [0.5, 0.5, 1.0, 1.0]


def test_the_throttle_paces_a_transport() -> None:
    now = [0.0]
    throttle = Throttle(RateLimit(capacity=1, per_second=2), clock=lambda: now[0])
    transport, _seen, sleeps = scripted([200, 200, 200], throttle=throttle)
    for _ in range(3):
        send(transport)
    assert sleeps == [0.5, 1.0]


# --- what a call carries ------------------------------------------------------------------------
def test_credentials_stay_with_the_store_origin() -> None:
    outcomes: list[Outcome] = [200] * 6
    transport, seen, _ = scripted(outcomes, origin="https://apirest.3dcart.com")
    headers = {**CREDENTIALS, "Accept": "application/json", "User-Agent": "sdk-test"}
    with httpx.Client(transport=transport, headers=headers) as client:
        for url in (
            "https://apirest.3dcart.com/3dCartWebAPI/v1/Customers",
            "https://apirest.3dcart.com:443/x",
            "http://apirest.3dcart.com/x",
            "https://apirest.3dcart.com:8443/x",
            "https://evil.example/x",
        ):
            client.get(url)
    some = {"Token": "tok-secret", "Accept": "application/json"}  # only some of the credentials
    with httpx.Client(transport=transport, headers=some) as client:
        client.get("https://evil.example/y", headers={"User-Agent": "sdk-test"})
    kept = [{k: r.headers.get(k) for k in CREDENTIALS} for r in seen]
    assert kept[:2] == [CREDENTIALS, CREDENTIALS]
    assert kept[2:] == [dict.fromkeys(CREDENTIALS)] * 4
    assert all(
        r.headers["User-Agent"] == "sdk-test" and r.headers["Accept"] == "application/json" for r in seen
    )


def test_a_redirect_to_another_host_loses_the_credentials() -> None:
    outcomes: list[Outcome] = [
        httpx.Response(302, headers={"Location": "https://elsewhere.example/steal"}),
        200,
    ]
    transport, seen, _ = scripted(outcomes, origin="https://apirest.3dcart.com")
    with httpx.Client(transport=transport, headers=CREDENTIALS, follow_redirects=True) as client:
        assert client.get("https://apirest.3dcart.com/x").status_code == 200
    assert [r.url.host for r in seen] == ["apirest.3dcart.com", "elsewhere.example"]
    assert seen[0].headers["Token"] == "tok-secret"
    assert not any(k in seen[1].headers for k in CREDENTIALS)


def test_without_an_origin_every_request_keeps_its_headers() -> None:
    transport, seen, _ = scripted([200])
    with httpx.Client(transport=transport, headers=CREDENTIALS) as client:
        client.get("https://anywhere.example/x")
    assert {k: seen[0].headers[k] for k in CREDENTIALS} == CREDENTIALS


def test_a_view_made_with_options_has_its_own_retries_and_timeout_raw_calls_included() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503)

    options: dict[str, Any] = {"secure_url": "https://s.example", "private_key": "pk", "token": "tok"}
    with threedcart.Store(
        **options, base_url="http://127.0.0.1:9", max_retries=2, transport=httpx.MockTransport(handler)
    ) as store:
        store.client.get_httpx_client()._transport._sleep = lambda s: None  # type: ignore[attr-defined]
        view = store.with_options(max_retries=0, timeout=httpx.Timeout(7.0, connect=2.0))
        assert view.client is not store.client and view.max_retries == 0
        # the view's own generated client (raw calls) honours the view's options
        assert view.client.get_httpx_client().get("/x").status_code == 503
        assert len(seen) == 1
        assert seen[0].extensions["timeout"] == {"connect": 2.0, "read": 7.0, "write": 7.0, "pool": 7.0}
        # the store keeps its own: three attempts, its default timeout
        assert store.client.get_httpx_client().get("/x").status_code == 503
        assert len(seen) == 4 and seen[1].extensions["timeout"]["read"] == store.timeout.read
        # a view of a view keeps what it does not override
        deeper = view.with_options(timeout=3.0)
        assert deeper.max_retries == 0 and deeper.timeout == httpx.Timeout(3.0)
        deeper.client.get_httpx_client().get("/x")
        assert len(seen) == 5 and seen[4].extensions["timeout"]["read"] == 3.0
    assert view.is_closed and deeper.is_closed  # closing the store closes what its views share


def _count_store(cls: type, handler: Callable[..., Any], **options: Any) -> Any:
    return cls(
        secure_url="https://shop.example",
        private_key="pk-secret",
        token="tok-secret",
        base_url="http://127.0.0.1:8300",
        transport=httpx.MockTransport(handler),
        **options,
    )


def _count_handler(
    seen: list[httpx.Request], statuses: list[int]
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = statuses.pop(0) if statuses else 200
        if status != 200:
            return httpx.Response(status, headers={"Retry-After": "0"}, json=[{"Message": "busy"}])
        return httpx.Response(200, json={"TotalCount": 42})

    return handler


def test_store_timeouts_and_retries_reach_the_request() -> None:
    seen: list[httpx.Request] = []
    statuses = [503, 503]
    with _count_store(threedcart.Store, _count_handler(seen, statuses), timeout=20.0, max_retries=2) as store:
        assert store.customers.count() == 42  # two retries after 503
        assert len(seen) == 3 and seen[0].extensions["timeout"]["read"] == 20.0
        assert store.customers.count(timeout=5) == 42
        assert seen[3].extensions["timeout"] == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
        view = store.with_options(timeout=httpx.Timeout(9.0, connect=1.0))
        statuses.append(503)
        assert view.customers.count() == 42  # the view keeps the store's retries
        assert [r.extensions["timeout"]["connect"] for r in seen[4:]] == [1.0, 1.0]
        statuses.append(503)
        with pytest.raises(ServerError):
            store.with_options(max_retries=0).customers.count()
        assert len(seen) == 7 and seen[6].extensions["timeout"]["read"] == 20.0


def test_async_store_timeouts_and_retries_reach_the_request() -> None:
    seen: list[httpx.Request] = []
    statuses = [503]
    sync_handler = _count_handler(seen, statuses)

    async def handler(request: httpx.Request) -> httpx.Response:
        return sync_handler(request)

    async def scenario() -> None:
        async with _count_store(threedcart.AsyncStore, handler, timeout=20.0, max_retries=1) as store:
            assert await store.customers.count() == 42
            assert len(seen) == 2 and seen[1].extensions["timeout"]["read"] == 20.0
            assert await store.customers.count(timeout=4) == 42
            assert seen[2].extensions["timeout"] == {"connect": 4.0, "read": 4.0, "write": 4.0, "pool": 4.0}
            statuses.append(503)
            assert await store.with_options(timeout=6).customers.count() == 42
            assert [r.extensions["timeout"]["pool"] for r in seen[3:]] == [6.0, 6.0]
            statuses.append(503)
            with pytest.raises(ServerError):
                await store.with_options(max_retries=0).customers.count()
            assert len(seen) == 6

    asyncio.run(scenario())


# --- the deadline of one attempt ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("timeout", "budget"),
    [
        (httpx.Timeout(connect=4.0, read=1.0, write=1.0, pool=1.0), 12.0),
        (httpx.Timeout(connect=1.0, read=2.0, write=1.0, pool=None), 6.0),
        (httpx.Timeout(connect=None, read=1.0, write=5.0, pool=1.0), 15.0),
        (httpx.Timeout(connect=1.0, read=None, write=1.0, pool=3.0), 9.0),
    ],
)
def test_an_attempt_lasts_at_most_three_times_its_longest_timeout(
    clock: FakeTime, timeout: httpx.Timeout, budget: float
) -> None:
    bounds: list[float | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        # what a socket operation of this attempt may take
        bounds.extend([_transport._bounded(100.0), _transport._bounded(2.0), _transport._bounded(None)])
        clock.mono += budget  # at the deadline: no socket operation may start
        with pytest.raises(_transport._DeadlineExceeded) as late:
            _transport._bounded(100.0)
        assert str(late.value) == f"the answer took longer than {budget:g} s in all (the attempt's deadline)"
        with pytest.raises(_transport._DeadlineBeforeConnected):
            _transport._bounded(100.0, _transport._DeadlineBeforeConnected)
        return httpx.Response(200)

    transport = RetryTransport(httpx.MockTransport(handler), RetryPolicy(), sleep=lambda s: None)
    with httpx.Client(transport=transport, timeout=timeout) as client:
        client.get(URL)
    # (the time given, whether the attempt's deadline is what bounds it)
    assert bounds == [(budget, True), (2.0, False), (budget, True)]
    assert _transport._bounded(5.0) == (5.0, False) and _transport._bounded(None) == (None, False)


def test_without_timeouts_an_attempt_has_no_deadline(clock: FakeTime) -> None:
    bounds: list[float | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bounds.extend([_transport._bounded(100.0), _transport._bounded(None)])
        return httpx.Response(200)

    transport = RetryTransport(httpx.MockTransport(handler), RetryPolicy(), sleep=lambda s: None)
    with httpx.Client(transport=transport, timeout=None) as client:
        client.get(URL)
    assert bounds == [(100.0, False), (None, False)]
    # a request built by hand has no timeout extension at all
    assert transport.handle_request(httpx.Request("GET", URL)).status_code == 200
    assert bounds[2:] == [(100.0, False), (None, False)]


def test_the_deadline_is_lifted_after_a_failed_attempt(clock: FakeTime) -> None:
    transport, _seen, _sleeps = scripted([httpx.ReadError("reset")], policy=RetryPolicy(max_retries=0))
    with httpx.Client(transport=transport, timeout=1.0) as client, pytest.raises(httpx.ReadError):
        client.get(URL)
    assert _transport._bounded(5.0) == (5.0, False)


def test_a_timeout_that_the_deadline_caused_reports_the_deadline(clock: FakeTime) -> None:
    def slow(seconds: float | None) -> bytes:
        raise httpcore.ReadTimeout("timed out")

    _transport._ATTEMPT.deadline, _transport._ATTEMPT.budget = clock.mono + 2.0, 6.0
    try:
        with pytest.raises(_transport._DeadlineExceeded) as caught:
            _transport._under_deadline(slow, 10.0)  # the deadline (2 s left) was the tighter bound
        assert str(caught.value) == "the answer took longer than 6 s in all (the attempt's deadline)"
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
        own = httpcore.ReadTimeout("timed out")

        def slow_own(seconds: float | None) -> bytes:
            raise own

        with pytest.raises(httpcore.ReadTimeout) as caught_own:
            _transport._under_deadline(slow_own, 1.0)  # its own timeout was the tighter bound
        assert caught_own.value is own
        refused = httpcore.ConnectError("refused")

        def refuse(seconds: float | None) -> bytes:
            raise refused

        with pytest.raises(httpcore.ConnectError) as caught_refused:
            _transport._under_deadline(refuse, 10.0)
        assert caught_refused.value is refused  # a refused connection is never the deadline
        with pytest.raises(_transport._DeadlineBeforeConnected):
            _transport._under_deadline(slow, 10.0, _transport._DeadlineBeforeConnected)
        assert _transport._under_deadline(lambda t: t, 10.0) == 2.0
    finally:
        _transport._ATTEMPT.deadline = None


def test_the_pool_transport_maps_httpcore_errors_as_httpx_does() -> None:
    request = httpx.Request("GET", URL)
    pairs = [
        (httpcore.ConnectTimeout("a"), httpx.ConnectTimeout),
        (_transport._DeadlineBeforeConnected("a"), httpx.ConnectTimeout),
        (httpcore.ReadTimeout("a"), httpx.ReadTimeout),
        (_transport._DeadlineExceeded("a"), httpx.ReadTimeout),
        (httpcore.WriteTimeout("a"), httpx.WriteTimeout),
        (httpcore.PoolTimeout("a"), httpx.PoolTimeout),
        (httpcore.ConnectError("a"), httpx.ConnectError),
        (httpcore.ReadError("a"), httpx.ReadError),
        (httpcore.WriteError("a"), httpx.WriteError),
        (httpcore.ProxyError("a"), httpx.ProxyError),
        (httpcore.UnsupportedProtocol("a"), httpx.UnsupportedProtocol),
        (httpcore.LocalProtocolError("a"), httpx.LocalProtocolError),
        (httpcore.RemoteProtocolError("a"), httpx.RemoteProtocolError),
    ]
    for core, mapped in pairs:
        out = _transport._as_httpx(core, request)
        assert type(out) is mapped and str(out) == "a" and out.request is request
    other = ValueError("not a network error")
    assert _transport._as_httpx(other, request) is other


def test_async_attempt_deadline(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(0.5)  # far past the deadline of 3 * 0.02 s
        return httpx.Response(200, json=[])

    async def scenario(retries: int) -> httpx.Response:
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        transport = AsyncRetryTransport(
            httpx.MockTransport(handler), RetryPolicy(max_retries=retries, initial_delay=0.0), sleep=sleep
        )
        async with httpx.AsyncClient(transport=transport, timeout=0.02) as client:
            response = await client.get(URL)
        assert sleeps == [0.0]
        return response

    caplog.set_level(logging.INFO, logger="threedcart")
    response = asyncio.run(scenario(1))
    assert len(calls) == 2 and response.status_code == 200
    assert response.extensions[MAYBE_PROCESSED] is True
    assert caplog.messages == [
        "retrying GET /3dCartWebAPI/v1/Customers in 0.00s (retry 1 of 1) after ReadTimeout"
    ]
    calls.clear()
    with pytest.raises(httpx.ReadTimeout) as caught:
        asyncio.run(scenario(0))
    assert str(caught.value) == "the answer took longer than 0.06 s in all (the attempt's deadline)"
    assert caught.value.request.url == URL and caught.value.__suppress_context__
    assert len(calls) == 1


def test_async_without_timeouts_an_attempt_may_take_its_time() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.02)
        return httpx.Response(200, json=[])

    transport = AsyncRetryTransport(httpx.MockTransport(handler), RetryPolicy(max_retries=0))
    assert asend(transport, timeout=None).status_code == 200


# --- maybe processed ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "outcomes", "maybe"),
    [
        ("GET", [200], False),
        ("GET", [503, 200], True),
        ("GET", [httpx.ConnectError("refused"), 200], False),
        ("GET", [httpx.ConnectTimeout("no connect"), 200], False),
        ("GET", [httpx.ReadTimeout("slow"), 200], True),
        ("GET", [httpx.ReadError("reset"), httpx.ConnectError("refused"), 200], True),
        ("DELETE", [httpx.RemoteProtocolError("reset"), 404], True),
        ("POST", [httpx.ConnectError("refused"), 201], False),
        # a 429 is a refusal: that attempt did nothing; a 5xx may come after the work was done
        ("POST", [429, 201], False),
        ("DELETE", [429, 404], False),
        ("DELETE", [429, 429, 404], False),
        ("DELETE", [500, 404], True),
        ("DELETE", [httpx.ReadTimeout("slow"), 429, 404], True),
    ],
)
def test_an_answer_after_a_retry_says_whether_an_earlier_attempt_may_have_landed(
    method: str, outcomes: list[Outcome], maybe: bool
) -> None:
    transport, seen, _ = scripted(list(outcomes), policy=RetryPolicy(max_retries=3, jitter=lambda: 0.0))
    response = send(transport, method)
    assert response.extensions.get(MAYBE_PROCESSED, False) is maybe
    atransport, aseen, _ = ascripted(list(outcomes), policy=RetryPolicy(max_retries=3, jitter=lambda: 0.0))
    aresponse = asend(atransport, method)
    assert aresponse.extensions.get(MAYBE_PROCESSED, False) is maybe
    assert len(seen) == len(aseen) == len(outcomes)


# --- async: the same retry rules ---------------------------------------------------------------
@pytest.mark.parametrize("retries", [0, 1, 3])
def test_async_attempts_until_retries_run_out(retries: int) -> None:
    transport, seen, sleeps = ascripted(
        [503] * 10, policy=RetryPolicy(max_retries=retries, jitter=lambda: 1.0)
    )
    assert asend(transport).status_code == 503
    assert len(seen) == retries + 1 and sleeps == [0.5, 1.0, 2.0][:retries]
    errors = [httpx.ReadError(f"reset {i}") for i in range(10)]
    transport, seen, sleeps = ascripted(
        list(errors), policy=RetryPolicy(max_retries=retries, jitter=lambda: 0.0)
    )
    with pytest.raises(httpx.ReadError) as caught:
        asend(transport, "DELETE")
    assert caught.value is errors[retries]
    assert len(seen) == retries + 1 and sleeps == [0.25, 0.5, 1.0][:retries]


def test_async_creates_are_retried_only_when_they_cannot_have_landed() -> None:
    transport, seen, sleeps = ascripted([httpx.ConnectError("refused"), 429, 201])
    assert asend(transport, "POST", json={}).status_code == 201
    assert len(seen) == 3 and sleeps == [0.5, 1.0]
    transport, seen, sleeps = ascripted([httpx.ReadTimeout("slow"), 201])
    with pytest.raises(httpx.ReadTimeout):
        asend(transport, "POST", json={})
    assert len(seen) == 1
    transport, seen, sleeps = ascripted([503, 201])
    assert asend(transport, "POST", json={}).status_code == 503 and len(seen) == 1


def test_async_zero_waits_still_retry() -> None:
    transport, seen, sleeps = ascripted([httpx.Response(503, headers={"Retry-After": "0"}), 200])
    assert asend(transport).status_code == 200 and sleeps == [0.0] and len(seen) == 2
    transport, seen, sleeps = ascripted(
        [httpx.ConnectError("refused"), 200], policy=RetryPolicy(initial_delay=0.0)
    )
    assert asend(transport).status_code == 200 and sleeps == [0.0] and len(seen) == 2
    transport, _seen, sleeps = ascripted(
        [httpx.Response(503, headers={"Retry-After": "4"}), httpx.ReadError("reset"), 200],
        policy=RetryPolicy(jitter=lambda: 0.0),
    )
    assert asend(transport).status_code == 200 and sleeps == [4.0, 0.5]


def test_async_every_attempt_waits_for_its_reservation() -> None:
    throttle: Any = Reservations([0.0, 0.5, 1.0])
    transport, seen, sleeps = ascripted([503, 503, 200], throttle=throttle)
    assert asend(transport).status_code == 200 and len(seen) == 3
    assert sleeps == [0.5, 0.5, 1.0, 1.0]
    now = [0.0]
    real = Throttle(RateLimit(capacity=1, per_second=2), clock=lambda: now[0])
    transport, _seen, sleeps = ascripted([200, 200, 200], throttle=real)
    for _ in range(3):
        asend(transport)
    assert sleeps == [0.5, 1.0]


def test_async_credentials_stay_home() -> None:
    transport, seen, _ = ascripted([200, 200], origin="https://apirest.3dcart.com")

    async def go() -> None:
        async with httpx.AsyncClient(transport=transport, headers=CREDENTIALS) as client:
            await client.get("https://apirest.3dcart.com/x")
            await client.get("https://evil.example/x")

    asyncio.run(go())
    assert seen[0].headers["PrivateKey"] == "pk-secret"
    assert not any(k in seen[1].headers for k in CREDENTIALS)


# --- log lines ---------------------------------------------------------------------------------
def test_retries_are_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="threedcart")
    transport, _, _ = scripted(
        [httpx.ReadTimeout("slow"), httpx.Response(503, headers={"Retry-After": "1.5"}), 200],
        policy=RetryPolicy(max_retries=2, jitter=lambda: 1.0),
    )
    send(transport, "PUT", URL + "/7?x=1")
    assert caplog.messages == [
        "retrying PUT /3dCartWebAPI/v1/Customers/7?x=1 in 0.50s (retry 1 of 2) after ReadTimeout",
        "retrying PUT /3dCartWebAPI/v1/Customers/7?x=1 in 1.50s (retry 2 of 2) after 503",
    ]
    assert {(r.name, r.levelno) for r in caplog.records} == {("threedcart", logging.INFO)}
    caplog.clear()
    transport, _, _ = ascripted([httpx.ConnectError("refused"), 502, 200], policy=RetryPolicy(max_retries=3))
    asend(transport, "DELETE", URL + "/9")
    assert [m.split(" in ")[0] for m in caplog.messages] == [
        "retrying DELETE /3dCartWebAPI/v1/Customers/9"
    ] * 2
    assert [m.split(") ")[1] for m in caplog.messages] == ["after ConnectError", "after 502"]
    assert [m.split("(")[1].split(")")[0] for m in caplog.messages] == ["retry 1 of 3", "retry 2 of 3"]


def test_every_answer_is_logged_at_debug_with_its_time(
    clock: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="threedcart")

    def handler(request: httpx.Request) -> httpx.Response:
        clock.perf += 0.25
        return httpx.Response(404)

    transport = RetryTransport(httpx.MockTransport(handler), RetryPolicy(), sleep=lambda s: None)
    send(transport, "GET", URL + "/5")
    assert caplog.messages == ["GET /3dCartWebAPI/v1/Customers/5 -> 404 in 250.0 ms"]
    assert caplog.records[0].levelno == logging.DEBUG and caplog.records[0].name == "threedcart"
    caplog.clear()

    async def ahandler(request: httpx.Request) -> httpx.Response:
        clock.perf += 0.0125
        return httpx.Response(200)

    asend(AsyncRetryTransport(httpx.MockTransport(ahandler), RetryPolicy()), "GET", URL)
    assert caplog.messages == ["GET /3dCartWebAPI/v1/Customers -> 200 in 12.5 ms"]


def test_answers_are_not_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="threedcart")
    transport, _, _ = scripted([200])
    send(transport)
    assert caplog.messages == []


# --- reading the body: encodings, the size cap ---------------------------------------------------
def _streamed(body: list[bytes], *, status: int = 200, **headers: str) -> RetryTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, stream=Chunks(list(body)))

    return RetryTransport(httpx.MockTransport(handler), RetryPolicy(max_retries=0), sleep=lambda s: None)


def _astreamed(body: list[bytes], *, status: int = 200, **headers: str) -> AsyncRetryTransport:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, stream=Chunks(list(body)))

    return AsyncRetryTransport(httpx.MockTransport(handler), RetryPolicy(max_retries=0))


PAYLOAD = b'[{"CustomerID": 1, "Email": "ann@example.com"}]' * 20


def _split(data: bytes, parts: int = 3) -> list[bytes]:
    size = math.ceil(len(data) / parts)
    return [data[i : i + size] for i in range(0, len(data), size)]


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data)


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("GZip", gzip.compress),
        ("deflate", _deflate),
        ("identity", bytes),
        ("", bytes),
    ],
)
def test_a_streamed_body_is_decoded_as_it_arrives(encoding: str, encode: Callable[[bytes], bytes]) -> None:
    raw = encode(PAYLOAD)
    response = send(_streamed(_split(raw), **{"Content-Encoding": encoding, "Content-Length": str(len(raw))}))
    assert response.content == PAYLOAD
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(PAYLOAD))
    aresponse = asend(_astreamed(_split(raw), **{"Content-Encoding": encoding}))
    assert aresponse.content == PAYLOAD


def test_a_chunked_body_gets_its_length() -> None:
    response = send(_streamed([b"abc", b"", b"def"], **{"Transfer-Encoding": "chunked"}))
    assert response.content == b"abcdef"
    assert "transfer-encoding" not in response.headers and response.headers["content-length"] == "6"
    raw = gzip.compress(b"abcdef")
    response = send(_streamed([raw], **{"Transfer-Encoding": "chunked", "Content-Encoding": "gzip"}))
    assert response.content == b"abcdef" and response.headers["content-length"] == "6"
    assert "transfer-encoding" not in response.headers and "content-encoding" not in response.headers


def test_the_body_comes_back_ready_to_read() -> None:
    transport = _streamed([b"ab", b"cd"])
    request = httpx.Request("GET", URL)
    response = transport.handle_request(request)
    assert response.request is request
    assert response.is_stream_consumed is False and response.is_closed is False
    assert response.read() == b"abcd"
    with httpx.Client(transport=_streamed([b"x"])) as client:
        assert client.get(URL).elapsed.total_seconds() >= 0  # httpx times it as its own
    with httpx.Client(transport=_streamed([b"x", b"y"])) as client, client.stream("GET", URL) as streamed:
        assert streamed.is_stream_consumed is False and streamed.is_closed is False
        assert streamed.read() == b"xy"


def test_async_the_body_comes_back_ready_to_read() -> None:
    request = httpx.Request("GET", URL)

    async def go() -> tuple[httpx.Response, bytes]:
        response = await _astreamed([b"ab", b"cd"]).handle_async_request(request)
        return response, await response.aread()

    response, body = asyncio.run(go())
    assert response.request is request and body == b"abcd"


def test_an_unknown_encoding_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"Content-Encoding": "br", "X-Trace": "t-1"},
            stream=Chunks([b"\x00\x01"]),
            extensions={"reason_phrase": b"Fine Thanks"},
        )

    transport = RetryTransport(httpx.MockTransport(handler), RetryPolicy(), sleep=lambda s: None)
    with pytest.raises(APIResponseValidationError) as caught:
        send(transport)
    error = caught.value
    assert str(error) == "200 the service sent an answer with an unsupported Content-Encoding 'br'"
    assert error.status_code == 200 and error.response.headers["X-Trace"] == "t-1"
    assert error.response.request.url == URL and error.response.reason_phrase == "Fine Thanks"


def test_a_body_that_does_not_match_its_encoding_is_refused() -> None:
    for encoding, raw in (("gzip", zlib.compress(PAYLOAD)), ("deflate", gzip.compress(PAYLOAD))):
        transport = _streamed([raw], status=201, **{"Content-Encoding": encoding})
        with pytest.raises(APIResponseValidationError) as caught:
            send(transport, "POST", json={})
        assert caught.value.status_code == 201 and caught.value.response.reason_phrase == ""
        assert str(caught.value).startswith(
            "201 the service sent a body that does not decompress (Error -3 while decompressing data: "
        )
        with pytest.raises(APIResponseValidationError, match="does not decompress") as acaught:
            asend(_astreamed([raw], **{"Content-Encoding": encoding}))
        assert acaught.value.response.request.url == URL


@pytest.mark.parametrize("limit", [10, 1000])
def test_max_response_bytes_is_a_hard_cap(limit: int) -> None:
    body = [b"x" * (limit // 2), b"y" * (limit - limit // 2)]
    assert send(_capped(body, limit)).content == b"".join(body)
    with pytest.raises(APIResponseValidationError) as caught:
        send(_capped([*body, b"z"], limit))
    assert (
        str(caught.value)
        == f"200 the service sent an answer larger than max_response_bytes ({limit:,} bytes)"
    )
    with pytest.raises(APIResponseValidationError, match=r"larger than max_response_bytes"):
        asend(_acapped([*body, b"z"], limit))
    assert asend(_acapped(body, limit)).content == b"".join(body)


def _capped(body: list[bytes], limit: int, **headers: str) -> RetryTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, stream=Chunks(list(body)))

    return RetryTransport(
        httpx.MockTransport(handler),
        RetryPolicy(max_retries=0),
        sleep=lambda s: None,
        max_response_bytes=limit,
    )


def _acapped(body: list[bytes], limit: int, **headers: str) -> AsyncRetryTransport:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, stream=Chunks(list(body)))

    return AsyncRetryTransport(
        httpx.MockTransport(handler), RetryPolicy(max_retries=0), max_response_bytes=limit
    )


def test_the_cap_applies_to_answers_already_read_and_is_not_retried() -> None:
    transport, seen, sleeps = scripted([httpx.Response(200, content=b"x" * 11), 200], max_response_bytes=10)
    with pytest.raises(APIResponseValidationError, match=r"larger than max_response_bytes \(10 bytes\)"):
        send(transport)
    assert len(seen) == 1 and sleeps == []
    transport, seen, _ = scripted([httpx.Response(200, content=b"x" * 10)], max_response_bytes=10)
    assert send(transport).content == b"x" * 10
    atransport, _aseen, _ = ascripted([httpx.Response(200, content=b"x" * 11)], max_response_bytes=10)
    with pytest.raises(APIResponseValidationError):
        asend(atransport)


def test_a_compressed_answer_at_the_cap_is_accepted() -> None:
    data = b"y" * 1000
    raw = gzip.compress(data)
    # the gzip trailer arrives on its own, after every byte of the body was decoded
    assert send(_capped([raw[:-8], raw[-8:]], 1000, **{"Content-Encoding": "gzip"})).content == data
    assert asend(_acapped([raw[:-8], raw[-8:]], 1000, **{"Content-Encoding": "gzip"})).content == data
    with pytest.raises(APIResponseValidationError, match=r"\(999 bytes\)"):
        send(_capped([raw], 999, **{"Content-Encoding": "gzip"}))


def test_a_decompression_bomb_costs_at_most_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    real = zlib.decompressobj
    inflated: list[int] = []

    class Counting:
        def __init__(self, *args: Any) -> None:
            self._inner = real(*args)

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            out = self._inner.decompress(data, max_length)
            inflated.append(len(out))
            return out

        @property
        def unconsumed_tail(self) -> bytes:
            return self._inner.unconsumed_tail

        def flush(self) -> bytes:
            out = self._inner.flush()
            inflated.append(len(out))
            return out

    monkeypatch.setattr(zlib, "decompressobj", Counting)
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = packer.compress(b"x" * 500) + packer.flush(zlib.Z_SYNC_FLUSH)
    bomb = packer.compress(b"a" * 2_000_000) + packer.flush()
    with pytest.raises(APIResponseValidationError, match=r"\(1,000 bytes\)"):
        send(_capped([first, bomb], 1000, **{"Content-Encoding": "gzip"}))
    # never more than one byte past the cap (httpx itself decodes the error's empty copy: the 0s)
    assert [n for n in inflated if n] == [500, 501]
    inflated.clear()
    with pytest.raises(APIResponseValidationError, match=r"\(1,000 bytes\)"):
        asend(_acapped([first + bomb], 1000, **{"Content-Encoding": "gzip"}))
    assert [n for n in inflated if n] == [1001]


# --- sockets under the attempt's deadline ------------------------------------------------------
class RecordingStream:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.calls.append(("read", max_bytes, timeout))
        return b"data"

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.calls.append(("write", buffer, timeout))

    def close(self) -> None:
        self.calls.append(("close",))

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> Any:
        self.calls.append(("start_tls", ssl_context, server_hostname, timeout))
        return self.tls

    def get_extra_info(self, info: str) -> Any:
        self.calls.append(("info", info))
        return "extra"


def test_every_socket_operation_gets_at_most_the_time_left(clock: FakeTime) -> None:
    inner = RecordingStream()
    inner.tls = RecordingStream()  # type: ignore[attr-defined]
    stream = _transport._DeadlineStream(inner)  # type: ignore[arg-type]
    context = ssl.create_default_context()
    _transport._ATTEMPT.deadline = clock.mono + 4.0
    try:
        assert stream.read(1024, 10.0) == b"data"
        stream.write(b"abc", 1.0)
        tls = stream.start_tls(context, "apirest.3dcart.com", 2.0)
        tls.read(7, None)
        assert stream.get_extra_info("server_addr") == "extra"
        stream.close()
    finally:
        _transport._ATTEMPT.deadline = None
    assert inner.calls == [
        ("read", 1024, 4.0),
        ("write", b"abc", 1.0),
        ("start_tls", context, "apirest.3dcart.com", 2.0),
        ("info", "server_addr"),
        ("close",),
    ]
    assert isinstance(tls, _transport._DeadlineStream)
    assert inner.tls.calls == [("read", 7, 4.0)]  # type: ignore[attr-defined]
    stream.read(1, 9.0)  # outside an attempt: the timeout as given
    assert inner.calls[-1] == ("read", 1, 9.0)


def test_the_deadline_backend_connects_with_the_given_options() -> None:
    failures: list[BaseException] = []

    def fresh_thread() -> None:  # no attempt ever ran here
        try:
            _connect_with_options()
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    thread = threading.Thread(target=fresh_thread)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def _connect_with_options() -> None:
    listener = socket.create_server(("127.0.0.3", 0))
    port = listener.getsockname()[1]
    backend = _transport._DeadlineBackend()
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    try:
        stream = backend.connect_tcp(
            "127.0.0.3", port, 1.5, local_address="127.0.0.2", socket_options=options
        )
        peer, _ = listener.accept()
        try:
            assert isinstance(stream, _transport._DeadlineStream)
            sock = stream.get_extra_info("socket")
            assert sock.gettimeout() == 1.5
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert stream.get_extra_info("client_addr")[0] == "127.0.0.2"
            assert stream.get_extra_info("server_addr") == ("127.0.0.3", port)
            peer.sendall(b"hello")
            assert stream.read(64, 2.0) == b"hello" and sock.gettimeout() == 2.0
            stream.write(b"bye", 3.0)
            assert peer.recv(64) == b"bye" and sock.gettimeout() == 3.0
            stream.close()
        finally:
            peer.close()
    finally:
        listener.close()
    backend.sleep(0.001)


def test_the_deadline_backend_connects_unix_sockets(tmp_path: Path) -> None:
    path = str(tmp_path / "s")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen()
    backend = _transport._DeadlineBackend()
    try:
        stream = backend.connect_unix_socket(path, 2.5, [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)])
        peer, _ = listener.accept()
        try:
            sock = stream.get_extra_info("socket")
            assert isinstance(stream, _transport._DeadlineStream)
            assert sock.gettimeout() == 2.5 and sock.getpeername() == path
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            stream.close()
        finally:
            peer.close()
    finally:
        listener.close()


def test_the_pool_transport_speaks_http_through_the_deadline_backend() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Seen: yes\r\n\r\nhello")

    threading.Thread(target=serve, daemon=True).start()
    transport = PoolTransport(verify=False)
    try:
        with httpx.Client(transport=transport) as client:
            response = client.get(f"http://127.0.0.1:{port}/x")
        assert (response.status_code, response.headers["X-Seen"], response.content) == (201, "yes", b"hello")
        assert response.extensions["http_version"] == b"HTTP/1.1"
    finally:
        listener.close()
    refused = socket.create_server(("127.0.0.1", 0))
    dead = refused.getsockname()[1]
    refused.close()
    with httpx.Client(transport=PoolTransport()) as client, pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{dead}/x")


def test_the_pool_transport_takes_a_proxy_and_tls_settings() -> None:
    context = ssl.create_default_context()
    proxy = httpx.Proxy("http://user:secret@127.0.0.1:3128")
    transport = PoolTransport(verify=context, proxy=proxy)
    transport.close()
    PoolTransport(verify=False).close()


def _dripping_server() -> tuple[socket.socket, threading.Event]:
    """Answers headers at once, then one byte of body every 5 ms, for ever."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while not stop.wait(0.005):
                try:
                    conn.sendall(b"x")
                except OSError:
                    return

    threading.Thread(target=serve, daemon=True).start()
    return listener, stop


def test_a_dripping_server_is_cut_off_at_the_deadline_on_real_sockets() -> None:
    listener, stop = _dripping_server()
    port = listener.getsockname()[1]
    transport = RetryTransport(PoolTransport(), RetryPolicy(max_retries=0), sleep=lambda s: None)
    started = time.monotonic()
    try:
        with (
            httpx.Client(transport=transport, timeout=0.1) as client,
            pytest.raises(httpx.ReadTimeout) as caught,
        ):
            client.get(f"http://127.0.0.1:{port}/drip")
    finally:
        stop.set()
        listener.close()
    elapsed = time.monotonic() - started
    assert str(caught.value) == "the answer took longer than 0.3 s in all (the attempt's deadline)"
    assert 0.25 < elapsed < 5.0  # each read was quick; the attempt as a whole was not


# --- the throttle ------------------------------------------------------------------------------
class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("capacity", [1, 2])
def test_a_tiny_bucket_has_no_burst(capacity: int) -> None:
    throttle = Throttle(RateLimit(capacity=capacity, per_second=2), clock=Clock(10.0))
    assert [throttle.reserve() for _ in range(4)] == [0.0, 0.5, 1.0, 1.5]


def test_the_bucket_leaks_at_its_rate_from_any_start() -> None:
    clock = Clock(100.0)
    throttle = Throttle(RateLimit(capacity=4, per_second=0.5), clock=clock)
    assert [throttle.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 2.0, 4.0]
    clock.now = 104.0  # two intervals later: the next slot is free again at 110 - tolerance 4
    assert throttle.reserve() == 2.0
    clock.now = 1000.0
    assert throttle.reserve() == 0.0


def test_areserve_reserves_the_same_slots() -> None:
    throttle = Throttle(RateLimit(capacity=1, per_second=4), clock=Clock(5.0))

    async def go() -> list[float]:
        waits = [await throttle.areserve() for _ in range(3)]
        await throttle.aclose()
        return waits

    assert asyncio.run(go()) == [0.0, 0.25, 0.5]


def test_the_throttle_is_shared_by_threads() -> None:
    throttle = Throttle(RateLimit(capacity=2, per_second=10), clock=Clock(0.0))
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            wait = throttle.reserve()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == pytest.approx([i * 0.1 for i in range(100)])


def test_rate_limit_bounds_and_messages() -> None:
    assert RateLimit(capacity=1, per_second=0.5).capacity == 1
    with pytest.raises(ValueError) as caught:
        RateLimit(capacity=0)
    assert str(caught.value) == "RateLimit capacity must be at least 1, not 0"
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError) as caught:
            RateLimit(per_second=bad)
        assert str(caught.value) == f"RateLimit per_second must be positive, not {bad}"


def test_a_unix_socket_not_connected_by_the_deadline_is_a_connect_timeout(
    tmp_path: Path, clock: FakeTime
) -> None:
    _transport._ATTEMPT.deadline, _transport._ATTEMPT.budget = clock.mono - 0.5, 7.5
    try:
        with pytest.raises(httpcore.ConnectTimeout) as caught:  # nothing sent: safe to retry
            _transport._DeadlineBackend().connect_unix_socket(str(tmp_path / "xtest.sock"), 2.0)
    finally:
        _transport._ATTEMPT.deadline = _transport._ATTEMPT.budget = None
    assert type(caught.value) is _transport._DeadlineBeforeConnected
    assert str(caught.value) == "the answer took longer than 7.5 s in all (the attempt's deadline)"


class _AbandonedWhileWaiting(threading.Event):
    """The reader stops while the request waits: the wait is cut short and says so."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        self.set()
        return True


def test_a_request_abandoned_while_it_waits_for_the_bucket_stops_and_gives_its_slot_back() -> None:
    throttle = Throttle(RateLimit(capacity=2, per_second=1), clock=lambda: 0.0)
    assert throttle.reserve() == 0.0  # the bucket is full: the next request waits 1 s
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    abandoned = _AbandonedWhileWaiting()
    transport = RetryTransport(
        httpx.MockTransport(answer),
        RetryPolicy(),
        throttle=throttle,
        sleep=lambda s: None,
        abandoned=abandoned,
    )
    request = httpx.Request("GET", URL)
    with pytest.raises(httpx.TransportError) as caught:
        transport.handle_request(request)
    assert str(caught.value) == "abandoned: the caller stopped reading" and caught.value.request is request
    assert abandoned.waits == [1.0] and sent == []
    assert throttle.reserve() == 1.0  # its slot was given back: the next one waits as it would have


def test_a_slot_given_back_is_the_next_ones() -> None:
    throttle = Throttle(RateLimit(capacity=2, per_second=4), clock=lambda: 10.0)
    assert [throttle.reserve() for _ in range(3)] == [0.0, 0.25, 0.5]
    throttle.release()
    throttle.release()
    assert throttle.reserve() == 0.25


def test_a_tcp_connection_not_made_by_the_deadline_is_a_connect_timeout(clock: FakeTime) -> None:
    _transport._ATTEMPT.deadline, _transport._ATTEMPT.budget = clock.mono - 0.5, 7.5
    try:
        with pytest.raises(httpcore.ConnectTimeout) as caught:  # nothing sent: safe to retry
            _transport._DeadlineBackend().connect_tcp("127.0.0.1", 9, 2.0)
    finally:
        _transport._ATTEMPT.deadline = _transport._ATTEMPT.budget = None
    assert type(caught.value) is _transport._DeadlineBeforeConnected


def _serve_once(answer: bytes, *, linger: bool = True) -> tuple[socket.socket, int, list[bytes]]:
    """A loopback server that answers one request with `answer`, then (if `linger`) records what
    it reads next, or closes the connection at once."""
    listener = socket.create_server(("127.0.0.1", 0))
    after: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(2)
            conn.recv(65536)
            conn.sendall(answer)
            if not linger:
                return
            try:
                after.append(conn.recv(1))  # b"" once the client closed the connection
            except OSError:
                after.append(b"still open")

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1], after


def test_the_pool_transport_names_the_request_in_errors_before_and_during_the_body() -> None:
    refused = socket.create_server(("127.0.0.1", 0))
    dead = refused.getsockname()[1]
    refused.close()
    transport = PoolTransport()
    request = httpx.Request("GET", f"http://127.0.0.1:{dead}/x")
    with pytest.raises(httpx.ConnectError) as before:
        transport.handle_request(request)  # as the retry transport calls it: no client fills it in
    assert before.value.request is request
    listener, port, _ = _serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", linger=False)
    try:
        request = httpx.Request("GET", f"http://127.0.0.1:{port}/x")
        response = transport.handle_request(request)
        with pytest.raises(httpx.RemoteProtocolError) as during:
            response.read()  # the connection closes 90 bytes early
        assert during.value.request is request
    finally:
        listener.close()
        transport.close()


def test_the_pool_transport_closes_the_connection_of_an_answer_closed_unread() -> None:
    listener, port, after = _serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 10)
    transport = PoolTransport()
    try:
        response = transport.handle_request(httpx.Request("GET", f"http://127.0.0.1:{port}/x"))
        response.close()
        for _ in range(300):
            if after:
                break
            time.sleep(0.01)
        assert after == [b""]
    finally:
        listener.close()
        transport.close()


def test_the_pool_transport_passes_the_request_extensions_on() -> None:
    listener, port, _ = _serve_once(b"HTTP/1.1 204 No Content\r\n\r\n")
    events: list[str] = []
    transport = PoolTransport()
    try:
        request = httpx.Request(
            "GET", f"http://127.0.0.1:{port}/x", extensions={"trace": lambda name, info: events.append(name)}
        )
        assert transport.handle_request(request).status_code == 204
    finally:
        listener.close()
        transport.close()
    assert "connection.connect_tcp.started" in events and "http11.send_request_headers.started" in events


def test_a_body_the_inner_transport_already_decoded_is_not_decoded_again() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # httpx reads (and so decodes) a body given as content when the response is made
        return httpx.Response(200, content=gzip.compress(PAYLOAD), headers={"Content-Encoding": "gzip"})

    transport = RetryTransport(httpx.MockTransport(handler), RetryPolicy(max_retries=0), sleep=lambda s: None)
    assert send(transport).content == PAYLOAD


def test_a_request_abandoned_before_it_starts_sends_nothing() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    abandoned = threading.Event()
    abandoned.set()
    transport = RetryTransport(
        httpx.MockTransport(answer), RetryPolicy(), sleep=lambda s: None, abandoned=abandoned
    )
    request = httpx.Request("GET", URL)
    with pytest.raises(httpx.TransportError) as caught:
        transport.handle_request(request)
    assert str(caught.value) == "abandoned: the caller stopped reading" and caught.value.request is request
    assert sent == []


def test_an_operation_bounded_as_much_by_its_timeout_as_by_the_deadline_keeps_its_timeout(
    clock: FakeTime,
) -> None:
    _transport._ATTEMPT.deadline, _transport._ATTEMPT.budget = clock.mono + 2.5, 10.0
    try:
        assert _transport._bounded(2.5) == (2.5, False)  # a timeout then is the operation's own
        assert _transport._bounded(2.6) == (2.5, True)
        assert _transport._bounded(None) == (2.5, True)
    finally:
        _transport._ATTEMPT.deadline = _transport._ATTEMPT.budget = None


class _TracingInner(httpx.AsyncBaseTransport):
    """An async transport that reports httpcore's connection events through the request's `trace`
    extension, as httpcore does, then hangs in the phase given."""

    def __init__(self, hang_in: str, kind: str) -> None:
        self.hang_in = hang_in
        self.kind = kind  # "tcp" or "unix_socket"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace = request.extensions["trace"]
        await trace(f"connection.connect_{self.kind}.started", {"host": "xtest"})
        if self.hang_in == "connect":
            await asyncio.sleep(30)
        await trace(f"connection.connect_{self.kind}.complete", {"return_value": "xtest-stream"})
        if self.hang_in == "read":
            await asyncio.sleep(30)
        return httpx.Response(204)


@pytest.mark.parametrize("kind", ["tcp", "unix_socket"])
@pytest.mark.parametrize(
    ("hang_in", "error"), [("connect", httpx.ConnectTimeout), ("read", httpx.ReadTimeout), ("none", None)]
)
def test_an_async_deadline_says_whether_it_ran_out_while_connecting(
    hang_in: str, error: type[httpx.TimeoutException] | None, kind: str
) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    async def callers_trace(event: str, info: dict[str, Any]) -> None:
        seen.append((event, info))

    async def go() -> int:
        transport = AsyncRetryTransport(_TracingInner(hang_in, kind), RetryPolicy(max_retries=0))
        request = httpx.Request(
            "GET",
            URL,
            extensions={"timeout": {"connect": 0.01, "read": 0.01}, "trace": callers_trace},
        )
        return (await transport.handle_async_request(request)).status_code

    if error is None:
        assert asyncio.run(go()) == 204
    else:
        with pytest.raises(httpx.TimeoutException) as caught:
            asyncio.run(go())
        assert type(caught.value) is error and caught.value.request.url == URL
        deadline = _transport.ATTEMPT_DEADLINE_FACTOR * 0.01
        assert (
            str(caught.value) == f"the answer took longer than {deadline:g} s in all (the attempt's deadline)"
        )
    # the caller's own trace still sees every event, as sent
    expected = [(f"connection.connect_{kind}.started", {"host": "xtest"})]
    if hang_in != "connect":
        expected.append((f"connection.connect_{kind}.complete", {"return_value": "xtest-stream"}))
    assert seen == expected


def test_a_closed_stores_transport_refuses_to_send() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    transport = RetryTransport(httpx.MockTransport(answer), RetryPolicy(), sleep=lambda s: None)
    transport.closed = lambda: True
    with pytest.raises(threedcart.StoreClosedError) as caught:
        transport.handle_request(httpx.Request("GET", URL))
    assert str(caught.value) == "the store was closed (close() or the end of its with block); make a new one"
    assert sent == []


def test_a_request_abandoned_while_it_waits_to_retry_stops() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(503, headers={"Retry-After": "2"})

    abandoned = _AbandonedWhileWaiting()
    transport = RetryTransport(
        httpx.MockTransport(answer), RetryPolicy(max_retries=3), sleep=lambda s: None, abandoned=abandoned
    )
    request = httpx.Request("GET", URL)
    with pytest.raises(httpx.TransportError) as caught:
        transport.handle_request(request)
    assert str(caught.value) == "abandoned: the caller stopped reading" and caught.value.request is request
    assert abandoned.waits == [2.0] and len(sent) == 1

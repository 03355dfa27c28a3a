"""Units of the SDK that need no server: back-off, throttle, dates, configuration, public names."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import threedcart
from conftest import API
from threedcart._params import store_time
from threedcart._throttle import Throttle
from threedcart._transport import AsyncRetryTransport, RetryPolicy, RetryTransport

EASTERN = ZoneInfo("America/New_York")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# --- back-off -------------------------------------------------------------------------
def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    low = RetryPolicy(jitter=lambda: 0.0)
    high = RetryPolicy(jitter=lambda: 1.0)
    assert [low.delay(a) for a in range(6)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert [high.delay(a) for a in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(jitter=lambda: 0.0)
    assert policy.delay(0, httpx.Response(429, headers={"Retry-After": "3"})) == 3.0
    assert policy.delay(0, httpx.Response(503, headers={"Retry-After": "3600"})) == 60.0
    assert policy.delay(1, httpx.Response(503, headers={"Retry-After": "soon"})) == 0.5
    http_date = "Wed, 21 Oct 2015 07:28:00 GMT"  # in the past: no wait
    assert policy.delay(0, httpx.Response(503, headers={"Retry-After": http_date})) == 0.0


@pytest.mark.parametrize(
    ("method", "status", "retried"),
    [
        ("GET", 500, True),
        ("GET", 502, True),
        ("GET", 503, True),
        ("GET", 504, True),
        ("GET", 429, True),
        ("PUT", 503, True),
        ("DELETE", 500, True),
        ("GET", 400, False),
        ("GET", 404, False),
        ("POST", 429, True),
        ("POST", 500, False),
        ("POST", 503, False),
    ],
)
def test_which_answers_are_retried(method: str, status: int, retried: bool) -> None:
    assert RetryPolicy.retries_status(method, status) is retried


def _transport(
    statuses: list[int | Exception], clock: FakeClock, **policy: object
) -> tuple[RetryTransport, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        outcome = statuses.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(outcome, headers={"Retry-After": "2"} if outcome == 429 else {})

    inner = httpx.MockTransport(handler)
    transport = RetryTransport(inner, RetryPolicy(jitter=lambda: 1.0, **policy), sleep=clock.sleep)  # type: ignore[arg-type]
    return transport, seen


def test_transport_retries_get_then_gives_up_with_the_last_answer() -> None:
    clock = FakeClock()
    transport, seen = _transport([503, 500, 502], clock, max_retries=2)
    with httpx.Client(transport=transport, base_url="http://t") as client:
        assert client.get("/x").status_code == 502
    assert seen == ["GET"] * 3 and clock.sleeps == [0.5, 1.0]


def test_transport_never_retries_a_create_after_a_server_error() -> None:
    clock = FakeClock()
    transport, seen = _transport([503, 201], clock)
    with httpx.Client(transport=transport, base_url="http://t") as client:
        assert client.post("/x", json={}).status_code == 503
    assert seen == ["POST"] and clock.sleeps == []


def test_transport_retries_a_create_that_cannot_have_been_processed() -> None:
    clock = FakeClock()
    transport, seen = _transport([httpx.ConnectError("refused"), 429, 201], clock)
    with httpx.Client(transport=transport, base_url="http://t") as client:
        assert client.post("/x", json={}).status_code == 201
    assert seen == ["POST"] * 3 and clock.sleeps == [0.5, 2.0]  # back-off, then Retry-After
    clock = FakeClock()
    transport, seen = _transport([httpx.ReadTimeout("slow"), 201], clock)
    with httpx.Client(transport=transport, base_url="http://t") as client, pytest.raises(httpx.ReadTimeout):
        client.post("/x", json={})
    assert seen == ["POST"]


def test_async_transport_retries_with_the_same_policy() -> None:
    slept: list[float] = []
    answers = [500, 200]

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(answers.pop(0))

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def scenario() -> int:
        transport = AsyncRetryTransport(
            httpx.MockTransport(handler), RetryPolicy(jitter=lambda: 0.0), sleep=sleep
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get("/x")).status_code

    assert asyncio.run(scenario()) == 200 and slept == [0.25]


# --- throttle -------------------------------------------------------------------------
def test_throttle_lets_a_burst_through_then_paces_at_the_leak_rate() -> None:
    clock = FakeClock()
    throttle = Throttle(threedcart.RateLimit(capacity=50, per_second=2), clock=clock)
    waits = [throttle.reserve() for _ in range(52)]
    assert waits[:49] == [0.0] * 49  # the burst, less one request of headroom
    assert waits[49:] == [0.5, 1.0, 1.5]
    clock.now = 100.0  # the bucket drained
    assert throttle.reserve() == 0.0


def test_throttle_paces_a_steady_client_exactly_at_the_rate() -> None:
    clock = FakeClock()
    throttle = Throttle(threedcart.RateLimit(capacity=3, per_second=4), clock=clock)
    for _ in range(20):
        clock.sleep(throttle.reserve())
    # 1 request of burst headroom, then one every 0.25 s
    assert clock.now == pytest.approx((20 - 2) * 0.25)


def test_transport_waits_for_the_throttle() -> None:
    clock = FakeClock()
    throttle = Throttle(threedcart.RateLimit(capacity=2, per_second=1), clock=clock)
    transport = RetryTransport(
        httpx.MockTransport(lambda r: httpx.Response(200)), RetryPolicy(), throttle, sleep=clock.sleep
    )
    with httpx.Client(transport=transport, base_url="http://t") as client:
        for _ in range(4):
            client.get("/x")
    assert clock.sleeps == [1.0, 1.0, 1.0]


def test_rate_limit_validates() -> None:
    with pytest.raises(ValueError, match="capacity"):
        threedcart.RateLimit(capacity=0)
    with pytest.raises(ValueError, match="per_second"):
        threedcart.RateLimit(per_second=0)


# --- dates ------------------------------------------------------------------------------
def test_store_time_formats() -> None:
    assert store_time(datetime(2026, 3, 1, 9, 5, 7), EASTERN) == "03/01/2026 09:05:07"
    assert store_time(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), EASTERN) == "07/01/2026 08:00:00"  # EDT
    assert store_time(datetime(2026, 1, 1, 12, 0, tzinfo=UTC), EASTERN) == "01/01/2026 07:00:00"  # EST
    assert store_time(date(2026, 1, 31), EASTERN) == "01/31/2026 00:00:00"
    assert store_time(date(2026, 1, 31), EASTERN, end_of_day=True) == "01/31/2026 23:59:59"
    assert store_time("2026-01-31", EASTERN, end_of_day=True) == "01/31/2026 23:59:59"
    assert store_time("2026-01-31 10:30", EASTERN) == "01/31/2026 10:30:00"
    assert store_time("2026-01-31T10:30:00Z", EASTERN) == "01/31/2026 05:30:00"
    with pytest.raises(TypeError, match="must be a datetime"):
        store_time(20260131, EASTERN)  # type: ignore[arg-type]


# --- configuration --------------------------------------------------------------------
def test_from_env_reads_the_three_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREEDCART_SECURE_URL", "https://shop.3dcartstores.com")
    monkeypatch.setenv("THREEDCART_PRIVATE_KEY", "env-private-key")
    monkeypatch.setenv("THREEDCART_TOKEN", "env-token")
    monkeypatch.delenv("THREEDCART_BASE_URL", raising=False)
    with threedcart.Store.from_env() as store:
        assert store.base_url == "https://apirest.3dcart.com"
        assert store.rate_limit == threedcart.RateLimit()  # on for production
        assert store.secure_url == "https://shop.3dcartstores.com"
    monkeypatch.setenv("THREEDCART_BASE_URL", "http://127.0.0.1:8300")
    with threedcart.Store.from_env(max_retries=4) as store:
        assert store.base_url == "http://127.0.0.1:8300" and store.rate_limit is None
        assert store.max_retries == 4
    monkeypatch.delenv("THREEDCART_TOKEN")
    with pytest.raises(ValueError, match="THREEDCART_TOKEN is not set"):
        threedcart.Store.from_env()


def test_base_url_is_scheme_and_host_only() -> None:
    kwargs = {"secure_url": "https://s", "private_key": "k", "token": "t"}
    with pytest.raises(ValueError, match="scheme and host only"):
        threedcart.Store(**kwargs, base_url=f"https://apirest.3dcart.com{API}")
    with pytest.raises(ValueError, match="https://host"):
        threedcart.Store(**kwargs, base_url="apirest.3dcart.com")
    with pytest.raises(ValueError, match="token is required"):
        threedcart.Store(secure_url="https://s", private_key="k", token=" ")


def _ssl_context(store: threedcart.Store) -> ssl.SSLContext:
    transport = store._http._transport  # type: ignore[attr-defined]
    return transport.inner._pool._ssl_context  # type: ignore[no-any-return]


def test_tls_is_verified_unless_explicitly_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs = {"secure_url": "https://s", "private_key": "k", "token": "t"}
    with threedcart.Store(**kwargs) as store:
        assert store.verify is True
        assert _ssl_context(store).verify_mode == ssl.CERT_REQUIRED and _ssl_context(store).check_hostname
    # The warning is the SDK's, once per process: expected here, not left in pytest's summary.
    monkeypatch.setattr("threedcart._client._WARNED", set())
    with pytest.warns(UserWarning, match=r"TLS verification is off \(verify=False\)"):
        store = threedcart.Store(**kwargs, verify=False)
    with store:
        assert _ssl_context(store).verify_mode == ssl.CERT_NONE


def test_all_lists_exactly_the_public_names() -> None:
    # (threedcart.contract, the optional subpackage, is an attribute once some code imported it)
    public = {name for name in vars(threedcart) if not name.startswith("_")} - {
        "annotations",
        "contract",
        "mirror",
    }
    assert sorted(threedcart.__all__) == threedcart.__all__
    assert set(threedcart.__all__) - {"__version__"} == public
    assert sorted(threedcart.errors.__all__) == threedcart.errors.__all__
    errors_public = {
        n for n, v in vars(threedcart.errors).items() if isinstance(v, type) and issubclass(v, Exception)
    }
    assert set(threedcart.errors.__all__) == errors_public


def test_error_tree() -> None:
    e = threedcart.errors
    for cls in (
        e.BadRequestError,
        e.AuthenticationError,
        e.NotFoundError,
        e.UnsupportedMediaTypeError,
        e.RateLimitError,
        e.ServerError,
    ):
        assert issubclass(cls, e.APIError) and issubclass(cls, e.ThreeDCartError)
    assert issubclass(e.APITimeoutError, e.APIConnectionError)
    assert issubclass(e.APIConnectionError, e.ThreeDCartError)
    assert not issubclass(e.APIConnectionError, e.APIError)
    assert e.error_class(502) is e.ServerError and e.error_class(418) is e.APIError

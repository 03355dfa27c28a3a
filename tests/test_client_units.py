"""`Store` and `AsyncStore` (`_client`) piece by piece: construction and its errors, `from_env`, every
option's default and effect, `with_options` and per-call views, the shared pool and rate limit,
closing, context managers, and reprs without secrets.

No server for most: stores send through `httpx.MockTransport` with scripted answers (the retry
transport stays in place). Where the default connection pool or a proxy must carry a request, a
loopback HTTP server in a thread answers. Redis is never contacted: a `SharedRateLimit`'s clients are
made (lazily, without connecting) and closed. Every secret here is synthetic.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import inspect
import logging
import math
import platform
import shutil
import ssl
import sys
import threading
import uuid
import warnings
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import certifi
import httpcore
import httpx
import pytest
import threedcart
from threedcart import RateLimit, SharedRateLimit, _secrets, errors
from threedcart._client import (
    AsyncStore,
    Store,
    StoreOptions,
    _BaseStore,  # pyright: ignore[reportPrivateUsage]
    _loopback,  # pyright: ignore[reportPrivateUsage]
    _LoopTransports,  # pyright: ignore[reportPrivateUsage]
    configured_zone,
    store_zone,
)
from threedcart._customers import Customers
from threedcart._customers_async import AsyncCustomers
from threedcart._shared_limit import SharedThrottle, store_key
from threedcart._throttle import Throttle
from threedcart._transport import PoolTransport
from threedcart_customers_client import AuthenticatedClient
from threedcart_customers_client.api.customers import get_customer

T = TypeVar("T")

SHOP = "https://shop.example.com"
CREDS: dict[str, Any] = {"secure_url": SHOP, "private_key": "pk-client-units", "token": "tok-client-units"}
LOCAL = "http://127.0.0.1:9"  # loopback: no plain-http warning, and nothing listens
EASTERN = ZoneInfo("America/New_York")
CUSTOMER = b'[{"CustomerID": 5}]'
UNKNOWN_ZONE = "is not a time zone this machine knows (an IANA name, e.g. America/New_York)"
CLOSED_STORE = "is closed (close() or the end of its with block); make a new one"
CLOSED_TRANSPORT = "the store was closed (close() or the end of its with block); make a new one"
CONTROL = "contains a control character at position 2: headers carry printable ASCII only"
ENV_VARS = (
    "THREEDCART_SECURE_URL",
    "THREEDCART_PRIVATE_KEY",
    "THREEDCART_TOKEN",
    "THREEDCART_BASE_URL",
    "THREEDCART_TIMEOUT",
    "THREEDCART_STORE_TIMEZONE",
    "THREEDCART_LOG",
    "THREEDCART_RATE_LIMIT_URL",
    "REQUEST_METHOD",  # (urllib ignores HTTP_PROXY under CGI)
    *(f"{name}_PROXY" for name in ("HTTP", "HTTPS", "ALL", "NO")),
    *(f"{name}_proxy" for name in ("http", "https", "all", "no")),
)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    """No THREEDCART_* or proxy variable from the caller's environment; the SDK's once-per-process
    warnings fire again in each test."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("threedcart._client._WARNED", set())


class Service:
    """The service behind `httpx.MockTransport`: records each request and answers the same."""

    def __init__(self, status: int = 200, body: bytes = CUSTOMER, **headers: str) -> None:
        self.status, self.body, self.headers = status, body, headers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, content=self.body, headers=self.headers)


class Spy(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A transport (sync and async) over a `Service` that counts how often it is closed."""

    def __init__(self, service: Service | None = None) -> None:
        self.mock = httpx.MockTransport(service or Service())
        self.closed = 0
        self.aclosed = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.mock.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.mock.handle_async_request(request)

    def close(self) -> None:
        self.closed += 1

    async def aclose(self) -> None:
        self.aclosed += 1


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def store(service: Service | None = None, **options: Any) -> Store:
    return Store(**{**CREDS, "transport": httpx.MockTransport(service or Service()), **options})


def astore(service: Service | None = None, **options: Any) -> AsyncStore:
    return AsyncStore(**{**CREDS, "transport": httpx.MockTransport(service or Service()), **options})


def sent(request: httpx.Request) -> list[tuple[bytes, bytes]]:
    """The request's headers as they go on the wire (names in their case), Host and Connection aside."""
    return [(k, v) for k, v in request.headers.raw if k not in (b"Host", b"Connection")]


def user_agent() -> str:
    python, version = platform.python_version(), threedcart.__version__
    return f"threedcart/{version} (api {threedcart.API_VERSION}) python/{python} httpx/{httpx.__version__}"


class Loopback:
    """A loopback HTTP/1.1 server, or forward proxy, in a thread: records each request line and its
    headers, and answers one customer."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                seen.append((self.requestline, dict(self.headers.items())))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(CUSTOMER)))
                self.end_headers()
                self.wfile.write(CUSTOMER)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    server = Loopback()
    try:
        yield server
    finally:
        server.stop()


def proxy_url(made: Store | AsyncStore) -> str | None:
    """The URL of the proxy the store chose, if any."""
    return None if made._proxy is None else str(made._proxy.url)


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused at once)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return port


# --- time zones --------------------------------------------------------------------------------------
def test_store_zone_reads_iana_names_and_names_what_was_wrong() -> None:
    assert store_zone("America/Chicago") == ZoneInfo("America/Chicago")
    for name in ("Mars/Olympus", "/etc/localtime", "../x", "America"):  # unknown, ValueError, OSError
        with pytest.raises(ValueError) as info:
            store_zone(name)
        assert str(info.value) == f"store_timezone: {name!r} {UNKNOWN_ZONE}"
        assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(ValueError, match=r"^--tz: 'Mars/Olympus' is not a time zone"):
        store_zone("Mars/Olympus", "--tz")


def test_configured_zone_is_the_given_one_then_the_variable_then_eastern(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert configured_zone() == EASTERN
    assert configured_zone(None) == EASTERN and configured_zone("") == EASTERN
    monkeypatch.setenv("THREEDCART_STORE_TIMEZONE", "  America/Chicago  ")
    assert configured_zone() == ZoneInfo("America/Chicago")
    assert configured_zone("", "--tz") == ZoneInfo("America/Chicago")
    assert configured_zone("Europe/Paris") == ZoneInfo("Europe/Paris")
    monkeypatch.setenv("THREEDCART_STORE_TIMEZONE", "   ")
    assert configured_zone() == EASTERN


def test_configured_zone_errors_name_the_option_or_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError) as info:
        configured_zone("Mars/Olympus")
    assert str(info.value) == f"store_timezone: 'Mars/Olympus' {UNKNOWN_ZONE}"
    with pytest.raises(ValueError) as info:
        configured_zone("Mars/Olympus", "--store-timezone")
    assert str(info.value) == f"--store-timezone: 'Mars/Olympus' {UNKNOWN_ZONE}"
    monkeypatch.setenv("THREEDCART_STORE_TIMEZONE", " Mars/Base ")
    with pytest.raises(ValueError) as info:
        configured_zone(what="--store-timezone")
    assert str(info.value) == f"THREEDCART_STORE_TIMEZONE: 'Mars/Base' {UNKNOWN_ZONE}"
    assert configured_zone("Europe/Paris") == ZoneInfo("Europe/Paris")  # the given one wins


# --- construction: arguments and their errors ---------------------------------------------------------
@pytest.mark.parametrize("name", ["secure_url", "private_key", "token"])
def test_each_credential_is_required_and_named_never_shown(name: str) -> None:
    for value in (None, "", "   ", 42):
        with pytest.raises(ValueError) as info:
            Store(**{**CREDS, name: value})
        assert str(info.value) == f"{name} is required (a non-empty string)"
    with pytest.raises(ValueError) as info:
        Store(**{**CREDS, name: "ab\x01secret"})
    assert str(info.value) == f"{name} {CONTROL}"
    with pytest.raises(ValueError) as info:
        Store(**{**CREDS, name: "abésecret"})
    assert (
        str(info.value)
        == f"{name} contains a non-ASCII character at position 2: headers carry printable ASCII only"
    )


def test_max_retries_is_a_whole_number_from_zero() -> None:
    for bad in (True, False, -1, 1.5, "2", None):
        with pytest.raises(ValueError) as info:
            store(max_retries=bad)
        assert str(info.value) == f"max_retries must be a whole number, 0 or more, not {bad!r}"
    assert [store(max_retries=n).max_retries for n in (0, 1, 7)] == [0, 1, 7]
    assert store().max_retries == 2


def test_max_response_bytes_is_a_positive_whole_number() -> None:
    for bad in (True, 0, -5, 1.5, "5", None):
        with pytest.raises(ValueError) as info:
            store(max_response_bytes=bad)
        assert str(info.value) == f"max_response_bytes must be a positive whole number, not {bad!r}"
    assert [store(max_response_bytes=n).max_response_bytes for n in (1, 2)] == [1, 2]
    assert store().max_response_bytes == 64 * 1024 * 1024


def test_store_timezone_is_an_iana_name_or_a_tzinfo() -> None:
    assert store().store_tz == EASTERN
    assert store(store_timezone="America/Chicago").store_tz == ZoneInfo("America/Chicago")
    assert store(store_timezone=UTC).store_tz is UTC
    with pytest.raises(TypeError) as info:
        store(store_timezone=5)
    assert str(info.value) == (
        "store_timezone must be an IANA zone name (e.g. America/New_York) or a tzinfo, not int"
    )
    with pytest.raises(ValueError) as info:
        store(store_timezone="Mars/Olympus")
    assert str(info.value) == f"store_timezone: 'Mars/Olympus' {UNKNOWN_ZONE}"


def test_base_url_is_a_string_of_scheme_and_host() -> None:
    with pytest.raises(TypeError) as info:
        store(base_url=5)
    assert str(info.value) == "base_url must be a string, not int"
    for url in ("ftp://h.example", "https://", "h.example", "", "https:h.example"):
        with pytest.raises(ValueError) as info:
            store(base_url=url)
        assert str(info.value) == f"base_url must look like https://host[:port], not {url!r}"
    for url in ("https://h.example/x", "https://h.example/3dCartWebAPI/v1", "https://h.example?a=1"):
        with pytest.raises(ValueError) as info:
            store(base_url=url)
        assert str(info.value) == (
            f"base_url is the scheme and host only (the SDK adds /3dCartWebAPI/v1), not {url!r}"
        )
    with pytest.raises(ValueError, match=r"scheme and host only .*not 'https://h\.example#f'$"):
        store(base_url="https://h.example#f")
    assert store().base_url == "https://apirest.3dcart.com"
    assert store(base_url="https://h.example/").base_url == "https://h.example"
    assert store(base_url="HTTPS://h.example:8443").base_url == "https://h.example:8443"
    assert store(base_url="http://127.0.0.1:8300").base_url == "http://127.0.0.1:8300"


def test_timeout_is_seconds_or_an_httpx_timeout() -> None:
    assert store().timeout == httpx.Timeout(60.0, connect=10.0)
    assert store(timeout=0.5).timeout == httpx.Timeout(0.5)
    assert store(timeout=2).timeout == httpx.Timeout(2)
    phases = httpx.Timeout(0.5, connect=None)
    assert store(timeout=phases).timeout is phases
    for wrong in (True, "5", None, [1]):
        with pytest.raises(TypeError) as info:
            store(timeout=wrong)
        assert str(info.value) == (
            f"timeout must be seconds (a number) or an httpx.Timeout, not {type(wrong).__name__}"
        )
    for bad in (0, -1, 0.0, math.inf, math.nan, -math.inf):
        with pytest.raises(ValueError) as info:
            store(timeout=bad)
        assert str(info.value) == f"timeout must be a finite number of seconds above 0, not {bad}"
    for phase, seconds in (("read", 0), ("pool", -1.0), ("connect", math.inf), ("write", math.nan)):
        with pytest.raises(ValueError) as info:
            store(timeout=httpx.Timeout(5, **{phase: seconds}))
        assert str(info.value) == (
            f"timeout: its {phase} phase must be None or a finite number of seconds above 0, not {seconds}"
        )


def test_trust_env_and_rate_limit_are_type_checked() -> None:
    for wrong in ("yes", None, 1):
        with pytest.raises(TypeError) as info:
            store(trust_env=wrong)
        assert str(info.value) == f"trust_env must be True or False, not {type(wrong).__name__}"
    for wrong in ("fast", 0, 2.0):
        with pytest.raises(TypeError) as info:
            store(rate_limit=wrong)
        assert str(info.value) == (
            "rate_limit must be True, False, None, a RateLimit or a SharedRateLimit, "
            f"not {type(wrong).__name__}"
        )


def test_transport_must_match_the_store() -> None:
    with pytest.raises(TypeError) as info:
        Store(**CREDS, transport=httpx.AsyncHTTPTransport())
    assert str(info.value) == "transport must be an httpx.BaseTransport, not AsyncHTTPTransport"
    with pytest.raises(TypeError) as info:
        AsyncStore(**CREDS, transport=httpx.HTTPTransport())
    assert str(info.value) == "transport must be an httpx.AsyncBaseTransport, not HTTPTransport"
    with pytest.raises(TypeError) as info:
        AsyncStore(**CREDS, _view_of=store()._shared)
    assert str(info.value) == "an AsyncStore's view is made from an AsyncStore"


def test_store_options_are_the_constructors_keywords() -> None:
    parameters = inspect.signature(Store.__init__).parameters
    public = {name for name in parameters if name != "self" and not name.startswith("_")}
    assert set(StoreOptions.__annotations__) == public


def test_public_attributes_and_defaults() -> None:
    with store() as sync:
        assert (sync.secure_url, sync.base_url, sync.max_retries) == (SHOP, "https://apirest.3dcart.com", 2)
        assert (sync.verify, sync.is_closed, sync.store_tz) == (True, False, EASTERN)
        assert isinstance(sync.customers, Customers) and sync.customers._store is sync
        assert isinstance(sync.client, AuthenticatedClient) and sync.client is sync.client
    asynchronous = astore(base_url=LOCAL)
    assert (asynchronous.secure_url, asynchronous.base_url, asynchronous.is_closed) == (SHOP, LOCAL, False)
    assert (
        isinstance(asynchronous.customers, AsyncCustomers) and asynchronous.customers._store is asynchronous
    )
    assert asynchronous.rate_limit is None


# --- TLS -----------------------------------------------------------------------------------------------
def _pool(sync: Store) -> httpcore.ConnectionPool:
    inner = sync._http._transport.inner  # type: ignore[attr-defined]
    assert isinstance(inner, PoolTransport) and inner is sync._inner_transport
    return inner._pool  # type: ignore[no-any-return]


def test_tls_is_verified_by_default_or_as_given(tmp_path: Path) -> None:
    default = Store(**CREDS)
    assert default.verify is True and default._ssl is True
    assert _pool(default)._ssl_context.verify_mode == ssl.CERT_REQUIRED
    context = ssl.create_default_context()
    given = Store(**CREDS, verify=context)
    assert given.verify is context and given._ssl is context and _pool(given)._ssl_context is context
    bundle = str(tmp_path / "ca.pem")
    shutil.copy(certifi.where(), bundle)
    loaded = Store(**CREDS, verify=bundle)
    assert loaded.verify == bundle and isinstance(loaded._ssl, ssl.SSLContext)
    assert loaded._ssl.cert_store_stats()["x509_ca"] > 0 and _pool(loaded)._ssl_context is loaded._ssl
    with pytest.warns(UserWarning, match=r"TLS verification is off"):
        off = Store(**CREDS, verify=False)
    assert off.verify is False and _pool(off)._ssl_context.verify_mode == ssl.CERT_NONE


def test_a_ca_bundle_that_cannot_load_is_named(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(ValueError) as info:
        Store(**CREDS, verify=missing)
    assert (
        str(info.value)
        == f"verify: cannot load the CA bundle {missing!r} ([Errno 2] No such file or directory)"
    )
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(ValueError, match=r"^verify: cannot load the CA bundle '.*garbage\.pem' \(\[X509"):
        Store(**CREDS, verify=str(garbage))
    for wrong in (1, None, b"ca.pem"):
        with pytest.raises(TypeError) as info:
            Store(**CREDS, verify=wrong)
        assert str(info.value) == (
            f"verify must be a bool, a CA bundle path or an ssl.SSLContext, not {type(wrong).__name__}"
        )


def test_async_default_pool_takes_the_tls_context() -> None:
    context = ssl.create_default_context()
    transport = AsyncStore(**CREDS, verify=context)._transports._latest
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    assert (
        isinstance(transport._pool, httpcore.AsyncConnectionPool) and transport._pool._ssl_context is context
    )


# --- warnings and logging ---------------------------------------------------------------------------
def _warned(build: Callable[[], object]) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build()
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_insecure_settings_warn_and_log_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="threedcart")
    tls = "threedcart: TLS verification is off (verify=False): credentials can be intercepted"
    assert _warned(lambda: store(verify=False)) == [tls]
    assert _warned(lambda: store(verify=False)) == []  # once per process
    plain = "threedcart: http://h.example:8080 is plain http://: credentials travel unencrypted"
    assert _warned(lambda: store(base_url="http://h.example:8080/")) == [plain]
    assert _warned(lambda: store(base_url="http://h.example:8080")) == []
    records = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert records == [("threedcart", logging.WARNING, tls), ("threedcart", logging.WARNING, plain)]


@pytest.mark.parametrize(
    ("base_url", "warns"),
    [
        ("http://127.0.0.1:9", False),
        ("http://127.8.9.10", False),
        ("http://localhost:9", False),
        ("http://[::1]:9", False),
        ("https://h.example", False),
        ("https://apirest.3dcart.com", False),
        ("http://10.0.0.1", True),
        ("http://h.example", True),
        ("http://[2001:db8::1]", True),
    ],
)
def test_plain_http_warns_unless_loopback(base_url: str, warns: bool) -> None:
    expected = [f"threedcart: {base_url} is plain http://: credentials travel unencrypted"] if warns else []
    assert _warned(lambda: store(base_url=base_url)) == expected


def test_loopback_hosts() -> None:
    # hosts as httpx.URL gives them: lower case, no brackets
    assert [_loopback(h) for h in ("localhost", "127.0.0.1", "127.1.2.3", "::1")] == [True] * 4
    assert [_loopback(h) for h in ("10.0.0.1", "h.example", "2001:db8::1", "[::1]", "")] == [False] * 5


@pytest.fixture
def sdk_logger() -> Iterator[logging.Logger]:
    """The `threedcart` logger, as it was before the test (handlers, level, the env handler's mark)."""
    log = logging.getLogger("threedcart")
    handlers, level = list(log.handlers), log.level
    marked = log.__dict__.pop("_threedcart_env_handler", None)
    try:
        yield log
    finally:
        for handler in [h for h in log.handlers if h not in handlers]:
            log.removeHandler(handler)
        log.setLevel(level)
        log.__dict__.pop("_threedcart_env_handler", None)
        if marked is not None:
            log._threedcart_env_handler = marked  # type: ignore[attr-defined]


@pytest.mark.parametrize(("value", "level"), [(" Debug ", logging.DEBUG), ("INFO", logging.INFO)])
def test_threedcart_log_adds_one_stderr_handler(
    value: str, level: int, sdk_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = list(sdk_logger.handlers)
    monkeypatch.setenv("THREEDCART_LOG", value)
    store()
    store()  # a second store adds no second handler
    added = [h for h in sdk_logger.handlers if h not in before]
    assert len(added) == 1 and type(added[0]) is logging.StreamHandler
    handler = added[0]
    assert handler.stream is sys.stderr
    assert handler.formatter is not None
    assert handler.formatter._fmt == "%(asctime)s %(levelname)s %(name)s: %(message)s"
    assert sdk_logger.level == level and getattr(sdk_logger, "_threedcart_env_handler", None) is True


@pytest.mark.parametrize("value", ["warning", "", "debugging"])
def test_threedcart_log_other_values_change_nothing(
    value: str, sdk_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, level = list(sdk_logger.handlers), sdk_logger.level
    monkeypatch.setenv("THREEDCART_LOG", value)
    store()
    assert sdk_logger.handlers == before and sdk_logger.level == level
    assert not hasattr(sdk_logger, "_threedcart_env_handler")


# --- what each request carries ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_requests_carry_the_credentials_user_agent_and_encodings(kind: str) -> None:
    service = Service()
    creds = {"secure_url": f" {SHOP} ", "private_key": " pk-client-units ", "token": "tok-client-units "}
    if kind == "sync":
        with store(service, **creds) as sync:
            sync.customers.get(5)
    else:

        async def call() -> None:
            async with astore(service, **creds) as asynchronous:
                await asynchronous.customers.get(5)

        run(call())
    (request,) = service.requests
    assert str(request.url) == "https://apirest.3dcart.com/3dCartWebAPI/v1/Customers/5"
    assert sent(request) == [
        (b"Accept", b"application/json"),
        (b"User-Agent", user_agent().encode()),
        (b"Accept-Encoding", b"gzip, deflate"),
        (b"SecureURL", SHOP.encode()),  # added as the request is sent, not a default of the client
        (b"PrivateKey", b"pk-client-units"),
        (b"Token", b"tok-client-units"),
    ]
    assert request.extensions["timeout"] == {"connect": 10.0, "read": 60.0, "write": 60.0, "pool": 60.0}


def test_the_clients_default_headers_and_their_reprs_hold_no_credential() -> None:
    with store(Service()) as sync:
        clients: list[httpx.Client | httpx.AsyncClient] = [
            sync.client.get_httpx_client(),
            sync.with_options(max_retries=0).client.get_httpx_client(),
        ]
        astore_ = AsyncStore(**CREDS)
        clients.append(astore_.client.get_async_httpx_client())
        for client in clients:
            assert dict(client.headers) == {
                "accept": "application/json",
                "user-agent": user_agent(),
                "accept-encoding": "gzip, deflate",
                "connection": "keep-alive",  # httpx's
            }
            for text in (repr(client.headers), repr(client.auth), repr(vars(client))):
                assert "pk-client-units" not in text and "tok-client-units" not in text, text
        run(astore_.aclose())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_stores_timeout_reaches_every_request(kind: str) -> None:
    service = Service()
    limits = httpx.Timeout(3.0, connect=1.5, pool=None)
    if kind == "sync":
        with store(service, timeout=limits) as sync:
            sync.customers.get(5)
            sync.customers.get(5, timeout=4)
    else:

        async def call() -> None:
            async with astore(service, timeout=limits) as asynchronous:
                await asynchronous.customers.get(5)
                await asynchronous.customers.get(5, timeout=4)

        run(call())
    assert [r.extensions["timeout"] for r in service.requests] == [
        {"connect": 1.5, "read": 3.0, "write": 3.0, "pool": None},
        {"connect": 4, "read": 4, "write": 4, "pool": 4},
    ]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_proxy_variables_never_take_requests_from_the_transport(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)
    service = Service()
    if kind == "sync":
        with store(service, trust_env=False) as sync:
            sync.customers.get(5)
            sync.with_options(max_retries=0).customers.get(5)
            # the SDK chose the proxy itself: its httpx clients never read the environment
            assert sync.client.get_httpx_client().trust_env is False
            assert sync.with_options().client.get_httpx_client().trust_env is False
    else:

        async def call() -> None:
            async with astore(service, trust_env=False) as asynchronous:
                await asynchronous.customers.get(5)
                await asynchronous.with_options(max_retries=0).customers.get(5)
                assert asynchronous.client.get_async_httpx_client().trust_env is False
                assert asynchronous.with_options().client.get_async_httpx_client().trust_env is False

        run(call())
        assert astore().client.get_async_httpx_client().trust_env is False  # outside a loop too
    assert len(service.requests) == 2


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_max_retries_bounds_the_attempts(kind: str) -> None:
    def attempts(**options: Any) -> int:
        service = Service(503, b"", **{"Retry-After": "0"})
        if kind == "sync":
            with store(service, **options) as sync, pytest.raises(errors.ServerError):
                sync.customers.get(5)
        else:

            async def call() -> None:
                async with astore(service, **options) as asynchronous:
                    with pytest.raises(errors.ServerError):
                        await asynchronous.customers.get(5)

            run(call())
        return len(service.requests)

    assert [attempts(), attempts(max_retries=0), attempts(max_retries=3)] == [3, 1, 4]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_max_response_bytes_caps_each_answer(kind: str) -> None:
    def fetch(body: bytes) -> bytes:
        if kind == "sync":
            with store(Service(body=body), max_response_bytes=10) as sync:
                return sync.client.get_httpx_client().get("/x").content

        async def call() -> bytes:
            async with astore(Service(body=body), max_response_bytes=10) as asynchronous:
                return (await asynchronous.client.get_async_httpx_client().get("/x")).content

        return run(call())

    assert fetch(b"0123456789") == b"0123456789"
    with pytest.raises(errors.APIResponseValidationError) as info:
        fetch(b"0123456789A")
    assert str(info.value) == "200 the service sent an answer larger than max_response_bytes (10 bytes)"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_credentials_stay_home_on_another_origin(kind: str) -> None:
    service = Service()
    if kind == "sync":
        with store(service, base_url=LOCAL) as sync:
            sync.client.get_httpx_client().get("/x")
            sync.client.get_httpx_client().get("http://127.0.0.1:10/x")
    else:

        async def call() -> None:
            async with astore(service, base_url=LOCAL) as asynchronous:
                await asynchronous.client.get_async_httpx_client().get("/x")
                await asynchronous.client.get_async_httpx_client().get("http://127.0.0.1:10/x")

        run(call())
    home, away = ({k.lower() for k, _ in sent(r)} for r in service.requests)
    assert {b"secureurl", b"privatekey", b"token"} <= home
    assert not {b"secureurl", b"privatekey", b"token"} & away


# --- the generated client -----------------------------------------------------------------------------
def test_the_client_is_the_generated_one_over_the_stores_connections() -> None:
    service = Service()
    context = ssl.create_default_context()
    with store(service, timeout=7, verify=context) as sync:
        client = sync.client
        assert client is sync.client and client.get_httpx_client() is sync._http
        assert (client._base_url, client._timeout, client._verify_ssl, client.token) == (
            "https://apirest.3dcart.com",
            httpx.Timeout(7),
            context,
            "",
        )
        answer = get_customer.sync_detailed(5, client=client)
    assert answer.status_code == 200
    assert (b"Token", b"tok-client-units") in sent(service.requests[0])


def test_the_async_client_is_the_generated_one_per_event_loop() -> None:
    service = Service()
    asynchronous = astore(service, timeout=7, base_url=LOCAL)
    outside = asynchronous.client
    assert (outside._base_url, outside._timeout, outside._verify_ssl, outside.token) == (
        LOCAL,
        httpx.Timeout(7),
        True,
        "",
    )

    async def call() -> None:
        inside = asynchronous.client
        assert inside is asynchronous.client and inside is not outside
        assert (await get_customer.asyncio_detailed(5, client=inside)).status_code == 200

    run(call())
    assert (b"Token", b"tok-client-units") in sent(service.requests[0])


def test_an_async_store_keeps_one_pool_and_client_per_loop() -> None:
    asynchronous = AsyncStore(**CREDS)
    transports = asynchronous._transports
    first = transports._latest
    outside = asynchronous.client
    assert asynchronous.client is outside
    assert outside.get_async_httpx_client()._transport.inner is first  # type: ignore[attr-defined]

    async def use() -> tuple[asyncio.AbstractEventLoop, httpx.AsyncBaseTransport]:
        loop = asyncio.get_running_loop()
        client = asynchronous.client
        assert asynchronous.client is client and client is not outside
        inner = client.get_async_httpx_client()._transport.inner  # type: ignore[attr-defined]
        assert inner is transports._by_loop[loop]
        assert list(asynchronous._clients) == [loop]
        return loop, inner

    loop1, inner1 = run(use())
    assert inner1 is first  # the first loop takes the pool made with the store
    assert asynchronous.client is outside  # outside a loop: the pool used last, the same client
    loop2, inner2 = run(use())
    assert inner2 is not first and isinstance(inner2, httpx.AsyncHTTPTransport)
    assert list(transports._by_loop) == [loop2] and list(transports._closers) == [loop2]
    later = asynchronous.client
    assert later is not outside
    assert later.get_async_httpx_client()._transport.inner is inner2  # type: ignore[attr-defined]
    assert loop1.is_closed() and loop2.is_closed()


def test_loop_transports_close_each_pool_with_its_loop() -> None:
    made: list[Spy] = []

    def make() -> Spy:
        made.append(Spy())
        return made[-1]

    transports = _LoopTransports(make)
    assert len(made) == 1 and transports.for_loop(None) is made[0]

    async def first() -> None:
        loop = asyncio.get_running_loop()
        assert transports.for_loop(loop) is made[0] and transports.for_loop(loop) is made[0]
        assert transports.for_loop(None) is made[0] and len(made) == 1
        assert inspect.isasyncgen(transports._closers[loop])
        gc.collect()
        await asyncio.sleep(0)
        assert made[0].aclosed == 0  # open while its loop runs

    run(first())
    assert made[0].aclosed == 1  # closed as its loop shut down

    async def second() -> None:
        loop = asyncio.get_running_loop()
        assert transports.for_loop(loop) is made[1] and len(made) == 2
        assert list(transports._by_loop) == [loop] and list(transports._closers) == [loop]
        assert transports.for_loop(None) is made[1]
        await transports.aclose()
        assert made[1].aclosed == 1 and transports._by_loop == {} and transports._closers == {}
        gc.collect()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert made[1].aclosed == 1

    run(second())
    assert [t.aclosed for t in made] == [1, 1] and [t.closed for t in made] == [0, 0]


def test_loop_transports_closed_before_any_loop_close_the_first_pool() -> None:
    made: list[Spy] = []
    transports = _LoopTransports(lambda: made.append(Spy()) or made[-1])

    async def close_twice() -> None:
        await transports.aclose()
        await transports.aclose()

    run(close_twice())
    assert len(made) == 1 and made[0].aclosed == 1


def test_a_loop_bound_meanwhile_keeps_its_pool() -> None:
    """`for_loop` looks without the lock, then again with it: a pool bound in between is kept."""
    made: list[Spy] = []
    transports = _LoopTransports(lambda: made.append(Spy()) or made[-1])
    loop = asyncio.new_event_loop()
    bound = Spy()

    class BoundMeanwhile(dict[asyncio.AbstractEventLoop, httpx.AsyncBaseTransport]):
        looks = 0

        def get(self, key: Any, default: Any = None) -> Any:
            self.looks += 1
            if self.looks == 1:  # another thread binds the loop between the two looks
                self[loop] = bound
                return default
            return super().get(key, default)

    transports._by_loop = BoundMeanwhile()
    try:
        assert transports.for_loop(loop) is bound and transports.for_loop(None) is bound
        assert len(made) == 1 and transports._closers == {} and transports._unbound is made[0]
    finally:
        loop.close()


def test_the_base_store_leaves_its_parts_to_store_and_async_store() -> None:
    with pytest.raises(NotImplementedError):
        _BaseStore(**CREDS)
    made = store()
    for part in (_BaseStore._share, _BaseStore._open, _BaseStore._bind_resources):
        with pytest.raises(NotImplementedError):
            part(made)
    with pytest.raises(NotImplementedError):
        _BaseStore.client.fget(made)  # type: ignore[attr-defined]


# --- the rate limit -----------------------------------------------------------------------------------
def test_the_rate_limit_is_on_for_the_production_host_only() -> None:
    production = store()
    assert production.rate_limit == RateLimit() and isinstance(production._throttle, Throttle)
    assert (production._throttle._interval, production._throttle._tolerance) == (0.5, 24.0)
    assert store(base_url="https://h.example").rate_limit is None
    assert store(base_url="https://h.example")._throttle is None
    assert store(rate_limit=False).rate_limit is None and store(rate_limit=False)._throttle is None
    assert store(base_url="https://h.example", rate_limit=True).rate_limit == RateLimit()
    shape = RateLimit(capacity=5, per_second=4.0)
    shaped = store(rate_limit=shape, base_url=LOCAL)
    assert shaped.rate_limit is shape and isinstance(shaped._throttle, Throttle)
    assert (shaped._throttle._interval, shaped._throttle._tolerance) == (0.25, 0.75)
    assert AsyncStore(**CREDS).rate_limit == RateLimit() and isinstance(
        AsyncStore(**CREDS)._throttle, Throttle
    )


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_store_and_its_views_reserve_from_one_bucket(kind: str) -> None:
    service = Service()
    reserved: list[str] = []

    def reserve() -> float:
        reserved.append("slot")
        return 0.0

    if kind == "sync":
        with store(service, rate_limit=True) as sync:
            sync._throttle.reserve = reserve  # type: ignore[method-assign, union-attr]
            sync.customers.get(5)
            sync.with_options(max_retries=1).customers.get(5)
            sync.customers.get(5, timeout=3)
            sync.client.get_httpx_client().get("/x")
    else:

        async def call() -> None:
            async with astore(service, rate_limit=True) as asynchronous:
                asynchronous._throttle.reserve = reserve  # type: ignore[method-assign, union-attr]
                await asynchronous.customers.get(5)
                await asynchronous.with_options(max_retries=1).customers.get(5)
                await asynchronous.customers.get(5, timeout=3)
                await asynchronous.client.get_async_httpx_client().get("/x")

        run(call())
    assert reserved == ["slot"] * 4 and len(service.requests) == 4


def test_a_shared_rate_limit_serves_the_store_and_its_password_is_scrubbed() -> None:
    password = "pw-shared-limit-client-units-3141"
    limit = SharedRateLimit(f"redis://:{password}@127.0.0.1:1/0", key_prefix="units:")
    shared = store(rate_limit=limit, base_url=LOCAL)
    assert shared.rate_limit is limit and isinstance(shared._throttle, SharedThrottle)
    assert shared._throttle.shared is limit and shared._throttle.key == store_key(SHOP, "units:")
    assert _secrets.scrub(f"auth {password}") == "auth [redacted]"
    assert shared.with_options().rate_limit is limit and shared.with_options()._throttle is shared._throttle
    asynchronous = astore(rate_limit=limit)
    assert asynchronous.rate_limit is limit and isinstance(asynchronous._throttle, SharedThrottle)


def test_close_closes_the_stores_own_redis_client_only() -> None:
    limit = SharedRateLimit("redis://127.0.0.1:1/0")
    one, other = store(rate_limit=limit), store(rate_limit=limit)
    for each in (one, other):
        each._throttle._blocking_client()  # type: ignore[union-attr]  # made, not connected
    one.with_options().close()
    assert one._throttle._blocking is not None  # type: ignore[union-attr]
    one.close()
    assert one._throttle._blocking is None  # type: ignore[union-attr]
    assert other._throttle._blocking is not None  # type: ignore[union-attr]
    other.close()

    asynchronous = astore(rate_limit=limit)

    async def call() -> None:
        throttle = asynchronous._throttle
        assert isinstance(throttle, SharedThrottle)
        throttle._async_script()  # made for this loop, not connected
        await asynchronous.with_options().aclose()
        assert list(throttle._async) == [asyncio.get_running_loop()]
        await asynchronous.aclose()
        assert throttle._async == {}

    run(call())


# --- proxies -------------------------------------------------------------------------------------------
def fresh_secret(label: str) -> str:
    """A secret no earlier test registered: the scrubber is global, and a mutation run's children
    inherit what its first, in-process run of the tests registered."""
    return f"{label}-{uuid.uuid4().hex}"


def test_a_proxy_url_is_parsed_and_its_password_registered() -> None:
    password = fresh_secret("pw-proxy")
    proxied = store(proxy=f"http://user:{password}@127.0.0.1:3128")
    assert isinstance(proxied._proxy, httpx.Proxy)
    assert proxied._proxy.url == httpx.URL("http://127.0.0.1:3128") and proxied._proxy.auth == (
        "user",
        password,
    )
    basic = base64.b64encode(f"user:{password}".encode()).decode()
    assert _secrets.scrub(f"{password} {basic}") == "[redacted] [redacted]"
    assert proxy_url(store(proxy=httpx.URL("http://127.0.0.1:3128"))) == "http://127.0.0.1:3128"
    assert store()._proxy is None


def test_an_httpx_proxy_is_taken_as_is_and_its_credentials_registered() -> None:
    password = fresh_secret("pw-proxy-object")
    given = httpx.Proxy("http://127.0.0.1:3128", auth=("agent", password))
    assert store(proxy=given)._proxy is given
    basic = base64.b64encode(f"agent:{password}".encode()).decode()
    assert _secrets.scrub(f"{password} {basic}") == "[redacted] [redacted]"
    plain = httpx.Proxy("http://127.0.0.1:3128")
    assert store(proxy=plain)._proxy is plain


def test_a_bad_proxy_is_named_and_never_shows_its_password() -> None:
    with pytest.raises(TypeError) as info:
        store(proxy=5)
    assert str(info.value) == "proxy must be a URL (str or httpx.URL) or an httpx.Proxy, not int"
    password = fresh_secret("pw-bad-proxy")
    with pytest.raises(ValueError) as info:
        store(proxy=f"ftp://u:{password}@h.example:1")
    assert str(info.value) == (
        "proxy is not a proxy URL such as http://host:3128 "
        "(Unknown scheme for proxy URL URL('ftp://u:[secure]@h.example:1'))"
    )
    assert _secrets.scrub(password) == "[redacted]"  # registered before httpx read it
    # without a scheme, httpx reads "u" as one and shows the rest, password included
    bare = fresh_secret("pw-bare-proxy")
    with pytest.raises(ValueError) as info:
        store(proxy=f"u:{bare}@h.example:3128")
    assert str(info.value) == (
        "proxy is not a proxy URL such as http://host:3128 "
        "(Unknown scheme for proxy URL URL('u:[redacted]@h.example:3128'))"
    )
    echoed = "portpw-client-units-1732"
    with pytest.raises(ValueError) as info:
        store(proxy=f"http://u:{echoed}@h.example:{echoed}")
    assert str(info.value) == "proxy is not a proxy URL such as http://host:3128 (Invalid port: '[redacted]')"


def test_the_proxy_reaches_the_connection_pools() -> None:
    password = "pw-pool-proxy-client-units-5772"
    url = f"http://agent:{password}@127.0.0.1:3128"
    pool = _pool(Store(**CREDS, proxy=url))
    assert pool._proxy is not None and pool._proxy.url == httpcore.URL("http://127.0.0.1:3128")
    basic = base64.b64encode(f"agent:{password}".encode())
    assert (b"Proxy-Authorization", b"Basic " + basic) in pool._proxy.headers
    assert _pool(Store(**CREDS))._proxy is None
    transport = AsyncStore(**CREDS, proxy=url)._transports._latest
    assert isinstance(transport, httpx.AsyncHTTPTransport) and isinstance(
        transport._pool, httpcore.AsyncHTTPProxy
    )
    assert transport._pool._proxy_url == httpcore.URL("http://127.0.0.1:3128")
    assert (b"Proxy-Authorization", b"Basic " + basic) in transport._pool._proxy_headers


@pytest.mark.parametrize(
    ("variables", "base_url", "trust_env", "expected"),
    [
        (
            {"HTTPS_PROXY": "http://127.0.0.1:3001"},
            "https://apirest.3dcart.com",
            True,
            "http://127.0.0.1:3001",
        ),
        ({"HTTP_PROXY": "http://127.0.0.1:3002"}, "https://apirest.3dcart.com", True, None),
        ({"HTTP_PROXY": "http://127.0.0.1:3002"}, LOCAL, True, "http://127.0.0.1:3002"),
        ({"ALL_PROXY": "http://127.0.0.1:3003"}, "https://apirest.3dcart.com", True, "http://127.0.0.1:3003"),
        (
            {"HTTPS_PROXY": "http://127.0.0.1:3001", "ALL_PROXY": "http://127.0.0.1:3003"},
            "https://apirest.3dcart.com",
            True,
            "http://127.0.0.1:3001",
        ),
        (
            {"HTTPS_PROXY": "http://127.0.0.1:3001", "NO_PROXY": "apirest.3dcart.com"},
            "https://apirest.3dcart.com",
            True,
            None,
        ),
        ({"HTTPS_PROXY": "http://127.0.0.1:3001"}, "https://apirest.3dcart.com", False, None),
    ],
)
def test_proxy_variables_choose_the_stores_proxy(
    variables: dict[str, str],
    base_url: str,
    trust_env: bool,
    expected: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    for cls in (Store, AsyncStore):
        made = cls(**CREDS, base_url=base_url, trust_env=trust_env)
        assert proxy_url(made) == expected
        view = made.with_options(max_retries=0)
        assert view._proxy is made._proxy


def test_the_proxy_argument_beats_the_variables_and_trust_env_is_on_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3001")
    assert proxy_url(Store(**CREDS)) == "http://127.0.0.1:3001"
    assert proxy_url(Store(**CREDS, proxy="http://127.0.0.1:3009")) == "http://127.0.0.1:3009"
    assert (
        proxy_url(Store(**CREDS, proxy="http://127.0.0.1:3009", trust_env=False)) == "http://127.0.0.1:3009"
    )


@pytest.mark.parametrize(("name", "scheme"), [("HTTPS_PROXY", "https"), ("ALL_PROXY", "all")])
def test_a_bad_proxy_variable_is_named(name: str, scheme: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, "ftp://h.example:1")
    with pytest.raises(ValueError) as info:
        Store(**CREDS)
    assert str(info.value) == (
        f"the {scheme}_proxy environment variable is not a proxy URL such as http://host:3128 "
        "(Unknown scheme for proxy URL URL('ftp://h.example:1'))"
    )


def test_requests_go_through_the_proxy(loopback: Loopback) -> None:
    proxy = f"http://agent:pw-forward-client-units-8080@127.0.0.1:{loopback.port}"
    basic = "Basic " + base64.b64encode(b"agent:pw-forward-client-units-8080").decode()
    with Store(**CREDS, base_url="http://localhost:1", proxy=proxy, max_retries=0) as sync:
        assert sync.customers.get(5).customer_id == 5

    async def call() -> None:
        async with AsyncStore(
            **CREDS, base_url="http://localhost:1", proxy=proxy, max_retries=0
        ) as asynchronous:
            assert (await asynchronous.customers.get(5)).customer_id == 5

    run(call())
    assert [line for line, _ in loopback.seen] == [
        "GET http://localhost:1/3dCartWebAPI/v1/Customers/5 HTTP/1.1"
    ] * 2
    assert [headers["Proxy-Authorization"] for _, headers in loopback.seen] == [basic] * 2


def test_the_default_pools_carry_requests(loopback: Loopback) -> None:
    with Store(**CREDS, base_url=loopback.url, max_retries=0) as sync:
        assert sync.customers.get(5).customer_id == 5
        assert sync.with_options(timeout=5).customers.get(5).customer_id == 5
    assert sync._http.is_closed

    async def call() -> None:
        async with AsyncStore(**CREDS, base_url=loopback.url, max_retries=0) as asynchronous:
            assert (await asynchronous.customers.get(5)).customer_id == 5

    run(call())
    assert [line for line, _ in loopback.seen] == ["GET /3dCartWebAPI/v1/Customers/5 HTTP/1.1"] * 3
    assert {headers["Token"] for _, headers in loopback.seen} == {"tok-client-units"}


# --- from_env -----------------------------------------------------------------------------------------
@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The three credentials in the environment, with spaces around them."""
    monkeypatch.setenv("THREEDCART_SECURE_URL", f"  {SHOP} ")
    monkeypatch.setenv("THREEDCART_PRIVATE_KEY", " pk-from-env ")
    monkeypatch.setenv("THREEDCART_TOKEN", " tok-from-env ")
    return monkeypatch


def _credentials(made: Store | AsyncStore) -> tuple[str, str, str]:
    c = made._credentials
    return c.secure_url, c.private_key, c.token


def test_from_env_reads_the_credentials_and_defaults(env: pytest.MonkeyPatch) -> None:
    made = Store.from_env()
    assert type(made) is Store and _credentials(made) == (SHOP, "pk-from-env", "tok-from-env")
    assert (made.base_url, made.timeout, made.store_tz) == (
        "https://apirest.3dcart.com",
        httpx.Timeout(60, connect=10),
        EASTERN,
    )
    assert made.rate_limit == RateLimit() and made.max_retries == 2
    asynchronous = AsyncStore.from_env(base_url=LOCAL)
    assert type(asynchronous) is AsyncStore and _credentials(asynchronous) == (
        SHOP,
        "pk-from-env",
        "tok-from-env",
    )


@pytest.mark.parametrize(
    ("variable", "argument"),
    [
        ("THREEDCART_SECURE_URL", "secure_url"),
        ("THREEDCART_PRIVATE_KEY", "private_key"),
        ("THREEDCART_TOKEN", "token"),
    ],
)
def test_from_env_names_each_missing_variable(variable: str, argument: str, env: pytest.MonkeyPatch) -> None:
    for value in (None, "   "):
        if value is None:
            env.delenv(variable)
        else:
            env.setenv(variable, value)
        with pytest.raises(ValueError) as info:
            Store.from_env()
        assert str(info.value) == f"{variable} is not set (or pass {argument}=...)"
        with pytest.raises(ValueError) as info:
            Store.from_env(**{argument: ""})
        assert str(info.value) == f"{variable} is not set (or pass {argument}=...)"
    made = Store.from_env(**{argument: f"given-{argument}"})
    assert f"given-{argument}" in _credentials(made)


@pytest.mark.parametrize(
    ("variable", "argument"),
    [
        ("THREEDCART_SECURE_URL", "secure_url"),
        ("THREEDCART_PRIVATE_KEY", "private_key"),
        ("THREEDCART_TOKEN", "token"),
    ],
)
def test_from_env_errors_name_the_variable_or_the_argument(
    variable: str, argument: str, env: pytest.MonkeyPatch
) -> None:
    env.setenv(variable, "ab\x01secret")
    with pytest.raises(ValueError) as info:
        Store.from_env()
    assert str(info.value) == f"{variable} {CONTROL}"
    env.setenv(variable, "fine-value")
    with pytest.raises(ValueError) as info:
        Store.from_env(**{argument: "ab\x01secret"})
    assert str(info.value) == f"{argument} {CONTROL}"


def test_from_env_arguments_override_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("THREEDCART_BASE_URL", "https://env.example")
    env.setenv("THREEDCART_TIMEOUT", "30")
    env.setenv("THREEDCART_STORE_TIMEZONE", "America/Chicago")
    made = Store.from_env(
        secure_url="https://given.example",
        private_key="pk-given",
        token="tok-given",
        base_url=LOCAL,
        timeout=4,
        store_timezone="Europe/Paris",
        max_retries=5,
        max_response_bytes=99,
    )
    assert _credentials(made) == ("https://given.example", "pk-given", "tok-given")
    assert (made.base_url, made.timeout, made.store_tz) == (LOCAL, httpx.Timeout(4), ZoneInfo("Europe/Paris"))
    assert (made.max_retries, made.max_response_bytes) == (5, 99)
    env.setenv("THREEDCART_TIMEOUT", "soon")
    env.setenv("THREEDCART_STORE_TIMEZONE", "Mars/Base")
    made = Store.from_env(timeout=4, store_timezone=UTC)  # the broken variables are not read
    assert (made.base_url, made.timeout, made.store_tz) == ("https://env.example", httpx.Timeout(4), UTC)


def test_from_env_reads_the_optional_variables(env: pytest.MonkeyPatch) -> None:
    env.setenv("THREEDCART_BASE_URL", " http://127.0.0.1:8300 ")
    env.setenv("THREEDCART_TIMEOUT", " 0.5 ")
    env.setenv("THREEDCART_STORE_TIMEZONE", " America/Chicago ")
    made = Store.from_env()
    assert (made.base_url, made.timeout, made.store_tz) == (
        "http://127.0.0.1:8300",
        httpx.Timeout(0.5),
        ZoneInfo("America/Chicago"),
    )
    assert made.rate_limit is None


@pytest.mark.parametrize("value", ["soon", "0", "-1", "inf", "nan", " 1e999 "])
def test_from_env_refuses_a_bad_timeout_variable(value: str, env: pytest.MonkeyPatch) -> None:
    env.setenv("THREEDCART_TIMEOUT", value)
    with pytest.raises(ValueError) as info:
        Store.from_env()
    assert str(info.value) == (
        f"THREEDCART_TIMEOUT must be a finite number of seconds above 0, e.g. 30, not {value.strip()!r}"
    )


def test_from_env_refuses_a_bad_time_zone_variable(env: pytest.MonkeyPatch) -> None:
    env.setenv("THREEDCART_STORE_TIMEZONE", "Mars/Base")
    with pytest.raises(ValueError) as info:
        Store.from_env()
    assert str(info.value) == f"THREEDCART_STORE_TIMEZONE: 'Mars/Base' {UNKNOWN_ZONE}"


def test_from_env_names_unknown_options_with_hints(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(TypeError) as info:
        Store.from_env(zzz_option=1, timout=3)  # type: ignore[call-arg]
    assert (
        str(info.value)
        == "Store.from_env() got unknown option(s): timout (did you mean timeout?), zzz_option"
    )
    with pytest.raises(TypeError) as info:
        AsyncStore.from_env(max_retry=1, verfy=False)  # type: ignore[call-arg]
    assert str(info.value) == (
        "AsyncStore.from_env() got unknown option(s): max_retry (did you mean max_retries?), "
        "verfy (did you mean verify?)"
    )


def test_from_env_shares_the_rate_limit_named_by_the_variable(env: pytest.MonkeyPatch) -> None:
    env.setenv("THREEDCART_RATE_LIMIT_URL", " redis://127.0.0.1:1/0 ")
    made = Store.from_env()
    assert isinstance(made.rate_limit, SharedRateLimit) and isinstance(made._throttle, SharedThrottle)
    assert made.rate_limit.url == "redis://127.0.0.1:1/0" and made.rate_limit.limit == RateLimit()
    for chosen in (True, None):
        limit = Store.from_env(rate_limit=chosen).rate_limit
        assert isinstance(limit, SharedRateLimit) and limit.limit == RateLimit()
    shape = RateLimit(capacity=7, per_second=3.0)
    shaped = Store.from_env(rate_limit=shape).rate_limit
    assert isinstance(shaped, SharedRateLimit) and shaped.limit is shape
    assert Store.from_env(rate_limit=False).rate_limit is None
    own = SharedRateLimit("redis://127.0.0.1:2/0")
    assert Store.from_env(rate_limit=own).rate_limit is own
    assert isinstance(AsyncStore.from_env(base_url=LOCAL).rate_limit, SharedRateLimit)
    env.delenv("THREEDCART_RATE_LIMIT_URL")
    assert Store.from_env(rate_limit=shape).rate_limit is shape


# --- views: with_options, per-call timeouts, page readers -----------------------------------------------
def test_a_view_is_the_store_with_other_retries_or_timeout(tmp_path: Path) -> None:
    bundle = str(tmp_path / "ca.pem")
    shutil.copy(certifi.where(), bundle)
    shape = RateLimit(capacity=9, per_second=3.0)
    original = store(
        base_url=LOCAL,
        timeout=9,
        max_retries=4,
        rate_limit=shape,
        store_timezone="America/Chicago",
        verify=bundle,
        proxy="http://127.0.0.1:3128",
        max_response_bytes=1234,
    )
    Path(bundle).unlink()  # a view does not read the CA bundle again
    view = original.with_options(max_retries=1, timeout=2.5)
    assert type(view) is Store and view is not original
    assert (view.max_retries, view.timeout) == (1, httpx.Timeout(2.5))
    assert (view.secure_url, view.base_url, view.store_tz) == (SHOP, LOCAL, ZoneInfo("America/Chicago"))
    assert (view.rate_limit, view.max_response_bytes, view.verify) == (shape, 1234, bundle)
    assert view.rate_limit is shape and view._ssl is original._ssl and view._proxy is original._proxy
    assert view._inner_transport is original._inner_transport and view._shared is original._shared
    assert view._throttle is original._throttle and view._credentials == original._credentials
    assert view.client._verify_ssl is original._ssl and view.client._timeout == httpx.Timeout(2.5)
    assert repr(view) == repr(original) and not view._owner and original._owner
    same = original.with_options()
    assert (same.max_retries, same.timeout) == (4, httpx.Timeout(9))
    assert original.with_options(max_retries=0).timeout == httpx.Timeout(9)
    assert original.with_options(timeout=1).max_retries == 4
    bare = store(base_url=LOCAL).with_options()
    assert bare.rate_limit is None and bare._throttle is None


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_views_customers_and_client_retry_and_time_out_as_it_says(kind: str) -> None:
    failing = Service(503, b"", **{"Retry-After": "0"})
    if kind == "sync":
        with store(failing, max_retries=0) as sync:
            view = sync.with_options(max_retries=2, timeout=2.5)
            with pytest.raises(errors.ServerError):
                view.customers.get(5)
            assert len(failing.requests) == 3
            assert view.client.get_httpx_client().get("/x").status_code == 503
            assert len(failing.requests) == 6
            sync.client.get_httpx_client().get("/x")
    else:

        async def call() -> None:
            async with astore(failing, max_retries=0) as asynchronous:
                view = asynchronous.with_options(max_retries=2, timeout=2.5)
                with pytest.raises(errors.ServerError):
                    await view.customers.get(5)
                assert len(failing.requests) == 3
                assert (await view.client.get_async_httpx_client().get("/x")).status_code == 503
                assert len(failing.requests) == 6
                await asynchronous.client.get_async_httpx_client().get("/x")

        run(call())
    assert len(failing.requests) == 7
    assert [r.extensions["timeout"]["read"] for r in failing.requests] == [2.5] * 6 + [60.0]


def test_per_call_timeouts_use_cached_views() -> None:
    original = store(max_retries=3)
    assert original._timed(None) is original
    five = original._timed(5)
    assert five is original._timed(5.0) and five is original._timed(httpx.Timeout(5))
    assert (five.timeout, five.max_retries, five._shared) == (httpx.Timeout(5), 3, original._shared)
    assert five is not original._timed(6) and original.customers._timed(5)._store is five
    patient = original.with_options(max_retries=7)
    assert patient._timed(5) is not five and patient._timed(5).max_retries == 7
    assert patient._timed(5) is patient._timed(5)
    with pytest.raises(ValueError, match=r"^timeout must be a finite number of seconds above 0, not 0$"):
        original._timed(0)


def test_the_per_call_view_cache_keeps_the_latest_64() -> None:
    original = store()
    first, second = original._timed(1), original._timed(2)
    for seconds in range(3, 65):
        original._timed(seconds)
    assert len(original._shared.views) == 64 and original._timed(1) is first
    original._timed(65)
    assert len(original._shared.views) == 64 and original._timed(2) is second
    assert original._timed(1) is not first  # the first made went first (reading it again kept no view)
    assert len(original._shared.views) == 64


def test_a_page_readers_view_stops_when_abandoned() -> None:
    service = Service()
    original = store(service, timeout=9, max_retries=4)
    assert original._abandonable(None) is original
    abandoned = threading.Event()
    reader = original._abandonable(abandoned)
    assert reader is not original and reader._abandoned is abandoned and reader._shared is original._shared
    assert (reader.max_retries, reader.timeout) == (4, httpx.Timeout(9))
    assert reader._http._transport.abandoned is abandoned  # type: ignore[attr-defined]
    assert reader.with_options(max_retries=1)._abandoned is abandoned
    views = len(original._shared.views)
    timed = reader._timed(3)
    assert timed._abandoned is abandoned and timed.timeout == httpx.Timeout(3) and timed.max_retries == 4
    assert reader._timed(3) is not timed and len(original._shared.views) == views  # never cached
    assert reader.customers.get(5).customer_id == 5
    abandoned.set()
    with pytest.raises(errors.APIConnectionError, match="abandoned: the caller stopped reading"):
        reader.customers.get(5)
    assert len(service.requests) == 1 and original.customers.get(5).customer_id == 5
    assert original.with_options()._abandoned is None


# --- closing ------------------------------------------------------------------------------------------
def test_close_closes_the_pool_and_throttle_once_and_refuses_later_calls() -> None:
    service = Service()
    original = store(service, rate_limit=True)
    closes: list[str] = []
    original._throttle.close = lambda: closes.append("close")  # type: ignore[method-assign, union-attr]
    view = original.with_options(max_retries=0)
    view.close()  # a view leaves the connections to its store
    assert not original.is_closed and not view.is_closed and closes == []
    assert view.customers.get(5).customer_id == 5
    original.close()
    assert original.is_closed is True and view.is_closed is True and original._http.is_closed
    original.close()
    assert closes == ["close"]
    for closed in (original, view):
        with pytest.raises(errors.StoreClosedError) as info:
            closed.customers.get(5)
        assert str(info.value) == f"this Store {CLOSED_STORE}"
    with pytest.raises(errors.StoreClosedError) as info:
        view.client.get_httpx_client().get("/x")
    assert str(info.value) == CLOSED_TRANSPORT
    assert len(service.requests) == 1
    bare = store(rate_limit=False)
    bare.close()
    assert bare.is_closed


def test_with_returns_the_store_and_closes_it_even_on_error() -> None:
    original = store()
    with original as entered:
        assert entered is original
    assert original.is_closed
    other = store()
    with pytest.raises(KeyError), other:
        raise KeyError("boom")
    assert other.is_closed
    parent = store()
    with parent.with_options(max_retries=0) as view:
        assert view is not parent
    assert view.is_closed is False and parent.is_closed is False


def test_close_closes_a_given_transport_as_an_httpx_client_does() -> None:
    given = Spy()
    original = Store(**CREDS, transport=given)
    original.with_options().close()
    assert given.closed == 0
    original.close()
    original.close()
    assert given.closed == 1

    asynchronous_given = Spy()
    asynchronous = AsyncStore(**CREDS, transport=asynchronous_given)
    run(asynchronous.aclose())
    assert asynchronous_given.aclosed == 1 and asynchronous_given.closed == 0


def test_aclose_closes_this_loops_connections_and_refuses_later_calls() -> None:
    service = Service()
    asynchronous = astore(service, rate_limit=True)
    acloses: list[str] = []

    async def aclose() -> None:
        acloses.append("aclose")

    asynchronous._throttle.aclose = aclose  # type: ignore[method-assign, union-attr]
    view = asynchronous.with_options(max_retries=0)

    async def call() -> None:
        await asynchronous.customers.get(5)
        await view.aclose()  # a view leaves the connections to its store
        assert not asynchronous.is_closed and acloses == []
        await view.customers.get(5)
        await asynchronous.aclose()
        assert asynchronous.is_closed is True and view.is_closed is True and acloses == ["aclose"]
        assert asynchronous._clients == {} and asynchronous._idle is None
        for closed in (asynchronous, view):
            with pytest.raises(errors.StoreClosedError) as info:
                await closed.customers.get(5)
            assert str(info.value) == f"this AsyncStore {CLOSED_STORE}"
        with pytest.raises(errors.StoreClosedError) as raw:
            await asynchronous.client.get_async_httpx_client().get("/x")
        assert str(raw.value) == CLOSED_TRANSPORT
        await asynchronous.aclose()  # again: nothing left to close
        assert asynchronous.is_closed

    run(call())
    assert len(service.requests) == 2
    assert asynchronous.client is asynchronous.client  # outside a loop, after closing
    bare = astore(rate_limit=False)
    run(bare.aclose())
    assert bare.is_closed


def test_async_with_returns_the_store_and_closes_it_even_on_error() -> None:
    asynchronous = astore()

    async def call() -> None:
        async with asynchronous as entered:
            assert entered is asynchronous
        assert asynchronous.is_closed
        other = astore()
        with pytest.raises(KeyError):
            async with other:
                raise KeyError("boom")
        assert other.is_closed

    run(call())


# --- reprs and secrets --------------------------------------------------------------------------------
def test_reprs_show_the_store_never_its_secrets() -> None:
    private_key, token = "pk-repr-client-units-9001", "tok-repr-client-units-9002"
    keys = {"secure_url": SHOP, "private_key": private_key, "token": token}
    sync = Store(**keys, base_url=LOCAL)
    asynchronous = AsyncStore(**keys)
    assert repr(sync) == str(sync) == f"Store(secure_url={SHOP!r}, base_url={LOCAL!r})"
    assert repr(asynchronous) == f"AsyncStore(secure_url={SHOP!r}, base_url='https://apirest.3dcart.com')"
    assert repr(sync._credentials) == f"_Credentials(secure_url={SHOP!r}, private_key='***', token='***')"
    texts = [
        repr(sync),
        str(sync),
        repr(sync.with_options(max_retries=0)),
        repr(sync._timed(3)),
        repr(sync.client),
        repr(sync.customers),
        repr(sync._credentials),
        repr(asynchronous),
        repr(asynchronous.client),
        repr(asynchronous.with_options(timeout=2)),
    ]
    assert not [text for text in texts if private_key in text or token in text]


def test_the_credentials_are_registered_for_scrubbing() -> None:
    private_key, token = "pk-scrub-client-units-7001", "tok-scrub-client-units-7002"
    AsyncStore(secure_url=SHOP, private_key=private_key, token=token)
    assert _secrets.scrub(f"a {private_key} b {token} c") == "a [redacted] b [redacted] c"


# --- known bugs ---------------------------------------------------------------------------------------
def test_an_insecure_store_warns_at_the_line_that_built_it() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Store(**CREDS, verify=False)
    assert [w.filename for w in caught] == [__file__]


def test_a_base_url_without_a_host_is_refused() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(
            ValueError, match=r"^base_url must look like https://host\[:port\], not 'http://:80'$"
        ):
            store(base_url="http://:80")


def test_a_base_url_with_a_password_is_refused_without_showing_it() -> None:
    message = (
        "base_url is the scheme and host only: it holds a user name or password (the store's credentials "
        "are private_key and token)"
    )
    for url in ("https://agent:pw-base-url-client-units@h.example", "https://agent@h.example"):
        with pytest.raises(ValueError) as raised:
            store(base_url=url)
        assert str(raised.value) == message


@pytest.mark.parametrize("url", ["http://h.example:99999", "http://h.example:port", "http://[::1"])
def test_a_base_url_with_a_bad_port_is_refused(url: str) -> None:
    with pytest.raises(ValueError) as raised:
        store(base_url=url)
    assert str(raised.value) == f"base_url must look like https://host[:port], not {url!r}"


def test_a_timeout_too_large_for_a_float_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^timeout must be a finite number of seconds above 0, not 1000"):
        store(timeout=10**400)
    with pytest.raises(ValueError, match=r"^timeout: its connect phase must be None or a finite number"):
        store(timeout=httpx.Timeout(5, connect=10**400))

"""`Store` and `AsyncStore`: one merchant's store, its credentials and its connection pool."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import logging
import math
import os
import platform
import ssl
import sys
import threading
import urllib.request
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from datetime import tzinfo
from difflib import get_close_matches
from typing import Any, Self, TypedDict, Unpack, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from threedcart_customers_client import AuthenticatedClient

from . import _secrets
from ._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ENV_BASE_URL,
    ENV_LOG,
    ENV_PRIVATE_KEY,
    ENV_SECURE_URL,
    ENV_STORE_TIMEZONE,
    ENV_TIMEOUT,
    ENV_TOKEN,
    PRODUCTION_HOST,
    STORE_TIMEZONE,
)
from ._customers import Customers
from ._customers_async import AsyncCustomers
from ._rows import warn_at_users_line
from ._secrets import check_credential
from ._shared_limit import ENV_RATE_LIMIT_URL, SharedRateLimit, secrets_of
from ._throttle import RateLimit, Throttle
from ._transport import (
    AsyncRetryTransport,
    PoolTransport,
    RetryPolicy,
    RetryTransport,
    TimeoutLike,
)
from .errors import StoreClosedError

VerifyLike = bool | str | ssl.SSLContext
ProxyLike = str | httpx.URL | httpx.Proxy

log = logging.getLogger("threedcart")
_WARNED: set[str] = set()


def store_zone(name: str, what: str = "store_timezone") -> ZoneInfo:
    """The IANA time zone `name`; a ValueError naming `what` (an argument, option or variable) if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"{what}: {name!r} is not a time zone this machine knows (an IANA name, e.g. America/New_York)"
        ) from None


def configured_zone(given: str | None = None, what: str = "store_timezone") -> ZoneInfo:
    """The store's time zone as a store from the environment takes it: `given` (named `what` in an
    error) if set, else `THREEDCART_STORE_TIMEZONE`, else America/New_York."""
    if given:
        return store_zone(given, what)
    zone = os.environ.get(ENV_STORE_TIMEZONE, "").strip()
    return store_zone(zone, ENV_STORE_TIMEZONE) if zone else store_zone(STORE_TIMEZONE)


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        warn_at_users_line(message, UserWarning)  # the line that built the store, however it was called
        log.warning(message)


def _user_agent() -> str:
    from . import API_VERSION, __version__

    python = platform.python_version()
    return f"threedcart/{__version__} (api {API_VERSION}) python/{python} httpx/{httpx.__version__}"


def _logging_from_env() -> None:
    """THREEDCART_LOG=debug|info: log the SDK to stderr without configuring logging in code."""
    level = os.environ.get(ENV_LOG, "").strip().lower()
    if level not in ("debug", "info") or getattr(log, "_threedcart_env_handler", False):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
    log._threedcart_env_handler = True  # type: ignore[attr-defined]


def _loopback(host: str) -> bool:
    """Whether `host` (as urlsplit gives it: lower case, no brackets) is this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ssl_context(verify: VerifyLike) -> ssl.SSLContext | bool:
    if isinstance(verify, ssl.SSLContext | bool):
        return verify
    if isinstance(cast(object, verify), str):
        # a CA bundle path: build the context here (httpx 0.28 deprecates verify="path")
        try:
            return ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"verify: cannot load the CA bundle {verify!r} ({exc})") from None
    raise TypeError(
        f"verify must be a bool, a CA bundle path or an ssl.SSLContext, not {type(verify).__name__}"
    )


def _proxy(value: ProxyLike, what: str = "proxy") -> httpx.Proxy:
    """`value` as an `httpx.Proxy`, its password registered as a secret; errors name `what`."""
    if isinstance(value, httpx.Proxy):
        proxy = value
    elif isinstance(cast(object, value), str | httpx.URL):
        text = str(value)  # and without a scheme (user:password@host), the password httpx's error shows
        _secrets.register(secrets_of(text if "://" in text else "//" + text))
        try:
            proxy = httpx.Proxy(value)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise ValueError(
                f"{what} is not a proxy URL such as http://host:3128 ({_secrets.scrub(str(exc))})"
            ) from None
    else:
        raise TypeError(
            f"{what} must be a URL (str or httpx.URL) or an httpx.Proxy, not {type(value).__name__}"
        )
    if proxy.auth is not None:
        user, password = proxy.auth
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        _secrets.register([password, basic])
    return proxy


def _proxy_for(base_url: str, proxy: ProxyLike | None, trust_env: bool) -> httpx.Proxy | None:
    """The proxy for the store's one host: `proxy=`, else HTTPS_PROXY/HTTP_PROXY/ALL_PROXY unless NO_PROXY."""
    if proxy is not None:
        return _proxy(proxy)
    if not trust_env:
        return None
    url = httpx.URL(base_url)
    if urllib.request.proxy_bypass_environment(url.host):  # type: ignore[attr-defined]
        return None
    found = urllib.request.getproxies_environment()
    scheme = url.scheme if found.get(url.scheme) else "all"
    chosen = found.get(scheme)
    return _proxy(chosen, f"the {scheme}_proxy environment variable") if chosen else None


@dataclass(frozen=True, repr=False)
class _Credentials:
    secure_url: str
    private_key: str
    token: str

    def __repr__(self) -> str:
        return f"_Credentials(secure_url={self.secure_url!r}, private_key='***', token='***')"

    def headers(self) -> dict[str, str]:
        return {"SecureURL": self.secure_url, "PrivateKey": self.private_key, "Token": self.token}


class _CredentialHeaders(httpx.Auth):
    """The store's credentials, added to each request as it is sent: a client's default headers
    hold none of them (httpx's `Headers` repr hides only Authorization). The retry transport
    still drops them from a request to another origin."""

    def __init__(self, credentials: _Credentials) -> None:
        self._credentials = credentials

    def __repr__(self) -> str:
        return f"_CredentialHeaders({self._credentials!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._credentials.headers())
        yield request


def _base_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed [IPv6 address
        raise ValueError(f"base_url must look like https://host[:port], not {url!r}") from None
    if parts.username is not None or parts.password is not None:  # not shown: it may hold a password
        raise ValueError(
            "base_url is the scheme and host only: it holds a user name or password (the store's "
            "credentials are private_key and token)"
        )
    try:
        parts.port  # noqa: B018 (an out-of-range or non-numeric port raises)
    except ValueError:
        raise ValueError(f"base_url must look like https://host[:port], not {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must look like https://host[:port], not {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"base_url is the scheme and host only (the SDK adds /3dCartWebAPI/v1), not {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _seconds(value: float) -> bool:
    """Whether `value` is a finite number of seconds above 0 (an int too large for a float is not)."""
    try:
        return value > 0 and math.isfinite(value)
    except OverflowError:
        return False


def _timeout(value: TimeoutLike) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        for phase, seconds in value.as_dict().items():
            # None is httpx's "no limit"; an infinite number overflows the socket layer at the first call
            if seconds is not None and not _seconds(seconds):
                raise ValueError(
                    f"timeout: its {phase} phase must be None or a finite number of seconds above 0, "
                    f"not {seconds}"
                )
        return value
    if isinstance(value, bool) or not isinstance(cast(object, value), int | float):
        raise TypeError(f"timeout must be seconds (a number) or an httpx.Timeout, not {type(value).__name__}")
    if not _seconds(value):
        raise ValueError(f"timeout must be a finite number of seconds above 0, not {value}")
    return httpx.Timeout(value)


class StoreOptions(TypedDict, total=False):
    """The options of `Store` and `AsyncStore`, as `from_env` takes them (see `Store`)."""

    secure_url: str
    private_key: str
    token: str
    base_url: str
    timeout: TimeoutLike
    max_retries: int
    rate_limit: RateLimit | SharedRateLimit | bool | None
    store_timezone: str | tzinfo
    verify: VerifyLike
    proxy: ProxyLike | None
    trust_env: bool
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None
    max_response_bytes: int


_OPTION_NAMES = sorted(StoreOptions.__annotations__)


def _with_hint(name: str) -> str:
    close = get_close_matches(name, _OPTION_NAMES)  # the closest first
    return f"{name} (did you mean {close[0]}?)" if close else name


class _Shared:
    """What a store shares with the views made from it (`with_options`, a per-call `timeout`):
    the connection pool, the rate limit's throttle, and whether the store was closed."""

    def __init__(self, throttle: Throttle | None) -> None:
        self.throttle = throttle
        self.closed = False
        self.lock: threading.Lock = threading.Lock()
        self.views: dict[tuple[object, ...], Any] = {}


_VIEW_CACHE = 64  # views kept for per-call timeouts (a few distinct timeouts are the rule)


class _BaseStore:
    _shared: _Shared

    def __init__(
        self,
        *,
        secure_url: str,
        private_key: str,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        rate_limit: RateLimit | SharedRateLimit | bool | None = None,
        store_timezone: str | tzinfo = STORE_TIMEZONE,
        verify: VerifyLike = True,
        proxy: ProxyLike | None = None,
        trust_env: bool = True,
        transport: Any = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        _view_of: _Shared | None = None,
        _abandoned: threading.Event | None = None,
    ) -> None:
        _logging_from_env()
        self._credentials = _Credentials(
            check_credential("secure_url", secure_url),
            check_credential("private_key", private_key),
            check_credential("token", token),
        )
        # from here on, these values are scrubbed from every error, message and log line
        _secrets.register([self._credentials.private_key, self._credentials.token])
        if isinstance(max_retries, bool) or not isinstance(cast(object, max_retries), int) or max_retries < 0:
            raise ValueError(f"max_retries must be a whole number, 0 or more, not {max_retries!r}")
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(cast(object, max_response_bytes), int)
            or max_response_bytes < 1
        ):
            raise ValueError(
                f"max_response_bytes must be a positive whole number, not {max_response_bytes!r}"
            )
        if not isinstance(cast(object, store_timezone), str | tzinfo):
            raise TypeError(
                "store_timezone must be an IANA zone name (e.g. America/New_York) or a tzinfo, "
                f"not {type(store_timezone).__name__}"
            )
        if not isinstance(cast(object, base_url), str):
            raise TypeError(f"base_url must be a string, not {type(base_url).__name__}")
        self.base_url: str = _base_url(base_url)
        self.timeout: httpx.Timeout = _timeout(timeout)
        self.max_retries = max_retries
        self.max_response_bytes = max_response_bytes
        self.store_tz: tzinfo = (
            store_zone(store_timezone) if isinstance(store_timezone, str) else store_timezone
        )
        self.verify = verify
        self._ssl = _ssl_context(verify)
        host = httpx.URL(self.base_url).host  # (_base_url made sure there is one)
        if verify is False:
            _warn_once("threedcart: TLS verification is off (verify=False): credentials can be intercepted")
        if self.base_url.startswith("http://") and not _loopback(host):
            _warn_once(f"threedcart: {self.base_url} is plain http://: credentials travel unencrypted")
        if not isinstance(cast(object, trust_env), bool):
            raise TypeError(f"trust_env must be True or False, not {type(trust_env).__name__}")
        self._proxy = _proxy_for(self.base_url, proxy, trust_env)
        self._inner_transport = transport
        if rate_limit is not None and not isinstance(
            cast(object, rate_limit), bool | RateLimit | SharedRateLimit
        ):
            raise TypeError(
                "rate_limit must be True, False, None, a RateLimit or a SharedRateLimit, "
                f"not {type(rate_limit).__name__}"
            )
        if isinstance(rate_limit, SharedRateLimit):
            _secrets.register(rate_limit.secrets)
        if rate_limit is None:  # on by default where the documented limit applies
            rate_limit = host == PRODUCTION_HOST
        self.rate_limit: RateLimit | SharedRateLimit | None = (
            rate_limit
            if isinstance(rate_limit, RateLimit | SharedRateLimit)
            else RateLimit()
            if rate_limit
            else None
        )
        self._policy = RetryPolicy(max_retries=max_retries)
        self._abandoned = _abandoned
        self._owner = _view_of is None
        self._shared = self._share() if _view_of is None else _view_of
        self._open()
        self._bind_resources()

    @property
    def _throttle(self) -> Throttle | None:
        """The rate limit's throttle, shared with this store's views."""
        return self._shared.throttle

    def _make_throttle(self) -> Throttle | None:
        if isinstance(self.rate_limit, SharedRateLimit):
            return self.rate_limit.throttle(self._credentials.secure_url)
        return Throttle(self.rate_limit) if self.rate_limit else None

    def _share(self) -> _Shared:
        """What this store's views will share with it (it made the connection pool)."""
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        """The clients' default headers (the credentials are added per request: `_CredentialHeaders`)."""
        return {"Accept": "application/json", "User-Agent": _user_agent(), "Accept-Encoding": "gzip, deflate"}

    def _open(self) -> None:
        raise NotImplementedError

    @classmethod
    def from_env(cls, **options: Unpack[StoreOptions]) -> Self:
        """A store configured from the environment.

        `THREEDCART_SECURE_URL`, `THREEDCART_PRIVATE_KEY` and `THREEDCART_TOKEN` are required;
        `THREEDCART_BASE_URL` is optional (scheme and host, default https://apirest.3dcart.com),
        and so are `THREEDCART_TIMEOUT` (seconds) and `THREEDCART_STORE_TIMEZONE` (an IANA name, e.g.
        America/Chicago: the store's time zone). `THREEDCART_RATE_LIMIT_URL` (a Redis URL)
        shares the store's rate limit with every process pointed at it (`SharedRateLimit`),
        unless `rate_limit=False` or a `SharedRateLimit` is passed.
        Keyword arguments override the environment and set the other options (those of the
        constructor); an unknown one is a TypeError naming it.
        """
        unknown = sorted(set(options) - set(StoreOptions.__annotations__))
        if unknown:
            hints = [_with_hint(name) for name in unknown]
            raise TypeError(f"{cls.__name__}.from_env() got unknown option(s): {', '.join(hints)}")
        overrides: dict[str, Any] = dict(options)
        values: dict[str, Any] = {}
        for key, env in (
            ("secure_url", ENV_SECURE_URL),
            ("private_key", ENV_PRIVATE_KEY),
            ("token", ENV_TOKEN),
        ):
            given = overrides.pop(key, None)
            value = given or os.environ.get(env, "").strip()
            if not value:
                raise ValueError(f"{env} is not set (or pass {key}=...)")
            values[key] = check_credential(key if given else env, value)
        base_url = overrides.pop("base_url", None) or os.environ.get(ENV_BASE_URL, "").strip()
        if base_url:
            values["base_url"] = base_url
        timeout = os.environ.get(ENV_TIMEOUT, "").strip()
        if timeout and "timeout" not in overrides:
            try:
                seconds = float(timeout)
            except ValueError:
                seconds = math.nan
            if not seconds > 0 or not math.isfinite(seconds):
                raise ValueError(
                    f"{ENV_TIMEOUT} must be a finite number of seconds above 0, e.g. 30, not {timeout!r}"
                )
            values["timeout"] = seconds
        if "store_timezone" not in overrides:
            values["store_timezone"] = configured_zone()
        shared_url = os.environ.get(ENV_RATE_LIMIT_URL, "").strip()
        chosen = overrides.get("rate_limit")
        if shared_url and chosen is not False and not isinstance(chosen, SharedRateLimit):
            # the environment says where the bucket lives; a RateLimit passed says its shape
            limit = chosen if isinstance(chosen, RateLimit) else None
            overrides["rate_limit"] = SharedRateLimit(shared_url, limit)
        return cls(**values, **overrides)

    @property
    def secure_url(self) -> str:
        """The merchant's store URL (not a secret)."""
        return self._credentials.secure_url

    def with_options(self, *, max_retries: int | None = None, timeout: TimeoutLike | None = None) -> Self:
        """A view of this store (same connections, same rate limit) with other retries or timeout.

        >>> store.with_options(max_retries=5).customers.get(42)

        The view is a store of its own, built with the same options but these: its `customers`
        and its `client` (raw calls) retry and time out as it says. Closing it (or leaving its
        `with` block) does not close the connections it shares: close the store it came from.
        """
        return self._view(
            max_retries=self.max_retries if max_retries is None else max_retries,
            timeout=self.timeout if timeout is None else timeout,
            abandoned=self._abandoned,
        )

    def _view(self, *, max_retries: int, timeout: TimeoutLike, abandoned: threading.Event | None) -> Self:
        """A store over this one's shared parts, built through the constructor."""
        rate_limit: RateLimit | SharedRateLimit | bool = self.rate_limit or False
        view = type(self)(
            secure_url=self._credentials.secure_url,
            private_key=self._credentials.private_key,
            token=self._credentials.token,
            base_url=self.base_url,
            timeout=timeout,
            max_retries=max_retries,
            rate_limit=rate_limit,
            store_timezone=self.store_tz,
            verify=self._ssl,  # as loaded by the store (a CA bundle is not read again)
            proxy=self._proxy,
            trust_env=False,
            transport=self._inner_transport,
            max_response_bytes=self.max_response_bytes,
            _view_of=self._shared,
            _abandoned=abandoned,
        )
        view.verify = self.verify
        return view

    def _timed(self, timeout: TimeoutLike | None) -> Self:
        """This store, or a view of it with `timeout` for one call (views are kept for reuse)."""
        if timeout is None:
            return self
        limits = _timeout(timeout)
        # (a store and its views share `shared`, never a Store and an AsyncStore; a page reader's
        # view is never kept, and one found for it is rebuilt below)
        key = (self.max_retries, tuple(limits.as_dict().items()))
        shared = self._shared
        with shared.lock:
            view = shared.views.get(key)
        if view is None or view._abandoned is not self._abandoned:
            view = self._view(max_retries=self.max_retries, timeout=limits, abandoned=self._abandoned)
            if self._abandoned is None:  # a page reader's view lives as long as its iteration
                with shared.lock:
                    if len(shared.views) >= _VIEW_CACHE:
                        shared.views.pop(next(iter(shared.views)))
                    shared.views[key] = view
        return view

    def _abandonable(self, abandoned: threading.Event | None) -> Self:
        """A view whose requests stop retrying and waiting once `abandoned` is set (page workers);
        this store itself when there is no such event (tasks are cancelled instead)."""
        if abandoned is None:
            return self
        return self._view(max_retries=self.max_retries, timeout=self.timeout, abandoned=abandoned)

    def _bind_resources(self) -> None:
        raise NotImplementedError

    @property
    def client(self) -> AuthenticatedClient:
        """The generated `threedcart_customers_client` client, sharing this store's connections,
        retries and rate limit, for raw calls."""
        raise NotImplementedError

    @property
    def is_closed(self) -> bool:
        """Whether the store (the one a `with_options` view came from) has been closed."""
        return self._shared.closed

    def _is_shared_closed(self) -> bool:
        return self._shared.closed

    def _ensure_open(self) -> None:
        if self.is_closed:
            raise StoreClosedError(
                f"this {type(self).__name__} is closed (close() or the end of its with block); make a new one"
            )

    def _generated_client(self) -> AuthenticatedClient:
        # The credentials live in the httpx client's headers only, never in this attrs
        # object, whose repr would show them.
        return AuthenticatedClient(
            base_url=self.base_url, token="", timeout=self.timeout, verify_ssl=self._ssl
        )

    def _transport_options(self) -> dict[str, Any]:
        return {"origin": self.base_url, "max_response_bytes": self.max_response_bytes}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(secure_url={self.secure_url!r}, base_url={self.base_url!r})"


class Store(_BaseStore):
    """A merchant's store, for synchronous code. Thread-safe; close it, or use `with`.

    >>> with threedcart.Store.from_env() as store:
    ...     store.customers.count(state="FL")

    Options: `base_url` (scheme and host), `timeout` (seconds or `httpx.Timeout`),
    `max_retries` (default 2), `rate_limit` (a `RateLimit`, `True` for the documented bucket,
    `False` for none; default on for the production host only; a `SharedRateLimit` to share
    the bucket with other processes through Redis), `store_timezone` (where
    naive dates are read, default US Eastern), `verify` (TLS verification, default on; a
    CA bundle path, an `ssl.SSLContext`, or `False` to turn it off, with a warning),
    `proxy` (else `HTTPS_PROXY`/`ALL_PROXY` unless `NO_PROXY`, when `trust_env`),
    `transport` (an `httpx.BaseTransport` to send through; retries, the rate limit and the
    limits still apply), `max_response_bytes` (default 64 MiB, decompressed).

    `store.client` is the generated `threedcart_customers_client` client, sharing this
    store's connections, retries and rate limit, for raw calls.
    """

    customers: Customers

    def _share(self) -> _Shared:
        inner = self._inner_transport or PoolTransport(verify=self._ssl, proxy=self._proxy)
        if not isinstance(inner, httpx.BaseTransport):
            raise TypeError(f"transport must be an httpx.BaseTransport, not {type(inner).__name__}")
        self._inner_transport = inner
        return _Shared(self._make_throttle())

    def _open(self) -> None:
        transport = RetryTransport(
            self._inner_transport,
            self._policy,
            self._shared.throttle,
            abandoned=self._abandoned,
            **self._transport_options(),
        )
        transport.closed = self._is_shared_closed
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=self._headers(),
            auth=_CredentialHeaders(self._credentials),
            timeout=self.timeout,
            transport=transport,
            trust_env=False,  # the proxy was chosen above, environment included
        )
        self._client = self._generated_client().set_httpx_client(self._http)

    @property
    def client(self) -> AuthenticatedClient:
        """The generated `threedcart_customers_client` client, sharing this store's connections
        and rate limit, with its retries and timeout, for raw calls."""
        return self._client

    def _bind_resources(self) -> None:
        self.customers = Customers(self)

    def close(self) -> None:
        """Close the connection pool and the rate limit's Redis client if shared (a `with_options`
        view leaves both to its store)."""
        if not self._owner or self._shared.closed:
            return
        self._shared.closed = True
        self._http.close()
        if self._shared.throttle is not None:
            self._shared.throttle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _LoopTransports:
    """An `AsyncStore`'s connection pools, one per event loop it is used on (shared by its views).

    An asyncio connection pool belongs to the loop it first ran on: once that loop has ended
    (`asyncio.run()` returned), its connections are unusable from any other. The pool made
    with the store serves the first loop that uses it; any other loop gets its own on first
    use. Each is closed as its loop shuts down (`asyncio.run()` closes the loop's open async
    generators, and one of them holds the pool), and then forgotten.
    """

    def __init__(self, make: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._by_loop: dict[asyncio.AbstractEventLoop, httpx.AsyncBaseTransport] = {}
        self._closers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
        self._unbound: httpx.AsyncBaseTransport | None = make()
        self._latest: httpx.AsyncBaseTransport = self._unbound

    def for_loop(self, loop: asyncio.AbstractEventLoop | None) -> httpx.AsyncBaseTransport:
        """The pool of `loop` (made on first use); outside any loop (None), the one used last."""
        if loop is None:
            return self._latest
        found = self._by_loop.get(loop)
        if found is None:
            with self._lock:
                found = self._by_loop.get(loop)
                if found is None:
                    self._forget_closed_loops()
                    found, self._unbound = self._unbound or self._make(), None
                    self._by_loop[loop] = found
                    self._closers[loop] = _closed_with_the_loop(found)
        self._latest = found
        return found

    def _forget_closed_loops(self) -> None:
        # (with _lock held) a closed loop's connections can neither be used nor closed from here
        for loop in [loop for loop in self._by_loop if loop.is_closed()]:
            del self._by_loop[loop], self._closers[loop]  # (written together in for_loop)

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            mine, unbound = self._by_loop.pop(loop, None), self._unbound
            closer = self._closers.pop(loop, None)
            self._unbound = None
            self._forget_closed_loops()
        if closer is not None:
            await closer.aclose()  # closes `mine`, which it holds
        elif mine is not None:
            await mine.aclose()
        if unbound is not None and unbound is not mine:
            await unbound.aclose()


class _AsyncShared(_Shared):
    def __init__(self, throttle: Throttle | None, transports: _LoopTransports) -> None:
        super().__init__(throttle)
        self.transports = transports


async def _holding(transport: httpx.AsyncBaseTransport) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await transport.aclose()


def _closed_with_the_loop(transport: httpx.AsyncBaseTransport) -> AsyncGenerator[None, None]:
    """An async generator, started on the running loop, that closes `transport` when it is closed:
    the loop's shutdown (`asyncio.run()`, `loop.shutdown_asyncgens()`) does that."""
    holder = _holding(transport)
    step = holder.asend(None)  # the first step registers it with the running loop
    with contextlib.suppress(StopIteration):
        step.send(None)  # and runs it to its `yield` at once: there is nothing to await before
    return holder


class AsyncStore(_BaseStore):
    """A merchant's store, for asyncio code; the same options as `Store`.

    >>> async with threedcart.AsyncStore.from_env() as store:
    ...     async for customer in store.customers.iter(concurrency=4):
    ...         ...

    A store may serve several event loops, one after another (`asyncio.run()` twice) or at
    once (one per thread): each loop gets its own connections, made on first use.
    """

    customers: AsyncCustomers

    def _share(self) -> _Shared:
        return _AsyncShared(self._make_throttle(), _LoopTransports(self._new_transport))

    def _new_transport(self) -> httpx.AsyncBaseTransport:
        inner = self._inner_transport or httpx.AsyncHTTPTransport(verify=self._ssl, proxy=self._proxy)
        if not isinstance(inner, httpx.AsyncBaseTransport):
            raise TypeError(f"transport must be an httpx.AsyncBaseTransport, not {type(inner).__name__}")
        return inner

    def _open(self) -> None:
        if not isinstance(self._shared, _AsyncShared):
            raise TypeError("an AsyncStore's view is made from an AsyncStore")
        self._transports = self._shared.transports
        self._clients: dict[asyncio.AbstractEventLoop, AuthenticatedClient] = {}
        self._idle: tuple[httpx.AsyncBaseTransport, AuthenticatedClient] | None = None
        self._clients_lock = threading.Lock()

    def _client_for(self, loop: asyncio.AbstractEventLoop | None) -> AuthenticatedClient:
        """This store's generated client over `loop`'s pool (outside a loop: the pool used last)."""
        with self._clients_lock:
            if loop is None:
                inner = self._transports.for_loop(None)
                if self._idle is None or self._idle[0] is not inner:
                    self._idle = (inner, self._new_client(inner))
                return self._idle[1]
            found = self._clients.get(loop)
            if found is None:
                found = self._new_client(self._transports.for_loop(loop))
                for gone in [known for known in self._clients if known.is_closed()]:
                    del self._clients[gone]
                self._clients[loop] = found
            return found

    def _new_client(self, inner: httpx.AsyncBaseTransport) -> AuthenticatedClient:
        transport = AsyncRetryTransport(
            inner, self._policy, self._shared.throttle, **self._transport_options()
        )
        transport.closed = self._is_shared_closed
        http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=self._headers(),
            auth=_CredentialHeaders(self._credentials),
            timeout=self.timeout,
            transport=transport,
            trust_env=False,  # the proxy was chosen above, environment included
        )
        return self._generated_client().set_async_httpx_client(http)

    @property
    def client(self) -> AuthenticatedClient:
        """The generated client of the running event loop (see the class), sharing this store's
        connections and rate limit, with its retries and timeout, for raw calls."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        return self._client_for(loop)

    def _bind_resources(self) -> None:
        self.customers = AsyncCustomers(self)

    async def aclose(self) -> None:
        """Close the store: its connections on this event loop, and the rate limit's Redis client
        on this loop if shared (a `with_options` view leaves both to its store). Connections
        opened on another loop that is still running close when that loop ends."""
        if not self._owner:
            return
        self._shared.closed = True
        with self._clients_lock:
            self._clients.clear()
            self._idle = None
        await self._transports.aclose()
        if self._shared.throttle is not None:
            await self._shared.throttle.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

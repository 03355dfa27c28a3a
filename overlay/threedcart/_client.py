"""`Store` and `AsyncStore`: one merchant's store, its credentials and its connection pool."""

from __future__ import annotations

import ipaddress
import logging
import os
import platform
import ssl
import sys
import urllib.request
import warnings
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from threedcart_customers_client import AuthenticatedClient

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
from ._resources import AsyncCustomers, Customers, aremember_response, remember_response
from ._shared_limit import ENV_RATE_LIMIT_URL, SharedRateLimit
from ._throttle import RateLimit, Throttle
from ._transport import (
    AsyncRetryTransport,
    CallOptions,
    RetryPolicy,
    RetryTransport,
    TimeoutLike,
    deadline_transport,
)

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


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, stacklevel=4)
        log.warning(message)


def _check_credential(name: str, value: object) -> str:
    """A credential as it will be sent in a header; the error names it, never shows it."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} is required (a non-empty string)")
    value = value.strip()
    for position, char in enumerate(value):
        if not 0x20 <= ord(char) <= 0x7E:
            kind = "a control character" if ord(char) < 0x20 or ord(char) == 0x7F else "a non-ASCII character"
            raise ValueError(
                f"{name} contains {kind} at position {position}: headers carry printable ASCII only"
            )
    return value


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


def _loopback(host: str | None) -> bool:
    if host in (None, "localhost"):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _ssl_context(verify: VerifyLike) -> ssl.SSLContext | bool:
    if isinstance(verify, ssl.SSLContext | bool):
        return verify
    if isinstance(verify, str):
        # a CA bundle path: build the context here (httpx 0.28 deprecates verify="path")
        try:
            return ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"verify: cannot load the CA bundle {verify!r} ({exc})") from None
    raise TypeError(
        f"verify must be a bool, a CA bundle path or an ssl.SSLContext, not {type(verify).__name__}"
    )


def _proxy_for(base_url: str, proxy: ProxyLike | None, trust_env: bool) -> httpx.Proxy | None:
    """The proxy for the store's one host: `proxy=`, else HTTPS_PROXY/HTTP_PROXY/ALL_PROXY unless NO_PROXY."""
    if proxy is not None:
        return proxy if isinstance(proxy, httpx.Proxy) else httpx.Proxy(proxy)
    if not trust_env:
        return None
    parts = urlsplit(base_url)
    if urllib.request.proxy_bypass_environment(parts.hostname or ""):  # type: ignore[attr-defined]
        return None
    found = urllib.request.getproxies_environment()
    url = found.get(parts.scheme) or found.get("all")
    return httpx.Proxy(url) if url else None


@dataclass(frozen=True, repr=False)
class _Credentials:
    secure_url: str
    private_key: str
    token: str

    def __repr__(self) -> str:
        return f"_Credentials(secure_url={self.secure_url!r}, private_key='***', token='***')"

    def headers(self) -> dict[str, str]:
        return {
            "SecureURL": self.secure_url,
            "PrivateKey": self.private_key,
            "Token": self.token,
            "Accept": "application/json",
        }


def _base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must look like https://host[:port], not {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"base_url is the scheme and host only (the SDK adds /3dCartWebAPI/v1), not {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _timeout(value: TimeoutLike) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"timeout must be seconds (a number) or an httpx.Timeout, not {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"timeout must be more than 0 seconds, not {value}")
    return httpx.Timeout(value)


class _BaseStore:
    client: AuthenticatedClient
    _call_options: CallOptions | None

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
    ) -> None:
        _logging_from_env()
        self._credentials = _Credentials(
            _check_credential("secure_url", secure_url),
            _check_credential("private_key", private_key),
            _check_credential("token", token),
        )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a whole number, 0 or more, not {max_retries!r}")
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1
        ):
            raise ValueError(
                f"max_response_bytes must be a positive whole number, not {max_response_bytes!r}"
            )
        self.base_url = _base_url(base_url)
        self.timeout = _timeout(timeout)
        self.max_retries = max_retries
        self.max_response_bytes = max_response_bytes
        self.store_tz = store_zone(store_timezone) if isinstance(store_timezone, str) else store_timezone
        self.verify = verify
        self._ssl = _ssl_context(verify)
        host = urlsplit(self.base_url).hostname
        if verify is False:
            _warn_once("threedcart: TLS verification is off (verify=False): credentials can be intercepted")
        if self.base_url.startswith("http://") and not _loopback(host):
            _warn_once(f"threedcart: {self.base_url} is plain http://: credentials travel unencrypted")
        self._proxy = _proxy_for(self.base_url, proxy, trust_env)
        self._inner_transport = transport
        if rate_limit is None:  # on by default where the documented limit applies
            rate_limit = host == PRODUCTION_HOST
        self.rate_limit: RateLimit | SharedRateLimit | None = (
            rate_limit
            if isinstance(rate_limit, RateLimit | SharedRateLimit)
            else RateLimit()
            if rate_limit
            else None
        )
        self._throttle: Throttle | None = (
            self.rate_limit.throttle(self._credentials.secure_url)
            if isinstance(self.rate_limit, SharedRateLimit)
            else Throttle(self.rate_limit)
            if self.rate_limit
            else None
        )
        self._policy = RetryPolicy(max_retries=max_retries)
        self._call_options = None
        self._owner = True
        self._open()
        self._bind_resources()

    def _headers(self) -> dict[str, str]:
        return {
            **self._credentials.headers(),
            "User-Agent": _user_agent(),
            "Accept-Encoding": "gzip, deflate",
        }

    def _open(self) -> None:
        raise NotImplementedError

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """A store configured from the environment.

        `THREEDCART_SECURE_URL`, `THREEDCART_PRIVATE_KEY` and `THREEDCART_TOKEN` are required;
        `THREEDCART_BASE_URL` is optional (scheme and host, default https://apirest.3dcart.com),
        and so are `THREEDCART_TIMEOUT` (seconds) and `THREEDCART_STORE_TIMEZONE` (an IANA name, e.g.
        America/Chicago: the store's time zone). `THREEDCART_RATE_LIMIT_URL` (a Redis URL)
        shares the store's rate limit with every process pointed at it (`SharedRateLimit`),
        unless `rate_limit=False` or a `SharedRateLimit` is passed.
        Keyword arguments override the environment and set the other options.
        """
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
            values[key] = _check_credential(key if given else env, value)
        base_url = overrides.pop("base_url", None) or os.environ.get(ENV_BASE_URL, "").strip()
        if base_url:
            values["base_url"] = base_url
        timeout = os.environ.get(ENV_TIMEOUT, "").strip()
        if timeout and "timeout" not in overrides:
            try:
                values["timeout"] = float(timeout)
            except ValueError:
                raise ValueError(f"{ENV_TIMEOUT} must be seconds, e.g. 30") from None
        zone = os.environ.get(ENV_STORE_TIMEZONE, "").strip()
        if zone and "store_timezone" not in overrides:
            values["store_timezone"] = store_zone(zone, ENV_STORE_TIMEZONE)
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

        The view reports its own `max_retries` and `timeout`; closing it (or leaving its `with`
        block) does not close the connections it shares: close the store it came from.
        """
        if max_retries is not None and (
            isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0
        ):
            raise ValueError(f"max_retries must be a whole number, 0 or more, not {max_retries!r}")
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        base = self._call_options or CallOptions()
        view._call_options = CallOptions(
            max_retries=base.max_retries if max_retries is None else max_retries,
            timeout=base.timeout if timeout is None else _timeout(timeout),
        )
        view.max_retries = self.max_retries if max_retries is None else max_retries
        view.timeout = self.timeout if timeout is None else _timeout(timeout)
        view._owner = False
        view._bind_resources()
        return view

    def _bind_resources(self) -> None:
        raise NotImplementedError

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

    def _open(self) -> None:
        inner = self._inner_transport or deadline_transport(verify=self._ssl, proxy=self._proxy)
        if not isinstance(inner, httpx.BaseTransport):
            raise TypeError(f"transport must be an httpx.BaseTransport, not {type(inner).__name__}")
        transport = RetryTransport(inner, self._policy, self._throttle, **self._transport_options())
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=self._headers(),
            timeout=self.timeout,
            transport=transport,
            event_hooks={"response": [remember_response]},
        )
        self.client = self._generated_client().set_httpx_client(self._http)

    def _bind_resources(self) -> None:
        self.customers = Customers(self)

    def close(self) -> None:
        """Close the connection pool (a `with_options` view leaves it to its store)."""
        if self._owner:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncStore(_BaseStore):
    """A merchant's store, for asyncio code; the same options as `Store`.

    >>> async with threedcart.AsyncStore.from_env() as store:
    ...     async for customer in store.customers.iter(concurrency=4):
    ...         ...
    """

    customers: AsyncCustomers

    def _open(self) -> None:
        inner = self._inner_transport or httpx.AsyncHTTPTransport(verify=self._ssl, proxy=self._proxy)
        if not isinstance(inner, httpx.AsyncBaseTransport):
            raise TypeError(f"transport must be an httpx.AsyncBaseTransport, not {type(inner).__name__}")
        transport = AsyncRetryTransport(inner, self._policy, self._throttle, **self._transport_options())
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=self._headers(),
            timeout=self.timeout,
            transport=transport,
            event_hooks={"response": [aremember_response]},
        )
        self.client = self._generated_client().set_async_httpx_client(self._http)

    def _bind_resources(self) -> None:
        self.customers = AsyncCustomers(self)

    async def aclose(self) -> None:
        """Close the connection pool, and the rate limit's Redis client on this event loop if
        shared (a `with_options` view leaves both to its store)."""
        if self._owner:
            await self._http.aclose()
            if self._throttle is not None:
                await self._throttle.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

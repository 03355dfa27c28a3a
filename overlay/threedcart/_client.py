"""`Store` and `AsyncStore`: one merchant's store, its credentials and its connection pool."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from threedcart_customers_client import AuthenticatedClient

from ._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ENV_BASE_URL,
    ENV_PRIVATE_KEY,
    ENV_SECURE_URL,
    ENV_TOKEN,
    PRODUCTION_HOST,
    STORE_TIMEZONE,
)
from ._resources import AsyncCustomers, Customers, aremember_response, remember_response
from ._throttle import RateLimit, Throttle
from ._transport import AsyncRetryTransport, CallOptions, RetryPolicy, RetryTransport

TimeoutLike = float | httpx.Timeout


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
    return value if isinstance(value, httpx.Timeout) else httpx.Timeout(value)


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
        rate_limit: RateLimit | bool | None = None,
        store_timezone: str | tzinfo = STORE_TIMEZONE,
        verify: bool | str = True,
    ) -> None:
        for name, value in (("secure_url", secure_url), ("private_key", private_key), ("token", token)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} is required (a non-empty string)")
        if max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, not {max_retries}")
        self._credentials = _Credentials(secure_url.strip(), private_key.strip(), token.strip())
        self.base_url = _base_url(base_url)
        self.timeout = _timeout(timeout)
        self.max_retries = max_retries
        self.store_tz = ZoneInfo(store_timezone) if isinstance(store_timezone, str) else store_timezone
        self.verify = verify
        if rate_limit is None:  # on by default where the documented limit applies
            rate_limit = urlsplit(self.base_url).hostname == PRODUCTION_HOST
        self.rate_limit: RateLimit | None = (
            rate_limit if isinstance(rate_limit, RateLimit) else RateLimit() if rate_limit else None
        )
        self._throttle = Throttle(self.rate_limit) if self.rate_limit else None
        self._policy = RetryPolicy(max_retries=max_retries)
        self._call_options = None
        self._open()
        self._bind_resources()

    def _open(self) -> None:
        raise NotImplementedError

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """A store configured from the environment.

        `THREEDCART_SECURE_URL`, `THREEDCART_PRIVATE_KEY` and `THREEDCART_TOKEN` are required;
        `THREEDCART_BASE_URL` is optional (scheme and host, default https://apirest.3dcart.com).
        Keyword arguments override the environment and set the other options.
        """
        values: dict[str, Any] = {}
        for key, env in (
            ("secure_url", ENV_SECURE_URL),
            ("private_key", ENV_PRIVATE_KEY),
            ("token", ENV_TOKEN),
        ):
            value = overrides.pop(key, None) or os.environ.get(env, "").strip()
            if not value:
                raise ValueError(f"{env} is not set (or pass {key}=...)")
            values[key] = value
        base_url = overrides.pop("base_url", None) or os.environ.get(ENV_BASE_URL, "").strip()
        if base_url:
            values["base_url"] = base_url
        return cls(**values, **overrides)

    @property
    def secure_url(self) -> str:
        """The merchant's store URL (not a secret)."""
        return self._credentials.secure_url

    def with_options(self, *, max_retries: int | None = None, timeout: TimeoutLike | None = None) -> Self:
        """The same store (same connections, same rate limit) with other retries or timeout for its calls.

        >>> store.with_options(max_retries=5).customers.get(42)
        """
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        base = self._call_options or CallOptions()
        view._call_options = CallOptions(
            max_retries=base.max_retries if max_retries is None else max_retries,
            timeout=base.timeout if timeout is None else _timeout(timeout),
        )
        view._bind_resources()
        return view

    def _bind_resources(self) -> None:
        raise NotImplementedError

    def _generated_client(self) -> AuthenticatedClient:
        # The credentials live in the httpx client's headers only, never in this attrs
        # object, whose repr would show them.
        return AuthenticatedClient(
            base_url=self.base_url, token="", timeout=self.timeout, verify_ssl=self.verify
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(secure_url={self.secure_url!r}, base_url={self.base_url!r})"


class Store(_BaseStore):
    """A merchant's store, for synchronous code. Thread-safe; close it, or use `with`.

    >>> with threedcart.Store.from_env() as store:
    ...     store.customers.count(state="FL")

    Options: `base_url` (scheme and host), `timeout` (seconds or `httpx.Timeout`),
    `max_retries` (default 2), `rate_limit` (a `RateLimit`, `True` for the documented bucket,
    `False` for none; default on for the production host only), `store_timezone` (where
    naive dates are read, default US Eastern), `verify` (TLS verification, default on; a
    CA bundle path, or `False` to turn it off explicitly).

    `store.client` is the generated `threedcart_customers_client` client, sharing this
    store's connections, retries and rate limit, for raw calls.
    """

    customers: Customers

    def _open(self) -> None:
        transport = RetryTransport(httpx.HTTPTransport(verify=self.verify), self._policy, self._throttle)
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=self._credentials.headers(),
            timeout=self.timeout,
            transport=transport,
            event_hooks={"response": [remember_response]},
        )
        self.client = self._generated_client().set_httpx_client(self._http)

    def _bind_resources(self) -> None:
        self.customers = Customers(self)

    def close(self) -> None:
        """Close the connection pool."""
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
        transport = AsyncRetryTransport(
            httpx.AsyncHTTPTransport(verify=self.verify), self._policy, self._throttle
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=self._credentials.headers(),
            timeout=self.timeout,
            transport=transport,
            event_hooks={"response": [aremember_response]},
        )
        self.client = self._generated_client().set_async_httpx_client(self._http)

    def _bind_resources(self) -> None:
        self.customers = AsyncCustomers(self)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

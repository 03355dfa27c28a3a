"""Retries, throttling and logging, as httpx transports under the generated client.

The generated operations send exactly one request; the transports below decide how it
reaches the service: wait for the store's rate limit, send, and retry what is safe to
retry. Living at this depth, every generated operation (sync and async, and raw calls
through `Store.client`) gets the same behaviour with no change to generated code.
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ._constants import (
    DEFAULT_MAX_RETRIES,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    RETRY_STATUSES,
)
from ._throttle import Throttle

log = logging.getLogger("threedcart")


@dataclass(frozen=True)
class CallOptions:
    """Overrides for the calls made in the current context (see `Store.with_options`)."""

    max_retries: int | None = None
    timeout: httpx.Timeout | None = None


CALL_OPTIONS: contextvars.ContextVar[CallOptions | None] = contextvars.ContextVar(
    "threedcart_call_options", default=None
)
_DEFAULTS = CallOptions()


@dataclass
class RetryPolicy:
    """When and how long to wait before trying again.

    GET, PUT and DELETE are idempotent here and are retried on transport errors and on
    429, 500, 502, 503 and 504. POST (create) is retried only when the service cannot have
    processed it: the connection was never made, or the answer was 429. So a retry never
    creates a customer twice.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = INITIAL_RETRY_DELAY
    max_delay: float = MAX_RETRY_DELAY
    max_retry_after: float = MAX_RETRY_AFTER
    jitter: Callable[[], float] = random.random  # 0..1

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before retry number `attempt` (0-based)."""
        if response is not None:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                return min(retry_after, self.max_retry_after)
        backoff = min(self.initial_delay * 2**attempt, self.max_delay)
        # full jitter on the upper half: spreads clients apart, never waits less than half
        return float(backoff * (0.5 + 0.5 * self.jitter()))

    @staticmethod
    def retries_status(method: str, status_code: int) -> bool:
        if status_code not in RETRY_STATUSES:
            return False
        return method != "POST" or status_code == 429

    @staticmethod
    def retries_error(method: str, exc: httpx.TransportError) -> bool:
        if method != "POST":
            return True
        # the request never left: safe even for a create
        return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _describe(request: httpx.Request) -> str:
    # path and query only: never headers, where the credentials are
    return f"{request.method} {request.url.raw_path.decode('ascii', 'replace')}"


class _Base:
    def __init__(self, policy: RetryPolicy, throttle: Throttle | None) -> None:
        self.policy = policy
        self.throttle = throttle

    def _prepare(self, request: httpx.Request) -> int:
        options = CALL_OPTIONS.get() or _DEFAULTS
        if options.timeout is not None:
            request.extensions = {**request.extensions, "timeout": options.timeout.as_dict()}
        return self.policy.max_retries if options.max_retries is None else options.max_retries

    def _retry_error(
        self, request: httpx.Request, exc: httpx.TransportError, attempt: int, retries: int
    ) -> float:
        """Seconds to wait before retrying after `exc`, or -1 to give up."""
        if attempt >= retries or not self.policy.retries_error(request.method, exc):
            return -1
        wait = self.policy.delay(attempt)
        log.info(
            "retrying %s in %.2fs (retry %d of %d) after %s",
            _describe(request),
            wait,
            attempt + 1,
            retries,
            type(exc).__name__,
        )
        return wait

    def _retry_status(
        self, request: httpx.Request, response: httpx.Response, attempt: int, retries: int
    ) -> float:
        if attempt >= retries or not self.policy.retries_status(request.method, response.status_code):
            return -1
        wait = self.policy.delay(attempt, response)
        log.info(
            "retrying %s in %.2fs (retry %d of %d) after %d",
            _describe(request),
            wait,
            attempt + 1,
            retries,
            response.status_code,
        )
        return wait

    @staticmethod
    def _log(request: httpx.Request, response: httpx.Response, started: float) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return
        elapsed = (time.perf_counter() - started) * 1000
        log.debug("%s -> %d in %.1f ms", _describe(request), response.status_code, elapsed)


class RetryTransport(_Base, httpx.BaseTransport):
    """Throttle, send and retry, for `httpx.Client`."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy,
        throttle: Throttle | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(policy, throttle)
        self.inner = inner
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retries = self._prepare(request)
        attempt = 0
        while True:
            if self.throttle is not None and (wait := self.throttle.reserve()) > 0:
                self._sleep(wait)
            started = time.perf_counter()
            try:
                response = self.inner.handle_request(request)
            except httpx.TransportError as exc:
                wait = self._retry_error(request, exc, attempt, retries)
                if wait < 0:
                    raise
            else:
                self._log(request, response, started)
                wait = self._retry_status(request, response, attempt, retries)
                if wait < 0:
                    return response
                response.close()
            self._sleep(wait)
            attempt += 1

    def close(self) -> None:
        self.inner.close()


class AsyncRetryTransport(_Base, httpx.AsyncBaseTransport):
    """Throttle, send and retry, for `httpx.AsyncClient`."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: RetryPolicy,
        throttle: Throttle | None = None,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        super().__init__(policy, throttle)
        self.inner = inner
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        retries = self._prepare(request)
        attempt = 0
        while True:
            if self.throttle is not None and (wait := self.throttle.reserve()) > 0:
                await self._sleep(wait)  # type: ignore[misc]
            started = time.perf_counter()
            try:
                response = await self.inner.handle_async_request(request)
            except httpx.TransportError as exc:
                wait = self._retry_error(request, exc, attempt, retries)
                if wait < 0:
                    raise
            else:
                self._log(request, response, started)
                wait = self._retry_status(request, response, attempt, retries)
                if wait < 0:
                    return response
                await response.aclose()
            await self._sleep(wait)  # type: ignore[misc]
            attempt += 1

    async def aclose(self) -> None:
        await self.inner.aclose()

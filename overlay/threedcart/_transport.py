"""Retries, throttling and logging, as httpx transports under the generated client.

The generated operations send exactly one request; the transports below decide how it
reaches the service: wait for the store's rate limit, send, read the whole answer (under a
deadline per attempt and a cap on its decompressed size), and retry what is safe to retry,
body-read failures included. Living at this depth, every generated operation (sync and async, and raw calls
through `Store.client`) gets the same behaviour with no change to generated code.
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import logging
import math
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from ._constants import (
    ATTEMPT_DEADLINE_FACTOR,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    RETRY_STATUSES,
)
from ._throttle import Throttle
from .errors import APIResponseValidationError

TimeoutLike = float | httpx.Timeout
"""Seconds, or an `httpx.Timeout` for each phase."""

MAYBE_PROCESSED = "threedcart_maybe_processed"
"""Response extension: an earlier attempt of this request may have been carried out (its outcome
is unknown: it timed out or its connection dropped after sending, or it was answered 5xx)."""
_CREDENTIAL_HEADERS = ("PrivateKey", "Token", "SecureURL")

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

ABANDONED: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "threedcart_abandoned", default=None
)
"""Set in a page worker's context: once the event is set (its reader left the iterator), the
request starts no new attempt and cuts its waits short; the attempt in flight runs out alone."""


class _Abandoned(httpx.TransportError):
    """The caller stopped reading; nobody will look at this request's answer."""


def _pause(sleep: Callable[[float], object], seconds: float, request: httpx.Request) -> None:
    """Wait `seconds` before an attempt, or stop at once when the caller abandoned the request."""
    abandoned = ABANDONED.get()
    if abandoned is None:
        sleep(seconds)
    elif abandoned.wait(seconds):
        raise _Abandoned("abandoned: the caller stopped reading", request=request)


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


def _outcome_unknown(response: httpx.Response) -> bool:
    """Whether a retried answer leaves open that the service carried the request out.

    A 429 is a refusal: nothing was done. A 5xx may come after the work was committed (a
    gateway timing out, a failure while answering), so, as for a create, it counts as done.
    """
    return response.status_code != 429


def _retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` (delta-seconds or an HTTP date); None when unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


# --- a deadline on every socket operation of a sync attempt ----------------------------------
# httpx's timeouts apply per read: a server that drips headers or body a byte at a time never
# trips them. Threads cannot be interrupted, so each socket operation of an attempt is given at
# most the time left until the attempt's deadline (kept per thread).
_ATTEMPT = threading.local()


def _bounded(timeout: float | None) -> float | None:
    deadline: float | None = getattr(_ATTEMPT, "deadline", None)
    if deadline is None:
        return timeout
    left = max(0.001, deadline - time.monotonic())
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _bounded(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, _bounded(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(**options: Any) -> httpx.HTTPTransport:
    """httpx's own transport (TLS, proxy, pooling) with the attempt deadline on every socket operation."""
    transport = httpx.HTTPTransport(**options)
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):  # httpcore 1.x, as pinned
        pool._network_backend = _DeadlineBackend()
    return transport


class _Decoder:
    """Decompresses a body as it arrives, refusing to produce more than `limit` bytes."""

    def __init__(self, response: httpx.Response, request: httpx.Request, limit: int) -> None:
        self.response = response
        self.request = request
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj()
        else:
            raise self._invalid(f"an answer with an unsupported Content-Encoding {encoding!r}")

    def _invalid(self, what: str) -> APIResponseValidationError:
        shell = httpx.Response(
            self.response.status_code,
            headers=self.response.headers,
            request=self.request,
            extensions={"reason_phrase": self.response.extensions.get("reason_phrase", b"")},
        )
        return APIResponseValidationError(f"the service sent {what}", response=shell)

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise self._invalid(f"an answer larger than max_response_bytes ({self.limit:,} bytes)")
        self.parts.append(data)

    def feed(self, raw: bytes) -> None:
        if self._z is None:
            self._keep(raw)
            return
        try:
            data = self._z.decompress(raw, self.limit - self.size + 1)
            self._keep(data)
            while self._z.unconsumed_tail:
                self._keep(self._z.decompress(self._z.unconsumed_tail, self.limit - self.size + 1))
        except zlib.error as exc:
            raise self._invalid(f"a body that does not decompress ({exc})") from None

    def body(self) -> bytes:
        if self._z is not None:
            try:
                self._keep(self._z.flush())
            except zlib.error as exc:
                raise self._invalid(f"a body that does not decompress ({exc})") from None
        return b"".join(self.parts)


def _rebuilt(
    response: httpx.Response, body: bytes, maybe_processed: bool, request: httpx.Request
) -> httpx.Response:
    """The answer with its body read and decoded, as the client above expects it.

    The same response object gets the body back as an in-memory stream (cheaper than a new
    `httpx.Response`); once decoded, it no longer claims a Content-Encoding.
    """
    headers = response.headers
    if "content-encoding" in headers:
        del headers["content-encoding"]
        headers["content-length"] = str(len(body))
    if "transfer-encoding" in headers:
        del headers["transfer-encoding"]
        headers["content-length"] = str(len(body))
    response.stream = httpx.ByteStream(body)
    response.is_stream_consumed = False
    response.is_closed = False
    response.request = request
    if maybe_processed:
        response.extensions = {**response.extensions, MAYBE_PROCESSED: True}
    return response


def _already_read(response: httpx.Response, decoder: _Decoder) -> bytes | None:
    """The body of an answer an inner transport already read and decoded (httpx.MockTransport does)."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return None
    decoder._z = None  # decoded already
    decoder._keep(content)
    return content


def _deadline_error(request: httpx.Request, seconds: float) -> httpx.ReadTimeout:
    return httpx.ReadTimeout(
        f"the answer took longer than {seconds:g} s in all (the attempt's deadline)", request=request
    )


def _describe(request: httpx.Request) -> str:
    # path and query only: never headers, where the credentials are
    return f"{request.method} {request.url.raw_path.decode('ascii', 'replace')}"


class _Base:
    def __init__(
        self,
        policy: RetryPolicy,
        throttle: Throttle | None,
        *,
        origin: str | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.policy = policy
        self.throttle = throttle
        self.origin = None if origin is None else httpx.URL(origin)
        self.max_response_bytes = max_response_bytes

    def _prepare(self, request: httpx.Request) -> tuple[int, float]:
        """(retries, the deadline of one attempt in seconds) for this request."""
        options = CALL_OPTIONS.get() or _DEFAULTS
        if options.timeout is not None:
            request.extensions = {**request.extensions, "timeout": options.timeout.as_dict()}
        if self.origin is not None and (
            request.url.scheme,
            request.url.host,
            request.url.port,
        ) != (self.origin.scheme, self.origin.host, self.origin.port):
            # another origin (a redirect followed by a raw call): the store's credentials stay home
            for name in _CREDENTIAL_HEADERS:
                request.headers.pop(name, None)
        retries = self.policy.max_retries if options.max_retries is None else options.max_retries
        return retries, self._deadline(request)

    @staticmethod
    def _deadline(request: httpx.Request) -> float:
        timeouts = request.extensions.get("timeout", {})
        phases = [timeouts.get(k) for k in ("connect", "read", "write", "pool")]
        known = [t for t in phases if t is not None]
        # one attempt may not last more than a small multiple of its longest single wait
        return ATTEMPT_DEADLINE_FACTOR * max(known) if known else math.inf

    def _read(self, response: httpx.Response, request: httpx.Request, deadline: float) -> _Decoder:
        return _Decoder(response, request, self.max_response_bytes)

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
        *,
        origin: str | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__(policy, throttle, origin=origin, max_response_bytes=max_response_bytes)
        self.inner = inner
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retries, budget = self._prepare(request)
        attempt = 0
        maybe_processed = False
        while True:
            if (abandoned := ABANDONED.get()) is not None and abandoned.is_set():
                raise _Abandoned("abandoned: the caller stopped reading", request=request)
            if self.throttle is not None and (wait := self.throttle.reserve()) > 0:
                try:
                    _pause(self._sleep, wait, request)
                except BaseException:  # Ctrl-C, SIGTERM, an abandoned page: the slot was never used
                    self.throttle.release()
                    raise
            started = time.perf_counter()
            deadline = time.monotonic() + budget
            _ATTEMPT.deadline = None if math.isinf(budget) else deadline
            try:
                response = self.inner.handle_request(request)
                response = self._read_body(response, request, deadline, budget, maybe_processed)
            except httpx.TransportError as exc:
                if time.monotonic() >= deadline - 0.05 and not isinstance(exc, httpx.ConnectError):
                    exc = _deadline_error(request, budget)  # the deadline cut a socket operation short
                maybe_processed = maybe_processed or not isinstance(
                    exc, httpx.ConnectError | httpx.ConnectTimeout
                )
                wait = self._retry_error(request, exc, attempt, retries)
                if wait < 0:
                    raise exc from None
            else:
                self._log(request, response, started)
                wait = self._retry_status(request, response, attempt, retries)
                if wait < 0:
                    return response
                maybe_processed = maybe_processed or _outcome_unknown(response)
            finally:
                _ATTEMPT.deadline = None
            _pause(self._sleep, wait, request)
            attempt += 1

    def _read_body(
        self, response: httpx.Response, request: httpx.Request, deadline: float, budget: float, maybe: bool
    ) -> httpx.Response:
        """Read the whole body inside the retry loop: under the deadline, the size cap and retries."""
        try:
            decoder = self._read(response, request, deadline)
            body = _already_read(response, decoder)
            if body is None:
                for raw in response.iter_raw():
                    if time.monotonic() > deadline:
                        raise _deadline_error(request, budget)
                    decoder.feed(raw)
                body = decoder.body()
        finally:
            response.close()  # the connection goes back to the pool before the body is handed on
        return _rebuilt(response, body, maybe, request)

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
        *,
        origin: str | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__(policy, throttle, origin=origin, max_response_bytes=max_response_bytes)
        self.inner = inner
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        retries, budget = self._prepare(request)
        attempt = 0
        maybe_processed = False
        while True:
            # awaited: a reservation in a bucket shared on Redis never blocks the event loop
            if self.throttle is not None and (wait := await self.throttle.areserve()) > 0:
                try:
                    await self._sleep(wait)  # type: ignore[misc]
                except BaseException:  # cancelled while waiting: the slot was never used
                    self.throttle.arelease()
                    raise
            started = time.perf_counter()
            try:
                # the whole attempt, headers and body, under one deadline
                async with asyncio.timeout(None if math.isinf(budget) else budget):
                    response = await self.inner.handle_async_request(request)
                    response = await self._read_body(response, request, maybe_processed)
            except TimeoutError:
                exc: httpx.TransportError = _deadline_error(request, budget)
                maybe_processed = True
                wait = self._retry_error(request, exc, attempt, retries)
                if wait < 0:
                    raise exc from None
            except httpx.TransportError as exc:
                maybe_processed = maybe_processed or not isinstance(
                    exc, httpx.ConnectError | httpx.ConnectTimeout
                )
                wait = self._retry_error(request, exc, attempt, retries)
                if wait < 0:
                    raise
            else:
                self._log(request, response, started)
                wait = self._retry_status(request, response, attempt, retries)
                if wait < 0:
                    return response
                maybe_processed = maybe_processed or _outcome_unknown(response)
            await self._sleep(wait)  # type: ignore[misc]
            attempt += 1

    async def _read_body(
        self, response: httpx.Response, request: httpx.Request, maybe: bool
    ) -> httpx.Response:
        try:
            decoder = self._read(response, request, math.inf)
            body = _already_read(response, decoder)
            if body is None:
                async for raw in response.aiter_raw():
                    decoder.feed(raw)
                body = decoder.body()
        finally:
            await response.aclose()
        return _rebuilt(response, body, maybe, request)

    async def aclose(self) -> None:
        await self.inner.aclose()

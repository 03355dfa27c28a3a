"""Retries, throttling and logging, as httpx transports under the generated client.

The generated operations send exactly one request; the transports below decide how it
reaches the service: wait for the store's rate limit, send, read the whole answer (under a
deadline per attempt and a cap on its decompressed size), and retry what is safe to retry,
body-read failures included. Living at this depth, every generated operation (sync and async, and raw calls
through `Store.client`) gets the same behaviour with no change to generated code.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import ssl
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

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
from .errors import APIResponseValidationError, StoreClosedError

TimeoutLike = float | httpx.Timeout
"""Seconds, or an `httpx.Timeout` for each phase."""

MAYBE_PROCESSED = "threedcart_maybe_processed"
"""Response extension: an earlier attempt of this request may have been carried out (its outcome
is unknown: it timed out or its connection dropped after sending, or it was answered 5xx)."""
_CREDENTIAL_HEADERS = ("PrivateKey", "Token", "SecureURL")

log = logging.getLogger("threedcart")
T = TypeVar("T")


class _Abandoned(httpx.TransportError):
    """The caller stopped reading; nobody will look at this request's answer."""


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
# trips them. Threads cannot be interrupted, so the SDK's own connection pool (`pool_transport`)
# runs on a network backend that gives each socket operation at most the time left until the
# attempt's deadline. The deadline is the attempt's, set and cleared by `RetryTransport` around
# it in the same thread: a thread-local, the one way to reach a socket operation through httpx
# and httpcore, which carry no per-request state down to the network backend.
_ATTEMPT = threading.local()


class _DeadlineExceeded(httpcore.ReadTimeout):
    """A socket operation reached the attempt's deadline (not its own timeout)."""


class _DeadlineBeforeConnected(httpcore.ConnectTimeout):
    """The attempt's deadline came before a connection was made (nothing was sent)."""


_Expiry = type[_DeadlineExceeded] | type[_DeadlineBeforeConnected]


def _bounded(timeout: float | None, expired: _Expiry = _DeadlineExceeded) -> tuple[float | None, bool]:
    """(the time this operation may take, whether the attempt's deadline is what bounds it)."""
    deadline: float | None = getattr(_ATTEMPT, "deadline", None)
    if deadline is None:
        return timeout, False
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired(_deadline_message(getattr(_ATTEMPT, "budget", 0.0)))
    return (left, True) if timeout is None or left < timeout else (timeout, False)


def _deadline_message(seconds: float) -> str:
    return f"the answer took longer than {seconds:g} s in all (the attempt's deadline)"


def _under_deadline(
    operation: Callable[[float | None], T], timeout: float | None, expired: _Expiry = _DeadlineExceeded
) -> T:
    """`operation(seconds)` with at most the time left until the attempt's deadline; when that is
    what runs out, the error says so."""
    bound, by_deadline = _bounded(timeout, expired)
    try:
        return operation(bound)
    except httpcore.TimeoutException:
        if by_deadline:
            raise expired(_deadline_message(getattr(_ATTEMPT, "budget", 0.0))) from None
        raise


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return _under_deadline(lambda t: self._inner.read(max_bytes, t), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _under_deadline(lambda t: self._inner.write(buffer, t), timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            _under_deadline(lambda t: self._inner.start_tls(ssl_context, server_hostname, t), timeout)
        )

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
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = _under_deadline(
            lambda t: self._inner.connect_tcp(host, port, t, local_address, socket_options),
            timeout,
            _DeadlineBeforeConnected,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = _under_deadline(
            lambda t: self._inner.connect_unix_socket(path, t, socket_options),
            timeout,
            _DeadlineBeforeConnected,
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# httpcore's errors as httpx's, as httpx's own transport maps them (most specific first)
_HTTPCORE_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def _as_httpx(exc: Exception, request: httpx.Request) -> Exception:
    for core, mapped in _HTTPCORE_ERRORS:
        if isinstance(exc, core):
            return mapped(str(exc), request=request)
    return exc


class _CoreStream(httpx.SyncByteStream):
    """An httpcore answer's body for httpx, its errors mapped as httpx maps them."""

    def __init__(self, inner: Iterable[bytes], request: httpx.Request) -> None:
        self._inner = inner
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._inner
        except Exception as exc:
            raise _as_httpx(exc, self._request) from exc

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


def _core_extensions(answer: httpcore.Response) -> dict[str, Any]:
    # httpcore annotates a response's extensions loosely (a mapping or a bare dict)
    return dict(cast(dict[str, Any], answer.extensions))  # pyright: ignore[reportUnknownMemberType]


class PoolTransport(httpx.BaseTransport):
    """httpx's transport job over an `httpcore.ConnectionPool` built with its public arguments:
    TLS, a proxy, and a network backend that holds every socket operation to the attempt's
    deadline (see `RetryTransport`)."""

    def __init__(self, *, verify: ssl.SSLContext | bool = True, proxy: httpx.Proxy | None = None) -> None:
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        core_proxy = (
            None
            if proxy is None
            else httpcore.Proxy(
                url=str(proxy.url),
                auth=proxy.raw_auth,
                headers=proxy.headers.raw,
                ssl_context=proxy.ssl_context,
            )
        )
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        self._pool = httpcore.ConnectionPool(  # httpx's own defaults, as httpx.HTTPTransport has them
            ssl_context=context,
            proxy=core_proxy,
            network_backend=_DeadlineBackend(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            answer = self._pool.handle_request(core_request)
        except Exception as exc:
            raise _as_httpx(exc, request) from exc
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_CoreStream(answer.stream, request),  # type: ignore[arg-type]  # iterates bytes
            extensions=_core_extensions(answer),
        )

    def close(self) -> None:
        self._pool.close()


class _Decompressor(Protocol):
    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...
    def flush(self, length: int = ..., /) -> bytes: ...


class _Decoder:
    """Decompresses a body as it arrives, refusing to produce more than `limit` bytes."""

    def __init__(
        self, response: httpx.Response, request: httpx.Request, limit: int, *, decoded: bool
    ) -> None:
        self.response = response
        self.request = request
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []
        encoding = "identity" if decoded else response.headers.get("Content-Encoding", "identity")
        encoding = encoding.strip().lower()
        self.zlib: _Decompressor | None
        if encoding in ("", "identity"):
            self.zlib = None
        elif encoding in ("gzip", "x-gzip"):
            self.zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.zlib = zlib.decompressobj()
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

    def feed(self, raw: bytes) -> None:
        if self.zlib is None:
            data = raw
        else:
            try:
                # at most one byte more than the cap: enough to know it was passed
                data = self.zlib.decompress(raw, self.limit - self.size + 1)
            except zlib.error as exc:
                raise self._invalid(f"a body that does not decompress ({exc})") from None
        self.size += len(data)
        if self.size > self.limit:
            raise self._invalid(f"an answer larger than max_response_bytes ({self.limit:,} bytes)")
        self.parts.append(data)

    def body(self) -> bytes:
        if self.zlib is not None:
            # what a decompressor still holds (a decompressobj's flush never raises)
            self.feed(b"")
        return b"".join(self.parts)


def _read_already(response: httpx.Response) -> bytes | None:
    """The body of an answer an inner transport already read and decoded (httpx.MockTransport does)."""
    try:
        return response.content
    except httpx.ResponseNotRead:
        return None


def _answer(
    response: httpx.Response, body: bytes, maybe_processed: bool, request: httpx.Request
) -> httpx.Response:
    """The answer with its body read and decoded, as the client above expects it: a new response
    whose body is an in-memory stream, which no longer claims a Content-Encoding."""
    headers = httpx.Headers(response.headers)
    for name in ("content-encoding", "transfer-encoding"):
        if name in headers:
            del headers[name]
            headers["content-length"] = str(len(body))
    extensions = dict(response.extensions)
    if maybe_processed:
        extensions[MAYBE_PROCESSED] = True
    return httpx.Response(
        response.status_code,
        headers=headers,
        stream=httpx.ByteStream(body),
        request=request,
        extensions=extensions,
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
        self.closed: Callable[[], bool] = lambda: False
        """Whether the store this transport serves was closed: then it sends nothing more."""

    def _prepare(self, request: httpx.Request) -> float:
        """The deadline of one attempt of this request, in seconds."""
        if self.closed():
            raise StoreClosedError(
                "the store was closed (close() or the end of its with block); make a new one"
            )
        if self.origin is not None and (
            request.url.scheme,
            request.url.host,
            request.url.port,
        ) != (self.origin.scheme, self.origin.host, self.origin.port):
            # another origin (a redirect followed by a raw call): the store's credentials stay home
            for name in _CREDENTIAL_HEADERS:
                request.headers.pop(name, None)
        timeouts = request.extensions.get("timeout", {})
        phases = [timeouts.get(k) for k in ("connect", "read", "write", "pool")]
        known = [t for t in phases if t is not None]
        # one attempt may not last more than a small multiple of its longest single wait
        return ATTEMPT_DEADLINE_FACTOR * max(known) if known else math.inf

    def _decoder(self, response: httpx.Response, request: httpx.Request, *, decoded: bool) -> _Decoder:
        return _Decoder(response, request, self.max_response_bytes, decoded=decoded)

    def _retry_error(self, request: httpx.Request, exc: httpx.TransportError, attempt: int) -> float:
        """Seconds to wait before retrying after `exc`, or -1 to give up."""
        retries = self.policy.max_retries
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

    def _retry_status(self, request: httpx.Request, response: httpx.Response, attempt: int) -> float:
        retries = self.policy.max_retries
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
    """Throttle, send and retry, for `httpx.Client`.

    Each attempt runs under a deadline of `ATTEMPT_DEADLINE_FACTOR` times its longest timeout,
    which `PoolTransport`'s network backend holds every socket operation to (an `inner`
    transport of the caller's own keeps its own timeouts). Once `abandoned` is set (the reader
    of a page left), no new attempt starts and a wait before one ends at once.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy,
        throttle: Throttle | None = None,
        sleep: Callable[[float], None] = time.sleep,
        *,
        origin: str | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        abandoned: threading.Event | None = None,
    ) -> None:
        super().__init__(policy, throttle, origin=origin, max_response_bytes=max_response_bytes)
        self.inner = inner
        self._sleep = sleep
        self.abandoned = abandoned

    def _pause(self, seconds: float, request: httpx.Request) -> None:
        """Wait `seconds` before an attempt, or stop at once when the caller abandoned the request."""
        if self.abandoned is None:
            self._sleep(seconds)
        elif self.abandoned.wait(seconds):
            raise _Abandoned("abandoned: the caller stopped reading", request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        budget = self._prepare(request)
        attempt = 0
        maybe_processed = False
        while True:
            if self.abandoned is not None and self.abandoned.is_set():
                raise _Abandoned("abandoned: the caller stopped reading", request=request)
            if self.throttle is not None and (wait := self.throttle.reserve()) > 0:
                try:
                    self._pause(wait, request)
                except BaseException:  # Ctrl-C, SIGTERM, an abandoned page: the slot was never used
                    self.throttle.release()
                    raise
            started = time.perf_counter()
            _ATTEMPT.deadline = None if math.isinf(budget) else time.monotonic() + budget
            _ATTEMPT.budget = budget
            try:
                response = self._read_body(self.inner.handle_request(request), request, maybe_processed)
            except httpx.TransportError as exc:
                maybe_processed = maybe_processed or not isinstance(
                    exc, httpx.ConnectError | httpx.ConnectTimeout
                )
                wait = self._retry_error(request, exc, attempt)
                if wait < 0:
                    raise
            else:
                self._log(request, response, started)
                wait = self._retry_status(request, response, attempt)
                if wait < 0:
                    return response
                maybe_processed = maybe_processed or _outcome_unknown(response)
            finally:
                _ATTEMPT.deadline = None
            self._pause(wait, request)
            attempt += 1

    def _read_body(self, response: httpx.Response, request: httpx.Request, maybe: bool) -> httpx.Response:
        """Read the whole body inside the retry loop: under the deadline, the size cap and retries."""
        try:
            body = _read_already(response)
            decoder = self._decoder(response, request, decoded=body is not None)
            for raw in (body,) if body is not None else response.iter_raw():
                decoder.feed(raw)
            body = decoder.body()
        finally:
            response.close()  # the connection goes back to the pool before the body is handed on
        return _answer(response, body, maybe, request)

    def close(self) -> None:
        """Close the transport it sends through (the connection pool)."""
        self.inner.close()


class _Phase:
    """Follows one async attempt through httpcore's `trace` extension (a public hook): whether it
    is still connecting (a connection was being opened, and has not been yet)."""

    def __init__(
        self, request: httpx.Request, outer: Callable[[str, dict[str, Any]], Awaitable[None]] | None
    ) -> None:
        self.connecting = False
        self._outer = outer  # the caller's own trace, taken once per request (not each attempt's)
        request.extensions = {**request.extensions, "trace": self._trace}

    async def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event in ("connection.connect_tcp.started", "connection.connect_unix_socket.started"):
            self.connecting = True
        elif event in ("connection.connect_tcp.complete", "connection.connect_unix_socket.complete"):
            self.connecting = False
        if self._outer is not None:
            await self._outer(event, info)


class AsyncRetryTransport(_Base, httpx.AsyncBaseTransport):
    """Throttle, send and retry, for `httpx.AsyncClient`.

    Each attempt, headers and body, runs under one `asyncio.timeout` of `ATTEMPT_DEADLINE_FACTOR`
    times its longest timeout.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: RetryPolicy,
        throttle: Throttle | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        *,
        origin: str | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__(policy, throttle, origin=origin, max_response_bytes=max_response_bytes)
        self.inner = inner
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        budget = self._prepare(request)
        outer_trace = request.extensions.get("trace")
        attempt = 0
        maybe_processed = False
        while True:
            # awaited: a reservation in a bucket shared on Redis never blocks the event loop
            if self.throttle is not None and (wait := await self.throttle.areserve()) > 0:
                try:
                    await self._sleep(wait)
                except BaseException:  # cancelled while waiting: the slot was never used
                    self.throttle.arelease()
                    raise
            started = time.perf_counter()
            phase = _Phase(request, outer_trace)
            try:
                async with asyncio.timeout(None if math.isinf(budget) else budget):
                    response = await self.inner.handle_async_request(request)
                    response = await self._read_body(response, request, maybe_processed)
            except TimeoutError:
                # before a connection was made (httpcore's trace says so), nothing was sent, as in
                # the sync shell; otherwise (sending, or a transport that does not trace) it may have
                exc: httpx.TransportError = (
                    httpx.ConnectTimeout(_deadline_message(budget), request=request)
                    if phase.connecting
                    else httpx.ReadTimeout(_deadline_message(budget), request=request)
                )
                maybe_processed = maybe_processed or not phase.connecting
                wait = self._retry_error(request, exc, attempt)
                if wait < 0:
                    raise exc from None
            except httpx.TransportError as exc:
                maybe_processed = maybe_processed or not isinstance(
                    exc, httpx.ConnectError | httpx.ConnectTimeout
                )
                wait = self._retry_error(request, exc, attempt)
                if wait < 0:
                    raise
            else:
                self._log(request, response, started)
                wait = self._retry_status(request, response, attempt)
                if wait < 0:
                    return response
                maybe_processed = maybe_processed or _outcome_unknown(response)
            await self._sleep(wait)
            attempt += 1

    async def _read_body(
        self, response: httpx.Response, request: httpx.Request, maybe: bool
    ) -> httpx.Response:
        try:
            body = _read_already(response)
            decoder = self._decoder(response, request, decoded=body is not None)
            if body is not None:
                decoder.feed(body)
            else:
                async for raw in response.aiter_raw():
                    decoder.feed(raw)
            body = decoder.body()
        finally:
            await response.aclose()
        return _answer(response, body, maybe, request)

    async def aclose(self) -> None:
        """Close the transport it sends through (the connection pool)."""
        await self.inner.aclose()

"""The mock's HTTP server: uvicorn's httptools protocol with the limits a shared sandbox needs.

uvicorn bounds only the idle time between two requests of a keep-alive connection. A socket
that never sends a byte, a request whose head or body never ends, an endless URL or header
and a flood of connections are bounded here:

- idle: a connection with no request in progress is closed after `idle_timeout` seconds (a
  fresh one as well as a keep-alive one between requests);
- head: a request whose line and headers are not complete `header_timeout` seconds after its
  first byte is answered 408 and closed;
- body: a request whose body is not complete `body_timeout` seconds after its head is answered
  408 and closed;
- size: a request target longer than `max_url_bytes` is answered 414, request headers larger
  than `max_header_bytes` in all are answered 431, as soon as the limit is passed;
- connections: beyond `max_connections` open connections a new one is answered 503 (with
  `Retry-After`) and closed;
- shutdown: on SIGTERM or SIGINT, connections with nothing in progress and requests still
  arriving are closed at once; requests already being answered get `shutdown_timeout` seconds.

An answer the server gives on its own carries the API's error array, `Connection: close` and the
store clock's `Date`. After one, the connection stops reading but drains what the client is still
sending for up to `LINGER_SECONDS`, so that the client reads the answer instead of a reset.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, cast

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from ._clock import StoreClock

# The scope key of a callable that drops the connection of a request without any answer.
ABORT_KEY = "threedcart.abort"
LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class Limits:
    idle_timeout: float = 30.0
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 1000
    max_url_bytes: int = 8192
    max_header_bytes: int = 8192
    shutdown_timeout: float = 3.0


class _Rejected(Exception):
    """Raised inside a parser callback to stop parsing a request that is answered at once."""


def _answer(status: int, message: str, clock: StoreClock, extra: dict[str, str] | None = None) -> bytes:
    body = json.dumps(
        [{"Key": "Error", "Value": "", "Status": str(status), "Message": message}], separators=(",", ":")
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "Connection": "close",
        "Date": clock.http_date().decode("latin-1"),
        **(extra or {}),
    }
    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


class SandboxProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` with timeouts, size limits and a connection limit (see the module)."""

    limits = Limits()
    clock = StoreClock()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._in_head = False
        self._head_bytes = 0
        self._header_bytes = 0
        self._closing_answer = False  # an answer of the server's own was written: only drain now

    # --- connections ----------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.connections.discard(self)  # a refused connection does not count
            self._close_with(
                503,
                f"Service unavailable: more than {self.limits.max_connections} open connections",
                {"Retry-After": "1"},
            )
            return
        self._arm(self.limits.idle_timeout, self._idle_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._closing_answer:
            return  # lingering: discard what the client still sends
        if self._timer is not None and not self._in_head and self.cycle_done():
            self._disarm()  # the idle timer: a request is starting
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.logger.warning("Unsupported upgrade request.")
            return
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, _Rejected) or self._closing_answer:
                return
            self.logger.debug("Invalid HTTP request received: %s", exc)
            self._close_with(400, "Invalid HTTP request")
            return
        if self._in_head:
            self._head_bytes += len(data)
            limit = self.limits.max_url_bytes + self.limits.max_header_bytes + 1024
            if self._head_bytes > limit:  # one endless header line: httptools buffers it whole
                self._reject_head()
        elif self._timer is None and self.timeout_keep_alive_task is None and self.cycle_done():
            self._arm(self.limits.idle_timeout, self._idle_expired)  # bytes between requests

    def cycle_done(self) -> bool:
        """No request is being answered. (Between requests uvicorn's keep-alive timer, set to
        `idle_timeout`, closes the connection.)"""
        return self.cycle is None or self.cycle.response_complete

    # --- parser callbacks ---------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._header_bytes = True, 0, 0
        self._arm(self.limits.header_timeout, self._head_expired)

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > self.limits.max_url_bytes:
            self._close_with(414, f"URI too long: the limit is {self.limits.max_url_bytes} bytes")
            raise _Rejected
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > self.limits.max_header_bytes:
            self._reject_head()
            raise _Rejected
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()
        cycle = self.cycle  # this request's, even when later ones are pipelined behind it
        cast(dict[str, Any], self.scope)[ABORT_KEY] = lambda: self._abort(cycle)
        self._arm(self.limits.body_timeout, self._body_expired)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    # --- timers -------------------------------------------------------------------
    def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _idle_expired(self) -> None:
        self._timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _head_expired(self) -> None:
        self._timer = None
        seconds = self.limits.header_timeout
        self._close_with(408, f"Request timeout: the request head was not complete within {seconds:g} s")

    def _body_expired(self) -> None:
        self._timer = None
        if self.cycle is None or self.cycle.response_started or not self.cycle.more_body:
            return
        seconds = self.limits.body_timeout
        self._close_with(408, f"Request timeout: the request body was not complete within {seconds:g} s")

    # --- answers of the server's own ---------------------------------------------
    def _reject_head(self) -> None:
        limit = self.limits.max_header_bytes
        self._close_with(431, f"Request header fields too large: the limit is {limit} bytes")

    def _close_with(self, status: int, message: str, extra: dict[str, str] | None = None) -> None:
        """Answer `status` and close: the app, if it runs, sees a disconnected client."""
        if self._closing_answer or self.transport.is_closing():
            return
        self._closing_answer = True
        self._disarm()
        self._in_head = False
        if self.cycle is not None and not self.cycle.response_complete:
            if self.cycle.response_started:  # the app is answering: no second status line
                self.transport.close()
                return
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.write(_answer(status, message, self.clock, extra))
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.flow.resume_reading()  # drain, so that the client reads the answer, not a reset
            self._timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:  # pragma: no cover
            self.transport.close()

    def eof_received(self) -> None:
        if self._closing_answer:
            self.transport.close()

    def _abort(self, cycle: RequestResponseCycle | None) -> None:
        """Drop the connection of a request without any answer (an injected fault)."""
        self._disarm()
        for each in (cycle, self.cycle, *(queued for queued, _ in self.pipeline)):
            if each is not None and not each.response_complete:
                each.disconnected = True  # what the app still sends goes nowhere, unlogged
                each.message_event.set()
        self.transport.abort()

    # --- shutdown -------------------------------------------------------------------
    def shutdown(self) -> None:
        """A graceful shutdown: requests still arriving are closed, not waited for."""
        if self._in_head or (
            self.cycle is not None and self.cycle.more_body and not self.cycle.response_started
        ):
            self._disarm()
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.disconnected = True
                self.cycle.message_event.set()
            self.transport.close()
            return
        super().shutdown()


def protocol_class(limits: Limits, clock: StoreClock) -> type[SandboxProtocol]:
    return type("SandboxProtocol", (SandboxProtocol,), {"limits": limits, "clock": clock})


def loop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop], str]:
    """A uvloop loop when uvloop is installed, else the standard one; and its name."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop, "asyncio"
    return uvloop.new_event_loop, "uvloop"


def config(app: Any, limits: Limits, clock: StoreClock) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        http=protocol_class(limits, clock),
        lifespan="off",
        date_header=False,  # the app sends the one Date header, from the store clock
        timeout_keep_alive=limits.idle_timeout,  # type: ignore[arg-type]
        timeout_graceful_shutdown=limits.shutdown_timeout,  # type: ignore[arg-type]
    )


def run(server: uvicorn.Server, sock: socket.socket, announce: Callable[[str], None]) -> None:
    """Serve on `sock` in a uvloop loop until a signal; `announce(loop name)` once started."""
    factory, name = loop_factory()

    async def serve() -> None:
        # Announce only once uvicorn has installed its signal handlers, so that a SIGTERM sent
        # as soon as the URL is known still shuts the server down cleanly.
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            running = type(asyncio.get_running_loop()).__module__.split(".")[0]
            announce(running if running == name else f"{running} (wanted {name})")
        await task

    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve())

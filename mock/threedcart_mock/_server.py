"""The mock's HTTP/1.1 server, with the limits a shared sandbox needs.

It serves the ASGI app on public interfaces only: asyncio's `loop.create_server` and `Protocol`
(in a uvloop loop), httptools' `HttpRequestParser` with the callbacks and exceptions it documents
(`parser.pyi`), and the ASGI 3 HTTP messages. (It used to subclass uvicorn's `HttpToolsProtocol`,
whose attributes and callbacks are no API of uvicorn's: issue 19.)

An ASGI server bounds nothing before a request's head is complete, and the app sees nothing
before then. A socket that never sends a byte, a request whose head or body never ends, an endless
URL or header and a flood of connections are bounded here:

- idle: a connection with no request in progress is closed after `idle_timeout` seconds (a
  fresh one as well as a keep-alive one between requests);
- head: a request whose line and headers are not complete `header_timeout` seconds after its
  first byte is answered 408 and closed;
- body: a request whose body is not complete `body_timeout` seconds after its head is answered
  408 and closed. One the app answered before its body ended (as the mock answers 401 unread)
  keeps its connection while the rest of the body is read and thrown away, within the same time:
  when it ends the connection serves the next request, when it does not the connection is closed
  (with no 408: the answer was given; an answer still being sent is cut short);
- size: a request target longer than `max_url_bytes` is answered 414, request headers larger
  than `max_header_bytes` in all are answered 431, as soon as the limit is passed;
- connections: beyond `max_connections` open connections a new one is answered 503 (with
  `Retry-After`) and closed;
- shutdown: on SIGTERM or SIGINT, connections with nothing in progress and requests still
  arriving are closed at once; requests already being answered get `shutdown_timeout` seconds.

An answer the server gives on its own carries the API's error array, `Connection: close` and the
store clock's `Date`. After one, the connection stops reading but drains what the client is still
sending for up to `LINGER_SECONDS`, so that the client reads the answer instead of a reset.

A request that asks to switch protocols (`Upgrade: h2c` from java.net.http or `curl --http2`,
`Upgrade: websocket`) is answered as the HTTP/1.1 request it also is, body included: a server may
ignore `Upgrade` (RFC 9110, section 7.8). A client that half-closes after its request still gets
the answer. The app can drop a request's connection without any answer (an injected fault) by
calling the scope's `ABORT_KEY` entry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import socket
import sys
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from types import FrameType
from typing import Any, cast
from urllib.parse import unquote

import httptools
from starlette.types import ASGIApp, Message, Scope

from ._clock import StoreClock

# The scope key of a callable that drops the connection of a request without any answer.
ABORT_KEY = "threedcart.abort"
LINGER_SECONDS = 2.0
# Buffered request body beyond which the connection stops reading until the app takes it.
HIGH_WATER_BYTES = 65536

LOGGER = logging.getLogger("threedcart_mock.server")

_BAD_NAME = re.compile(b'[\x00-\x1f\x7f()<>@,;:\\[\\]={} \t\\\\"]')
_BAD_VALUE = re.compile(b"[\x00-\x08\x0a-\x1f\x7f]")


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


def _status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")


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
    head = _status_line(status) + "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode(
        "latin-1"
    )
    return head + b"\r\n" + body


def _address(info: Any) -> tuple[str, int] | None:
    if isinstance(info, tuple):
        address = cast(tuple[str | int, ...], info)  # (host, port, ...)
        if len(address) >= 2:
            return str(address[0]), int(address[1])
    return None


def _body_framing(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """A request head that frames a body as `headers` do; None when they announce none."""
    length = None
    for name, value in headers:
        if name == b"transfer-encoding" and b"chunked" in value.lower():
            return b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        if name == b"content-length":
            length = int(value)
    if not length:
        return None
    return b"PUT / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % length


class _Cycle:
    """One request and its answer: the `receive` and `send` of one ASGI call."""

    def __init__(self, conn: _Connection, scope: Scope, keep_alive: bool, expect_continue: bool) -> None:
        self.conn = conn
        self.scope = scope
        self.keep_alive = keep_alive
        self.waiting_for_continue = expect_continue
        # the request
        self.body = bytearray()
        self.more_body = True
        self.event = asyncio.Event()  # body arrived, the request ended, or the client is gone
        self.disconnected = False
        # the answer
        self.response_started = False
        self.response_complete = False
        self._head = b""  # written with the first part of the body
        self._head_only = scope["method"] == "HEAD"
        self._chunked = False
        self._owed = 0  # body bytes still owed under Content-Length

    def disconnect(self) -> None:
        """The client is gone, or the server dropped it: what the app sends now goes nowhere."""
        if not self.response_complete:
            self.disconnected = True
        self.event.set()

    async def run(self, app: ASGIApp) -> None:
        try:
            await app(self.scope, self.receive, self.send)
        except Exception:
            LOGGER.exception("Exception in the mock's ASGI app")
            if not self.response_started:
                self.conn.close_with(500, "Internal server error: the mock failed to answer")
            elif not self.response_complete:
                self.conn.transport.close()
        else:
            if not self.response_started and not self.disconnected:
                LOGGER.error("The mock's ASGI app returned without answering")
                self.conn.close_with(500, "Internal server error: the mock failed to answer")
            elif not self.response_complete and not self.disconnected:
                LOGGER.error("The mock's ASGI app returned without completing its answer")
                self.conn.transport.close()

    # --- ASGI -------------------------------------------------------------------------------
    async def receive(self) -> Message:
        if self.waiting_for_continue and not self.disconnected and not self.conn.transport.is_closing():
            self.conn.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.waiting_for_continue = False
        if not self.disconnected and not self.response_complete:
            self.conn.resume_reading()
            await self.event.wait()
            self.event.clear()
        if self.disconnected or self.response_complete:
            return {"type": "http.disconnect"}
        message = {"type": "http.request", "body": bytes(self.body), "more_body": self.more_body}
        self.body = bytearray()
        return message

    async def send(self, message: Message) -> None:
        if self.conn.write_paused and not self.disconnected:
            await self.conn.writable.wait()
        if self.disconnected:
            return
        kind = message["type"]
        if not self.response_started:
            if kind != "http.response.start":
                raise RuntimeError(f"expected the ASGI message 'http.response.start', got {kind!r}")
            self._start(message["status"], message.get("headers", ()))
        elif not self.response_complete:
            if kind != "http.response.body":
                raise RuntimeError(f"expected the ASGI message 'http.response.body', got {kind!r}")
            self._write(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(f"the ASGI message {kind!r} came after the answer was complete")

    def _start(self, status: int, headers: Iterable[tuple[bytes, bytes]]) -> None:
        self.response_started = True
        self.waiting_for_continue = False
        head = [_status_line(status)]
        length: int | None = None
        close = False
        for name, value in headers:
            if _BAD_NAME.search(name) or _BAD_VALUE.search(value):
                raise RuntimeError(f"invalid header in the answer: {name!r}")
            lower = name.lower()
            if lower == b"content-length" and length is None:
                length = int(value)
            elif lower == b"transfer-encoding" and value.lower() == b"chunked":
                self._chunked = True
            elif lower == b"connection" and b"close" in (t.strip() for t in value.lower().split(b",")):
                close = True
            head += [name, b": ", value, b"\r\n"]
        if close:
            self.keep_alive = False
        elif not self.keep_alive:
            head.append(b"connection: close\r\n")
        if self._chunked:
            length = None
        elif length is None and not self._head_only and status not in (204, 304) and status >= 200:
            self._chunked = True
            head.append(b"transfer-encoding: chunked\r\n")
        self._owed = length or 0
        head.append(b"\r\n")
        self._head = b"".join(head)

    def _write(self, body: bytes, more_body: bool) -> None:
        out = [self._head]
        self._head = b""
        if self._head_only:
            self._owed = 0
        elif self._chunked:
            if body:
                out += [b"%x\r\n" % len(body), body, b"\r\n"]
            if not more_body:
                out.append(b"0\r\n\r\n")
        else:
            if len(body) > self._owed:
                raise RuntimeError("the answer is longer than its Content-Length")
            self._owed -= len(body)
            out.append(body)
        data = b"".join(out)
        if data:
            self.conn.transport.write(data)
        if more_body:
            return
        if self._owed:
            raise RuntimeError("the answer is shorter than its Content-Length")
        self.response_complete = True
        self.event.set()
        if not self.keep_alive:
            self.conn.transport.close()
        self.conn.answered()


class _Connection(asyncio.Protocol):
    """One client connection: httptools' parser callbacks, the ASGI cycles and the limits."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.limits = server.limits
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport = cast(asyncio.Transport, None)
        self.local: tuple[str, int] | None = None
        self.peer: tuple[str, int] | None = None
        self.parser = self._new_parser()
        # the request being received
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.expect_continue = False
        self.upgrade_framing: bytes | None = None  # an ignored upgrade's body is still to come
        self.continuing = False  # the parser reads that body behind a head of our own
        # the requests
        self.cycle: _Cycle | None = None  # the latest
        self.running: _Cycle | None = None  # the one being answered
        self.pipeline: deque[_Cycle] = deque()  # pipelined behind it
        # flow control
        self.read_paused = False
        self.write_paused = False
        self.writable = asyncio.Event()
        self.writable.set()
        # the limits
        self.timer: asyncio.TimerHandle | None = None
        self.in_head = False
        self.head_bytes = 0
        self.header_bytes = 0
        self.closing_answer = False  # the last answer was written (often the server's own): only drain now

    def _new_parser(self) -> httptools.HttpRequestParser:
        parser = httptools.HttpRequestParser(self)
        # The answer to a request with `Connection: close` even when the client sent more after it.
        parser.set_dangerous_leniencies(lenient_data_after_close=True)
        return parser

    def _cycles(self) -> list[_Cycle]:
        """Every request not yet answered in full."""
        found: list[_Cycle] = []
        for cycle in (self.running, self.cycle, *self.pipeline):
            if cycle is not None and not cycle.response_complete and cycle not in found:
                found.append(cycle)
        return found

    def idle(self) -> bool:
        """No request is being received or answered (an answered one may still be receiving its body)."""
        cycle = self.cycle
        return not self.in_head and (cycle is None or (cycle.response_complete and not cycle.more_body))

    # --- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.local = _address(transport.get_extra_info("sockname"))
        self.peer = _address(transport.get_extra_info("peername"))
        if len(self.server.connections) >= self.limits.max_connections:
            self.close_with(  # a refused connection does not count
                503,
                f"Service unavailable: more than {self.limits.max_connections} open connections",
                {"Retry-After": "1"},
            )
            return
        self.server.connections.add(self)
        self._arm(self.limits.idle_timeout, self._idle_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self._disarm()
        for cycle in (self.running, self.cycle, *self.pipeline):
            if cycle is not None:
                cycle.disconnect()
        self.pipeline.clear()
        self.writable.set()

    def eof_received(self) -> bool:
        """The client sends nothing more: a request it sent in full is still answered."""
        cycle = self.cycle
        if self.closing_answer or self.in_head or cycle is None or cycle.response_complete or cycle.more_body:
            return False  # the transport closes
        cycle.keep_alive = False
        return True

    def pause_writing(self) -> None:
        self.write_paused = True
        self.writable.clear()

    def resume_writing(self) -> None:
        self.write_paused = False
        self.writable.set()

    def pause_reading(self) -> None:
        if not self.read_paused and not self.transport.is_closing():
            self.read_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.read_paused and not self.transport.is_closing():
            self.read_paused = False
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.closing_answer:
            return  # lingering: discard what the client still sends
        if self.timer is not None and self.idle():
            self._disarm()  # the idle timer: a request may be starting
        received = len(data)
        while data:
            try:
                self.parser.feed_data(data)
                data = b""
            except httptools.HttpParserUpgrade as upgrade:
                # A protocol switch we do not make: what follows the head is still HTTP/1.1, the
                # request's body first. A new parser reads it, behind a head framing it the same way.
                data = data[upgrade.args[0] :]
                self.parser = self._new_parser()
                if self.upgrade_framing is not None:
                    data = self.upgrade_framing + data
                    self.upgrade_framing, self.continuing = None, True
            except httptools.HttpParserError as exc:
                if isinstance(exc.__context__, _Rejected) or self.closing_answer:
                    return
                LOGGER.debug("Invalid HTTP request received: %s", exc)
                self.close_with(400, "Invalid HTTP request")
                return
        if self.in_head:
            self.head_bytes += received
            limit = self.limits.max_url_bytes + self.limits.max_header_bytes + 1024
            if self.head_bytes > limit:  # one endless header line: httptools buffers it whole
                self._reject_head()
        elif self.timer is None and self.idle() and not self.transport.is_closing():
            self._arm(self.limits.idle_timeout, self._idle_expired)  # bytes between requests

    # --- httptools' callbacks -------------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self.continuing:
            return
        self.url, self.headers, self.expect_continue = b"", [], False
        self.in_head, self.head_bytes, self.header_bytes = True, 0, 0
        self._arm(self.limits.header_timeout, self._head_expired)

    def on_url(self, url: bytes) -> None:
        if self.continuing:
            return
        if len(self.url) + len(url) > self.limits.max_url_bytes:
            self.close_with(414, f"URI too long: the limit is {self.limits.max_url_bytes} bytes")
            raise _Rejected
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.continuing:
            return
        self.header_bytes += len(name) + len(value) + 4
        if self.header_bytes > self.limits.max_header_bytes:
            self._reject_head()
            raise _Rejected
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.continuing:
            return
        self.in_head = False
        parser = self.parser
        url = httptools.parse_url(self.url)
        raw_path = url.path or b"/"
        path = raw_path.decode("ascii")
        version = parser.get_http_version()
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": version,
            "server": self.local,
            "client": self.peer,
            "scheme": "http",
            "method": parser.get_method().decode("ascii"),
            "root_path": "",
            "path": unquote(path) if "%" in path else path,
            "raw_path": raw_path,
            "query_string": url.query or b"",
            "headers": self.headers,
            "state": {},
        }
        if parser.should_upgrade():  # httptools reads no body: it follows in data_received
            self.upgrade_framing = _body_framing(self.headers)
        cycle = _Cycle(self, scope, version != "1.0" and parser.should_keep_alive(), self.expect_continue)
        scope[ABORT_KEY] = lambda: self._abort(cycle)
        previous, self.cycle = self.cycle, cycle
        if previous is None or previous.response_complete:
            self._run(cycle)
        else:  # pipelined: answered in turn
            self.pause_reading()
            self.pipeline.append(cycle)
        self._arm(self.limits.body_timeout, self._body_expired)

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return
        cycle.body += body
        if len(cycle.body) > HIGH_WATER_BYTES:
            self.pause_reading()
        cycle.event.set()

    def on_message_complete(self) -> None:
        if self.upgrade_framing is not None:
            return  # an ignored upgrade's head: its body is still to come
        self.continuing = False
        self._disarm()
        cycle = self.cycle
        if cycle is None:
            return
        cycle.more_body = False  # an early answer's too: the connection can serve the next request
        cycle.event.set()

    # --- the cycles -------------------------------------------------------------------------------
    def _run(self, cycle: _Cycle) -> None:
        self.running = cycle
        task = self.loop.create_task(cycle.run(self.server.app))
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    def answered(self) -> None:
        """The running request is answered in full: the next one in the pipeline, or wait."""
        self.running = None
        if self.transport.is_closing():
            return
        self.resume_reading()
        if self.pipeline:
            self._run(self.pipeline.popleft())
        elif self.idle() and self.timer is None:
            self._arm(self.limits.idle_timeout, self._idle_expired)

    def _abort(self, cycle: _Cycle) -> None:
        """Drop the connection of a request without any answer (an injected fault)."""
        self._disarm()
        for each in (cycle, *self._cycles()):
            each.disconnect()  # what the app still sends goes nowhere, unlogged
        self.transport.abort()

    def shutdown(self) -> None:
        """A graceful shutdown: requests being answered finish, the others are closed."""
        cycles = self._cycles()
        receiving = self.cycle is not None and self.cycle.more_body and not self.cycle.response_started
        if self.in_head or receiving or not cycles or self.closing_answer:
            self._disarm()
            for cycle in cycles:
                cycle.disconnect()
            self.transport.close()
            return
        for cycle in cycles:
            cycle.keep_alive = False  # closed once answered

    # --- timers ---------------------------------------------------------------------------------
    def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
        self._disarm()
        self.timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _idle_expired(self) -> None:
        self.timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _head_expired(self) -> None:
        self.timer = None
        seconds = self.limits.header_timeout
        self.close_with(408, f"Request timeout: the request head was not complete within {seconds:g} s")

    def _body_expired(self) -> None:
        self.timer = None
        cycle = self.cycle
        if cycle is None or not cycle.more_body:
            return
        if cycle.response_complete:  # answered early: the connection cannot serve another request
            self._linger()
            return
        seconds = self.limits.body_timeout  # (an answer the app is sending is cut short: no 408 in it)
        self.close_with(408, f"Request timeout: the request body was not complete within {seconds:g} s")

    # --- answers of the server's own --------------------------------------------------------------
    def _reject_head(self) -> None:
        limit = self.limits.max_header_bytes
        self.close_with(431, f"Request header fields too large: the limit is {limit} bytes")

    def close_with(self, status: int, message: str, extra: dict[str, str] | None = None) -> None:
        """Answer `status` and close: the app, if it runs, sees a disconnected client."""
        if self.closing_answer or self.transport.is_closing():
            return
        self.closing_answer = True
        self._disarm()
        self.in_head = False
        cycles = self._cycles()
        if any(cycle.response_started for cycle in cycles):  # the app is answering: no second status line
            self.transport.close()
            return
        for cycle in cycles:
            cycle.disconnect()
        self.transport.write(_answer(status, message, self.server.clock, extra))
        self._linger()

    def _linger(self) -> None:
        """Send nothing more, and close once what the client still sends was drained for
        `LINGER_SECONDS`: so that the client reads the last answer, not a reset."""
        self.closing_answer = True
        self._disarm()
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.resume_reading()
            self.timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:  # pragma: no cover
            self.transport.close()


class Server:
    """Serves an ASGI app on a listening socket until `stop()`."""

    def __init__(self, app: ASGIApp, limits: Limits, clock: StoreClock) -> None:
        self.app, self.limits, self.clock = app, limits, clock
        self.connections: set[_Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Shut down gracefully (see `shutdown`); `serve` returns once done."""
        self._stop.set()

    async def serve(self, sock: socket.socket, ready: Callable[[], None] = lambda: None) -> None:
        """Serve on `sock` until `stop()`; `ready()` once connections are accepted."""
        loop = asyncio.get_running_loop()
        listener = await loop.create_server(lambda: _Connection(self), sock=sock, backlog=2048)
        ready()
        await self._stop.wait()
        await self.shutdown(listener)

    async def shutdown(self, listener: asyncio.Server) -> None:
        """Stop accepting; give the requests being answered `shutdown_timeout` seconds."""
        loop = asyncio.get_running_loop()
        listener.close()
        for conn in list(self.connections):
            conn.shutdown()
        deadline = loop.time() + self.limits.shutdown_timeout
        while (self.connections or self.tasks) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for task in list(self.tasks):
            task.cancel()
        for conn in list(self.connections):
            conn.transport.abort()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=1)


def loop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop], str]:
    """A uvloop loop when uvloop is installed, else the standard one; and its name."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop, "asyncio"
    return uvloop.new_event_loop, "uvloop"


def _log_to_stderr() -> None:
    if not LOGGER.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:  %(message)s"))
        LOGGER.addHandler(handler)
        LOGGER.setLevel(logging.WARNING)
        LOGGER.propagate = False


_Handler = Callable[[int, FrameType | None], Any] | int | None


def run(
    app: ASGIApp, limits: Limits, clock: StoreClock, sock: socket.socket, announce: Callable[[str], None]
) -> None:
    """Serve `app` on `sock` in a uvloop loop until SIGTERM or SIGINT; `announce(loop name)` once
    started. The signal handlers in place before are in place again after."""
    _log_to_stderr()
    factory, name = loop_factory()
    server = Server(app, limits, clock)

    def ready() -> None:
        # Announced only once the loop handles the signals, so that a SIGTERM sent as soon as
        # the URL is known still shuts the server down cleanly.
        running = type(asyncio.get_running_loop()).__module__.split(".")[0]
        announce(running if running == name else f"{running} (wanted {name})")

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, server.stop)
        await server.serve(sock, ready)

    before: dict[int, _Handler] = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(serve())
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)

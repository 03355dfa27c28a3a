"""The mock's HTTP/1.1 server (`threedcart_mock._server`) where mutation testing found it unpinned.

Each test pins one behaviour that a surviving mutant of `_server.py` changed, mostly as exact bytes on
the wire: the framing of the app's own and of the server's chunked answers, `Connection` lists, HEAD
answers, Expect: 100-continue, a request target split over several reads, header sizes that add up,
the high-water mark of a buffered body, write pause, the idle, body and linger timers, half-closes,
the log of the server's own, `run` on the standard loop, the listening backlog and graceful
shutdown. In this process, on 127.0.0.1, with the helpers of test_mock_units.py (`serving` runs a
`Server` on an event loop in a thread; `Stoppable` below also hands back what `serve` returned).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httptools
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send
from test_mock_units import (
    FROZEN_CLOCK,
    Answers,
    _answer_ok,
    _part,
    _read_all,
    _servers_answer,
    _start,
    _until_closed,
    echo,
    serving,
)
from threedcart_mock import _server
from threedcart_mock._server import HIGH_WATER_BYTES, LOGGER, Limits, Server


def _wait(condition: Callable[[], Any], timeout: float = 2.0) -> Any:
    """`condition()` once it is true (polled every millisecond), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.001)


def _closed_within(sock: socket.socket, timeout: float = 1.0) -> bytes:
    """What the server sends until it stops sending (end of file or reset), within `timeout` seconds."""
    chunks = []
    sock.settimeout(timeout)
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        except TimeoutError:
            pytest.fail(f"the connection was still open after {timeout} s")
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    sock.settimeout(5)
    while len(data) < size:
        more = sock.recv(min(size - len(data), 1 << 20))
        assert more, "the server closed the connection"
        data += more
    return bytes(data)


def _reset(sock: socket.socket) -> None:
    """Close with a reset, not an end of file: the server loses the connection at once."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _small_window(port: int) -> socket.socket:
    """A client connection with a small receive buffer, so that the server's writes pause soon."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    return sock


class Stoppable:
    """A `Server` on its own event loop in a thread; `serving` is the future of its `serve()`."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.loop = _server.loop_factory()[0]()
        self.listening = socket.socket()
        self.listening.bind(("127.0.0.1", 0))
        self.port = int(self.listening.getsockname()[1])
        self.server = Server(app, limits, FROZEN_CLOCK)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        ready = threading.Event()
        self.serving: Future[None] = asyncio.run_coroutine_threadsafe(
            self.server.serve(self.listening, ready.set), self.loop
        )
        assert ready.wait(10), "the server did not start"

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def call(self, function: Callable[[], Any]) -> Any:
        async def run() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def stop(self, also: Callable[[], Any] = lambda: None) -> None:
        """`stop()` the server and, in the same callback of the loop, `also()`."""

        def both() -> None:
            self.server.stop()
            also()

        self.loop.call_soon_threadsafe(both)

    def close(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=2)

        if self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
        if not self.loop.is_closed() and not self.thread.is_alive():
            self.loop.close()
        self.listening.close()


@contextlib.contextmanager
def stoppable(app: ASGIApp, **limits: Any) -> Iterator[Stoppable]:
    running = Stoppable(app, Limits(**{"shutdown_timeout": 1.0, **limits}))
    try:
        yield running
    finally:
        running.close()


def _connections(served: Any, what: Callable[[Any], Any]) -> list[Any]:
    return served.call(lambda: [what(c) for c in served.server.connections])


@pytest.fixture
def logger_and_signals() -> Iterator[None]:
    """`run` installs signal handlers and a log handler: the test process gets its own back."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    handlers, level, propagate = list(LOGGER.handlers), LOGGER.level, LOGGER.propagate
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)
    LOGGER.handlers[:] = handlers
    LOGGER.setLevel(level)
    LOGGER.propagate = propagate


# --- logging, `run` and the listening socket -------------------------------------------------------------
def test_the_servers_log_lines_on_stderr_are_level_then_message(
    logger_and_signals: None, capsys: pytest.CaptureFixture[str]
) -> None:
    LOGGER.handlers.clear()
    _server._log_to_stderr()
    LOGGER.warning("xyzzy %s", "plugh")
    LOGGER.info("not shown")
    assert capsys.readouterr().err == "WARNING:  xyzzy plugh\n"


def _run_and_ask(request: bytes) -> tuple[list[str], bytes]:
    """`run` until a client thread got the answer to `request`, then SIGTERM: (announced, answer)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    announced: list[str] = []
    answered: list[bytes] = []

    def client() -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                conn.sendall(request)
                answered.append(_until_closed(conn))
        finally:
            signal.raise_signal(signal.SIGTERM)

    def announce(loop: str) -> None:
        announced.append(loop)
        threading.Thread(target=client).start()

    _server.run(echo, Limits(shutdown_timeout=1), FROZEN_CLOCK, sock, announce)
    return announced, answered[0]


def test_without_uvloop_run_serves_on_asyncio_and_dates_its_own_answers(
    logger_and_signals: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` fails
    assert _server.loop_factory() == (asyncio.new_event_loop, "asyncio")
    announced, raw = _run_and_ask(b"GARBAGE\x00 / HTTP/1.1\r\n\r\n")
    assert announced == ["asyncio"]
    _servers_answer(raw, 400, "Invalid HTTP request")  # the server's own answer, with the clock's Date


def test_run_names_the_loop_it_wanted_when_it_runs_on_another(
    logger_and_signals: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_server, "loop_factory", lambda: (asyncio.new_event_loop, "uvloop"))
    announced, raw = _run_and_ask(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert announced == ["asyncio (wanted uvloop)"]
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_INFO of a listening socket is Linux's")
def test_the_listening_socket_has_a_backlog_of_2048() -> None:
    if int(Path("/proc/sys/net/core/somaxconn").read_text()) <= 2048:
        pytest.skip("net.core.somaxconn caps the backlog at 2048 or less")
    with serving(echo) as served:
        info = served.listening.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        # struct tcp_info of a socket in TCP_LISTEN (10): tcpi_sacked is its backlog
        assert info[0] == 10
        assert struct.unpack_from("=I", info, 28)[0] == 2048


# --- graceful shutdown ---------------------------------------------------------------------------------
def test_shutdown_cancels_an_answer_that_never_comes_and_serve_returns_cleanly() -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with stoppable(app, shutdown_timeout=0.05) as running, running.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert started.wait(5)
        running.stop()
        assert running.serving.result(5) is None
        assert cancelled.is_set()
        assert running.server.tasks == set() and running.server.connections == set()
        assert _closed_within(sock) == b""


def test_shutdown_waits_one_second_at_most_for_a_task_that_resists_cancellation() -> None:
    started = threading.Event()
    cancelled_at: list[float] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled_at.append(time.monotonic())
            await asyncio.sleep(5)  # cancelled again when the test ends

    with stoppable(app, shutdown_timeout=0.05) as running, running.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert started.wait(5)
        running.stop()
        assert running.serving.result(1.6) is None
        returned_at = time.monotonic()
        assert 0.9 <= returned_at - cancelled_at[0] <= 1.5


def test_shutdown_lets_a_task_whose_client_left_finish_and_returns_promptly() -> None:
    started = threading.Event()
    release = asyncio.Event()
    outcome: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        started.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        outcome.append("finished")
        await _answer_ok(send)  # goes nowhere: its client left

    with stoppable(app, shutdown_timeout=1.0) as running:
        with running.connect() as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
            assert started.wait(5)
            _reset(sock)
        _wait(lambda: running.call(lambda: not running.server.connections))
        running.stop(also=release.set)  # the app goes on after shutdown began: no connection, one task
        assert running.serving.result(0.5) is None  # polled every 20 ms, not every second
        assert outcome == ["finished"]


def test_a_shutdown_timeout_of_zero_cancels_what_is_being_answered_at_once() -> None:
    started = threading.Event()
    release = asyncio.Event()
    outcome: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        started.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        outcome.append("finished")
        await _answer_ok(send)

    with stoppable(app, shutdown_timeout=0.0) as running, running.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert started.wait(5)
        running.stop(also=release.set)  # the app could go on in the loop's next round: too late
        assert running.serving.result(2) is None
        assert outcome == ["cancelled"]
        assert _closed_within(sock) == b""


def test_shutdown_closes_a_keep_alive_connection_after_its_answer() -> None:
    with stoppable(echo) as running, running.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert Answers(sock).next()[0] == 200
        running.stop()
        assert running.serving.result(2) is None
        assert _closed_within(sock) == b""


# --- the requests of a connection ----------------------------------------------------------------------
def test_a_request_answered_while_another_is_pipelined_behind_it_sees_its_client_leave() -> None:
    waiting, done = threading.Event(), threading.Event()
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/a":
            await receive()  # its (empty) body
            waiting.set()
            seen.append((await receive())["type"])
            done.set()
        else:
            await _answer_ok(send)

    with serving(app) as served:
        with served.connect() as sock:
            sock.sendall(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
            assert waiting.wait(5)
            _wait(lambda: _connections(served, lambda c: len(c.pipeline)) == [1])
            _reset(sock)
        assert done.wait(2)
        assert seen == ["http.disconnect"]


def test_bytes_between_requests_restart_the_idle_timer_and_the_connection_serves_on() -> None:
    with serving(echo, idle_timeout=5.0) as served, served.connect() as sock:
        answers = Answers(sock)
        sock.sendall(b"GET /1 HTTP/1.1\r\n\r\n")
        assert answers.next()[0] == 200

        def deadline() -> float:
            (when,) = _connections(served, lambda c: c.timer.when() if c.timer else 0.0)
            return float(when)

        first = _wait(deadline)
        time.sleep(0.01)
        sock.sendall(b"\r\n")
        _wait(lambda: deadline() > first)
        sock.sendall(b"GET /2 HTTP/1.1\r\n\r\n")
        status, _, body = answers.next()
        assert status == 200 and b'"path": "/2"' in body


def test_a_fresh_connection_may_send_more_empty_lines_than_a_head_may_hold() -> None:
    with serving(echo, max_url_bytes=16, max_header_bytes=64) as served, served.connect() as sock:
        sock.sendall(b"\r\n" * 1000)  # 2000 bytes, more than 16 + 64 + 1024: no head, no 431
        sock.sendall(b"GET /after HTTP/1.1\r\n\r\n")
        status, _, body = Answers(sock).next()
        assert status == 200 and b'"path": "/after"' in body


def test_no_idle_timer_runs_while_the_app_works_on_an_answer() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.2)  # four idle timeouts
        await _answer_ok(send, b"slow")

    with serving(app, idle_timeout=0.05) as served, served.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert Answers(sock).next() == (200, {"content-length": "4"}, b"slow")


def test_an_invalid_request_is_logged_at_debug_level_with_the_parsers_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    request = b"GARBAGE\x00 / HTTP/1.1\r\n\r\n"
    with pytest.raises(httptools.HttpParserError) as parsed:
        httptools.HttpRequestParser(object()).feed_data(request)
    reason = str(parsed.value)
    assert reason == "Invalid method encountered"
    caplog.set_level(logging.DEBUG, logger=LOGGER.name)
    with serving(echo) as served, served.connect() as sock:
        sock.sendall(request)
        _servers_answer(_until_closed(sock), 400, "Invalid HTTP request")
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == LOGGER.name] == [
        (logging.DEBUG, "Invalid HTTP request received: Invalid method encountered")
    ]


def test_a_lingering_connection_is_idle_and_closes_after_linger_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_server, "LINGER_SECONDS", 0.5)
    with serving(echo) as served, served.connect() as sock:
        sock.sendall(b"GARBAGE\x00 / HTTP/1.1\r\n\r\n")
        started = time.monotonic()
        _servers_answer(_until_closed(sock), 400, "Invalid HTTP request")  # up to the server's end of file
        assert _connections(served, lambda c: c.idle()) == [True]  # still there, draining
        _wait(lambda: _connections(served, lambda c: c) == [], timeout=3)
        assert time.monotonic() - started >= 0.4


def test_what_arrives_after_an_early_answer_timed_out_is_thrown_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_server, "LINGER_SECONDS", 0.3)
    paths: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        paths.append(scope["path"])
        await _answer_ok(send, b"no")  # unread, as the mock answers 401

    with serving(app, body_timeout=0.05) as served, served.connect() as sock:
        sock.sendall(b"POST /first HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        raw = _until_closed(sock)  # the answer, then the server's end of file once the body timed out
        assert raw == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nno"
        sock.sendall(b"defghij" + b"GET /second HTTP/1.1\r\n\r\n")  # the body's end and a request: drained
        _wait(lambda: _connections(served, lambda c: c) == [], timeout=3)
    assert paths == ["/first"]


def test_what_follows_a_request_with_connection_close_is_ignored() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _answer_ok(send, scope["path"].encode())

    with serving(app) as served, served.connect() as sock:
        sock.sendall(b"GET /1 HTTP/1.1\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
        assert _until_closed(sock) == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n/1"


# --- half-closes ---------------------------------------------------------------------------------------
def test_a_half_close_after_an_answered_request_closes_the_connection_at_once() -> None:
    with serving(echo) as served, served.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert Answers(sock).next()[0] == 200
        sock.shutdown(socket.SHUT_WR)
        assert _closed_within(sock) == b""


def test_a_half_close_in_the_head_of_a_pipelined_request_closes_the_connection() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await receive()  # until the client is gone
        await _answer_ok(send)  # goes nowhere

    with serving(app, header_timeout=3600.0) as served, served.connect() as sock:
        sock.sendall(b"GET /b HTTP/1.1\r\n\r\nGET /c HT")
        _wait(lambda: _connections(served, lambda c: c.in_head and c.cycle is not None) == [True])
        sock.shutdown(socket.SHUT_WR)
        assert _closed_within(sock) == b""


def test_a_half_close_while_lingering_after_a_500_closes_the_connection_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_server, "LINGER_SECONDS", 10.0)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("xyzzy")

    with serving(app) as served, served.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        _servers_answer(_until_closed(sock), 500, "Internal server error: the mock failed to answer")
        sock.shutdown(socket.SHUT_WR)
        _wait(lambda: _connections(served, lambda c: c) == [], timeout=1)


# --- request bodies and heads --------------------------------------------------------------------------
def test_a_large_body_after_an_early_answer_is_drained_not_buffered() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _answer_ok(send, scope["path"].encode())  # unread

    size = 4 * HIGH_WATER_BYTES
    with serving(app, body_timeout=1.0) as served, served.connect() as sock:
        answers = Answers(sock)
        sock.sendall(b"POST /first HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % size + b"x" * 10)
        assert answers.next()[2] == b"/first"
        sock.sendall(b"x" * (size - 10) + b"GET /next HTTP/1.1\r\n\r\n")
        assert answers.next()[2] == b"/next"


@pytest.mark.parametrize(("size", "reading"), [(HIGH_WATER_BYTES, True), (HIGH_WATER_BYTES + 1, False)])
def test_reading_pauses_once_the_unread_body_is_beyond_the_high_water_mark(size: int, reading: bool) -> None:
    go = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await go.wait()
        body, _ = await _read_all(receive)
        await _answer_ok(send, b"%d" % len(body))

    with serving(app) as served, served.connect() as sock:
        sock.sendall(b"PUT / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size)

        def state() -> list[tuple[int, bool] | None]:
            return _connections(
                served, lambda c: (len(c.cycle.body), c.transport.is_reading()) if c.cycle else None
            )

        _wait(lambda: state() != [None] and state()[0][0] == size)
        assert state() == [(size, reading)]
        served.loop.call_soon_threadsafe(go.set)
        assert Answers(sock).next()[2] == b"%d" % size
        assert _connections(served, lambda c: c.transport.is_reading()) == [True]


def test_header_sizes_add_up_over_all_headers() -> None:
    with serving(echo, max_header_bytes=64) as served, served.connect() as sock:
        # 3 + 20 + 4 and 3 + 31 + 4: 65 bytes in all, each well under 64
        sock.sendall(b"GET / HTTP/1.1\r\nX-A: " + b"1" * 20 + b"\r\nX-B: " + b"2" * 31 + b"\r\n\r\n")
        _servers_answer(_until_closed(sock), 431, "Request header fields too large: the limit is 64 bytes")


@pytest.mark.parametrize("header", [b"Expect: nothing\r\n", b"X-Xyzzy: 100-continue\r\n"])
def test_only_expect_100_continue_gets_a_100_continue(header: bytes) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body, _ = await _read_all(receive)
        await _answer_ok(send, body)

    with serving(app) as served, served.connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nConnection: close\r\n" + header + b"Content-Length: 5\r\n\r\nhello")
        assert (
            _until_closed(sock) == b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello"
        )


def test_100_continue_is_sent_once_however_often_the_app_receives() -> None:
    first = threading.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        start = await receive()
        first.set()
        rest = await receive()
        await _answer_ok(send, start["body"] + rest["body"])

    with serving(app) as served, served.connect() as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Length: 5\r\n\r\n"
        )
        assert _recv_exactly(sock, 25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hel")
        assert first.wait(5)
        sock.sendall(b"lo")
        assert (
            _until_closed(sock) == b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello"
        )


def test_a_request_target_split_over_several_reads_reaches_the_app_whole() -> None:
    with serving(echo) as served, served.connect() as sock:
        sock.sendall(b"GET /ab")
        _wait(lambda: _connections(served, lambda c: c.head_bytes if c.in_head else 0) == [7])
        sock.sendall(b"c%20d?x=")
        _wait(lambda: _connections(served, lambda c: c.head_bytes if c.in_head else 0) == [15])
        sock.sendall(b"1 HTTP/1.1\r\n\r\n")
        status, _, body = Answers(sock).next()
        assert status == 200
        assert (
            b'"path": "/abc d"' in body
            and b'"raw_path": "/abc%20d"' in body
            and b'"query_string": "x=1"' in body
        )


def test_receive_after_the_answer_is_a_disconnect_every_time() -> None:
    done = threading.Event()
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _answer_ok(send)
        seen.extend([(await receive())["type"], (await receive())["type"]])
        done.set()

    with serving(app) as served, served.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert Answers(sock).next()[2] == b"ok"
        assert done.wait(2)
    assert seen == ["http.disconnect", "http.disconnect"]


# --- answers -------------------------------------------------------------------------------------------
def _answered(app: ASGIApp, request: bytes = b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n") -> bytes:
    with serving(app) as served, served.connect() as sock:
        sock.sendall(request)
        return _closed_within(sock, 2)


def test_the_apps_own_chunked_transfer_encoding_is_sent_once() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(_start(headers=[(b"Transfer-Encoding", b"Chunked")]))
        await send(_part(b"abc"))

    assert _answered(app) == (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nconnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )


def test_chunked_as_the_value_of_another_header_frames_nothing() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _answer_ok(send, b"hi", [(b"content-length", b"2"), (b"x-mode", b"chunked")])

    assert (
        _answered(app)
        == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-mode: chunked\r\nconnection: close\r\n\r\nhi"
    )


def test_close_among_connection_tokens_without_spaces_closes_after_the_answer() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _answer_ok(send, b"bye", [(b"connection", b"keep-alive,close"), (b"content-length", b"3")])

    assert _answered(app, b"GET / HTTP/1.1\r\n\r\n") == (
        b"HTTP/1.1 200 OK\r\nconnection: keep-alive,close\r\ncontent-length: 3\r\n\r\nbye"
    )


def test_chunk_sizes_are_lowercase_hex() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(_start())
        await send(_part(b"abcdefghijklmnopqrstuvwxyz"))

    assert _answered(app) == (
        b"HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n"
        b"1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n"
    )


def test_an_answer_start_without_headers_is_chunked() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200})
        await send({"type": "http.response.body", "body": b"ok"})

    assert _answered(app) == (
        b"HTTP/1.1 200 OK\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    )


def test_head_with_a_content_length_is_answered_without_a_body_and_keeps_the_connection() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _answer_ok(send, b"hello")

    with serving(app) as served, served.connect() as sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\n\r\n")
        head = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"
        assert _recv_exactly(sock, len(head)) == head
        sock.sendall(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert (
            _closed_within(sock) == b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello"
        )


BIG = b"y" * (8 << 20)


def test_send_waits_while_the_transport_is_paused() -> None:
    first, second = threading.Event(), threading.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(_start(headers=[(b"content-length", b"%d" % (2 * len(BIG)))]))
        await send(_part(BIG, True))
        first.set()
        await send(_part(BIG))
        second.set()

    with serving(app) as served, _small_window(served.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert first.wait(5)
        assert _connections(served, lambda c: c.write_paused) == [True]
        assert not second.is_set()  # waiting for the client to read
        head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (2 * len(BIG))
        assert _recv_exactly(sock, len(head) + 2 * len(BIG)) == head + BIG + BIG
        assert second.wait(5)


def test_send_returns_at_once_for_a_dropped_request_even_while_the_transport_is_paused() -> None:
    sent = threading.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/big":
            await _answer_ok(send, BIG)  # complete, but waiting in the transport: writing is paused
            return
        assert (await receive())["more_body"]
        assert (await receive())["type"] == "http.disconnect"  # the body timed out: 408
        await send(_start())  # goes nowhere, and does not wait for the client to read
        sent.set()

    with serving(app, body_timeout=0.2) as served, _small_window(served.port) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\n\r\nPOST /slow HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        assert sent.wait(2)
        assert _connections(served, lambda c: c.write_paused) == [True]


def test_shutdown_tells_an_app_whose_answer_a_server_answer_cut_short_that_its_client_is_gone() -> None:
    disconnected = threading.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(_start(headers=[(b"content-length", b"%d" % (2 * len(BIG)))]))
        await send(_part(BIG, True))  # waiting in the transport: the client reads nothing
        await receive()  # its (empty) body
        assert (await receive())["type"] == "http.disconnect"
        disconnected.set()

    with stoppable(app, max_header_bytes=64, shutdown_timeout=5.0) as running:
        with _small_window(running.port) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
            _wait(lambda: _connections(running, lambda c: c.write_paused) == [True])
            sock.sendall(b"GET / HTTP/1.1\r\nX-Big: " + b"1" * 100 + b"\r\n\r\n")  # pipelined, too large
            _wait(lambda: _connections(running, lambda c: c.transport.is_closing()) == [True])
            assert not disconnected.is_set()  # closed without a 431, its answer still being sent
            running.stop()
            assert disconnected.wait(1)  # at once, not after the shutdown timeout
            _reset(sock)
        assert running.serving.result(2) is None

"""The mock's HTTP/1.1 server (`threedcart_mock._server`) after an answer given before the request
body ended, as the mock answers 401 unread: the rest of the body is read and thrown away within the
body timeout, the connection then serves the next request, and a body that does not end in time
closes it (with no 408 after the answer). In this process, on 127.0.0.1, with the helpers of
test_mock_units.py (whose test_a_body_that_never_ends_after_an_early_answer_still_closes_the_connection
sends a body that never ends at all)."""

from __future__ import annotations

import pytest
from starlette.types import Receive, Scope, Send
from test_mock_units import CHUNKED_HEAD, Answers, _answer_ok, _part, _start, _until_closed, serving


@pytest.mark.parametrize(
    ("framing", "first", "rest"),
    [
        (b"Content-Length: 10\r\n", b"abc", b"defghij"),
        (b"Transfer-Encoding: chunked\r\n", b"3\r\nabc\r\n", b"7\r\ndefghij\r\n0\r\n\r\n"),
    ],
)
def test_an_early_answer_keeps_the_connection_once_the_rest_of_the_body_arrives(
    framing: bytes, first: bytes, rest: bytes
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _answer_ok(send, scope["path"].encode())  # unread, as the mock answers 401

    with serving(app) as served, served.connect() as sock:

        def state() -> list[tuple[bool, bool]]:
            return [(c.idle(), c.timer is not None) for c in served.server.connections]

        answers = Answers(sock)
        sock.sendall(b"POST /early HTTP/1.1\r\nHost: t\r\n" + framing + b"\r\n" + first)
        assert answers.next() == (200, {"content-length": "6"}, b"/early")
        assert state() == [(False, True)]  # still receiving the body, under its timer
        sock.sendall(rest + b"GET /next HTTP/1.1\r\n\r\n")
        assert answers.next() == (200, {"content-length": "5"}, b"/next")
        assert state() == [(True, True)]  # idle, under the idle timer


def test_a_body_trickling_after_an_early_answer_is_still_bound_by_the_body_timeout() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await _answer_ok(send, b"no")

    limits = {"idle_timeout": 3600.0, "header_timeout": 3600.0, "body_timeout": 0.2}
    with serving(app, **limits) as served, served.connect() as sock:
        answers = Answers(sock)
        sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: 1000000\r\n\r\nabc")
        assert answers.next() == (200, {"content-length": "2"}, b"no")
        sock.settimeout(0.01)
        for _ in range(1000):  # a body byte every 10 ms or so, 10 s at most: the idle timer never runs out
            try:
                sock.sendall(b"x")
                data = sock.recv(100)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                data = b""
            assert data == b"", data  # closed, and nothing said after the answer (no 408)
            break
        else:
            pytest.fail("the connection stayed open while its body trickled in")


def test_an_answer_still_being_sent_when_the_body_times_out_is_cut_short() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(_start())
        await send(_part(b"first", True))
        while True:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "http.disconnect":
                break
        await send(_part(b"never"))  # goes nowhere

    with serving(app, body_timeout=1.0) as served, served.connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
        assert _until_closed(sock) == CHUNKED_HEAD + b"5\r\nfirst\r\n"  # no 408 in the middle of an answer
    assert seen[-1] == "http.disconnect" and set(seen[:-1]) == {"http.request"}

"""The mock's own HTTP/1.1 server (`threedcart_mock._server`) as clients meet it.

Raw sockets against a real `python -m threedcart_mock` process: protocol switches the mock does
not make (`Upgrade: h2c` from java.net.http and `curl --http2`, `Upgrade: websocket`), pipelining,
`Expect: 100-continue`, HEAD and a client that half-closes. The limits and faults are in
test_mock_sandbox.py. Last, the mock reaches its dependencies by declared, public names only:
no uvicorn, whose protocol internals the server used to subclass (issue 19).
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import json
import re
import signal
import socket
import sys
import time
import tomllib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import httptools
import pytest
from conftest import API, http
from starlette.types import Message, Receive, Scope, Send
from threedcart_mock._clock import StoreClock
from threedcart_mock._server import ABORT_KEY, Limits, Server
from threedcart_mock.testing import MockServer

ROOT = Path(__file__).parent.parent
MOCK = ROOT / "mock"
H2C = b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
WEBSOCKET = (
    b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


# --- raw HTTP helpers ------------------------------------------------------------------------
@dataclass
class Answer:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> object:
        return json.loads(self.body)


class Answers:
    """The answers arriving on a socket, in order (httptools' response parser)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.parser = httptools.HttpResponseParser(self)
        self.current = Answer()
        self.done: list[Answer] = []

    def on_message_begin(self) -> None:
        self.current = Answer()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.current.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.current.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.current.body += body

    def on_message_complete(self) -> None:
        self.done.append(self.current)

    def next(self, within: float = 10) -> Answer:
        deadline = time.monotonic() + within
        while not self.done:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError("the server closed the connection before answering")
            self.parser.feed_data(data)
        return self.done.pop(0)


def _connect(mock: MockServer) -> socket.socket:
    url = urlsplit(mock.url)
    assert url.hostname is not None and url.port is not None
    return socket.create_connection((url.hostname, url.port), timeout=10)


def _head(mock: MockServer, method: str, target: str, extra: bytes = b"") -> bytes:
    auth = b"".join(f"{k}: {v}\r\n".encode() for k, v in mock.headers.items())
    return f"{method} {API}{target} HTTP/1.1\r\nHost: mock\r\n".encode() + auth + extra


def _post(mock: MockServer, body: bytes, extra: bytes = b"") -> tuple[bytes, bytes]:
    """A create's head (with its Content-Length) and its body."""
    head = _head(mock, "POST", "/Customers", extra + b"Content-Type: application/json\r\n")
    return head + f"Content-Length: {len(body)}\r\n\r\n".encode(), body


def _customer(email: str) -> bytes:
    return json.dumps({"Email": email, "Password": ""}).encode()


def _created_id(answer: Answer) -> int:
    assert answer.status == 201, answer
    rows = answer.json()
    assert isinstance(rows, list)
    return int(rows[0]["Value"])


def _read_until_closed(sock: socket.socket, within: float = 10) -> bytes:
    deadline, chunks = time.monotonic() + within, list[bytes]()
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)
    raise AssertionError(f"the server kept the connection open for {within} s: {chunks!r}")


# --- protocol switches the mock does not make -------------------------------------------------------
@pytest.mark.parametrize("how", ["one packet", "body later", "body in drips"])
def test_a_post_asking_to_upgrade_to_h2c_keeps_its_body(mock: MockServer, how: str) -> None:
    """java.net.http and `curl --http2` send this on cleartext: the answer is HTTP/1.1, the body
    is read (it used to be lost: 400 "Malformed JSON"), and the connection serves what follows."""
    email = f"h2c-{how.replace(' ', '-')}@example.com"
    head, body = _post(mock, _customer(email), H2C)
    with _connect(mock) as sock:
        answers = Answers(sock)
        if how == "one packet":
            sock.sendall(head + body)
        elif how == "body later":
            sock.sendall(head)
            time.sleep(0.2)
            sock.sendall(body)
        else:
            sock.sendall(head + body[:5])
            for start in range(5, len(body), 7):
                time.sleep(0.02)
                sock.sendall(body[start : start + 7])
        created = answers.next()
        assert "upgrade" not in created.headers and created.status != 101
        customer_id = _created_id(created)
        sock.sendall(_head(mock, "GET", f"/Customers/{customer_id}") + b"\r\n")  # the same connection
        read = answers.next()
        assert read.status == 200
        rows = read.json()
        assert isinstance(rows, list) and rows[0]["Email"] == email


def test_a_chunked_post_asking_to_upgrade_keeps_its_body_and_what_follows(mock: MockServer) -> None:
    body = _customer("h2c-chunked@example.com")
    head = _head(
        mock,
        "POST",
        "/Customers",
        H2C + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    count = _head(mock, "GET", "/Customers?countonly=1") + b"\r\n"
    with _connect(mock) as sock:
        answers = Answers(sock)
        sock.sendall(head + chunked + count)  # a pipelined request right behind the body
        _created_id(answers.next())
        counted = answers.next()
        assert counted.status == 200 and "TotalCount" in str(counted.json())


def test_a_websocket_upgrade_is_answered_as_plain_http(mock: MockServer) -> None:
    request = _head(mock, "GET", "/Customers?countonly=1", WEBSOCKET) + b"\r\n"
    with _connect(mock) as sock:
        answers = Answers(sock)
        sock.sendall(request + request)
        for _ in range(2):
            answer = answers.next()
            assert answer.status == 200 and "TotalCount" in str(answer.json())


def test_an_upgrade_post_whose_body_never_ends_gets_408_within_the_body_timeout() -> None:
    with MockServer(["--body-timeout", "1"]) as mock:
        head, body = _post(mock, _customer("never@example.com"), H2C)
        with _connect(mock) as sock:
            started = time.monotonic()
            sock.sendall(head + body[:-3])
            answer = Answers(sock).next(within=8)
            # a 1 s limit: 5x its measured 1.0-1.1 s
            assert answer.status == 408 and time.monotonic() - started < 5.5
            assert "request body was not complete within 1 s" in str(answer.json())
        with http(mock) as client:
            assert client.get("/Customers", params={"countonly": 1}).json() == {"TotalCount": 0}


# --- HTTP/1.1 as other clients use it ----------------------------------------------------------------
def test_pipelined_requests_are_answered_in_order(mock: MockServer) -> None:
    requests = [
        _head(mock, "GET", "/Customers?countonly=1") + b"\r\n",
        _head(mock, "GET", "/Customers/2147483647") + b"\r\n",
        b"".join(_post(mock, _customer("pipelined@example.com"))),
        _head(mock, "GET", "/Customers?countonly=1") + b"\r\n",
    ]
    with _connect(mock) as sock:
        answers = Answers(sock)
        sock.sendall(b"".join(requests))
        statuses = [answers.next().status for _ in requests]
    assert statuses == [200, 404, 201, 200]


def test_expect_100_continue_is_answered_before_the_body(mock: MockServer) -> None:
    head, body = _post(mock, _customer("continue@example.com"), b"Expect: 100-continue\r\n")
    with _connect(mock) as sock:
        answers = Answers(sock)
        sock.sendall(head)
        assert answers.next().status == 100
        sock.sendall(body)
        _created_id(answers.next())


def test_head_has_the_headers_and_no_body(mock: MockServer) -> None:
    with _connect(mock) as sock:
        sock.sendall(_head(mock, "HEAD", "/Customers?countonly=1", b"Connection: close\r\n") + b"\r\n")
        raw = _read_until_closed(sock)
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 ") and rest == b"", raw
    assert re.search(rb"(?im)^connection: close$", head), raw


def test_a_client_that_half_closes_after_its_request_gets_the_whole_answer(mock: MockServer) -> None:
    with _connect(mock) as sock:
        sock.sendall(_head(mock, "GET", "/Customers?countonly=1") + b"\r\n")
        sock.shutdown(socket.SHUT_WR)
        raw = _read_until_closed(sock)
    assert raw.startswith(b"HTTP/1.1 200") and raw.endswith(b"}"), raw


def test_keep_alive_and_http_1_0(mock: MockServer) -> None:
    with _connect(mock) as sock:
        answers = Answers(sock)
        for _ in range(3):  # one connection, several requests
            sock.sendall(_head(mock, "GET", "/Customers?countonly=1") + b"\r\n")
            assert answers.next().status == 200
    with _connect(mock) as sock:  # HTTP/1.0 without keep-alive: answered, then closed
        request = _head(mock, "GET", "/Customers?countonly=1").replace(b"HTTP/1.1", b"HTTP/1.0", 1)
        sock.sendall(request + b"\r\n")
        raw = _read_until_closed(sock)
    assert raw.startswith(b"HTTP/1.1 200") and b"TotalCount" in raw


def test_sigint_is_a_clean_exit_like_sigterm() -> None:
    mock = MockServer().start()
    with http(mock) as client:
        assert client.get("/Customers", params={"countonly": 1}).status_code == 200
    assert mock.stop(signal.SIGINT) == 0
    assert not [line for line in mock.output if "Traceback" in line or "ERROR" in line], mock.output


# --- the server's own answers when the app fails (in process, with ASGI apps of the test's) ----------
T = TypeVar("T")


def _serve(app: Callable[[Scope, Receive, Send], Awaitable[None]], talk: Callable[[int], T]) -> T:
    """Serve `app` on a free port while `talk(port)` runs in a thread; what it returns."""

    async def main() -> T:
        server = Server(app, Limits(), StoreClock())
        listening = socket.socket()
        listening.bind(("127.0.0.1", 0))
        started = asyncio.Event()
        serving = asyncio.create_task(server.serve(listening, started.set))
        await started.wait()
        try:
            return await asyncio.to_thread(talk, listening.getsockname()[1])
        finally:
            server.stop()
            await serving

    return asyncio.run(main())


def _exchange(
    port: int, request: bytes = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", times: int = 1
) -> list[Answer]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        answers = Answers(sock)
        result = []
        for _ in range(times):
            sock.sendall(request)
            result.append(answers.next())
        return result


async def _ok(send: Send, body: bytes = b"ok") -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]}
    )
    await send({"type": "http.response.body", "body": body})


def test_an_app_that_fails_before_answering_gets_a_500_in_the_error_shape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    for app in (failing, silent):
        (answer,) = _serve(app, _exchange)
        assert answer.status == 500 and answer.headers["connection"] == "close" and "date" in answer.headers
        assert answer.json() == [
            {
                "Key": "Error",
                "Value": "",
                "Status": "500",
                "Message": "Internal server error: the mock failed to answer",
            }
        ]
    logged = [r.getMessage() for r in caplog.records if r.name == "threedcart_mock.server"]
    assert logged == ["Exception in the mock's ASGI app", "The mock's ASGI app returned without answering"]


def test_an_app_that_fails_after_answering_in_full_keeps_the_connection() -> None:
    """As Starlette's ServerErrorMiddleware does: it sends its 500, then re-raises."""

    async def answers_then_raises(scope: Scope, receive: Receive, send: Send) -> None:
        await _ok(send)
        raise RuntimeError("after the answer")

    answers = _serve(answers_then_raises, lambda port: _exchange(port, times=2))
    assert [(a.status, a.body) for a in answers] == [(200, b"ok"), (200, b"ok")]


def test_an_answer_without_a_length_is_chunked_and_abort_drops_the_connection() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/abort":
            scope[ABORT_KEY]()
            await _ok(send)  # goes nowhere
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one ", b"two", b""):
            await send({"type": "http.response.body", "body": part, "more_body": bool(part)})

    def talk(port: int) -> tuple[list[Answer], bytes]:
        streamed = _exchange(port)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /abort HTTP/1.1\r\nHost: t\r\n\r\n")
            try:
                dropped = _read_until_closed(sock)
            except ConnectionResetError:
                dropped = b""
        return streamed, dropped

    streamed, dropped = _serve(app, talk)
    assert streamed[0].headers["transfer-encoding"] == "chunked" and streamed[0].body == b"one two"
    assert dropped == b""


def test_a_large_request_body_reaches_the_app_whole_under_flow_control() -> None:
    received: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            received.append(message)
            if not message.get("more_body"):
                break
        await _ok(send, b"".join(m.get("body", b"") for m in received))

    body = b"x" * 200_000
    request = b"PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    (answer,) = _serve(app, lambda port: _exchange(port, request))
    assert answer.status == 200 and answer.body == body
    assert len(received) >= 1 and received[-1]["more_body"] is False


# --- dependencies: declared, public names only ---------------------------------------------------------
# The modules of each dependency the mock may import from: those its documentation presents.
DOCUMENTED_MODULES = {
    "starlette": {
        "starlette.applications",
        "starlette.exceptions",
        "starlette.requests",
        "starlette.responses",
        "starlette.routing",
        "starlette.types",
    },
    "httptools": {"httptools"},  # its names in httptools.__all__, typed in parser/parser.pyi
    "uvloop": {"uvloop"},
    "yaml": {"yaml"},
    "jsonschema": {"jsonschema", "jsonschema.exceptions", "jsonschema.validators"},
    "jsonschema_rs": {"jsonschema_rs"},
    "openapi_schema_validator": {"openapi_schema_validator"},
    "referencing": {"referencing", "referencing.jsonschema"},
}
DISTRIBUTIONS = {"yaml": "pyyaml", "jsonschema_rs": "jsonschema-rs"}


def _third_party_names() -> dict[tuple[str, str | None], list[str]]:
    """(module, name) -> where: every name the mock takes from a package outside the standard library."""
    found: dict[tuple[str, str | None], list[str]] = {}
    for path in sorted((MOCK / "threedcart_mock").glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.setdefault((alias.name, None), []).append(where)
                    top = alias.name.split(".")[0]
                    aliases[alias.asname or top] = alias.name if alias.asname else top
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    found.setdefault((node.module, alias.name), []).append(where)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
            ):
                found.setdefault((aliases[node.value.id], node.attr), []).append(f"{path.name}:{node.lineno}")
    return {
        key: where
        for key, where in found.items()
        if key[0].split(".")[0] not in sys.stdlib_module_names and key[0].split(".")[0] != "threedcart_mock"
    }


def test_the_mock_uses_its_dependencies_by_declared_public_names_only() -> None:
    project = tomllib.loads((MOCK / "pyproject.toml").read_text())["project"]
    declared = {
        re.match(r"[A-Za-z0-9_.-]+", spec).group().lower().replace("_", "-")  # type: ignore[union-attr]
        for spec in project["dependencies"]
    }
    assert "uvicorn" not in declared
    names = _third_party_names()
    assert ("httptools", "HttpRequestParser") in names  # the scan sees the server's imports
    problems = []
    for (module, name), where in sorted(names.items(), key=str):
        top = module.split(".")[0]
        what = f"{module}.{name}" if name else module
        if top == "uvicorn":
            problems.append(f"{what} ({', '.join(where)}): the mock runs its own server, not uvicorn")
            continue
        if DISTRIBUTIONS.get(top, top.replace("_", "-")) not in declared:
            problems.append(f"{what} ({', '.join(where)}): {top} is not a dependency in mock/pyproject.toml")
        if module not in DOCUMENTED_MODULES.get(top, set()):
            problems.append(f"{what} ({', '.join(where)}): {module} is not a documented module of {top}")
        if name is not None:
            imported = importlib.import_module(module)
            public = getattr(imported, "__all__", None)
            if name.startswith("_") or not hasattr(imported, name):
                problems.append(f"{what} ({', '.join(where)}): not a public name of {module}")
            elif public is not None and name not in public:
                problems.append(f"{what} ({', '.join(where)}): not in {module}.__all__")
    assert not problems, "\n".join(problems)

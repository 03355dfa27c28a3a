"""A hostile server on loopback: every misbehaviour ends, within a bounded time, in a typed
`threedcart.errors` exception or a retried success, for `Store`, `AsyncStore` and the CLI."""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import os
import pickle
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import threedcart
from conftest import API
from threedcart import errors
from threedcart._transport import _retry_after

CLI = str(Path(sys.executable).with_name("threedcart"))
CUSTOMER = {"CustomerID": 1, "Email": "ann@example.com"}
SECRET_KEY, SECRET_TOKEN = "pk-SECRET-4711", "tk-SECRET-0815"


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]


Behaviour = Callable[[socket.socket, int, Seen], None]


@dataclass
class HostileServer:
    """A raw TCP server: `behaviour(sock, n, request)` answers the n-th request however it likes."""

    behaviour: Behaviour
    host: str = "127.0.0.1"
    seen: list[Seen] = field(default_factory=list)

    def __enter__(self) -> HostileServer:
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                sock.settimeout(10)
                buffer = b""
                try:
                    while True:
                        while b"\r\n\r\n" not in buffer:
                            chunk = sock.recv(65536)
                            if not chunk:
                                return
                            buffer += chunk
                        head, buffer = buffer.split(b"\r\n\r\n", 1)
                        lines = head.decode("latin-1").split("\r\n")
                        method, target, _ = lines[0].split(" ", 2)
                        headers = {
                            k.strip().lower(): v.strip()
                            for k, v in (line.split(":", 1) for line in lines[1:])
                        }
                        length = int(headers.get("content-length", "0"))
                        while len(buffer) < length:
                            buffer += sock.recv(65536)
                        buffer = buffer[length:]
                        seen = Seen(method, target, headers)
                        outer.seen.append(seen)
                        outer.behaviour(sock, len(outer.seen), seen)
                except (OSError, ValueError):
                    return

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((self.host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def answer(
    sock: socket.socket,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    reason: str = "X",
) -> None:
    extra = {"Content-Type": "application/json", "Content-Length": str(len(body)), **(headers or {})}
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in extra.items()) + "\r\n"
    sock.sendall(head.encode("latin-1") + body)


def reset(sock: socket.socket) -> None:
    """Close with a TCP RST."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def store(url: str, **options: object) -> threedcart.Store:
    return threedcart.Store(
        secure_url="https://s.example.com",
        private_key=SECRET_KEY,
        token=SECRET_TOKEN,
        base_url=url,
        **{"max_retries": 0, "timeout": 1.0, **options},  # type: ignore[arg-type]
    )


def astore(url: str, **options: object) -> threedcart.AsyncStore:
    return threedcart.AsyncStore(
        secure_url="https://s.example.com",
        private_key=SECRET_KEY,
        token=SECRET_TOKEN,
        base_url=url,
        **{"max_retries": 0, "timeout": 1.0, **options},  # type: ignore[arg-type]
    )


def both(url: str, call: Callable[[object], object], **options: object) -> list[BaseException | object]:
    """Run `call(store.customers)` with Store and AsyncStore; what each returned or raised."""
    out: list[BaseException | object] = []
    with store(url, **options) as s:
        try:
            out.append(call(s.customers))
        except Exception as exc:
            out.append(exc)

    async def run() -> object:
        async with astore(url, **options) as a:
            result = call(a.customers)
            return await result if asyncio.iscoroutine(result) else result  # type: ignore[misc]

    try:
        out.append(asyncio.run(run()))  # type: ignore[arg-type]
    except Exception as exc:
        out.append(exc)
    return out


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    started = time.monotonic()
    try:
        result: object = fn()
    except Exception as exc:
        result = exc
    return result, time.monotonic() - started


# --- slow, broken and oversized answers ---------------------------------------------------------
def drip(sock: socket.socket, n: int, seen: Seen) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[")
    for _ in range(400):  # a byte every 50 ms: every read succeeds, the answer never ends
        time.sleep(0.05)
        sock.sendall(b" ")


def test_a_dripping_answer_ends_at_the_attempt_deadline() -> None:
    with HostileServer(drip) as server:
        results = []
        for make in (store, astore):

            def call(make: Callable[..., object] = make) -> object:
                if make is store:
                    with store(server.url, timeout=0.5) as s:
                        return s.customers.get(1)

                async def run() -> object:
                    async with astore(server.url, timeout=0.5) as a:
                        return await a.customers.get(1)

                return asyncio.run(run())

            results.append(timed(call))
    for result, seconds in results:
        assert isinstance(result, errors.APITimeoutError), result
        assert "deadline" in str(result)
        assert seconds < 4 * 0.5 + 1, f"one attempt lasted {seconds:.1f} s"  # 3 x timeout, plus one read


def drip_headers(sock: socket.socket, n: int, seen: Seen) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:  # the headers never end
        time.sleep(0.05)
        sock.sendall(bytes([byte]))


def test_dripping_headers_end_at_the_attempt_deadline() -> None:
    with HostileServer(drip_headers) as server:
        results = [timed(lambda: both(server.url, lambda c: c.get(1), timeout=0.5))]  # type: ignore[attr-defined]
    (outcomes, seconds) = results[0]
    assert isinstance(outcomes, list)
    for result in outcomes:
        assert isinstance(result, errors.APITimeoutError) and "deadline" in str(result), result
    assert seconds < 2 * (3 * 0.5 + 1), f"two attempts (sync, async) lasted {seconds:.1f} s"


def half_then_reset_once(sock: socket.socket, n: int, seen: Seen) -> None:
    body = json.dumps([CUSTOMER]).encode()
    if n == 1:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:5])
        time.sleep(0.05)
        reset(sock)
        return
    answer(sock, 200, body)


def test_a_connection_reset_mid_body_is_retried_for_reads() -> None:
    with HostileServer(half_then_reset_once) as server:
        with store(server.url, max_retries=2) as s:
            assert s.customers.get(1).email == "ann@example.com"
    with HostileServer(half_then_reset_once) as server:

        async def run() -> str:
            async with astore(server.url, max_retries=2) as a:
                return str((await a.customers.get(1)).email)

        assert asyncio.run(run()) == "ann@example.com"


def truncated(sock: socket.socket, n: int, seen: Seen) -> None:
    sock.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n[{"CustomerID": 1')
    sock.close()


def test_a_truncated_answer_is_a_connection_error_after_the_retries() -> None:
    with HostileServer(truncated) as server:
        for result in both(server.url, lambda c: c.get(1), max_retries=1):  # type: ignore[attr-defined]
            assert isinstance(result, errors.APIConnectionError), result
        assert len(server.seen) == 4  # two attempts each


def huge(sock: socket.socket, n: int, seen: Seen) -> None:
    size = 100 * 1024 * 1024
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size)
    chunk = b" " * (1024 * 1024)
    try:
        for _ in range(100):
            sock.sendall(chunk)
    except OSError:
        pass


def test_an_answer_over_the_size_cap_is_refused_while_reading() -> None:
    with HostileServer(huge) as server:
        for result, seconds in [timed(lambda: both(server.url, lambda c: c.list(limit=1)))]:  # type: ignore[attr-defined]
            assert isinstance(result, list) and seconds < 20
            for each in result:
                assert isinstance(each, errors.APIResponseValidationError), each
                assert "larger than max_response_bytes (67,108,864 bytes)" in str(each)
        small = both(server.url, lambda c: c.list(limit=1), max_response_bytes=1_000_000)  # type: ignore[attr-defined]
        assert all("(1,000,000 bytes)" in str(e) for e in small)


@functools.cache
def _bomb() -> bytes:
    """About 250 KB of gzip that inflates to 256 MB, four times the default cap."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * (1024 * 1024)
    return b"".join([*(packer.compress(chunk) for _ in range(256)), packer.flush()])


def gzip_bomb(sock: socket.socket, n: int, seen: Seen) -> None:
    answer(sock, 200, _bomb(), {"Content-Encoding": "gzip"})


def test_a_gzip_bomb_is_refused_with_bounded_memory() -> None:
    import resource

    _bomb()
    with HostileServer(gzip_bomb) as server:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        results = both(server.url, lambda c: c.list(limit=1))  # type: ignore[attr-defined]
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    for each in results:
        assert isinstance(each, errors.APIResponseValidationError), each
        assert "max_response_bytes" in str(each)
    assert grown_mb < 300, f"reading the bomb took {grown_mb:.0f} MB"


def test_a_gzip_answer_within_the_cap_is_decoded() -> None:
    def gzipped(sock: socket.socket, n: int, seen: Seen) -> None:
        answer(sock, 200, gzip.compress(json.dumps([CUSTOMER]).encode()), {"Content-Encoding": "gzip"})

    with HostileServer(gzipped) as server:
        for result in both(server.url, lambda c: c.get(1)):  # type: ignore[attr-defined]
            assert getattr(result, "email", None) == "ann@example.com", result


# --- answers of the wrong shape --------------------------------------------------------------------
SHAPES: dict[str, tuple[int, bytes, str]] = {
    "deep": (200, b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    "html": (200, b"<html><body>Service temporarily unavailable</body></html>", "unreadable answer"),
    "count-to-a-list": (200, b'{"TotalCount": 5}', "answered a count ({TotalCount}) to a list request"),
    "string-id": (200, b'[{"CustomerID": "abc", "Email": "x"}]', "without a numeric CustomerID"),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_answers_of_the_wrong_shape_are_validation_errors(shape: str) -> None:
    status, body, message = SHAPES[shape]
    with HostileServer(lambda sock, n, seen: answer(sock, status, body)) as server:
        for result in both(server.url, lambda c: c.list()):  # type: ignore[attr-defined]
            assert isinstance(result, errors.APIResponseValidationError), (shape, result)
            assert message in str(result) and result.status_code == status


@pytest.mark.parametrize(
    ("value", "shown"),
    [("x", "'x'"), ("²", "'²'"), ("9" * 5000, "'9999"), ("-3", "'-3'"), ("99999999999", "'99999999999'")],
)
def test_a_write_result_whose_id_is_not_an_id(value: str, shown: str) -> None:
    body = json.dumps([{"Key": "CustomerID", "Value": value, "Status": "201", "Message": "Created"}]).encode()
    with HostileServer(lambda sock, n, seen: answer(sock, 201, body)) as server:
        for result in both(server.url, lambda c: c.create({"Email": "a@example.com"})):  # type: ignore[attr-defined]
            assert isinstance(result, errors.APIResponseValidationError), result
            assert "not an id" in str(result) and shown in str(result) and len(str(result)) < 120


def test_a_count_that_is_a_string_is_a_validation_error() -> None:
    with HostileServer(lambda sock, n, seen: answer(sock, 200, b'{"TotalCount": "12"}')) as server:
        for result in both(server.url, lambda c: c.count()):  # type: ignore[attr-defined]
            assert isinstance(result, errors.APIResponseValidationError), result
            assert "not a whole number: '12'" in str(result)


def test_an_html_gateway_error_is_a_server_error() -> None:
    page = b"<html>Bad gateway</html>"
    with HostileServer(
        lambda sock, n, seen: answer(sock, 502, page, {"Content-Type": "text/html"})
    ) as server:
        for result in both(server.url, lambda c: c.get(1)):  # type: ignore[attr-defined]
            assert type(result) is errors.ServerError and result.status_code == 502


def test_an_unknown_content_encoding_is_a_validation_error() -> None:
    with HostileServer(lambda sock, n, seen: answer(sock, 200, b"xx", {"Content-Encoding": "br"})) as server:
        for result in both(server.url, lambda c: c.get(1)):  # type: ignore[attr-defined]
            assert isinstance(result, errors.APIResponseValidationError) and "'br'" in str(result)


# --- redirects and credentials -----------------------------------------------------------------------
def test_a_redirect_to_another_host_never_carries_the_credentials() -> None:
    with HostileServer(lambda sock, n, seen: answer(sock, 200, b"[]"), host="127.0.0.2") as elsewhere:
        target = f"{elsewhere.url}{API}/Customers/1"
        with HostileServer(lambda sock, n, seen: answer(sock, 302, b"", {"Location": target})) as server:
            for result in both(server.url, lambda c: c.get(1)):  # type: ignore[attr-defined]
                assert isinstance(result, errors.APIError) and result.status_code == 302  # not followed
            with store(server.url) as s:  # a raw call through store.client that follows it
                s.client.get_httpx_client().get(f"{API}/Customers/1", follow_redirects=True)
        assert elsewhere.seen, "the redirect was not followed"
        for request in elsewhere.seen:
            assert "privatekey" not in request.headers and "token" not in request.headers
            assert "secureurl" not in request.headers


@pytest.mark.parametrize(
    "value",
    ["abc\x00def", "key\nX-Injected: 1", "tök", "\x7f", "tab\tinside"],
)
def test_credentials_are_checked_at_construction_and_never_shown(value: str) -> None:
    with pytest.raises(ValueError, match="private_key contains a") as info:
        threedcart.Store(secure_url="https://s", private_key=value, token="t", base_url="http://127.0.0.1:9")
    assert value not in str(info.value) and repr(value) not in str(info.value)


def test_a_bad_credential_from_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREEDCART_SECURE_URL", "https://s")
    monkeypatch.setenv("THREEDCART_PRIVATE_KEY", "k")
    monkeypatch.setenv("THREEDCART_TOKEN", "tok\x1b[31mred")
    with pytest.raises(
        ValueError, match="THREEDCART_TOKEN contains a control character at position 3"
    ) as info:
        threedcart.Store.from_env(base_url="http://127.0.0.1:9")
    assert "red" not in str(info.value)


def test_errors_keep_a_redacted_request_and_pickle_without_secrets() -> None:
    with HostileServer(lambda sock, n, seen: answer(sock, 404, b"")) as server:
        with store(server.url) as s, pytest.raises(errors.NotFoundError) as info:
            s.customers.get(1)
    error = info.value
    headers = error.response.request.headers
    assert headers["PrivateKey"] == headers["Token"] == "[redacted]"
    data = pickle.dumps(error)
    assert SECRET_KEY.encode() not in data and SECRET_TOKEN.encode() not in data
    again = pickle.loads(data)
    assert type(again) is errors.NotFoundError and again.status_code == 404 and str(again) == str(error)
    timeout = errors.APITimeoutError("slow", request=httpx.Request("GET", "http://x", headers={"Token": "t"}))
    assert pickle.loads(pickle.dumps(timeout)).request.headers["Token"] == "[redacted]"


def test_errors_cross_a_process_pool() -> None:
    from concurrent.futures import ProcessPoolExecutor

    with HostileServer(lambda sock, n, seen: answer(sock, 404, b"")) as server:
        with ProcessPoolExecutor(1) as pool:
            future = pool.submit(_get_one, server.url)
            with pytest.raises(errors.NotFoundError):
                future.result(timeout=60)


def _get_one(url: str) -> object:
    with store(url) as s:
        return s.customers.get(1)


# --- retries -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("1.5", 1.5),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("", None),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0.0),
        ("Wed, 31 Dec 9999 23:59:59 GMT", "far"),
        ("Sun, 06 Nov 1994 08:49:37", None),  # no zone
    ],
)
def test_retry_after_in_every_form(value: str, seconds: float | str | None) -> None:
    got = _retry_after(value)
    if seconds == "far":
        assert got is not None and got > 10**9
    else:
        assert got == seconds


def test_a_429_with_retry_after_zero_is_retried_at_once() -> None:
    def busy_once(sock: socket.socket, n: int, seen: Seen) -> None:
        if n == 1:
            answer(sock, 429, b"", {"Retry-After": "0"})
        else:
            answer(sock, 200, json.dumps([CUSTOMER]).encode())

    with HostileServer(busy_once) as server:
        result, seconds = timed(lambda: _get_one_with_retries(server.url))
    assert getattr(result, "email", None) == "ann@example.com" and seconds < 1


def _get_one_with_retries(url: str) -> object:
    with store(url, max_retries=2) as s:
        return s.customers.get(1)


def test_a_delete_whose_retry_finds_it_gone_was_done() -> None:
    def slow_then_gone(sock: socket.socket, n: int, seen: Seen) -> None:
        if n == 1:
            time.sleep(1.0)  # deleted, but the answer comes after the client's timeout
            answer(sock, 200, b"[]")
        else:
            answer(sock, 404, b"")

    with HostileServer(slow_then_gone) as server:
        with store(server.url, max_retries=2, timeout=0.3) as s:
            assert s.customers.delete(7) is None
    with HostileServer(lambda sock, n, seen: answer(sock, 404, b"")) as server:
        with store(server.url, max_retries=2) as s, pytest.raises(errors.NotFoundError):
            s.customers.delete(7)  # no earlier attempt: a plain 404 is still "not found"


# --- deployment ---------------------------------------------------------------------------------------
def test_requests_identify_the_sdk() -> None:
    with HostileServer(lambda sock, n, seen: answer(sock, 200, json.dumps([CUSTOMER]).encode())) as server:
        both(server.url, lambda c: c.get(1))
    agents = {s.headers["user-agent"] for s in server.seen}
    assert len(agents) == 1
    agent = agents.pop()
    assert (
        agent.startswith(f"threedcart/{threedcart.__version__} (api {threedcart.API_VERSION}) python/")
        and f"httpx/{httpx.__version__}" in agent
    )


def test_proxies_come_from_the_environment_and_no_proxy_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    target = "http://127.0.0.3:9"  # nothing listens there: only the proxy can answer
    with HostileServer(lambda sock, n, seen: answer(sock, 200, json.dumps([CUSTOMER]).encode())) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with store(target) as s:
            assert s.customers.get(1).email == "ann@example.com"
        assert proxy.seen[0].target == f"{target}{API}/Customers/1"  # the absolute form: a proxy request
        with store(target, proxy=proxy.url, trust_env=False) as s:  # explicit
            assert s.customers.get(1).email == "ann@example.com"
        monkeypatch.setenv("NO_PROXY", "127.0.0.3")
        with store(target, timeout=2) as s, pytest.raises(errors.APIConnectionError):
            s.customers.get(1)  # straight to the target: connection refused
    assert len(proxy.seen) == 2


def test_an_injected_transport_keeps_retries() -> None:
    answers = [503, 200]

    def handler(request: httpx.Request) -> httpx.Response:
        status = answers.pop(0)
        return httpx.Response(status, json=[CUSTOMER] if status == 200 else [])

    with store("http://127.0.0.1:9", transport=httpx.MockTransport(handler), max_retries=1) as s:
        assert s.customers.get(1).customer_id == 1
    assert answers == []
    with pytest.raises(TypeError, match=r"httpx\.BaseTransport"):
        store("http://127.0.0.1:9", transport=object())


def test_tls_options(tmp_path: Path) -> None:
    context = ssl.create_default_context()
    with threedcart.Store(secure_url="https://s", private_key="k", token="t", verify=context) as s:
        assert s.verify is context
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DeprecationWarning from httpx for a CA path
        import certifi

        with threedcart.Store(secure_url="https://s", private_key="k", token="t", verify=certifi.where()):
            pass
    with pytest.raises(ValueError, match="cannot load the CA bundle"):
        threedcart.Store(
            secure_url="https://s", private_key="k", token="t", verify=str(tmp_path / "none.pem")
        )
    with pytest.warns(UserWarning, match="plain http://"):
        threedcart.Store(
            secure_url="https://s", private_key="k", token="t", base_url="http://store.example.com"
        )


@pytest.mark.parametrize(
    ("timeout", "error"), [("5", TypeError), (True, TypeError), (-1, ValueError), (0, ValueError)]
)
def test_timeouts_are_checked_at_construction(timeout: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="timeout"):
        threedcart.Store(secure_url="https://s", private_key="k", token="t", timeout=timeout)  # type: ignore[arg-type]


def test_with_options_views_are_honest_and_do_not_close_their_store() -> None:
    with HostileServer(lambda sock, n, seen: answer(sock, 200, json.dumps([CUSTOMER]).encode())) as server:
        with store(server.url, max_retries=0) as s:
            with s.with_options(max_retries=5, timeout=7) as view:
                assert (view.max_retries, view.timeout.read) == (5, 7)
                assert view.customers.get(1).customer_id == 1
            assert (s.max_retries, s.timeout.read) == (0, 1.0)
            assert s.customers.get(1).customer_id == 1  # the store's pool is still open


def test_threedcart_log_switches_logging_on() -> None:
    with HostileServer(lambda sock, n, seen: answer(sock, 200, json.dumps([CUSTOMER]).encode())) as server:
        code = (
            "import threedcart\n"
            f"s = threedcart.Store(secure_url='https://s', private_key='{SECRET_KEY}',"
            f" token='{SECRET_TOKEN}', base_url='{server.url}')\n"
            "s.customers.get(1)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "THREEDCART_LOG": "debug"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert f"DEBUG threedcart: GET {API}/Customers/1 -> 200" in done.stderr
    assert SECRET_KEY not in done.stderr and SECRET_TOKEN not in done.stderr
    assert "httpcore" not in done.stderr


# --- the CLI ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("behaviour", [drip, gzip_bomb, truncated])
def test_the_cli_ends_in_one_line_within_bounds(behaviour: Behaviour) -> None:
    with HostileServer(behaviour) as server:
        env = {
            **os.environ,
            "THREEDCART_SECURE_URL": "https://s.example.com",
            "THREEDCART_PRIVATE_KEY": SECRET_KEY,
            "THREEDCART_TOKEN": SECRET_TOKEN,
            "THREEDCART_BASE_URL": server.url,
            "THREEDCART_TIMEOUT": "1",
        }
        started = time.monotonic()
        done = subprocess.run(
            [CLI, "--max-retries", "0", "customers", "get", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        seconds = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert "Traceback" not in done.stderr and SECRET_KEY not in done.stderr
    assert seconds < 15


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield


def test_a_per_call_timeout_reaches_the_request() -> None:
    def slow(sock: socket.socket, n: int, seen: Seen) -> None:
        time.sleep(0.6)
        answer(sock, 200, json.dumps([CUSTOMER]).encode())

    with HostileServer(slow) as server:
        for result in both(server.url, lambda c: c.get(1, timeout=0.2), timeout=5):  # type: ignore[attr-defined]
            assert isinstance(result, errors.APITimeoutError), result
        for result in both(server.url, lambda c: c.get(1), timeout=5):  # type: ignore[attr-defined]
            assert getattr(result, "customer_id", None) == 1
        with store(server.url, timeout=5) as s:
            assert [c.customer_id for c in s.customers.iter(timeout=2)] == [1]
            with pytest.raises(TypeError, match="timeout"):
                s.customers.count(timeout="soon")  # type: ignore[arg-type]


def test_checks_survive_python_dash_o() -> None:
    body = b'[{"CustomerID": "abc", "Email": "x"}]'
    with HostileServer(lambda sock, n, seen: answer(sock, 200, body)) as server:
        code = (
            "import threedcart\n"
            "s = threedcart.Store(secure_url='https://s', private_key='k', token='t',"
            f" base_url='{server.url}')\n"
            "try:\n    s.customers.get(1)\nexcept threedcart.errors.APIResponseValidationError as e:\n"
            "    print('refused:', e.message)\n"
        )
        done = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "refused: the service sent a customer without a numeric CustomerID", (
        done.stderr
    )

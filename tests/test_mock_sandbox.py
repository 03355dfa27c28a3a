"""The mock as a sandbox other teams hit: timeouts, limits, clean logs and shutdown, packaging.

Every test talks to a real `python -m threedcart_mock` process on 127.0.0.1, most of them over
raw sockets, since no HTTP client sends half a request on purpose.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import API, http
from threedcart_mock.testing import MockServer

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "openapi" / "customers.yaml"


# --- raw HTTP helpers ----------------------------------------------------------
def _connect(mock: MockServer) -> socket.socket:
    url = urlsplit(mock.url)
    assert url.hostname is not None and url.port is not None
    return socket.create_connection((url.hostname, url.port), timeout=10)


def _auth(mock: MockServer) -> bytes:
    return b"".join(f"{k}: {v}\r\n".encode() for k, v in mock.headers.items())


def _post_head(mock: MockServer, length: int) -> bytes:
    return (
        f"POST {API}/Customers HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n".encode()
        + _auth(mock)
        + b"\r\n"
    )


def _read_until_closed(sock: socket.socket, within: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    chunks = []
    while True:
        left = within - (time.monotonic() - started)
        if left <= 0:
            raise AssertionError(f"the server kept the connection open for {within} s; got {chunks!r}")
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks), time.monotonic() - started


def _status_and_body(answer: bytes) -> tuple[int, dict[str, str], object]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, json.loads(body)


def _error_answer(answer: bytes, status: int) -> str:
    code, headers, body = _status_and_body(answer)
    assert code == status, answer[:300]
    assert headers["connection"] == "close" and "date" in headers
    assert isinstance(body, list) and body[0]["Key"] == "Error" and body[0]["Status"] == str(status)
    return str(body[0]["Message"])


def _still_serving(mock: MockServer) -> None:
    with http(mock) as client:
        assert client.get("/Customers", params={"countonly": 1}).status_code == 200


def _no_application_errors(output: list[str]) -> None:
    noisy = [line for line in output if "Traceback" in line or "Exception" in line or "ERROR" in line]
    assert not noisy, "\n".join(output)


# --- timeouts -----------------------------------------------------------------------
def test_an_idle_socket_is_closed_within_the_idle_timeout() -> None:
    with MockServer(["--idle-timeout", "1"]) as mock:
        fresh = _connect(mock)  # never sends a byte
        answer, took = _read_until_closed(fresh, within=8)
        assert answer == b"" and 0.8 <= took < 5.5, took  # a 1 s limit: measured 1.0-1.1 s; 5x that
        # a keep-alive connection between two requests is closed as well
        kept = _connect(mock)
        kept.sendall(f"GET {API}/Customers?countonly=1 HTTP/1.1\r\nHost: mock\r\n".encode() + _auth(mock))
        kept.sendall(b"\r\n")
        answer, took = _read_until_closed(kept, within=8)
        assert answer.startswith(b"HTTP/1.1 200") and b'{"TotalCount":0}' in answer
        assert 0.8 <= took < 5.5, took  # a 1 s limit: measured 1.0-1.1 s; 5x that
        _still_serving(mock)


def test_the_default_idle_timeout_keeps_keep_alive_connections_of_normal_clients() -> None:
    with MockServer() as mock, http(mock) as client:
        first = client.get("/Customers", params={"countonly": 1})
        time.sleep(1.5)
        second = client.get("/Customers", params={"countonly": 1})
        assert first.status_code == second.status_code == 200
        # the same connection: the same local port
        ports = [r.extensions["network_stream"].get_extra_info("client_addr") for r in (first, second)]
        assert ports[0] == ports[1]


def test_a_half_sent_head_gets_408_within_the_header_timeout_even_when_it_drips() -> None:
    with MockServer(["--header-timeout", "1"]) as mock:
        half = _connect(mock)
        half.sendall(f"GET {API}/Customers HTTP/1.1\r\nHost: mo".encode())
        answer, took = _read_until_closed(half, within=8)
        assert "request head was not complete within 1 s" in _error_answer(answer, 408)
        assert 0.8 <= took < 5.5, took  # a 1 s limit: measured 1.0-1.1 s; 5x that

        drip = _connect(mock)  # a byte every 0.2 s: activity does not extend the head's deadline
        started = time.monotonic()
        head = f"GET {API}/Customers HTTP/1.1\r\n".encode() + b"X-Slow: " + b"a" * 100
        for byte in head:
            with contextlib.suppress(OSError):
                drip.sendall(bytes([byte]))
            if select.select([drip], [], [], 0.2)[0] or time.monotonic() - started > 8:
                break
        answer, _ = _read_until_closed(drip, within=8)
        _error_answer(answer, 408)
        assert time.monotonic() - started < 5.5  # a 1 s limit: 5x its measured 1.0-1.1 s
        _still_serving(mock)


def test_a_half_sent_body_gets_408_within_the_body_timeout_and_nothing_is_written() -> None:
    with MockServer(["--body-timeout", "1"]) as mock:
        half = _connect(mock)
        half.sendall(_post_head(mock, 100) + b'{"Email": "slow@example.com"')
        answer, took = _read_until_closed(half, within=8)
        assert "request body was not complete within 1 s" in _error_answer(answer, 408)
        assert 0.8 <= took < 5.5, took  # a 1 s limit: measured 1.0-1.1 s; 5x that
        with http(mock) as client:
            assert client.get("/Customers", params={"countonly": 1}).json() == {"TotalCount": 0}
    _no_application_errors(mock.output)


# --- limits ---------------------------------------------------------------------------
def test_connections_beyond_the_limit_get_503_and_the_others_keep_working() -> None:
    with MockServer(["--max-connections", "4"]) as mock:
        idle = [_connect(mock) for _ in range(4)]
        time.sleep(0.3)  # the server has accepted them
        extra = _connect(mock)
        extra.sendall(f"GET {API}/Customers HTTP/1.1\r\nHost: mock\r\n".encode() + _auth(mock) + b"\r\n")
        answer, _ = _read_until_closed(extra, within=8)
        assert "more than 4 open connections" in _error_answer(answer, 503)
        assert _status_and_body(answer)[1]["retry-after"] == "1"
        # an accepted connection is served; once one closes, a new one is accepted again
        idle[0].sendall(f"GET {API}/Customers/1 HTTP/1.1\r\nHost: mock\r\n".encode() + _auth(mock) + b"\r\n")
        assert idle[0].recv(65536).startswith(b"HTTP/1.1 404")
        for sock in idle:
            sock.close()
        time.sleep(0.3)
        _still_serving(mock)


def test_a_long_url_gets_414_and_large_headers_get_431_at_once() -> None:
    with MockServer(["--seed-customers", "1"]) as mock:
        long_url = _connect(mock)
        long_url.sendall(f"GET {API}/Customers?email={'a' * 20_000} HTTP/1.1\r\nHost: mock\r\n\r\n".encode())
        answer, _ = _read_until_closed(long_url, within=8)
        assert "URI too long" in _error_answer(answer, 414)

        big_headers = _connect(mock)
        filler = b"".join(f"X-Filler-{n}: {'b' * 1000}\r\n".encode() for n in range(20))
        big_headers.sendall(f"GET {API}/Customers/1 HTTP/1.1\r\nHost: mock\r\n".encode() + filler + b"\r\n")
        answer, _ = _read_until_closed(big_headers, within=8)
        assert "header fields too large" in _error_answer(answer, 431)

        # an 80 MB URL (parsed for 21 s before) and one 50 MB header are refused within seconds
        for name, request in (
            ("url", b"GET /" + b"a" * 80_000_000 + b" HTTP/1.1\r\n\r\n"),
            ("header", b"GET / HTTP/1.1\r\nX-Huge: " + b"c" * 50_000_000 + b"\r\n\r\n"),
        ):
            huge = _connect(mock)
            started = time.monotonic()
            sender = threading.Thread(target=lambda s=huge, r=request: _send_ignoring_resets(s, r))
            sender.start()
            answer, _ = _read_until_closed(huge, within=10)
            sender.join(10)
            assert time.monotonic() - started < 5, name
            assert answer.startswith(b"HTTP/1.1 414" if name == "url" else b"HTTP/1.1 431"), answer[:100]
            huge.close()

        with http(mock) as client:  # normal URLs and headers are untouched
            assert client.get("/Customers/1", headers={"X-Trace": "t" * 2000}).status_code == 200
    _no_application_errors(mock.output)


def _send_ignoring_resets(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(data)


# --- clean logs and shutdown -------------------------------------------------------------
def test_a_client_that_disconnects_mid_body_is_not_an_application_error() -> None:
    with MockServer() as mock:
        for _ in range(3):
            gone = _connect(mock)
            gone.sendall(_post_head(mock, 1000) + b'{"Email": "gone@example.com", ')
            time.sleep(0.2)
            gone.close()
        time.sleep(0.5)
        with http(mock) as client:
            assert client.get("/Customers", params={"countonly": 1}).json() == {"TotalCount": 0}
    _no_application_errors(mock.output)


def test_sigterm_exits_within_seconds_with_requests_half_sent() -> None:
    mock = MockServer(["--latency-ms", "300"]).start()
    half_body = _connect(mock)
    half_body.sendall(_post_head(mock, 500) + b'{"Email": ')
    half_head = _connect(mock)
    half_head.sendall(f"GET {API}/Customers HTTP/1.1\r\nHost: m".encode())
    idle = _connect(mock)
    answers: list[int] = []

    def in_flight() -> None:  # a request being answered when SIGTERM arrives is still answered
        with http(mock) as client:
            answers.append(client.get("/Customers", params={"countonly": 1}).status_code)

    request = threading.Thread(target=in_flight)
    request.start()
    time.sleep(0.15)
    started = time.monotonic()
    assert mock.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 5
    request.join(5)
    assert answers == [200]
    for sock in (half_body, half_head, idle):
        sock.close()
    _no_application_errors(mock.output)


# --- the server underneath ------------------------------------------------------------------
def test_the_running_loop_is_uvloop() -> None:
    with MockServer() as mock:
        line = next(line for line in mock.output if "listening on" in line)
        assert line.endswith("(uvloop)"), line


def test_a_busy_port_is_one_line_on_stderr_and_status_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "threedcart_mock", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0] == f"threedcart-mock: cannot listen on 127.0.0.1:{port}: " + (
        "the address is already in use (another server is listening there)"
    )
    assert "listening on http" not in result.stdout


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--idle-timeout", "0"),
        ("--header-timeout", "-1"),
        ("--body-timeout", "nan"),
        ("--max-connections", "0"),
    ],
)
def test_limit_options_are_checked_at_start_up(option: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "threedcart_mock", option, value], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and option in result.stderr
    assert "must be" in result.stderr, result.stderr  # refused for its value, not as unknown


def test_email_null_on_create_is_a_400_naming_email() -> None:
    with MockServer() as mock, http(mock) as client:
        r = client.post("/Customers", json={"Email": None, "Password": ""})
        assert r.status_code == 400
        assert "Email" in r.json()[0]["Message"]
        assert client.get("/Customers", params={"countonly": 1}).json() == {"TotalCount": 0}


# --- fault after commit, over raw HTTP -----------------------------------------------------------
@pytest.mark.parametrize("bodiless", [False, True])
def test_fault_after_commit_commits_then_answers_500_or_drops_the_connection(bodiless: bool) -> None:
    args = ["--fault-after-commit", "0.5", "--random-seed", "3"] + (["--bodiless-errors"] if bodiless else [])
    with MockServer(args) as mock:
        outcomes: dict[str, int] = {"answered": 0, "500": 0, "dropped": 0}
        with httpx.Client(base_url=mock.url + API, headers=mock.headers, timeout=10) as client:
            for n in range(40):
                try:
                    r = client.post("/Customers", json={"Email": f"f{n}@example.com", "Password": ""})
                except httpx.TransportError:
                    outcomes["dropped"] += 1
                    continue
                if r.status_code == 500:
                    outcomes["500"] += 1
                    assert r.content == b"" if bodiless else "after commit" in r.json()[0]["Message"]
                else:
                    assert r.status_code == 201, r.text
                    outcomes["answered"] += 1
        assert all(count >= 5 for count in outcomes.values()), outcomes
        with http(mock) as reader:  # every create committed, answered or not; reads never fail
            page = reader.get("/Customers", params={"limit": 500}).json()
            assert sorted(c["Email"] for c in page) == sorted(f"f{n}@example.com" for n in range(40))
            # updates and deletes are committed before their fault too
            for customer in page[:20]:
                with contextlib.suppress(httpx.TransportError):
                    r = reader.put(f"/Customers/{customer['CustomerID']}", json={"Comments": "x"})
                    assert r.status_code in (200, 500)
            for customer in page[20:]:
                with contextlib.suppress(httpx.TransportError):
                    assert reader.delete(f"/Customers/{customer['CustomerID']}").status_code in (200, 500)
            after = reader.get("/Customers", params={"limit": 500}).json()
            assert [c["CustomerID"] for c in after] == [c["CustomerID"] for c in page[:20]]
            assert all(c["Comments"] == "x" for c in after)
    _no_application_errors(mock.output)


# --- packaging: the spec ships in the wheel ------------------------------------------------------
def test_the_wheel_carries_the_spec_and_runs_from_an_install(tmp_path: Path) -> None:
    # Build from a copy of mock/ beside a copy of openapi/, as the repository lays them out.
    shutil.copytree(
        ROOT / "mock",
        tmp_path / "src" / "mock",
        ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"),
    )
    shutil.copytree(ROOT / "openapi", tmp_path / "src" / "openapi")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(tmp_path / "dist"), str(tmp_path / "src" / "mock")],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (wheel,) = (tmp_path / "dist").glob("threedcart_mock-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        # the drift check: the packaged copy is the repository's spec, byte for byte
        assert archive.read("threedcart_mock/customers.yaml") == SPEC.read_bytes()

    site = tmp_path / "installed"
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONUNBUFFERED": "1"}
    env.pop("THREEDCART_SPEC", None)
    where = subprocess.run(
        [sys.executable, "-c", "from threedcart_mock import _schema; print(_schema.spec_path())"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert Path(where.stdout.strip()) == site / "threedcart_mock" / "customers.yaml"

    script = site / "bin" / "threedcart-mock"
    proc = subprocess.Popen(
        [str(script), "--port", "0"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        assert proc.stdout is not None
        url = ""
        deadline = time.monotonic() + 60
        while not url and time.monotonic() < deadline:
            line = proc.stdout.readline().decode()
            if not line:
                break
            if "listening on " in line:
                url = line.split("listening on ")[1].split()[0]
        assert url, "the installed threedcart-mock did not start"
        demo = {"SecureURL": "https://demo-store.3dcartstores.com", "PrivateKey": "demo-private-key"}
        with httpx.Client(base_url=url, headers={**demo, "Token": "demo-token"}, timeout=10) as client:
            assert client.get("/openapi.yaml").content == SPEC.read_bytes()
            r = client.post(API + "/Customers", json={"Email": "wheel@example.com", "Password": ""})
            assert r.status_code == 201
            assert client.post(API + "/Customers", json={"Email": 5, "Password": ""}).status_code == 400
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

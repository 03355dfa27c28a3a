"""`threedcart_mock.testing.MockServer`, the helper that starts a mock store for tests, demos and
benchmarks: what it starts (the command, the environment), what it reads back (the URL, every line of
output, stderr included), how it fails (a mock that exits or stays silent) and how it stops.

Every other suite uses MockServer to reach a mock; these tests pin the helper itself, each with one
short-lived mock on 127.0.0.1.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from threedcart_mock.__main__ import DEMO_STORE
from threedcart_mock.testing import MockServer


def _proc_file(pid: int, name: str) -> list[str]:
    return Path(f"/proc/{pid}/{name}").read_bytes().decode().split("\0")


def test_it_starts_the_mock_module_on_a_free_port_with_unbuffered_output_and_reads_its_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)  # set by MockServer, not inherited
    mock = MockServer(["--seed-customers", "3"])
    assert (mock.args, mock.url, mock.output, mock.startup_timeout) == (
        ["--seed-customers", "3"],
        "",
        [],
        120,
    )
    assert not mock.running()
    with mock as started:
        assert started is mock and mock.running()
        assert mock.url.startswith("http://127.0.0.1:") and not mock.url.endswith(":0")
        assert _proc_file(mock.pid, "cmdline")[:-1] == [
            sys.executable,
            "-m",
            "threedcart_mock",
            "--port",
            "0",
            "--seed-customers",
            "3",
        ]
        assert "PYTHONUNBUFFERED=1" in _proc_file(mock.pid, "environ")
        assert any(line.startswith("threedcart-mock listening on " + mock.url) for line in mock.output)
        assert not any(line.endswith("\n") for line in mock.output)
        reader = [t for t in threading.enumerate() if t.daemon and "read" in t.name]
        assert reader, [t.name for t in threading.enumerate()]  # a daemon: never holds up the interpreter
    assert not mock.running()


def test_the_demo_stores_credentials_are_its_headers() -> None:
    assert MockServer().headers == {
        "SecureURL": DEMO_STORE.secure_url,
        "PrivateKey": DEMO_STORE.private_key,
        "Token": DEMO_STORE.token,
    }


def test_a_mock_that_exits_before_listening_fails_at_once_with_its_stderr() -> None:
    mock = MockServer(["--xyzzy-no-such-optionX"])
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^the mock did not start:\n") as caught:
        mock.start()
    assert time.monotonic() - started < 60  # at the mock's exit, not after startup_timeout (120 s)
    assert "--xyzzy-no-such-optionX" in str(caught.value)  # argparse's message, on stderr
    assert str(caught.value) == "the mock did not start:\n" + "\n".join(mock.output)  # every line, as printed
    assert mock.output[-1].endswith(": --xyzzy-no-such-optionX")  # each line as printed, less its newline
    assert not mock.running() and mock.stop() is None


def test_a_mock_that_does_not_listen_within_startup_timeout_is_stopped() -> None:
    mock = MockServer(["--seed-customers", "20000"], startup_timeout=0.05)
    with pytest.raises(RuntimeError, match=r"^the mock did not start:"):
        mock.start()
    assert not mock.running() and mock.url == ""


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 0), (signal.SIGKILL, -signal.SIGKILL)])
def test_stop_sends_its_signal_and_returns_the_exit_status_once(sig: signal.Signals, code: int) -> None:
    mock = MockServer().start()
    pid = mock.pid
    assert mock.stop(sig) == code
    assert not Path(f"/proc/{pid}/cmdline").exists() or not _proc_file(pid, "cmdline")[0]
    assert mock.stop() is None and not mock.running()


def test_stop_kills_a_mock_that_ignores_sigterm_after_ten_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float | None] = []
    real_wait = subprocess.Popen.wait

    def wait(self: subprocess.Popen[str], timeout: float | None = None) -> int:
        waits.append(timeout)
        if timeout is not None:
            raise subprocess.TimeoutExpired(self.args, timeout)  # as if SIGTERM were ignored
        return real_wait(self)

    mock = MockServer().start()
    monkeypatch.setattr(subprocess.Popen, "wait", wait)
    assert mock.stop() == -signal.SIGKILL
    assert waits == [10, None]


def test_a_mock_that_exited_by_itself_is_not_signalled(monkeypatch: pytest.MonkeyPatch) -> None:
    mock = MockServer().start()
    mock._proc.terminate()  # type: ignore[union-attr]
    mock._proc.wait(10)  # type: ignore[union-attr]
    sent: list[int] = []
    monkeypatch.setattr(subprocess.Popen, "send_signal", lambda self, sig: sent.append(sig))
    assert mock.stop() == 0 and sent == []

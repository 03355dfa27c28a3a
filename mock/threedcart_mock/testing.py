"""Start a mock store in a subprocess, the way a user would, for tests, demos and benchmarks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from types import TracebackType

from .__main__ import DEMO_STORE

_LISTENING = re.compile(r"listening on (http://\S+)")


class MockServer:
    """A `python -m threedcart_mock` process on a free loopback port.

    >>> with MockServer(["--seed-customers", "100"]) as mock:
    ...     mock.url  # http://127.0.0.1:PORT
    """

    def __init__(self, args: Sequence[str] = (), *, startup_timeout: float = 120) -> None:
        self.args = list(args)
        self.startup_timeout = startup_timeout
        self.url = ""
        self.output: list[str] = []
        self._proc: subprocess.Popen[str] | None = None

    @property
    def headers(self) -> dict[str, str]:
        """The demo store's credentials (when no --store was given)."""
        return {
            "SecureURL": DEMO_STORE.secure_url,
            "PrivateKey": DEMO_STORE.private_key,
            "Token": DEMO_STORE.token,
        }

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def start(self) -> MockServer:
        cmd = [sys.executable, "-m", "threedcart_mock", "--port", "0", *self.args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        found = threading.Event()

        def read() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:
                self.output.append(line.rstrip("\n"))
                match = _LISTENING.search(line)
                if match and not found.is_set():
                    self.url = match.group(1)
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(self.startup_timeout) or not self.url:
            self.stop()
            raise RuntimeError("the mock did not start:\n" + "\n".join(self.output))
        return self

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Stop the process (SIGKILL to simulate a crash); its exit status."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(sig)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        code = self._proc.returncode
        self._proc = None
        return code

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

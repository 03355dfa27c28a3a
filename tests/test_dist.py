"""A newcomer's first hour, as the README tells it: `make dist` and `make mock`.

`make dist` builds the three wheels; they install with the `cli` extra into a clean virtual
environment (the other dependencies from the package index, at the versions of
requirements/dev.lock) and work from outside the repository: `threedcart --version`, the installed
`threedcart-mock`, and `threedcart customers count` and `list` against it.

`make mock` prints, before anything else, the environment lines the README's "Try it in one
minute" shows (so the two cannot drift apart), then serves the mock; the README's three commands
work with that environment, as pasted.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _version(folder: Path) -> str:
    return str(tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


VERSION = _version(ROOT)
VARIABLES = ("THREEDCART_SECURE_URL", "THREEDCART_PRIVATE_KEY", "THREEDCART_TOKEN", "THREEDCART_BASE_URL")


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that points at the repository or a store."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("THREEDCART_") and key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    return {**env, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", **extra}


@contextmanager
def _serving(command: list[str], cwd: Path, env: dict[str, str]) -> Iterator[queue.Queue[str | None]]:
    """A foreground server (its own process group), its output lines in a queue; SIGINT at the end."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)  # the end of its output

    threading.Thread(target=pump, daemon=True).start()
    try:
        yield lines
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _until(lines: queue.Queue[str | None], marker: str, timeout: float = 90) -> list[str]:
    """The lines up to and including the first that contains `marker`."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no {marker!r} within {timeout} s; printed: {seen}") from None
        if line is None:
            raise AssertionError(f"it ended before printing {marker!r}; printed: {seen}")
        seen.append(line)
        if marker in line:
            return seen


def _listening(lines: list[str]) -> str:
    (url,) = [line.split("listening on ")[1].split()[0] for line in lines if "listening on " in line]
    return url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- make dist: the wheels, installed in a clean virtual environment ----------------------------
@pytest.mark.slow
def test_the_wheels_of_make_dist_install_and_run_outside_the_repository(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run(
        ["make", "--no-print-directory", "-s", "dist", f"DIST={dist}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = sorted(path.name for path in dist.iterdir())
    assert wheels == [
        f"threedcart-{VERSION}-py3-none-any.whl",
        f"threedcart_customers_client-{_version(ROOT / 'generated')}-py3-none-any.whl",
        f"threedcart_mock-{_version(ROOT / 'mock')}-py3-none-any.whl",
    ]
    assert built.stdout.split() == [str(dist / name) for name in wheels]  # it names what it built

    # One clean environment (no pip of its own: this pip installs into it), the cli extra, the
    # pinned versions of everything the wheels need.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    sdk, client, mock = (dist / name for name in wheels)
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-compile",
            "--disable-pip-version-check",
            "-c",
            str(ROOT / "requirements" / "dev.lock"),
            str(client),
            f"{sdk}[cli]",
            str(mock),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=_clean_env(),
    )
    assert install.returncode == 0, install.stdout + install.stderr

    # From outside the repository, with the installed commands only.
    bin_ = venv / "bin"
    env = _clean_env(PATH=f"{bin_}{os.pathsep}/usr/bin:/bin")
    where = subprocess.run(
        [
            str(bin_ / "python"),
            "-c",
            "import threedcart, threedcart_mock; print(threedcart.__file__, threedcart_mock.__file__)",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    assert all(Path(path).is_relative_to(venv) for path in where.stdout.split()), where.stdout
    version = subprocess.run(
        [str(bin_ / "threedcart"), "--version"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith(f"threedcart {VERSION} "), version.stdout

    with _serving(
        [str(bin_ / "threedcart-mock"), "--port", "0", "--seed-customers", "25"], tmp_path, env
    ) as out:
        started = _until(out, "listening on ")
        url = _listening(started)
        (store,) = [line for line in started if line.startswith("demo store: ")]
        credentials = dict(part.split("=", 1) for part in store.removeprefix("demo store: ").split())
        store_env = {
            **env,
            "THREEDCART_SECURE_URL": credentials["SecureURL"],
            "THREEDCART_PRIVATE_KEY": credentials["PrivateKey"],
            "THREEDCART_TOKEN": credentials["Token"],
            "THREEDCART_BASE_URL": url,
        }

        def cli(*args: str) -> str:
            run = subprocess.run(
                [str(bin_ / "threedcart"), *args],
                cwd=tmp_path,
                env=store_env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert run.returncode == 0, (args, run.stdout, run.stderr)
            return run.stdout

        assert cli("customers", "count") == "25\n"
        assert cli("customers", "list", "--limit", "3").strip()
        rows = [
            json.loads(line)
            for line in cli("customers", "list", "--limit", "3", "--format", "jsonl").splitlines()
        ]
        assert len(rows) == 3 and all(isinstance(row["CustomerID"], int) for row in rows)


# --- make mock: the README's minute ------------------------------------------------------------
def _try_it_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Try it in one minute\n")
    return text[start : text.index("\n## ", start + 1)]


def _readme_environment() -> list[str]:
    return [line for line in _try_it_section().splitlines() if line.startswith("export ")]


def _readme_commands() -> list[list[str]]:
    section = _try_it_section()
    return [
        shlex.split(line, comments=True)
        for line in section.splitlines()
        if line.startswith(".venv/bin/threedcart ")
    ]


def test_the_readme_shows_make_mock_and_the_environment_it_prints() -> None:
    lines = _readme_environment()
    assert [line.split("=", 1)[0].removeprefix("export ") for line in lines] == list(VARIABLES)
    assert "```sh\nmake mock\n```" in _try_it_section()
    assert len(_readme_commands()) == 3
    # make's own plan for the default port prints exactly these lines
    plan = subprocess.run(
        ["make", "--no-print-directory", "-n", "mock"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert plan.returncode == 0, plan.stderr
    echoed = [shlex.split(line)[1] for line in plan.stdout.splitlines() if line.startswith('echo "export ')]
    assert echoed == lines


def test_make_mock_prints_the_readme_environment_first_and_the_readme_commands_work(tmp_path: Path) -> None:
    port = _free_port()
    with _serving(
        ["make", "--no-print-directory", "-s", "mock", f"MOCK_PORT={port}"], ROOT, _clean_env()
    ) as out:
        printed = _until(out, "listening on ")
        assert _listening(printed) == f"http://127.0.0.1:{port}"
        # the environment comes first (after comments, which a paste ignores), exactly as the README shows it
        first = [line for line in printed if not line.startswith("#")][: len(VARIABLES)]
        assert first == [line.replace(":8300", f":{port}") for line in _readme_environment()], printed
        assert all(line.startswith(("#", "export ")) for line in printed[: printed.index(first[-1]) + 1])

        env = _clean_env(**dict(line.removeprefix("export ").split("=", 1) for line in first))
        results = []
        for command in _readme_commands():
            command[0] = str(ROOT / command[0])  # .venv/bin/threedcart, as typed in the checkout
            run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
            assert run.returncode == 0, (command, run.stdout, run.stderr)
            results.append(run)
    count, listing, export = results
    assert count.stdout == "1000\n"
    assert re.search(r"\d", listing.stdout)
    exported = (tmp_path / "customers.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(exported) == 1000 and "1000" in export.stdout + export.stderr

"""`threedcart customers sync` against hostile conditions, over HTTP: files that collide, a disk
that refuses the output, store clocks that lie (`Date: ... 2099`, unreadable, jumping forward
and back). The run must never move the watermark past records it has not put on disk."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import threedcart
from conftest import API, store_kwargs
from threedcart_mock.testing import MockServer

CLI = str(Path(sys.executable).with_name("threedcart"))


def environment(url: str, secure_url: str, private_key: str, token: str) -> dict[str, str]:
    return {
        **os.environ,
        "THREEDCART_SECURE_URL": secure_url,
        "THREEDCART_PRIVATE_KEY": private_key,
        "THREEDCART_TOKEN": token,
        "THREEDCART_BASE_URL": url,
    }


def mock_env(mock: MockServer) -> dict[str, str]:
    h = mock.headers
    return environment(mock.url, h["SecureURL"], h["PrivateKey"], h["Token"])


def sync(
    env: dict[str, str], state: Path, *args: str, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "customers", "sync", "--state", str(state), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec,
    )


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def outputs(folder: Path, stem: str = "state") -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(f"{stem}-") and p.suffix == ".jsonl")


def no_temporary_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


# --- collisions -------------------------------------------------------------------------------
def test_back_to_back_syncs_in_one_store_second_keep_every_record(tmp_path: Path) -> None:
    # A stopped store clock: every run ends in the same store second, so every default name collides.
    with MockServer(["--seed-customers", "300", "--clock-speed", "0"]) as mock:
        env = mock_env(mock)
        state = tmp_path / "state.json"
        runs = [sync(env, state) for _ in range(3)]
    assert [r.returncode for r in runs] == [0, 0, 0], [r.stderr for r in runs]
    names = [p.name for p in outputs(tmp_path)]
    base = min(names, key=len)  # state-YYYYMMDDTHHMMSSZ.jsonl, then -2 and -3 for the runs after
    first = tmp_path / base
    numbered = [first.with_name(base.replace(".jsonl", f"-{n}.jsonl")) for n in (2, 3)]
    assert sorted(names) == sorted(p.name for p in [first, *numbered])
    assert len(lines(first)) == 300  # the second run's empty file did not replace the first's 300
    ids = [row["CustomerID"] for path in [first, *numbered] for row in lines(path)]
    assert sorted(set(ids)) == list(range(1, 301))
    assert json.loads(state.read_text())["last_output"] == str(numbered[1])
    for run, path in zip(runs, [first, *numbered], strict=True):
        assert f"to {path} in" in run.stdout
    assert no_temporary_files(tmp_path)


def test_an_explicit_output_that_exists_is_never_replaced(tmp_path: Path) -> None:
    with MockServer(["--seed-customers", "20"]) as mock:
        env = mock_env(mock)
        state = tmp_path / "state.json"
        target = tmp_path / "out.jsonl"
        target.write_text("earlier records\n")
        refused = sync(env, state, "-o", str(target))
        assert refused.returncode == 1
        assert f"{target} exists: sync never replaces a file" in refused.stderr
        assert target.read_text() == "earlier records\n" and not state.exists()
        fresh = sync(env, state, "-o", str(tmp_path / "new.csv"))  # the suffix picks the format
    assert fresh.returncode == 0, fresh.stderr
    assert (tmp_path / "new.csv").read_text().startswith("CustomerID,")


# --- the output on disk before the watermark ----------------------------------------------------
def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:  # in the child: writes past `limit` bytes fail with EFBIG, like a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.fixture(scope="module")
def windowed() -> Iterator[tuple[MockServer, str, int]]:
    """A store of 400 customers and a watermark whose window holds some of them (the seed spreads
    their stamps over 2024-01-01 to mid 2026)."""
    since = "2025-09-01T00:00:00+00:00"
    with MockServer(["--seed-customers", "400", "--random-seed", "3"]) as mock:
        with threedcart.Store(**store_kwargs(mock)) as store:  # type: ignore[arg-type]
            expected = store.customers.count(updated_since=datetime.fromisoformat(since))
        assert 50 <= expected < 400
        yield mock, since, expected


def test_an_output_that_cannot_be_written_leaves_the_watermark_and_the_next_run_rereads(
    windowed: tuple[MockServer, str, int], tmp_path: Path
) -> None:
    mock, since, expected = windowed
    env = mock_env(mock)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"next_since": since}))
    before = state.read_bytes()
    failed = sync(env, state, preexec=_file_size_limit(4096))
    assert failed.returncode == 1 and "File too large" in failed.stderr, failed.stderr
    assert state.read_bytes() == before  # the watermark did not move
    assert outputs(tmp_path) == [] and no_temporary_files(tmp_path)
    again = sync(env, state)
    assert again.returncode == 0, again.stderr
    [written] = outputs(tmp_path)
    assert len(lines(written)) == expected  # the window the failed run could not write, re-read
    assert json.loads(state.read_text())["last_window"]["since"] == since


def _in_process_sync(env: dict[str, str], state: Path) -> Any:
    from threedcart._cli._app import app
    from typer.testing import CliRunner

    return CliRunner().invoke(app, ["customers", "sync", "--state", str(state)], env=env)


def _path_of(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name file descriptors")
@pytest.mark.parametrize("broken", ["none", "output", "folder"])
def test_the_watermark_moves_only_after_the_output_is_synced_and_named(
    windowed: tuple[MockServer, str, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    broken: str,
) -> None:
    mock, since, expected = windowed
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"next_since": since}))
    before = state.read_bytes()
    events: list[tuple[str, str]] = []
    real_fsync, real_link, real_replace = os.fsync, os.link, os.replace

    def fsync(fd: int) -> None:
        path = _path_of(fd)
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        if (broken == "output" and ".threedcart-sync." in path) or (broken == "folder" and kind == "dir"):
            raise OSError(errno.EIO, "Input/output error (injected)")
        events.append((f"fsync-{kind}", Path(path).name))
        real_fsync(fd)

    def link(src: Any, dst: Any, **kwargs: Any) -> None:
        real_link(src, dst, **kwargs)
        events.append(("link", Path(dst).name))

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        real_replace(src, dst, **kwargs)
        events.append(("replace", Path(dst).name))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(os, "replace", replace)
    result = _in_process_sync(mock_env(mock), state)
    monkeypatch.undo()
    if broken != "none":
        assert result.exit_code == 1 and "Input/output error (injected)" in result.output
        assert state.read_bytes() == before  # not on disk: the watermark stays
        again = _in_process_sync(mock_env(mock), state)
        assert again.exit_code == 0, again.output
    else:
        assert result.exit_code == 0, result.output
        output = outputs(tmp_path)[0].name
        # the output's data, then its name, then its folder; only then the state file
        assert events == [
            ("fsync-file", events[0][1]),
            ("link", output),
            ("fsync-dir", tmp_path.name),
            ("fsync-file", events[3][1]),
            ("replace", state.name),
            ("fsync-dir", tmp_path.name),
        ]
        assert events[0][1].startswith(".threedcart-sync.") and events[3][1].startswith(".state.json.")
    files = outputs(tmp_path)
    assert len(files) == 1 and len(lines(files[0])) == expected  # exactly one complete output
    assert json.loads(state.read_text())["last_output"] == str(files[0])


# --- clocks -----------------------------------------------------------------------------------
class DatedStore(ThreadingHTTPServer):
    """A store of `customers` customers whose answers carry `date()` as their `Date` (None: no Date)."""

    def __init__(self, customers: int = 5) -> None:
        super().__init__(("127.0.0.1", 0), _DatedHandler)
        self.customers = customers
        self.date: Callable[[], str | None] = lambda: format_datetime(datetime.now(UTC), usegmt=True)
        self.queries: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def env(self) -> dict[str, str]:
        return environment(self.url, "https://dated.example", "pk", "tok")


class _DatedHandler(BaseHTTPRequestHandler):
    server: DatedStore

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        date = self.server.date()
        if date is not None:
            self.send_header("Date", date)

    def do_GET(self) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        self.server.queries.append(query)
        total = self.server.customers
        body: Any
        if query.get("countonly") == "1":
            status, body = 200, {"TotalCount": total}
        else:
            offset, limit = int(query["offset"]), int(query["limit"])
            ids = range(offset, min(total, offset + limit - 1) + 1)
            status, body = (
                (200, [{"CustomerID": i, "Email": f"c{i}@example.com"} for i in ids])
                if ids
                else (
                    400,
                    [
                        {
                            "Key": "Error",
                            "Value": "",
                            "Status": "400",
                            "Message": "Offset amount exceeds the total",
                        }
                    ],
                )
            )
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def dated() -> Iterator[DatedStore]:
    server = DatedStore()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("date", "says"),
    [
        ("Thu, 01 Jan 2099 00:00:00 GMT", "is 26,"),
        ("Fri, 01 Jan 1999 00:00:00 GMT", "days behind this machine's"),
    ],
)
def test_a_store_date_far_from_this_machines_clock_refuses_the_run(
    dated: DatedStore, tmp_path: Path, date: str, says: str
) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"next_since": "2026-12-01T00:00:00+00:00"}))
    before = state.read_bytes()
    dated.date = lambda: date
    refused = sync(dated.env(), state)
    assert refused.returncode == 1
    assert "\nerror: sync refused: the store's clock (" in refused.stderr and says in refused.stderr
    assert (
        "max_clock_skew allows" in refused.stderr
        and "the watermark stays at 2026-12-01T00:00:00+00:00" in (refused.stderr)
    )
    assert "pass --max-clock-skew" in refused.stderr
    assert state.read_bytes() == before and outputs(tmp_path) == [] and no_temporary_files(tmp_path)
    assert [q for q in dated.queries if "limit" in q] == []  # nothing was read
    # the SDK says the same: nothing yielded, nothing to store
    with threedcart.Store(
        secure_url="https://dated.example", private_key="pk", token="tok", base_url=dated.url
    ) as s:
        run = s.customers.sync(datetime(2026, 12, 1, tzinfo=UTC))
        assert list(run) == [] and run.complete is False and run.next_since is None
        assert run.reason.startswith("the store's clock (") and run.clock_skew is not None
    # once the clock is right again, the run reads from the watermark it kept
    dated.date = lambda: format_datetime(datetime.now(UTC), usegmt=True)
    fine = sync(dated.env(), state)
    assert fine.returncode == 0, fine.stderr
    assert json.loads(state.read_text())["last_window"]["since"] == "2026-12-01T00:00:00+00:00"


def test_a_generous_tolerance_is_an_option(dated: DatedStore, tmp_path: Path) -> None:
    ahead = datetime.now(UTC) + timedelta(minutes=20)
    dated.date = lambda: format_datetime(ahead, usegmt=True)
    state = tmp_path / "state.json"
    assert sync(dated.env(), state).returncode == 1
    done = sync(dated.env(), state, "--max-clock-skew", "3600")
    assert done.returncode == 0, done.stderr
    saved = json.loads(state.read_text())
    # within the tolerance, the window closed on the earlier clock: this machine's, not 20 min ahead
    assert datetime.fromisoformat(saved["next_since"]) <= datetime.now(UTC)
    assert 1190 <= saved["clock_skew"] <= 1201


@pytest.mark.parametrize(
    ("date", "warning"),
    [
        ("Someday, 99 Foo 2026 25:61:00 GMT", "unreadable Date header ('Someday, 99 Foo 2026 25:61:00 GMT')"),
        ("Sun, 01 Mar 2026 12:00:00 -0000", "unreadable Date header ('Sun, 01 Mar 2026 12:00:00 -0000')"),
        (None, "had no Date header"),
    ],
)
def test_an_unreadable_or_missing_date_falls_back_to_this_machines_clock_and_says_which(
    dated: DatedStore, tmp_path: Path, date: str | None, warning: str
) -> None:
    dated.date = lambda: date
    state = tmp_path / "state.json"
    done = sync(dated.env(), state)
    assert done.returncode == 0, done.stderr
    assert warning in done.stderr and "closes on this machine's clock" in done.stderr
    saved = json.loads(state.read_text())
    assert abs(datetime.fromisoformat(saved["next_since"]) - datetime.now(UTC)) < timedelta(seconds=60)
    assert saved["clock_skew"] is None
    assert len(lines(outputs(tmp_path)[0])) == 5


def test_a_store_clock_that_stepped_back_since_the_last_run_is_reread(
    dated: DatedStore, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    state = tmp_path / "state.json"
    watermark = now - timedelta(minutes=2)
    state.write_text(json.dumps({"next_since": watermark.isoformat(), "clock_skew": 0.0}))
    dated.date = lambda: format_datetime(datetime.now(UTC) - timedelta(seconds=60), usegmt=True)
    done = sync(dated.env(), state)
    assert done.returncode == 0, done.stderr
    assert "the store's clock stepped back" in done.stderr
    since = datetime.fromisoformat(json.loads(state.read_text())["last_window"]["since"])
    assert watermark - timedelta(seconds=62) <= since <= watermark - timedelta(seconds=56)


def _jumping_store(db: Path, start: datetime | None) -> MockServer:
    """The same store (its database in `db`) with its clock set to `start` (None: set right).

    Set right, it starts 30 s behind this machine's and runs 5 times faster for a while: an
    update is then more than the lag behind the store's clock within half a second (no sleep).
    """
    args = ["--seed-customers", "40", "--random-seed", "8", "--db", str(db)]
    if start is None:
        return MockServer(
            [*args, "--clock-start", (datetime.now(UTC) - RIGHT).isoformat(), "--clock-speed", "5"]
        )
    return MockServer([*args, "--clock-start", start.isoformat()])


RIGHT = timedelta(seconds=30)


def _update(mock: MockServer, customer_id: int, comment: str) -> None:
    """Update one customer, then wait until the store's clock is past the sync lag after it (the
    store's Date header, read in a bounded loop), so that the next sync's window holds it."""
    from email.utils import parsedate_to_datetime

    from threedcart._sync import DEFAULT_LAG

    with threedcart.Store(**store_kwargs(mock)) as store:  # type: ignore[arg-type]
        store.customers.update(customer_id, {"Comments": comment})
    with httpx.Client(base_url=mock.url, headers=mock.headers) as client:

        def store_now() -> datetime:
            return parsedate_to_datetime(client.get(f"{API}/Customers?countonly=1").headers["Date"])

        updated = store_now()
        for _ in range(100):
            if store_now() > updated + timedelta(seconds=DEFAULT_LAG + 1):
                return
            time.sleep(0.05)
    raise AssertionError("the store's clock did not move past the lag")


@pytest.mark.slow
def test_a_store_clock_that_jumps_forward_then_back_fails_the_run_and_skips_nothing(tmp_path: Path) -> None:
    db, state = tmp_path / "store.sqlite", tmp_path / "state.json"
    with _jumping_store(db, None) as mock:
        first = sync(mock_env(mock), state)
    assert first.returncode == 0, first.stderr
    watermark = json.loads(state.read_text())["next_since"]
    three_hours = timedelta(hours=3)
    with _jumping_store(db, datetime.now(UTC) + three_hours) as mock:  # the store's clock jumps 3 h forward
        _update(mock, 1, "while 3 h fast")
        fast = sync(mock_env(mock), state)
    assert fast.returncode == 1 and "is 3.0 h ahead of this machine's" in fast.stderr, fast.stderr
    assert json.loads(state.read_text())["next_since"] == watermark  # not a watermark 3 h ahead
    with _jumping_store(db, None) as mock:  # and back
        _update(mock, 2, "after the correction")
        back = sync(mock_env(mock), state)
    assert back.returncode == 0, back.stderr
    rows = {r["CustomerID"]: r["Comments"] for r in lines(Path(json.loads(state.read_text())["last_output"]))}
    assert rows.get(2) == "after the correction"  # not skipped
    assert datetime.fromisoformat(json.loads(state.read_text())["next_since"]) <= datetime.now(UTC)
    # customer 1 carries a stamp 3 h ahead: it comes when the store's clock reaches it, not never
    later = datetime.now(UTC) + three_hours + timedelta(minutes=1)
    with _jumping_store(db, later) as mock:
        due = sync(mock_env(mock), state, "--max-clock-skew", "inf")
    assert due.returncode == 0, due.stderr
    rows = {r["CustomerID"]: r["Comments"] for r in lines(Path(json.loads(state.read_text())["last_output"]))}
    assert rows.get(1) == "while 3 h fast"


def test_a_watermark_ahead_of_the_store_clock_is_reread_not_nothing_to_sync(tmp_path: Path) -> None:
    # A watermark left by a run that trusted a store clock 3 h fast (or by an older version):
    # once the clock is set right, updates carry times before it. Before, every run printed
    # "nothing to sync yet" and exited 0 for 3 h, and those updates were never delivered.
    db, state = tmp_path / "store.sqlite", tmp_path / "state.json"
    with _jumping_store(db, datetime.now(UTC) + timedelta(hours=3)) as mock:
        trusted = sync(mock_env(mock), state, "--max-clock-skew", "inf")
    assert trusted.returncode == 0, trusted.stderr
    ahead = json.loads(state.read_text())["next_since"]
    assert datetime.fromisoformat(ahead) > datetime.now(UTC) + timedelta(hours=2)
    with _jumping_store(db, None) as mock:
        _update(mock, 5, "after the correction")
        back = sync(mock_env(mock), state)
        assert back.returncode == 0, back.stderr
        assert (
            "is 3.0 h behind the watermark" in back.stderr and "re-reading from the beginning" in back.stderr
        )
        assert "nothing to sync yet" not in back.stdout
        saved = json.loads(state.read_text())
        rows = {r["CustomerID"]: r["Comments"] for r in lines(Path(saved["last_output"]))}
        assert rows.get(5) == "after the correction" and len(rows) == 40
        assert datetime.fromisoformat(saved["next_since"]) <= datetime.now(UTC)  # moved back
        nxt = sync(mock_env(mock), state, "--lag", "1")  # and the next run goes on from there
    assert nxt.returncode == 0, nxt.stderr
    assert "behind the watermark" not in nxt.stderr


# --- the store's time zone -----------------------------------------------------------------------
def test_the_store_time_zone_comes_from_the_environment_or_an_argument(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from zoneinfo import ZoneInfo

    credentials: dict[str, Any] = {"secure_url": "https://s.example", "private_key": "pk", "token": "tok"}
    monkeypatch.setenv("THREEDCART_STORE_TIMEZONE", "America/Chicago")
    with threedcart.Store.from_env(**credentials) as store:
        assert store.store_tz == ZoneInfo("America/Chicago")
    with threedcart.Store.from_env(**credentials, store_timezone="Asia/Tokyo") as store:
        assert store.store_tz == ZoneInfo("Asia/Tokyo")  # an argument beats the environment
    monkeypatch.setenv("THREEDCART_STORE_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(ValueError) as info:
        threedcart.Store.from_env(**credentials)
    assert str(info.value) == (
        "THREEDCART_STORE_TIMEZONE: 'Mars/Olympus_Mons' is not a time zone this machine knows "
        "(an IANA name, e.g. America/New_York)"
    )
    monkeypatch.delenv("THREEDCART_STORE_TIMEZONE")
    with threedcart.Store.from_env(**credentials) as store:
        assert store.store_tz == ZoneInfo("America/New_York")
    for bad in ("Nope/Zone", "../etc/passwd", ""):
        with pytest.raises(ValueError, match=r"^store_timezone: .* is not a time zone"):
            threedcart.Store(**credentials, store_timezone=bad)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_cli_sync_asks_in_the_store_time_zone(dated: DatedStore, tmp_path: Path, how: str) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"next_since": "2026-12-01T00:00:00+00:00"}))
    env, args = dated.env(), ["customers", "sync", "--state", str(state)]
    if how == "option":
        args = ["--store-timezone", "Asia/Tokyo", *args]
    else:
        env["THREEDCART_STORE_TIMEZONE"] = "Asia/Tokyo"
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    window = [q for q in dated.queries if "limit" in q]
    assert window and window[0]["lastupdatestart"] == "12/01/2026 09:00:00"  # 00:00 UTC in Tokyo
    if how == "option":
        args[1] = "Mars/Olympus_Mons"
    else:
        env["THREEDCART_STORE_TIMEZONE"] = "Mars/Olympus_Mons"
    wrong = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 1
    named = "--store-timezone" if how == "option" else "THREEDCART_STORE_TIMEZONE"
    assert wrong.stderr == (
        f"error: {named}: 'Mars/Olympus_Mons' is not a time zone this machine knows "
        "(an IANA name, e.g. America/New_York)\n"
    )

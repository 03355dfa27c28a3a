"""The `threedcart` command line in this process, pinned exactly: for mutation testing (mutmut runs these
tests once per mutant of `_cli/_app.py` and `_cli/_output.py`, in its own process).

Every command and option runs through `typer.testing.CliRunner` against real mock stores on loopback
ports, and what it prints is compared whole: full lines of stdout and stderr, parsed JSON and CSV equal
to what the store holds (read through the SDK), exact exit codes (0, 1 for an API or input error, 2 for
a usage error). The helpers of both modules (terminal cleaning, JSON and CSV cells, column fitting,
secrets, files, watermarks, stop lines) are called directly with boundary values. No credential ever
appears in what a command prints: `cli()` checks that for every run.

Two things make the output exact in-process:

- Rich's consoles (`_app.out`, `_app.err`) are made when `_app` is imported. They look up `sys.stdout`
  and `sys.stderr` on every write (so CliRunner's capture works), but a width taken from `COLUMNS` at
  import time would stick: the `steady_output` fixture clears it, so that the `COLUMNS` each run passes
  decides, and gives the progress bars a clock that stands still (elapsed time always `0:00:00`).
- The duration in the export and sync summaries comes from `_app.time.perf_counter`: tests that pin
  a summary give `_app` a clock of their own (`FakeTime`).
"""

from __future__ import annotations

import copy
import csv
import errno
import io
import json
import logging
import os
import re
import signal
import sys
import types
import typing
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import threedcart
import typer
from conftest import SPEC, http, store_kwargs
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from threedcart import _secrets, _sync
from threedcart._bulk import BulkFailure, BulkResult, attach_partial
from threedcart._cli import _app, _output
from threedcart._cli._app import app
from threedcart._customers import Customers
from threedcart._rows import FIELDS, STRING_FIELDS, RowFailure, neutralise
from threedcart._sync import SyncWindow
from threedcart.errors import ThreeDCartError
from threedcart_customers_client.models import Customer
from threedcart_customers_client.spec import LIST_FILTERS
from threedcart_mock.testing import MockServer
from typer.testing import CliRunner, Result

RUNNER = CliRunner()
FIELD_NAMES = list(FIELDS)
NY = ZoneInfo("America/New_York")
BAR = "━" * 40  # a finished progress bar (rich's BarColumn, 40 cells)
TITLES = {
    "CustomerID": "CustomerID",
    "Email": "Email",
    "BillingFirstName": "First name",
    "BillingLastName": "Last name",
    "BillingCity": "City",
    "BillingState": "State",
    "BillingCountry": "Country",
    "CustomerGroupID": "Group",
}
NOTE_TAIL = "(--columns chooses; --format csv or jsonl shows every field)"
HOSTILE = {
    1: {
        "BillingLastName": "\x1b[31mRed\x1b[0m",
        "BillingCity": "\x1b]8;;https://evil.example/\x1b\\Click\x1b]8;;\x1b\\",
    },
    2: {"BillingLastName": '=HYPERLINK("http://x")', "Comments": "@cmd", "BillingPhoneNumber": "+1 555 0100"},
    3: {"BillingFirstName": "Zoë\u2028Line", "BillingCity": "Tab\tCity", "Comments": "bell\x07\x85"},
}


# --- expected output, written independently of the code under test ------------------------------
def as_json(data: Any, indent: int | None = None) -> str:
    """JSON as the CLI must print it: UTF-8 as is, C1 controls and line separators escaped."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    return re.sub("[\x7f-\x9f\u2028\u2029]", lambda m: f"\\u{ord(m.group()):04x}", text)


def as_cell(name: str, value: Any, raw: bool) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and not raw and name in STRING_FIELDS:
        return neutralise(value)
    return value


def as_csv(rows: Iterable[dict[str, Any]], names: list[str], *, raw: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    writer.writerows([as_cell(n, row[n], raw) for n in names] for row in rows)
    return buffer.getvalue()


def as_jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(as_json(row) + "\n" for row in rows)


def only(rows: Iterable[dict[str, Any]], names: Iterable[str]) -> list[dict[str, Any]]:
    return [{n: row[n] for n in names} for row in rows]


def progress(label: str, done: int, total: int | None) -> str:
    """The line a finished progress bar leaves on stderr (not a terminal: drawn once, at the end)."""
    return f"{label} {BAR} {done}/{'?' if total is None else total} 0:00:00\n"


def usage_error(command: str, message: str, usage: str = "[OPTIONS]") -> str:
    where = f"threedcart {command}".rstrip()
    return f"Usage: {where} {usage}\nTry '{where} --help' for help.\n\nError: {message}\n"


# --- running the CLI ---------------------------------------------------------------------------------
def environment(server: MockServer | None, columns: int) -> dict[str, str | None]:
    """The environment of one run: the store's credentials, and nothing else of threedcart's or
    of what makes Rich draw colours."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("THREEDCART_")}
    env.update({"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "NO_COLOR": None, "LINES": None})
    env["COLUMNS"] = str(columns)
    if server is not None:
        env.update(
            THREEDCART_SECURE_URL=server.headers["SecureURL"],
            THREEDCART_PRIVATE_KEY=server.headers["PrivateKey"],
            THREEDCART_TOKEN=server.headers["Token"],
            THREEDCART_BASE_URL=server.url,
        )
    return env


def cli(
    server: MockServer | None,
    *args: str,
    input: str | bytes | None = None,
    columns: int = 200,
    secrets: Iterable[str] = (),
    **env: str | None,
) -> Result:
    """`threedcart ARGS` in this process; checks that no credential shows in what it printed."""
    environ = environment(server, columns)
    environ.update(env)
    with loggers_restored():  # `-v` binds a log handler to this run's stderr
        result = RUNNER.invoke(app, list(args), env=environ, input=input)
    hidden = [*secrets, *([] if server is None else [server.headers["PrivateKey"], server.headers["Token"]])]
    for secret in hidden:
        assert secret not in result.stdout and secret not in result.stderr, (secret, args)
    return result


@contextmanager
def loggers_restored() -> Iterator[None]:
    """The loggers `-v` sets up (`threedcart`, `httpx`) as they were, afterwards."""
    loggers = [logging.getLogger(name) for name in ("threedcart", "httpx")]
    saved = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    try:
        yield
    finally:
        for lg, (handlers, level, propagate) in zip(loggers, saved, strict=True):
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate = propagate


def outcome(result: Result) -> tuple[int, str, str]:
    return result.exit_code, result.stdout, result.stderr


class FakeTime:
    """`_app.time` with a `perf_counter` that returns the given readings in turn."""

    def __init__(self, *readings: float) -> None:
        self._readings = list(readings)

    def perf_counter(self) -> float:
        return self._readings.pop(0)


class FrozenDatetime(datetime):
    """`_app.datetime` whose `now()` is 2026-07-01 16:00 UTC (noon in New York)."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        moment = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
        # without a zone, naive (as datetime.now() is): a call that forgets UTC shows
        return moment.replace(tzinfo=None) if tz is None else moment.astimezone(tz)


def customer(**fields: Any) -> Customer:
    return Customer.from_dict(fields)


@dataclass
class Shop:
    server: MockServer
    customers: list[dict[str, Any]]
    """Every customer as the SDK reads it, by CustomerID."""

    def by_id(self, customer_id: int) -> dict[str, Any]:
        return next(c for c in self.customers if c["CustomerID"] == customer_id)


def read_all(server: MockServer) -> list[dict[str, Any]]:
    with threedcart.Store(**store_kwargs(server)) as store:  # type: ignore[arg-type]
        return [c.to_dict() for c in store.customers.iter()]


def get(server: MockServer, customer_id: int) -> dict[str, Any]:
    with threedcart.Store(**store_kwargs(server)) as store:  # type: ignore[arg-type]
        return store.customers.get(customer_id).to_dict()


# --- fixtures ------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def steady_output(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each run's `COLUMNS` decides the consoles' width, progress bars show `0:00:00`, and `-v`'s
    log handlers (bound to the run's stderr) are taken off again."""
    for console in (_app.out, _app.err):
        monkeypatch.setattr(console, "_width", None)
        monkeypatch.setattr(console, "_height", None)
    monkeypatch.setattr(_app.err, "get_time", lambda: 0.0)
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):  # for what the tests print outside CliRunner
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    with loggers_restored():
        yield


@pytest.fixture
def no_store_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """None of threedcart's variables in the environment."""
    for name in [k for k in os.environ if k.startswith("THREEDCART_")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    """A read-only store of 40 customers, three of them with hostile text (escapes, formulas, C1)."""
    with MockServer(["--seed-customers", "40", "--random-seed", "3"]) as server:
        with threedcart.Store(**store_kwargs(server)) as store:  # type: ignore[arg-type]
            store.customers.update_many([{"CustomerID": cid, **values} for cid, values in HOSTILE.items()])
        yield Shop(server, read_all(server))


@pytest.fixture
def fresh() -> Iterator[MockServer]:
    """A store of 5 customers for one test that writes."""
    with MockServer(["--seed-customers", "5", "--random-seed", "11"]) as server:
        yield server


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """A read-only store whose clock stands at 2030-01-01T00:00:00Z: sync windows end at a known
    instant. Its 6 customers (one with formulas) were written by an earlier run on the same
    database, with today's clock, so that all of them lie in the first window."""
    db = tmp_path_factory.mktemp("frozen") / "store.sqlite"
    with MockServer(["--db", str(db), "--seed-customers", "6", "--random-seed", "5"]) as first:
        with threedcart.Store(**store_kwargs(first)) as store:  # type: ignore[arg-type]
            store.customers.update(2, {"BillingLastName": "=2+3", "Comments": "@note"})
    with MockServer(
        ["--db", str(db), "--clock-start", "2030-01-01T00:00:00Z", "--clock-speed", "0"]
    ) as server:
        yield Shop(server, read_all(server))


@pytest.fixture
def machine_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Set this machine's clock as sync sees it (the store's clock is the `frozen` one)."""

    def set_clock(moment: datetime) -> None:
        monkeypatch.setattr(_sync, "_utc_now", lambda: moment)

    set_clock(datetime(2030, 1, 1, tzinfo=UTC))
    return set_clock


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """The keyword arguments each command gives the SDK's `iter`, `sync` and `update_many`."""
    seen: list[tuple[str, dict[str, Any]]] = []
    for name in ("iter", "sync", "update_many"):
        original = getattr(Customers, name)

        def spy(
            self: Customers, *args: Any, _name: str = name, _original: Any = original, **kwargs: Any
        ) -> Any:
            seen.append((_name, kwargs))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Customers, name, spy)
    return seen


# =======================================================================================================
# _output.py
# =======================================================================================================
@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, é 中文", "plain text, é 中文"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b[1 qcursor", "cursor"),  # CSI with an intermediate byte
        ("\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\", "click"),  # OSC 8 hyperlink
        ("\x1b]0;title\x07after", "after"),  # OSC ended by BEL
        ("\x1b]0;title\x9cafter", "after"),  # OSC ended by ST (8-bit)
        ("kept\x1b]8;;http://x never ends", "kept"),
        ("\x1bPq#0;2\x1b\\dcs", "dcs"),
        ("\x1bXsos\x9cx", "x"),
        ("\x1b^pm\x1b\\y", "y"),
        ("\x1b_apc\x1b\\z", "z"),
        ("\x9b2Jcsi", "csi"),
        ("\x9d0;title\x07osc", "osc"),
        ("\x1b(Bcharset", "charset"),
        ("\x1bcreset", "reset"),
        ("end\x1b", "end"),
        ("a\tb\nc\rd", "a b c d"),
        ("no\u00a0break\u3000wide\u2028line\u2029para", "no break wide line para"),
        ("\u202egnp.exe", "gnp.exe"),
        ("ding\x07\x00\x85\x7f", "ding"),
        ("zero\u200bwidth", "zerowidth"),
    ],
)
def test_clean_removes_escapes_and_controls_and_turns_breaks_into_spaces(text: str, shown: str) -> None:
    assert _output.clean(text) == shown


def test_json_line_escapes_what_a_terminal_would_run_and_keeps_the_rest() -> None:
    assert _output.json_line({"a": [1, "é", None]}) == '{"a": [1, "é", null]}'
    assert _output.json_line("abc") == '"abc"'
    assert _output.json_line({"a": 1, "b": [2]}, indent=2) == '{\n  "a": 1,\n  "b": [\n    2\n  ]\n}'
    assert _output.json_line("\x7f\x85\x9f\xa0\u2028\u2029\x1b") == (
        '"\\u007f\\u0085\\u009f\xa0\\u2028\\u2029\\u001b"'
    )
    assert _output.json_line(["\x9b"], indent=1) == '[\n "\\u009b"\n]'
    assert _output.json_line("a\x7fb~") == '"a\\u007fb~"'  # DEL is ASCII, and a control character


def test_csv_row_types_cells_and_neutralises_formulas_unless_raw() -> None:
    row = {
        "CustomerID": 5,
        "Enabled": True,
        "MailList": False,
        "BillingLastName": "=SUM(A1)",
        "Comments": "'@x",
        "BillingCity": "Tampa",
        "BillingPhoneNumber": "+1 555",
        "Email": "-x@example.com",
        "Password": "\tpw",
        "Tags": ["a", "é"],
        "Meta": {"k": "ü"},
        "TotalStoreCredit": 1.5,
        "BillingTaxID": None,
        "NotAField": "=1+1",
    }
    assert _output.csv_row(row, raw=False) == {
        "CustomerID": 5,
        "Enabled": "true",
        "MailList": "false",
        "BillingLastName": "'=SUM(A1)",
        "Comments": "''@x",
        "BillingCity": "Tampa",
        "BillingPhoneNumber": "'+1 555",
        "Email": "'-x@example.com",
        "Password": "'\tpw",
        "Tags": '["a", "é"]',
        "Meta": '{"k": "ü"}',
        "TotalStoreCredit": 1.5,
        "BillingTaxID": None,
        "NotAField": "=1+1",
    }
    raw = _output.csv_row(row, raw=True)
    assert raw == {**row, "Enabled": "true", "MailList": "false", "Tags": '["a", "é"]', "Meta": '{"k": "ü"}'}
    assert list(raw) == list(row)


def test_say_error_is_one_clean_line_without_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    _secrets.register(["say-error-secret-77"])
    _output.say_error("no \x1b[1mbold\x1b[0m\nhere: say-error-secret-77")
    assert capsys.readouterr() == ("", "error: no bold here: [redacted]\n")


def test_log_verbosely_logs_the_sdk_and_httpx_cleanly_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    sdk, web = logging.getLogger("threedcart"), logging.getLogger("httpx")
    before = len(sdk.handlers), len(web.handlers)
    _output.log_verbosely()
    assert (sdk.level, web.level, sdk.propagate, web.propagate) == (logging.DEBUG, logging.INFO, False, False)
    assert (len(sdk.handlers), len(web.handlers)) == (before[0] + 1, before[1] + 1)
    assert sdk.handlers[-1] is web.handlers[-1]
    _secrets.register(["log-secret-5150"])
    logging.getLogger("threedcart.sub").debug("a \x1b[2Jb log-secret-5150 %s\nnext", 7)
    web.info("request %s", "GET")
    web.debug("not shown")
    assert capsys.readouterr() == (
        "",
        "DEBUG threedcart.sub: a b [redacted] 7 next\nINFO httpx: request GET\n",
    )


def test_remove_temporary_removes_what_is_left_and_forgets_it(tmp_path: Path) -> None:
    left, gone = tmp_path / "left", tmp_path / "gone"
    left.write_text("x")
    _output._TEMPORARY.update({left, gone})
    _output._remove_temporary()
    assert not left.exists() and not ({left, gone} & _output._TEMPORARY)


def test_a_signal_unwinds_as_an_exit_with_128_plus_its_number(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit) as info:
        _output._terminate(signal.SIGTERM, None)
    assert info.value.code == 143
    installed: list[tuple[int, Any]] = []
    at_exit: list[Any] = []
    monkeypatch.setattr(_output.signal, "signal", lambda signum, handler: installed.append((signum, handler)))
    monkeypatch.setattr(_output.atexit, "register", at_exit.append)
    _output.install_signal_handlers()
    assert installed == [(signal.SIGTERM, _output._terminate), (signal.SIGINT, _output._terminate)]
    assert at_exit == [_output._remove_temporary]


def test_mode_for_is_the_files_or_the_umasks_and_leaves_the_umask(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.write_text("x")
    existing.chmod(0o604)
    old = os.umask(0o027)
    try:
        assert _output._mode_for(existing) == 0o604
        assert _output._mode_for(tmp_path / "absent") == 0o640
        assert os.umask(0o002) == 0o027  # left as it was
        assert _output._mode_for(tmp_path / "absent") == 0o664
        assert os.umask(0o002) == 0o002
    finally:
        os.umask(old)


def test_closed_stdout_sends_further_output_nowhere_and_exits_like_sigpipe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "stdout"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT)
    try:
        monkeypatch.setattr(sys, "stdout", types.SimpleNamespace(fileno=lambda: fd))
        open_before = len(os.listdir("/proc/self/fd"))
        with pytest.raises(SystemExit) as info:
            _output.closed_stdout()
        assert len(os.listdir("/proc/self/fd")) == open_before  # /dev/null is not left open
        os.write(fd, b"after")
    finally:
        os.close(fd)
    assert info.value.code == _output.PIPE_CLOSED == 128 + signal.SIGPIPE == 141
    assert target.read_bytes() == b""
    # standard output without a usable file descriptor: just the exit
    closed = open(tmp_path / "closed", "w")  # noqa: SIM115
    closed.close()
    for stdout in (
        io.StringIO(),  # no descriptor at all (as under CliRunner)
        closed,  # ValueError: I/O operation on closed file
        types.SimpleNamespace(fileno=lambda: 1_000_000),  # OSError: bad file descriptor
    ):
        monkeypatch.setattr(sys, "stdout", stdout)
        with pytest.raises(SystemExit) as info:
            _output.closed_stdout()
        assert info.value.code == 141


def test_sync_folder_opens_the_folder_fsyncs_and_closes_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    opened: list[tuple[int, int]] = []
    real_open = os.open

    def spy(path: Any, flags: int, *args: Any) -> int:
        fd = real_open(path, flags, *args)
        opened.append((fd, flags))
        return fd

    synced: list[int] = []
    monkeypatch.setattr(_output.os, "open", spy)
    monkeypatch.setattr(_output.os, "fsync", synced.append)
    _output.sync_folder(tmp_path)
    [(fd, flags)] = opened
    assert flags == os.O_RDONLY | os.O_DIRECTORY and synced == [fd]
    with pytest.raises(OSError):
        os.fstat(fd)  # closed again
    assert _output.sync_folder(tmp_path / "absent") is None


@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENOTSUP, errno.EBADF])
def test_sync_folder_accepts_a_file_system_that_cannot_sync_a_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, code: int
) -> None:
    def refuse(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(_output.os, "fsync", refuse)
    _output.sync_folder(tmp_path)


def test_sync_folder_reports_any_other_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def fail(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(_output.os, "fsync", fail)
    with pytest.raises(OSError) as info:
        _output.sync_folder(tmp_path)
    assert info.value.errno == errno.EIO


@pytest.mark.parametrize(
    ("name", "n", "numbered"),
    [
        ("a.jsonl", 1, "a.jsonl"),
        ("a.jsonl", 2, "a-2.jsonl"),
        ("a.jsonl", 0, "a-0.jsonl"),
        ("a.tar.gz", 3, "a.tar-3.gz"),
        ("state", 2, "state-2"),
        ("a.jsonl.incomplete", 3, "a-3.jsonl.incomplete"),
        ("x.incomplete", 2, "x-2.incomplete"),
        (".incomplete", 2, ".incomplete-2"),
    ],
)
def test_numbered_names(name: str, n: int, numbered: str) -> None:
    folder = Path("/some/folder")
    assert _output.numbered(folder / name, n) == folder / numbered


def test_publish_new_never_replaces_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    for n, expected in enumerate(["out.jsonl", "out-2.jsonl", "out-3.jsonl"]):
        tmp = tmp_path / f"tmp{n}"
        tmp.write_text(str(n))
        assert _output.publish_new(tmp, target) == tmp_path / expected
        assert not tmp.exists() and (tmp_path / expected).read_bytes().decode() == str(n)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out-2.jsonl", "out-3.jsonl", "out.jsonl"]


def test_publish_new_without_hard_links_reserves_the_name_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_links(src: Any, dst: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(_output.os, "link", no_links)
    (tmp_path / "out.jsonl").write_text("old")
    tmp = tmp_path / "tmp"
    tmp.write_text("new")
    assert _output.publish_new(tmp, tmp_path / "out.jsonl") == tmp_path / "out-2.jsonl"
    assert not tmp.exists()
    assert [(tmp_path / n).read_bytes().decode() for n in ("out.jsonl", "out-2.jsonl")] == ["old", "new"]


def test_publish_new_gives_up_after_max_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_output, "_MAX_NAMES", 3)
    (tmp_path / "out.jsonl").write_text("taken")
    (tmp_path / "out-2.jsonl").write_text("taken")
    last = tmp_path / "last"
    last.write_text("third")
    assert _output.publish_new(last, tmp_path / "out.jsonl") == tmp_path / "out-3.jsonl"  # the last one tried
    for name in ("out.jsonl", "out-2.jsonl", "out-3.jsonl"):
        (tmp_path / name).write_text("taken")
    tmp = tmp_path / "tmp"
    tmp.write_text("new")
    with pytest.raises(FileExistsError) as info:
        _output.publish_new(tmp, tmp_path / "out.jsonl")
    assert str(info.value) == f"{tmp_path / 'out.jsonl'} and 2 numbered names beside it exist"
    assert not (tmp_path / "out-4.jsonl").exists() and tmp.read_bytes().decode() == "new"


def test_sink_keeps_a_name_or_nothing() -> None:
    stream = io.StringIO()
    sink = _output.Sink(stream, Path("tmp"))
    assert (sink.stream, sink.tmp, sink.path, sink.new) == (stream, Path("tmp"), None, False)
    sink.keep(Path("a"))
    assert (sink.path, sink.new) == (Path("a"), False)
    sink.keep(Path("b"), new=True)
    assert (sink.path, sink.new) == (Path("b"), True)
    sink.discard()
    assert sink.path is None


def test_atomic_and_deferred_output_leave_a_whole_file_or_none(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    with pytest.raises(RuntimeError), _output.atomic_output(target) as stream:
        stream.write("half")
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
    with _output.atomic_output(target) as stream:
        stream.write("whole")
    with _output.deferred_output(tmp_path) as sink:
        sink.stream.write("dropped")
    with _output.deferred_output(tmp_path) as sink:
        sink.stream.write("second")
        sink.keep(target, new=True)
    assert sink.path == tmp_path / "a-2.txt"
    assert sorted((p.name, p.read_bytes().decode()) for p in tmp_path.iterdir()) == [
        ("a-2.txt", "second"),
        ("a.txt", "whole"),
    ]


# =======================================================================================================
# _app.py: helpers
# =======================================================================================================
def test_print_writes_one_line_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    _app._print("one")
    assert capsys.readouterr() == ("one\n", "")


def test_version_names_the_sdk_and_the_api_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert _app._print_version(False) is None
    assert capsys.readouterr() == ("", "")
    with pytest.raises(typer.Exit) as info:
        _app._print_version(True)
    assert info.value.exit_code == 0
    line = f"threedcart {threedcart.__version__} (API contract {threedcart.API_VERSION})\n"
    assert capsys.readouterr() == (line, "")
    assert outcome(cli(None, "--version", "customers", "count")) == (0, line, "")


def test_secrets_on_the_command_line_are_warned_of_never_shown(capsys: pytest.CaptureFixture[str]) -> None:
    _app._warn_of_visible_secrets(None, None)
    assert capsys.readouterr() == ("", "")
    _app._warn_of_visible_secrets("visible-key-3141", "visible-token-2718")
    assert capsys.readouterr() == (
        "",
        "warning: --private-key on the command line can be read by every user of this machine (ps, /proc); "
        "use THREEDCART_PRIVATE_KEY or --private-key-file\n"
        "warning: --token on the command line can be read by every user of this machine (ps, /proc); "
        "use THREEDCART_TOKEN or --token-file\n",
    )
    assert _secrets.scrub("visible-key-3141 visible-token-2718") == "[redacted] [redacted]"
    _app._warn_of_visible_secrets(None, "visible-token-2718")
    assert capsys.readouterr().err.startswith("warning: --token on")


def test_read_secret_reads_the_first_line_of_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "key"
    path.write_text("  file-secret-4242  \nsecond line\n")
    opened: list[tuple[str, str | None]] = []

    def spy(file: str, encoding: str | None = None) -> Any:  # UTF-8 whatever the locale says
        opened.append((file, encoding))
        return open(file, encoding=encoding)

    monkeypatch.setattr(_app, "open", spy, raising=False)
    assert _app._read_secret("--private-key-file", str(path)) == "file-secret-4242"
    assert opened == [(str(path), "utf-8")]
    assert _secrets.scrub("file-secret-4242") == "[redacted]"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "--token-file: cannot read {path} (No such file or directory)"),
        (b"\xff\xfe\x00bad\n", "--token-file: cannot read {path} (UnicodeDecodeError)"),
        (b"\n", "--token-file: {path} holds no credential (an empty first line)"),
        (b"   \nsecond\n", "--token-file: {path} holds no credential (an empty first line)"),
        (
            b"ab\x01cdef\n",
            "--token-file {path} contains a control character at position 2: headers carry printable "
            "ASCII only",
        ),
    ],
)
def test_read_secret_names_what_is_wrong_with_the_file(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(_app.CLIError) as info:
        _app._read_secret("--token-file", str(path))
    assert str(info.value) == message.format(path=path)


def test_read_secret_of_a_folder(tmp_path: Path) -> None:
    with pytest.raises(_app.CLIError) as info:
        _app._read_secret("--token-file", str(tmp_path))
    assert str(info.value) == f"--token-file: cannot read {tmp_path} (Is a directory)"


def test_read_secret_from_standard_input_reads_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.StringIO(" stdin-secret-9 \nthe rest\n")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert _app._read_secret("--token-file", "-") == "stdin-secret-9"
    assert stdin.read() == "the rest\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    with pytest.raises(_app.CLIError) as info:
        _app._read_secret("--private-key-file", "-")
    assert str(info.value) == "--private-key-file: standard input holds no credential (an empty first line)"


def test_read_secret_from_a_terminal_asks_without_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "typed-secret-1\n"

    monkeypatch.setattr(sys, "stdin", Terminal("never read\n"))
    monkeypatch.setattr(_app.getpass, "getpass", getpass)
    assert _app._read_secret("--private-key-file", "-") == "typed-secret-1"
    assert _app._read_secret("--token-file", "-") == "typed-secret-1"
    assert prompts == ["private-key: ", "token: "]


def settings(**values: Any) -> _app._Ctx:
    s = _app._Ctx()
    for key, value in values.items():
        setattr(s, key, value)
    return s


def test_credentials_from_files_fill_the_options_once(tmp_path: Path) -> None:
    key, token = tmp_path / "key", tmp_path / "token"
    key.write_text("key-from-file-1\n")
    token.write_text("token-from-file-1\n")
    s = settings(private_key_file=str(key), token_file=str(token))
    _app._credentials_from_files(s)
    assert (s.private_key, s.token, s.private_key_file, s.token_file) == (
        "key-from-file-1",
        "token-from-file-1",
        None,
        None,
    )
    key.unlink()
    _app._credentials_from_files(s)  # read once: the file is not needed again
    assert s.private_key == "key-from-file-1"
    only_token = settings(private_key="given-key-1", token_file=str(token))
    _app._credentials_from_files(only_token)
    assert (only_token.private_key, only_token.token) == ("given-key-1", "token-from-file-1")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"private_key_file": "-", "token_file": "-"},
            "only one of --private-key-file and --token-file can read standard input (-)",
        ),
        (
            {"private_key": "k-1234", "private_key_file": "x"},
            "give --private-key or --private-key-file, not both",
        ),
        ({"token": "t-1234", "token_file": "x"}, "give --token or --token-file, not both"),
    ],
)
def test_credentials_from_files_refuse_two_sources(values: dict[str, str], message: str) -> None:
    with pytest.raises(_app.CLIError) as info:
        _app._credentials_from_files(settings(**values))
    assert str(info.value) == message


class FakeContext:
    def __init__(self, obj: _app._Ctx) -> None:
        self.obj = obj

    def find_root(self) -> FakeContext:
        return self


def test_store_takes_the_options_over_the_environment(
    no_store_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREEDCART_SECURE_URL", "https://env.example.com")
    monkeypatch.setenv("THREEDCART_PRIVATE_KEY", "env-key-0001")
    monkeypatch.setenv("THREEDCART_TOKEN", "env-token-0001")
    monkeypatch.delenv("THREEDCART_BASE_URL", raising=False)
    monkeypatch.delenv("THREEDCART_STORE_TIMEZONE", raising=False)
    ctx: Any = FakeContext(settings(max_retries=5))
    with _app._store(ctx) as store:
        assert (store.secure_url, store._credentials.private_key, store._credentials.token) == (
            "https://env.example.com",
            "env-key-0001",
            "env-token-0001",
        )
        assert (store.base_url, store.max_retries, store.store_tz) == ("https://apirest.3dcart.com", 5, NY)
    given = settings(
        secure_url="https://opt.example.com",
        private_key="opt-key-0001",
        token="opt-token-0001",
        base_url="http://127.0.0.1:9",
        store_timezone="America/Chicago",
    )
    with _app._store(FakeContext(given), max_retries=0) as store:  # type: ignore[arg-type]
        assert (store.secure_url, store._credentials.private_key, store._credentials.token) == (
            "https://opt.example.com",
            "opt-key-0001",
            "opt-token-0001",
        )
        assert (store.base_url, store.max_retries, store.store_tz) == (
            "http://127.0.0.1:9",
            0,
            ZoneInfo("America/Chicago"),
        )


@pytest.mark.parametrize(
    ("unset", "message"),
    [
        ("THREEDCART_SECURE_URL", "THREEDCART_SECURE_URL is not set (or pass --secure-url)"),
        (
            "THREEDCART_PRIVATE_KEY",
            "THREEDCART_PRIVATE_KEY is not set (or pass --private-key or --private-key-file)",
        ),
        ("THREEDCART_TOKEN", "THREEDCART_TOKEN is not set (or pass --token or --token-file)"),
    ],
)
def test_store_names_the_missing_credential(
    no_store_env: None, monkeypatch: pytest.MonkeyPatch, unset: str, message: str
) -> None:
    for name, value in (
        ("THREEDCART_SECURE_URL", "https://env.example.com"),
        ("THREEDCART_PRIVATE_KEY", "env-key-0001"),
        ("THREEDCART_TOKEN", "env-token-0001"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(unset, "   ")  # blank is not set
    ctx: Any = FakeContext(settings())
    with pytest.raises(_app.CLIError) as info:
        _app._store(ctx)
    assert str(info.value) == message
    with pytest.raises(typer.BadParameter) as usage:
        _app._store(ctx, error=typer.BadParameter)
    assert usage.value.message == message


def test_store_reports_bad_settings_through_error(
    no_store_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("THREEDCART_SECURE_URL", "https://env.example.com")
    monkeypatch.setenv("THREEDCART_PRIVATE_KEY", "env-key-0001")
    monkeypatch.setenv("THREEDCART_TOKEN", "env-token-0001")
    zone: Any = FakeContext(settings(store_timezone="Nowhere/Zone"))
    with pytest.raises(RuntimeError) as info:
        _app._store(zone, error=RuntimeError)
    assert str(info.value) == (
        "--store-timezone: 'Nowhere/Zone' is not a time zone this machine knows (an IANA name, "
        "e.g. America/New_York)"
    )
    both: Any = FakeContext(settings(token="t-12345", token_file=str(tmp_path / "t")))
    with pytest.raises(RuntimeError) as info:
        _app._store(both, error=RuntimeError)
    assert str(info.value) == "give --token or --token-file, not both"
    negative: Any = FakeContext(settings(max_retries=-1))
    with pytest.raises(_app.CLIError) as refused:
        _app._store(negative)
    assert str(refused.value) == "max_retries must be a whole number, 0 or more, not -1"


def _option(annotated: Any) -> tuple[Any, Any]:
    kind, option = typing.get_args(annotated)
    return kind, option


def spec(**values: Any) -> dict[str, Any]:
    base = {
        "schema": {"type": "string"},
        "match": "equals",
        "store_time": False,
        "field": "Field",
        "description": "The description.",
        "deprecated": False,
        "param": "param",
    }
    return {**base, **values}


@pytest.mark.parametrize(
    ("name", "values", "kind", "flag", "help_text"),
    [
        ("email", {}, str | None, "--email", "The description."),
        ("first_name", {"description": ""}, str | None, "--first-name", "The API's param filter."),
        ("count_x", {"schema": {"type": "integer"}}, int | None, "--count-x", "The description."),
        ("ratio", {"schema": {"type": "number"}}, float | None, "--ratio", "The description."),
        ("is_on", {"schema": {"type": "boolean"}}, bool | None, "--is-on/--no-is-on", "The description."),
        ("odd", {"schema": {"type": "object"}}, str | None, "--odd", "The description."),
        ("no_type", {"schema": {}}, str | None, "--no-type", "The description."),
        (
            "ids",
            {"schema": {"type": "array", "items": {"type": "integer"}}},
            list[int] | None,
            "--ids",
            "The description. (repeat the option for several values).",
        ),
        (
            "tags",
            {"schema": {"type": "array"}},
            list[str] | None,
            "--tags",
            "The description. (repeat the option for several values).",
        ),
        (
            "min_credit",
            {"schema": {"type": "number"}, "match": "since"},
            float | None,
            "--min-credit",
            "The description. (Field at or after the value).",
        ),
        (
            "max_credit",
            {"schema": {"type": "number"}, "match": "until", "deprecated": True},
            float | None,
            "--max-credit",
            "Deprecated. The description. (Field at or before the value).",
        ),
        (
            "updated_since",
            {"store_time": True, "field": "$lastUpdate", "match": "since"},
            str | None,
            "--updated-since",
            "Updated at or after (any date).",
        ),
        (
            "updated_until",
            {"store_time": True, "field": "$lastUpdate", "match": "until"},
            str | None,
            "--updated-until",
            "Updated at or before (any date).",
        ),
        (
            "created_on",
            {"store_time": True, "field": "DateCreated", "deprecated": True},
            str | None,
            "--created-on",
            "Deprecated. DateCreated on (any date).",
        ),
    ],
)
def test_filter_option_from_the_spec(
    name: str, values: dict[str, Any], kind: Any, flag: str, help_text: str
) -> None:
    got_kind, option = _option(_app._filter_option(name, spec(**values)))
    assert got_kind == kind
    assert (option.default, option.help, option.rich_help_panel) == (flag, help_text, "Filters")


def test_the_filter_options_are_the_specs_filters_and_the_group() -> None:
    names = [name for name, _ in _app._FILTER_OPTIONS]
    assert names == [*LIST_FILTERS, "group_id"]
    _, email = _option(dict(_app._FILTER_OPTIONS)["email"])
    assert (email.default, email.help) == ("--email", "Email of the Customer.")


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (
            "updated_since (11/01/2026 00:00:00) is after updated_until (10/01/2026 23:59:59)",
            "--updated-since (11/01/2026 00:00:00) is after --updated-until (10/01/2026 23:59:59)",
        ),
        ("group_id must be a non-negative integer", "--group-id must be a non-negative integer"),
        ("first_name_x and xfirst_name stay", "first_name_x and xfirst_name stay"),
        ("email, phone", "--email, --phone"),
    ],
)
def test_as_options_names_filters_as_options(message: str, shown: str) -> None:
    assert _app._as_options(message) == shown


def test_with_filters_adds_every_filter_option_and_passes_only_those_given() -> None:
    received: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []

    def command(ctx: Any, limit: int = 1, *, filters: Any) -> None:
        """Doc."""
        received.append((ctx, {"limit": limit}, filters))

    wrapped = _app._with_filters(command)
    parameters = list(typing.cast(Any, wrapped).__signature__.parameters.values())
    assert [p.name for p in parameters] == ["ctx", "limit", *LIST_FILTERS, "group_id"]
    assert (parameters[0].annotation, parameters[1].annotation) == (Any, int)  # evaluated, not strings
    for p, (name, annotation) in zip(parameters[2:], _app._FILTER_OPTIONS, strict=True):
        assert (p.name, p.kind, p.default, p.annotation) == (name, p.KEYWORD_ONLY, None, annotation)
    assert (wrapped.__name__, wrapped.__doc__) == ("command", "Doc.")
    none = dict.fromkeys(name for name, _ in _app._FILTER_OPTIONS)
    ctx = typer.Context(typer.main.get_command(app), obj=_app._Ctx())
    wrapped(ctx, 3, **none)
    wrapped(ctx=ctx, limit=4, **{**none, "state": "FL", "group_id": 0, "updated_until": "2026-01-31"})
    assert received == [
        (ctx, {"limit": 3}, {}),
        (ctx, {"limit": 4}, {"state": "FL", "updated_until": "2026-01-31", "group_id": 0}),
    ]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"updated_since": "2026-11-01", "updated_until": "2026-10-01"},
            "--updated-since (11/01/2026 00:00:00) is after --updated-until (10/01/2026 23:59:59): "
            "no customer can match",
        ),
        (
            {"updated_since": "garbage\x1b[2J"},
            "--updated-since: cannot read 'garbage\\x1b[2J' as a date (Unknown string format: garbage)",
        ),
        ({"updated_until": 5}, "--updated-until must be a datetime, a date or a string, not int"),
        ({"group_id": -1}, "--group-id must be a non-negative integer, not -1"),
    ],
)
def test_with_filters_turns_what_the_sdk_refuses_into_a_usage_error(
    given: dict[str, Any], message: str
) -> None:
    ran: list[Any] = []
    wrapped = _app._with_filters(lambda ctx, *, filters: ran.append(filters))
    ctx = typer.Context(typer.main.get_command(app), obj=_app._Ctx())
    with pytest.raises(typer.BadParameter) as info:
        wrapped(ctx, **{**dict.fromkeys(name for name, _ in _app._FILTER_OPTIONS), **given})
    assert info.value.message == message and ran == []


def test_row_is_the_customers_api_dict() -> None:
    c = customer(CustomerID=3, Email="a@example.com", Enabled=False)
    assert _app._row(c) == {"CustomerID": 3, "Email": "a@example.com", "Enabled": False}


def test_csv_writer_writes_the_header_and_ignores_other_keys() -> None:
    buffer = io.StringIO()
    writer = _app._csv_writer(buffer, ["Email", "CustomerID"])
    writer.writerow({"CustomerID": 1, "Email": "a@example.com", "Other": "x"})
    assert buffer.getvalue() == "Email,CustomerID\na@example.com,1\n"
    whole = io.StringIO()
    _app._csv_writer(whole)
    assert whole.getvalue() == ",".join(FIELD_NAMES) + "\n"


def test_cell_and_title() -> None:
    for value, plain in ((None, ""), (5, "5"), (True, "True"), ("a\x1b[31mb\tc", "ab c")):
        cell = _app._cell(value)
        assert (cell.plain, cell.no_wrap, cell.overflow) == (plain, True, "ellipsis")
    assert {name: _app._title(name) for name in TITLES} == TITLES
    assert _app._title("BillingZipCode") == "BillingZipCode"


@pytest.mark.parametrize(
    ("widths", "room", "sizes", "left_out"),
    [
        # everything fits: natural widths
        (
            {"CustomerID": 10, "Email": 20, "BillingState": 5},
            200,
            {"CustomerID": 10, "Email": 20, "BillingState": 5},
            (),
        ),
        # a column that does not fit leaves room for a narrower one after it
        (
            {"CustomerID": 10, "Email": 40, "BillingState": 5},
            28,
            {"CustomerID": 10, "BillingState": 5},
            ("Email",),
        ),
        (
            {"CustomerID": 10, "Email": 40, "BillingState": 5},
            26,
            {"CustomerID": 10, "BillingState": 5},
            ("Email",),
        ),
        # once Email is shortened, BillingState is not added, though it would fit at Email's minimum
        (
            {"CustomerID": 10, "Email": 40, "BillingState": 5},
            37,
            {"CustomerID": 10, "Email": 20},
            ("BillingState",),
        ),
        # exactly room for the shortened Email; then no column of lower priority
        (
            {"CustomerID": 10, "Email": 40, "BillingState": 5},
            29,
            {"CustomerID": 10, "Email": 12},
            ("BillingState",),
        ),
        # natural widths exactly fill the room: the next column is still tried
        (
            {"CustomerID": 10, "Email": 20, "BillingState": 5},
            37,
            {"CustomerID": 10, "Email": 12, "BillingState": 5},
            (),
        ),
        (
            {"CustomerID": 10, "Email": 20, "BillingState": 5},
            36,
            {"CustomerID": 10, "Email": 19},
            ("BillingState",),
        ),
        # wide cells count as 32 when deciding whether columns are shortened
        (
            {"CustomerID": 10, "Email": 50, "BillingState": 5, "BillingCity": 6},
            57,
            {"CustomerID": 10, "Email": 23, "BillingState": 5, "BillingCity": 6},
            (),
        ),
        # the first column is never shortened, whatever the room
        ({"CustomerID": 50, "Email": 5}, 20, {"CustomerID": 50}, ("Email",)),
        # a column keeps its whole header (14 > 12 characters)
        (
            {"CustomerID": 10, "BillingZipCode": 30, "BillingCity": 30},
            46,
            {"CustomerID": 10, "BillingZipCode": 29},
            ("BillingCity",),
        ),
        # spare room goes to the columns in priority order
        (
            {"CustomerID": 10, "Email": 20, "BillingLastName": 20},
            50,
            {"CustomerID": 10, "Email": 18, "BillingLastName": 12},
            (),
        ),
        (
            {"CustomerID": 10, "Email": 20, "BillingLastName": 20},
            56,
            {"CustomerID": 10, "Email": 20, "BillingLastName": 16},
            (),
        ),
        # a short column is not widened beyond its natural width
        ({"CustomerID": 10, "Email": 3}, 30, {"CustomerID": 10, "Email": 3}, ()),
    ],
)
def test_fit_columns(
    widths: dict[str, int], room: int, sizes: dict[str, int], left_out: tuple[str, ...]
) -> None:
    got_sizes, got_left_out = _app.fit_columns(widths, tuple(widths), room)
    assert (got_sizes, list(got_sizes), got_left_out) == (sizes, list(sizes), left_out)


def render(table: Any, width: int) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, legacy_windows=False).print(table)
    return buffer.getvalue()


def test_table_shows_clean_cells_in_the_order_given_with_right_aligned_ids(
    capsys: pytest.CaptureFixture[str],
) -> None:
    customers = [
        customer(CustomerID=7, Email="ann@example.com", BillingLastName="Lovelace"),
        customer(CustomerID=12, Email=None, BillingLastName="\x1b[31mRed\x1b[0m"),
    ]
    columns = ("Email", "CustomerID", "BillingLastName")
    table = _app._table(customers, columns, columns, 80, chosen=True)
    assert [(c.header, c.justify, c.width, c.no_wrap, c.overflow) for c in table.columns] == [
        ("Email", "left", 15, True, "ellipsis"),
        ("CustomerID", "right", 10, True, "ellipsis"),
        ("Last name", "left", 9, True, "ellipsis"),
    ]
    assert render(table, 80) == (
        "┏━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━┓\n"
        "┃ Email           ┃ CustomerID ┃ Last name ┃\n"
        "┡━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━┩\n"
        "│ ann@example.com │          7 │ Lovelace  │\n"
        "│                 │         12 │ Red       │\n"
        "└─────────────────┴────────────┴───────────┘\n"
    )
    assert capsys.readouterr() == ("", "")  # everything fitted: no note


def test_table_leaves_out_what_does_not_fit_with_a_note_for_chosen_columns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    customers = [customer(CustomerID=7, Email="ann@example.com", BillingLastName="Lovelace")]
    columns = ("Email", "CustomerID", "BillingLastName")
    table = _app._table(customers, columns, columns, 30, chosen=True)
    assert [c.header for c in table.columns] == ["Email"]
    assert capsys.readouterr() == (
        "",
        f"note: CustomerID, BillingLastName left out to fit 30 columns {NOTE_TAIL}\n",
    )
    default = _app._table(customers, columns, ("CustomerID", "Email", "BillingLastName"), 30, chosen=False)
    assert [(c.header, c.width) for c in default.columns] == [("Email", 13), ("CustomerID", 10)]
    assert capsys.readouterr() == ("", "")  # not chosen: no note


def test_columns_option() -> None:
    assert _app._columns(None) is None
    assert _app._columns(" Email, CustomerID,,Email ,") == ("Email", "CustomerID")
    for given, unknown in (("", "(none given)"), (" , ", "(none given)"), ("Foo,Email,Bar", "Foo, Bar")):
        with pytest.raises(typer.BadParameter) as info:
            _app._columns(given)
        assert info.value.message == f"unknown column(s) {unknown}; choose from {', '.join(FIELD_NAMES)}"
        assert info.value.param_hint == "--columns"


@pytest.mark.parametrize(
    ("typed", "yes"),
    [("y\n", True), ("YES\n", True), ("  Yes  \n", True), ("n\n", False), ("", False), ("yy\n", False)],
)
def test_confirm_asks_on_stderr_and_takes_only_yes(
    typed: str, yes: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rest = "y\n" if typed else ""  # one line is read, no more; none at all: the end of input
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed + rest))
    assert _app._confirm("Xyzzy?") is yes
    assert capsys.readouterr() == ("", "Xyzzy? [y/N]: ")
    assert sys.stdin.read() == rest


def test_progress_draws_on_stderr_and_stays() -> None:
    bar = _app._progress()
    assert bar.console is _app.err and bar.live.transient is False
    assert [type(c) for c in bar.columns] == [TextColumn, BarColumn, MofNCompleteColumn, TimeElapsedColumn]
    assert typing.cast(TextColumn, bar.columns[0]).text_format == "{task.description}"  # add_task's label


def test_read_one_reads_one_customer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(b'\xef\xbb\xbf{"Email": "bom@example.com"}')
    assert _app._read_one(str(path)) == {"Email": "bom@example.com"}
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"Email": "in@example.com"}'))
    assert _app._read_one("-") == {"Email": "in@example.com"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read {path}: No such file or directory"),
        (b'{"a": "\xff"}', "{path} is not valid UTF-8 (byte offset 7)"),
        (
            b"{not json",
            "{path} is not valid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        (b"", "{path} is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        (b'[{"Email": "a@example.com"}]', "{path} must hold one JSON object (a customer)"),
        (b"null", "{path} must hold one JSON object (a customer)"),
    ],
)
def test_read_one_names_what_is_wrong(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "c.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(_app.CLIError) as info:
        _app._read_one(str(path))
    assert str(info.value) == message.format(path=path)


def test_write_stream_writes_every_customer_in_the_format(tmp_path: Path) -> None:
    customers = [
        customer(CustomerID=1, Email="a@example.com", Enabled=True, BillingLastName="=1+1"),
        customer(CustomerID=2, Email="b@example.com", Enabled=False, BillingLastName="Plain"),
    ]
    rows = [c.to_dict() for c in customers]
    advanced: list[int] = []
    stream = io.StringIO()
    n = _app._write_stream(customers, stream, _app.FileFormat.jsonl, lambda: advanced.append(1))
    assert (n, len(advanced), stream.getvalue()) == (2, 2, as_jsonl(rows))
    stream = io.StringIO()
    n = _app._write_stream(iter(customers), stream, _app.FileFormat.csv, lambda: advanced.append(2))
    assert (n, advanced.count(2), stream.getvalue()) == (
        2,
        2,
        as_csv([{**dict.fromkeys(FIELD_NAMES), **r} for r in rows], FIELD_NAMES),
    )
    stream = io.StringIO()
    n = _app._write_stream(
        customers,
        stream,
        _app.FileFormat.csv,
        lambda: None,
        raw_csv=True,
        columns=("BillingLastName", "CustomerID"),
    )
    assert (n, stream.getvalue()) == (2, "BillingLastName,CustomerID\n=1+1,1\nPlain,2\n")
    stream = io.StringIO()
    n = _app._write_stream(customers, stream, _app.FileFormat.jsonl, lambda: None, columns=("Email",))
    assert (n, stream.getvalue()) == (2, '{"Email": "a@example.com"}\n{"Email": "b@example.com"}\n')
    assert _app._write_stream([], io.StringIO(), _app.FileFormat.jsonl, lambda: None) == 0


def test_format_of_a_path() -> None:
    csv_format, jsonl = _app.FileFormat.csv, _app.FileFormat.jsonl
    assert [_app._format_of(Path(n), None) for n in ("a.csv", "A.CSV", "a.jsonl", "a.txt", "csv")] == [
        csv_format,
        csv_format,
        jsonl,
        jsonl,
        jsonl,
    ]
    assert (
        _app._format_of(Path("a.csv"), jsonl) is jsonl
        and _app._format_of(Path("a.jsonl"), csv_format) is csv_format
    )


def test_unwritten_and_stop_lines() -> None:
    assert _app._unwritten(Path("-"), False)(1234) == "1,234 customers were written to standard output"
    assert _app._unwritten(Path("out.jsonl"), True)(5) == "out.jsonl keeps its previous content"
    assert _app._unwritten(Path("out.jsonl"), False)(5) == "out.jsonl was not written"
    left = _app._unwritten(Path("out.jsonl"), False)
    assert _app._stop_line("export", 1234, 5678, "OSError: \x1b[2Jfull", left) == (
        "export stopped after 1,234 of 5,678 customers (OSError: full); out.jsonl was not written"
    )
    assert _app._stop_line("sync", 0, None, "signal SIGINT", lambda n: f"{n} left") == (
        "sync stopped after 0 customers (signal SIGINT); 0 left"
    )


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (SystemExit(143), "signal SIGTERM"),
        (SystemExit(130), "signal SIGINT"),
        (SystemExit(129), "signal SIGHUP"),
        (SystemExit(128), "SystemExit: 128"),
        (SystemExit("bye"), "SystemExit: bye"),
        (SystemExit(None), "SystemExit: None"),
        (KeyboardInterrupt(), "interrupted"),
        (ValueError("bad value"), "ValueError: bad value"),
        (ThreeDCartError("store said no"), "ThreeDCartError: store said no"),
    ],
)
def test_stop_reason(exc: BaseException, reason: str) -> None:
    assert _app._stop_reason(exc) == reason


def test_report_and_report_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    failures = [
        RowFailure(3, "7", "Email is \x1b[31mbad\x1b[0m"),
        RowFailure(0, "", "the whole file"),
        RowFailure(9, "", "missing\nCustomerID"),
    ]
    _app._report(failures)
    assert capsys.readouterr() == (
        "",
        "row 3: CustomerID 7: Email is bad\n"
        "row 0: CustomerID -: the whole file\n"
        "row 9: CustomerID -: missing CustomerID\n",
    )
    report = tmp_path / "sub" / "errors.csv"
    _app._write_report(failures, report)
    assert report.read_bytes().decode() == (
        "row,CustomerID,message\n"
        "3,7,Email is \x1b[31mbad\x1b[0m\n"
        ",,the whole file\n"
        '9,,"missing\nCustomerID"\n'
    )
    _app._write_report([], report)
    assert report.read_bytes().decode() == "row,CustomerID,message\n"


def test_chunks_read_a_file_in_pieces(tmp_path: Path) -> None:
    path = tmp_path / "data"
    data = (b"\xff\xc3\xa9" * _app.CHUNK)[: 2 * _app.CHUNK + 1]  # bytes, as they are: not text
    path.write_bytes(data)
    chunks = list(_app._chunks(path))
    assert [len(c) for c in chunks] == [_app.CHUNK, _app.CHUNK, 1] and b"".join(chunks) == data
    path.write_bytes(b"")
    assert list(_app._chunks(path)) == []


class FakeCustomers:
    """`store.customers` with scripted counts, recording every call."""

    def __init__(
        self, rows: list[dict[str, Any]], counts: list[int], fail_after: BaseException | None = None
    ) -> None:
        self.rows, self.counts, self.fail_after = rows, counts, fail_after
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def count(self, **filters: Any) -> int:
        self.calls.append(("count", filters))
        return self.counts.pop(0)

    def iter(self, **kwargs: Any) -> Iterator[Customer]:
        self.calls.append(("iter", kwargs))
        for row in self.rows:
            yield Customer.from_dict(row)
        if self.fail_after is not None:
            raise self.fail_after


@dataclass
class FakeStore:
    customers: FakeCustomers
    store_tz: Any = field(default=NY)


ROWS = [{"CustomerID": i, "Email": f"c{i}@example.com"} for i in (1, 2, 3)]


def test_counted_asks_the_store_and_notes_the_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_app, "datetime", FrozenDatetime)
    store = FakeStore(FakeCustomers([], [17]))
    assert _app._counted(typing.cast(Any, store), {"state": "FL"}) == (
        17,
        datetime(2026, 7, 1, 16, 0, tzinfo=UTC),
    )
    assert store.customers.calls == [("count", {"state": "FL"})]


START = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)  # 12:00 in New York; less 10 minutes: 11:50
LOW = datetime(2026, 7, 1, 11, 50)


@pytest.mark.parametrize(
    ("filters", "asked"),
    [
        ({}, {"updated_since": LOW}),
        ({"state": "FL"}, {"state": "FL", "updated_since": LOW}),
        ({"updated_since": "2026-07-01 11:49:59"}, {"updated_since": LOW}),
        ({"updated_since": "2026-07-01 11:50:00"}, {"updated_since": "2026-07-01 11:50:00"}),
        ({"updated_since": "2026-07-02"}, {"updated_since": "2026-07-02"}),
        (
            {"updated_until": "2026-07-01 11:50:00"},
            {"updated_until": "2026-07-01 11:50:00", "updated_since": LOW},
        ),
        ({"updated_until": "2026-07-01"}, {"updated_until": "2026-07-01", "updated_since": LOW}),
        ({"updated_until": "2026-07-01 11:49:59"}, None),
        ({"updated_until": "2026-06-30"}, None),
        # aware values are placed in the store's time: 15:45 UTC is 11:45 in New York
        ({"updated_since": datetime(2026, 7, 1, 15, 45, tzinfo=UTC)}, {"updated_since": LOW}),
        (
            {"updated_since": datetime(2026, 7, 1, 15, 55, tzinfo=UTC)},
            {"updated_since": datetime(2026, 7, 1, 15, 55, tzinfo=UTC)},
        ),
        ({"updated_until": datetime(2026, 7, 1, 15, 49, 59, tzinfo=UTC)}, None),
    ],
)
def test_written_since_counts_from_ten_minutes_before_the_start(
    filters: dict[str, Any], asked: dict[str, Any] | None
) -> None:
    store = FakeStore(FakeCustomers([], [4]))
    n = _app._written_since(
        typing.cast(Any, store), typing.cast(Any, filters), START, START + timedelta(minutes=1)
    )
    assert (n, store.customers.calls) == ((0, []) if asked is None else (4, [("count", asked)]))


def test_written_since_covers_the_repeated_hour_of_a_fall_back_night() -> None:
    # 2026-11-01 05:30 UTC is 01:30 EDT; the clocks fall back at 06:00 UTC to 01:00 EST
    store = FakeStore(FakeCustomers([], [1]))
    start = datetime(2026, 11, 1, 5, 40, tzinfo=UTC)
    _app._written_since(typing.cast(Any, store), {}, start, datetime(2026, 11, 1, 6, 20, tzinfo=UTC))
    assert store.customers.calls == [("count", {"updated_since": datetime(2026, 11, 1, 1, 0)})]


def test_store_local() -> None:
    assert _app._store_local("2026-07-01", NY) == datetime(2026, 7, 1, 0, 0)
    assert _app._store_local("2026-07-01", NY, end_of_day=True) == datetime(2026, 7, 1, 23, 59, 59)
    assert _app._store_local(datetime(2026, 7, 1, 16, 0, tzinfo=UTC), NY) == datetime(2026, 7, 1, 12, 0)
    assert _app._store_local(date(2026, 1, 31), NY, end_of_day=True) == datetime(2026, 1, 31, 23, 59, 59)


# --- _export with a store of scripted counts --------------------------------------------------------------
def export(
    monkeypatch: pytest.MonkeyPatch,
    customers: FakeCustomers,
    output: Path,
    *,
    fmt: _app.FileFormat = _app.FileFormat.jsonl,
    clock: tuple[float, float] = (10.0, 12.5),
    filters: dict[str, Any] | None = None,
    columns: tuple[str, ...] | None = None,
    raw_csv: bool = False,
) -> int:
    monkeypatch.setattr(_app, "time", FakeTime(*clock))
    monkeypatch.setattr(_app, "datetime", FrozenDatetime)
    store: Any = FakeStore(customers)
    return _app._export(store, typing.cast(Any, filters or {}), output, fmt, 3, "export", raw_csv, columns)


def test_export_writes_the_file_and_one_summary_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.jsonl"
    customers = FakeCustomers(ROWS, [3, 3])
    assert export(monkeypatch, customers, target, filters={"state": "FL"}) == 3
    assert customers.calls == [
        ("count", {"state": "FL"}),
        ("iter", {"concurrency": 3, "state": "FL"}),
        ("count", {"state": "FL"}),
    ]
    assert target.read_bytes().decode() == as_jsonl(ROWS)
    assert capsys.readouterr() == (
        f"exported 3 customers to {target} in 2.5 s (1 customers/s)\n",
        progress("export", 3, 3),
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_export_summary_of_an_instant_export(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.csv"
    rows = [{"CustomerID": i, "Email": "=x"} for i in range(1, 1235)]
    n = export(
        monkeypatch, FakeCustomers(rows, [1234, 1234]), target, fmt=_app.FileFormat.csv, clock=(5.0, 5.0)
    )
    assert n == 1234
    assert capsys.readouterr().out == f"exported 1234 customers to {target} in 0.0 s (1,234 customers/s)\n"
    assert target.read_bytes().decode() == as_csv(
        [{**dict.fromkeys(FIELD_NAMES), **row} for row in rows], FIELD_NAMES
    )
    assert target.read_bytes().decode().splitlines()[1] == "1,'=x" + "," * (len(FIELD_NAMES) - 2)


def test_export_to_stdout_prints_the_data_and_the_summary_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    n = export(monkeypatch, FakeCustomers(ROWS, [3, 3]), Path("-"), columns=("Email",), clock=(1.0, 1.5))
    assert n == 3
    assert capfd.readouterr() == (
        "".join(f'{{"Email": "c{i}@example.com"}}\n' for i in (1, 2, 3)),
        progress("export", 3, 3) + "exported 3 customers to standard output in 0.5 s (6 customers/s)\n",
    )
    assert not Path("-").exists()


def test_an_export_whose_counts_changed_by_what_was_written_meanwhile_is_complete(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.jsonl"
    customers = FakeCustomers(ROWS, [3, 5, 2])  # 2 created since: at least 3 were there throughout
    assert export(monkeypatch, customers, target) == 3
    assert customers.calls[3] == ("count", {"updated_since": LOW})
    assert target.read_bytes().decode() == as_jsonl(ROWS)
    assert capsys.readouterr().out == f"exported 3 customers to {target} in 2.5 s (1 customers/s)\n"


@pytest.mark.parametrize("existed", [False, True])
def test_an_export_that_cannot_be_complete_is_kept_as_incomplete(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], existed: bool
) -> None:
    target = tmp_path / "out.jsonl"
    if existed:
        target.write_text("yesterday\n")
    customers = FakeCustomers(ROWS, [3, 5, 1])
    with pytest.raises(_app.CLIError) as info:
        export(monkeypatch, customers, target)
    kept = f"{target} keeps its previous export" if existed else f"{target} was not written"
    assert str(info.value) == (
        "export incomplete: the store counted 3 at the start and 5 at the end (1 of them written since): "
        f"at least 4 were there throughout, but 3 were read; 3 customers written to {target}.incomplete; "
        f"{kept}"
    )
    assert (tmp_path / "out.jsonl.incomplete").read_bytes().decode() == as_jsonl(ROWS)
    assert target.exists() is existed and (not existed or target.read_bytes().decode() == "yesterday\n")
    assert capsys.readouterr() == ("", progress("export", 3, 3))


def test_an_export_reading_more_than_can_be_there_is_incomplete(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(_app.CLIError) as info:
        export(monkeypatch, FakeCustomers(ROWS, [2, 2, 0]), tmp_path / "out.jsonl")
    assert str(info.value) == (
        "export incomplete: 3 were read, more than the 2 counted at the start and the 0 written since; "
        f"3 customers written to {tmp_path / 'out.jsonl.incomplete'}; "
        f"{tmp_path / 'out.jsonl'} was not written"
    )


def test_an_incomplete_export_to_stdout_says_what_was_written(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(_app.CLIError) as info:
        export(monkeypatch, FakeCustomers(ROWS, [3, 5, 0]), Path("-"))
    assert str(info.value) == (
        "export incomplete: the store counted 3 at the start and 5 at the end (0 of them written since): at "
        "least 5 were there throughout, but 3 were read; 3 customers were written to standard output"
    )
    assert capfd.readouterr() == (as_jsonl(ROWS), progress("export", 3, 3))


@pytest.mark.parametrize("existed", [False, True])
def test_an_export_that_fails_midway_says_how_far_it_got(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, existed: bool
) -> None:
    target = tmp_path / "out.jsonl"
    if existed:
        target.write_text("yesterday\n")
    failing = FakeCustomers(ROWS[:2], [3], fail_after=OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(_app.CLIError) as info:
        export(monkeypatch, failing, target)
    left = f"{target} keeps its previous content" if existed else f"{target} was not written"
    assert str(info.value) == (
        f"export stopped after 2 of 3 customers (OSError: [Errno 28] No space left on device); {left}"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == (["out.jsonl"] if existed else [])


def test_an_interrupted_export_says_so_and_goes_on_unwinding(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(KeyboardInterrupt):
        export(
            monkeypatch, FakeCustomers(ROWS[:1], [3], fail_after=KeyboardInterrupt()), tmp_path / "o.jsonl"
        )
    err = capsys.readouterr().err
    assert err.endswith(
        "error: export stopped after 1 of 3 customers (interrupted); "
        f"{tmp_path / 'o.jsonl'} was not written\n"
    )
    with pytest.raises(SystemExit):
        export(monkeypatch, FakeCustomers(ROWS[:1], [3], fail_after=SystemExit(0)), tmp_path / "o.jsonl")
    assert "error" not in capsys.readouterr().err  # a clean exit is no error
    assert list(tmp_path.iterdir()) == []


# --- watermarks ---------------------------------------------------------------------------------------------
def test_read_watermark(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    assert _app._read_watermark(state, NY) == (None, None)
    state.write_text('{"next_since": "2026-11-01T01:30:00-04:00"}')
    assert _app._read_watermark(state, NY) == (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), None)
    state.write_text('{"next_since": "2026-11-01T05:30:00+00:00", "clock_skew": 0}')
    assert _app._read_watermark(state, NY) == (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), timedelta(0))
    state.write_text('{"next_since": "2026-11-01T05:30:00+00:00", "clock_skew": -1.5}')
    assert _app._read_watermark(state, NY)[1] == timedelta(seconds=-1.5)
    state.write_text('{"next_since": "11/01/2026 01:30:00", "clock_skew": null}')  # an old, store-local one
    assert _app._read_watermark(state, NY) == (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), None)
    assert _app._read_watermark(state, ZoneInfo("America/Chicago"))[0] == datetime(
        2026, 11, 1, 6, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("not json", "Expecting value: line 1 column 1 (char 0)"),
        ("{}", "'next_since'"),
        ("[]", "'list' object has no attribute 'get'"),
        ('{"next_since": 5}', "fromisoformat: argument must be str"),
        (
            '{"next_since": "yesterday"}',
            "'yesterday' is not a watermark (ISO 8601 with a UTC offset, e.g. 2026-11-01T01:30:00-04:00)",
        ),
        (
            '{"next_since": "2026-11-01T05:30:00+00:00", "clock_skew": true}',
            "clock_skew is True, not seconds",
        ),
        ('{"next_since": "2026-11-01T05:30:00+00:00", "clock_skew": "3"}', "clock_skew is '3', not seconds"),
        (
            '{"next_since": "2026-11-01T05:30:00+00:00", "clock_skew": 1e15}',
            "Python int too large to convert to C int",
        ),
        (
            '{"next_since": "2026-11-01T05:30:00+00:00", "clock_skew": NaN}',
            "cannot convert float NaN to integer",
        ),
    ],
)
def test_a_bad_state_file_is_named(tmp_path: Path, text: str, why: str) -> None:
    state = tmp_path / "state.json"
    state.write_text(text)
    with pytest.raises(_app.CLIError) as info:
        _app._read_watermark(state, NY)
    assert str(info.value) == f"{state} is not a sync state file ({why})"


def test_write_watermark(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    until = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
    window = SyncWindow(None, until, None, datetime(2029, 12, 31, 19, 0))
    _app._write_watermark(state, until, tmp_path / "out.jsonl", window, None)
    assert state.read_bytes().decode() == (
        "{\n"
        '  "next_since": "2030-01-01T00:00:00+00:00",\n'
        '  "last_window": {\n'
        '    "since": null,\n'
        '    "until": "2030-01-01T00:00:00+00:00"\n'
        "  },\n"
        f'  "last_output": "{tmp_path / "out.jsonl"}",\n'
        '  "clock_skew": null\n'
        "}"
    )
    since = datetime(2029, 12, 31, 23, 0, tzinfo=UTC)
    window = SyncWindow(since, until, datetime(2029, 12, 31, 18, 0), datetime(2029, 12, 31, 19, 0))
    _app._write_watermark(state, until, Path("o"), window, timedelta(seconds=-2.5))
    assert json.loads(state.read_bytes().decode()) == {
        "next_since": "2030-01-01T00:00:00+00:00",
        "last_window": {"since": "2029-12-31T23:00:00+00:00", "until": "2030-01-01T00:00:00+00:00"},
        "last_output": "o",
        "clock_skew": -2.5,
    }


def test_run_installs_the_signal_handlers_and_silences_the_sdks_python_warnings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    happened: list[str] = []
    monkeypatch.setattr(_app, "install_signal_handlers", lambda: happened.append("signals"))
    monkeypatch.setattr(_app, "app", lambda: happened.append("app"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _app.run()
        warnings.warn("threedcart: plain http", UserWarning, stacklevel=1)
        warnings.warn("threedcart: as a deprecation", DeprecationWarning, stacklevel=1)
        warnings.warn("other: plain http", UserWarning, stacklevel=1)
    assert happened == ["signals", "app"]
    assert [str(w.message) for w in caught] == ["threedcart: as a deprecation", "other: plain http"]


# =======================================================================================================
# the commands, in this process, against mock stores
# =======================================================================================================
ALL_COMMANDS = (
    ("count",),
    ("import", "c.csv"),
    ("list",),
    ("get", "1"),
    ("create", "-"),
    ("update", "1", "-"),
    ("delete", "1", "--yes"),
    ("export", "-o", "-"),
    ("sync", "--state", "state.json"),
)


def test_version_and_the_root_help() -> None:
    line = f"threedcart {threedcart.__version__} (API contract {threedcart.API_VERSION})\n"
    assert outcome(cli(None, "--version")) == (0, line, "")
    helped = cli(None, "--help", columns=100)
    assert helped.exit_code == 0 and helped.stdout.startswith(
        "Usage: threedcart [OPTIONS] COMMAND [ARGS]...\n"
    )


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=lambda c: c[0])
def test_a_missing_credential_is_one_line_naming_it(
    command: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    given = write(tmp_path / "c.csv", "CustomerID,Comments\n1,x\n")
    env = {"THREEDCART_SECURE_URL": "https://demo.example.com", "THREEDCART_PRIVATE_KEY": "env-key-0001"}
    done = cli(None, "customers", *command, input="{}", **env)
    assert outcome(done) == (1, "", "error: THREEDCART_TOKEN is not set (or pass --token or --token-file)\n")
    assert list(tmp_path.iterdir()) == [given]


def test_credentials_given_as_options_work_with_a_warning_for_each_secret(shop: Shop) -> None:
    server = shop.server
    done = cli(
        None,
        "--secure-url",
        server.headers["SecureURL"],
        "--private-key",
        server.headers["PrivateKey"],
        "--token",
        server.headers["Token"],
        "--base-url",
        server.url,
        "customers",
        "count",
        secrets=[server.headers["PrivateKey"], server.headers["Token"]],
    )
    assert outcome(done) == (
        0,
        "40\n",
        "warning: --private-key on the command line can be read by every user of this machine (ps, /proc); "
        "use THREEDCART_PRIVATE_KEY or --private-key-file\n"
        "warning: --token on the command line can be read by every user of this machine (ps, /proc); "
        "use THREEDCART_TOKEN or --token-file\n",
    )


def test_base_url_option_overrides_the_environment(shop: Shop) -> None:
    done = cli(
        shop.server,
        "--base-url",
        shop.server.url,
        "customers",
        "count",
        THREEDCART_BASE_URL="http://127.0.0.1:9",
    )
    assert outcome(done) == (0, "40\n", "")
    done = cli(
        shop.server, "--max-retries", "0", "customers", "count", THREEDCART_BASE_URL="http://127.0.0.1:9"
    )
    assert done.exit_code == 1
    assert done.stderr.startswith("error: APIConnectionError: no answer from 127.0.0.1:9 (ConnectError: ")


def test_credentials_from_files_work_without_a_warning(shop: Shop, tmp_path: Path) -> None:
    key, token = tmp_path / "key", tmp_path / "token"
    key.write_text(shop.server.headers["PrivateKey"] + "\n")
    token.write_text(shop.server.headers["Token"] + "\nnot read\n")
    done = cli(
        shop.server,
        "--private-key-file",
        str(key),
        "--token-file",
        str(token),
        "customers",
        "count",
        "--state",
        "CA",
        THREEDCART_PRIVATE_KEY=None,
        THREEDCART_TOKEN=None,
    )
    expected = sum(c["BillingState"] == "CA" for c in shop.customers)
    assert outcome(done) == (0, f"{expected}\n", "")


def test_a_token_from_standard_input_leaves_the_rest_for_the_customer(fresh: MockServer) -> None:
    done = cli(
        fresh,
        "--token-file",
        "-",
        "customers",
        "create",
        "-",
        input=fresh.headers["Token"] + '\n{"Email": "stdin@example.com", "BillingCity": "Ocala"}\n',
        THREEDCART_TOKEN=None,
    )
    assert outcome(done) == (0, "6\n", "")
    made = get(fresh, 6)
    assert (made["Email"], made["BillingCity"]) == ("stdin@example.com", "Ocala")


def test_credential_files_that_cannot_serve(shop: Shop, tmp_path: Path) -> None:
    both = cli(
        shop.server, "--private-key-file", "-", "--token-file", "-", "customers", "count", input="a\nb\n"
    )
    assert outcome(both) == (
        1,
        "",
        "error: only one of --private-key-file and --token-file can read standard input (-)\n",
    )
    absent = tmp_path / "absent"
    unreadable = cli(shop.server, "--token-file", str(absent), "customers", "count")
    assert outcome(unreadable) == (
        1,
        "",
        f"error: --token-file: cannot read {absent} (No such file or directory)\n",
    )
    twice = cli(shop.server, "--token", "twice-token-1", "--token-file", str(absent), "customers", "count")
    assert outcome(twice) == (
        1,
        "",
        "warning: --token on the command line can be read by every user of this machine (ps, /proc); "
        "use THREEDCART_TOKEN or --token-file\nerror: give --token or --token-file, not both\n",
    )


def test_a_refused_credential_is_one_line_without_the_credential(shop: Shop, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("wrong-token-8128\n")
    done = cli(shop.server, "--token-file", str(token), "customers", "count", secrets=["wrong-token-8128"])
    assert outcome(done) == (
        1,
        "",
        "error: AuthenticationError: 401 Authentication failure. "
        "The PrivateKey/Token/SecureURL combination is invalid\n",
    )


def sent_queries(stderr: str) -> list[str]:
    """The requests `-v` logs (`DEBUG threedcart: GET /path?query -> 200 in 1.2 ms`), path and query."""
    return [line.split()[3] for line in stderr.splitlines() if line.startswith("DEBUG threedcart: ")]


def test_verbose_logs_each_request_of_the_sdk_and_of_httpx_only(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    done = cli(shop.server, "-v", "customers", "count", "--state", "FL")
    assert (done.exit_code, done.stdout) == (0, f"{sum(c['BillingState'] == 'FL' for c in shop.customers)}\n")
    lines = done.stderr.splitlines()
    assert len(lines) == 2 and re.fullmatch(
        r"DEBUG threedcart: GET /3dCartWebAPI/v1/Customers\?state=FL&countonly=1 -> 200 in [\d.]+ ms",
        lines[0],
    ), lines
    assert lines[1] == (
        f"INFO httpx: HTTP Request: GET {shop.server.url}/3dCartWebAPI/v1/Customers?state=FL&countonly=1 "
        '"HTTP/1.1 200 OK"'
    )
    assert [r for r in caplog.records if r.name.startswith(("threedcart", "httpx"))] == []  # not propagated
    quiet = cli(shop.server, "customers", "count", "--state", "FL")
    assert quiet.stderr == ""


def test_store_timezone_places_an_instant_in_the_stores_time(shop: Shop) -> None:
    instant = "2025-06-01T00:00:00+00:00"
    for zone, sent in (
        ("America/New_York", "05%2F31%2F2025+20%3A00%3A00"),
        ("Asia/Tokyo", "06%2F01%2F2025+09%3A00%3A00"),
    ):
        done = cli(
            shop.server, "-v", "--store-timezone", zone, "customers", "count", "--updated-since", instant
        )
        assert done.exit_code == 0
        assert sent_queries(done.stderr) == [f"/3dCartWebAPI/v1/Customers?countonly=1&lastupdatestart={sent}"]
        with threedcart.Store(**store_kwargs(shop.server, store_timezone=zone)) as store:  # type: ignore[arg-type]
            assert done.stdout == f"{store.customers.count(updated_since=instant)}\n"
    unknown = cli(shop.server, "--store-timezone", "Nowhere/Zone", "customers", "count")
    assert outcome(unknown) == (
        1,
        "",
        "error: --store-timezone: 'Nowhere/Zone' is not a time zone this machine knows (an IANA name, "
        "e.g. America/New_York)\n",
    )


def test_max_retries_is_how_often_a_failed_request_is_tried_again(quick_backoff: None) -> None:
    with MockServer(["--seed-customers", "1", "--fault-rate", "1", "--random-seed", "2"]) as server:
        for retries, attempts in (("0", 1), ("2", 3)):
            done = cli(server, "-v", "--max-retries", retries, "customers", "count")
            assert done.exit_code == 1 and done.stdout == ""
            assert len(sent_queries(done.stderr)) == attempts
        default = cli(server, "-v", "customers", "count")
        assert len(sent_queries(default.stderr)) == 3
    refused = cli(None, "--max-retries", "-1", "customers", "count")
    assert outcome(refused) == (
        2,
        "",
        usage_error(
            "",
            "Invalid value for '--max-retries': -1 is not in the range x>=0.",
            "[OPTIONS] COMMAND [ARGS]...",
        ),
    )


# --- count and the filters ---------------------------------------------------------------------------------
STRING_FILTERS = [name for name, spec in LIST_FILTERS.items() if not spec["store_time"]]


def test_count_without_filters(shop: Shop) -> None:
    assert outcome(cli(shop.server, "customers", "count")) == (0, "40\n", "")


@pytest.mark.parametrize("name", STRING_FILTERS)
def test_each_filter_narrows_count_list_and_export_to_what_the_sdk_finds(shop: Shop, name: str) -> None:
    spec = LIST_FILTERS[name]
    value = shop.by_id(10)[spec["field"]]
    expected = [c["CustomerID"] for c in shop.customers if c[spec["field"]] == value]
    assert 0 < len(expected) < len(shop.customers), (name, value)
    with threedcart.Store(**store_kwargs(shop.server)) as store:  # type: ignore[arg-type]
        assert [c.customer_id for c in store.customers.iter(**{name: value})] == expected
    flag = "--" + name.replace("_", "-")
    assert outcome(cli(shop.server, "customers", "count", flag, value)) == (0, f"{len(expected)}\n", "")
    ids = "".join(f'{{"CustomerID": {i}}}\n' for i in expected)
    listed = cli(
        shop.server,
        "customers",
        "list",
        flag,
        value,
        "--limit",
        "500",
        "--format",
        "jsonl",
        "--columns",
        "CustomerID",
    )
    assert outcome(listed) == (0, ids, "")
    exported = cli(shop.server, "customers", "export", "-o", "-", flag, value, "--columns", "CustomerID")
    assert (exported.exit_code, exported.stdout) == (0, ids)


def test_group_id_narrows_to_one_group(shop: Shop) -> None:
    expected = [c["CustomerID"] for c in shop.customers if c["CustomerGroupID"] == 2]
    assert 0 < len(expected) < 40
    assert outcome(cli(shop.server, "customers", "count", "--group-id", "2")) == (0, f"{len(expected)}\n", "")
    listed = cli(
        shop.server, "customers", "list", "--group-id", "2", "--format", "jsonl", "--columns", "CustomerID"
    )
    assert listed.stdout == "".join(f'{{"CustomerID": {i}}}\n' for i in expected)
    assert outcome(cli(shop.server, "customers", "count", "--group-id", "0", "--state", "CA")) == (
        0,
        f"{sum(c['CustomerGroupID'] == 0 and c['BillingState'] == 'CA' for c in shop.customers)}\n",
        "",
    )


def test_the_date_filters_narrow_to_a_window_of_last_updates(shop: Shop) -> None:
    with threedcart.Store(**store_kwargs(shop.server)) as store:  # type: ignore[arg-type]
        since = store.customers.count(updated_since="2025-01-01")
        until = store.customers.count(updated_until="2025-06-30")
        both = store.customers.count(updated_since="2025-01-01", updated_until="2025-06-30")
    assert 0 < both < since < 40 and 0 < until < 40
    assert cli(shop.server, "customers", "count", "--updated-since", "2025-01-01").stdout == f"{since}\n"
    assert cli(shop.server, "customers", "count", "--updated-until", "2025-06-30").stdout == f"{until}\n"
    window = cli(
        shop.server, "customers", "count", "--updated-since", "2025-01-01", "--updated-until", "2025-06-30"
    )
    assert outcome(window) == (0, f"{both}\n", "")
    one_day = cli(
        shop.server,
        "-v",
        "customers",
        "count",
        "--updated-since",
        "2025-03-04",
        "--updated-until",
        "2025-03-04",
    )
    assert sent_queries(one_day.stderr) == [
        "/3dCartWebAPI/v1/Customers?countonly=1&lastupdatestart=03%2F04%2F2025+00%3A00%3A00"
        "&lastupdateend=03%2F04%2F2025+23%3A59%3A59"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--updated-since", "2026-11-01", "--updated-until", "2026-10-01"),
            "Invalid value: --updated-since (11/01/2026 00:00:00) is after --updated-until "
            "(10/01/2026 23:59:59): no customer can match",
        ),
        (
            ("--updated-since", "garbage"),
            "Invalid value: --updated-since: cannot read 'garbage' as a date "
            "(Unknown string format: garbage)",
        ),
        (
            ("--updated-until", "2026-02"),
            "Invalid value: --updated-until: '2026-02' is not a whole date; give the year, month and day",
        ),
        (("--group-id", "-1"), "Invalid value for '--group-id': -1 is not in the range x>=0."),
        (("--group-id", "x"), "Invalid value for '--group-id': 'x' is not a valid int range."),
        (("--zzzz",), "No such option: --zzzz"),
    ],
)
def test_a_bad_filter_is_a_usage_error(shop: Shop, args: tuple[str, ...], message: str) -> None:
    for command in ("count", "list", "export"):
        extra = ("-o", "-") if command == "export" else ()
        done = cli(shop.server, "customers", command, *extra, *args)
        assert outcome(done) == (2, "", usage_error(f"customers {command}", message)), command


# --- list and get -------------------------------------------------------------------------------------------
SHOWN = {  # what a table shows of the hostile values
    HOSTILE[1]["BillingLastName"]: "Red",
    HOSTILE[1]["BillingCity"]: "Click",
    HOSTILE[3]["BillingFirstName"]: "Zoë Line",
    HOSTILE[3]["BillingCity"]: "Tab City",
    HOSTILE[3]["Comments"]: "bell",
}


def shown(value: Any) -> str:
    return "" if value is None else SHOWN.get(value, str(value))


def table(stdout: str) -> tuple[list[str], list[list[str]], list[str]]:
    """The titles, the cells of each row, and every line of a table as Rich draws it."""
    lines = stdout.splitlines()
    header = next(line for line in lines if line.startswith("┃"))
    rows = [[cell.strip() for cell in line[1:-1].split("│")] for line in lines if line.startswith("│")]
    return [title.strip() for title in header[1:-1].split("┃")], rows, lines


def test_list_shows_a_table_of_the_first_page_by_default(shop: Shop) -> None:
    done = cli(shop.server, "customers", "list", columns=250)
    assert (done.exit_code, done.stderr) == (0, "")
    titles, rows, lines = table(done.stdout)
    assert titles == list(TITLES.values())
    assert rows == [[shown(c[name]) for name in TITLES] for c in shop.customers[:20]]
    assert lines[3].startswith("│          1 │ ")  # ids are right-aligned
    assert len({len(line) for line in lines}) == 1 and len(lines) == 20 + 4


def test_list_fits_a_narrow_terminal_by_priority(shop: Shop) -> None:
    done = cli(shop.server, "customers", "list", "--limit", "10", columns=60)
    assert (done.exit_code, done.stderr) == (0, "")  # columns left out by default: no note
    titles, rows, lines = table(done.stdout)
    natural = {
        name: max(len(TITLES[name]), *(len(shown(c[name])) for c in shop.customers[:10])) for name in TITLES
    }
    sizes, left_out = _app.fit_columns(natural, _app._PRIORITY, 60)
    assert left_out and titles == [TITLES[name] for name in TITLES if name in sizes]
    assert {len(line) for line in lines} == {sum(sizes.values()) + 3 * len(sizes) + 1}
    for row, c in zip(rows, shop.customers[:10], strict=True):
        expected = []
        for name in (n for n in TITLES if n in sizes):
            text = shown(c[name])
            expected.append(text if len(text) <= sizes[name] else text[: sizes[name] - 1] + "…")
        assert row == expected


def test_list_columns_chosen_for_a_table_are_left_out_from_the_end_with_a_note(shop: Shop) -> None:
    chosen = ["CustomerID", "BillingZipCode", "Email", "BillingAddress1"]
    done = cli(shop.server, "customers", "list", "--limit", "5", "--columns", ",".join(chosen), columns=40)
    natural = {name: max(len(name), *(len(shown(c[name])) for c in shop.customers[:5])) for name in chosen}
    sizes, left_out = _app.fit_columns(natural, tuple(chosen), 40)
    assert left_out == ("Email", "BillingAddress1") and list(sizes) == ["CustomerID", "BillingZipCode"]
    assert outcome(done)[::2] == (0, f"note: Email, BillingAddress1 left out to fit 40 columns {NOTE_TAIL}\n")
    titles, rows, _ = table(done.stdout)
    assert titles == ["CustomerID", "BillingZipCode"]
    assert rows == [[str(c["CustomerID"]), c["BillingZipCode"]] for c in shop.customers[:5]]


def test_list_pages_with_limit_and_offset(shop: Shop) -> None:
    def ids(*args: str) -> str:
        done = cli(shop.server, "customers", "list", "--format", "jsonl", "--columns", "CustomerID", *args)
        assert (done.exit_code, done.stderr) == (0, "")
        return done.stdout

    assert ids() == "".join(f'{{"CustomerID": {i}}}\n' for i in range(1, 21))
    assert ids("--limit", "3", "--offset", "5") == "".join(f'{{"CustomerID": {i}}}\n' for i in (5, 6, 7))
    assert ids("--offset", "38") == "".join(f'{{"CustomerID": {i}}}\n' for i in (38, 39, 40))
    assert ids("--limit", "500") == "".join(f'{{"CustomerID": {i}}}\n' for i in range(1, 41))
    asked = cli(shop.server, "-v", "customers", "list", "--limit", "3", "--offset", "5", "--format", "json")
    assert sent_queries(asked.stderr) == ["/3dCartWebAPI/v1/Customers?limit=3&offset=5"]


def test_list_in_the_machine_formats_shows_every_field_exactly(shop: Shop) -> None:
    first = shop.customers[:3]
    assert outcome(cli(shop.server, "customers", "list", "--limit", "3", "--format", "json")) == (
        0,
        as_json(first, indent=2) + "\n",
        "",
    )
    assert cli(shop.server, "customers", "list", "--limit", "3", "--format", "jsonl").stdout == as_jsonl(
        first
    )
    assert cli(shop.server, "customers", "list", "--limit", "3", "--format", "csv").stdout == as_csv(
        first, FIELD_NAMES
    )
    raw = cli(shop.server, "customers", "list", "--limit", "3", "--format", "csv", "--raw-csv")
    assert raw.stdout == as_csv(first, FIELD_NAMES, raw=True) != as_csv(first, FIELD_NAMES)


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_list_columns_apply_to_every_format_in_their_order(shop: Shop, fmt: str) -> None:
    names = ["BillingLastName", "CustomerID", "Comments"]
    picked = only(shop.customers[:3], names)
    done = cli(
        shop.server, "customers", "list", "--limit", "3", "--format", fmt, "--columns", ",".join(names)
    )
    expected = {
        "json": as_json(picked, indent=2) + "\n",
        "jsonl": as_jsonl(picked),
        "csv": as_csv(picked, names),
    }
    assert outcome(done) == (0, expected[fmt], "")


def test_an_empty_list_in_every_format(shop: Shop) -> None:
    def listed(*args: str) -> str:
        done = cli(shop.server, "customers", "list", "--email", "nobody@example.invalid", *args)
        assert (done.exit_code, done.stderr) == (0, "")
        return done.stdout

    assert listed("--format", "json") == "[]\n"
    assert listed("--format", "jsonl") == ""
    assert listed("--format", "csv") == ",".join(FIELD_NAMES) + "\n"
    assert listed("--format", "csv", "--columns", "Email") == "Email\n"
    titles, rows, _ = table(listed())
    assert (titles, rows) == (list(TITLES.values()), [])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--limit", "0"), "Invalid value for '--limit': 0 is not in the range 1<=x<=500."),
        (("--limit", "501"), "Invalid value for '--limit': 501 is not in the range 1<=x<=500."),
        (("--offset", "0"), "Invalid value for '--offset': 0 is not in the range x>=1."),
        (
            ("--format", "xml"),
            "Invalid value for '--format': 'xml' is not one of 'table', 'json', 'jsonl', 'csv'.",
        ),
        (
            ("--columns", "CustomerID,Emial"),
            f"Invalid value for --columns: unknown column(s) Emial; choose from {', '.join(FIELD_NAMES)}",
        ),
        (
            ("--columns", ","),
            "Invalid value for --columns: unknown column(s) (none given); "
            f"choose from {', '.join(FIELD_NAMES)}",
        ),
    ],
)
def test_bad_list_options_are_usage_errors(shop: Shop, args: tuple[str, ...], message: str) -> None:
    assert outcome(cli(shop.server, "customers", "list", *args)) == (
        2,
        "",
        usage_error("customers list", message),
    )


def test_get_shows_one_customer_in_every_format(shop: Shop) -> None:
    two = shop.by_id(2)
    assert outcome(cli(shop.server, "customers", "get", "2")) == (0, as_json(two, indent=2) + "\n", "")
    assert (
        cli(shop.server, "customers", "get", "2", "--format", "json").stdout == as_json(two, indent=2) + "\n"
    )
    assert cli(shop.server, "customers", "get", "2", "--format", "jsonl").stdout == as_json(two) + "\n"
    assert cli(shop.server, "customers", "get", "2", "--format", "csv").stdout == as_csv([two], FIELD_NAMES)
    raw = cli(shop.server, "customers", "get", "2", "--format", "csv", "--raw-csv").stdout
    assert raw == as_csv([two], FIELD_NAMES, raw=True) and '=HYPERLINK(""http://x"")' in raw
    three = shop.by_id(3)
    done = cli(shop.server, "customers", "get", "3", "--format", "table")
    titles, rows, _ = table(done.stdout)
    assert (done.exit_code, done.stderr, titles) == (0, "", ["Field", "Value"])
    assert rows == [[name, shown(value)] for name, value in three.items()]
    assert list(three) == FIELD_NAMES


def test_get_a_missing_customer_or_no_id(shop: Shop) -> None:
    assert outcome(cli(shop.server, "customers", "get", "9999")) == (
        1,
        "",
        "error: NotFoundError: 404 The Customer record was not found\n",
    )
    assert outcome(cli(shop.server, "customers", "get", "0")) == (
        2,
        "",
        usage_error(
            "customers get",
            "Invalid value for 'customer_id': 0 is not in the range x>=1.",
            "[OPTIONS] {customer_id}",
        ),
    )


# --- create, update, delete ---------------------------------------------------------------------------------
def test_create_update_and_delete(fresh: MockServer, tmp_path: Path) -> None:
    body = tmp_path / "new.json"
    body.write_text('{"Email": "new@example.com", "BillingCity": "Miami"}')
    assert outcome(cli(fresh, "customers", "create", str(body))) == (0, "6\n", "")
    assert outcome(cli(fresh, "customers", "create", "-", input='{"Email": "in@example.com"}')) == (
        0,
        "7\n",
        "",
    )
    assert [(get(fresh, i)["Email"], get(fresh, i)["BillingCity"]) for i in (6, 7)] == [
        ("new@example.com", "Miami"),
        ("in@example.com", ""),
    ]
    assert outcome(cli(fresh, "customers", "update", "6", "-", input='{"BillingCity": "Tampa"}')) == (
        0,
        "updated 6\n",
        "",
    )
    body.write_text('{"Comments": "from a file"}')
    assert outcome(cli(fresh, "customers", "update", "7", str(body))) == (0, "updated 7\n", "")
    assert [
        (get(fresh, i)["Email"], get(fresh, i)["BillingCity"], get(fresh, i)["Comments"]) for i in (6, 7)
    ] == [
        ("new@example.com", "Tampa", ""),
        ("in@example.com", "", "from a file"),
    ]
    # the question goes to stderr and nothing but the result to stdout (click's confirm wrote a space
    # there, for readline): `delete 6 > log` logs "deleted 6"
    asked = "Delete customer 6? [y/N]: "
    for answer in ("n\n", "\n", "", "yes please\n", "ja\n"):
        declined = cli(fresh, "customers", "delete", "6", input=answer)
        assert outcome(declined) == (1, "", asked + "error: not deleted\n"), answer
    assert get(fresh, 6)["Email"] == "new@example.com"
    assert outcome(cli(fresh, "customers", "delete", "6", input=" Y \n")) == (0, "deleted 6\n", asked)
    assert outcome(cli(fresh, "customers", "delete", "7", "--yes")) == (0, "deleted 7\n", "")
    assert outcome(cli(fresh, "customers", "delete", "5", "-y")) == (0, "deleted 5\n", "")
    assert [c["CustomerID"] for c in read_all(fresh)] == [1, 2, 3, 4]
    gone = "error: NotFoundError: 404 The Customer record was not found\n"
    assert outcome(cli(fresh, "customers", "delete", "6", "--yes")) == (1, "", gone)
    assert outcome(cli(fresh, "customers", "update", "6", "-", input="{}")) == (1, "", gone)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "{not json",
            "- is not valid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        ("[1]", "- must hold one JSON object (a customer)"),
        (
            '{"email": "x@example.com"}',
            "customer has unknown field(s) email; use the API's names, e.g. 'Email'",
        ),
        ('{"Email": "' + "x" * 101 + '"}', "BadRequestError: 400 Email is longer than 100 characters"),
    ],
)
def test_create_refuses_what_is_not_a_customer(fresh: MockServer, given: str, message: str) -> None:
    assert outcome(cli(fresh, "customers", "create", "-", input=given)) == (1, "", f"error: {message}\n")
    assert outcome(cli(fresh, "customers", "update", "1", "-", input=given)) == (1, "", f"error: {message}\n")
    assert len(read_all(fresh)) == 5


def test_create_from_a_file_that_cannot_be_read(shop: Shop, tmp_path: Path) -> None:
    absent = tmp_path / "absent.json"
    assert outcome(cli(shop.server, "customers", "create", str(absent))) == (
        1,
        "",
        f"error: cannot read {absent}: No such file or directory\n",
    )
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"BillingCity": "Montréal"}'.encode("cp1252"))
    assert outcome(cli(shop.server, "customers", "update", "1", str(latin))) == (
        1,
        "",
        f"error: {latin} is not valid UTF-8 (byte offset 22)\n",
    )
    assert outcome(cli(shop.server, "customers", "update", "0", str(latin))) == (
        2,
        "",
        usage_error(
            "customers update",
            "Invalid value for 'customer_id': 0 is not in the range x>=1.",
            "[OPTIONS] {customer_id} {source}",
        ),
    )


# --- export -------------------------------------------------------------------------------------------------
def test_export_writes_every_customer_and_one_summary_line(
    shop: Shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    target = tmp_path / "all.jsonl"
    monkeypatch.setattr(_app, "time", FakeTime(3.0, 5.0))
    done = cli(shop.server, "customers", "export", "--output", str(target))
    assert outcome(done) == (
        0,
        f"exported 40 customers to {target} in 2.0 s (20 customers/s)\n",
        progress("export", 40, 40),
    )
    assert target.read_bytes().decode() == as_jsonl(shop.customers)
    assert calls == [("iter", {"concurrency": 4})]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.jsonl"]


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("all.csv", (), lambda cs: as_csv(cs, FIELD_NAMES)),
        ("all.CSV", ("--raw-csv",), lambda cs: as_csv(cs, FIELD_NAMES, raw=True)),
        (
            "all.txt",
            ("--format", "csv", "--columns", "Email,CustomerID"),
            lambda cs: as_csv(cs, ["Email", "CustomerID"]),
        ),
        ("all.csv", ("--format", "jsonl"), as_jsonl),
        (
            "all",
            ("--columns", "BillingLastName,CustomerID"),
            lambda cs: as_jsonl(only(cs, ["BillingLastName", "CustomerID"])),
        ),
    ],
)
def test_export_formats_and_columns(
    shop: Shop,
    tmp_path: Path,
    name: str,
    args: tuple[str, ...],
    expected: Callable[[list[dict[str, Any]]], str],
) -> None:
    target = tmp_path / name
    done = cli(shop.server, "customers", "export", "-o", str(target), *args)
    assert (done.exit_code, done.stderr) == (0, progress("export", 40, 40))
    assert target.read_bytes().decode() == expected(shop.customers)


def test_export_to_stdout(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_app, "time", FakeTime(1.0, 1.5, 0.0, 0.0))
    done = cli(shop.server, "customers", "export", "-o", "-", "--state", "CA")
    ca = [c for c in shop.customers if c["BillingState"] == "CA"]
    assert outcome(done) == (
        0,
        as_jsonl(ca),
        progress("export", len(ca), len(ca)) + f"exported {len(ca)} customers to standard output in 0.5 s "
        f"({2 * len(ca)} customers/s)\n",
    )
    as_table = cli(
        shop.server, "customers", "export", "-o", "-", "--format", "csv", "--columns", "CustomerID"
    )
    assert as_table.stdout == "CustomerID\n" + "".join(f"{i}\n" for i in range(1, 41))
    assert not Path("-").exists()


def test_export_replaces_a_file_and_passes_concurrency_and_filters(
    shop: Shop, tmp_path: Path, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    target = tmp_path / "fl.jsonl"
    target.write_text("yesterday\n")
    done = cli(
        shop.server,
        "customers",
        "export",
        "-o",
        str(target),
        "--concurrency",
        "3",
        "--state",
        "FL",
        "--group-id",
        "0",
    )
    fl = [c for c in shop.customers if c["BillingState"] == "FL" and c["CustomerGroupID"] == 0]
    assert (done.exit_code, done.stderr) == (0, progress("export", len(fl), len(fl)))
    assert target.read_bytes().decode() == as_jsonl(fl)
    assert calls == [("iter", {"concurrency": 3, "state": "FL", "group_id": 0})]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fl.jsonl"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Missing option '--output' / '-o'."),
        (
            ("-o", "x.jsonl", "--concurrency", "0"),
            "Invalid value for '--concurrency': 0 is not in the range 1<=x<=32.",
        ),
        (
            ("-o", "x.jsonl", "--concurrency", "33"),
            "Invalid value for '--concurrency': 33 is not in the range 1<=x<=32.",
        ),
        (
            ("-o", "x.jsonl", "--format", "json"),
            "Invalid value for '--format': 'json' is not one of 'jsonl', 'csv'.",
        ),
        (
            ("-o", "x.jsonl", "--columns", "Nope"),
            f"Invalid value for --columns: unknown column(s) Nope; choose from {', '.join(FIELD_NAMES)}",
        ),
    ],
)
def test_bad_export_options_are_usage_errors(
    shop: Shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert outcome(cli(shop.server, "customers", "export", *args)) == (
        2,
        "",
        usage_error("customers export", message),
    )
    assert list(tmp_path.iterdir()) == []


def test_an_export_the_store_refuses_is_one_line(shop: Shop, tmp_path: Path) -> None:
    target = tmp_path / "x.jsonl"
    done = cli(
        shop.server,
        "customers",
        "export",
        "-o",
        str(target),
        THREEDCART_TOKEN="wrong-token-6174",
        secrets=["wrong-token-6174"],
    )
    assert outcome(done) == (
        1,
        "",
        "error: AuthenticationError: 401 Authentication failure. "
        "The PrivateKey/Token/SecureURL combination is invalid\n",
    )
    assert list(tmp_path.iterdir()) == []


# --- import -------------------------------------------------------------------------------------------------
def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_import_updates_every_row_and_says_so(
    fresh: MockServer, tmp_path: Path, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    source = write(tmp_path / "c.csv", "CustomerID,BillingCity,MailList\n1,Orlando,true\n2,Austin,false\n")
    done = cli(fresh, "customers", "import", str(source))
    assert outcome(done) == (0, "updated 2 customers; 0 rows failed\n", progress("import", 2, 2))
    assert [(get(fresh, i)["BillingCity"], get(fresh, i)["MailList"]) for i in (1, 2)] == [
        ("Orlando", True),
        ("Austin", False),
    ]
    assert [(name, kwargs["batch_size"]) for name, kwargs in calls] == [("update_many", 500)]
    jsonl = write(tmp_path / "c.txt", '{"CustomerID": 3, "Comments": "=1+1"}\n')
    done = cli(fresh, "customers", "import", str(jsonl), "--format", "jsonl", "--batch-size", "7")
    assert outcome(done) == (0, "updated 1 customers; 0 rows failed\n", progress("import", 1, 1))
    assert get(fresh, 3)["Comments"] == "=1+1"
    assert calls[1][1]["batch_size"] == 7


def test_import_reports_each_failed_row_on_stderr_or_in_the_errors_file(
    fresh: MockServer, tmp_path: Path
) -> None:
    source = write(
        tmp_path / "c.data",
        "CustomerID,BillingCity,MailList\n1,Orlando,true\n2,Austin,maybe\n999999,Nowhere,false\n,NoId,true\n",
    )
    done = cli(fresh, "customers", "import", str(source), "--format", "csv", "--batch-size", "1")
    report = (
        "row 3: CustomerID 2: MailList must be true or false, not 'maybe'\n"
        "row 4: CustomerID 999999: The Customer record was not found\n"
        "row 5: CustomerID -: missing CustomerID\n"
    )
    assert outcome(done) == (1, "updated 1 customers; 3 rows failed\n", progress("import", 4, 4) + report)
    errors = tmp_path / "errors.csv"
    quiet = cli(fresh, "customers", "import", str(source), "--format", "csv", "--errors", str(errors))
    assert outcome(quiet) == (1, "updated 1 customers; 3 rows failed\n", progress("import", 4, 4))
    assert errors.read_bytes().decode() == (
        "row,CustomerID,message\n"
        "3,2,\"MailList must be true or false, not 'maybe'\"\n"
        "4,999999,The Customer record was not found\n"
        "5,,missing CustomerID\n"
    )
    fine = write(tmp_path / "fine.jsonl", '{"CustomerID": 4, "Comments": "ok"}\n')
    assert outcome(cli(fresh, "customers", "import", str(fine), "--errors", str(errors))) == (
        0,
        "updated 1 customers; 0 rows failed\n",
        progress("import", 1, 1),
    )
    assert errors.read_bytes().decode() == "row,CustomerID,message\n"


def test_import_blanks_keep_or_clear(fresh: MockServer, tmp_path: Path) -> None:
    cli(
        fresh,
        "customers",
        "import",
        str(write(tmp_path / "set.csv", "CustomerID,BillingCompany,Comments\n1,Acme,note\n")),
    )
    blanks = write(tmp_path / "blank.csv", "CustomerID,BillingCompany,Comments\n1,,\n")
    assert cli(fresh, "customers", "import", str(blanks)).exit_code == 0
    assert (get(fresh, 1)["BillingCompany"], get(fresh, 1)["Comments"]) == ("Acme", "note")
    assert cli(fresh, "customers", "import", str(blanks), "--blanks", "keep").exit_code == 0
    assert (get(fresh, 1)["BillingCompany"], get(fresh, 1)["Comments"]) == ("Acme", "note")
    done = cli(fresh, "customers", "import", str(blanks), "--blanks", "clear")
    assert outcome(done) == (0, "updated 1 customers; 0 rows failed\n", progress("import", 1, 1))
    assert (get(fresh, 1)["BillingCompany"], get(fresh, 1)["Comments"]) == ("", "")
    bad = cli(fresh, "customers", "import", str(blanks), "--blanks", "drop")
    assert outcome(bad) == (
        2,
        "",
        usage_error(
            "customers import",
            "Invalid value for '--blanks': 'drop' is not one of 'keep', 'clear'.",
            "[OPTIONS] {source}",
        ),
    )


def test_import_takes_the_formula_quote_off_unless_raw(fresh: MockServer, tmp_path: Path) -> None:
    source = write(tmp_path / "f.csv", "CustomerID,Comments\n1,'=1+1\n")
    assert cli(fresh, "customers", "import", str(source)).exit_code == 0
    assert get(fresh, 1)["Comments"] == "=1+1"
    assert cli(fresh, "customers", "import", str(source), "--raw-csv").exit_code == 0
    assert get(fresh, 1)["Comments"] == "'=1+1"


def test_import_reads_other_encodings_when_named(fresh: MockServer, tmp_path: Path) -> None:
    latin = write(tmp_path / "latin.csv", "CustomerID,BillingCity\n3,Montréal\n", "cp1252")
    offset = latin.read_bytes().index(b"\xe9")
    hint = "; name its encoding with --encoding"
    for encoding, expected in (
        (None, f"{latin} is not valid utf-8: byte(s) E9 at offset {offset} (line 2){hint}"),
        ("UTF_8", f"{latin} is not valid UTF_8: byte(s) E9 at offset {offset} (line 2){hint}"),
        ("ascii", f"{latin} is not valid ascii: byte(s) E9 at offset {offset} (line 2)"),
    ):
        errors = tmp_path / "errors.csv"
        args = () if encoding is None else ("--encoding", encoding)
        done = cli(fresh, "customers", "import", str(latin), *args, "--errors", str(errors))
        assert outcome(done) == (1, "", f"error: {expected}\n")
        assert list(csv.reader(errors.open())) == [["row", "CustomerID", "message"], ["", "", expected]]
    done = cli(fresh, "customers", "import", str(latin), "--encoding", "cp1252")
    assert outcome(done) == (0, "updated 1 customers; 0 rows failed\n", progress("import", 1, 1))
    assert get(fresh, 3)["BillingCity"] == "Montréal"
    assert outcome(cli(fresh, "customers", "import", str(latin), "--encoding", "klingon")) == (
        1,
        "",
        "error: unknown encoding 'klingon' (try utf-8, cp1252, latin-1, utf-16)\n",
    )


def test_import_of_a_file_that_cannot_be_imported_sends_nothing(
    fresh: MockServer, tmp_path: Path, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    absent = tmp_path / "absent.csv"
    assert outcome(cli(fresh, "customers", "import", str(absent))) == (
        1,
        "",
        f"error: {absent} does not exist\n",
    )
    folder, pipe = tmp_path / "folder.csv", tmp_path / "pipe.csv"
    folder.mkdir()
    os.mkfifo(pipe)  # as <(...) gives: it could not be read twice
    for source in (folder, pipe):
        done = cli(fresh, "customers", "import", str(source))
        assert outcome(done) == (1, "", f"error: {source} is not a file\n")
    typo = write(tmp_path / "typo.csv", "CustomerID,Billingcity\n1,Nowhere\n")
    errors = tmp_path / "errors.csv"
    message = (
        f"{typo}: unknown column(s) Billingcity (did you mean BillingCity?); "
        "columns are the API's field names (CustomerID, Email, BillingCity, ...)"
    )
    done = cli(fresh, "customers", "import", str(typo), "--errors", str(errors))
    assert outcome(done) == (1, "", f"error: {message}\n")
    assert list(csv.reader(errors.open())) == [["row", "CustomerID", "message"], ["", "", message]]
    empty = write(tmp_path / "empty.jsonl", "\n\n")
    assert outcome(cli(fresh, "customers", "import", str(empty))) == (
        1,
        "",
        f"error: {empty} holds no rows\n",
    )
    assert calls == []
    for value in ("0", "501"):
        bad = cli(fresh, "customers", "import", str(typo), "--batch-size", value)
        assert outcome(bad) == (
            2,
            "",
            usage_error(
                "customers import",
                f"Invalid value for '--batch-size': {value} is not in the range 1<=x<=500.",
                "[OPTIONS] {source}",
            ),
        )


def test_an_import_the_store_stops_lists_every_row_not_applied(tmp_path: Path) -> None:
    source = write(tmp_path / "c.csv", "CustomerID,BillingCity\n1,Orlando\n2,Austin\n3,Dallas\n")
    errors = tmp_path / "errors.csv"
    with MockServer(["--seed-customers", "3", "--fault-rate", "1", "--random-seed", "2"]) as server:
        done = cli(server, "--max-retries", "0", "customers", "import", str(source), "--batch-size", "1")
        quiet = cli(server, "--max-retries", "0", "customers", "import", str(source), "--errors", str(errors))
    # the mock answers 500 or 503 at random
    why = done.stderr.splitlines()[-1].removeprefix("error: ")
    assert why in (
        "ServerError: 500 Injected fault: internal server error",
        "ServerError: 503 Injected fault: service unavailable",
    )
    report = [
        f"row 2: CustomerID 1: sent, but the run stopped before its answer ({why}): check this customer",
        f"row 3: CustomerID 2: not sent: the run stopped after 0 updates ({why})",
        f"row 4: CustomerID 3: not sent: the run stopped after 0 updates ({why})",
    ]
    summary = (
        f"updated 0 customers; 3 rows not applied (3 of them never answered or never sent); stopped: {why}"
    )
    lines = done.stderr.splitlines()
    assert (done.exit_code, done.stdout) == (1, "")
    assert lines[:4] == [*report, summary] and lines[5:] == [f"error: {why}"]
    assert re.fullmatch(r"import ━+ +1/3 0:00:00", lines[4]), lines[4]
    why = quiet.stderr.splitlines()[-1].removeprefix("error: ")
    assert quiet.exit_code == 1 and quiet.stderr.splitlines()[0] == (
        f"updated 0 customers; 3 rows not applied (3 of them never answered or never sent); stopped: {why}"
    )
    assert list(csv.reader(errors.open())) == [
        ["row", "CustomerID", "message"],
        ["2", "1", f"sent, but the run stopped before its answer ({why}): check this customer"],
        ["3", "2", f"sent, but the run stopped before its answer ({why}): check this customer"],
        ["4", "3", f"sent, but the run stopped before its answer ({why}): check this customer"],
    ]


# --- sync ---------------------------------------------------------------------------------------------------
UNTIL = "2029-12-31T23:59:58+00:00"  # the frozen store's clock less the default lag of 2 s


def state_text(until: str, since: str | None, output: Path, skew: float | None) -> str:
    return json.dumps(
        {
            "next_since": until,
            "last_window": {"since": since, "until": until},
            "last_output": str(output),
            "clock_skew": skew,
        },
        indent=2,
    )


def test_sync_exports_the_window_then_moves_the_watermark(
    frozen: Shop,
    tmp_path: Path,
    machine_clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
    calls: list[tuple[str, dict[str, Any]]],
) -> None:
    state = tmp_path / "state.json"
    first = tmp_path / "state-20291231T235958Z.jsonl"
    monkeypatch.setattr(_app, "time", FakeTime(10.0, 11.5, 20.0, 20.0, 30.0))
    done = cli(frozen.server, "customers", "sync", "--state", str(state))
    assert outcome(done) == (
        0,
        f"exported 6 customers to {first} in 1.5 s (window [the beginning, {UNTIL}], 1 reading(s)); "
        f"next run from {UNTIL}\n",
        progress("sync", 6, 6),
    )
    assert first.read_bytes().decode() == as_jsonl(frozen.customers)
    assert state.read_bytes().decode() == state_text(UNTIL, None, first, 0.0)
    assert calls == [
        ("sync", {"lag": 2.0, "concurrency": 4, "max_clock_skew": 300.0, "last_clock_skew": None}),
    ]
    # the next run starts at the watermark; the file name of its window is taken: a new one beside it
    second = tmp_path / "state-20291231T235958Z-2.jsonl"
    done = cli(frozen.server, "customers", "sync", "--state", str(state), "--concurrency", "2")
    assert outcome(done) == (
        0,
        f"exported 0 customers to {second} in 0.0 s (window [{UNTIL}, {UNTIL}], 1 reading(s)); "
        f"next run from {UNTIL}\n",
        progress("sync", 0, None),
    )
    assert second.read_bytes().decode() == ""
    assert state.read_bytes().decode() == state_text(UNTIL, UNTIL, second, 0.0)
    assert calls[1] == (
        "sync",
        {"lag": 2.0, "concurrency": 2, "max_clock_skew": 300.0, "last_clock_skew": timedelta(0)},
    )
    # with more lag the window would end before the watermark: nothing to do, nothing written
    done = cli(frozen.server, "customers", "sync", "--state", str(state), "--lag", "3")
    assert outcome(done) == (0, "nothing to sync yet\n", progress("sync", 0, None))
    assert state.read_bytes().decode() == state_text(UNTIL, UNTIL, second, 0.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, second.name, "state.json"])


def test_sync_lag_format_output_and_raw_csv(
    frozen: Shop, tmp_path: Path, machine_clock: Callable[[datetime], None]
) -> None:
    state = tmp_path / "a" / "state.json"
    state.parent.mkdir()
    done = cli(frozen.server, "customers", "sync", "--state", str(state), "--lag", "5", "--format", "csv")
    target = tmp_path / "a" / "state-20291231T235955Z.csv"
    assert (done.exit_code, done.stderr) == (0, progress("sync", 6, 6))
    assert done.stdout.startswith(f"exported 6 customers to {target} in ")
    assert target.read_bytes().decode() == as_csv(frozen.customers, FIELD_NAMES)
    assert "'=2+3" in target.read_bytes().decode()
    output = tmp_path / "b" / "chosen.data"
    state = tmp_path / "b.json"
    done = cli(
        frozen.server,
        "customers",
        "sync",
        "--state",
        str(state),
        "-o",
        str(output),
        "--format",
        "csv",
        "--raw-csv",
    )
    assert (done.exit_code, done.stderr) == (0, progress("sync", 6, 6))
    assert output.read_bytes().decode() == as_csv(frozen.customers, FIELD_NAMES, raw=True)
    assert json.loads(state.read_bytes().decode())["last_output"] == str(output)
    jsonl = tmp_path / "c.out"
    done = cli(
        frozen.server, "customers", "sync", "--state", str(tmp_path / "c.json"), "--output", str(jsonl)
    )
    assert jsonl.read_bytes().decode() == as_jsonl(frozen.customers)


def test_sync_refuses_what_it_cannot_do_safely(
    frozen: Shop, tmp_path: Path, machine_clock: Callable[[datetime], None]
) -> None:
    state = tmp_path / "state.json"
    taken = tmp_path / "taken.jsonl"
    taken.write_text("mine\n")
    assert outcome(cli(frozen.server, "customers", "sync", "--state", str(state), "-o", "-")) == (
        1,
        "",
        "error: sync writes a file (it moves the watermark only once the file is complete)\n",
    )
    assert outcome(cli(frozen.server, "customers", "sync", "--state", str(state), "-o", str(taken))) == (
        1,
        "",
        f"error: {taken} exists: sync never replaces a file (move it away, or leave out --output for a new "
        "file per run)\n",
    )
    state.write_text('{"next_since": "soon"}')
    assert outcome(cli(frozen.server, "customers", "sync", "--state", str(state))) == (
        1,
        "",
        f"error: {state} is not a sync state file ('soon' is not a watermark (ISO 8601 with a UTC offset, "
        "e.g. 2026-11-01T01:30:00-04:00))\n",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "taken.jsonl"]
    assert taken.read_bytes().decode() == "mine\n"
    for option, value, message in (
        ("--lag", "0.5", "Invalid value for '--lag': 0.5 is not in the range x>=1.0."),
        ("--max-clock-skew", "0", "Invalid value for '--max-clock-skew': 0.0 is not in the range x>=1.0."),
        ("--concurrency", "33", "Invalid value for '--concurrency': 33 is not in the range 1<=x<=32."),
    ):
        bad = cli(frozen.server, "customers", "sync", "--state", str(state), option, value)
        assert outcome(bad) == (2, "", usage_error("customers sync", message))


def test_sync_compares_the_stores_clock_with_this_machines(
    frozen: Shop, tmp_path: Path, machine_clock: Callable[[datetime], None]
) -> None:
    machine_clock(datetime(2029, 12, 31, 23, 50, tzinfo=UTC))  # 10 minutes behind the store
    state = tmp_path / "state.json"
    refused = cli(frozen.server, "customers", "sync", "--state", str(state))
    assert outcome(refused) == (
        1,
        "",
        progress("sync", 0, None)
        + "error: sync refused: the store's clock (2030-01-01T00:00:00+00:00, its Date "
        "header) is 10.0 min ahead of this machine's (2029-12-31T23:50:00+00:00), more than the 300 s "
        "max_clock_skew allows: one of the two clocks is wrong, and a watermark from it could skip updates; "
        "nothing was read; the watermark stays at the beginning (fix the clock that is wrong, or pass "
        "--max-clock-skew)\n",
    )
    assert list(tmp_path.iterdir()) == []
    # allowed: the window closes at the earlier clock, this machine's
    done = cli(frozen.server, "customers", "sync", "--state", str(state), "--max-clock-skew", "601")
    target = tmp_path / "state-20291231T234958Z.jsonl"
    assert (done.exit_code, done.stderr) == (0, progress("sync", 6, 6))
    assert done.stdout.startswith(f"exported 6 customers to {target} in ")
    assert state.read_bytes().decode() == state_text("2029-12-31T23:49:58+00:00", None, target, 600.0)
    # never compared: the store's clock closes the window
    other = tmp_path / "other.json"
    done = cli(frozen.server, "customers", "sync", "--state", str(other), "--max-clock-skew", "inf")
    assert done.stdout.startswith(f"exported 6 customers to {tmp_path / 'other-20291231T235958Z.jsonl'} in ")
    # a watermark from this run refuses the next run the same way, naming it
    refused = cli(frozen.server, "customers", "sync", "--state", str(state))
    assert refused.exit_code == 1
    assert refused.stderr.endswith(
        "; the watermark stays at 2029-12-31T23:49:58+00:00 "
        "(fix the clock that is wrong, or pass --max-clock-skew)\n"
    )


class FakeRun:
    """A sync run that could not prove its window complete."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.estimate: int | None = 9
        self.window = SyncWindow(None, datetime(2030, 1, 1, tzinfo=UTC), None, datetime(2029, 12, 31, 19, 0))
        self.complete = False
        self.reason = "the window still counts 9 customers after 3 reading(s), but the last reading found 2"
        self.next_since = None
        self.passes = 3
        self.clock_skew = None

    def __iter__(self) -> Iterator[Customer]:
        return (Customer.from_dict(row) for row in self.rows)


def test_an_incomplete_sync_writes_its_file_as_incomplete_and_keeps_the_watermark(
    frozen: Shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Customers, "sync", lambda self, since, **kwargs: FakeRun(ROWS[:2]))
    state = tmp_path / "state.json"
    state.write_text('{"next_since": "2029-12-31T20:00:00+00:00", "clock_skew": 1}')
    done = cli(frozen.server, "customers", "sync", "--state", str(state))
    target = tmp_path / "state-20300101T000000Z.jsonl.incomplete"
    assert outcome(done) == (
        1,
        "",
        "sync "
        + "━" * 8
        + "╸"
        + " " * 31
        + " 2/9 0:00:00\n"
        + "error: sync incomplete: the window still counts 9 customers after 3 reading(s), "
        f"but the last reading found 2; 2 customers written to {target}; the watermark stays at "
        "2029-12-31T20:00:00+00:00\n",
    )
    assert target.read_bytes().decode() == as_jsonl(ROWS[:2])
    assert state.read_bytes().decode() == '{"next_since": "2029-12-31T20:00:00+00:00", "clock_skew": 1}'


def test_an_import_stopped_by_a_signal_lists_every_row_not_applied(
    fresh: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stopped(self: Customers, customers: Iterable[dict[str, Any]], **kwargs: Any) -> Any:
        items = iter(customers)
        for _ in range(3):  # three customers taken, one answered, one refused: then SIGTERM
            next(items)
        exc = SystemExit(128 + signal.SIGTERM)
        attach_partial(exc, BulkResult([1], [BulkFailure(1, 2, 404, "The Customer record was not found")]))
        raise exc

    monkeypatch.setattr(Customers, "update_many", stopped)
    source = write(tmp_path / "c.csv", "CustomerID,Comments\n1,a\n2,b\n3,c\n4,d\nx,e\n")
    errors = tmp_path / "errors.csv"
    report = [
        ["3", "2", "The Customer record was not found"],
        ["4", "3", "sent, but the run stopped before its answer (signal SIGTERM): check this customer"],
        ["5", "4", "not sent: the run stopped after 1 updates (signal SIGTERM)"],
        ["6", "x", "CustomerID must be an integer, not 'x'"],
    ]
    summary = (
        "updated 1 customers; 4 rows not applied (2 of them never answered or never sent); "
        "stopped: signal SIGTERM"
    )
    bar = "import " + "━" * 24 + " " * 16 + " 3/5 0:00:00"
    done = cli(fresh, "customers", "import", str(source))
    assert (done.exit_code, done.stdout) == (143, "")
    assert done.stderr.splitlines() == [
        *(f"row {r}: CustomerID {c}: {m}" for r, c, m in report),
        summary,
        bar,
    ]
    quiet = cli(fresh, "customers", "import", str(source), "--errors", str(errors))
    assert (quiet.exit_code, quiet.stderr.splitlines()) == (143, [summary, bar])
    assert list(csv.reader(errors.open())) == [["row", "CustomerID", "message"], *report]


def test_an_import_interrupted_before_any_answer_counts_nothing_as_updated(
    fresh: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(self: Customers, customers: Iterable[dict[str, Any]], **kwargs: Any) -> Any:
        items = iter(customers)
        next(items)
        next(items)
        raise KeyboardInterrupt  # no partial result: nothing is known to be done

    monkeypatch.setattr(Customers, "update_many", interrupted)
    source = write(tmp_path / "c.csv", "CustomerID,Comments\n1,a\n2,b\n3,c\n4,d\n")
    done = cli(fresh, "customers", "import", str(source))
    assert (done.exit_code, done.stdout) == (130, "")
    assert done.stderr.splitlines() == [
        "row 2: CustomerID 1: sent, but the run stopped before its answer (interrupted): check this customer",
        "row 3: CustomerID 2: sent, but the run stopped before its answer (interrupted): check this customer",
        "row 4: CustomerID 3: not sent: the run stopped after 0 updates (interrupted)",
        "row 5: CustomerID 4: not sent: the run stopped after 0 updates (interrupted)",
        "updated 0 customers; 4 rows not applied (4 of them never answered or never sent); "
        "stopped: interrupted",
        "import " + "━" * 20 + " " * 20 + " 2/4 0:00:00",
    ]  # and the exit status of Ctrl-C (typer's, here, where no signal handler is installed)


# --- a range in the store's time zone -----------------------------------------------------------------------
FALL_BACK = ("--updated-since", "2026-11-01T05:30:00+00:00", "--updated-until", "2026-11-01T06:10:00+00:00")
"""Instants in order, inverted in New York time: 05:30 UTC is 01:30 EDT; 06:10 UTC is 01:10 EST, after the
clocks fell back."""


def test_a_range_inverted_in_store_time_is_a_usage_error(shop: Shop) -> None:
    done = cli(shop.server, "customers", "count", *FALL_BACK)
    message = (
        "Invalid value: --updated-since (11/01/2026 01:30:00) is after --updated-until "
        "(11/01/2026 01:10:00): no customer can match"
    )
    assert outcome(done) == (2, "", usage_error("customers count", message))


@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_range_is_checked_in_the_zone_the_store_is_given(shop: Shop, how: str) -> None:
    # in UTC the same range is in order: the count runs
    if how == "option":
        done = cli(shop.server, "--store-timezone", "UTC", "customers", "count", *FALL_BACK)
    else:
        done = cli(shop.server, "customers", "count", *FALL_BACK, THREEDCART_STORE_TIMEZONE="UTC")
    assert outcome(done) == (0, "0\n", "")


def test_an_inverted_range_in_another_zone_names_its_own_instants(shop: Shop) -> None:
    # 2026-03-08 02:30 does not exist in New York: in Tokyo these are 2026-03-09 00:00 and 2026-03-08 23:00
    args = ("--updated-since", "2026-03-08T15:00:00+00:00", "--updated-until", "2026-03-08T14:00:00+00:00")
    done = cli(shop.server, "customers", "count", *args, THREEDCART_STORE_TIMEZONE="Asia/Tokyo")
    message = (
        "Invalid value: --updated-since (03/09/2026 00:00:00) is after --updated-until "
        "(03/08/2026 23:00:00): no customer can match"
    )
    assert outcome(done) == (2, "", usage_error("customers count", message))


def test_an_unknown_zone_is_the_stores_error_not_the_ranges(shop: Shop) -> None:
    done = cli(shop.server, "customers", "count", *FALL_BACK, THREEDCART_STORE_TIMEZONE="Nowhere/Zone")
    assert outcome(done) == (
        1,
        "",
        "error: THREEDCART_STORE_TIMEZONE: 'Nowhere/Zone' is not a time zone this machine knows (an IANA "
        "name, e.g. America/New_York)\n",
    )


# --- a field the API added after this SDK was generated ---------------------------------------------------
def test_export_keeps_a_field_the_api_added_after_this_sdk_was_generated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = copy.deepcopy(SPEC)
    for schema in ("Customer", "CustomerUpdate"):  # (make generate derives the second from the first)
        spec["components"]["schemas"][schema]["properties"]["XyzzyTier"] = {"type": "string", "maxLength": 20}
    changed = tmp_path / "customers.yaml"
    changed.write_text(json.dumps(spec))  # JSON is YAML
    monkeypatch.setenv("THREEDCART_SPEC", str(changed))  # the mock serves the newer API
    with MockServer(["--seed-customers", "2", "--random-seed", "1"]) as server:
        monkeypatch.delenv("THREEDCART_SPEC")
        with http(server) as client:  # (the SDK sends only the fields it knows)
            answer = client.put("/Customers/1", json={"XyzzyTier": "gold"})
            assert answer.status_code == 200, answer.text
        jsonl, csv_file = tmp_path / "all.jsonl", tmp_path / "all.csv"
        assert cli(server, "customers", "export", "-o", str(jsonl)).exit_code == 0
        assert cli(server, "customers", "export", "-o", str(csv_file)).exit_code == 0
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    # JSON Lines keep every field the store sent (the new one first, as the generated to_dict puts it);
    # CSV has the SDK's columns
    assert [row["XyzzyTier"] for row in rows] == ["gold", ""]
    assert [list(row) for row in rows] == [["XyzzyTier", *FIELD_NAMES]] * 2
    assert csv_file.read_text().splitlines()[0].split(",") == list(FIELD_NAMES)

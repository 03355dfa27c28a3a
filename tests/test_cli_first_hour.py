"""What a newcomer meets in the first hour: the table in a real terminal, plain help, Unix manners
(a closed pipe, Ctrl-C, a store that dies mid-export), usage errors, and CSV rows typed for
`update_many` with blanks that can clear a field."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import threedcart
from conftest import store_kwargs
from threedcart_mock.testing import MockServer

CLI = str(Path(sys.executable).parent / "threedcart")
BOX = "┃│"


def _env(server: MockServer | None, base_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREEDCART_") and k != "COLUMNS"}
    if server is not None:
        env.update(
            THREEDCART_SECURE_URL=server.headers["SecureURL"],
            THREEDCART_PRIVATE_KEY=server.headers["PrivateKey"],
            THREEDCART_TOKEN=server.headers["Token"],
            THREEDCART_BASE_URL=base_url or server.url,
        )
    return env


def in_terminal(server: MockServer | None, width: int, *args: str) -> str:
    """What `threedcart ARGS` shows in a pseudo-terminal `width` columns wide (stdout and stderr)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    # a terminal's own TERM: with TERM=dumb (a CI runner, a mutation run) Rich takes no size from it
    env = {**_env(server), "TERM": "xterm-256color"}
    proc = subprocess.Popen(
        [CLI, *args], stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's last writer closed it
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif proc.poll() is not None:
            break
    os.close(leader)
    assert proc.wait(timeout=30) == 0
    text = b"".join(chunks).decode()
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r\n", "\n")


@pytest.fixture(scope="module")
def store() -> Iterator[MockServer]:
    with MockServer(["--seed-customers", "40", "--random-seed", "20"]) as server:
        with threedcart.Store(**store_kwargs(server)) as client:  # type: ignore[arg-type]
            # long values: the table has to shorten something at every width below 160
            client.customers.update(3, {"Email": "maximilian.schwarzenberger-oppenheim@example.com"})
            client.customers.update(4, {"BillingCity": "Llanfairpwllgwyngyll"})
        yield server


@pytest.mark.parametrize("width", [60, 80, 100, 160])
def test_the_list_table_fits_the_terminal_with_whole_headers_and_ids(store: MockServer, width: int) -> None:
    shown = in_terminal(store, width, "customers", "list", "--limit", "12")
    lines = [line for line in shown.splitlines() if line.strip()]
    assert max(len(line) for line in lines) <= width
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == 12  # one line per customer: nothing wrapped
    header = next(line for line in lines if line.startswith("┃"))
    titles = [t.strip() for t in header.strip(BOX).split("┃")]
    assert "…" not in header and titles[:2] == ["CustomerID", "Email"]
    for row, customer_id in zip(rows, range(1, 13), strict=True):
        assert row.split("│")[1].strip() == str(customer_id)  # the id, whole, in its column
    assert ("Last name" in titles) is (width >= 60)
    assert ("Group" in titles) is (width >= 160)  # the last by priority appears only when all fit
    if width == 160:
        assert "maximilian.schwarzenberger-oppenheim@example.com" in shown  # nothing shortened


@pytest.mark.parametrize("width", [60, 80])
def test_chosen_columns_that_do_not_fit_are_dropped_from_the_end_with_a_note(
    store: MockServer, width: int
) -> None:
    chosen = "CustomerID,Email,BillingFirstName,BillingLastName,BillingAddress1,BillingZipCode"
    shown = in_terminal(store, width, "customers", "list", "--limit", "5", "--columns", chosen)
    lines = [line for line in shown.splitlines() if line.strip()]
    table = [line for line in lines if line[:1] in "┏┃┡│└"]
    assert max(len(line) for line in table) <= width
    header = next(line for line in lines if line.startswith("┃"))
    assert "BillingZipCode" not in header and "CustomerID" in header  # by the order given
    assert any(line.startswith("note:") and "BillingZipCode" in line for line in lines)


def test_help_is_plain_text_wrapped_at_the_terminal_width() -> None:
    shown = in_terminal(None, 80, "customers", "sync", "--help")
    lines = shown.splitlines()
    assert max(len(line) for line in lines) <= 80
    prose = " ".join(line.strip() for line in lines)
    assert "the window [watermark, store clock - lag], checks that it is complete" in prose  # no markup
    paragraph = lines[2 : lines.index("", 3)]  # the first paragraph after "Usage:"
    assert all(len(line.split()) > 3 for line in paragraph[:-1])  # no one-word lines
    for command in ("import", "sync", "export"):
        text = in_terminal(None, 60, "customers", command, "--help")
        assert max(len(line) for line in text.splitlines()) <= 60


def test_version_names_the_sdk_and_the_api() -> None:
    shown = subprocess.run([CLI, "--version"], capture_output=True, text=True, check=True).stdout
    assert shown == f"threedcart {threedcart.__version__} (API contract {threedcart.API_VERSION})\n"


def test_a_closed_stdout_ends_the_export_quietly_with_sigpipes_status(store: MockServer) -> None:
    proc = subprocess.Popen(
        [CLI, "customers", "export", "-o", "-", "--concurrency", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(store),
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = json.loads(proc.stdout.readline())
    assert first["CustomerID"] == 1
    proc.stdout.close()  # as `| head -n 1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 128 + signal.SIGPIPE
    assert "error" not in err.lower() and "Broken pipe" not in err and "Traceback" not in err


def test_ctrl_c_mid_export_says_how_far_it_got_and_that_nothing_was_written(tmp_path: Path) -> None:
    with MockServer(["--seed-customers", "3000", "--latency-ms", "700"]) as slow:
        target = tmp_path / "customers.jsonl"
        proc = subprocess.Popen(
            [CLI, "customers", "export", "-o", str(target), "--concurrency", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(slow),
            text=True,
        )
        time.sleep(2.5)  # counted (0.7 s), then reading pages of 500 (0.7 s each)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(
        rf"error: export stopped after [\d,]+ of 3,000 customers \(signal SIGINT\); {re.escape(str(target))} "
        "was not written",
        last,
    ), last
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_a_store_that_dies_mid_export_is_one_line_naming_the_host_and_what_was_kept(tmp_path: Path) -> None:
    target = tmp_path / "customers.jsonl"
    target.write_text("yesterday\n")
    server = MockServer(["--seed-customers", "3000", "--latency-ms", "700"])
    server.start()
    try:
        proc = subprocess.Popen(
            [CLI, "--max-retries", "0", "customers", "export", "-o", str(target), "--concurrency", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(server),
            text=True,
        )
        time.sleep(2.5)
    finally:
        server.stop()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    host, port = server.url.removeprefix("http://").split(":")
    assert len(lines) == 1 and re.fullmatch(
        rf"error: export stopped after [\d,]+ of 3,000 customers \(APIConnectionError: no answer from "
        rf"{re.escape(host)}:{port} \(.*\)\); {re.escape(str(target))} keeps its previous content",
        lines[0],
    ), err
    assert target.read_text() == "yesterday\n"


def test_a_connection_error_names_the_host_and_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    env = {
        **_env(None),
        "THREEDCART_SECURE_URL": "https://demo-store.3dcartstores.com",
        "THREEDCART_PRIVATE_KEY": "k",
        "THREEDCART_TOKEN": "t",
        "THREEDCART_BASE_URL": f"http://127.0.0.1:{port}",
    }
    done = subprocess.run(
        [CLI, "--max-retries", "0", "customers", "count"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.startswith(
        f"error: APIConnectionError: no answer from 127.0.0.1:{port} (ConnectError: "
    )


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_columns_apply_to_every_format_in_their_order(store: MockServer, fmt: str) -> None:
    done = subprocess.run(
        [CLI, "customers", "list", "--limit", "3", "--format", fmt, "--columns", "Email,CustomerID"],
        capture_output=True,
        text=True,
        env=_env(store),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(done.stdout)))
        assert rows[0] == ["Email", "CustomerID"] and [r[1] for r in rows[1:]] == ["1", "2", "3"]
    else:
        items = (
            json.loads(done.stdout) if fmt == "json" else [json.loads(x) for x in done.stdout.splitlines()]
        )
        assert [list(item) for item in items] == [["Email", "CustomerID"]] * 3


def test_an_inverted_date_range_is_a_usage_error(store: MockServer) -> None:
    done = subprocess.run(
        [CLI, "customers", "count", "--updated-since", "2026-11-01", "--updated-until", "2026-10-01"],
        capture_output=True,
        text=True,
        env=_env(store),
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert (
        "--updated-since (11/01/2026 00:00:00) is after --updated-until (10/01/2026 23:59:59)" in done.stderr
    )
    with threedcart.Store(**store_kwargs(store)) as client:  # type: ignore[arg-type]
        with pytest.raises(
            ValueError, match=r"^updated_since \(11/01/2026 00:00:00\) is after updated_until"
        ):
            client.customers.count(updated_since="2026-11-01", updated_until="2026-10-01")
        # one day is a range: since its first second, until its last
        assert client.customers.count(updated_since="2026-11-01", updated_until="2026-11-01") >= 0


@pytest.mark.parametrize("given", ["abc", b"abc", {"CustomerID": 1, "Email": "a@example.com"}, 42])
def test_update_many_refuses_what_is_not_an_iterable_of_customers(store: MockServer, given: object) -> None:
    with threedcart.Store(**store_kwargs(store)) as client:  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"^customers must be an iterable of customers") as info:
            client.customers.update_many(given)  # type: ignore[arg-type]
    if isinstance(given, dict):
        assert "one customer" in str(info.value) and "wrap it in a list" in str(info.value)


def test_csv_rows_become_typed_customers_for_update_many(store: MockServer) -> None:
    text = "CustomerID,BillingCity,Enabled,CustomerGroupID,Comments\n7,Orlando,false,2,'=SUM(1)\n8,,true,0,\n"
    rows = [threedcart.customer_from_csv_row(r) for r in csv.DictReader(io.StringIO(text))]
    assert rows == [
        {
            "CustomerID": 7,
            "BillingCity": "Orlando",
            "Enabled": False,
            "CustomerGroupID": 2,
            "Comments": "=SUM(1)",
        },
        {"CustomerID": 8, "Enabled": True, "CustomerGroupID": 0},  # blanks leave fields unchanged
    ]
    cleared = threedcart.customer_from_csv_row(
        {"CustomerID": "8", "BillingCity": "", "TotalStoreCredit": ""}, blanks="clear"
    )
    assert cleared == {"CustomerID": 8, "BillingCity": ""}  # a number cannot be blank: unchanged
    with threedcart.Store(**store_kwargs(store)) as client:  # type: ignore[arg-type]
        result = client.customers.update_many(rows)
        assert sorted(result.updated) == [7, 8] and not result.failed
        assert client.customers.get(7).billing_city == "Orlando"
    with pytest.raises(ValueError) as info:
        threedcart.customer_from_csv_row({"CustomerID": "x", "Emial": "a@example.com", "Enabled": "maybe"})
    assert str(info.value) == (
        "unknown column(s) Emial (did you mean Email?); CustomerID must be an integer, not 'x'; "
        "Enabled must be true or false, not 'maybe'"
    )
    with pytest.raises(ValueError, match="more cells than the header"):
        threedcart.customer_from_csv_row({"CustomerID": "1", None: ["extra"]})
    with pytest.raises(TypeError, match="not a list"):
        threedcart.customer_from_csv_row(["1", "x"])  # type: ignore[arg-type]


def test_export_then_import_with_blanks_clear_restores_todays_blanks(
    store: MockServer, tmp_path: Path
) -> None:
    env = _env(store)
    with threedcart.Store(**store_kwargs(store)) as client:  # type: ignore[arg-type]
        client.customers.update(9, {"BillingCompany": "", "Comments": ""})
        backup = tmp_path / "backup.csv"
        subprocess.run(
            [CLI, "customers", "export", "-o", str(backup), "--updated-since", "2000-01-01"],
            check=True,
            env=env,
            capture_output=True,
            timeout=60,
        )
        client.customers.update(9, {"BillingCompany": "Acme", "Comments": "written after the backup"})
        kept = subprocess.run(
            [CLI, "customers", "import", str(backup)], env=env, capture_output=True, text=True, timeout=60
        )
        assert kept.returncode == 0, kept.stderr
        assert client.customers.get(9).billing_company == "Acme"  # the default keeps what a blank hides
        cleared = subprocess.run(
            [CLI, "customers", "import", str(backup), "--blanks", "clear"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cleared.returncode == 0, cleared.stderr
        after = client.customers.get(9)
        assert after.billing_company == "" and after.comments == ""


def test_fit_columns_keeps_priority_whole_headers_and_gives_spare_room_in_order() -> None:
    from threedcart._cli._app import fit_columns

    widths = {"CustomerID": 10, "Email": 40, "BillingLastName": 9, "BillingState": 5}
    order = tuple(widths)
    overhead = lambda n: 3 * n + 1  # noqa: E731 -- the table's borders and padding
    sizes, left_out = fit_columns(widths, order, 200)
    assert sizes == widths and left_out == ()
    sizes, left_out = fit_columns(widths, order, 60)
    assert list(sizes) == ["CustomerID", "Email", "BillingLastName"] and left_out == ("BillingState",)
    assert sum(sizes.values()) + overhead(3) == 60 and sizes["Email"] == 60 - overhead(3) - 10 - 9
    sizes, left_out = fit_columns(widths, order, 30)
    assert sizes == {"CustomerID": 10, "Email": 13} and sum(sizes.values()) + overhead(2) == 30
    sizes, _ = fit_columns(widths, order, 5)
    assert sizes == {"CustomerID": 10}  # the first column stays, whole, whatever the width
    sizes, _ = fit_columns({"CustomerID": 10, "BillingFirstName": 30}, ("CustomerID", "BillingFirstName"), 29)
    assert sizes["BillingFirstName"] == 12  # shortened to no less than its title and 12 characters


def test_a_security_warning_is_one_line_not_a_python_warning_too() -> None:
    env = {
        **_env(None),
        "THREEDCART_SECURE_URL": "https://demo-store.3dcartstores.com",
        "THREEDCART_PRIVATE_KEY": "k",
        "THREEDCART_TOKEN": "t",
        "THREEDCART_BASE_URL": "http://api.example.invalid:9",  # plain http to a host that is not loopback
    }
    # the store is built, then the file cannot be read: nothing is sent anywhere
    done = subprocess.run(
        [CLI, "customers", "create", "/nonexistent/customer.json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1 and "error: cannot read /nonexistent/customer.json" in done.stderr
    warned = [line for line in done.stderr.splitlines() if "plain http://" in line]
    assert warned == [
        "threedcart: http://api.example.invalid:9 is plain http://: credentials travel unencrypted"
    ]
    assert "UserWarning" not in done.stderr and "Store.from_env" not in done.stderr


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_export_takes_columns_too(store: MockServer, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"emails.{suffix}"
    done = subprocess.run(
        [CLI, "customers", "export", "-o", str(target), "--columns", "CustomerID,Email"],
        capture_output=True,
        text=True,
        env=_env(store),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    with threedcart.Store(**store_kwargs(store)) as client:  # type: ignore[arg-type]
        expected = {c.customer_id: c.email for c in client.customers.iter()}
    if suffix == "csv":
        rows = list(csv.DictReader(target.open(newline="")))
        assert list(rows[0]) == ["CustomerID", "Email"]
        assert {int(r["CustomerID"]): r["Email"] for r in rows} == expected
    else:
        items = [json.loads(line) for line in target.read_text().splitlines()]
        assert all(list(item) == ["CustomerID", "Email"] for item in items)
        assert {i["CustomerID"]: i["Email"] for i in items} == expected


def _commands() -> Iterator[tuple[str, Any]]:
    import typer.main
    from threedcart._cli import _app

    def walk(group: Any, prefix: str) -> Iterator[tuple[str, Any]]:
        for name, sub in group.commands.items():
            if hasattr(sub, "commands"):
                yield from walk(sub, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", sub

    root = typer.main.get_command(_app.app)
    yield "(root options)", root
    yield from walk(root, "")


def test_every_option_of_every_command_is_read_by_the_command() -> None:
    # an option declared and then ignored (never passed on) is the CLI bug no other test names
    import ast
    import inspect
    import textwrap

    for name, command in _commands():
        function = command.callback
        while hasattr(function, "__wrapped__"):  # the filters' wrapper reads its own options
            function = function.__wrapped__
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        eager = {p.name for p in command.params if p.callback is not None}  # --version acts alone
        parameters = [p for p in inspect.signature(function).parameters if p != "ctx" and p not in eager]
        assert parameters, name
        unread = [p for p in parameters if p not in read]
        assert unread == [], f"{name}: {unread} never read"


def test_every_filter_of_the_spec_reaches_the_request_from_every_command(
    store: MockServer, tmp_path: Path
) -> None:
    from urllib.parse import parse_qs, urlsplit

    from threedcart_customers_client.spec import LIST_FILTERS

    args: list[str] = []
    expected: dict[str, str] = {}
    for name, spec in LIST_FILTERS.items():
        flag = "--" + name.replace("_", "-")
        kind = spec["schema"].get("type")
        if spec["store_time"]:
            value, sent = (
                ("2026-01-02", "01/02/2026 00:00:00")
                if spec["match"] != "until"
                else (
                    "2026-03-04",
                    "03/04/2026 23:59:59",
                )
            )
        elif kind == "boolean":
            args.append(flag)
            expected[spec["param"]] = ""  # sent in the API's form; present is what counts here
            continue
        elif kind in ("integer", "number"):
            value = sent = "7"
        else:
            value = sent = f"XTest{name}"
        args += [flag, value]
        expected[spec["param"]] = sent
    runs = {
        "count": ["customers", "count"],
        "list": ["customers", "list", "--format", "jsonl"],
        "export": ["customers", "export", "-o", str(tmp_path / "x.jsonl")],
    }
    for command, words in runs.items():
        done = subprocess.run(
            [CLI, "-v", *words, *args], capture_output=True, text=True, env=_env(store), timeout=60
        )
        assert done.returncode == 0, done.stderr
        urls = [
            line.split()[3] for line in done.stderr.splitlines() if line.startswith("DEBUG threedcart: GET")
        ]
        assert urls, command
        for url in urls:
            query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
            missing = {p: v for p, v in expected.items() if p not in query or (v and query[p] != v)}
            assert missing == {}, (command, url)

"""The CLI with hostile customer data, narrow terminals, signals, umasks and `-v`; the `cli` extra."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import threedcart
from conftest import store_kwargs
from threedcart_mock.testing import MockServer

CLI = str(Path(sys.executable).parent / "threedcart")

NASTY = {
    "markup": "[/bold]",
    "colour": "\x1b[31mred\x1b[0m",
    "link": "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "bidi": "\u202egnp.exe",
    "bell": "ding\x07\x9b2J",
}


def cli(
    server: MockServer | None,
    *args: str,
    columns: int = 200,
    umask: int | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREEDCART_")}
    if server is not None:
        env.update(
            THREEDCART_SECURE_URL=server.headers["SecureURL"],
            THREEDCART_PRIVATE_KEY=server.headers["PrivateKey"],
            THREEDCART_TOKEN=server.headers["Token"],
            THREEDCART_BASE_URL=server.url,
        )
    env["COLUMNS"] = str(columns)
    return subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        input=input,
        preexec_fn=None if umask is None else (lambda: os.umask(umask) and None),
    )


@pytest.fixture(scope="module")
def nasty() -> Iterator[MockServer]:
    """A store whose first customers carry markup, escape sequences and formulas."""
    with MockServer(["--seed-customers", "30", "--random-seed", "4"]) as server:
        with threedcart.Store(**store_kwargs(server)) as store:  # type: ignore[arg-type]
            store.customers.update_many(
                [
                    {
                        "CustomerID": 1,
                        "BillingFirstName": NASTY["markup"],
                        "BillingLastName": NASTY["markup"],
                    },
                    {"CustomerID": 2, "BillingLastName": NASTY["colour"], "BillingCity": NASTY["link"]},
                    {"CustomerID": 3, "BillingLastName": NASTY["bidi"], "BillingCity": NASTY["bell"]},
                    {"CustomerID": 4, "BillingLastName": '=HYPERLINK("http://x")', "Comments": ":smile:"},
                    {"CustomerID": 5, "BillingPhoneNumber": "+1 555 0100", "BillingLastName": "'t Hooft"},
                ]
            )
        yield server


def test_customer_data_is_never_markup_nor_escapes(nasty: MockServer) -> None:
    for args in (
        ("list", "--limit", "6"),
        ("get", "2", "--format", "table"),
        ("get", "3", "--format", "table"),
    ):
        result = cli(nasty, "customers", *args)
        assert result.returncode == 0, result.stderr
        assert not set(result.stdout) & {"\x1b", "\x07", "\x9b", "\u202e"}, args
        assert "evil.example" not in result.stdout
    table = cli(nasty, "customers", "list", "--limit", "6").stdout
    assert "[/bold]" in table and "red" in table and "click" in table and "gnp.exe" in table
    # machine formats keep the data exactly (and never turn :smile: into an emoji)
    listed = json.loads(cli(nasty, "customers", "list", "--limit", "5", "--format", "json").stdout)
    assert [c["BillingLastName"] for c in listed[:3]] == [NASTY["markup"], NASTY["colour"], NASTY["bidi"]]
    assert listed[1]["BillingCity"] == NASTY["link"] and listed[3]["Comments"] == ":smile:"
    raw_jsonl = cli(nasty, "customers", "list", "--limit", "3", "--format", "jsonl").stdout
    assert "\x1b" not in raw_jsonl and "\x9b" not in raw_jsonl  # escaped as \u001b, \u009b
    assert json.loads(raw_jsonl.splitlines()[2])["BillingCity"] == NASTY["bell"]


def test_csv_neutralises_formulas_unless_raw_and_imports_back_exactly(
    nasty: MockServer, tmp_path: Path
) -> None:
    out = tmp_path / "out.csv"
    assert cli(nasty, "customers", "export", "-o", str(out)).returncode == 0
    rows = {r["CustomerID"]: r for r in csv.DictReader(out.open())}
    assert rows["4"]["BillingLastName"] == '\'=HYPERLINK("http://x")'
    assert rows["5"]["BillingPhoneNumber"] == "'+1 555 0100" and rows["5"]["BillingLastName"] == "'t Hooft"
    assert all(not v.startswith(("=", "+", "-", "@")) for r in rows.values() for v in r.values() if v)
    raw = list(
        csv.DictReader(io.StringIO(cli(nasty, "customers", "list", "--format", "csv", "--raw-csv").stdout))
    )
    assert raw[3]["BillingLastName"] == '=HYPERLINK("http://x")'
    # the neutralised file imports back to the same values
    back = cli(nasty, "customers", "import", str(out))
    assert back.returncode == 0, back.stderr
    customer = json.loads(cli(nasty, "customers", "get", "5").stdout)
    assert (customer["BillingPhoneNumber"], customer["BillingLastName"]) == ("+1 555 0100", "'t Hooft")


def test_output_to_stdout_and_files_with_the_umasks_mode(nasty: MockServer, tmp_path: Path) -> None:
    piped = cli(nasty, "customers", "export", "-o", "-", "--format", "jsonl")
    assert piped.returncode == 0
    assert [json.loads(line)["CustomerID"] for line in piped.stdout.splitlines()] == list(range(1, 31))
    assert "exported 30 customers to standard output" in piped.stderr
    assert not list(tmp_path.iterdir()) and not Path("-").exists()
    out, errors_file = tmp_path / "a.jsonl", tmp_path / "errors.csv"
    assert cli(nasty, "customers", "export", "-o", str(out), umask=0o002).returncode == 0
    changes = tmp_path / "c.jsonl"
    changes.write_text('{"CustomerID": 999999}\n')
    cli(nasty, "customers", "import", str(changes), "--errors", str(errors_file), umask=0o027)
    assert (out.stat().st_mode & 0o777, errors_file.stat().st_mode & 0o777) == (0o664, 0o640)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_leaves_no_temporary_file(tmp_path: Path, signum: int, code: int) -> None:
    with MockServer(["--seed-customers", "3000", "--latency-ms", "300"]) as server:
        env = {
            **os.environ,
            "THREEDCART_SECURE_URL": server.headers["SecureURL"],
            "THREEDCART_PRIVATE_KEY": server.headers["PrivateKey"],
            "THREEDCART_TOKEN": server.headers["Token"],
            "THREEDCART_BASE_URL": server.url,
        }
        target = tmp_path / "all.jsonl"
        proc = subprocess.Popen(
            [CLI, "customers", "export", "-o", str(target), "--concurrency", "2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob(".all.jsonl.*")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert list(tmp_path.glob(".all.jsonl.*")), "the export never began writing"
        time.sleep(0.4)
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == code
        assert list(tmp_path.iterdir()) == []


def test_errors_stay_on_one_line_in_a_narrow_terminal(nasty: MockServer) -> None:
    missing = cli(nasty, "customers", "get", "999999", columns=20)
    assert missing.returncode == 1
    assert missing.stderr == "error: NotFoundError: 404 The Customer record was not found\n"


def test_list_fits_80_columns_and_columns_can_be_chosen(nasty: MockServer) -> None:
    narrow = cli(nasty, "customers", "list", "--limit", "12", "--offset", "6", columns=80)
    assert narrow.returncode == 0
    lines = narrow.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert all(any(f" {n} " in line for line in lines) for n in range(6, 18))  # ids whole
    assert "Email" in narrow.stdout and "Country" not in narrow.stdout  # dropped by priority
    assert "…" not in lines[1] and "First name" in lines[1]  # headers stay whole
    wide = cli(nasty, "customers", "list", "--limit", "3", columns=160).stdout
    assert "City" in wide and "Country" in wide
    chosen = cli(
        nasty, "customers", "list", "--limit", "2", "--columns", "CustomerID,BillingZipCode", columns=80
    )
    assert "BillingZipCode" in chosen.stdout and "Email" not in chosen.stdout
    bad = cli(nasty, "customers", "list", "--columns", "CustomerID,XTestColour")
    assert bad.returncode == 2 and "XTestColour" in bad.stderr


def test_verbose_logs_the_sdk_and_httpx_only(nasty: MockServer) -> None:
    result = cli(nasty, "-v", "customers", "count")
    assert result.returncode == 0 and result.stdout == "30\n"
    assert "DEBUG threedcart" in result.stderr and "INFO httpx: HTTP Request: GET" in result.stderr
    assert "httpcore" not in result.stderr
    assert nasty.headers["Token"] not in result.stderr


def test_the_sdk_does_not_need_the_cli_extra() -> None:
    # (httpx imports rich and click for its own command line when they happen to be installed)
    absent = (
        "import sys\n"
        "for name in ('typer', 'rich', 'click'): sys.modules[name] = None\n"
        "import threedcart, threedcart._rows\n"
        "print(threedcart.Store.__name__, 'typer' in sys.modules and sys.modules['typer'] is not None)"
    )
    sdk = subprocess.run([sys.executable, "-c", absent], capture_output=True, text=True)
    assert sdk.stdout == "Store False\n", sdk.stderr
    without = (
        "import sys; sys.modules['typer'] = None; sys.argv = ['threedcart', 'customers', 'count']\n"
        "from threedcart._cli import main; main()"
    )
    result = subprocess.run([sys.executable, "-c", without], capture_output=True, text=True)
    assert result.returncode == 1
    # threedcart is on no package index: the hint installs the extra from a checkout or a wheel
    wheel = f"dist/threedcart-{threedcart.__version__}-py3-none-any.whl"
    assert result.stderr == (
        "error: the threedcart command needs typer, from threedcart's cli extra: pip install '.[cli]' in a "
        f"checkout of threedcart, or pip install '{wheel}[cli]' after make dist\n"
    )

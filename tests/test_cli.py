"""The `threedcart` console script, run as a subprocess against the mock."""

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
from conftest import CUSTOMER_FIELDS
from threedcart._cli._app import app
from threedcart_mock.testing import MockServer
from typer.testing import CliRunner

CLI = str(Path(sys.executable).parent / "threedcart")


def run(
    server: MockServer | None, *args: str, input: str | None = None, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("THREEDCART_")}
    if server is not None:
        environ.update(
            THREEDCART_SECURE_URL=server.headers["SecureURL"],
            THREEDCART_PRIVATE_KEY=server.headers["PrivateKey"],
            THREEDCART_TOKEN=server.headers["Token"],
            THREEDCART_BASE_URL=server.url,
        )
    environ.update(env, COLUMNS="200")
    return subprocess.run(
        [CLI, *args], input=input, capture_output=True, text=True, timeout=120, env=environ, cwd=cwd
    )


@pytest.fixture(scope="module")
def seeded(seeded_mock: MockServer) -> MockServer:
    return seeded_mock


@pytest.fixture
def fresh() -> Iterator[MockServer]:
    with MockServer(["--seed-customers", "300", "--random-seed", "11"]) as server:
        yield server


def test_count_and_filters(seeded: MockServer) -> None:
    result = run(seeded, "customers", "count")
    assert result.returncode == 0 and result.stdout.strip() == "1234"
    fl = run(seeded, "customers", "count", "--state", "FL")
    by_group = run(seeded, "customers", "count", "--group-id", "2")
    none = run(seeded, "customers", "count", "--email", "nobody@example.invalid")
    assert 0 < int(fl.stdout) < 1234 and 0 < int(by_group.stdout) < 1234 and none.stdout.strip() == "0"
    window = run(
        seeded, "customers", "count", "--updated-since", "2024-01-01", "--updated-until", "2024-06-30"
    )
    assert 0 < int(window.stdout) < 1234


def test_list_in_every_format(seeded: MockServer) -> None:
    table = run(seeded, "customers", "list", "--limit", "3", "--offset", "5")
    assert table.returncode == 0 and "CustomerID" in table.stdout
    assert all(f" {n} " in table.stdout for n in (5, 6, 7))
    as_json = json.loads(run(seeded, "customers", "list", "--limit", "3", "--format", "json").stdout)
    assert [c["CustomerID"] for c in as_json] == [1, 2, 3] and len(as_json[0]) == len(CUSTOMER_FIELDS)
    lines = run(seeded, "customers", "list", "--limit", "4", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["CustomerID"] for line in lines] == [1, 2, 3, 4]
    rows = list(
        csv.DictReader(
            io.StringIO(run(seeded, "customers", "list", "--limit", "2", "--format", "csv").stdout)
        )
    )
    assert [r["CustomerID"] for r in rows] == ["1", "2"] and rows[0]["Enabled"] in ("true", "false")
    empty = run(seeded, "customers", "list", "--email", "nobody@example.invalid", "--format", "json")
    assert empty.returncode == 0 and json.loads(empty.stdout) == []


def test_get_in_every_format(seeded: MockServer) -> None:
    one = json.loads(run(seeded, "customers", "get", "7").stdout)
    assert one["CustomerID"] == 7
    assert json.loads(run(seeded, "customers", "get", "7", "--format", "jsonl").stdout) == one
    table = run(seeded, "customers", "get", "7", "--format", "table").stdout
    assert "BillingCity" in table and one["Email"] in table
    rows = list(csv.DictReader(io.StringIO(run(seeded, "customers", "get", "7", "--format", "csv").stdout)))
    assert rows[0]["Email"] == one["Email"]
    missing = run(seeded, "customers", "get", "999999")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: NotFoundError: 404 The Customer record was not found"


def test_create_update_delete(fresh: MockServer, tmp_path: Path) -> None:
    body = tmp_path / "new.json"
    body.write_text(json.dumps({"Email": "cli@example.com", "BillingCity": "Miami"}))
    created = run(fresh, "customers", "create", str(body))
    assert created.returncode == 0
    cid = int(created.stdout)
    from_stdin = run(fresh, "customers", "create", "-", input='{"Email": "stdin@example.com"}')
    assert int(from_stdin.stdout) == cid + 1
    assert run(fresh, "customers", "update", str(cid), "-", input='{"BillingCity": "Tampa"}').returncode == 0
    record = json.loads(run(fresh, "customers", "get", str(cid)).stdout)
    assert (record["BillingCity"], record["Email"]) == ("Tampa", "cli@example.com")
    declined = run(fresh, "customers", "delete", str(cid), input="n\n")
    assert declined.returncode == 1 and "not deleted" in declined.stderr
    assert run(fresh, "customers", "get", str(cid)).returncode == 0
    assert run(fresh, "customers", "delete", str(cid), input="y\n").returncode == 0
    assert run(fresh, "customers", "get", str(cid)).returncode == 1
    assert run(fresh, "customers", "delete", str(cid + 1), "--yes").returncode == 0
    bad = run(fresh, "customers", "create", "-", input="{not json")
    assert bad.returncode == 1 and "is not valid JSON" in bad.stderr
    refused = run(fresh, "customers", "create", "-", input=json.dumps({"Email": "x" * 101}))
    assert refused.returncode == 1 and "Email is longer than 100 characters" in refused.stderr
    typo = run(fresh, "customers", "create", "-", input='{"email": "x@example.com"}')
    assert typo.returncode == 1 and "unknown field(s) email" in typo.stderr


def test_export_jsonl_and_csv(seeded: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "all.jsonl"
    result = run(seeded, "customers", "export", "--output", str(out), "--concurrency", "3")
    assert result.returncode == 0
    assert (
        result.stdout.startswith(f"exported 1234 customers to {out} in ") and "customers/s" in result.stdout
    )
    assert "1234/1234" in result.stderr  # the progress bar, on stderr
    ids = [json.loads(line)["CustomerID"] for line in out.read_text().splitlines()]
    assert ids == list(range(1, 1235))
    fl = tmp_path / "fl.csv"
    assert run(seeded, "customers", "export", "--state", "FL", "-o", str(fl)).returncode == 0
    rows = list(csv.DictReader(fl.open()))
    count = int(run(seeded, "customers", "count", "--state", "FL").stdout)
    assert len(rows) == count and {r["BillingState"] for r in rows} == {"FL"}
    forced = tmp_path / "data.txt"
    assert (
        run(seeded, "customers", "export", "-o", str(forced), "--format", "csv", "--group-id", "3").returncode
        == 0
    )
    assert forced.read_text().startswith("CustomerID,Email,")


def test_import_reports_every_failed_row(fresh: MockServer, tmp_path: Path) -> None:
    changes = tmp_path / "changes.csv"
    changes.write_text(
        "CustomerID,BillingCity,MailList\n"
        "1,Orlando,true\n"
        "2,Austin,maybe\n"
        "999999,Nowhere,false\n"
        "3,Dallas,false\n"
        ",NoId,true\n"
        "4,Reno,\n"
    )
    result = run(fresh, "customers", "import", str(changes), "--batch-size", "2")
    assert result.returncode == 1
    assert "updated 3 customers; 3 rows failed" in result.stdout
    report = [line for line in result.stderr.splitlines() if line.startswith("row ")]
    assert report == [
        "row 3: CustomerID 2: MailList must be true or false, not 'maybe'",
        "row 4: CustomerID 999999: The Customer record was not found",
        "row 6: CustomerID -: missing CustomerID",
    ]
    one = json.loads(run(fresh, "customers", "get", "1").stdout)
    four = json.loads(run(fresh, "customers", "get", "4").stdout)
    assert (one["BillingCity"], one["MailList"], four["BillingCity"]) == ("Orlando", True, "Reno")
    errors_file = tmp_path / "failures.csv"
    jsonl = tmp_path / "changes.jsonl"
    jsonl.write_text('{"CustomerID": 5, "Comments": "ok"}\n{"CustomerID": 888888}\nnot json\n')
    result = run(fresh, "customers", "import", str(jsonl), "--errors", str(errors_file))
    assert result.returncode == 1 and "updated 1 customers; 2 rows failed" in result.stdout
    assert list(csv.reader(errors_file.open())) == [
        ["row", "CustomerID", "message"],
        ["2", "888888", "The Customer record was not found"],
        ["3", "", "not valid JSON: Expecting value (column 1)"],
    ]
    clean = tmp_path / "clean.jsonl"
    clean.write_text('{"CustomerID": 6, "Comments": "fine"}\n')
    assert run(fresh, "customers", "import", str(clean)).returncode == 0


def test_exit_codes_and_messages(seeded: MockServer, tmp_path: Path) -> None:
    missing = run(None, "customers", "count", THREEDCART_SECURE_URL="https://x", THREEDCART_PRIVATE_KEY="k")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: THREEDCART_TOKEN is not set (or pass --token or --token-file)"
    assert "Traceback" not in missing.stderr
    via_options = run(
        None,
        "--secure-url",
        seeded.headers["SecureURL"],
        "--private-key",
        seeded.headers["PrivateKey"],
        "--token",
        seeded.headers["Token"],
        "--base-url",
        seeded.url,
        "customers",
        "count",
    )
    assert via_options.returncode == 0 and via_options.stdout.strip() == "1234"
    wrong = run(seeded, "customers", "count", THREEDCART_TOKEN="wrong")
    assert wrong.returncode == 1 and wrong.stderr.startswith("error: AuthenticationError: 401")
    assert "wrong" not in wrong.stderr
    assert run(seeded, "customers", "count", "--bogus").returncode == 2
    assert run(seeded, "customers", "list", "--limit", "501").returncode == 2
    assert run(seeded, "customers", "import", str(tmp_path / "absent.csv")).returncode == 1
    helped = run(None, "customers", "count", "--help")
    assert helped.returncode == 0 and "Example" in helped.stdout
    # every command's help, in this process: the same app the console script runs, without starting
    # Python nine times (0.4 to 0.8 s each)
    runner = CliRunner()
    for command in ("count", "list", "get", "create", "update", "delete", "export", "import", "sync"):
        shown = runner.invoke(app, ["customers", command, "--help"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0 and "Example" in shown.output, command


@pytest.mark.slow
def test_sync_resumes_after_an_interruption_without_loss_or_duplicates(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    # Every answer takes 0.25 s: the first run, one page at a time, is still reading 1.75 s after it
    # began writing (0.5 s cost every later run five times, once for each round trip)
    with MockServer(["--seed-customers", "3000", "--random-seed", "5", "--latency-ms", "250"]) as server:
        # interrupted during the first run: no output, no watermark
        environ_args = ("customers", "sync", "--state", str(state), "--output", str(tmp_path / "first.jsonl"))
        proc = subprocess.Popen(
            [CLI, *environ_args, "--concurrency", "1"],
            env={
                **os.environ,
                "THREEDCART_SECURE_URL": server.headers["SecureURL"],
                "THREEDCART_PRIVATE_KEY": server.headers["PrivateKey"],
                "THREEDCART_TOKEN": server.headers["Token"],
                "THREEDCART_BASE_URL": server.url,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob(".threedcart-sync.*")) and time.monotonic() < deadline:
            time.sleep(0.05)  # until the export has begun writing (pages take 0.25 s each)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert list(tmp_path.glob(".threedcart-sync.*")), "killed before the export began writing"
        assert not state.exists() and not (tmp_path / "first.jsonl").exists()
        # the rerun exports everything
        first = run(server, *environ_args)
        assert first.returncode == 0, first.stderr
        exported = [
            json.loads(line)["CustomerID"] for line in (tmp_path / "first.jsonl").read_text().splitlines()
        ]
        assert exported == list(range(1, 3001))
        watermark = json.loads(state.read_text())["next_since"]
        # changes after the watermark go to the next run only, once
        time.sleep(1.1)
        changed = [3, 700, 2999]
        import_file = tmp_path / "changes.jsonl"
        import_file.write_text(
            "".join(json.dumps({"CustomerID": c, "Comments": "changed"}) + "\n" for c in changed)
        )
        assert run(server, "customers", "import", str(import_file)).returncode == 0
        time.sleep(2.5)  # past the default 2 s lag
        second = run(
            server, "customers", "sync", "--state", str(state), "--output", str(tmp_path / "second.jsonl")
        )
        assert second.returncode == 0, second.stderr
        rows = [json.loads(line) for line in (tmp_path / "second.jsonl").read_text().splitlines()]
        assert [r["CustomerID"] for r in rows] == changed and {r["Comments"] for r in rows} == {"changed"}
        assert json.loads(state.read_text())["next_since"] != watermark
        third = run(
            server, "customers", "sync", "--state", str(state), "--output", str(tmp_path / "third.jsonl")
        )
        assert third.returncode == 0
        assert (tmp_path / "third.jsonl").read_text() == ""  # nothing changed since: no duplicates


def test_import_isolates_a_row_that_breaks_the_schema(fresh: MockServer, tmp_path: Path) -> None:
    # 10 valid rows and one whose Comments is too long: once "updated 0 customers; 11 rows failed"
    changes = tmp_path / "changes.csv"
    rows = [f"{i},fine {i}" for i in range(1, 11)] + ["11," + "x" * 300]
    changes.write_text("CustomerID,Comments\n" + "\n".join(rows) + "\n")
    result = run(fresh, "customers", "import", str(changes))
    assert result.returncode == 1
    assert "updated 10 customers; 1 rows failed" in result.stdout
    report = [line for line in result.stderr.splitlines() if line.startswith("row ")]
    assert report == ["row 12: CustomerID 11: Comments is longer than 255 characters (300)"]
    assert json.loads(run(fresh, "customers", "get", "10").stdout)["Comments"] == "fine 10"


def test_import_reads_bom_and_crlf_and_names_other_encodings(fresh: MockServer, tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffCustomerID,BillingCity\r\n1,Zürich\r\n2,Köln\r\n".encode())
    ok = run(fresh, "customers", "import", str(bom))
    assert ok.returncode == 0 and "updated 2 customers; 0 rows failed" in ok.stdout, ok.stderr
    assert json.loads(run(fresh, "customers", "get", "1").stdout)["BillingCity"] == "Zürich"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("CustomerID,BillingCity\n3,Montréal\n".encode("cp1252"))
    errors_file = tmp_path / "errors.csv"
    refused = run(fresh, "customers", "import", str(latin), "--errors", str(errors_file))
    assert refused.returncode == 1 and "updated" not in refused.stdout
    offset = latin.read_bytes().index(b"\xe9")
    assert refused.stderr == (
        f"error: {latin} is not valid utf-8: byte(s) E9 at offset {offset} (line 2); "
        "name its encoding with --encoding\n"
    )
    assert list(csv.reader(errors_file.open()))[1][0] == ""  # the whole file, not a row
    named = run(fresh, "customers", "import", str(latin), "--encoding", "cp1252")
    assert named.returncode == 0 and json.loads(run(fresh, "customers", "get", "3").stdout)[
        "BillingCity"
    ] == ("Montréal")
    assert run(fresh, "customers", "import", str(latin), "--encoding", "klingon").returncode == 1


def test_import_reports_file_problems_once_and_sends_nothing(fresh: MockServer, tmp_path: Path) -> None:
    before = json.loads(run(fresh, "customers", "get", "1").stdout)
    cases = {
        "typo.csv": (
            "CustomerID,Billingcity\n1,Nowhere\n2,Nowhere\n3,Nowhere\n",
            "unknown column(s) Billingcity",
        ),
        "noid.csv": ("BillingCity\nNowhere\n", "has no CustomerID column"),
        "empty.csv": ("", "is empty"),
        "header.csv": ("CustomerID,BillingCity\n", "has a header but no rows"),
        "empty.jsonl": ("\n\n", "holds no rows"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        errors_file = tmp_path / f"{name}.errors.csv"
        result = run(fresh, "customers", "import", str(path), "--errors", str(errors_file))
        assert result.returncode == 1, name
        assert result.stderr.count("\n") == 1 and message in result.stderr, (name, result.stderr)
        assert result.stderr.count("Billingcity") <= 2  # reported once (with its suggestion)
        written = list(csv.reader(errors_file.open()))
        assert written[0] == ["row", "CustomerID", "message"] and message in written[1][2], name
    assert json.loads(run(fresh, "customers", "get", "1").stdout) == before


def test_import_jsonl_unknown_key_is_a_failed_row_and_errors_file_is_always_written(
    fresh: MockServer, tmp_path: Path
) -> None:
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text(
        '{"CustomerID": 1, "Comments": "one"}\n'
        '{"CustomerID": 2, "XTestColour": "red"}\n'
        '{"CustomerID": 3, "Comments": "3"}\n'
    )
    errors_file = tmp_path / "errors.csv"
    result = run(fresh, "customers", "import", str(jsonl), "--errors", str(errors_file))
    assert result.returncode == 1 and "updated 2 customers; 1 rows failed" in result.stdout
    assert list(csv.reader(errors_file.open()))[1:] == [["2", "2", "unknown field(s) XTestColour"]]
    clean = tmp_path / "clean.jsonl"
    clean.write_text('{"CustomerID": 4, "Comments": "fine"}\n')
    assert run(fresh, "customers", "import", str(clean), "--errors", str(errors_file)).returncode == 0
    assert list(csv.reader(errors_file.open())) == [["row", "CustomerID", "message"]]

"""Every row of an import is accounted for, whatever stops the run (issue 18, item 4).

The CLI's `--errors` report plus the store's own state must cover every row of the file: a row
is either applied or listed with why (its own failure, "sent, but the run stopped before its
answer", or "not sent: the run stopped ..."). Checked against the mock over HTTP with a store
that fails bulk requests, with SIGTERM mid-run, and with an input that raises.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import threedcart
from conftest import store_kwargs
from test_cli import CLI, run
from threedcart._bulk import BulkFailure, BulkResult
from threedcart._rows import ImportFormat, ImportRow, ImportTally, RowFailure, read_rows
from threedcart_mock.testing import MockServer

MARK = "XTestImported"


def _read(text: str, fmt: ImportFormat = ImportFormat.csv) -> list[ImportRow | RowFailure]:
    return list(read_rows([text.encode()], fmt))


# --- ids, NUL, duplicates -------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["1_0", "١٠", "１０", "0x1", "1e1", " 1 0"])
def test_an_id_is_ascii_digits_only(cell: str) -> None:
    [row] = _read(f"CustomerID,Comments\n{cell},x\n")
    assert isinstance(row, RowFailure)
    assert row.message == f"CustomerID must be an integer, not {cell!r}"


@pytest.mark.parametrize("cell", ["1_0.5", "١.٥", "inf", "nan"])
def test_a_number_is_ascii_only(cell: str) -> None:
    [row] = _read(f"CustomerID,TotalStoreCredit\n1,{cell}\n")
    assert isinstance(row, RowFailure) and row.message == f"TotalStoreCredit must be a number, not {cell!r}"


def test_nul_characters_are_a_row_error_in_csv_and_jsonl() -> None:
    [csv_row] = _read("CustomerID,Comments\n1,a\x00b\n")
    [json_row] = _read('{"CustomerID": 1, "Comments": "a\\u0000b"}\n', ImportFormat.jsonl)
    for row in (csv_row, json_row):
        assert isinstance(row, RowFailure) and row.message == "Comments contains a NUL character"


def test_a_second_row_for_an_id_is_refused_naming_the_first() -> None:
    rows = _read("CustomerID,Comments\n7,a\n8,b\n7,c\n")
    assert [type(r).__name__ for r in rows] == ["ImportRow", "ImportRow", "RowFailure"]
    assert rows[2] == RowFailure(4, "7", "CustomerID 7 is also in row 2: a file updates each customer once")


# --- the tally when a run stops --------------------------------------------------------------------
def test_a_stopped_run_lists_every_row_not_applied() -> None:
    text = "CustomerID,Comments\n" + "".join(f"{i},c{i}\n" for i in range(1, 8)) + "x,bad\n"
    tally = ImportTally()
    sent = tally.sendable(read_rows([text.encode()], ImportFormat.csv))
    for _ in range(4):  # update_many took 4 customers (file rows 2..5), then the run stopped
        next(sent)
    done = BulkResult(updated=[1, 2], failed=[BulkFailure(2, 3, 404, "The Customer record was not found")])
    report = tally.stopped(done, read_rows([text.encode()], ImportFormat.csv), "signal SIGTERM")
    assert [(f.row, f.customer_id, f.message) for f in report] == [
        (4, "3", "The Customer record was not found"),
        (5, "4", "sent, but the run stopped before its answer (signal SIGTERM): check this customer"),
        (6, "5", "not sent: the run stopped after 2 updates (signal SIGTERM)"),
        (7, "6", "not sent: the run stopped after 2 updates (signal SIGTERM)"),
        (8, "7", "not sent: the run stopped after 2 updates (signal SIGTERM)"),
        (9, "x", "CustomerID must be an integer, not 'x'"),
    ]


# --- against the mock --------------------------------------------------------------------------
def _file(path: Path, ids: range) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["CustomerID", "Comments"])
        writer.writerows((i, f"{MARK} {i}") for i in ids)
    return path


def _applied(server: MockServer) -> set[int]:
    with threedcart.Store(**store_kwargs(server)) as store:  # type: ignore[arg-type]
        return {c.customer_id for c in store.customers.iter() if (c.comments or "").startswith(MARK)}  # type: ignore[misc]


def _report(path: Path) -> dict[int, str]:
    with path.open(newline="") as f:
        return {int(r["row"]): r["message"] for r in csv.DictReader(f)}


def _check_every_row(rows: int, applied: set[int], report: dict[int, str]) -> None:
    """Row r (2..rows+1) holds CustomerID r-1: each is applied or reported, and a row reported
    as not sent or failed was not applied."""
    for row in range(2, rows + 2):
        cid = row - 1
        message = report.get(row)
        assert cid in applied or message is not None, f"row {row} is neither applied nor reported"
        if message is not None and not message.startswith("sent, but"):
            assert cid not in applied, f"row {row} is reported ({message}) but was applied"


def test_import_against_a_failing_store_reports_every_row(tmp_path: Path) -> None:
    rows = 2000
    with MockServer(["--seed-customers", str(rows), "--fault-rate", "0.4", "--random-seed", "3"]) as server:
        source = _file(tmp_path / "in.csv", range(1, rows + 1))
        errors = tmp_path / "errors.csv"
        result = run(
            server,
            "--max-retries",
            "0",
            "customers",
            "import",
            str(source),
            "--errors",
            str(errors),
            "--batch-size",
            "100",
        )
        assert result.returncode == 1
        assert "rows not applied" in result.stderr and "stopped:" in result.stderr
        report = _report(errors)
        assert any(m.startswith("not sent: the run stopped after") for m in report.values())
        _check_every_row(rows, _applied(server), report)


def test_sigterm_mid_import_reports_every_row(tmp_path: Path) -> None:
    rows = 3000
    with MockServer(["--seed-customers", str(rows), "--latency-ms", "150"]) as server:
        source = _file(tmp_path / "in.csv", range(1, rows + 1))
        errors = tmp_path / "errors.csv"
        env = {k: v for k, v in os.environ.items() if not k.startswith("THREEDCART_")}
        env.update(
            THREEDCART_SECURE_URL=server.headers["SecureURL"],
            THREEDCART_PRIVATE_KEY=server.headers["PrivateKey"],
            THREEDCART_TOKEN=server.headers["Token"],
            THREEDCART_BASE_URL=server.url,
        )
        process = subprocess.Popen(
            [CLI, "customers", "import", str(source), "--errors", str(errors), "--batch-size", "100"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _applied(server):  # let some batches land
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 128 + signal.SIGTERM
        assert "stopped: signal SIGTERM" in stderr
        applied = _applied(server)
        report = _report(errors)
        assert 0 < len(applied) < rows
        _check_every_row(rows, applied, report)


def test_update_many_fed_by_an_input_that_raises_carries_what_it_applied() -> None:
    with MockServer(["--seed-customers", "1500"]) as server:

        def items() -> Iterator[dict[str, Any]]:
            for i in range(1, 1201):
                yield {"CustomerID": i, "Comments": f"{MARK} {i}"}
            raise OSError("the source went away")

        with threedcart.Store(**store_kwargs(server)) as store, pytest.raises(OSError) as info:  # type: ignore[arg-type]
            store.customers.update_many(items())
        done = threedcart.partial_result(info.value)
        assert done is not None and sorted(done.updated) == list(range(1, 1001))
        assert _applied(server) == set(range(1, 1001))
        assert json.dumps(len(done)) == "1000"

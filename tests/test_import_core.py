"""The import core and the bulk splitting, without I/O; and `update_many` isolating bad rows on the mock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import threedcart
import yaml
from conftest import store_kwargs
from threedcart import _resources
from threedcart._bulk import BulkFailure, BulkItem, BulkPlan, BulkResult, partial_result
from threedcart._rows import (
    FIELDS,
    ImportEncodingError,
    ImportFileError,
    ImportFormat,
    ImportRow,
    ImportTally,
    RowFailure,
    customer_problems,
    neutralise,
    read_rows,
    restore,
)
from threedcart_mock.testing import MockServer

SPEC = Path(__file__).parent.parent / "openapi" / "customers.yaml"
CSV, JSONL = ImportFormat.csv, ImportFormat.jsonl


def rows(
    data: bytes, fmt: ImportFormat, *, chunk: int = 1 << 16, **kw: object
) -> list[ImportRow | RowFailure]:
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    return list(read_rows(chunks, fmt, name="f.csv", **kw))  # type: ignore[arg-type]


def failures(result: list[ImportRow | RowFailure]) -> list[tuple[int, str]]:
    return [(r.row, r.message) for r in result if isinstance(r, RowFailure)]


def eleven_rows() -> str:
    lines = ["CustomerID,Comments"] + [f"{i},fine {i}" for i in range(1, 11)] + ["11," + "x" * 300]
    return "\n".join(lines) + "\n"


# --- the schema comes from the spec ------------------------------------------------------------
def test_rules_are_the_specs_own() -> None:
    props = yaml.safe_load(SPEC.read_text())["components"]["schemas"]["Customer"]["properties"]
    assert list(FIELDS) == list(props)
    for name, prop in props.items():
        assert FIELDS[name].max_length == prop.get("maxLength"), name
        assert FIELDS[name].nullable == bool(prop.get("nullable")), name
    assert (FIELDS["CustomerID"].minimum, FIELDS["CustomerID"].maximum) == (1, 2**31 - 1)  # minimum 1, int32
    assert FIELDS["Comments"].max_length == 255 and FIELDS["Enabled"].kind is bool


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"CustomerID": 1, "Comments": "x" * 256}, "Comments is longer than 255 characters"),
        ({"CustomerID": 1, "Enabled": "yes"}, "Enabled must be true or false, not a string"),
        ({"CustomerID": 1, "CustomerGroupID": 2**31}, "CustomerGroupID must be at most 2147483647"),
        ({"CustomerID": 0}, "CustomerID must be at least 1"),
        ({"CustomerID": True}, "CustomerID must be an integer, not a boolean"),
        ({"CustomerID": 1, "Email": None, "Enabled": None}, "Enabled must not be null"),
        ({"CustomerID": 1, "TotalStoreCredit": float("nan")}, "TotalStoreCredit must be a finite number"),
        ({"CustomerID": 1, "BillingCity": "\ud800"}, "BillingCity is not valid Unicode"),
        (
            {"CustomerID": 1, "billingcity": "x"},
            "unknown field(s) billingcity (did you mean BillingCity?)",
        ),
    ],
)
def test_customer_problems(data: dict[str, object], problem: str) -> None:
    (found,) = customer_problems(data)
    assert found.startswith(problem)


# --- reading files ---------------------------------------------------------------------------------
def test_a_bad_row_is_reported_by_its_file_row_and_the_rest_are_kept() -> None:
    result = rows(eleven_rows().encode(), CSV)
    assert [r.row for r in result if isinstance(r, ImportRow)] == list(range(2, 12))
    assert failures(result) == [(12, "Comments is longer than 255 characters (300)")]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 16])
def test_bom_and_crlf_in_any_chunking(chunk: int) -> None:
    text = '\ufeffCustomerID,BillingCity\r\n1,Tampa\r\n2,"Multi\r\nline"\r\n\r\n4,Ümlaut ✓\r\n'
    result = rows(text.encode(), CSV, chunk=chunk)
    assert [(r.row, r.customer) for r in result if isinstance(r, ImportRow)] == [
        (2, {"CustomerID": 1, "BillingCity": "Tampa"}),
        (3, {"CustomerID": 2, "BillingCity": "Multi\r\nline"}),
        (5, {"CustomerID": 4, "BillingCity": "Ümlaut ✓"}),  # a blank record still counts as a row
    ]
    jsonl = '\ufeff{"CustomerID": 1}\r\n\r\n{"CustomerID": 2, "BillingCity": "é"}\r\n'
    assert [r.row for r in rows(jsonl.encode(), JSONL, chunk=chunk)] == [1, 3]


def test_other_encodings_name_the_offset_and_can_be_named() -> None:
    data = "CustomerID,BillingCity\n1,Tampa\n2,Montréal\n".encode("cp1252")
    with pytest.raises(ImportEncodingError) as info:
        rows(data, CSV, chunk=5)
    offset = data.index(b"\xe9")
    assert (info.value.offset, info.value.line) == (offset, 3)
    assert str(info.value) == f"f.csv is not valid utf-8: byte(s) E9 at offset {offset} (line 3)"
    result = rows(data, CSV, encoding="cp1252")
    assert [r.customer["BillingCity"] for r in result if isinstance(r, ImportRow)] == ["Tampa", "Montréal"]
    utf16 = "CustomerID\n7\n".encode("utf-16")
    assert [r.customer for r in rows(utf16, CSV, chunk=3, encoding="utf-16")] == [{"CustomerID": 7}]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"", CSV, "f.csv is empty"),
        (b"", JSONL, "f.csv holds no rows"),
        (b"\n\n  \n", JSONL, "f.csv holds no rows"),
        (b"CustomerID,BillingCity\n", CSV, "f.csv has a header but no rows"),
        (b"BillingCity,Email\nx,y\n", CSV, "f.csv has no CustomerID column"),
        (
            b"CustomerID,Billingcity,XTestColour\n1,x,red\n2,y,blue\n",
            CSV,
            "f.csv: unknown column(s) Billingcity, XTestColour",
        ),
        (b"CustomerID,Email,Email\n1,a,b\n", CSV, "f.csv: column(s) Email appear more than once"),
    ],
)
def test_problems_of_the_whole_file_are_raised_once(data: bytes, fmt: ImportFormat, message: str) -> None:
    with pytest.raises(ImportFileError) as info:
        rows(data, fmt)
    assert str(info.value).startswith(message)
    assert str(info.value).count("Billingcity") <= 2  # once, with its suggestion


def test_unknown_column_suggests_the_api_name() -> None:
    with pytest.raises(ImportFileError, match=r"did you mean BillingCity\?\)"):
        rows(b"CustomerID,Billingcity\n1,x\n", CSV)


def test_jsonl_rows_fail_one_by_one() -> None:
    lines = [
        '{"CustomerID": 1, "Comments": "ok"}',
        '{"CustomerID": 2, "XTestColour": "red"}',
        "not json",
        "[1, 2]",
        '{"CustomerID": 3, "TotalStoreCredit": NaN}',
        '{"Comments": "no id"}',
        '{"CustomerID": "4"}',
        '{"CustomerID": 2147483648}',
        '{"CustomerID": 5}',
    ]
    result = rows("\n".join(lines).encode(), JSONL)
    assert [r.row for r in result if isinstance(r, ImportRow)] == [1, 9]
    assert failures(result) == [
        (2, "unknown field(s) XTestColour"),
        (3, "not valid JSON: Expecting value (column 1)"),
        (4, "not a JSON object (one customer per line)"),
        (5, "not valid JSON: NaN is not a JSON number"),
        (6, "missing CustomerID"),
        (7, "CustomerID must be an integer, not a string"),
        (8, "CustomerID must be at most 2147483647, not 2147483648"),
    ]
    assert [r.customer_id for r in result if isinstance(r, RowFailure)][-2:] == ["4", "2147483648"]


def test_csv_cells_are_typed_and_checked() -> None:
    data = (
        "CustomerID,MailList,CustomerGroupID,BillingZipCode\n"
        "1,true,3,\n"
        "2,maybe,x,123456789012345678901\n"
        "abc,false,,\n"
        ",true,,\n"
        "5,true\n"
    )
    result = rows(data.encode(), CSV)
    assert [r.customer for r in result if isinstance(r, ImportRow)] == [
        {"CustomerID": 1, "MailList": True, "CustomerGroupID": 3}
    ]
    assert failures(result) == [
        (
            3,
            "MailList must be true or false, not 'maybe'; CustomerGroupID must be an integer, not 'x'; "
            "BillingZipCode is longer than 20 characters (21)",
        ),
        (4, "CustomerID must be an integer, not 'abc'"),
        (5, "missing CustomerID"),
        (6, "has 2 cells; the header has 4"),
    ]


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+1 555 0100", "-5", "@SUM(A1)", "\tx", "\rx", "'=x", "''+x", "'t Hooft", "plain", "", "'"],
)
def test_neutralised_cells_restore_exactly(value: str) -> None:
    shown = neutralise(value)
    assert restore(shown) == value
    assert not shown[:1] or shown[0] not in "=+-@\t\r"


def test_csv_import_restores_neutralised_text_unless_raw() -> None:
    data = b"CustomerID,BillingPhoneNumber,Comments\n1,'+1 555,'t Hooft\n"
    (row,) = rows(data, CSV)
    assert isinstance(row, ImportRow) and row.customer["BillingPhoneNumber"] == "+1 555"
    assert row.customer["Comments"] == "'t Hooft"
    (raw,) = rows(data, CSV, raw_csv=True)
    assert isinstance(raw, ImportRow) and raw.customer["BillingPhoneNumber"] == "'+1 555"


def test_tally_maps_answers_back_to_file_rows() -> None:
    tally = ImportTally()
    sent = list(tally.sendable(rows(eleven_rows().encode(), CSV)))
    assert len(sent) == 10 and tally.rows_read == 11
    result = BulkResult(updated=[1, 2, 3, 4, 6, 7, 8, 9, 10])
    result.failed.append(BulkFailure(4, 5, 404, "The Customer record was not found"))
    assert [(f.row, f.customer_id) for f in tally.failures(result)] == [(6, "5"), (12, "11")]


# --- splitting a refused batch ---------------------------------------------------------------------
def drive(plan: BulkPlan[int], bad: set[int], *, refuse_all: bool = False) -> list[list[int]]:
    """Answer the plan like a service that refuses any request holding a bad item (400)."""
    sent = []
    while (batch := plan.next_batch()) is not None:
        ids = [item.customer_id for item in batch]
        sent.append(ids)
        plan.result.batches += 1
        if refuse_all or bad & set(ids):
            first = next((n for n, i in enumerate(ids) if i in bad), 0)
            plan.refused(batch, f"item {first}: Comments is longer than 255 characters")
        else:
            plan.result.updated.extend(ids)
            plan.answered(batch)
    return sent


def batches_of(ids: list[int], size: int) -> Iterator[list[BulkItem[int]]]:
    items = [BulkItem(n, i, i) for n, i in enumerate(ids)]
    for start in range(0, len(items), size):
        yield items[start : start + size]


def test_a_refused_batch_is_bisected_down_to_the_bad_items() -> None:
    plan = BulkPlan(batches_of(list(range(1, 501)), 500))
    sent = drive(plan, bad={123, 400})
    assert sorted(plan.result.updated) == [i for i in range(1, 501) if i not in (123, 400)]
    assert plan.result.updated == sorted(plan.result.updated)  # still in the order given
    assert [(f.index, f.customer_id, f.status, f.message) for f in plan.result.failed] == [
        (122, 123, 400, "Comments is longer than 255 characters"),
        (399, 400, 400, "Comments is longer than 255 characters"),
    ]
    assert all(type(f.status) is int for f in plan.result.failed)
    assert len(sent) <= 4 * 9 + 1  # about 2·log2(500) per bad item


def test_splitting_is_bounded_when_the_service_refuses_everything() -> None:
    plan = BulkPlan(batches_of(list(range(1, 101)), 50), max_splits=3)
    sent = drive(plan, bad=set(), refuse_all=True)
    assert len(sent) == 2 * (1 + 2 * 3)  # per batch: the batch, then 3 splits of 2 requests
    assert plan.result.updated == [] and len(plan.result.failed) == 100
    assert [f.index for f in plan.result.failed] == list(range(100))
    assert "was refused and not split further" in plan.result.failed[0].message


# --- update_many on the mock ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(["--seed-customers", "40", "--random-seed", "3"]) as mock:
        yield mock


def reproduction() -> list[dict[str, object]]:
    return [{"CustomerID": i, "Comments": f"fine {i}"} for i in range(1, 11)] + [
        {"CustomerID": 11, "Comments": "x" * 300}
    ]


def test_update_many_never_sends_an_item_that_breaks_the_schema(server: MockServer) -> None:
    with threedcart.Store(**store_kwargs(server)) as store:  # type: ignore[arg-type]
        result = store.customers.update_many([*reproduction(), {"CustomerID": 0}, "nonsense"], batch_size=4)
        assert result.updated == list(range(1, 11)) and result.batches == 3
        assert [(f.index, f.customer_id, f.status, f.sent) for f in result.failed] == [
            (10, 11, 400, False),
            (11, 0, 400, False),
            (12, None, 400, False),
        ]
        assert result.failed[0].message == "Comments is longer than 255 characters (300)"
        assert store.customers.get(11).comments != "x" * 300


def test_update_many_splits_what_the_service_refuses(
    server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rule the schema does not know: the SDK lets the long Comments through, the service refuses it.
    monkeypatch.setattr(_resources, "update_problems", lambda data: [])
    with threedcart.Store(**store_kwargs(server)) as store:  # type: ignore[arg-type]
        result = store.customers.update_many(reproduction())
        assert sorted(result.updated) == list(range(1, 11))
        (failure,) = result.failed
        assert (failure.index, failure.customer_id, failure.status, failure.sent) == (10, 11, 400, True)
        assert type(failure.status) is int and failure.message == "Comments is longer than 255 characters"
        assert 1 < result.batches <= 9
        assert store.customers.get(10).comments == "fine 10"

    async def run_async() -> threedcart.BulkResult:
        async with threedcart.AsyncStore(**store_kwargs(server)) as astore:  # type: ignore[arg-type]
            return await astore.customers.update_many(reproduction())

    async_result = asyncio.run(run_async())
    assert sorted(async_result.updated) == list(range(1, 11)) and len(async_result.failed) == 1


def test_an_error_in_a_later_batch_carries_the_finished_part() -> None:
    with MockServer(["--seed-customers", "10"]) as mock:
        kwargs = store_kwargs(mock, max_retries=0)

        def items() -> Iterator[dict[str, object]]:
            for i in range(1, 8):
                if i == 6:
                    mock.stop()  # batches of 4 valid items: [1, 3, 4, 5] was answered, [6, 7] cannot be
                unknown = {"CustomerID": i, "XTestColour": "red"}
                yield {"CustomerID": i, "Comments": "y"} if i != 2 else unknown

        with threedcart.Store(**kwargs) as store, pytest.raises(threedcart.APIConnectionError) as info:  # type: ignore[arg-type]
            store.customers.update_many(items(), batch_size=4)
    done = partial_result(info.value)
    assert done is not None and done is info.value.partial_result  # type: ignore[attr-defined]
    assert done.updated == [1, 3, 4, 5] and [f.index for f in done.failed] == [1]
    assert json.loads(json.dumps(done.updated)) == [1, 3, 4, 5]

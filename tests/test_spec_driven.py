"""The spec drives the SDK: field rules of every JSON shape, list filters, deprecations, versions.

What a spec change does end to end (regenerate, import, CLI, mock) is in test_evolution.py; these
are the fast checks of each piece, with synthetic `XTest` names no real API would add.
"""

from __future__ import annotations

import copy
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import threedcart
import yaml
from threedcart import _params, _rows
from threedcart._rows import FieldRule, ImportFormat, ImportRow, RowFailure, read_rows
from threedcart_customers_client import Client
from threedcart_customers_client.api.customers import delete_customer, get_customer, list_customers
from threedcart_customers_client.spec import API_VERSION, CUSTOMER_FIELDS, LIST_FILTERS

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi" / "customers.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
sys.path.insert(0, str(ROOT / "tools"))
import spec_tables  # noqa: E402
import versions  # noqa: E402

EASTERN = ZoneInfo("America/New_York")


# --- the tables --------------------------------------------------------------------------------
def _list_parameters(spec: dict[str, Any]) -> list[dict[str, Any]]:
    params = spec["paths"]["/3dCartWebAPI/v1/Customers"]["get"]["parameters"]
    out = []
    for p in params:
        if "$ref" in p:
            p = spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
        out.append(p)
    return out


def test_filters_are_the_list_parameters_that_carry_the_extension() -> None:
    expected = {
        p["x-threedcart-filter"].get("sdk-name", p["name"]): p["name"]
        for p in _list_parameters(SPEC)
        if "x-threedcart-filter" in p
    }
    assert {name: spec["param"] for name, spec in LIST_FILTERS.items()} == expected
    assert set(_params.FILTER_NAMES) == {*expected, "group_id"}
    assert set(threedcart.Filters.__annotations__) >= set(expected) | {"group_id"}


def test_fields_are_the_customer_properties_in_order() -> None:
    assert list(CUSTOMER_FIELDS) == list(SPEC["components"]["schemas"]["Customer"]["properties"])
    assert list(_rows.FIELDS) == list(CUSTOMER_FIELDS)


def test_versions_are_the_spec_and_the_distribution() -> None:
    assert API_VERSION == SPEC["info"]["version"] == threedcart.API_VERSION
    assert threedcart.__version__ == importlib.metadata.version("threedcart")
    assert versions.problems(ROOT) == []


def _synthetic_spec() -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    props = spec["components"]["schemas"]["Customer"]["properties"]
    spec["components"]["schemas"]["XTestPoint"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["XTestX"],
        "properties": {"XTestX": {"type": "integer"}, "XTestLabel": {"type": "string", "maxLength": 3}},
    }
    props["XTestTags"] = {"type": "array", "nullable": True, "items": {"type": "string", "maxLength": 5}}
    props["XTestPoints"] = {
        "type": "array",
        "items": {"$ref": "#/components/schemas/XTestPoint"},
        "maxItems": 2,
    }
    props["XTestLevel"] = {"type": "string", "enum": ["bronze", "silver"]}
    props["XTestRatio"] = {"type": "number", "minimum": 0, "maximum": 1}
    props["XTestOld"] = {"type": "string", "deprecated": True}
    spec["paths"]["/3dCartWebAPI/v1/Customers"]["get"]["parameters"].append(
        {
            "name": "xtestzip",
            "in": "query",
            "deprecated": True,
            "schema": {"type": "string"},
            "x-threedcart-filter": {"field": "BillingZipCode", "match": "equals"},
        }
    )
    return spec


def test_tables_inline_references_and_name_new_filters() -> None:
    data = spec_tables.tables(_synthetic_spec())
    points = data["CUSTOMER_FIELDS"]["XTestPoints"]
    assert points["items"]["properties"]["XTestX"] == {"type": "integer"}  # the $ref is inlined
    zip_filter = data["LIST_FILTERS"]["xtestzip"]
    assert (
        zip_filter["kwarg"] == "xtestzip"
        and zip_filter["deprecated"]
        and zip_filter["field"] == "BillingZipCode"
    )
    assert zip_filter["in_group_listing"] is False  # the group listing did not get it
    text = spec_tables.render(data, "x.yaml")
    namespace: dict[str, Any] = {}
    exec(compile(text, "spec.py", "exec"), namespace)  # the rendered module runs
    assert "xtestzip" in namespace["ListFilters"].__annotations__
    assert namespace["LIST_FILTERS"] == json.loads(json.dumps(data["LIST_FILTERS"]))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda f: f.update(match="like"),
            "x-threedcart-filter.match must be one of equals, since, until, not 'like'",
        ),
        (
            lambda f: f.update(field="XTestNope"),
            "x-threedcart-filter.field 'XTestNope' is not a property of Customer",
        ),
        (
            lambda f: f.update({"sdk-name": "x-y"}),
            "x-threedcart-filter.sdk-name 'x-y' is not a Python identifier",
        ),
        (lambda f: f.update({"sdk-name": "email"}), "the SDK name 'email' is taken"),
    ],
)
def test_a_filter_the_tables_cannot_express_is_refused_by_name(mutate: Any, message: str) -> None:
    spec = _synthetic_spec()
    param = spec["paths"]["/3dCartWebAPI/v1/Customers"]["get"]["parameters"][-1]
    mutate(param["x-threedcart-filter"])
    with pytest.raises(spec_tables.SpecError) as info:
        spec_tables.tables(spec)
    assert str(info.value) == f"parameter xtestzip of listCustomers: {message}"


# --- field rules of every shape ------------------------------------------------------------------
def _rules() -> dict[str, FieldRule]:
    data = spec_tables.tables(_synthetic_spec())
    return {name: _rows._rule(name, schema) for name, schema in data["CUSTOMER_FIELDS"].items()}


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("XTestTags", ["a", "b"], None),
        ("XTestTags", None, None),
        ("XTestTags", "a", "XTestTags must be a list, not a string"),
        ("XTestTags", ["a", 3], "XTestTags[1] must be a string, not an integer"),
        ("XTestTags", ["abcdef"], "XTestTags[0] is longer than 5 characters (6)"),
        ("XTestPoints", [{"XTestX": 1}, {"XTestX": 2, "XTestLabel": "ab"}], None),
        ("XTestPoints", [{"XTestX": 1}] * 3, "XTestPoints must have at most 2 item(s), not 3"),
        ("XTestPoints", [{"XTestLabel": "a"}], "XTestPoints[0] is missing XTestX"),
        ("XTestPoints", [{"XTestX": 1, "XTestY": 2}], "XTestPoints[0] has unknown field(s) XTestY"),
        ("XTestPoints", [{"XTestX": "1"}], "XTestPoints[0].XTestX must be an integer, not a string"),
        ("XTestPoints", [[1]], "XTestPoints[0] must be an object, not a list"),
        ("XTestLevel", "silver", None),
        ("XTestLevel", "gold", 'XTestLevel must be one of "bronze", "silver", not "gold"'),
        ("XTestRatio", 1.5, "XTestRatio must be at most 1, not 1.5"),
        ("XTestRatio", 0, None),
    ],
)
def test_every_json_shape_is_checked(field: str, value: Any, problem: str | None) -> None:
    assert _rules()[field].problem(value) == problem


def test_csv_cells_of_arrays_and_objects_are_json() -> None:
    rules = _rules()
    assert rules["XTestPoints"].parse(' [{"XTestX": 1}] ') == [{"XTestX": 1}]
    with pytest.raises(ValueError, match=r"^XTestTags must be a JSON array, not '\[a'$"):
        rules["XTestTags"].parse("[a")
    with pytest.raises(ValueError, match="XTestTags must be a JSON array"):
        rules["XTestTags"].parse("NaN")


def test_the_spec_as_it_is_reads_json_cells_for_its_own_fields() -> None:
    """Today's Customer has no array, so the CSV reader is checked on a field of today's spec:
    a number cell; arrays go through the same `parse` (above)."""
    rows = list(read_rows([b"CustomerID,TotalStoreCredit\n1,2.5\n2,x\n"], ImportFormat.csv))
    assert rows[0] == ImportRow(2, {"CustomerID": 1, "TotalStoreCredit": 2.5}, "1")
    assert isinstance(rows[1], RowFailure) and rows[1].message == "TotalStoreCredit must be a number, not 'x'"


# --- filters ------------------------------------------------------------------------------------
def test_a_filter_the_spec_does_not_declare_is_a_type_error_before_any_request() -> None:
    with pytest.raises(TypeError, match=r"^unknown filter\(s\) xtestgone; the filters are "):
        _params.query_params({"xtestgone": "x"}, EASTERN)


def test_filter_values_are_checked_against_the_schema() -> None:
    with pytest.raises(TypeError, match=r"^email must be a string, not int$"):
        _params.query_params({"email": 3}, EASTERN)
    assert _params._checked("n", True, {"type": "boolean"}) is True
    with pytest.raises(TypeError, match=r"^n must be an integer, not bool$"):
        _params._checked("n", True, {"type": "integer"})
    assert _params._checked("n", [1, 2], {"type": "array", "items": {"type": "integer"}}) == [1, 2]
    with pytest.raises(TypeError, match=r"^n\[1\] must be an integer, not str$"):
        _params._checked("n", [1, "2"], {"type": "array", "items": {"type": "integer"}})
    with pytest.raises(ValueError, match=r"^n must be one of 0, 1, not 2$"):
        _params._checked("n", 2, {"type": "integer", "enum": [0, 1]})


def test_a_deprecated_filter_warns_once_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = dict(LIST_FILTERS["city"], deprecated=True)
    monkeypatch.setitem(_params.LIST_FILTERS, "city", spec)
    with pytest.warns(DeprecationWarning) as caught:
        _params.query_params({"city": "Tampa", "state": "FL"}, EASTERN)
    assert [str(w.message) for w in caught] == ["the filter city is deprecated by the API (city)"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _params.query_params({"state": "FL"}, EASTERN)  # no warning for the others


def test_a_deprecated_field_warns_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_rows, "DEPRECATED_FIELDS", frozenset({"Comments"}))
    with pytest.warns(DeprecationWarning, match=r"^Customer field\(s\) Comments are deprecated by the API$"):
        _rows.warn_deprecated({"CustomerID": 1, "Comments": "x"})


def test_cli_options_are_the_spec_filters() -> None:
    from threedcart._cli._app import _FILTER_OPTIONS

    assert [name for name, _ in _FILTER_OPTIONS] == [*LIST_FILTERS, "group_id"]
    out = subprocess.run(
        [sys.executable, "-m", "threedcart", "customers", "count", "--help"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        check=True,
    ).stdout
    for name in LIST_FILTERS:
        assert f"--{name.replace('_', '-')}" in out


# --- the generated client on a bodiless answer ---------------------------------------------------
@pytest.mark.parametrize("op", [get_customer, delete_customer])
@pytest.mark.parametrize("status", [400, 404, 500])
def test_a_bodiless_documented_answer_is_the_status_with_nothing_parsed(op: Any, status: int) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=b""))
    client = Client(base_url="http://127.0.0.1:9", httpx_args={"transport": transport})
    answer = op.sync_detailed(42, client=client)
    assert answer.status_code == status and answer.parsed is None and answer.content == b""


@pytest.mark.parametrize("body", [b"<html>Bad Gateway</html>", b'{"Message": "x"}', b"[1, 2]", b'[{"Key": '])
@pytest.mark.parametrize("status", [400, 404, 500])
def test_an_error_answer_that_is_not_the_documented_json_is_its_status_alone(
    status: int, body: bytes
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    client = Client(base_url="http://127.0.0.1:9", httpx_args={"transport": transport})
    answer = delete_customer.sync_detailed(42, client=client)
    assert answer.status_code == status and answer.parsed is None and answer.content == body


def test_a_success_that_is_not_json_is_still_an_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"<html>"))
    client = Client(base_url="http://127.0.0.1:9", httpx_args={"transport": transport})
    with pytest.raises(ValueError):  # the overlay makes it an APIResponseValidationError
        delete_customer.sync_detailed(42, client=client)


def test_a_bodiless_list_answer_is_not_a_decoding_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(404, content=b"  "))
    client = Client(base_url="http://127.0.0.1:9", httpx_args={"transport": transport})
    assert list_customers.sync_detailed(client=client).parsed is None


# --- the version policy ------------------------------------------------------------------------
def _project(tmp_path: Path, sdk: str, api: str, dependency: str) -> Path:
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "pyproject.toml").write_text(f'[project]\nname = "c"\nversion = "{api}"\n')
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "threedcart"\nversion = "{sdk}"\ndependencies = [\n    "{dependency}",\n]\n'
    )
    return tmp_path


def test_a_major_bump_names_the_edits_and_release_makes_them(tmp_path: Path) -> None:
    root = _project(tmp_path, "1.4.2", "2.0.0", "threedcart-customers-client>=1.0,<2")
    assert versions.problems(root) == [
        'pyproject.toml: version = "1.4.2" must have the API contract\'s major version 2 '
        '(openapi/customers.yaml info.version 2.0.0): set it to "2.0.0" (make versions-bump does it)',
        "pyproject.toml: the dependency threedcart-customers-client>=1...,<2 does not admit "
        'the generated client 2.0.0: edit it to "threedcart-customers-client>=2.0,<3" '
        "(make versions-bump does it)",
    ]
    assert versions.bump(root) == [
        "threedcart 1.4.2 -> 2.0.0",
        "requires threedcart-customers-client>=2.0,<3",
    ]
    assert versions.problems(root) == []
    text = (root / "pyproject.toml").read_text()
    assert 'version = "2.0.0"' in text and '"threedcart-customers-client>=2.0,<3"' in text


def test_a_minor_bump_needs_no_edit(tmp_path: Path) -> None:
    root = _project(tmp_path, "1.4.2", "1.1.0", "threedcart-customers-client>=1.0,<2")
    assert versions.problems(root) == []
    assert versions.bump(root) == []


def test_make_venv_stops_on_a_version_mismatch_naming_the_file(tmp_path: Path) -> None:
    root = _project(tmp_path, "1.0.0", "2.0.0", "threedcart-customers-client>=1.0,<2")
    shutil.copy(ROOT / "tools" / "versions.py", tmp_path / "versions.py")
    run = subprocess.run(
        [sys.executable, str(tmp_path / "versions.py"), "check", str(root)], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert run.stderr.count("error: pyproject.toml:") == 2


def test_cli_prints_both_versions() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "threedcart", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out == f"threedcart {threedcart.__version__} (API contract {API_VERSION})\n"


def _read_jsonl(text: str) -> list[ImportRow | RowFailure]:
    return list(read_rows([text.encode()], ImportFormat.jsonl))


# --- review fixes ---------------------------------------------------------------------------------
def test_a_field_written_with_allof_keeps_its_checks() -> None:
    rule = _rows._rule("XTestTier", {"allOf": [{"type": "string", "enum": ["gold"]}], "nullable": True})
    assert rule.kind is str and rule.nullable and rule.parse("gold") == "gold"
    assert rule.problem("lead") == 'XTestTier must be one of "gold", not "lead"'


def test_a_huge_integer_in_a_number_field_is_a_row_error_not_a_crash() -> None:
    rows = _read_jsonl('{"CustomerID": 5, "TotalStoreCredit": 1' + "0" * 400 + "}\n")
    assert len(rows) == 1 and isinstance(rows[0], ImportRow)  # a big number, sent as it is


def test_a_pattern_python_cannot_read_is_left_to_the_service() -> None:
    rule = _rows._rule("XTestName", {"type": "string", "pattern": r"^\p{L}+$"})
    assert rule.problem("Zoë") is None
    assert _rows._rule("XTestCode", {"type": "string", "pattern": "^[A-Z]{2}$"}).problem("abc") == (
        "XTestCode does not match the pattern ^[A-Z]{2}$"
    )


def test_a_numeric_bound_filter_is_not_a_date() -> None:
    spec = _synthetic_spec()
    spec["paths"]["/3dCartWebAPI/v1/Customers"]["get"]["parameters"].append(
        {
            "name": "xtestmincredit",
            "in": "query",
            "schema": {"type": "number"},
            "x-threedcart-filter": {"field": "TotalStoreCredit", "match": "since"},
        }
    )
    data = spec_tables.tables(spec)["LIST_FILTERS"]["xtestmincredit"]
    assert data["store_time"] is False and data["annotation"] == "float"


@pytest.mark.parametrize(
    ("extension", "message"),
    [
        ({"field": "$lastUpdate", "match": "equals"}, "$lastUpdate takes since or until, not equals"),
        ({"field": "$nothing", "match": "since"}, "x-threedcart-filter.field '$nothing' is not a property"),
        ({"field": "Enabled", "match": "since"}, "since cannot filter the boolean field Enabled"),
        ({"field": "BillingCity", "match": "equals", "sdk-name": "output"}, "the SDK name 'output' is taken"),
    ],
)
def test_filters_the_mock_or_the_cli_cannot_take_fail_at_generation(
    extension: dict[str, str], message: str
) -> None:
    spec = _synthetic_spec()
    spec["paths"]["/3dCartWebAPI/v1/Customers"]["get"]["parameters"][-1]["x-threedcart-filter"] = extension
    with pytest.raises(spec_tables.SpecError, match=re.escape(message)):
        spec_tables.tables(spec)


def test_a_deprecated_filter_warning_points_at_the_callers_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_params.LIST_FILTERS, "city", dict(LIST_FILTERS["city"], deprecated=True))

    def sdk_method() -> None:  # stands for store.customers.list(), which calls query_params
        _params.query_params({"city": "Tampa"}, EASTERN)

    with pytest.warns(DeprecationWarning) as caught:
        sdk_method()  # the warning names this line (Python shows it to a __main__ script)
    assert caught[0].filename == __file__


def test_update_takes_the_generated_update_model() -> None:
    from threedcart._resources import _update_body
    from threedcart_customers_client.models import CustomerUpdate

    assert _update_body(CustomerUpdate.from_dict({"Comments": "x"})).to_dict() == {"Comments": "x"}


@pytest.mark.parametrize(("status", "body"), [(201, b""), (201, b"<html>"), (200, b"")])
def test_a_success_without_a_usable_body_is_a_validation_error(status: int, body: bytes) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    with threedcart.Store(
        secure_url="https://s.example.com",
        private_key="pk-1234",
        token="tk-1234",
        base_url="http://127.0.0.1:9",
        transport=transport,
        max_retries=0,
        rate_limit=False,
    ) as store:
        with pytest.raises(threedcart.APIResponseValidationError) as info:
            if status == 201:
                store.customers.create({"Email": "a@example.com"})
            else:
                store.customers.delete(5)
    assert str(info.value).startswith(f"{status} ") or "the service answered" in str(info.value)


@pytest.mark.parametrize(
    ("body", "what"),
    [(b"", "no list of customers"), (b'{"TotalCount": 3}', "a count ({TotalCount})")],
)
def test_a_list_answer_that_is_not_a_list_names_what_came(body: bytes, what: str) -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=body, headers={"Content-Type": "application/json"})
    )
    with threedcart.Store(
        secure_url="https://s.example.com",
        private_key="pk-1234",
        token="tk-1234",
        base_url="http://127.0.0.1:9",
        transport=transport,
        max_retries=0,
        rate_limit=False,
    ) as store:
        with pytest.raises(threedcart.APIResponseValidationError) as info:
            store.customers.list(limit=5)
    assert str(info.value) == f"200 the service answered {what} to a list request"

"""Two fixes of the spec-driven mock, in this process (as tests/test_mock_units.py, whose spec swapping,
store and command line helpers these reuse; synthetic names start with `Xyzzy`):

- the route names of a path's parameters are all different, whatever the spec calls them, and each
  parameter is read from its own segment (`/{p1}/{xyzzy-id}` once became `/{p1}/{p1}`, which Starlette
  refused with a ValueError and a traceback);
- `format: time` is RFC 3339's full-time (JSON Schema draft 7's, as OpenAPI means it) both in the
  examples the mock builds and in its format check (the check was draft 3's, with no offset).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import API, SPEC
from jsonschema import Draft7Validator  # type: ignore[import-untyped]
from test_mock_units import (
    CUSTOMERS,
    JSON,
    NOT_FOUND,
    FakeSocket,
    Store,
    _add_field,
    _error,
    _get,
    _main,
    _new,
    _op,
    _phrases,
    fake_run,
    restored_signals_and_logger,
    use_spec,
)
from threedcart_mock import __main__ as cli
from threedcart_mock import _operations, _schema
from threedcart_mock._app import new_customer_defaults
from threedcart_mock._operations import RequestBody
from threedcart_mock._schema import SpecError, example

# test_mock_units' fixtures, which the tests here ask for by name (named here, they are not unused imports)
FIXTURES = (fake_run, restored_signals_and_logger, use_spec)
TRIO = API + "/XyzzyTrio/{p1}/{xyzzy-id}/{p1_}"
CLOCK = API + "/XyzzyClock"


# --- route names ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/{p1}/{xyzzy-id}", {"p1": "p1", "xyzzy-id": "p1_"}),
        ("/{xyzzy-id}/{p0}", {"xyzzy-id": "p0_", "p0": "p0"}),  # a name later in the path counts too
        ("/{xyzzy-a}/{p0}/{p0_}", {"xyzzy-a": "p0__", "p0": "p0", "p0_": "p0_"}),
        ("/{xyzzy-a}/{xyzzy-b}/{p1}", {"xyzzy-a": "p0", "xyzzy-b": "p1_", "p1": "p1"}),
        ("/{p1}/{1x}", {"p1": "p1", "1x": "p1_"}),
        ("/{1x}/{p0}", {"1x": "p0_", "p0": "p0"}),  # the spec's own identifiers are kept
        ("/a/{id}/b/{xyzzy-note-id}/{_x1}", {"id": "id", "xyzzy-note-id": "p1", "_x1": "_x1"}),
        ("/{xyzzy:int}/{xyzzy\n}", {"xyzzy:int": "p0", "xyzzy\n": "p1"}),  # no convertor, no newline
        ("/plain", {}),
    ],
)
def test_made_route_names_never_clash(path: str, names: dict[str, str]) -> None:
    assert _operations._route_names(path) == names
    route = _operations._route_template(path, names)
    assert sorted(_operations._TEMPLATE.findall(route)) == sorted(names.values())
    assert len(set(names.values())) == len(names)


def test_a_path_that_names_a_parameter_twice_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as raised:
        _operations._route_names("/a/{id}/b/{id}")
    assert str(raised.value) == "the path /a/{id}/b/{id} names the parameter {id} twice"
    with pytest.raises(SpecError, match=r"^the path /\{xyzzy-a\}/\{xyzzy-a\} names the parameter"):
        _operations._route_names("/{xyzzy-a}/{xyzzy-a}")


def test_the_mock_stops_with_one_line_on_a_path_naming_a_parameter_twice(
    fake_run: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    use_spec: Callable[[Any], Path],
) -> None:
    fake = FakeSocket()
    monkeypatch.setattr(cli, "_bind", lambda host, port: fake)
    spec = copy.deepcopy(SPEC)
    param = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    spec["paths"][API + "/XyzzyTwice/{id}/{id}"] = _get(
        "getXyzzyTwice", {"200": {"description": "ok"}}, parameters=[param]
    )
    path = use_spec(spec)
    assert _main([]) == 1 and fake.closed and fake_run == []
    assert capsys.readouterr().err == (
        f"threedcart-mock: cannot serve {path}: "
        f"the path {API}/XyzzyTwice/{{id}}/{{id}} names the parameter {{id}} twice\n"
    )


def _fixes_spec() -> dict[str, Any]:
    """Three path parameters whose made route name could clash, a query parameter and a Customer field
    of `format: time`."""
    spec = copy.deepcopy(SPEC)
    spec["paths"][TRIO] = _get(
        "getXyzzyTrio",
        {"200": {"description": "ok", "content": {"text/plain": {"example": "trio"}}}},
        parameters=[
            {"name": "p1", "in": "path", "required": True, "schema": {"type": "integer"}},
            {"name": "xyzzy-id", "in": "path", "required": True, "schema": {"type": "integer", "maximum": 9}},
            {"name": "p1_", "in": "path", "required": True, "schema": {"type": "string", "enum": ["a", "b"]}},
        ],
    )
    spec["paths"][CLOCK] = _get(
        "getXyzzyClock",
        {"200": {"description": "ok", "content": {"text/plain": {"example": "tick"}}}},
        parameters=[{"name": "xyzzyat", "in": "query", "schema": {"type": "string", "format": "time"}}],
    )
    _add_field(spec, "XyzzyAt", {"type": "string", "format": "time"})
    return spec


def test_each_path_parameter_is_read_from_its_own_segment(use_spec: Callable[[Any], Path]) -> None:
    use_spec(_fixes_spec())
    op = _op("getXyzzyTrio")
    assert op.route == API + "/XyzzyTrio/{p1}/{p1__}/{p1_}"
    assert op.route_names == {"p1": "p1", "xyzzy-id": "p1__", "p1_": "p1_"}
    assert op.label == f"GET {TRIO} (getXyzzyTrio)"
    assert _op("getCustomer").route == CUSTOMERS + "/{id}"  # the spec's own names are kept
    store = Store()
    try:
        assert store.app.state.from_spec == [op.label, _op("getXyzzyClock").label]
        client = store.client
        r = client.get("/XyzzyTrio/5/7/a")
        assert (r.status_code, r.text) == (200, "trio")
        assert _error(client.get("/XyzzyTrio/x/7/a"), 400, "x") == "p1 must be an integer"
        assert _error(client.get("/XyzzyTrio/5/x/a"), 400, "x") == "xyzzy-id must be an integer"
        assert _error(client.get("/XyzzyTrio/5/70/a"), 400, "70") == "xyzzy-id must be at most 9"
        assert _error(client.get("/XyzzyTrio/5/7/c"), 400, "c") == 'p1_ must be one of "a", "b"'
        assert _error(client.get("/Customers/1"), 404, "1") == NOT_FOUND  # a stateful handler's {id}
    finally:
        store.close()


# --- format: time -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "00:00:00Z",
        "12:00:00Z",
        "12:00:00z",
        "23:59:59.123456+05:30",
        "12:00:00.5Z",
        "12:00:00-00:00",
        "00:00:00+23:59",
    ],
)
def test_a_time_is_an_rfc3339_full_time(value: str) -> None:
    assert _schema._FORMATS.conforms(value, "time")
    assert _phrases({"type": "string", "format": "time"}, value) == []


@pytest.mark.parametrize(
    "value",
    [
        "12:00:00",  # no offset: draft 3's time, not RFC 3339's
        "24:00:00Z",
        "12:60:00Z",
        "12:00:61Z",
        "12:00:00+24:00",
        "12:00:00+05:60",
        "12:00:00+0530",
        "12:00Z",
        "1:00:00Z",
        "12:00:00.Z",
        "T12:00:00Z",
        "2026-01-01T12:00:00Z",
        "noon",
        "",
    ],
)
def test_what_is_not_a_time(value: str) -> None:
    assert not _schema._FORMATS.conforms(value, "time")
    assert _phrases({"type": "string", "format": "time"}, value) == ["n must be a valid time"]


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2026-01-01T00:00:00Z", True),
        ("2026-01-01T12:30:00.25+05:30", True),
        ("2026-01-01T00:00:00", False),
        ("2026-02-30T00:00:00Z", False),
        ("2026-01-01", False),
        ("noon", False),
    ],
)
def test_a_date_time_is_checked_as_before(value: str, valid: bool) -> None:
    assert _schema._FORMATS.conforms(value, "date-time") is valid


def test_the_example_of_a_time_is_a_time() -> None:
    built = example({"type": "string", "format": "time"})
    assert built == "00:00:00Z" and _schema._FORMATS.conforms(built, "time")
    assert _schema._FORMATS.conforms(example({"type": "string", "format": "date-time"}), "date-time")


def test_without_rfc3339_validator_a_time_goes_unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _schema._format_checker().checkers["time"] == Draft7Validator.FORMAT_CHECKER.checkers["time"]
    monkeypatch.delitem(Draft7Validator.FORMAT_CHECKER.checkers, "time")
    checker = _schema._format_checker()
    assert "time" not in checker.checkers and "date" in checker.checkers and "int32" in checker.checkers
    assert checker.conforms("12:00:00", "time") and checker.conforms("noon", "time")


def test_a_time_field_gets_its_example_and_takes_rfc3339_times(use_spec: Callable[[Any], Path]) -> None:
    use_spec(_fixes_spec())
    assert new_customer_defaults()["XyzzyAt"] == "00:00:00Z"
    create = RequestBody.of(_op("createCustomer"))
    assert create is not None and create.content[JSON] is not None
    assert _schema.body_schema_at(create.content[JSON])._fast is not None  # jsonschema-rs agrees too
    store = Store()
    try:
        client = store.client
        r = client.post("/Customers", json=_new(1))
        assert r.status_code == 201, r.text
        r = client.post("/Customers", json=_new(2, XyzzyAt="12:00:00.5+05:30"))
        assert r.status_code == 201, r.text
        assert [row["XyzzyAt"] for row in store.rows()] == ["00:00:00Z", "12:00:00.5+05:30"]
        r = client.post("/Customers", json=_new(3, XyzzyAt="12:00:00"))
        assert _error(r, 400) == "XyzzyAt must be a valid time"
        r = client.post("/Customers", json=_new(3, XyzzyAt="25:00:00Z"))
        assert _error(r, 400) == "XyzzyAt must be a valid time"
        r = client.get("/XyzzyClock", params={"xyzzyat": "12:00:00Z"})
        assert (r.status_code, r.text) == (200, "tick")
        r = client.get("/XyzzyClock", params={"xyzzyat": "12:00:00"})
        assert _error(r, 400, "12:00:00") == "xyzzyat must be a valid time"
    finally:
        store.close()

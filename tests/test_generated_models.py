"""The generated models parse every sample of the reference chapter and the real service's quirks."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path
from types import MappingProxyType

import attrs
import httpx
import pytest
import threedcart
import threedcart_customers_client
import yaml
from threedcart_customers_client import Client
from threedcart_customers_client.api.customers import (
    create_customer,
    delete_customer,
    get_customer,
    list_customer_group_customers,
    list_customers,
    update_customer,
    update_customers,
)
from threedcart_customers_client.models import (
    CountResult,
    Customer,
    CustomerCreate,
    CustomerUpdateItem,
    Error,
    WriteResult,
)
from threedcart_customers_client.types import UNSET

ROOT = Path(__file__).parent.parent
CHAPTER = ROOT / "openapi" / "reference" / "customers-chapter.txt"
SPEC = yaml.safe_load((ROOT / "openapi" / "customers.yaml").read_text(encoding="utf-8"))
CUSTOMER_FIELDS = list(SPEC["components"]["schemas"]["Customer"]["properties"])
RESPONSE_INTRO = "The above request will receive a response with JSON structured like this"


def _without_trailing_commas(text: str) -> str:
    return re.sub(r",(\s*[}\]])", r"\1", text)


def _json_block_after(text: str, start: int) -> str:
    """The balanced JSON array or object that begins at the first bracket after `start`."""
    begin = min(i for i in (text.find("[", start), text.find("{", start)) if i >= 0)
    depth = 0
    for i in range(begin, len(text)):
        if text[i] in "[{":
            depth += 1
        elif text[i] in "]}":
            depth -= 1
            if depth == 0:
                return text[begin : i + 1]
    raise AssertionError("unbalanced JSON sample")


def _response_samples() -> list[object]:
    text = CHAPTER.read_text(encoding="utf-8")
    starts = [m.end() for m in re.finditer(re.escape(RESPONSE_INTRO), text)]
    return [json.loads(_without_trailing_commas(_json_block_after(text, s))) for s in starts]


def _python_request_samples() -> list[object]:
    """The JSON bodies of the chapter's Python samples (`values = \"\"\" ... \"\"\"`)."""
    text = CHAPTER.read_text(encoding="utf-8")
    return [json.loads(m.group(1)) for m in re.finditer(r'values = """(.*?)"""', text, re.S)]


SAMPLES = _response_samples()
CUSTOMER_PAGES = [s for s in SAMPLES if isinstance(s, list) and s and "CustomerID" in s[0]]
WRITE_RESULTS = [s for s in SAMPLES if isinstance(s, list) and s and "Key" in s[0]]


def test_chapter_has_all_seven_samples() -> None:
    # create, group list, list, get, bulk update, update, delete
    assert len(SAMPLES) == 7
    assert len(CUSTOMER_PAGES) == 3
    assert len(WRITE_RESULTS) == 4


@pytest.mark.parametrize("page", CUSTOMER_PAGES)
def test_customer_samples_round_trip(page: list[dict[str, object]]) -> None:
    for record in page:
        customer = Customer.from_dict(record)
        assert customer.to_dict() == record
        assert customer.billing_tax_id == record["BillingTaxID"]
        assert customer.total_store_credit == record["TotalStoreCredit"]
        assert set(record) <= set(CUSTOMER_FIELDS)  # every field of the reference is in the spec


@pytest.mark.parametrize("results", WRITE_RESULTS)
def test_write_result_samples_parse(results: list[dict[str, str]]) -> None:
    for item in results:
        parsed = WriteResult.from_dict(item)
        assert parsed.key == "CustomerID"
        assert parsed.value == "1234"
        assert parsed.to_dict() == item


def test_request_samples_parse_into_request_models() -> None:
    bodies = _python_request_samples()
    create, bulk, update = bodies
    # The chapter's create sample sends a CustomerID, which the store ignores: the create body is
    # closed and has none (typed clients refuse it), so the model leaves it out.
    assert "CustomerID" in create and not hasattr(CustomerCreate, "customer_id")
    without_id = {k: v for k, v in create.items() if k != "CustomerID"}
    assert CustomerCreate.from_dict(create).to_dict() == without_id
    assert [CustomerUpdateItem.from_dict(item).to_dict() for item in bulk] == bulk
    assert Customer.from_dict(update).to_dict() == update


def test_null_strings_and_missing_keys_parse() -> None:
    record = {"CustomerID": 7, "Email": "a@example.com", "BillingTaxID": None, "Comments": None}
    customer = Customer.from_dict(record)
    assert customer.billing_tax_id is None
    assert customer.comments is None
    assert customer.billing_city is UNSET
    assert customer.enabled is UNSET
    assert customer.to_dict() == record


def test_count_result_parses() -> None:
    assert CountResult.from_dict({"TotalCount": 0}).total_count == 0


def _client_answering(status: int, body: object) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    client = Client(base_url="http://127.0.0.1:1")
    client.set_httpx_client(
        httpx.Client(base_url="http://127.0.0.1:1", transport=httpx.MockTransport(handler))
    )
    return client


def test_operations_parse_the_chapter_answers() -> None:
    """Each operation turns the chapter's sample answer into models (the response side of the spec)."""
    page = CUSTOMER_PAGES[0]
    listed = list_customers.sync_detailed(client=_client_answering(200, page)).parsed
    assert isinstance(listed, list) and [c.to_dict() for c in listed] == page  # type: ignore[union-attr]
    grouped = list_customer_group_customers.sync_detailed(1, client=_client_answering(200, page)).parsed
    assert isinstance(grouped, list) and len(grouped) == 2
    counted = list_customers.sync_detailed(client=_client_answering(200, {"TotalCount": 3})).parsed
    assert isinstance(counted, CountResult) and counted.total_count == 3
    one = get_customer.sync_detailed(1, client=_client_answering(200, page[:1])).parsed
    assert isinstance(one, list) and one[0].customer_id == 1
    created = create_customer.sync_detailed(
        client=_client_answering(201, WRITE_RESULTS[0]), body=CustomerCreate(email="a@b.c", password="")
    ).parsed
    assert isinstance(created, list) and created[0].value == "1234"
    for module, args in (
        (update_customer, (1,)),
        (delete_customer, (1,)),
    ):
        result = module.sync_detailed(
            *args,
            client=_client_answering(200, WRITE_RESULTS[-1]),
            **({"body": Customer(email="x")} if module is update_customer else {}),
        ).parsed
        assert isinstance(result, list) and isinstance(result[0], WriteResult)
    bulk = update_customers.sync_detailed(
        client=_client_answering(206, WRITE_RESULTS[1]), body=[CustomerUpdateItem(customer_id=1)]
    ).parsed
    assert isinstance(bulk, list) and bulk[0].status == "200"


def test_one_version_source() -> None:
    """info.version is the generated package's version (pyproject and `__version__`) and the SDK's."""
    version = SPEC["info"]["version"]
    generated = (ROOT / "generated" / "pyproject.toml").read_text(encoding="utf-8")
    assert f'\nversion = "{version}"\n' in generated
    assert threedcart_customers_client.__version__ == version
    assert version == threedcart.API_VERSION
    # the SDK's own version (its distribution's) shares the contract's major version
    assert threedcart.__version__ == importlib.metadata.version("threedcart")
    assert threedcart.__version__.split(".")[0] == version.split(".")[0]
    # the installed distribution is the one generated from this spec (make venv reinstalls it)
    assert importlib.metadata.version("threedcart-customers-client") == version


def test_sdk_accepts_every_minor_version_of_the_contract() -> None:
    """The SDK depends on the contract's major version, so a minor bump needs no other edit."""
    major = int(SPEC["info"]["version"].split(".")[0])
    root = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"threedcart-customers-client>={major}.0,<{major + 1}"' in root


# --- from_dict, the custom template's fast path (every field, nothing else) and its other path -------
MODELS = {
    "Customer": Customer,
    "CustomerCreate": CustomerCreate,
    "CustomerUpdateItem": CustomerUpdateItem,
    "CountResult": CountResult,
    "WriteResult": WriteResult,
    "Error": Error,
}
# Request bodies are closed (`additionalProperties: false`): their models keep no unknown key.
CLOSED = {name for name in MODELS if SPEC["components"]["schemas"][name].get("additionalProperties") is False}


def _additional(parsed: object) -> object:
    """The unknown keys a model kept; a closed model has no `additional_properties` at all."""
    return getattr(parsed, "additional_properties", {})


def test_request_models_are_closed_and_answers_open() -> None:
    assert {"CustomerCreate", "CustomerUpdateItem"} == CLOSED
    for name in CLOSED:
        assert not hasattr(MODELS[name](**_required_args(name)), "additional_properties")
    for name in set(MODELS) - CLOSED:
        assert SPEC["components"]["schemas"][name]["additionalProperties"] is True


def _required_args(name: str) -> dict[str, object]:
    return {_attribute(MODELS[name], field): None for field in _fields(name)[1]}


def _fields(schema_name: str) -> tuple[dict[str, dict[str, object]], list[str]]:
    """A schema's properties (through allOf) and its required field names, from the spec."""
    schema = SPEC["components"]["schemas"][schema_name]
    properties: dict[str, dict[str, object]] = {}
    required: list[str] = []
    for part in [schema, *schema.get("allOf", [])]:
        if "$ref" in part:
            more, needed = _fields(part["$ref"].rsplit("/", 1)[-1])
        else:
            more, needed = part.get("properties", {}), part.get("required", [])
        properties.update(more)
        required += needed
    return properties, required


def _typed_value(schema: dict[str, object], index: int) -> object:
    return {"integer": index + 1, "number": index + 0.5, "boolean": index % 2 == 0}.get(
        str(schema.get("type")), f"text {index}"
    )


def _attribute(model: type, field: str) -> str:
    """The Python attribute of a JSON field: the one that holds a value only that field carries."""
    names = list(_fields(model.__name__)[0])
    parsed = model.from_dict({name: f"<{name}>" for name in names})
    [attribute] = [a.name for a in attrs.fields(model) if getattr(parsed, a.name) == f"<{field}>"]
    return attribute


@pytest.mark.parametrize("name", sorted(MODELS))
def test_from_dict_puts_each_field_in_its_own_attribute(name: str) -> None:
    model = MODELS[name]
    properties, _ = _fields(name)
    assert name != "Customer" or list(properties) == CUSTOMER_FIELDS
    unique = {field: f"<{field}>" for field in properties}
    parsed = model.from_dict(unique)
    assert parsed.to_dict() == unique and _additional(parsed) == {}
    for field in properties:
        assert getattr(parsed, _attribute(model, field)) == f"<{field}>"
    typed = {field: _typed_value(schema, i) for i, (field, schema) in enumerate(properties.items())}
    again = model.from_dict(typed)
    assert again.to_dict() == typed
    assert model.from_dict(again.to_dict()) == again


@pytest.mark.parametrize("name", sorted(MODELS))
def test_from_dict_leaves_a_missing_optional_field_unset(name: str) -> None:
    model = MODELS[name]
    properties, required = _fields(name)
    full = {field: f"<{field}>" for field in properties}
    for field in set(properties) - set(required):
        parsed = model.from_dict({k: v for k, v in full.items() if k != field})
        assert getattr(parsed, _attribute(model, field)) is UNSET
        assert field not in parsed.to_dict() and _additional(parsed) == {}
    minimal = model.from_dict({field: full[field] for field in required})
    assert minimal.to_dict() == {field: full[field] for field in required}
    for field in set(properties) - set(required):
        assert getattr(minimal, _attribute(model, field)) is UNSET


@pytest.mark.parametrize("name", sorted(MODELS))
def test_from_dict_keeps_null_as_none(name: str) -> None:
    model = MODELS[name]
    nulls = dict.fromkeys(_fields(name)[0])
    parsed = model.from_dict(nulls)
    assert all(getattr(parsed, _attribute(model, field)) is None for field in nulls)
    assert parsed.to_dict() == nulls
    one_null = model.from_dict({**{f: f"<{f}>" for f in nulls}, next(iter(nulls)): None})
    assert getattr(one_null, _attribute(model, next(iter(nulls)))) is None


@pytest.mark.parametrize("name", sorted(set(MODELS) - CLOSED))
def test_from_dict_puts_unknown_keys_in_additional_properties_in_their_order(name: str) -> None:
    model = MODELS[name]
    properties, required = _fields(name)
    fields = list(properties)
    source: dict[str, object] = {"Zeta": 1}
    for i, field in enumerate(fields):
        source[field] = f"<{field}>"
        if i == len(fields) // 2:
            source["Alpha"] = [1, {"b": None}]
    source["customerid"] = None  # the names are case-sensitive
    before = dict(source)
    parsed = first = model.from_dict(source)
    assert parsed.additional_properties == {"Zeta": 1, "Alpha": [1, {"b": None}], "customerid": None}
    assert list(parsed.additional_properties) == ["Zeta", "Alpha", "customerid"]
    assert parsed.additional_properties is not source and source == before
    assert parsed.to_dict() == source
    assert all(getattr(parsed, _attribute(model, f)) == f"<{f}>" for f in fields)
    # as many keys as fields, one of them unknown: the unknown key is kept, the missing field unset
    for dropped in [f for f in fields if f not in required][-1:]:
        swapped = {**{f: f"<{f}>" for f in fields if f != dropped}, "Other": 2}
        parsed = model.from_dict(swapped)
        assert len(swapped) == len(fields) and parsed.additional_properties == {"Other": 2}
        assert getattr(parsed, _attribute(model, dropped)) is UNSET
    # adding or removing a key later never touches the parsed model
    source["Late"] = 3
    del source["Zeta"]
    assert list(first.additional_properties) == ["Zeta", "Alpha", "customerid"]


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_from_dict_of_a_closed_model_leaves_unknown_keys_out(name: str) -> None:
    model = MODELS[name]
    full = {field: f"<{field}>" for field in _fields(name)[0]}
    parsed = model.from_dict({"Zeta": 1, **full, "customerid": None})
    assert parsed == model.from_dict(full) and parsed.to_dict() == full


@pytest.mark.parametrize("name", sorted(MODELS))
def test_from_dict_reads_any_mapping_as_the_stock_code_does(name: str) -> None:
    model = MODELS[name]
    full = {field: f"<{field}>" for field in _fields(name)[0]}
    expected = model.from_dict(full)
    assert model.from_dict(MappingProxyType(full)) == expected
    assert model.from_dict(list(full.items())) == expected  # dict() of pairs, as before
    assert model.from_dict(OrderedDict(full)) == expected
    # an unknown key is kept by an open model (so it differs), left out by a closed one
    assert (model.from_dict({**full, "X": 1}) == expected) == (name in CLOSED)
    for not_a_mapping in ("abc", 5, None, [1, 2]):
        with pytest.raises((TypeError, ValueError)):
            model.from_dict(not_a_mapping)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(n for n in MODELS if _fields(n)[1]))
def test_from_dict_raises_key_error_for_a_missing_required_field(name: str) -> None:
    model = MODELS[name]
    properties, required = _fields(name)
    full = {field: f"<{field}>" for field in properties}
    for field in required:
        without = {k: v for k, v in full.items() if k != field}
        # the first missing required field, in the spec's order, is named (as the stock pops did)
        with pytest.raises(KeyError) as missing:
            model.from_dict(without)
        assert missing.value.args == (field,)
        with pytest.raises(KeyError):  # as many keys as fields, one unknown
            model.from_dict({**without, "Other": 1})
    with pytest.raises(KeyError) as none:
        model.from_dict({})
    assert none.value.args == (required[0],)


def test_a_page_of_every_field_decodes_through_the_operation() -> None:
    """The path of every page the SDK reads: `_build_response` (parse_json, then from_dict per item)."""
    properties, _ = _fields("Customer")
    page = [
        {field: _typed_value(schema, i + n) for i, (field, schema) in enumerate(properties.items())}
        for n in range(50)
    ]
    page[3]["Unknown"] = {"nested": [1]}
    del page[4]["Comments"]
    page[5]["Email"] = None
    response = httpx.Response(200, content=json.dumps(page).encode())
    parsed = list_customers._build_response(client=Client(base_url="http://x"), response=response).parsed
    assert parsed == [Customer.from_dict(item) for item in page]
    assert isinstance(parsed, list) and [c.to_dict() for c in parsed] == page
    assert parsed[3].additional_properties == {"Unknown": {"nested": [1]}}
    assert parsed[4].comments is UNSET and parsed[5].email is None


# --- the template forks: each recorded against the pinned generator's stock template ---------------
TEMPLATE_FORKS = ROOT / "tools" / "template_forks.py"
CUSTOM_TEMPLATES = ROOT / "templates" / "openapi-python-client"


def _template_forks(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TEMPLATE_FORKS), *map(str, args)], capture_output=True, text=True, timeout=120
    )


def _stock_templates() -> Path:
    import openapi_python_client

    return Path(openapi_python_client.__file__).parent / "templates"


def test_every_template_fork_is_recorded_against_the_installed_stock_template() -> None:
    ran = _template_forks()
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "against the stock templates of openapi-python-client 0.29.1" in ran.stdout
    forks = {p.relative_to(CUSTOM_TEMPLATES).as_posix() for p in CUSTOM_TEMPLATES.rglob("*.jinja")}
    recorded = (CUSTOM_TEMPLATES / "FORKS.md").read_text(encoding="utf-8")
    assert forks and all(f"## `{name}`" in recorded for name in forks)
    # the digests are those of the stock templates the forks replace
    digests = (line.split("  ") for line in _template_forks("--digests").stdout.splitlines())
    listed = {name: digest for digest, name in digests}
    assert set(listed) == forks and all(f"`{digest}`" in recorded for digest in listed.values())


def test_template_forks_fail_naming_a_changed_stock_template(tmp_path: Path) -> None:
    stock = tmp_path / "stock"
    shutil.copytree(_stock_templates(), stock)
    assert _template_forks("--stock", stock).returncode == 0
    with (stock / "model.py.jinja").open("a", encoding="utf-8") as f:
        f.write("{# a later release #}\n")
    ran = _template_forks("--stock", stock)
    assert ran.returncode == 1
    [problem] = [line for line in ran.stdout.splitlines() if line.startswith("  ")]
    assert problem.startswith(
        "  model.py.jinja: the installed openapi-python-client's stock template differs"
    )
    # a stock template the SDK does not fork may change without a review
    (stock / "client.py.jinja").write_text("changed\n", encoding="utf-8")
    (stock / "model.py.jinja").write_bytes((_stock_templates() / "model.py.jinja").read_bytes())
    assert _template_forks("--stock", stock).returncode == 0
    (stock / "types.py.jinja").unlink()
    ran = _template_forks("--stock", stock)
    assert (
        ran.returncode == 1
        and "  types.py.jinja: the installed openapi-python-client has no stock" in ran.stdout
    )


def test_template_forks_fail_on_an_unrecorded_fork_or_parser_internals(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(CUSTOM_TEMPLATES, templates)
    assert _template_forks("--templates", templates).returncode == 0
    # a new custom template, not recorded
    (templates / "client.py.jinja").write_bytes((_stock_templates() / "client.py.jinja").read_bytes())
    ran = _template_forks("--templates", templates)
    assert ran.returncode == 1 and "  client.py.jinja: a custom template not recorded as a fork" in ran.stdout
    (templates / "client.py.jinja").unlink()
    # a fork that reads the parser's schema rather than the template context
    model = templates / "model.py.jinja"
    source = model.read_text(encoding="utf-8")
    model.write_text(source + "{{ model.data.properties }}\n", encoding="utf-8")
    ran = _template_forks("--templates", templates)
    assert (
        ran.returncode == 1 and "  model.py.jinja: reads `.data`, which no stock template reads" in ran.stdout
    )
    # a fork that tells plain fields by comparing what a property template's macro renders
    probe = (
        '{% import "property_templates/union_property.py.jinja" as t %}'
        '{% if t.construct(p, "S") | trim == "x" %}{% endif %}\n'
    )
    model.write_text(source + probe, encoding="utf-8")
    ran = _template_forks("--templates", templates)
    assert ran.returncode == 1 and "  model.py.jinja: inspects what `t.construct(...)` renders" in ran.stdout
    # a fork whose FORKS.md section is missing
    model.write_text(source, encoding="utf-8")
    forks_md = templates / "FORKS.md"
    forks_md.write_text(
        forks_md.read_text(encoding="utf-8").replace("## `model.py.jinja`", "## model"), encoding="utf-8"
    )
    ran = _template_forks("--templates", templates)
    assert ran.returncode == 1 and "  model.py.jinja: no '## `model.py.jinja`' section" in ran.stdout

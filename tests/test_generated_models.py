"""The generated models parse every sample of the reference chapter and the real service's quirks."""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

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
    assert CustomerCreate.from_dict(create).to_dict() == create
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
    assert threedcart.__version__ == version
    # the installed distribution is the one generated from this spec (make venv reinstalls it)
    assert importlib.metadata.version("threedcart-customers-client") == version


def test_sdk_accepts_every_minor_version_of_the_contract() -> None:
    """The SDK depends on the contract's major version, so a minor bump needs no other edit."""
    major = int(SPEC["info"]["version"].split(".")[0])
    root = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"threedcart-customers-client>={major}.0,<{major + 1}"' in root

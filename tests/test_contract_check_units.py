"""The probes of `threedcart contract-check`, in-process: `threedcart.contract._check` line by line.

Pins, against scripted answers (`httpx.MockTransport`) and once against the real mock store:
- how each answer is judged (`_judge`): undocumented and unexpected statuses, bodiless answers and
  where they are allowed, bodies where none is documented, bodies that are not JSON, a wrong
  Content-Type, schema problems tallied into one line per kind and place;
- what `call` sends and shows, and when it aborts (no answer; a 401 on the first request);
- the exact requests of every probe, in order (lists, paging, filters, a count, gets, a group
  list, and the writes on one customer the check creates and deletes), and what each expects;
- the helpers that read the spec (paging, filters, the primary key, a missing id, a new
  customer, an editable field, the created id) and the report's lines and summary.
Modified copies of the packaged spec reach what the real one does not; added names are synthetic.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import threedcart
from threedcart.contract import ContractCheck, Finding, Operation, Report, Spec, load_spec
from threedcart.contract._check import CheckAborted, _as_id, _decoded, _says_bodiless
from threedcart.errors import APIConnectionError
from threedcart_mock.testing import MockServer

API = "/3dCartWebAPI/v1"
LIST = f"{API}/Customers"
ONE = f"{API}/Customers/{{id}}"
GROUP = f"{API}/CustomerGroups/{{id}}/Customers"
TAG = "000102030405"  # what the stubbed secrets.token_hex(6) gives
NOBODY = f"email=contract-check-nobody-{TAG}%40example.invalid"
BASE: dict[str, Any] = load_spec()
SPEC = Spec(BASE)
MISSING = 2**31 - 1  # the customer id the check expects to be missing (int32's maximum)

Answer = Callable[[httpx.Request], httpx.Response]


# --- helpers ----------------------------------------------------------------------------------------
def document() -> dict[str, Any]:
    """A copy of the packaged spec to change."""
    return copy.deepcopy(BASE)


def schemas(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["components"]["schemas"]


def operation(spec: Spec, operation_id: str) -> Operation:
    found = spec.operation(operation_id)
    assert found is not None
    return found


def line_of(request: httpx.Request) -> str:
    """`METHOD path?query body` of a request (the JSON body compact)."""
    text = f"{request.method} {request.url.path}"
    if request.url.query:
        text += "?" + request.url.query.decode()
    if request.content:
        text += " " + json.dumps(json.loads(request.content), separators=(",", ":"))
    return text


class Server:
    """A scripted server for `httpx.MockTransport`: `answer` decides; every request is kept."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(line_of(request))
        return self.answer(request)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self), base_url="http://store.test")


def checker(
    answer: Answer,
    spec: Spec = SPEC,
    *,
    allow_writes: bool = False,
    progress: Callable[[Finding], None] | None = None,
) -> tuple[ContractCheck, Server]:
    server = Server(answer)
    return ContractCheck(spec, server.client(), allow_writes=allow_writes, progress=progress), server


def lines(report: Report) -> list[str]:
    return [finding.line() for finding in report.findings]


def error(status: int, message: str, value: str = "") -> httpx.Response:
    return httpx.Response(
        status, json=[{"Key": "Error", "Value": value, "Status": str(status), "Message": message}]
    )


def written(status: int, ids: list[int], message: str) -> list[dict[str, str]]:
    return [{"Key": "CustomerID", "Value": str(i), "Status": str(status), "Message": message} for i in ids]


def bodiless_500(request: httpx.Request) -> httpx.Response:
    return httpx.Response(500)


def failing_after(count: int, answer: Answer) -> Answer:
    """`answer` for the first `count` requests, then a bodiless 500 for every other one."""
    seen = [0]

    def respond(request: httpx.Request) -> httpx.Response:
        seen[0] += 1
        return answer(request) if seen[0] <= count else httpx.Response(500)

    return respond


def failed(operation_id: str, request: str, wanted: str) -> list[str]:
    """The two lines of a bodiless 500 where the spec leads to expect `wanted`."""
    return [
        f"DEVIATION {operation_id} {request}: status 500 where the spec leads to expect {wanted}",
        f"note {operation_id} {request}: bodiless 500",
    ]


FILTERS = {
    "email": "Email",
    "firstname": "BillingFirstName",
    "lastname": "BillingLastName",
    "country": "BillingCountry",
    "state": "BillingState",
    "city": "BillingCity",
}
ADA: dict[str, Any] = {
    "CustomerID": 1,
    "Email": "ada@example.com",
    "BillingFirstName": "Ada",
    "BillingLastName": "Lovelace",
    "BillingCity": "Boston",
    "BillingState": "MA",
    "BillingCountry": "US",
    "BillingPhoneNumber": "617-555-0101",
    "ShippingCity": "Albany",
    "ShippingState": "NY",
    "CustomerGroupID": 2,
    "Enabled": True,
}
GRACE: dict[str, Any] = {
    "CustomerID": 2,
    "Email": "grace@example.com",
    "BillingFirstName": "Grace",
    "BillingLastName": "Hopper",
    "BillingCity": "Cambridge",
    "BillingState": "MA",
    "BillingCountry": "US",
    "CustomerGroupID": 0,
}
ALAN: dict[str, Any] = {
    "CustomerID": 3,
    "Email": "alan@example.org",
    "BillingFirstName": "Alan",
    "BillingLastName": "Turing",
    "BillingCity": "New York",
    "BillingState": "NY",
    "BillingCountry": "US",
    "CustomerGroupID": 2,
}


class FakeStore:
    """A small store that answers as the spec documents (write results, error lists, 404, 400)."""

    def __init__(
        self,
        customers: list[dict[str, Any]] | None = None,
        *,
        next_id: int = 4,
        keep_updates: bool = True,
        echo_email: bool = True,
        new_value: Any = None,
    ) -> None:
        self.customers = {
            c["CustomerID"]: dict(c) for c in (customers if customers is not None else [ADA, GRACE, ALAN])
        }
        self.next_id = next_id
        self.keep_updates = keep_updates
        self.echo_email = echo_email
        self.new_value = new_value

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        params = {k.lower(): v for k, v in request.url.params.items()}
        body = json.loads(request.content) if request.content else None
        one = re.fullmatch(re.escape(LIST) + r"/(\d+)", path)
        group = re.fullmatch(re.escape(API) + r"/CustomerGroups/(\d+)/Customers", path)
        if path == LIST and method == "GET":
            return self._page(list(self.customers.values()), params, "No Customer records found")
        if path == LIST and method == "POST":
            return self._create(body)
        if path == LIST and method == "PUT":
            return self._bulk(body)
        if one and method == "GET":
            return self._get(int(one[1]))
        if one and method == "PUT":
            return self._update(int(one[1]), body)
        if one and method == "DELETE":
            return self._delete(int(one[1]))
        if group and method == "GET":
            members = [c for c in self.customers.values() if c.get("CustomerGroupID") == int(group[1])]
            return self._page(members, params, "The Customer Group was not found")
        raise AssertionError(f"an unexpected request: {line_of(request)}")

    def _page(self, records: list[dict[str, Any]], params: dict[str, str], none: str) -> httpx.Response:
        matched = [
            c
            for c in records
            if all(
                str(c.get(f) or "").lower() == params[n].lower() for n, f in FILTERS.items() if n in params
            )
        ]
        if params.get("countonly") == "1":
            return httpx.Response(200, json={"TotalCount": len(matched)})
        if not matched:
            return error(404, none)
        offset, limit = int(params.get("offset", "1")), int(params.get("limit", "10"))
        if offset > len(matched):
            return error(400, "Offset amount exceeds the total number of records")
        return httpx.Response(200, json=matched[max(offset, 1) - 1 :][:limit])

    def _get(self, customer_id: int) -> httpx.Response:
        if customer_id not in self.customers:
            return error(404, "The Customer record was not found", str(customer_id))
        record = dict(self.customers[customer_id])
        if not self.echo_email and isinstance(record.get("Email"), str):
            record["Email"] = record["Email"].upper()
        return httpx.Response(200, json=[record])

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        new_id, self.next_id = self.next_id, self.next_id + 1
        self.customers[new_id] = {"CustomerID": new_id, **body}
        result = written(201, [new_id], "Created successfully")
        if self.new_value is not None:
            result[0]["Value"] = self.new_value
        return httpx.Response(201, json=result)

    def _update(self, customer_id: int, body: dict[str, Any]) -> httpx.Response:
        if customer_id not in self.customers:
            return error(404, "The Customer record was not found", str(customer_id))
        if self.keep_updates:
            self.customers[customer_id].update(body)
        return httpx.Response(200, json=written(200, [customer_id], "updated successfully"))

    def _bulk(self, items: list[dict[str, Any]]) -> httpx.Response:
        found = [i["CustomerID"] for i in items if i["CustomerID"] in self.customers]
        if not found:
            return error(404, "The Customer record was not found")
        if self.keep_updates:
            for item in items:
                if item["CustomerID"] in self.customers:
                    self.customers[item["CustomerID"]].update(item)
        results = [
            {
                "Key": "CustomerID",
                "Value": str(i["CustomerID"]),
                "Status": "200" if i["CustomerID"] in found else "404",
                "Message": "updated successfully" if i["CustomerID"] in found else "not found",
            }
            for i in items
        ]
        return httpx.Response(200 if len(found) == len(items) else 206, json=results)

    def _delete(self, customer_id: int) -> httpx.Response:
        if self.customers.pop(customer_id, None) is None:
            return error(404, "The Customer record was not found", str(customer_id))
        return httpx.Response(200, json=written(200, [customer_id], "Deleted successfully"))


@pytest.fixture(autouse=True)
def fixed_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    """`secrets.token_hex(n)` gives n known bytes, so every tag and address is known."""
    monkeypatch.setattr(secrets, "token_hex", lambda n: bytes(range(n)).hex())


READS = [
    f"GET {LIST}?countonly=1",
    f"GET {LIST}?limit=5&offset=1",
    f"GET {LIST}?limit=2&offset=3",
    f"GET {LIST}?limit=1&offset=4",
    f"GET {LIST}?state=MA&limit=5",
    f"GET {LIST}?state=MA&countonly=1",
    f"GET {LIST}?email=ada%40example.com&limit=5",
    f"GET {LIST}?email=ada%40example.com&countonly=1",
    f"GET {LIST}?city=Boston&limit=5",
    f"GET {LIST}?city=Boston&countonly=1",
    f"GET {LIST}?{NOBODY}",
    f"GET {LIST}/1",
    f"GET {LIST}/{MISSING}",
    f"GET {API}/CustomerGroups/2/Customers?limit=5&offset=1",
    f"GET {API}/CustomerGroups/2/Customers?countonly=1",
]
CREATED = f'{{"Email":"contract-check-{TAG}@example.invalid","Password":"Cc-{TAG}"}}'
WRITES = [
    f"POST {LIST} {CREATED}",
    f"GET {LIST}/4",
    f'PUT {LIST}/4 {{"BillingCompany":"cc {TAG}"}}',
    f"GET {LIST}/4",
    f'PUT {LIST} [{{"CustomerID":4,"BillingCompany":"cc bulk {TAG}"}}]',
    f"GET {LIST}/4",
    f'PUT {LIST} [{{"CustomerID":4}},{{"CustomerID":{MISSING}}}]',
    f"DELETE {LIST}/4",
    f"GET {LIST}/4",
]
SEVEN = {
    "listCustomers",
    "getCustomer",
    "listCustomerGroupCustomers",
    "createCustomer",
    "updateCustomer",
    "updateCustomers",
    "deleteCustomer",
}


# --- Finding, Report, CheckAborted and the small functions --------------------------------------------
def test_a_finding_line_names_its_kind_operation_request_and_problem() -> None:
    assert (
        Finding("getCustomer", "GET /x/1", "status 410 ...").line()
        == "DEVIATION getCustomer GET /x/1: status 410 ..."
    )
    note = Finding("listCustomers", "GET /x", "bodiless 404", deviation=False)
    assert note.line() == "note listCustomers GET /x: bodiless 404"


def test_the_summary_counts_in_the_singular_and_the_plural() -> None:
    one = Report(
        findings=[Finding("a", "GET /a", "p"), Finding("a", "GET /a", "q", deviation=False)],
        requests=1,
        operations={"a"},
    )
    assert one.summary() == "contract-check: 1 request, 1 operation, 1 deviation, 1 note"
    assert one.deviations == [Finding("a", "GET /a", "p")]
    assert one.notes == [Finding("a", "GET /a", "q", deviation=False)]
    two = Report(findings=[*one.findings, *one.findings], requests=2, operations={"a", "b"})
    assert two.summary() == "contract-check: 2 requests, 2 operations, 2 deviations, 2 notes"
    assert Report().summary() == "contract-check: 0 requests, 0 operations, 0 deviations, 0 notes"


def test_the_summary_ends_with_what_was_skipped_and_why_it_stopped() -> None:
    report = Report(requests=3, operations={"a"}, skipped=["a (x)", "b (y)"], stopped="GET /a: no answer")
    assert report.summary() == (
        "contract-check: 3 requests, 1 operation, 0 deviations, 0 notes; skipped: a (x); b (y); "
        "stopped early: GET /a: no answer"
    )
    only_stopped = Report(stopped="GET /a: no answer")
    assert only_stopped.summary() == (
        "contract-check: 0 requests, 0 operations, 0 deviations, 0 notes; stopped early: GET /a: no answer"
    )
    only_skipped = Report(skipped=["writes (no create or get operation)"])
    assert only_skipped.summary() == (
        "contract-check: 0 requests, 0 operations, 0 deviations, 0 notes; "
        "skipped: writes (no create or get operation)"
    )


def test_check_aborted_is_no_usage_error_unless_it_says_so() -> None:
    plain = CheckAborted("GET /a: no answer")
    assert str(plain) == "GET /a: no answer" and plain.usage is False
    assert CheckAborted("refused", usage=True).usage is True


def test_nan_and_infinity_are_not_json() -> None:
    assert _decoded(b'[1, "a", {"b": null}]') == [1, "a", {"b": None}]
    with pytest.raises(ValueError, match=r"^NaN is not JSON$"):
        _decoded(b"[NaN]")
    with pytest.raises(ValueError, match=r"^-Infinity is not JSON$"):
        _decoded(b'{"TotalCount": -Infinity}')


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[(True, None), (False, None), (0, 0), (17, 17), ("42", 42), (" 8 ", 8), ("4a", None)],
        *[("", None), (None, None), (3.0, None), ([1], None)],
    ],
)
def test_an_id_is_an_integer_or_a_string_of_digits_never_a_boolean(value: Any, expected: int | None) -> None:
    assert _as_id(value) == expected


def test_a_digit_that_is_not_decimal_is_no_id() -> None:
    assert _as_id("²") is None  # it was a ValueError, and the whole check ended in a traceback


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ({"x-threedcart-bodiless": True}, True),
        ({"description": "d", "x-may-be-Bodiless": 1}, True),
        ({"x-empty-answers": "yes"}, True),
        ({"x-Empty": True}, True),
        ({"x-threedcart-bodiless": False}, False),
        ({"x-other": True}, False),
        ({"bodiless": True, "empty": True}, False),
        ({"X-Bodiless": True}, False),
        ({}, False),
    ],
)
def test_an_x_extension_can_allow_a_bodiless_answer(response: dict[str, Any], expected: bool) -> None:
    assert _says_bodiless(response) is expected


# --- call ----------------------------------------------------------------------------------------------
def test_call_fills_the_path_sends_the_query_and_body_and_returns_the_answer() -> None:
    doc = document()
    doc["paths"][f"{API}/Stores/{{store}}/Customers/{{id}}"] = {
        "put": {
            "operationId": "xyzzyPutStoreCustomer",
            "parameters": [
                {"name": "store", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                {"name": "qux", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {"200": {"description": "no body documented"}},
        }
    }
    spec = Spec(doc)
    check, server = checker(lambda request: httpx.Response(200, content=b" \n"), spec)
    response = check.call(
        operation(spec, "xyzzyPutStoreCustomer"),
        path_values={"store": "s1", "id": 7},
        query={"qux": "a b"},
        body={"XyzzyNote": "n"},
    )
    assert response.status_code == 200 and response.content == b" \n"
    assert server.seen == [f'PUT {API}/Stores/s1/Customers/7?qux=a+b {{"XyzzyNote":"n"}}']
    assert check.report.findings == []
    assert check.report.requests == 1 and check.report.operations == {"xyzzyPutStoreCustomer"}


def test_call_names_a_query_parameter_the_spec_does_not_define() -> None:
    seen: list[Finding] = []
    check, server = checker(lambda request: httpx.Response(200, json=[]), progress=seen.append)
    list_op = operation(SPEC, ContractCheck.LIST)
    check.call(list_op, query={"limit": 5, "qux_limit": 1, "qux_Since": "x"})
    check.call(list_op)
    request = f"GET {LIST}?limit=5&qux_limit=1&qux_Since=x"
    assert lines(check.report) == [
        f"DEVIATION listCustomers {request}: the check sends 'qux_limit', which the spec does not define",
        f"DEVIATION listCustomers {request}: the check sends 'qux_Since', which the spec does not define",
    ]
    assert seen == check.report.findings
    assert server.seen == [request, f"GET {LIST}"]
    assert check.report.requests == 2 and check.report.operations == {"listCustomers"}


@pytest.mark.parametrize(
    ("raised", "shown"),
    [
        (httpx.ConnectError("refused"), "ConnectError: refused"),
        (httpx.ReadTimeout("too slow"), "ReadTimeout: too slow"),
        (APIConnectionError("no route"), "APIConnectionError: no route"),
    ],
)
def test_no_answer_aborts_the_check_naming_the_request(raised: Exception, shown: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise raised

    check, _ = checker(answer)
    with pytest.raises(CheckAborted) as caught:
        check.call(operation(SPEC, ContractCheck.GET), path_values={"id": 12})
    assert str(caught.value) == f"GET {LIST}/12: no answer ({shown})"
    assert caught.value.usage is False
    assert check.report.requests == 1


def test_a_401_to_the_first_request_is_a_usage_error_and_a_later_one_a_deviation() -> None:
    answers = iter([error(401, "Authentication failure"), httpx.Response(200, json=[]), error(401, "no")])
    check, _ = checker(lambda request: next(answers))
    list_op = operation(SPEC, ContractCheck.LIST)
    with pytest.raises(CheckAborted) as caught:
        check.call(list_op)
    assert str(caught.value) == (
        "the store refused the credentials (401): check THREEDCART_SECURE_URL, "
        "THREEDCART_PRIVATE_KEY and THREEDCART_TOKEN"
    )
    assert caught.value.usage is True
    check.call(list_op)
    check.call(list_op, query={"limit": 5}, expect={200, 404})
    assert lines(check.report) == [
        f"DEVIATION listCustomers GET {LIST}?limit=5: status 401 where the spec leads to expect 200 or 404"
    ]


def test_run_raises_a_refusal_of_the_credentials() -> None:
    check, server = checker(lambda request: httpx.Response(401))
    with pytest.raises(CheckAborted) as caught:
        check.run()
    assert caught.value.usage is True
    assert server.seen == [f"GET {LIST}?countonly=1"] and check.report.stopped is None


def test_run_stops_early_when_the_store_does_not_answer() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    check, server = checker(answer, allow_writes=True)
    report = check.run()
    assert report is check.report
    assert report.stopped == f"GET {LIST}?countonly=1: no answer (ConnectError: refused)"
    assert server.seen == [f"GET {LIST}?countonly=1"]
    assert report.summary() == (
        "contract-check: 1 request, 1 operation, 0 deviations, 0 notes; "
        f"stopped early: GET {LIST}?countonly=1: no answer (ConnectError: refused)"
    )


# --- _judge ----------------------------------------------------------------------------------------------
def judged(
    response: httpx.Response,
    *,
    spec: Spec = SPEC,
    operation_id: str = ContractCheck.LIST,
    expect: set[int] | None = None,
    path_values: dict[str, Any] | None = None,
    second: bool = False,
) -> list[str]:
    """The finding lines of one request answered with `response` (`second`: after a count)."""
    answers = iter([httpx.Response(200, json={"TotalCount": 1})] if second else [])
    check, _ = checker(lambda request: next(answers, response), spec)
    if second:
        check.call(operation(spec, ContractCheck.LIST), query={"countonly": 1})
    check.call(
        operation(spec, operation_id), path_values=path_values, expect=expect if expect is not None else {200}
    )
    return lines(check.report)


LISTED = f"DEVIATION listCustomers GET {LIST}"
DOCUMENTED = "(documented: 200, 400, 401, 404, 429, 500, 503)"


def test_an_undocumented_status_names_the_documented_ones() -> None:
    assert judged(httpx.Response(418)) == [
        f"{LISTED}: status 418 is not documented for this operation {DOCUMENTED}"
    ]
    assert judged(httpx.Response(418, json=[])) == [
        f"{LISTED}: status 418 is not documented for this operation {DOCUMENTED}"
    ]
    assert judged(httpx.Response(418, content=b"teapot", headers={"Content-Type": "text/plain"})) == [
        f"{LISTED}: status 418 is not documented for this operation {DOCUMENTED}",
        f"{LISTED}: a body that is not JSON (Content-Type text/plain, 6 bytes)",
    ]
    deleted = f"DEVIATION deleteCustomer DELETE {LIST}/5"
    assert judged(httpx.Response(204), operation_id=ContractCheck.DELETE, path_values={"id": 5}) == [
        f"{deleted}: status 204 is not documented for this operation {DOCUMENTED}"
    ]


def test_a_documented_status_the_probe_did_not_expect_names_what_it_expected() -> None:
    bad = error(400, "Offset amount exceeds the total number of records")
    assert judged(bad) == [f"{LISTED}: status 400 where the spec leads to expect 200"]
    assert judged(bad, expect={404, 200}) == [
        f"{LISTED}: status 400 where the spec leads to expect 200 or 404"
    ]
    assert judged(error(429, "slow down"), expect={404, 400, 200}) == [
        f"{LISTED}: status 429 where the spec leads to expect 200 or 400 or 404"
    ]
    assert judged(bad, expect={400, 404}) == []


@pytest.mark.parametrize("status", [400, 404, 500])
def test_a_bodiless_400_404_or_500_is_a_note(status: int) -> None:
    check, _ = checker(lambda request: httpx.Response(status))
    check.call(operation(SPEC, ContractCheck.LIST), query={"limit": 5}, expect={status})
    assert check.report.findings == [
        Finding("listCustomers", f"GET {LIST}?limit=5", f"bodiless {status}", deviation=False)
    ]
    assert lines(check.report) == [f"note listCustomers GET {LIST}?limit=5: bodiless {status}"]


def test_another_bodiless_status_is_a_deviation_unless_an_extension_allows_it() -> None:
    assert judged(httpx.Response(401), expect={401}, second=True) == [
        f"{LISTED}: bodiless 401, but the spec documents a JSON body for it"
    ]
    assert judged(httpx.Response(503), expect={503}) == [
        f"{LISTED}: bodiless 503, but the spec documents a JSON body for it"
    ]
    assert judged(httpx.Response(200, content=b"  ")) == [
        f"{LISTED}: bodiless 200, but the spec documents a JSON body for it"
    ]
    doc = document()
    doc["components"]["responses"]["ServiceUnavailable"]["x-xyzzy-may-be-empty"] = True
    doc["paths"][LIST]["get"]["responses"]["200"] = {
        "$ref": "#/components/responses/CustomerListOrCount",
    }
    doc["components"]["responses"]["CustomerListOrCount"]["x-xyzzy-bodiless"] = True
    spec = Spec(doc)
    assert judged(httpx.Response(503), spec=spec, expect={503}) == [
        f"note listCustomers GET {LIST}: bodiless 503"
    ]
    # an extension allows a bodiless error, never a bodiless success
    assert judged(httpx.Response(200), spec=spec) == [
        f"{LISTED}: bodiless 200, but the spec documents a JSON body for it"
    ]


def test_a_response_documented_without_content_must_come_without_a_body() -> None:
    doc = document()
    del doc["paths"][ONE]["delete"]["responses"]["200"]["content"]
    spec = Spec(doc)

    def deleted(response: httpx.Response) -> list[str]:
        return judged(response, spec=spec, operation_id=ContractCheck.DELETE, path_values={"id": 5})

    assert deleted(httpx.Response(200)) == []
    assert deleted(httpx.Response(200, json=[1])) == [
        f"DEVIATION deleteCustomer DELETE {LIST}/5: a body (3 bytes) where the spec documents none for 200"
    ]
    assert deleted(httpx.Response(200, content=b"<html>")) == [
        f"DEVIATION deleteCustomer DELETE {LIST}/5: a body (6 bytes) where the spec documents none for 200"
    ]


@pytest.mark.parametrize(
    ("content", "headers", "problem"),
    [
        (b"<html>", {"Content-Type": "Text/HTML; charset=utf-8"}, "(Content-Type text/html, 6 bytes)"),
        (b"<html>", {}, "(Content-Type none, 6 bytes)"),
        (b"[NaN]", {"Content-Type": "application/json"}, "(Content-Type application/json, 5 bytes)"),
        (
            b'{"TotalCount": Infinity}',
            {"Content-Type": "application/json"},
            "(Content-Type application/json, 24 bytes)",
        ),
        (b"[" * 100_000 + b"]" * 100_000, {}, "(Content-Type none, 200000 bytes)"),
    ],
)
def test_a_body_that_is_not_json_is_a_deviation(
    content: bytes, headers: dict[str, str], problem: str
) -> None:
    assert judged(httpx.Response(200, content=content, headers=headers)) == [
        f"{LISTED}: a body that is not JSON {problem}"
    ]


def test_json_under_another_content_type_is_a_deviation() -> None:
    assert judged(
        httpx.Response(200, content=b"[]", headers={"Content-Type": "text/plain; charset=utf-8"})
    ) == [f"{LISTED}: Content-Type text/plain, the spec documents application/json"]
    assert judged(httpx.Response(200, content=b"[]")) == [
        f"{LISTED}: Content-Type none, the spec documents application/json"
    ]
    assert (
        judged(httpx.Response(200, content=b"[]", headers={"Content-Type": "application/vnd.x+json"})) == []
    )


def test_schema_problems_are_one_line_per_kind_and_place() -> None:
    page = [
        {"CustomerID": "a", "XyzzyNote": "n"},
        {"CustomerID": True},
        {"CustomerID": "c", "Email": None},
        {"CustomerID": 4, "Enabled": None},
    ]
    got = judged(httpx.Response(200, json=page), operation_id=ContractCheck.GET, path_values={"id": 1})
    where = f"DEVIATION getCustomer GET {LIST}/1: status 200"
    assert got == [
        f"{where} $[0].XyzzyNote: a field the spec does not document (a string)",
        f'{where} $[0].CustomerID: a string, the spec says integer (e.g. "a"), in 2 places',
        f"{where} $[1].CustomerID: a boolean, the spec says integer (e.g. true)",
        f"{where} $[3].Enabled: null, but the spec does not allow null here",
    ]


def test_the_tally_cuts_the_example_at_its_first_marker() -> None:
    page = [{"CustomerID": "q (e.g. r"}, {"CustomerID": "s (e.g. t"}]
    got = judged(httpx.Response(200, json=page), operation_id=ContractCheck.GET, path_values={"id": 1})
    assert got == [
        f"DEVIATION getCustomer GET {LIST}/1: status 200 $[0].CustomerID: a string, the spec says integer "
        f'(e.g. "q (e.g. r"), in 2 places'
    ]


def test_body_reads_the_json_of_one_status_only() -> None:
    check, _ = checker(bodiless_500)
    assert check._body(httpx.Response(200, json=[1])) == [1]  # pyright: ignore[reportPrivateUsage]
    assert check._body(httpx.Response(201, json=[1])) is None  # pyright: ignore[reportPrivateUsage]
    assert check._body(httpx.Response(201, json=[1]), 201) == [1]  # pyright: ignore[reportPrivateUsage]
    assert check._body(httpx.Response(200, content=b"nope")) is None  # pyright: ignore[reportPrivateUsage]
    assert check._body(httpx.Response(200, content=b"[NaN]")) is None  # pyright: ignore[reportPrivateUsage]
    assert check._body(httpx.Response(200, content=b"[" * 100_000)) is None  # pyright: ignore[reportPrivateUsage]


def test_records_and_count_read_a_page_and_a_count() -> None:
    check, _ = checker(bodiless_500)
    page = httpx.Response(200, json=[{"CustomerID": 1}, 2, "x", {"CustomerID": 3}])
    assert check._records(page) == [{"CustomerID": 1}, {"CustomerID": 3}]  # pyright: ignore[reportPrivateUsage]
    assert check._records(httpx.Response(200, json={"CustomerID": 1})) == []  # pyright: ignore[reportPrivateUsage]
    assert check._records(httpx.Response(404)) == []  # pyright: ignore[reportPrivateUsage]
    count = httpx.Response(200, json={"Flag": True, "Note": "x", "TotalCount": 12})
    assert check._count(count) == 12  # pyright: ignore[reportPrivateUsage]
    assert check._count(httpx.Response(200, json={"TotalCount": "12"})) is None  # pyright: ignore[reportPrivateUsage]
    assert check._count(httpx.Response(200, json=[{"TotalCount": 1}])) is None  # pyright: ignore[reportPrivateUsage]
    assert check._count(httpx.Response(404, json={"TotalCount": 1})) is None  # pyright: ignore[reportPrivateUsage]


# --- the read probes ----------------------------------------------------------------------------------
def test_the_read_probes_in_order_against_a_store_that_keeps_the_spec() -> None:
    check, server = checker(FakeStore())
    assert check.allow_writes is False
    report = check.run()
    assert server.seen == READS
    assert report.findings == [] and report.skipped == [] and report.stopped is None
    assert report.operations == {"listCustomers", "getCustomer", "listCustomerGroupCustomers"}
    assert report.summary() == "contract-check: 15 requests, 3 operations, 0 deviations, 0 notes"


def test_a_check_without_writes_writes_nothing() -> None:
    server = Server(FakeStore())
    report = ContractCheck(SPEC, server.client()).run()
    assert server.seen == READS and report.requests == 15


def test_what_each_read_probe_expects() -> None:
    """Every probe answered with a bodiless 500: the expectation of each, from an empty start."""
    check, server = checker(bodiless_500)
    report = check.run()
    group = f"GET {API}/CustomerGroups/0/Customers"
    assert server.seen == [
        f"GET {LIST}?countonly=1",
        f"GET {LIST}?limit=5&offset=1",
        f"GET {LIST}?limit=2&offset=3",
        f"GET {LIST}?{NOBODY}",
        f"GET {LIST}/{MISSING}",
        f"{group}?limit=5&offset=1",
        f"{group}?countonly=1",
    ]
    assert lines(report) == [
        *failed("listCustomers", f"GET {LIST}?countonly=1", "200"),
        *failed("listCustomers", f"GET {LIST}?limit=5&offset=1", "200 or 404"),
        *failed("listCustomers", f"GET {LIST}?limit=2&offset=3", "200 or 400 or 404"),
        *failed("listCustomers", f"GET {LIST}?{NOBODY}", "404"),
        *failed("getCustomer", f"GET {LIST}/{MISSING}", "404"),
        *failed("listCustomerGroupCustomers", f"{group}?limit=5&offset=1", "200 or 404"),
        *failed("listCustomerGroupCustomers", f"{group}?countonly=1", "200 or 404"),
    ]
    assert report.skipped == ["getCustomer by an existing id (no customer listed)"]
    assert report.summary() == (
        "contract-check: 7 requests, 3 operations, 7 deviations, 7 notes; "
        "skipped: getCustomer by an existing id (no customer listed)"
    )


def test_what_each_read_probe_after_the_first_page_expects() -> None:
    check, server = checker(failing_after(2, FakeStore()))
    report = check.run()
    assert server.seen == READS
    group = f"GET {API}/CustomerGroups/2/Customers"
    assert lines(report) == [
        *failed("listCustomers", f"GET {LIST}?limit=2&offset=3", "200 or 400 or 404"),
        *failed("listCustomers", f"GET {LIST}?limit=1&offset=4", "400 or 404"),
        *failed("listCustomers", f"GET {LIST}?state=MA&limit=5", "200 or 404"),
        *failed("listCustomers", f"GET {LIST}?state=MA&countonly=1", "200"),
        *failed("listCustomers", f"GET {LIST}?email=ada%40example.com&limit=5", "200 or 404"),
        *failed("listCustomers", f"GET {LIST}?email=ada%40example.com&countonly=1", "200"),
        *failed("listCustomers", f"GET {LIST}?city=Boston&limit=5", "200 or 404"),
        *failed("listCustomers", f"GET {LIST}?city=Boston&countonly=1", "200"),
        *failed("listCustomers", f"GET {LIST}?{NOBODY}", "404"),
        *failed("getCustomer", f"GET {LIST}/1", "200"),
        *failed("getCustomer", f"GET {LIST}/{MISSING}", "404"),
        *failed("listCustomerGroupCustomers", f"{group}?limit=5&offset=1", "200 or 404"),
        *failed("listCustomerGroupCustomers", f"{group}?countonly=1", "200 or 404"),
    ]


def test_an_empty_store_skips_the_get_by_an_existing_id() -> None:
    check, server = checker(FakeStore([]))
    report = check.run()
    group = f"GET {API}/CustomerGroups/0/Customers"
    assert server.seen == [
        f"GET {LIST}?countonly=1",
        f"GET {LIST}?limit=5&offset=1",
        f"GET {LIST}?limit=2&offset=3",
        f"GET {LIST}?limit=1&offset=1",
        f"GET {LIST}?{NOBODY}",
        f"GET {LIST}/{MISSING}",
        f"{group}?limit=5&offset=1",
        f"{group}?countonly=1",
    ]
    assert report.findings == []
    assert report.skipped == ["getCustomer by an existing id (no customer listed)"]


def _renamed(doc: dict[str, Any], **names: str) -> None:
    for key, name in names.items():
        doc["components"]["parameters"][key]["name"] = name


def _without(doc: dict[str, Any], *keys: str) -> None:
    for path, method in ((LIST, "get"), (GROUP, "get")):
        params = doc["paths"][path][method]["parameters"]
        doc["paths"][path][method]["parameters"] = [
            p for p in params if p["$ref"].rsplit("/", 1)[1] not in keys
        ]


def test_paging_parameters_are_found_whatever_their_case() -> None:
    doc = document()
    _renamed(doc, limit="Limit", offset="OFFSET", countonly="CountOnly")
    check, server = checker(FakeStore(), Spec(doc))
    report = check.run()
    group = f"GET {API}/CustomerGroups/2/Customers"
    assert server.seen == [
        f"GET {LIST}?CountOnly=1",
        f"GET {LIST}?Limit=5&OFFSET=1",
        f"GET {LIST}?Limit=2&OFFSET=3",
        f"GET {LIST}?Limit=1&OFFSET=4",
        f"GET {LIST}?state=MA&Limit=5",
        f"GET {LIST}?state=MA&CountOnly=1",
        f"GET {LIST}?email=ada%40example.com&Limit=5",
        f"GET {LIST}?email=ada%40example.com&CountOnly=1",
        f"GET {LIST}?city=Boston&Limit=5",
        f"GET {LIST}?city=Boston&CountOnly=1",
        f"GET {LIST}?{NOBODY}",
        f"GET {LIST}/1",
        f"GET {LIST}/{MISSING}",
        f"{group}?Limit=5&OFFSET=1",
        f"{group}?CountOnly=1",
    ]
    assert report.findings == []


def test_without_a_count_there_is_no_probe_past_the_end() -> None:
    doc = document()
    _without(doc, "countonly")
    check, server = checker(FakeStore(), Spec(doc))
    report = check.run()
    assert server.seen == [
        f"GET {LIST}?limit=5&offset=1",
        f"GET {LIST}?limit=2&offset=3",
        f"GET {LIST}?state=MA&limit=5",
        f"GET {LIST}?email=ada%40example.com&limit=5",
        f"GET {LIST}?city=Boston&limit=5",
        f"GET {LIST}?{NOBODY}",
        f"GET {LIST}/1",
        f"GET {LIST}/{MISSING}",
        f"GET {API}/CustomerGroups/2/Customers?limit=5&offset=1",
    ]
    assert report.findings == []


def test_without_an_offset_there_is_no_next_page() -> None:
    doc = document()
    _without(doc, "offset")
    check, server = checker(FakeStore(), Spec(doc))
    check.run()
    assert server.seen[:4] == [
        f"GET {LIST}?countonly=1",
        f"GET {LIST}?limit=5",
        f"GET {LIST}?state=MA&limit=5",
        f"GET {LIST}?state=MA&countonly=1",
    ]
    assert server.seen[-2] == f"GET {API}/CustomerGroups/2/Customers?limit=5"
    assert check.report.findings == []


def test_without_paging_the_first_page_is_the_plain_list() -> None:
    doc = document()
    _without(doc, "limit", "offset", "countonly")
    check, server = checker(FakeStore(), Spec(doc))
    check.run()
    assert server.seen == [
        f"GET {LIST}",
        f"GET {LIST}?state=MA",
        f"GET {LIST}?email=ada%40example.com",
        f"GET {LIST}?city=Boston",
        f"GET {LIST}?{NOBODY}",
        f"GET {LIST}/1",
        f"GET {LIST}/{MISSING}",
        f"GET {API}/CustomerGroups/2/Customers",
    ]
    assert check.report.findings == []


def test_the_filters_take_values_from_the_first_record_state_email_city_first() -> None:
    check, _ = checker(bodiless_500)
    list_op = operation(SPEC, ContractCheck.LIST)
    filters = check._filters  # pyright: ignore[reportPrivateUsage]
    assert filters(list_op, ADA) == [
        ("state", "MA"),
        ("email", "ada@example.com"),
        ("city", "Boston"),
        ("firstname", "Ada"),
        ("lastname", "Lovelace"),
        ("country", "US"),
    ]
    sparse = {**ADA, "BillingState": "  ", "BillingCity": None, "BillingLastName": 7}
    assert filters(list_op, sparse) == [("email", "ada@example.com"), ("firstname", "Ada"), ("country", "US")]
    assert filters(list_op, {}) == []
    assert filters(list_op, None) == []


def test_the_filters_skip_a_parameter_with_a_pattern_or_of_another_type() -> None:
    doc = document()
    params = doc["components"]["parameters"]
    params["country"]["schema"]["pattern"] = "^[A-Z]{2}$"
    params["firstname"]["schema"] = {"type": "integer"}
    listed = doc["paths"][LIST]["get"]["parameters"]  # city before email: the order is the check's own
    city = next(p for p in listed if p["$ref"].endswith("/city"))
    listed.remove(city)
    listed.insert(0, city)
    spec = Spec(doc)
    check, _ = checker(bodiless_500, spec)
    assert check._filters(operation(spec, ContractCheck.LIST), ADA) == [  # pyright: ignore[reportPrivateUsage]
        ("state", "MA"),
        ("email", "ada@example.com"),
        ("city", "Boston"),
        ("lastname", "Lovelace"),
    ]


def test_a_filter_matches_the_property_ending_with_its_name_billing_first() -> None:
    check, _ = checker(bodiless_500)
    field_for = check._field_for  # pyright: ignore[reportPrivateUsage]
    assert field_for("email") == "Email"
    assert field_for("EMAIL") == "Email"
    assert field_for("state") == "BillingState"
    assert field_for("city") == "BillingCity"
    assert field_for("phone") is None  # BillingPhoneNumber does not end with it
    assert field_for("xyzzy") is None
    doc = document()
    schemas(doc)["Customer"]["properties"] = {
        "ShippingQux": {"type": "string"},
        "BillingQux": {"type": "string"},
        "ShippingZot": {"type": "string"},
        "OtherZot": {"type": "string"},
        "Zot": {"type": "string"},
    }
    check, _ = checker(bodiless_500, Spec(doc))
    field_for = check._field_for  # pyright: ignore[reportPrivateUsage]
    assert field_for("qux") == "BillingQux"
    assert field_for("zot") == "ShippingZot"  # no billing one: the first


def test_the_nobody_filter_is_the_first_plain_string_parameter_about_mail() -> None:
    check, _ = checker(bodiless_500)
    nobody = check._nobody_filter  # pyright: ignore[reportPrivateUsage]
    assert nobody(operation(SPEC, ContractCheck.LIST)) == (
        "email",
        f"contract-check-nobody-{TAG}@example.invalid",
    )
    doc = document()
    doc["components"]["parameters"]["email"]["schema"]["pattern"] = "^.+@.+$"
    doc["paths"][LIST]["get"]["parameters"] += [
        {"name": "qux_email", "in": "query", "schema": {"type": "integer"}},
        {"name": "Qux_Mail", "in": "query", "schema": {"type": "string"}},
    ]
    spec = Spec(doc)
    check, _ = checker(bodiless_500, spec)
    nobody = check._nobody_filter  # pyright: ignore[reportPrivateUsage]
    assert nobody(operation(spec, ContractCheck.LIST)) == (
        "Qux_Mail",
        f"contract-check-nobody-{TAG}@example.invalid",
    )
    assert nobody(operation(spec, ContractCheck.GROUP)) is None


def test_without_a_mail_filter_there_is_no_probe_for_nobody() -> None:
    doc = document()
    _without(doc, "email")
    check, server = checker(FakeStore(), Spec(doc))
    check.run()
    assert server.seen[:8] == [
        f"GET {LIST}?countonly=1",
        f"GET {LIST}?limit=5&offset=1",
        f"GET {LIST}?limit=2&offset=3",
        f"GET {LIST}?limit=1&offset=4",
        f"GET {LIST}?state=MA&limit=5",
        f"GET {LIST}?state=MA&countonly=1",
        f"GET {LIST}?city=Boston&limit=5",
        f"GET {LIST}?city=Boston&countonly=1",
    ]
    assert server.seen[8:10] == [  # firstname: the third filter, and no nobody
        f"GET {LIST}?firstname=Ada&limit=5",
        f"GET {LIST}?firstname=Ada&countonly=1",
    ]
    assert server.seen[10] == f"GET {LIST}/1"


@pytest.mark.parametrize(
    ("first", "request_line", "skipped"),
    [
        ({"CustomerID": 7}, f"GET {LIST}/7", []),
        ({"CustomerID": " 8 "}, f"GET {LIST}/8", []),
        ({"CustomerID": True}, None, ["getCustomer by an existing id (no customer listed)"]),
        ({"Email": "x"}, None, ["getCustomer by an existing id (no customer listed)"]),
        (None, None, ["getCustomer by an existing id (no customer listed)"]),
    ],
)
def test_the_get_probes_read_the_first_listed_customer_and_a_missing_one(
    first: dict[str, Any] | None, request_line: str | None, skipped: list[str]
) -> None:
    check, server = checker(FakeStore([{"CustomerID": 7}, {"CustomerID": 8}]))
    check._get_probes(operation(SPEC, ContractCheck.GET), first)  # pyright: ignore[reportPrivateUsage]
    assert server.seen == [*([request_line] if request_line else []), f"GET {LIST}/{MISSING}"]
    assert check.report.skipped == skipped
    assert check.report.findings == []


def test_the_missing_id_is_the_maximum_the_spec_allows() -> None:
    doc = document()
    doc["components"]["parameters"]["customerId"]["schema"]["maximum"] = 99999
    check, server = checker(FakeStore(), Spec(doc))
    check.run()
    assert server.seen[11:13] == [f"GET {LIST}/1", f"GET {LIST}/99999"]


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"maximum": 99999, "format": "int64"}, 99999),
        ({"maximum": 0}, 0),
        ({"format": "int64"}, 2**63 - 1),
        ({"format": "int32"}, 2**31 - 1),
        ({"format": "uuid"}, 2**31 - 1),
        ({}, 2**31 - 1),
    ],
)
def test_missing_id(schema: dict[str, Any], expected: int) -> None:
    check, _ = checker(bodiless_500)
    assert check._missing_id(schema) == expected  # pyright: ignore[reportPrivateUsage]


def _two_path_parameters(doc: dict[str, Any], path: str, method: str) -> None:
    doc["paths"][path][method]["parameters"] = [
        {"name": "xyzzy_store", "in": "path", "required": True, "schema": {"type": "string"}}
    ]


def test_a_get_or_group_list_without_one_path_parameter_is_skipped() -> None:
    doc = document()
    _two_path_parameters(doc, ONE, "get")
    doc["paths"][GROUP]["parameters"] = []
    check, server = checker(FakeStore(), Spec(doc))
    report = check.run()
    assert server.seen == READS[:11]
    assert report.skipped == [
        "getCustomer (not one path parameter)",
        "listCustomerGroupCustomers (not one path parameter)",
    ]
    assert report.findings == []


@pytest.mark.parametrize(
    ("first", "group"),
    [
        ({"CustomerGroupID": 2}, 2),
        ({"CustomerGroupID": 0}, 0),
        ({}, 0),
        ({"CustomerGroupID": True}, 0),
        ({"CustomerGroupID": "3"}, 0),
        (None, 0),
    ],
)
def test_the_group_probes_list_the_group_of_the_first_customer(
    first: dict[str, Any] | None, group: int
) -> None:
    check, server = checker(FakeStore([{**ADA, "CustomerGroupID": 2}, {**GRACE, "CustomerGroupID": 3}]))
    check._group_probes(operation(SPEC, ContractCheck.GROUP), first)  # pyright: ignore[reportPrivateUsage]
    assert server.seen == [
        f"GET {API}/CustomerGroups/{group}/Customers?limit=5&offset=1",
        f"GET {API}/CustomerGroups/{group}/Customers?countonly=1",
    ]


def test_an_operation_missing_from_the_spec_is_named_and_its_probes_left_out() -> None:
    doc = document()
    del doc["paths"][LIST]["get"]
    check, server = checker(FakeStore(), Spec(doc))
    report = check.run()
    assert lines(report) == ["DEVIATION listCustomers -: the spec has no operation with this operationId"]
    assert server.seen == [
        f"GET {LIST}/{MISSING}",
        f"GET {API}/CustomerGroups/0/Customers?limit=5&offset=1",
        f"GET {API}/CustomerGroups/0/Customers?countonly=1",
    ]
    assert report.skipped == ["getCustomer by an existing id (no customer listed)"]

    doc = document()
    del doc["paths"][ONE]["get"]
    check, server = checker(FakeStore(), Spec(doc))
    report = check.run()
    assert lines(report) == ["DEVIATION getCustomer -: the spec has no operation with this operationId"]
    # without the get answer's schema there is no Customer: no filters, no group field
    assert server.seen == [
        *READS[:4],
        f"GET {LIST}?{NOBODY}",
        f"GET {API}/CustomerGroups/0/Customers?limit=5&offset=1",
        f"GET {API}/CustomerGroups/0/Customers?countonly=1",
    ]

    doc = document()
    del doc["paths"][GROUP]
    check, server = checker(FakeStore(), Spec(doc))
    report = check.run()
    assert lines(report) == [
        "DEVIATION listCustomerGroupCustomers -: the spec has no operation with this operationId"
    ]
    assert server.seen == READS[:13]


# --- what the check reads of the spec ---------------------------------------------------------------
def test_the_customer_is_the_item_of_the_get_answer() -> None:
    customer = list(BASE["components"]["schemas"]["Customer"]["properties"])
    check, _ = checker(bodiless_500)
    assert list(check._properties()) == customer  # pyright: ignore[reportPrivateUsage]
    assert list(check._properties()) == customer  # pyright: ignore[reportPrivateUsage]  (kept)

    doc = document()  # a get that answers one object, not an array of one
    doc["paths"][ONE]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Customer"
    }
    check, _ = checker(bodiless_500, Spec(doc))
    assert list(check._properties()) == customer  # pyright: ignore[reportPrivateUsage]

    doc = document()
    del doc["paths"][ONE]["get"]["responses"]["200"]
    check, _ = checker(bodiless_500, Spec(doc))
    assert check._properties() == {}  # pyright: ignore[reportPrivateUsage]

    doc = document()
    del doc["paths"][ONE]["get"]
    check, _ = checker(bodiless_500, Spec(doc))
    assert check._properties() == {}  # pyright: ignore[reportPrivateUsage]


def test_the_primary_key_is_the_one_required_property_of_a_bulk_item() -> None:
    check, _ = checker(bodiless_500)
    assert check._primary_key() == "CustomerID"  # pyright: ignore[reportPrivateUsage]

    doc = document()
    schemas(doc)["CustomerUpdateItem"]["required"] = ["XyzzyKey"]
    check, _ = checker(bodiless_500, Spec(doc))
    assert check._primary_key() == "XyzzyKey"  # pyright: ignore[reportPrivateUsage]


def test_a_bulk_body_that_is_one_object_names_the_primary_key_by_its_required_property() -> None:
    doc = document()
    body = doc["paths"][LIST]["put"]["requestBody"]["content"]["application/json"]
    body["schema"] = {
        "type": "object",
        "required": ["XyzzyKey"],
        "properties": {"XyzzyKey": {"type": "integer"}},
    }
    check, _ = checker(bodiless_500, Spec(doc))
    assert check._primary_key() == "XyzzyKey"  # pyright: ignore[reportPrivateUsage]


@pytest.mark.parametrize("bulk", ["two required", "none required", "no bulk operation"])
def test_else_the_primary_key_is_the_first_id_property_that_is_no_group(bulk: str) -> None:
    doc = document()
    schemas(doc)["Customer"]["properties"] = {
        "XyzzyGroupId": {"type": "integer"},
        "XyzzyName": {"type": "string"},
        "XyzzyId": {"type": "integer"},
        "XyzzyOtherId": {"type": "integer"},
    }
    item = schemas(doc)["CustomerUpdateItem"]
    if bulk == "two required":
        item["required"] = ["XyzzyId", "XyzzyOtherId"]
    elif bulk == "none required":
        del item["required"]
    else:
        del doc["paths"][LIST]["put"]
    check, _ = checker(bodiless_500, Spec(doc))
    assert check._primary_key() == "XyzzyId"  # pyright: ignore[reportPrivateUsage]

    schemas(doc)["Customer"]["properties"] = {"XyzzyGroupId": {"type": "integer"}, "XyzzyName": {}}
    check, _ = checker(bodiless_500, Spec(doc))
    assert check._primary_key() is None  # pyright: ignore[reportPrivateUsage]


def _with_create(required: list[str], **properties: Any) -> Spec:
    doc = document()
    create = schemas(doc)["CustomerCreate"]
    create["required"] = required
    create["properties"].update(properties)
    schemas(doc)["XyzzyShort"] = {"type": "string", "maxLength": 7}
    return Spec(doc)


def test_a_new_customer_has_each_required_property_by_its_type() -> None:
    spec = _with_create(
        [
            *["Email", "Password", "XyzzyCount", "XyzzyRate", "XyzzyFlag", "XyzzyCode", "XyzzyNote"],
            *["XyzzyList", "XyzzyGone", "XyzzyRef", "XyzzyLevel"],
        ],
        XyzzyCount={"type": "integer", "minimum": 3},
        XyzzyRate={"type": "number"},
        XyzzyLevel={"type": "number", "minimum": 0.5},
        XyzzyFlag={"type": "boolean"},
        XyzzyCode={"type": "string", "maxLength": 5},
        XyzzyNote={"type": "string"},
        XyzzyList={"type": "array", "items": {}},
        XyzzyRef={"$ref": "#/components/schemas/XyzzyShort"},
    )
    check, _ = checker(bodiless_500, spec)
    tag = "t" * 80  # longer than any cut, so that each shows
    body, email = check._new_customer(operation(spec, ContractCheck.CREATE), tag)  # pyright: ignore[reportPrivateUsage]
    address = f"contract-check-{tag}@example.invalid"
    assert body == {
        "Email": address,
        "Password": ("Cc-" + tag)[:50],
        "XyzzyCount": 3,
        "XyzzyRate": 1,
        "XyzzyFlag": False,
        "XyzzyCode": "Cc-tt",
        "XyzzyNote": ("Cc-" + tag)[:64],
        "XyzzyRef": "Cc-tttt",
        "XyzzyLevel": 0.5,
    }
    assert list(body) == [
        *["Email", "Password", "XyzzyCount", "XyzzyRate", "XyzzyFlag", "XyzzyCode", "XyzzyNote"],
        *["XyzzyRef", "XyzzyLevel"],
    ]
    assert email == ("Email", address)
    check, _ = checker(bodiless_500)
    assert check._new_customer(operation(SPEC, ContractCheck.CREATE), TAG) == (  # pyright: ignore[reportPrivateUsage]
        {"Email": f"contract-check-{TAG}@example.invalid", "Password": f"Cc-{TAG}"},
        ("Email", f"contract-check-{TAG}@example.invalid"),
    )
    spec = _with_create([])
    check, _ = checker(bodiless_500, spec)
    assert check._new_customer(operation(spec, ContractCheck.CREATE), TAG) == ({}, None)  # pyright: ignore[reportPrivateUsage]


def _with_customer(**properties: Any) -> Spec:
    doc = document()
    schemas(doc)["Customer"]["properties"] = properties
    schemas(doc)["XyzzyTwelve"] = {"type": "string", "maxLength": 12}
    return Spec(doc)


def test_the_field_to_update_is_plain_editable_text_of_twelve_characters_or_more() -> None:
    spec = _with_customer(
        XyzzyCount={"type": "integer"},
        XyzzySent={"type": "string"},
        XyzzyFrozen={"type": "string", "readOnly": True},
        XyzzyCode={"type": "string", "pattern": "^[A-Z]+$"},
        XyzzyKind={"type": "string", "enum": ["a", "b"]},
        XyzzyShort={"type": "string", "maxLength": 11},
        XyzzyTwelve={"$ref": "#/components/schemas/XyzzyTwelve"},
        XyzzyNote={"type": "string"},
    )
    check, _ = checker(bodiless_500, spec)
    editable = check._editable_text_field  # pyright: ignore[reportPrivateUsage]
    assert editable({"XyzzySent": "x"}) == "XyzzyTwelve"
    assert editable({"XyzzySent": "x", "XyzzyTwelve": "y"}) == "XyzzyNote"
    assert editable({"XyzzySent": "x", "XyzzyTwelve": "y", "XyzzyNote": "z"}) is None
    assert check._max_length("XyzzyTwelve") == 12  # pyright: ignore[reportPrivateUsage]
    assert check._max_length("XyzzyNote") == 64  # pyright: ignore[reportPrivateUsage]
    assert check._max_length("XyzzyGone") == 64  # pyright: ignore[reportPrivateUsage]
    check, _ = checker(bodiless_500)
    assert check._editable_text_field({"Email": "e", "Password": ""}) == "BillingCompany"  # pyright: ignore[reportPrivateUsage]


def test_the_created_id_follows_the_link_of_the_201_answer() -> None:
    create = operation(SPEC, ContractCheck.CREATE)
    check, _ = checker(bodiless_500)
    created_id = check._created_id  # pyright: ignore[reportPrivateUsage]
    result = written(201, [31], "Created successfully")
    assert created_id(create, httpx.Response(201, json=result)) == 31
    assert created_id(create, httpx.Response(201, json=[{**result[0], "Value": " 32 "}])) == 32
    assert created_id(create, httpx.Response(200, json=result)) is None
    assert created_id(create, httpx.Response(201, json=[{**result[0], "Value": "abc"}])) is None
    assert created_id(create, httpx.Response(201, json=[{"Key": "CustomerID"}])) is None
    assert created_id(create, httpx.Response(201, content=b"[NaN]")) is None

    doc = document()
    responses = doc["paths"][LIST]["post"]["responses"]
    responses["201"]["links"] = {"XyzzyLink": {"$ref": "#/components/links/XyzzyLink"}}
    doc["components"]["links"] = {
        "XyzzyLink": {
            "operationId": "getCustomer",
            "parameters": {"count": 5, "id": "$response.body#/0/New#Id", "path": "$request.path.id"},
        }
    }
    spec = Spec(doc)
    check, _ = checker(bodiless_500, spec)
    answer = httpx.Response(201, json=[{"Value": "5", "New#Id": "77"}])
    assert check._created_id(operation(spec, ContractCheck.CREATE), answer) == 77  # pyright: ignore[reportPrivateUsage]

    for change in ("no links", "no 201"):
        doc = document()
        responses = doc["paths"][LIST]["post"]["responses"]
        if change == "no links":
            del responses["201"]["links"]
        else:
            del responses["201"]
        spec = Spec(doc)
        check, _ = checker(bodiless_500, spec)
        answer = httpx.Response(201, json=[{"Value": "9", "value": "8", "VALUE": "7"}])
        assert check._created_id(operation(spec, ContractCheck.CREATE), answer) == 9  # pyright: ignore[reportPrivateUsage]


# --- the writes ----------------------------------------------------------------------------------------
def test_the_writes_on_one_customer_created_and_deleted() -> None:
    store = FakeStore()
    check, server = checker(store, allow_writes=True)
    report = check.run()
    assert server.seen == READS + WRITES
    assert report.findings == [] and report.skipped == [] and report.stopped is None
    assert report.operations == SEVEN
    assert report.summary() == "contract-check: 24 requests, 7 operations, 0 deviations, 0 notes"
    assert sorted(store.customers) == [1, 2, 3]


def test_what_each_write_expects() -> None:
    check, server = checker(failing_after(len(READS) + 2, FakeStore()), allow_writes=True)
    report = check.run()
    assert server.seen == READS + WRITES
    assert lines(report) == [
        *failed("updateCustomer", f"PUT {LIST}/4", "200"),
        *failed("getCustomer", f"GET {LIST}/4", "200"),
        *failed("updateCustomers", f"PUT {LIST}", "200"),
        *failed("getCustomer", f"GET {LIST}/4", "200"),
        *failed("updateCustomers", f"PUT {LIST}", "206"),
        *failed("deleteCustomer", f"DELETE {LIST}/4", "200"),
        *failed("getCustomer", f"GET {LIST}/4", "404"),
    ]


def test_a_create_without_a_new_id_stops_the_writes() -> None:
    check, server = checker(failing_after(len(READS), FakeStore()), allow_writes=True)
    report = check.run()
    assert server.seen == [*READS, WRITES[0]]
    assert lines(report) == [
        *failed("createCustomer", f"POST {LIST}", "201"),
        f"DEVIATION createCustomer POST {LIST}: no new id in the answer; writes stop",
    ]
    assert report.skipped == []


def test_a_boolean_new_id_is_no_id() -> None:
    check, server = checker(FakeStore(new_value=True), allow_writes=True)
    report = check.run()
    assert server.seen == [*READS, WRITES[0]]  # it updated, then deleted, customer 1
    assert lines(report)[-1] == f"DEVIATION createCustomer POST {LIST}: no new id in the answer; writes stop"


def test_a_write_that_does_not_stick_is_a_deviation() -> None:
    check, server = checker(FakeStore(keep_updates=False, echo_email=False), allow_writes=True)
    report = check.run()
    assert server.seen == READS + WRITES
    assert lines(report) == [
        "DEVIATION getCustomer GET customer 4: Email is not what was created",
        "DEVIATION getCustomer GET customer 4: BillingCompany did not change after the update",
        "DEVIATION getCustomer GET customer 4: BillingCompany did not change after the bulk update",
    ]


def test_the_writes_keep_to_the_limits_of_the_spec() -> None:
    doc = document()
    customer = schemas(doc)["Customer"]["properties"]
    customer["BillingCompany"]["maxLength"] = 12
    customer["CustomerID"]["maximum"] = 999999
    check, server = checker(FakeStore(), Spec(doc), allow_writes=True)
    report = check.run()
    assert server.seen[len(READS) :] == [
        f"POST {LIST} {CREATED}",
        f"GET {LIST}/4",
        f'PUT {LIST}/4 {{"BillingCompany":"cc 000102030"}}',
        f"GET {LIST}/4",
        f'PUT {LIST} [{{"CustomerID":4,"BillingCompany":"cc bulk 0001"}}]',
        f"GET {LIST}/4",
        f'PUT {LIST} [{{"CustomerID":4}},{{"CustomerID":999999}}]',
        f"DELETE {LIST}/4",
        f"GET {LIST}/4",
    ]
    assert report.findings == []


def test_a_customer_with_nothing_to_edit_is_created_and_deleted() -> None:
    doc = document()
    for name, prop in schemas(doc)["Customer"]["properties"].items():
        if prop.get("type") == "string" and name not in ("Email", "Password"):
            prop["readOnly"] = True
    check, server = checker(FakeStore(), Spec(doc), allow_writes=True)
    report = check.run()
    assert server.seen[len(READS) :] == [WRITES[0], WRITES[1], WRITES[7], WRITES[8]]
    assert report.findings == []


def test_an_update_without_one_path_parameter_leaves_the_bulk_update() -> None:
    doc = document()
    _two_path_parameters(doc, ONE, "put")
    check, server = checker(FakeStore(), Spec(doc), allow_writes=True)
    report = check.run()
    assert server.seen[len(READS) :] == [WRITES[0], WRITES[1], *WRITES[4:]]
    assert report.findings == [] and report.skipped == []


def test_missing_write_operations_are_named_and_skipped() -> None:
    doc = document()
    del doc["paths"][ONE]["put"], doc["paths"][LIST]["put"]
    check, server = checker(FakeStore(), Spec(doc), allow_writes=True)
    report = check.run()
    assert server.seen[len(READS) :] == [WRITES[0], WRITES[1], WRITES[7], WRITES[8]]
    assert lines(report) == [
        "DEVIATION updateCustomer -: the spec has no operation with this operationId",
        "DEVIATION updateCustomers -: the spec has no operation with this operationId",
    ]

    doc = document()
    del doc["paths"][ONE]["delete"]
    check, server = checker(FakeStore(), Spec(doc), allow_writes=True)
    report = check.run()
    assert server.seen[len(READS) :] == WRITES[:7]
    assert lines(report) == ["DEVIATION deleteCustomer -: the spec has no operation with this operationId"]
    assert report.skipped == ["delete of the created customer 4: no delete operation"]

    doc = document()
    _two_path_parameters(doc, ONE, "delete")
    check, server = checker(FakeStore(), Spec(doc), allow_writes=True)
    report = check.run()
    assert server.seen[len(READS) :] == WRITES[:7]
    assert report.findings == []
    assert report.skipped == ["delete of the created customer 4: no delete operation"]


def test_writes_need_a_create_and_a_get_by_id() -> None:
    doc = document()
    del doc["paths"][LIST]["post"]
    check, server = checker(FakeStore(), Spec(doc), allow_writes=True)
    report = check.run()
    assert server.seen == READS
    assert lines(report) == ["DEVIATION createCustomer -: the spec has no operation with this operationId"]
    assert report.skipped == ["writes (no create or get operation)"]

    doc = document()
    _two_path_parameters(doc, ONE, "get")
    check, server = checker(FakeStore(), Spec(doc), allow_writes=True)
    report = check.run()
    assert server.seen == READS[:11] + READS[13:]
    assert report.skipped == ["getCustomer (not one path parameter)", "writes (get has no id parameter)"]


def test_the_created_customer_is_deleted_even_when_the_store_stops_answering() -> None:
    store = FakeStore()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and request.url.path == f"{LIST}/4":
            raise httpx.ConnectError("refused")
        return store(request)

    check, server = checker(answer, allow_writes=True)
    report = check.run()
    assert server.seen == [*READS, *WRITES[:3], WRITES[7], WRITES[8]]
    assert report.stopped == f"PUT {LIST}/4: no answer (ConnectError: refused)"
    assert report.findings == [] and sorted(store.customers) == [1, 2, 3]


# --- against the real mock store ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeded_store() -> Iterator[MockServer]:
    with MockServer(["--seed-customers", "30", "--random-seed", "5"]) as server:
        yield server


def _count(mock: MockServer) -> int:
    answer = httpx.get(f"{mock.url}{LIST}", params={"countonly": 1}, headers=mock.headers, timeout=30)
    return int(answer.json()["TotalCount"])


def _against_the_mock(mock: MockServer, *, allow_writes: bool) -> tuple[Report, list[str]]:
    headers = mock.headers
    seen: list[str] = []
    with threedcart.Store(
        secure_url=headers["SecureURL"],
        private_key=headers["PrivateKey"],
        token=headers["Token"],
        base_url=mock.url,
    ) as store:
        http = store.client.get_httpx_client()
        http.event_hooks["request"].append(lambda request: seen.append(line_of(request)))
        report = ContractCheck(Spec(load_spec()), http, allow_writes=allow_writes).run()
    return report, seen


def _shape(line: str) -> str:
    """A request line without its query values or body: `GET /path?limit&offset`."""
    head = line.split(" ")[:2]
    path, _, query = head[1].partition("?")
    names = "&".join(part.split("=")[0] for part in query.split("&")) if query else ""
    path = re.sub(r"/\d+", "/N", path)
    return f"{head[0]} {path}" + (f"?{names}" if names else "")


def test_the_mock_store_keeps_the_spec_read_only(seeded_store: MockServer) -> None:
    report, seen = _against_the_mock(seeded_store, allow_writes=False)
    assert report.findings == [] and report.skipped == [] and report.stopped is None
    assert report.operations == {"listCustomers", "getCustomer", "listCustomerGroupCustomers"}
    assert report.summary() == "contract-check: 15 requests, 3 operations, 0 deviations, 0 notes"
    assert [_shape(line) for line in seen] == [_shape(line) for line in READS]
    assert seen[3] == f"GET {LIST}?limit=1&offset=31"  # one past the 30 customers


def test_the_mock_store_keeps_the_spec_and_the_created_customer_is_gone(seeded_store: MockServer) -> None:
    mock = seeded_store
    before = _count(mock)
    report, seen = _against_the_mock(mock, allow_writes=True)
    assert report.findings == [] and report.skipped == [] and report.stopped is None
    assert report.operations == SEVEN
    assert report.summary() == "contract-check: 24 requests, 7 operations, 0 deviations, 0 notes"
    assert [_shape(line) for line in seen] == [_shape(line) for line in READS + WRITES]
    assert seen[len(READS)] == f"POST {LIST} {CREATED}"
    deleted = seen[-2].removeprefix("DELETE ")
    assert seen[-1] == f"GET {deleted}"
    assert _count(mock) == before == 30
    gone = httpx.get(f"{mock.url}{deleted}", headers=mock.headers, timeout=30)
    assert gone.status_code == 404

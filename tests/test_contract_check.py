"""`threedcart contract-check`: clean against the mock, every drift named against a drifted server.

The check is `threedcart.contract` (the `contract` extra): the spec packaged with it, answers
judged by openapi-schema-validator, the install hint when the extra is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import threedcart
import yaml
from conftest import API
from threedcart.contract import ContractCheck, Spec, load_spec, packaged_spec
from threedcart_mock.testing import MockServer

CLI = str(Path(sys.executable).parent / "threedcart")
SPEC_PATH = Path(__file__).parent.parent / "openapi" / "customers.yaml"
SECURE_URL, SECRET_KEY, SECRET_TOKEN = (
    "https://cc-store.3dcartstores.com",
    "pk-CC-SECRET-4711",
    "tk-CC-SECRET-0815",
)
STORE = [
    "--store",
    f"{SECURE_URL},{SECRET_KEY},{SECRET_TOKEN}",
    "--seed-customers",
    "60",
    "--random-seed",
    "5",
]


def _env(base_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREEDCART_")}
    env.update(
        THREEDCART_BASE_URL=base_url,
        THREEDCART_SECURE_URL=SECURE_URL,
        THREEDCART_PRIVATE_KEY=SECRET_KEY,
        THREEDCART_TOKEN=SECRET_TOKEN,
    )
    return {**env, **extra}


def check(base_url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [CLI, "contract-check", *args],
        env=env if env is not None else _env(base_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    for secret in (SECRET_KEY, SECRET_TOKEN):
        assert secret not in result.stdout + result.stderr
    return result


def deviations(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("DEVIATION ")]


@pytest.fixture(scope="module")
def store() -> Iterator[MockServer]:
    with MockServer(STORE) as server:
        yield server


# --- against the mock: clean ------------------------------------------------------------------
def test_clean_against_the_mock_read_only(store: MockServer) -> None:
    result = check(store.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert deviations(result.stdout) == []
    summary = result.stdout.splitlines()[-1]
    assert summary.startswith("contract-check: ") and " 0 deviations" in summary
    assert " 3 operations" in summary  # list, get, group list: no write without --allow-writes


def test_clean_against_the_mock_with_writes_and_the_customer_is_gone(store: MockServer) -> None:
    headers = {"SecureURL": SECURE_URL, "PrivateKey": SECRET_KEY, "Token": SECRET_TOKEN}
    count = f"{store.url}{API}/Customers?countonly=1"
    before = httpx.get(count, headers=headers).json()
    result = check(store.url, "--allow-writes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 7 operations" in result.stdout and " 0 deviations" in result.stdout
    assert httpx.get(count, headers=headers).json() == before  # created, then deleted


def test_bodiless_errors_are_notes_not_deviations() -> None:
    with MockServer([*STORE, "--bodiless-errors"]) as server:
        result = check(server.url, "--allow-writes")
    assert result.returncode == 0, result.stdout + result.stderr
    notes = [line for line in result.stdout.splitlines() if line.startswith("note ")]
    assert any(line.endswith("bodiless 404") for line in notes)
    assert any(line.endswith("bodiless 400") for line in notes)


def test_usage_errors_exit_2(store: MockServer, tmp_path: Path) -> None:
    env = _env(store.url)
    del env["THREEDCART_TOKEN"]
    result = check(store.url, env=env)
    assert result.returncode == 2 and "THREEDCART_TOKEN" in result.stderr
    result = check(store.url, "--spec", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "cannot read the spec" in result.stderr
    result = check(store.url, env=_env(store.url, THREEDCART_TOKEN="wrong-token"))
    assert result.returncode == 2 and "401" in result.stderr
    assert check(store.url, "--no-such-option").returncode == 2


# --- against a drifted server: every drift named ----------------------------------------------
Rewrite = Callable[[str, str, int, bytes], tuple[int, bytes]]


@contextmanager
def drifted(upstream: str, rewrite: Rewrite) -> Iterator[str]:
    """A loopback proxy in front of the mock that passes `rewrite(method, path, status, body)`."""
    client = httpx.Client(base_url=upstream, timeout=30)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            names = ("SecureURL", "PrivateKey", "Token", "Content-Type", "Accept")
            headers = {n: self.headers[n] for n in names if self.headers.get(n) is not None}
            answer = client.request(self.command, self.path, content=body, headers=headers)
            status, content = rewrite(self.command, self.path, answer.status_code, answer.content)
            self.send_response(status)
            if content:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        client.close()


def _drift(method: str, path: str, status: int, body: bytes) -> tuple[int, bytes]:
    route = path.split("?")[0]
    if route.endswith("/Customers") and method == "GET" and "countonly" not in path and status == 200:
        page = json.loads(body)  # CustomerID becomes a string in list answers
        return status, json.dumps([{**c, "CustomerID": str(c["CustomerID"])} for c in page]).encode()
    if "/Customers/" in route and method == "GET" and status == 404:
        return 410, body  # a missing customer answered 410 Gone
    if "countonly" in path and status == 200:
        return 202, body  # a count answered 202 Accepted
    return status, body


def test_a_drifted_server_is_exit_1_with_every_drift_named(store: MockServer) -> None:
    with drifted(store.url, _drift) as url:
        result = check(url)
    assert result.returncode == 1, result.stdout + result.stderr
    found = deviations(result.stdout)
    type_drift = [
        line
        for line in found
        if line.startswith("DEVIATION listCustomers GET ") and "status 200 $[0].CustomerID: a string" in line
    ]
    assert type_drift and all("the spec says integer" in line for line in type_drift)
    assert any(line.endswith(" places") for line in type_drift)  # one line for the whole page
    assert any(
        line.startswith(f"DEVIATION getCustomer GET {API}/Customers/")
        and "status 410 is not documented" in line
        for line in found
    )
    assert any("countonly=1" in line and "status 202 is not documented" in line for line in found)
    summary = result.stdout.splitlines()[-1]
    assert f" {len(found)} deviations" in summary


def test_writes_against_a_drifted_server(store: MockServer) -> None:
    def drift(method: str, path: str, status: int, body: bytes) -> tuple[int, bytes]:
        if method == "POST" and status == 201:  # the write result loses its Message
            return status, json.dumps(
                [{k: v for k, v in r.items() if k != "Message"} for r in json.loads(body)]
            ).encode()
        if method == "DELETE" and status == 200:
            return 204, b""
        return status, body

    with drifted(store.url, drift) as url:
        result = check(url, "--allow-writes")
    assert result.returncode == 1, result.stdout
    found = deviations(result.stdout)
    assert any(
        line.startswith("DEVIATION createCustomer POST ") and "status 201 $[0].Message: missing" in line
        for line in found
    )
    assert any(line.startswith("DEVIATION deleteCustomer DELETE ") and "status 204" in line for line in found)


# --- the validator, from the spec alone ---------------------------------------------------------
def test_the_validator_takes_names_types_and_limits_from_the_spec() -> None:
    spec = Spec(yaml.safe_load(SPEC_PATH.read_text()))
    page = "#/components/schemas/CustomerList"
    assert spec.errors([{"CustomerID": 1, "Email": None, "BillingTaxID": None}], page) == []
    problems = dict(
        spec.errors(
            [
                {"CustomerID": 1},
                {
                    "CustomerID": 1,
                    "Email": "x" * 101,
                    "Enabled": None,
                    "XTestLoyaltyPoints": 3,
                    "TotalStoreCredit": "1",
                    "ShippingAddressType": 2**40,
                },
            ],
            page,
        )
    )
    assert "at most 100" in problems["$[1].Email"]
    assert "null" in problems["$[1].Enabled"]
    assert "does not document" in problems["$[1].XTestLoyaltyPoints"]
    assert "the spec says number" in problems["$[1].TotalStoreCredit"]
    assert "int32" in problems["$[1].ShippingAddressType"]  # formats are checked
    assert len(problems) == 5
    # the bulk item requires its id
    item = "#/components/schemas/CustomerUpdateItem"
    assert spec.errors({"Email": "a@b.c"}, item) == [("$.CustomerID", "missing, but the spec requires it")]
    # oneOf: a count is fine, a count of the wrong type is named against the count's schema
    op = spec.operation("listCustomers")
    assert op is not None
    response = spec.response_for(op, 200)
    assert response is not None
    content = spec.body_schema(response)
    assert content is not None
    assert spec.errors({"TotalCount": 3}, content[1]) == []
    assert spec.errors({"TotalCount": "3"}, content[1]) == [
        ("$.TotalCount", 'a string, the spec says integer (e.g. "3")')
    ]
    assert spec.errors([{"CustomerID": "3"}], content[1]) == [
        ("$[0].CustomerID", 'a string, the spec says integer (e.g. "3")')
    ]


def _nested_spec() -> Spec:
    """The spec with a nested object and an array of objects added to Customer."""
    document = yaml.safe_load(SPEC_PATH.read_text())
    properties = document["components"]["schemas"]["Customer"]["properties"]
    properties["XTestAddress"] = {
        "type": "object",
        "nullable": True,
        "properties": {"Zip": {"type": "string", "maxLength": 5}, "Lines": {"type": "array", "items": {}}},
    }
    properties["XTestTags"] = {
        "type": "array",
        "items": {"type": "object", "required": ["Name"], "properties": {"Name": {"type": "string"}}},
    }
    return Spec(document)


def test_a_nested_deviation_is_named_by_its_path() -> None:
    spec = _nested_spec()
    page = [
        {"CustomerID": 1, "XTestAddress": {"Zip": "123456"}, "XTestTags": [{"Name": "a"}, {"Nme": "b"}]},
        {"CustomerID": 2, "XTestAddress": {"Zip": "1", "Lines": [], "Country": "US"}},
        {"CustomerID": 3, "XTestAddress": None, "XTestTags": [{"Name": 7}]},
    ]
    assert spec.errors(page, "#/components/schemas/CustomerList") == [
        ("$[0].XTestAddress.Zip", "too long, the spec allows at most 5 characters (e.g. 6)"),
        ("$[0].XTestTags[1].Name", "missing, but the spec requires it"),
        ("$[0].XTestTags[1].Nme", "a field the spec does not document (a string)"),
        ("$[1].XTestAddress.Country", "a field the spec does not document (a string)"),
        ("$[2].XTestTags[0].Name", "an integer, the spec says string (e.g. 7)"),
    ]


def test_a_deviation_line_names_operation_status_and_path() -> None:
    """Through the check: one line per place in a record, the first record's path, the count."""
    spec = _nested_spec()
    bad = [{"CustomerID": n, "XTestAddress": {"Zip": "1234567"}} for n in (1, 2, 3)]

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=bad)

    lines: list[str] = []
    with httpx.Client(transport=httpx.MockTransport(answer), base_url="http://store.test") as http:
        check = ContractCheck(spec, http, progress=lambda finding: lines.append(finding.line()))
        op = spec.operation(ContractCheck.LIST)
        assert op is not None
        response = check.call(op, query={"limit": 5, "offset": 1})
    assert response.status_code == 200 and response.json() == bad  # the raw answer comes back
    assert lines == [
        f"DEVIATION listCustomers GET {API}/Customers?limit=5&offset=1: status 200 "
        "$[0].XTestAddress.Zip: too long, the spec allows at most 5 characters (e.g. 7), in 3 places"
    ]


# --- the spec shipped with the package, and the extra ------------------------------------------
def test_the_packaged_spec_is_the_repository_spec() -> None:
    assert packaged_spec().read_bytes() == SPEC_PATH.read_bytes(), "run `make generate`"
    assert load_spec() == yaml.safe_load(SPEC_PATH.read_text())


def _run_python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env if env is not None else os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("blocked", ["yaml", "openapi_schema_validator"])
def test_without_the_extra_contract_check_says_how_to_install_it(blocked: str) -> None:
    code = (
        f"import sys; sys.modules[{blocked!r}] = None; sys.argv[0] = 'threedcart'\n"
        "from threedcart._cli import main; main()"
    )
    result = _run_python(code, "contract-check", env=_env("http://127.0.0.1:9"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    # threedcart is on no package index: the hint installs the extra from a checkout or a wheel
    hint = (
        "pip install '.[contract]' in a checkout of threedcart, or "
        f"pip install 'dist/threedcart-{threedcart.__version__}-py3-none-any.whl[contract]' after make dist"
    )
    assert hint in result.stderr and blocked in result.stderr
    # the package itself says the same when imported
    result = _run_python(f"import sys; sys.modules[{blocked!r}] = None; import threedcart.contract")
    assert result.returncode == 1 and hint in result.stderr


def test_the_sdk_and_other_commands_never_import_the_extra(store: MockServer) -> None:
    code = (
        "import sys\n"
        "for name in ('yaml', 'openapi_schema_validator', 'jsonschema'): sys.modules[name] = None\n"
        "import threedcart, threedcart._cli._app\n"
        "sys.argv[0] = 'threedcart'\n"
        "from threedcart._cli import main; main()"
    )
    result = _run_python(code, "customers", "count", env=_env(store.url))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "60"


def test_names_and_limits_come_from_the_spec_given(store: MockServer, tmp_path: Path) -> None:
    """A spec that no longer documents a field, or allows less, makes the same store deviate."""
    document = yaml.safe_load(SPEC_PATH.read_text())
    properties = document["components"]["schemas"]["Customer"]["properties"]
    del properties["BillingTaxID"]
    properties["BillingCity"]["maxLength"] = 3
    changed = tmp_path / "customers.json"  # a JSON document needs no PyYAML
    changed.write_text(json.dumps(document))
    result = check(store.url, "--spec", str(changed))
    assert result.returncode == 1, result.stdout + result.stderr
    found = deviations(result.stdout)
    assert any(".BillingTaxID: a field the spec does not document" in line for line in found)
    assert any(".BillingCity: " in line and "at most 3" in line for line in found)
    assert not any("CustomerID" in line for line in found)

"""The mock store over HTTP: every behaviour of issue 3, against a real subprocess."""

from __future__ import annotations

import time
from pathlib import Path

import conftest
import httpx
import pytest
import yaml
from conftest import http
from threedcart_mock._app import NO_SUCH_RESOURCE_HEADER, api_base_path, api_routes
from threedcart_mock._schema import Schema, customer_fields, pointer, schema_at
from threedcart_mock.testing import MockServer

SPEC = Path(__file__).parent.parent / "openapi" / "customers.yaml"
# Shape facts come from the spec: its base path and the number of Customer fields.
API = api_base_path()
FIELD_COUNT = len(customer_fields())
CREATE_SCHEMA = pointer("components", "schemas", "CustomerCreate")


def _update_schema() -> Schema:
    """The update-one body's schema, where the spec puts it."""
    operation = pointer("paths", "/3dCartWebAPI/v1/Customers/{id}", "put")
    return schema_at(operation + "/requestBody/content/application~1json/schema")


def _create(client: httpx.Client, **fields: object) -> int:
    r = client.post("/Customers", json={"Email": "new@example.com", "Password": "", **fields})
    assert r.status_code == 201, r.text
    result = r.json()
    assert result[0]["Key"] == "CustomerID" and result[0]["Status"] == "201"
    assert result[0]["Message"] == "Created successfully"
    return int(result[0]["Value"])


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body, list) and body[0]["Key"] == "Error" and body[0]["Status"] == str(status)
    return str(body[0]["Message"])


# --- auth ---------------------------------------------------------------------
def test_missing_and_wrong_credentials_are_401(seeded_mock: MockServer) -> None:
    with httpx.Client(base_url=seeded_mock.url + API) as bare:
        assert "missing header SecureURL, PrivateKey, Token" in _error(bare.get("/Customers"), 401)
        partial = {"SecureURL": seeded_mock.headers["SecureURL"], "Token": "demo-token"}
        assert "PrivateKey" in _error(bare.get("/Customers", headers=partial), 401)
    with http(seeded_mock, Token="wrong") as client:
        message = _error(client.get("/Customers/1"), 401)
        assert "wrong" not in message and "demo-private-key" not in message


def test_secure_url_matches_without_case_or_trailing_slash(seeded_mock: MockServer) -> None:
    url = seeded_mock.headers["SecureURL"].upper() + "/"
    with http(seeded_mock, SecureURL=url) as client:
        assert client.get("/Customers/1").status_code == 200


def test_two_stores_do_not_see_each_other() -> None:
    a = "https://a.3dcartstores.com,key-a,token-a"
    b = "https://b.3dcartstores.com,key-b,token-b"
    with MockServer(["--store", a, "--store", b]) as server:
        ha = {"SecureURL": "https://a.3dcartstores.com", "PrivateKey": "key-a", "Token": "token-a"}
        hb = {"SecureURL": "https://b.3dcartstores.com", "PrivateKey": "key-b", "Token": "token-b"}
        with (
            httpx.Client(base_url=server.url + API, headers=ha) as ca,
            httpx.Client(base_url=server.url + API, headers=hb) as cb,
        ):
            id_a = _create(ca, Email="only-a@example.com")
            assert cb.get(f"/Customers/{id_a}").status_code == 404
            assert cb.put(f"/Customers/{id_a}", json={"Comments": "x"}).status_code == 404
            assert cb.delete(f"/Customers/{id_a}").status_code == 404
            assert cb.get("/Customers", params={"countonly": 1}).json() == {"TotalCount": 0}
            assert ca.get("/Customers", params={"countonly": 1}).json() == {"TotalCount": 1}
            # a's key with b's URL is not a store
            mixed = {**hb, "PrivateKey": "key-a", "Token": "token-a"}
            assert cb.get("/Customers", headers=mixed).status_code == 401


# --- writes -------------------------------------------------------------------
def test_create_assigns_ids_and_get_answers_an_array_of_one(mock: MockServer) -> None:
    with http(mock) as client:
        # A CustomerID sent on create: ignored where the create schema allows one (readOnly), a 400
        # naming it where the schema is closed without it (the spec decides, the mock follows).
        with_id = {"Email": "x@example.com", "Password": "", "CustomerID": 999}
        if schema_at(CREATE_SCHEMA).check(with_id) is None:
            first = _create(client, CustomerID=999, Email="a@example.com", BillingTaxID=None)
        else:
            assert "CustomerID" in _error(client.post("/Customers", json=with_id), 400)
            first = _create(client, Email="a@example.com", BillingTaxID=None)
        second = _create(client, Email="b@example.com")
        assert second == first + 1 and first != 999
        r = client.get(f"/Customers/{first}")
        assert r.status_code == 200
        (record,) = r.json()
        assert record["CustomerID"] == first and record["Email"] == "a@example.com"
        assert record["BillingTaxID"] is None and record["Enabled"] is True
        assert len(record) == FIELD_COUNT and list(record) == list(customer_fields())


def test_create_requires_email_and_password(mock: MockServer) -> None:
    with http(mock) as client:
        assert (
            _error(client.post("/Customers", json={"Email": "x@example.com"}), 400) == "Password is required"
        )
        assert "Email and Password are required" in _error(client.post("/Customers", json={}), 400)


def test_update_changes_only_the_fields_sent(mock: MockServer) -> None:
    with http(mock) as client:
        cid = _create(client, BillingCity="Miami", BillingState="FL", Comments="keep")
        # A CustomerID in the body: ignored (the path selects the record) where the update schema
        # allows one, a 400 naming it where the schema is closed without it.
        body = {"BillingCity": "Tampa", "CustomerID": 424242}
        if _update_schema().check(body) is not None:
            assert "CustomerID" in _error(client.put(f"/Customers/{cid}", json=body), 400)
            body.pop("CustomerID")
        r = client.put(f"/Customers/{cid}", json=body)
        assert r.status_code == 200
        assert r.json() == [
            {"Key": "CustomerID", "Value": str(cid), "Status": "200", "Message": "updated successfully"}
        ]
        (record,) = client.get(f"/Customers/{cid}").json()
        assert (record["BillingCity"], record["BillingState"], record["Comments"]) == ("Tampa", "FL", "keep")
        assert "not found" in _error(client.put("/Customers/424242", json={"Comments": "x"}), 404)


def test_bulk_update_200_206_404(mock: MockServer) -> None:
    with http(mock) as client:
        a, b = _create(client), _create(client)
        ok = client.put(
            "/Customers", json=[{"CustomerID": a, "Comments": "A"}, {"CustomerID": b, "Comments": "B"}]
        )
        assert ok.status_code == 200 and [x["Status"] for x in ok.json()] == ["200", "200"]
        partial = client.put("/Customers", json=[{"CustomerID": a, "Comments": "A2"}, {"CustomerID": 777777}])
        assert partial.status_code == 206
        assert [(x["Value"], x["Status"]) for x in partial.json()] == [(str(a), "200"), ("777777", "404")]
        assert client.get(f"/Customers/{a}").json()[0]["Comments"] == "A2"
        none = client.put("/Customers", json=[{"CustomerID": 777777, "Comments": "x"}])
        assert "not found" in _error(none, 404)
        assert "CustomerID is required" in _error(client.put("/Customers", json=[{"Comments": "x"}]), 400)
        too_many = [{"CustomerID": a}] * 501
        assert "1 to 500" in _error(client.put("/Customers", json=too_many), 400)
        assert "1 to 500" in _error(client.put("/Customers", json=[]), 400)


def test_delete(mock: MockServer) -> None:
    with http(mock) as client:
        cid = _create(client)
        r = client.delete(f"/Customers/{cid}")
        assert r.status_code == 200 and r.json()[0]["Message"] == "Deleted successfully"
        assert _error(client.get(f"/Customers/{cid}"), 404) == "The Customer record was not found"
        assert _error(client.delete(f"/Customers/{cid}"), 404) == "The Customer record was not found"
        assert _create(client) == cid + 1  # ids are never reused


# --- lists --------------------------------------------------------------------
def test_list_order_default_limit_and_bounds(seeded_mock: MockServer) -> None:
    with http(seeded_mock) as client:
        page = client.get("/Customers").json()
        assert [c["CustomerID"] for c in page] == list(range(1, 11))  # default limit 10, offset 1
        big = client.get("/Customers", params={"limit": 500, "offset": 1001}).json()
        assert [c["CustomerID"] for c in big] == list(range(1001, 1235))
        assert client.get("/Customers", params={"offset": 0, "limit": 3}).json() == page[:3]
        assert "between 1 and 500" in _error(client.get("/Customers", params={"limit": 501}), 400)
        assert "between 1 and 500" in _error(client.get("/Customers", params={"limit": 0}), 400)
        assert "offset" in _error(client.get("/Customers", params={"offset": -1}), 400)
        assert "limit" in _error(client.get("/Customers", params={"limit": "ten"}), 400)


def test_paging_visits_every_customer_once(seeded_mock: MockServer) -> None:
    seen: list[int] = []
    with http(seeded_mock) as client:
        offset = 1
        while True:
            r = client.get("/Customers", params={"limit": 100, "offset": offset})
            if r.status_code == 400:
                assert r.json()[0]["Message"] == "Offset amount exceeds the total number of records"
                break
            seen += [c["CustomerID"] for c in r.json()]
            offset += 100
    assert seen == list(range(1, 1235))


def test_empty_parameters_are_ignored_like_the_reference_samples(seeded_mock: MockServer) -> None:
    names = "limit offset email firstname lastname country state city phone countonly"
    names += " lastupdatestart lastupdateend"
    query = "&".join(f"{n}=" for n in names.split())
    with http(seeded_mock) as client:
        assert len(client.get(f"/Customers?{query}").json()) == 10


def test_no_match_is_404_and_count_is_zero(seeded_mock: MockServer) -> None:
    with http(seeded_mock) as client:
        r = client.get("/Customers", params={"email": "nobody@nowhere.example"})
        assert _error(r, 404) == "No Customer records found"
        r = client.get("/Customers", params={"email": "nobody@nowhere.example", "countonly": 1})
        assert r.json() == {"TotalCount": 0}
        r = client.get("/CustomerGroups/99/Customers")
        assert "Customer Group was not found" in _error(r, 404)


def test_filters_are_exact_and_case_insensitive(seeded_mock: MockServer) -> None:
    with http(seeded_mock) as client:
        everyone = client.get("/Customers", params={"limit": 500}).json()
        everyone += client.get("/Customers", params={"limit": 500, "offset": 501}).json()
        everyone += client.get("/Customers", params={"limit": 500, "offset": 1001}).json()
        for param, field in (
            ("state", "BillingState"),
            ("city", "BillingCity"),
            ("country", "BillingCountry"),
            ("firstname", "BillingFirstName"),
            ("lastname", "BillingLastName"),
        ):
            value = everyone[3][field]
            expected = [c["CustomerID"] for c in everyone if c[field].lower() == value.lower()]
            count = client.get("/Customers", params={param: value.upper(), "countonly": 1}).json()
            assert count == {"TotalCount": len(expected)}, param
            page = client.get("/Customers", params={param: value.lower(), "limit": 500}).json()
            assert [c["CustomerID"] for c in page] == expected[:500], param
        target = everyone[42]
        for param, field in (("email", "Email"), ("phone", "BillingPhoneNumber")):
            found = client.get("/Customers", params={param: target[field]}).json()
            assert [c["CustomerID"] for c in found] == [target["CustomerID"]]
        partial = client.get("/Customers", params={"email": target["Email"][:5]})
        assert partial.status_code == 404  # not a substring search
        combined = client.get(
            "/Customers",
            params={"state": target["BillingState"], "city": target["BillingCity"], "countonly": 1},
        ).json()["TotalCount"]
        assert combined == sum(
            1
            for c in everyone
            if (c["BillingState"], c["BillingCity"]) == (target["BillingState"], target["BillingCity"])
        )


def test_group_endpoint_lists_only_that_group(seeded_mock: MockServer) -> None:
    with http(seeded_mock) as client:
        page = client.get("/CustomerGroups/2/Customers", params={"limit": 500}).json()
        assert page and all(c["CustomerGroupID"] == 2 for c in page)
        ids = [c["CustomerID"] for c in page]
        assert ids == sorted(ids)
        count = client.get("/CustomerGroups/2/Customers", params={"countonly": 1}).json()["TotalCount"]
        assert count == len(page)
        assert "id must be" in _error(client.get("/CustomerGroups/x/Customers"), 400)


def test_last_update_window(mock: MockServer) -> None:
    with http(mock) as client:
        old = _create(client)
        time.sleep(1.1)
        before = client.get("/Customers", params={"countonly": 1}).json()["TotalCount"]
        assert before == 1
        # the store records Eastern time; find the creation time from the window itself
        from datetime import datetime, timedelta
        from zoneinfo import ZoneInfo

        now = datetime.now(ZoneInfo("America/New_York"))
        fmt = "%m/%d/%Y %H:%M:%S"
        since = now.strftime(fmt)
        fresh = _create(client)
        client.put(f"/Customers/{old}", json={"Comments": "touched"})
        later = (now + timedelta(minutes=5)).strftime(fmt)
        page = client.get("/Customers", params={"lastupdatestart": since, "lastupdateend": later}).json()
        assert sorted(c["CustomerID"] for c in page) == [old, fresh]
        past = (now - timedelta(days=1)).strftime(fmt)
        r = client.get("/Customers", params={"lastupdateend": past})
        assert r.status_code == 404
        for bad in ("2026-01-01 00:00:00", "13/01/2026 00:00:00", "02/30/2026 10:00:00"):
            assert "MM/DD/YYYY" in _error(client.get("/Customers", params={"lastupdatestart": bad}), 400)


# --- validation ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Email": 5, "Password": ""}, "Email must be of type string"),
        ({"Email": "x", "Password": "", "Enabled": "yes"}, "Enabled must be of type boolean"),
        ({"Email": "x", "Password": "", "CustomerGroupID": 1.5}, "CustomerGroupID must be of type integer"),
        (
            {"Email": "x", "Password": "", "CustomerGroupID": 2**40},
            "CustomerGroupID must be a 32-bit integer",
        ),
        ({"Email": "x" * 101, "Password": ""}, "Email is longer than 100 characters"),
        ({"Email": "x", "Password": "", "BillingZipCode": "1" * 21}, "BillingZipCode is longer than 20"),
        ({"Email": "x", "Password": "", "Enabled": None}, "Enabled must not be null"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_create_validation_names_the_problem(seeded_mock: MockServer, body: object, message: str) -> None:
    with http(seeded_mock) as client:
        assert message in _error(client.post("/Customers", json=body), 400)


def test_malformed_bodies_and_media_types(seeded_mock: MockServer) -> None:
    h = {"Content-Type": "application/json"}
    with http(seeded_mock) as client:
        assert "Malformed JSON" in _error(client.post("/Customers", content=b'{"Email": ', headers=h), 400)
        assert "Malformed JSON" in _error(client.post("/Customers", content=b"[" * 100000, headers=h), 400)
        assert "Malformed JSON" in _error(client.post("/Customers", content=b'{"a": NaN}', headers=h), 400)
        assert "UTF-8" in _error(client.post("/Customers", content=b'{"Email": "\xff"}', headers=h), 400)
        big = b'{"Email": "' + b"x" * (10 * 1024 * 1024) + b'"}'
        assert "larger than" in _error(client.put("/Customers/1", content=big, headers=h), 400)
        r = client.post("/Customers", content=b"Email=x", headers={"Content-Type": "text/plain"})
        assert "Unsupported media type" in _error(r, 415)
        assert _error(client.put("/Customers", content=b"[]"), 415)
        # the store still answers, and nothing was written
        assert client.get("/Customers", params={"countonly": 1}).json() == {"TotalCount": 1234}


def test_bad_path_ids_and_unknown_routes(seeded_mock: MockServer) -> None:
    with http(seeded_mock) as client:
        for bad in ("abc", "-1", "0", "99999999999", "1.5"):
            assert "id must be an integer" in _error(client.get(f"/Customers/{bad}"), 400)
        assert _error(client.get("/Customers/999999"), 404) == "The Customer record was not found"
        # A path the spec does not have: the mock's own 404, plain text, never the API's error array
        for unknown in (
            client.get("/XTestOrders"),
            client.get(seeded_mock.url + API.rsplit("/", 1)[0] + "/XTestV0/Customers"),
        ):
            assert unknown.status_code == 404 and unknown.headers[NO_SUCH_RESOURCE_HEADER] == "1"
            assert unknown.headers["content-type"].startswith("text/plain")
            assert unknown.text.startswith("No such resource: GET ") and "not one of the API" in unknown.text
        r = client.patch("/Customers/1")
        _error(r, 405)
        assert set(r.headers["allow"].split(", ")) >= {"GET", "PUT", "DELETE"}


def test_routes_are_the_specs_paths(seeded_mock: MockServer) -> None:
    """Every operation of the spec is routed (its path with the server's base path) and nothing else."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    expected = {
        path: {method.upper() for method in item if method in ("get", "put", "post", "delete")}
        for path, item in spec["paths"].items()
    }
    assert {path: set(ops) for path, ops in api_routes().items()} == expected
    assert conftest.API == API, "tests/conftest.py's API prefix differs from the spec's base path"
    with httpx.Client(base_url=seeded_mock.url, headers=seeded_mock.headers) as client:
        for path, methods in expected.items():
            r = client.options(path.replace("{id}", "1"))  # not an operation of the spec: 405 with Allow
            assert r.status_code == 405, path
            assert set(r.headers["allow"].split(", ")) - {"HEAD"} == methods, path


def test_serves_its_spec(seeded_mock: MockServer) -> None:
    r = httpx.get(seeded_mock.url + "/openapi.yaml")
    assert r.status_code == 200 and r.content == SPEC.read_bytes()


# --- options ------------------------------------------------------------------
def test_restart_keeps_data(tmp_path: Path) -> None:
    db = str(tmp_path / "store.sqlite")
    with MockServer(["--db", db]) as server, http(server) as client:
        cid = _create(client, Email="durable@example.com")
        client.put(f"/Customers/{cid}", json={"Comments": "after update"})
    with MockServer(["--db", db, "--seed-customers", "5"]) as server, http(server) as client:
        (record,) = client.get(f"/Customers/{cid}").json()
        assert (record["Email"], record["Comments"]) == ("durable@example.com", "after update")
        # seeding only fills empty stores
        assert client.get("/Customers", params={"countonly": 1}).json() == {"TotalCount": 1}


def test_seeding_is_deterministic() -> None:
    pages = []
    for _ in range(2):
        with MockServer(["--seed-customers", "50", "--random-seed", "3"]) as server, http(server) as client:
            pages.append(client.get("/Customers", params={"limit": 50}).json())
    assert pages[0] == pages[1] and len(pages[0]) == 50
    assert len({c["BillingState"] for c in pages[0]}) > 3
    assert len({c["CustomerGroupID"] for c in pages[0]}) > 1


def test_rate_limit_answers_429_with_retry_after() -> None:
    with MockServer(["--rate-limit", "on", "--seed-customers", "1"]) as server, http(server) as client:
        statuses = [client.get("/Customers/1").status_code for _ in range(50)]
        assert statuses == [200] * 50  # the burst
        # then the bucket drains at 2/s: requests faster than that overflow it soon
        assert any(client.get("/Customers/1").status_code == 429 for _ in range(500))
        r = client.get("/Customers/1")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert "Too many requests" in r.json()[0]["Message"]


def test_injected_faults_never_touch_data() -> None:
    with MockServer(["--fault-rate", "1"]) as server, http(server) as client:
        for _ in range(20):
            r = client.post("/Customers", json={"Email": "x@example.com", "Password": ""})
            assert r.status_code in (500, 503) and "Injected fault" in r.json()[0]["Message"]
    with MockServer(["--fault-rate", "0.5", "--random-seed", "1"]) as server, http(server) as client:
        created = 0
        for _ in range(40):
            r = client.post("/Customers", json={"Email": "x@example.com", "Password": ""})
            created += r.status_code == 201
        assert 0 < created < 40
        counts = [client.get("/Customers", params={"countonly": 1}) for _ in range(20)]
        assert {r.json()["TotalCount"] for r in counts if r.status_code == 200} == {created}


def test_latency_option_delays_answers() -> None:
    with MockServer(["--latency-ms", "200", "--seed-customers", "1"]) as server, http(server) as client:
        started = time.perf_counter()
        assert client.get("/Customers/1").status_code == 200
        assert time.perf_counter() - started >= 0.2


def test_start_up_prints_the_demo_store_and_rejects_bad_options() -> None:
    with MockServer() as server:
        assert any("PrivateKey=demo-private-key" in line for line in server.output)
    with pytest.raises(RuntimeError, match="SECUREURL,PRIVATEKEY,TOKEN"):
        MockServer(["--store", "only-a-url"]).start()


def test_sigterm_stops_cleanly() -> None:
    server = MockServer().start()
    assert server.stop() == 0

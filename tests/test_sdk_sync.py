"""The synchronous SDK against the mock over HTTP (mirrored by test_sdk_async.py)."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import threedcart
from conftest import API, store_kwargs
from threedcart import errors
from threedcart_mock.testing import MockServer


@pytest.fixture
def store(mock: MockServer) -> threedcart.Store:
    with threedcart.Store(**store_kwargs(mock)) as s:  # type: ignore[arg-type]
        yield s  # type: ignore[misc]


@pytest.fixture(scope="module")
def seeded_store(seeded_mock: MockServer) -> threedcart.Store:
    with threedcart.Store(**store_kwargs(seeded_mock)) as s:  # type: ignore[arg-type]
        yield s  # type: ignore[misc]


def test_crud_round_trip(store: threedcart.Store) -> None:
    cid = store.customers.create({"Email": "ann@example.com", "BillingCity": "Miami", "BillingTaxID": None})
    assert isinstance(cid, int) and cid >= 1
    customer = store.customers.get(cid)
    assert isinstance(customer, threedcart.Customer)
    assert (customer.customer_id, customer.email, customer.billing_city) == (cid, "ann@example.com", "Miami")
    assert customer.billing_tax_id is None
    store.customers.update(cid, threedcart.Customer(billing_city="Tampa"))
    updated = store.customers.get(cid)
    assert (updated.billing_city, updated.email) == ("Tampa", "ann@example.com")
    store.customers.delete(cid)
    with pytest.raises(errors.NotFoundError) as info:
        store.customers.get(cid)
    assert info.value.status_code == 404 and "not found" in info.value.message
    with pytest.raises(errors.NotFoundError):
        store.customers.delete(cid)
    with pytest.raises(errors.NotFoundError):
        store.customers.update(cid, {"Comments": "x"})


def test_create_accepts_a_model_and_defaults_the_password(store: threedcart.Store) -> None:
    cid = store.customers.create(threedcart.Customer(email="m@example.com", mail_list=True))
    assert store.customers.get(cid).mail_list is True
    assert store.customers.get(cid).password == ""


def test_bad_arguments_name_the_problem(store: threedcart.Store) -> None:
    with pytest.raises(ValueError, match="unknown field"):
        store.customers.create({"email": "lower@example.com"})
    with pytest.raises(ValueError, match="needs an Email"):
        store.customers.create({"BillingCity": "x"})
    with pytest.raises(ValueError, match="customer_id must be a positive integer"):
        store.customers.get(0)
    with pytest.raises(TypeError, match="unknown filter"):
        store.customers.list(colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="limit must be between 1 and 500"):
        store.customers.list(limit=501)
    with pytest.raises(ValueError, match="offset is 1-based"):
        store.customers.list(offset=0)
    with pytest.raises(ValueError, match="page_size"):
        store.customers.iter(page_size=1000)
    with pytest.raises(ValueError, match="updated_since: cannot read"):
        store.customers.count(updated_since="not a date")
    bad = store.customers.update_many([{"CustomerID": 1}, {"Comments": "x"}])  # isolated, never sent
    assert (bad.failed[-1].index, bad.failed[-1].sent, bad.failed[-1].message) == (
        1,
        False,
        "missing CustomerID",
    )


def test_list_count_and_empty_answers(seeded_store: threedcart.Store) -> None:
    page = seeded_store.customers.list(limit=25, offset=11)
    assert [c.customer_id for c in page] == list(range(11, 36))
    assert seeded_store.customers.count() == 1234
    assert seeded_store.customers.list(email="nobody@example.invalid") == []  # the API's 404
    assert seeded_store.customers.list(offset=5000) == []  # the API's "offset exceeds" 400
    assert seeded_store.customers.count(email="nobody@example.invalid") == 0


def test_iter_every_customer_once_sequential_and_concurrent(seeded_store: threedcart.Store) -> None:
    expected = list(range(1, 1235))
    assert [c.customer_id for c in seeded_store.customers.iter()] == expected
    assert [c.customer_id for c in seeded_store.customers.iter(page_size=100)] == expected
    assert [c.customer_id for c in seeded_store.customers.iter(page_size=37, concurrency=4)] == expected
    assert [c.customer_id for c in seeded_store.customers.iter(page_size=500, concurrency=3)] == expected
    assert [c.customer_id for c in seeded_store.customers.iter(page_size=2, concurrency=8)] == expected


def test_filters_and_groups(seeded_store: threedcart.Store) -> None:
    florida = list(seeded_store.customers.iter(state="fl", page_size=50, concurrency=2))
    assert florida and all(c.billing_state == "FL" for c in florida)
    assert len(florida) == seeded_store.customers.count(state="FL")
    group = list(seeded_store.customers.iter(group_id=2))
    assert group and all(c.customer_group_id == 2 for c in group)
    assert seeded_store.customers.count(group_id=2) == len(group)
    assert seeded_store.customers.list(group_id=99) == []
    first = seeded_store.customers.get(1)
    assert isinstance(first.email, str)
    by_email = seeded_store.customers.list(email=first.email)
    assert [c.customer_id for c in by_email] == [1]
    both = seeded_store.customers.count(
        first_name=first.billing_first_name, last_name=first.billing_last_name
    )
    assert both >= 1


def test_dates_select_the_last_update_window(store: threedcart.Store) -> None:
    old = store.customers.create({"Email": "old@example.com"})
    eastern = ZoneInfo("America/New_York")
    now = datetime.now(eastern)
    assert store.customers.count(updated_since=now + timedelta(minutes=5)) == 0
    assert store.customers.count(updated_since=now - timedelta(minutes=5)) == 1
    # an aware datetime in another zone is converted to store time
    assert store.customers.count(updated_since=(now - timedelta(minutes=5)).astimezone(UTC)) == 1
    assert store.customers.count(updated_until=(now - timedelta(days=2)).date()) == 0
    assert store.customers.count(updated_until=now.date()) == 1  # a date means its whole day
    text = (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert [c.customer_id for c in store.customers.iter(updated_since=text)] == [old]
    assert store.customers.count(updated_since=date(2000, 1, 1), updated_until="2000-01-02") == 0


def test_update_many_across_batches_with_a_missing_id(store: threedcart.Store) -> None:
    ids = [store.customers.create({"Email": f"b{i}@example.com"}) for i in range(7)]
    changes = [{"CustomerID": cid, "Comments": f"batch {cid}"} for cid in ids]
    changes.insert(3, {"CustomerID": 999999, "Comments": "nobody"})
    result = store.customers.update_many(iter(changes), batch_size=3)
    assert result.batches == 3 and len(result) == 8 and not result.ok
    assert result.updated == ids
    (failure,) = result.failed
    assert (failure.index, failure.customer_id, failure.status) == (3, 999999, 404)
    assert "not found" in failure.message
    assert all(store.customers.get(cid).comments == f"batch {cid}" for cid in ids)
    none = store.customers.update_many([{"CustomerID": 999998}, {"CustomerID": 999997}])
    assert none.updated == [] and [f.status for f in none.failed] == [404, 404]
    refused = store.customers.update_many([{"CustomerID": ids[0], "BillingZipCode": "9" * 30}])
    assert refused.failed[0].status == 400 and "BillingZipCode" in refused.failed[0].message
    assert store.customers.update_many([]).batches == 0


def test_server_side_validation_is_bad_request(store: threedcart.Store) -> None:
    with pytest.raises(errors.BadRequestError, match="Email is longer than 100 characters") as info:
        store.customers.create({"Email": "x" * 101})
    assert info.value.status_code == 400 and info.value.response.status_code == 400


def test_every_error_class(mock: MockServer) -> None:
    with threedcart.Store(**store_kwargs(mock, token="wrong-token")) as bad:  # type: ignore[arg-type]
        with pytest.raises(errors.AuthenticationError) as info:
            bad.customers.count()
        assert "wrong-token" not in str(info.value)
    with threedcart.Store(**store_kwargs(mock)) as store:  # type: ignore[arg-type]
        http = store.client.get_httpx_client()
        raw = http.post(f"{API}/Customers", content=b"Email=x", headers={"Content-Type": "text/plain"})
        error = threedcart._resources.api_error(raw)
        assert isinstance(error, errors.UnsupportedMediaTypeError) and error.status_code == 415
    with (
        MockServer(["--fault-rate", "1"]) as faulty,
        threedcart.Store(
            **store_kwargs(faulty, max_retries=0)  # type: ignore[arg-type]
        ) as store,
    ):
        with pytest.raises(errors.ServerError) as server_error:
            store.customers.get(1)
        assert server_error.value.status_code in (500, 503) and "Injected fault" in server_error.value.message
    with (
        MockServer(["--rate-limit", "on"]) as limited,
        threedcart.Store(
            **store_kwargs(limited, max_retries=0, rate_limit=False)  # type: ignore[arg-type]
        ) as store,
    ):
        with pytest.raises(errors.RateLimitError) as limited_error:
            for _ in range(500):  # the burst of 50, then faster than the 2/s drain
                store.customers.count()
        assert limited_error.value.status_code == 429


def test_connection_and_timeout_errors(mock: MockServer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kwargs = store_kwargs(mock, base_url=f"http://127.0.0.1:{port}", max_retries=1)
    with threedcart.Store(**kwargs) as store, pytest.raises(errors.APIConnectionError) as info:  # type: ignore[arg-type]
        store.customers.count()
    assert not isinstance(info.value, errors.APITimeoutError)
    with (
        MockServer(["--latency-ms", "500"]) as slow,
        threedcart.Store(
            **store_kwargs(slow, timeout=0.1, max_retries=0)  # type: ignore[arg-type]
        ) as store,
    ):
        with pytest.raises(errors.APITimeoutError):
            store.customers.count()
        # a per-call timeout long enough succeeds on the same store
        assert store.with_options(timeout=5).customers.count() == 0


@pytest.mark.slow
def test_retries_recover_an_export_under_faults(quick_backoff: None) -> None:
    with MockServer(["--seed-customers", "3000", "--fault-rate", "0.2", "--random-seed", "5"]) as mock:
        with threedcart.Store(**store_kwargs(mock, max_retries=10)) as store:  # type: ignore[arg-type]
            fast = store.with_options(max_retries=10)
            ids = [c.customer_id for c in fast.customers.iter(page_size=100)]
            assert ids == list(range(1, 3001))
            ids = [c.customer_id for c in fast.customers.iter(page_size=100, concurrency=4)]
            assert ids == list(range(1, 3001))


def test_create_is_never_retried_after_a_server_error(quick_backoff: None) -> None:
    with MockServer(["--fault-rate", "0.4", "--random-seed", "2"]) as mock:
        with threedcart.Store(**store_kwargs(mock, max_retries=5)) as store:  # type: ignore[arg-type]
            acknowledged = 0
            for i in range(40):
                try:
                    store.customers.create({"Email": f"c{i}@example.com"})
                    acknowledged += 1
                except errors.ServerError:
                    pass
            assert 0 < acknowledged < 40
            emails = [c.email for c in store.with_options(max_retries=20).customers.iter()]
            assert len(emails) == acknowledged == len(set(emails))


def test_rate_limited_mock_with_the_sdk_throttle_sees_no_429() -> None:
    with MockServer(["--rate-limit", "on", "--seed-customers", "10"]) as mock:
        # the documented bucket on both sides; 56 requests overflow the server's 50 unless throttled
        with threedcart.Store(**store_kwargs(mock, rate_limit=True, max_retries=0)) as store:  # type: ignore[arg-type]
            assert store.rate_limit == threedcart.RateLimit(capacity=50, per_second=2)
            for _ in range(56):
                assert store.customers.count() == 10


@pytest.mark.slow
def test_with_options_overrides_retries_per_call(quick_backoff: None) -> None:
    with MockServer(["--fault-rate", "0.3", "--random-seed", "9", "--seed-customers", "1"]) as mock:
        with threedcart.Store(**store_kwargs(mock, max_retries=0)) as store:  # type: ignore[arg-type]
            failures = 0
            for _ in range(20):
                try:
                    store.customers.get(1)
                except errors.ServerError:
                    failures += 1
            assert failures > 0
            patient = store.with_options(max_retries=15)
            assert all(patient.customers.get(1).customer_id == 1 for _ in range(10))
            # the view's own generated client retries as the view says (raw calls included)
            from threedcart_customers_client.api.customers import get_customer

            assert patient.client is not store.client
            assert all(
                get_customer.sync_detailed(1, client=patient.client).status_code == 200 for _ in range(10)
            )


def test_raw_access_through_the_generated_client(seeded_store: threedcart.Store) -> None:
    from threedcart_customers_client.api.customers import get_customer

    answer = get_customer.sync_detailed(3, client=seeded_store.client)
    assert answer.status_code == 200 and answer.parsed[0].customer_id == 3  # type: ignore[index,union-attr]

"""The asyncio SDK against the mock over HTTP (mirrors test_sdk_sync.py)."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import threedcart
from conftest import store_kwargs
from threedcart import errors
from threedcart_mock.testing import MockServer


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_crud_round_trip(mock: MockServer) -> None:
    async def scenario() -> None:
        async with threedcart.AsyncStore(**store_kwargs(mock)) as store:  # type: ignore[arg-type]
            cid = await store.customers.create({"Email": "ann@example.com", "BillingCity": "Miami"})
            assert (await store.customers.get(cid)).billing_city == "Miami"
            await store.customers.update(cid, {"BillingCity": "Tampa"})
            customer = await store.customers.get(cid)
            assert (customer.billing_city, customer.email) == ("Tampa", "ann@example.com")
            await store.customers.delete(cid)
            with pytest.raises(errors.NotFoundError):
                await store.customers.get(cid)
            with pytest.raises(errors.NotFoundError):
                await store.customers.delete(cid)

    run(scenario())


def test_list_count_iter_and_filters(seeded_mock: MockServer) -> None:
    async def scenario() -> None:
        async with threedcart.AsyncStore(**store_kwargs(seeded_mock)) as store:  # type: ignore[arg-type]
            page = await store.customers.list(limit=5, offset=3)
            assert [c.customer_id for c in page] == [3, 4, 5, 6, 7]
            assert await store.customers.count() == 1234
            assert await store.customers.list(email="nobody@example.invalid") == []
            assert await store.customers.list(offset=9999) == []
            expected = list(range(1, 1235))
            assert [c.customer_id async for c in store.customers.iter()] == expected
            assert [
                c.customer_id async for c in store.customers.iter(page_size=41, concurrency=5)
            ] == expected
            texans = [c async for c in store.customers.iter(state="TX", concurrency=2, page_size=50)]
            assert texans and {c.billing_state for c in texans} == {"TX"}
            assert len(texans) == await store.customers.count(state="tx")
            group = [c async for c in store.customers.iter(group_id=3)]
            assert group and {c.customer_group_id for c in group} == {3}

    run(scenario())


def test_dates_and_bulk(mock: MockServer) -> None:
    async def scenario() -> None:
        async with threedcart.AsyncStore(**store_kwargs(mock)) as store:  # type: ignore[arg-type]
            ids = [await store.customers.create({"Email": f"a{i}@example.com"}) for i in range(5)]
            now = datetime.now(ZoneInfo("America/New_York"))
            assert await store.customers.count(updated_since=now - timedelta(minutes=5)) == 5
            assert await store.customers.count(updated_until=now - timedelta(days=1)) == 0
            changes = [{"CustomerID": cid, "MailList": True} for cid in ids] + [{"CustomerID": 999999}]
            result = await store.customers.update_many(changes, batch_size=2)
            assert result.updated == ids and result.batches == 3
            assert [(f.index, f.customer_id, f.status) for f in result.failed] == [(5, 999999, 404)]
            assert all([(await store.customers.get(cid)).mail_list for cid in ids])

    run(scenario())


def test_error_classes(mock: MockServer) -> None:
    async def scenario() -> None:
        async with threedcart.AsyncStore(**store_kwargs(mock, private_key="nope")) as bad:  # type: ignore[arg-type]
            with pytest.raises(errors.AuthenticationError):
                await bad.customers.count()
        async with threedcart.AsyncStore(**store_kwargs(mock)) as store:  # type: ignore[arg-type]
            with pytest.raises(errors.BadRequestError, match="BillingState is longer than 100"):
                await store.customers.create({"Email": "x@example.com", "BillingState": "s" * 101})
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        kwargs = store_kwargs(mock, base_url=f"http://127.0.0.1:{port}", max_retries=0)
        async with threedcart.AsyncStore(**kwargs) as nowhere:  # type: ignore[arg-type]
            with pytest.raises(errors.APIConnectionError):
                await nowhere.customers.count()

    run(scenario())
    with MockServer(["--latency-ms", "500"]) as slow:

        async def timeout() -> None:
            kwargs = store_kwargs(slow, timeout=0.1, max_retries=0)
            async with threedcart.AsyncStore(**kwargs) as store:  # type: ignore[arg-type]
                with pytest.raises(errors.APITimeoutError):
                    await store.customers.count()

        run(timeout())
    with MockServer(["--fault-rate", "1"]) as faulty:

        async def server_error() -> None:
            async with threedcart.AsyncStore(**store_kwargs(faulty, max_retries=1)) as store:  # type: ignore[arg-type]
                with pytest.raises(errors.ServerError):
                    await store.customers.get(1)

        run(server_error())


def test_export_under_faults_returns_every_customer_once(quick_backoff: None) -> None:
    with MockServer(["--seed-customers", "2000", "--fault-rate", "0.2", "--random-seed", "4"]) as mock:

        async def scenario() -> None:
            async with threedcart.AsyncStore(**store_kwargs(mock, max_retries=10)) as store:  # type: ignore[arg-type]
                ids = [c.customer_id async for c in store.customers.iter(page_size=100, concurrency=4)]
                assert ids == list(range(1, 2001))

        run(scenario())


def test_throttle_is_shared_by_concurrent_tasks() -> None:
    with MockServer(["--rate-limit", "on", "--seed-customers", "3"]) as mock:

        async def scenario() -> None:
            async with threedcart.AsyncStore(**store_kwargs(mock, rate_limit=True, max_retries=0)) as store:  # type: ignore[arg-type]
                counts = await asyncio.gather(*(store.customers.count() for _ in range(54)))
                assert counts == [3] * 54

        run(scenario())

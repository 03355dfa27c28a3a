"""Credentials never appear in logs (debug included), reprs or exception messages."""

from __future__ import annotations

import asyncio
import logging

import pytest
import threedcart
from threedcart import errors
from threedcart_mock.testing import MockServer

SECURE_URL = "https://secret-test.3dcartstores.com"
PRIVATE_KEY = "pk-7f3a9c1e-PRIVATE"
TOKEN = "tok-5b2d8e4f-TOKEN"


def test_a_full_session_never_shows_the_credentials(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: threedcart, httpx, httpcore, asyncio
    texts: list[str] = []
    store_arg = f"{SECURE_URL},{PRIVATE_KEY},{TOKEN}"
    with MockServer(["--store", store_arg, "--fault-rate", "0.3", "--random-seed", "3"]) as mock:
        kwargs = {"secure_url": SECURE_URL, "private_key": PRIVATE_KEY, "token": TOKEN, "base_url": mock.url}
        with threedcart.Store(**kwargs, max_retries=8) as store:  # type: ignore[arg-type]
            texts += [
                repr(store),
                str(store),
                repr(store.client),
                repr(store.customers),
                repr(store._credentials),
            ]
            cid = None
            for _ in range(10):  # create is not retried after a 5xx: try again by hand
                try:
                    cid = store.customers.create({"Email": "s@example.com"})
                    break
                except errors.ServerError as exc:
                    texts += [repr(exc), str(exc)]
            assert cid is not None
            store.customers.update(cid, {"Comments": "c"})
            texts.append(repr(store.customers.get(cid)))
            list(store.customers.iter(concurrency=2))
            store.customers.update_many([{"CustomerID": cid}, {"CustomerID": 999999}])
            patient = store.with_options(max_retries=8)
            for call in (
                lambda: patient.customers.get(999999),
                lambda: patient.customers.update(cid, {"Email": "x" * 200}),
            ):
                with pytest.raises(errors.APIError) as info:
                    call()
                texts += [repr(info.value), str(info.value), info.value.message, repr(info.value.response)]
        wrong = {**kwargs, "token": TOKEN + "-wrong"}
        with threedcart.Store(**wrong, max_retries=0) as store:  # type: ignore[arg-type]
            with pytest.raises(errors.AuthenticationError) as info:
                store.customers.count()
            texts += [repr(info.value), str(info.value)]

        async def session() -> None:
            async with threedcart.AsyncStore(**kwargs, max_retries=8) as astore:  # type: ignore[arg-type]
                texts.append(repr(astore))
                await astore.customers.count()

        asyncio.run(session())
    nowhere = {**kwargs, "base_url": "http://127.0.0.1:9", "max_retries": 0}
    with threedcart.Store(**nowhere) as store, pytest.raises(errors.APIConnectionError) as conn:  # type: ignore[arg-type]
        store.customers.count()
    texts += [repr(conn.value), str(conn.value)]

    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert any(r.name == "threedcart" for r in caplog.records)  # the SDK did log, at debug
    assert "retrying" in logged  # including its retries
    everything = logged + "\n".join(texts)
    for secret in (PRIVATE_KEY, TOKEN):
        assert secret not in everything

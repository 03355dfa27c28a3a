"""One path per call: raw answers, views built through the constructor, one-shot sync runs, twin
shells that cannot drift, typed `from_env` options, and no context variables in the SDK."""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import threedcart
from conftest import store_kwargs
from threedcart import errors
from threedcart._transport import AsyncRetryTransport, RetryTransport
from threedcart_mock.testing import MockServer

ROOT = Path(__file__).resolve().parent.parent
OVERLAY = ROOT / "overlay" / "threedcart"


# --- raw answers ---------------------------------------------------------------------------------
def test_with_raw_response_gives_the_answer_and_what_the_call_returns(mock: MockServer) -> None:
    with threedcart.Store(**store_kwargs(mock)) as store:  # type: ignore[arg-type]
        raw_new = store.customers.with_raw_response.create({"Email": "raw@example.com"})
        assert raw_new.status_code == 201 and isinstance(raw_new.parse(), int)
        cid = raw_new.parse()
        raw = store.customers.with_raw_response.get(cid)
        assert raw.status_code == 200 and raw.request.method == "GET"
        assert raw.headers["Date"] and raw.elapsed > timedelta(0)
        assert raw.url.path.endswith(f"/Customers/{cid}")
        assert raw.json()[0]["Email"] == "raw@example.com" and b"raw@example.com" in raw.content
        assert raw.parse() == store.customers.get(cid)  # the same outcome as the plain call
        assert store.customers.with_raw_response.count().parse() == 1
        page = store.customers.with_raw_response.list(limit=5)
        assert page.status_code == 200 and [c.customer_id for c in page.parse()] == [cid]
        assert store.customers.with_raw_response.update(cid, {"Comments": "x"}).parse() is None
        assert store.customers.with_raw_response.delete(cid).status_code in (200, 204)
        with pytest.raises(errors.NotFoundError) as gone:  # an error answer raises, as the call does
            store.customers.with_raw_response.get(cid)
        assert gone.value.response.status_code == 404
        assert repr(raw).startswith("<RawResponse [200] GET ")


def test_async_with_raw_response(mock: MockServer) -> None:
    async def scenario() -> tuple[int, int, int]:
        async with threedcart.AsyncStore(**store_kwargs(mock)) as store:  # type: ignore[arg-type]
            cid = (await store.customers.with_raw_response.create({"Email": "a@example.com"})).parse()
            raw = await store.customers.with_raw_response.get(cid, timeout=5)
            count = await store.customers.with_raw_response.count()
            return raw.status_code, count.parse(), raw.parse().customer_id or 0

    status, count, cid = asyncio.run(scenario())
    assert (status, count) == (200, 1) and cid > 0


# --- views ------------------------------------------------------------------------------------------
def test_a_view_is_a_store_built_through_the_constructor_sharing_the_pool() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"TotalCount": 7})

    options: dict[str, Any] = {"secure_url": "https://s.example", "private_key": "pk", "token": "tok"}
    transport = httpx.MockTransport(handler)
    store = threedcart.Store(**options, base_url="http://127.0.0.1:9", transport=transport, max_retries=1)
    view = store.with_options(max_retries=4, timeout=2.5)
    assert type(view) is threedcart.Store and view.max_retries == 4 and view.timeout == httpx.Timeout(2.5)
    assert (view.base_url, view.secure_url, view.store_tz) == (
        store.base_url,
        store.secure_url,
        store.store_tz,
    )
    assert view.customers.count() == 7 and store.customers.count() == 7
    assert len(seen) == 2  # both through the one transport the store was given
    assert seen[0].extensions["timeout"]["read"] == 2.5
    view.close()  # a view leaves the pool to its store
    assert not store.is_closed and store.customers.count() == 7
    store.close()
    assert view.is_closed
    with pytest.raises(errors.StoreClosedError):
        view.customers.count()


def test_a_per_call_timeout_reuses_its_view() -> None:
    options: dict[str, Any] = {"secure_url": "https://s.example", "private_key": "pk", "token": "tok"}
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"TotalCount": 1}))
    with threedcart.Store(**options, base_url="http://127.0.0.1:9", transport=transport) as store:
        first = store._timed(3.0)
        assert store._timed(3.0) is first and store._timed(4.0) is not first
        assert store._timed(None) is store


# --- sync runs ------------------------------------------------------------------------------------
def test_a_sync_run_is_one_shot(seeded_mock: MockServer) -> None:
    with threedcart.Store(**store_kwargs(seeded_mock)) as store:  # type: ignore[arg-type]
        run = store.customers.sync(None, max_clock_skew=None)
        first = sum(1 for _ in run)
        assert first == 1234 and run.complete
        with pytest.raises(RuntimeError, match="iterated already"):
            list(run)


def test_an_async_sync_run_is_one_shot(seeded_mock: MockServer) -> None:
    async def scenario() -> int:
        async with threedcart.AsyncStore(**store_kwargs(seeded_mock)) as store:  # type: ignore[arg-type]
            run = store.customers.sync(None, max_clock_skew=None)
            n = len([c async for c in run])
            with pytest.raises(RuntimeError, match="iterated already"):
                [c async for c in run]
            return n

    assert asyncio.run(scenario()) == 1234


# --- typed options --------------------------------------------------------------------------------
def test_from_env_names_an_unknown_option(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (
        ("THREEDCART_SECURE_URL", "https://s.example"),
        ("THREEDCART_PRIVATE_KEY", "pk"),
        ("THREEDCART_TOKEN", "tok"),
    ):
        monkeypatch.setenv(name, value)
    with pytest.raises(TypeError) as caught:
        threedcart.Store.from_env(timout=3)  # type: ignore[call-arg]
    assert str(caught.value) == "Store.from_env() got unknown option(s): timout (did you mean timeout?)"
    with pytest.raises(TypeError, match=r"AsyncStore.from_env\(\) got unknown option\(s\): zzz$"):
        threedcart.AsyncStore.from_env(zzz=1)  # type: ignore[call-arg]
    store = threedcart.Store.from_env(timeout=3, base_url="http://127.0.0.1:9")
    assert store.timeout == httpx.Timeout(3)
    store.close()


def test_the_options_typed_dict_matches_the_constructor() -> None:
    constructor = inspect.signature(threedcart.Store.__init__).parameters
    public = {name for name in constructor if name != "self" and not name.startswith("_")}
    assert set(threedcart.StoreOptions.__annotations__) == public


# --- twins ----------------------------------------------------------------------------------------
_ASYNC_NAMES = {
    "aclose": "close",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
}
_ASYNC_NAMES["handle_async_request"] = "handle_request"


def _public(cls: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") and name not in _ASYNC_NAMES and name not in _ASYNC_NAMES.values():
            continue
        if name.startswith("__") and name not in _ASYNC_NAMES and name not in _ASYNC_NAMES.values():
            continue
        out[_ASYNC_NAMES.get(name, name)] = member
    return out


def _shape(member: Any) -> Any:
    if callable(member):
        try:
            signature = inspect.signature(member)
        except (TypeError, ValueError):
            return "callable"
        return [(p.name, p.kind, repr(p.default)) for p in signature.parameters.values()]
    return type(member).__name__


@pytest.mark.parametrize(
    ("sync", "async_"),
    [
        (threedcart.Store, threedcart.AsyncStore),
        (threedcart.Customers, threedcart.AsyncCustomers),
        (threedcart.RawCustomers, threedcart.AsyncRawCustomers),
        (threedcart.SyncRun, threedcart.AsyncSyncRun),
        (RetryTransport, AsyncRetryTransport),
    ],
)
def test_every_sync_and_async_twin_has_the_same_public_shape(sync: type, async_: type) -> None:
    mine, theirs = _public(sync), _public(async_)
    assert set(mine) == set(theirs), f"{sync.__name__} and {async_.__name__} differ in their names"
    for name in mine:
        if name in ("handle_request", "__init__"):
            continue  # the inner transport's type and the sleep function differ by nature
        assert _shape(mine[name]) == _shape(theirs[name]), f"{name} differs"
        if callable(mine[name]) and not name.startswith("__"):
            assert inspect.getdoc(mine[name]) and inspect.getdoc(theirs[name]), f"{name} is undocumented"


def test_the_sync_shell_is_written_from_the_async_one() -> None:
    done = subprocess.run(
        [sys.executable, "tools/unasync.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    source = (OVERLAY / "_customers_async.py").read_text()
    written = (OVERLAY / "_customers.py").read_text()
    assert "async " not in written.replace("AsyncStore", "") and "await " not in written
    assert written.count("def ") == source.count("def ")


# --- no side channels ----------------------------------------------------------------------------
def test_the_sdk_keeps_no_context_variables() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted(OVERLAY.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bContextVar\b", line)
    ]
    assert found == []


def test_the_sdk_reaches_no_private_attribute_of_httpx_or_httpcore() -> None:
    offenders = []
    for path in sorted(OVERLAY.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute):
                continue
            if node.attr in ("_network_backend", "_ssl_context", "_content"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
            if node.attr in ("is_stream_consumed", "is_closed") and isinstance(node.ctx, ast.Store):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} sets .{node.attr}")
    assert offenders == []

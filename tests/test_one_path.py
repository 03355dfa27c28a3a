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
        if "ǁ" in name:  # mutmut's instrumentation of the class (`make mutation`), not its shape
            continue
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


# --- found in review ------------------------------------------------------------------------------
_OPTIONS: dict[str, Any] = {"secure_url": "https://s.example", "private_key": "pk", "token": "tok"}


def test_raw_calls_through_a_closed_store_or_its_views_are_refused() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"TotalCount": 1})

    mock = httpx.MockTransport(handler)
    store = threedcart.Store(**_OPTIONS, base_url="http://127.0.0.1:9", transport=mock)
    view = store.with_options(timeout=5)
    store.close()
    with pytest.raises(RuntimeError, match="client has been closed"):  # httpx's own refusal
        store.client.get_httpx_client().get("/x")
    with pytest.raises(errors.StoreClosedError):  # the view's client refuses too
        view.client.get_httpx_client().get("/x")
    assert seen == []

    async def scenario() -> None:
        astore = threedcart.AsyncStore(
            **_OPTIONS, base_url="http://127.0.0.1:9", transport=httpx.MockTransport(handler)
        )
        raw = astore.client
        await astore.aclose()
        with pytest.raises(errors.StoreClosedError):
            await raw.get_async_httpx_client().get("/x")
        with pytest.raises(errors.StoreClosedError):
            await astore.client.get_async_httpx_client().get("/x")

    asyncio.run(scenario())
    assert seen == []


def test_the_sync_pool_has_httpx_s_limits_not_httpcore_s() -> None:
    """20 threads reach a slow server at once (httpcore's own default pool holds 10)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    crowd = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                state["now"] += 1
                state["peak"] = max(state["peak"], state["now"])
                if state["now"] >= 20:
                    crowd.set()
            crowd.wait(5)
            body = b'{"TotalCount": 1}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with lock:
                state["now"] -= 1

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with threedcart.Store(**_OPTIONS, base_url=url, rate_limit=False, max_retries=0) as store:
            threads = [threading.Thread(target=store.customers.count) for _ in range(20)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
    finally:
        server.shutdown()
        server.server_close()
    assert state["peak"] == 20


def test_async_client_lookups_from_many_threads_are_safe() -> None:
    import threading

    store = threedcart.AsyncStore(
        **_OPTIONS,
        base_url="http://127.0.0.1:9",
        transport=httpx.MockTransport(lambda r: httpx.Response(200)),
    )
    failures: list[BaseException] = []

    def many_loops() -> None:
        for _ in range(150):
            loop = asyncio.new_event_loop()
            try:
                store._client_for(loop)
            except BaseException as exc:
                failures.append(exc)
            finally:
                loop.close()

    threads = [threading.Thread(target=many_loops) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert store.client is store.client  # outside a loop: one client while the pool is the same


def test_a_view_keeps_the_tls_settings_the_store_loaded(tmp_path: Path) -> None:
    import ssl

    import certifi

    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes())
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"TotalCount": 3}))
    with threedcart.Store(**_OPTIONS, verify=str(bundle), transport=transport) as store:
        bundle.unlink()  # read once, by the store
        view = store.with_options(timeout=5)
        assert view.verify == str(bundle) and isinstance(view._ssl, ssl.SSLContext)
        assert store.customers.count(timeout=4) == 3 and view.customers.count() == 3


def test_an_async_transport_of_the_callers_own_is_closed_once() -> None:
    closes: list[int] = []

    class Counting(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={"TotalCount": 2})

        async def aclose(self) -> None:
            closes.append(1)

    async def scenario() -> int:
        async with threedcart.AsyncStore(
            **_OPTIONS, base_url="http://127.0.0.1:9", transport=Counting()
        ) as s:
            return await s.customers.count()

    assert asyncio.run(scenario()) == 2 and closes == [1]


def test_an_async_attempt_cut_off_while_connecting_is_a_connect_timeout() -> None:
    from threedcart._transport import _Phase

    async def scenario() -> list[bool]:
        request = httpx.Request("GET", "http://127.0.0.1:9/x")
        outer: list[str] = []

        async def theirs(event: str, info: dict[str, Any]) -> None:
            outer.append(event)

        request.extensions["trace"] = theirs
        phase = _Phase(request, theirs)
        trace = request.extensions["trace"]
        states = [phase.connecting]
        for event in (
            "connection.connect_tcp.started",
            "connection.connect_tcp.complete",
            "http11.send_request_headers.started",
        ):
            await trace(event, {})
            states.append(phase.connecting)
        assert outer[-1] == "http11.send_request_headers.started"  # the caller's own trace still runs
        return states

    assert asyncio.run(scenario()) == [False, True, False, False]

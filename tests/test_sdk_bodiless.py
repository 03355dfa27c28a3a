"""Answers without a body (the reference says some 400/404/500 have none) still raise the right error."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import threedcart
from conftest import API, CUSTOMER_FIELDS, store_kwargs
from threedcart import errors
from threedcart_mock.testing import MockServer

ANSWERS = {
    f"{API}/Customers/400": (400, b"", "text/plain"),
    f"{API}/Customers/404": (404, b"", "application/json"),
    f"{API}/Customers/500": (500, b"", "application/json"),
    f"{API}/Customers/502": (502, b"<html>Bad gateway</html>", "text/html"),
    f"{API}/Customers/403": (403, b"", "text/plain"),
    f"{API}/Customers/200": (200, b"{not json", "application/json"),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body, media = ANSWERS[self.path]
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def store() -> Iterator[threedcart.Store]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with threedcart.Store(
        secure_url="https://s", private_key="k", token="t", base_url=url, max_retries=0
    ) as s:
        yield s
    server.shutdown()


@pytest.mark.parametrize(
    ("customer_id", "cls", "message"),
    [
        (400, errors.BadRequestError, "Bad Request"),
        (404, errors.NotFoundError, "Not Found"),
        (500, errors.ServerError, "Internal Server Error"),
        (502, errors.ServerError, "Bad Gateway"),
        (403, errors.APIError, "Forbidden"),
    ],
)
def test_bodiless_errors_use_the_status_text(
    store: threedcart.Store, customer_id: int, cls: type[errors.APIError], message: str
) -> None:
    with pytest.raises(cls) as info:
        store.customers.get(customer_id)
    assert type(info.value) is cls
    assert info.value.status_code == customer_id and info.value.message == message
    assert info.value.response.status_code == customer_id


def test_an_unreadable_success_is_an_api_error(store: threedcart.Store) -> None:
    with pytest.raises(errors.APIError, match="unreadable answer") as info:
        store.customers.get(200)
    assert info.value.status_code == 200


class _Nothing(BaseHTTPRequestHandler):
    """Every path is a 404 with no body: what a wrong base URL or path gets from a real web server."""

    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def nowhere() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Nothing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_404_everywhere_is_a_wrong_base_url_for_lists_and_for_count(nowhere: str) -> None:
    with threedcart.Store(secure_url="https://s", private_key="k", token="t", base_url=nowhere) as s:
        # a list's 404 is "no records" only when a count of the same filters confirms it
        with pytest.raises(errors.NotFoundError, match="base_url"):
            s.customers.list()
        with pytest.raises(errors.NotFoundError, match="base_url"):
            list(s.customers.iter())
        with pytest.raises(errors.NotFoundError, match="base_url") as info:
            s.customers.count()
        assert info.value.status_code == 404
        assert f"{API}/Customers answered 404 to a count" in info.value.message
        with pytest.raises(errors.NotFoundError, match="base_url"):
            list(s.customers.iter(concurrency=4))  # the count comes first with concurrency


def test_cli_export_fails_when_the_count_is_a_404(nowhere: str, tmp_path: object) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    cli = str(Path(sys.executable).with_name("threedcart"))
    env = {
        **os.environ,
        "THREEDCART_SECURE_URL": "https://s",
        "THREEDCART_PRIVATE_KEY": "k",
        "THREEDCART_TOKEN": "t",
        "THREEDCART_BASE_URL": nowhere,
    }
    target = Path(str(tmp_path)) / "out.jsonl"
    done = subprocess.run(
        [cli, "customers", "export", "-o", str(target)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "base_url" in done.stderr and not target.exists()


@pytest.fixture(scope="module")
def bodiless_mock() -> Iterator[MockServer]:
    with MockServer(["--seed-customers", "30", "--bodiless-errors"]) as server:
        yield server


@pytest.mark.parametrize("concurrency", [1, 4, 8])
@pytest.mark.parametrize("page_size", [3, 10, 30, 7, 500])
def test_iter_on_a_bodiless_mock_reads_everything_once(
    bodiless_mock: MockServer, page_size: int, concurrency: int
) -> None:
    with threedcart.Store(**store_kwargs(bodiless_mock)) as s:  # type: ignore[arg-type]
        got = [c.customer_id for c in s.customers.iter(page_size=page_size, concurrency=concurrency)]
    assert got == list(range(1, 31))


async def _aread(server: MockServer, page_size: int, concurrency: int, **filters: str) -> list[object]:
    async with threedcart.AsyncStore(**store_kwargs(server)) as s:  # type: ignore[arg-type]
        return [
            c.customer_id
            async for c in s.customers.iter(page_size=page_size, concurrency=concurrency, **filters)
        ]  # type: ignore[arg-type]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_async_iter_on_a_bodiless_mock_reads_everything_once(
    bodiless_mock: MockServer, concurrency: int
) -> None:
    import asyncio

    assert asyncio.run(_aread(bodiless_mock, 10, concurrency)) == list(range(1, 31))
    assert asyncio.run(_aread(bodiless_mock, 10, concurrency, email="nobody@example.com")) == []


def test_list_on_a_bodiless_mock(bodiless_mock: MockServer) -> None:
    with threedcart.Store(**store_kwargs(bodiless_mock)) as s:  # type: ignore[arg-type]
        assert [c.customer_id for c in s.customers.list(limit=10, offset=25)] == [25, 26, 27, 28, 29, 30]
        assert s.customers.list(limit=10, offset=31) == []  # a bodiless 400 past the end
        assert s.customers.list(email="nobody@example.com") == []  # a bodiless 404
        assert s.customers.count(email="nobody@example.com") == 0
        with pytest.raises(errors.NotFoundError) as info:
            s.customers.get(999)
        assert info.value.message == "Not Found"


def test_update_many_of_absent_customers_on_a_bodiless_404(bodiless_mock: MockServer) -> None:
    city = next(f for f in CUSTOMER_FIELDS if f.endswith("City"))  # a text field, from the spec
    items = [{"CustomerID": 900, city: "Tampa"}, {"CustomerID": 901, city: "Tampa"}]
    with threedcart.Store(**store_kwargs(bodiless_mock)) as s:  # type: ignore[arg-type]
        result = s.customers.update_many(items)

    async def run() -> threedcart.BulkResult:
        async with threedcart.AsyncStore(**store_kwargs(bodiless_mock)) as s:  # type: ignore[arg-type]
            return await s.customers.update_many(items)

    for got in (result, asyncio.run(run())):
        assert got.updated == []
        assert [(f.index, f.customer_id, f.status, f.message) for f in got.failed] == [
            (0, 900, 404, "Not Found"),
            (1, 901, 404, "Not Found"),
        ]

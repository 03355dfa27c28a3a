"""Answers without a body (the reference says some 400/404/500 have none) still raise the right error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import threedcart
from threedcart import errors

ANSWERS = {
    "/3dCartWebAPI/v1/Customers/400": (400, b"", "text/plain"),
    "/3dCartWebAPI/v1/Customers/404": (404, b"", "application/json"),
    "/3dCartWebAPI/v1/Customers/500": (500, b"", "application/json"),
    "/3dCartWebAPI/v1/Customers/502": (502, b"<html>Bad gateway</html>", "text/html"),
    "/3dCartWebAPI/v1/Customers/403": (403, b"", "text/plain"),
    "/3dCartWebAPI/v1/Customers/200": (200, b"{not json", "application/json"),
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

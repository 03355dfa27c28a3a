"""6. The mock's own throughput: get-by-id and a 500-customer page, sequential and 16 concurrent clients.

The load comes from a minimal asyncio HTTP/1.1 client on keep-alive connections, so that the
figures measure the server rather than a client library.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

from threedcart_mock.testing import MockServer

from ._harness import write

SECONDS = 3.0


async def _client(host: str, port: int, request: bytes, deadline: float) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    done = 0
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1]
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
            if status != b"200":
                raise RuntimeError(f"the mock answered {status!r}")
            done += 1
    finally:
        writer.close()
    return done


async def _rate(url: str, path: str, headers: dict[str, str], clients: int) -> float:
    parts = urlsplit(url)
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    started = time.perf_counter()
    deadline = started + SECONDS
    counts = await asyncio.gather(
        *(_client(parts.hostname or "127.0.0.1", parts.port or 80, request, deadline) for _ in range(clients))
    )
    return sum(counts) / (time.perf_counter() - started)


def run() -> dict[str, Any]:
    results: dict[str, float] = {}
    with MockServer(["--seed-customers", "10000"]) as mock:
        for name, path in (
            ("get_by_id", "/3dCartWebAPI/v1/Customers/5000"),
            ("page_of_500", "/3dCartWebAPI/v1/Customers?limit=500&offset=1001"),
        ):
            for clients in (1, 16):
                rate = asyncio.run(_rate(mock.url, path, mock.headers, clients))
                results[f"{name}_{'sequential' if clients == 1 else '16_clients'}_rps"] = round(rate)
    return write(
        "mock_throughput",
        {**results, "seconds_each": SECONDS, "target": "get-by-id sequential >= 1,500 requests/s"},
    )

"""Stopping is prompt and gives back what it held (issue 18, item 5).

A call cancelled while it waits for its rate-limit slot gives the slot back, so the calls after
it are not delayed by requests that were never sent.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import threedcart
from conftest import store_kwargs
from test_hostile_server import HostileServer, Seen, answer, store
from threedcart._throttle import RateLimit, Throttle
from threedcart_mock.testing import MockServer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_released_slot_shortens_the_next_wait() -> None:
    clock = Clock()
    throttle = Throttle(RateLimit(capacity=3, per_second=1), clock=clock)
    waits = [throttle.reserve() for _ in range(6)]
    assert waits == [0.0, 0.0, 1.0, 2.0, 3.0, 4.0]  # one request of headroom: 2 at once, then 1/s
    for _ in range(4):  # the last four were cancelled while waiting
        throttle.release()
    assert throttle.reserve() == 1.0  # as if only two had been sent


def test_releases_never_let_more_through_than_the_bucket() -> None:
    clock = Clock()
    throttle = Throttle(RateLimit(capacity=3, per_second=1), clock=clock)
    for _ in range(10):
        throttle.release()  # more releases than reservations (a bug elsewhere) ...
    assert [throttle.reserve() for _ in range(4)] == [0.0, 0.0, 1.0, 2.0]  # ... still the same bucket


@pytest.mark.parametrize("queued", [60])
def test_cancelled_async_calls_give_their_slots_back(queued: int) -> None:
    with MockServer(["--seed-customers", "3"]) as server:

        async def main() -> float:
            limit = RateLimit(capacity=3, per_second=1)
            async with threedcart.AsyncStore(**store_kwargs(server, rate_limit=limit)) as store:  # type: ignore[arg-type]
                tasks = [asyncio.create_task(store.customers.get(1)) for _ in range(queued)]
                await asyncio.sleep(0.5)  # the first two are answered, the rest wait for slots
                for task in tasks:
                    task.cancel()
                results = await asyncio.gather(*tasks, return_exceptions=True)
                cancelled = sum(isinstance(r, asyncio.CancelledError) for r in results)
                assert cancelled >= queued - 3
                assert store._throttle is not None
                wait = store._throttle.reserve()  # the wait the next request gets
                store._throttle.release()
                await store.customers.get(1)  # and the store still works
                return wait

        wait = asyncio.run(main())
        # without the slots given back, the next request waits behind ~58 never-sent ones (~58 s)
        assert wait <= 4, f"the next request would wait {wait:.1f}s"


# --- leaving an iterator abandons the pages in flight ------------------------------------------------
def _customers(first: int, count: int) -> bytes:
    return json.dumps(
        [{"CustomerID": i, "Email": f"c{i}@example.com"} for i in range(first, first + count)]
    ).encode()


def test_leaving_a_concurrent_iterator_abandons_pages_in_flight() -> None:
    """`break` returns while the store still holds pages (nothing waits for them), and the held
    pages, answered 500 afterwards, are not retried."""
    release = threading.Event()
    held = 0
    lock = threading.Lock()

    def behaviour(sock: socket.socket, n: int, seen: Seen) -> None:
        nonlocal held
        query = parse_qs(urlsplit(seen.target).query)
        if query.get("countonly") == ["1"]:
            answer(sock, 200, b'{"TotalCount": 1000}')
        elif query.get("offset") in (None, ["1"]):
            answer(sock, 200, _customers(1, int(query.get("limit", ["10"])[0])))
        else:
            with lock:
                held += 1
            release.wait(30)
            answer(sock, 500, b"")

    with HostileServer(behaviour) as server:
        with store(server.url, max_retries=3) as s:
            for _ in s.customers.iter(page_size=50, concurrency=8):
                # leave once the store holds a page (bounded: on a loaded machine the workers'
                # requests may reach it a moment after the first page came back)
                for _ in range(1000):
                    with lock:
                        if held:
                            break
                    time.sleep(0.01)
                break
            with lock:
                still_held = held
            assert still_held > 0, "no page was in flight: the test proves nothing"
            release.set()
        for thread in [t for t in threading.enumerate() if t.name.startswith("threedcart-page-")]:
            thread.join(30)
        # each held page was answered 500 and never asked for again (no retry after abandoning)
        targets = [seen.target for seen in server.seen]
        assert len(targets) == len(set(targets)), targets

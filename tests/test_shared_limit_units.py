"""`SharedRateLimit` and `SharedThrottle` piece by piece: URLs and their secrets, the Redis clients'
options, the fallback's states on an injected clock, closing, and giving slots back.

Redis is the real `redis-server` of tests/_redis_server.py; where Redis must fail, it is a
closed loopback port (refused) or a loopback listener that accepts and never answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import socket
import threading
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.retry
import redis.retry
from _redis_server import PASSWORD, RedisServer, free_port
from threedcart import RateLimit, SharedRateLimit
from threedcart._shared_limit import (
    KEY_PREFIX,
    SharedThrottle,
    _Connector,  # pyright: ignore[reportPrivateUsage]
    redact_url,
    secrets_of,
    store_key,
)

SHOP = "https://shop.example.com"
LIMIT = RateLimit(capacity=5, per_second=2)  # a slot every 0.5 s, a tolerance of 1.5 s
FAILED = re.compile(
    r"threedcart: Redis at (?P<url>\S+) is unreachable \((?P<error>.+)\): using this process's own "
    r"bucket until it is back \(retrying every (?P<every>\S+)s\); several processes may now overflow "
    r"the store's bucket"
)


class Clock:
    """The throttle's monotonic clock, moved by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def throttle(url: str, clock: Clock, *, retry_interval: float = 5.0, timeout: float = 0.25) -> SharedThrottle:
    shared = SharedRateLimit(url, LIMIT, retry_interval=retry_interval, timeout=timeout)
    return SharedThrottle(shared, store_key(SHOP), _Connector(url, timeout), clock)


def closed_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: every connect is refused


def level(redis_server: RedisServer) -> float:
    """The shared bucket's theoretical arrival time, as the script stored it."""
    with redis_server.client() as client:
        value = client.get(store_key(SHOP))
    assert value is not None, "no bucket in Redis"
    return float(value)


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "threedcart" and r.levelno == level]


# --- URLs and secrets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://user:pw@h:1/0", "redis://user:***@h:1/0"),
        ("redis://:pw@h:1/0", "redis://:***@h:1/0"),
        ("redis://pw@h:1/0", "redis://***@h:1/0"),  # a lone userinfo is the password to redis-py
        ("redis://user:@h:1/0", "redis://user:***@h:1/0"),
        ("redis://@h:1/0", "redis://@h:1/0"),
        ("redis://a:b@c@h:1/0#top", "redis://a:***@h:1/0#top"),  # the last @ ends the userinfo
        ("unix://:pw@/run/redis.sock?db=1", "unix://:***@/run/redis.sock?db=1"),
        ("rediss://h:1/0?password=pw&ssl_cert_reqs=none", "rediss://h:1/0?password=***&ssl_cert_reqs=none"),
        ("rediss://h:1/0?SSL_Password=pw&db=", "rediss://h:1/0?SSL_Password=***&db="),
        ("redis://h:1/0", "redis://h:1/0"),
        ("redis://[::1:6379/0", "<unparseable Redis URL>"),
    ],
)
def test_redact_url_hides_every_shape_of_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("redis://:s3cr%3Aet@h/0", {"s3cr%3Aet", "s3cr:et"}),  # as written and decoded
        ("redis://:s3cr:et@h/0", {"s3cr:et", "s3cr%3Aet"}),  # and as it would be encoded
        ("redis://pw@h/0", {"pw"}),
        ("redis://a:b@c@h/0", {"b@c", "b%40c"}),  # the last @ ends the userinfo
        ("redis://:a%2fb@h/0", {"a%2fb", "a/b", "a%2Fb"}),  # every byte but unreserved ones encoded
        ("redis://user:@h/0", set()),  # an empty password is nothing to scrub
        ("redis://h/0?password=a%20b&ssl_password=c&db=0", {"a b", "a%20b", "c"}),
        ("redis://h/0?PASSWORD=p", {"p"}),
        ("redis://[::1/0?password=p", set()),
    ],
)
def test_secrets_of_finds_every_password_and_its_encodings(url: str, found: set[str]) -> None:
    secrets = secrets_of(url)
    assert set(secrets) == found
    assert len(secrets) == len(found)  # each once


def test_the_store_key_is_a_hash_of_the_normalised_secure_url() -> None:
    digest = hashlib.sha256(b"https://shop.example.com").hexdigest()[:32]
    assert store_key(SHOP) == KEY_PREFIX + digest
    assert store_key("  HTTPS://Shop.Example.com/ ") == KEY_PREFIX + digest
    assert store_key(SHOP, "p:") == "p:" + digest
    assert store_key("https://SHOP.EXAMPLE.COMX") != store_key("https://shop.example.com")


def test_the_constructor_names_what_is_wrong() -> None:
    for blank in ("", "   ", None, 6379):
        with pytest.raises(ValueError) as caught:
            SharedRateLimit(blank)  # type: ignore[arg-type]  # callers without a type checker
        assert str(caught.value) == "SharedRateLimit needs a Redis URL, e.g. redis://host:6379/0"
    for url, shown in (
        ("http://:hunter2@h:1/0", "http://:***@h:1/0"),
        ("localhost:6379", "localhost:6379"),
        ("redis:6379", "redis:6379"),
    ):
        with pytest.raises(ValueError) as caught:
            SharedRateLimit(url)
        assert str(caught.value) == (
            f"SharedRateLimit: expected a redis://, rediss:// or unix:// URL, not {shown!r}"
        )
    for options in ({"retry_interval": 0}, {"timeout": 0}, {"retry_interval": -1}, {"timeout": float("nan")}):
        with pytest.raises(ValueError) as caught:
            SharedRateLimit("redis://h:1/0", **options)
        assert str(caught.value) == "SharedRateLimit: retry_interval and timeout must be positive"


def test_the_defaults_and_the_repr() -> None:
    shared = SharedRateLimit("  redis://:pw@h:1/0 ")
    assert (shared.url, shared.limit, shared.retry_interval, shared.timeout, shared.key_prefix) == (
        "redis://:***@h:1/0",
        RateLimit(),
        5.0,
        0.25,
        KEY_PREFIX,
    )
    assert repr(shared) == "SharedRateLimit('redis://:***@h:1/0', RateLimit(capacity=50, per_second=2.0))"
    for url in (
        "rediss://h:1/0",
        "unix:///run/redis.sock",
        "REDIS://h:1/0",
        "redis://h:1/0?client_name=a://b",
    ):
        assert SharedRateLimit(url).url == url
    one = shared.throttle(SHOP)
    assert repr(one) == f"SharedThrottle({shared!r}, key={store_key(SHOP)!r})"
    assert shared.throttle(SHOP).key == one.key
    assert SharedRateLimit("redis://h:1/0", key_prefix="p:").throttle(SHOP).key == store_key(SHOP, "p:")


def test_redact_replaces_the_longest_secret_first() -> None:
    # "zz" is in "azzb" and sorts after it: only the longest-first order hides all of "azzb"
    shared = SharedRateLimit("redis://:zz@h:1/0?password=azzb")
    assert shared.redact("azzb, zz, az") == "***, ***, az"


# --- the Redis clients ---------------------------------------------------------------------------


def test_both_clients_give_up_after_the_timeout_and_retry_once() -> None:
    connector = _Connector("redis://127.0.0.1:9/0", 0.7)
    blocking, _script = connector.blocking_client()

    async def async_options() -> dict[str, Any]:
        client, _ = connector.async_client()
        options = dict(client.connection_pool.connection_kwargs)
        await client.aclose()
        return options

    for options, retry in (
        (blocking.connection_pool.connection_kwargs, redis.retry.Retry),
        (asyncio.run(async_options()), redis.asyncio.retry.Retry),
    ):
        assert options["socket_timeout"] == options["socket_connect_timeout"] == 0.7
        assert isinstance(options["retry"], retry)
        assert options["retry"].get_retries() == 1
    blocking.close()


class SilentServer:
    """A loopback listener that accepts connections and never answers; counts them."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def test_a_silent_redis_costs_one_retry_then_the_fallback(caplog: pytest.LogCaptureFixture) -> None:
    silent = SilentServer()
    try:
        t = throttle(silent.url, Clock(), timeout=0.2)
        assert [t.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 0.0, 0.5]  # the local bucket
        # the first reservation timed out twice (one retry, on a new connection: 2 x timeout, no
        # health check's PING retried on its own), the others kept to the local bucket
        assert len(silent.accepted) == 2
        other = throttle(silent.url, Clock(), timeout=0.2)
        assert asyncio.run(other.areserve()) == 0.0  # the asyncio client alike
        assert len(silent.accepted) == 4
        assert len(messages(caplog, logging.WARNING)) == 2  # one per store
        for warning in messages(caplog, logging.WARNING):
            found = FAILED.fullmatch(warning)
            assert found is not None and found["error"].startswith("TimeoutError: ")
    finally:
        silent.close()


# --- the fallback, on an injected clock ------------------------------------------------------------


def test_after_a_refusal_redis_is_tried_again_once_retry_interval_has_passed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock(1000.0)
    url = closed_url()
    t = throttle(url, clock, retry_interval=5.0)
    args, now = t._plan()  # pyright: ignore[reportPrivateUsage]
    assert (args, now) == (["0.5", "1.5", "-1.0"], 1000.0)  # interval, tolerance, no floor
    waits = [t.reserve() for _ in range(12)]  # refused: the local bucket, from empty
    assert waits == [0.0] * 4 + [0.5 * i for i in range(1, 9)]
    assert t._retry_at == 1005.0  # pyright: ignore[reportPrivateUsage]
    (warning,) = messages(caplog, logging.WARNING)
    found = FAILED.fullmatch(warning)
    assert found is not None
    assert (found["url"], found["every"]) == (url, "5")
    assert re.fullmatch(
        r"ConnectionError: Error 111 connecting to 127\.0\.0\.1:\d+\. Connection refused\.", found["error"]
    )
    clock.now = 1004.9
    assert t._plan() == (None, 1004.9)  # pyright: ignore[reportPrivateUsage]
    assert t._retry_at == 1005.0  # waiting does not put the probe off  # pyright: ignore[reportPrivateUsage]
    clock.now = 1005.0
    args, _ = t._plan()  # pyright: ignore[reportPrivateUsage]
    # the probe carries the local bucket's level (12 slots from 1000: it empties at 1006)
    assert args == ["0.5", "1.5", "1.0"]
    assert t._retry_at == 1010.0  # pyright: ignore[reportPrivateUsage]
    assert t._plan() == (None, 1005.0)  # one caller probes, the others keep to the local bucket  # pyright: ignore[reportPrivateUsage]
    assert t._local_ahead(1005.5) == 0.5  # pyright: ignore[reportPrivateUsage]
    assert t._local_ahead(1007.0) == 0.0  # pyright: ignore[reportPrivateUsage]
    assert len(messages(caplog, logging.WARNING)) == 1


def test_a_fallback_starts_as_full_as_the_shared_bucket_and_the_way_back_carries_the_local_level(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="threedcart")
    clock = Clock(1000.0)
    t = throttle(redis_server.url, clock, retry_interval=5.0)
    assert [t.reserve() for _ in range(4)] == [0.0] * 4  # from Redis
    # the shared bucket now empties 2.0 s after the last answer (4 slots of 0.5 s)
    assert t._level == pytest.approx(1002.0, abs=0.05)  # pyright: ignore[reportPrivateUsage]
    t._succeed(0.5, 1001.0)  # an older answer, arriving late, never lowers it  # pyright: ignore[reportPrivateUsage]
    assert t._level == pytest.approx(1002.0, abs=0.05)  # pyright: ignore[reportPrivateUsage]
    assert t._down is False  # pyright: ignore[reportPrivateUsage]
    assert messages(caplog, logging.INFO) == []  # up all along: nothing to announce
    redis_server.stop()
    # the local bucket goes on from the shared one's level: the 5th slot waits 0.5 s, not 0
    assert [t.reserve() for _ in range(12)] == pytest.approx([0.5 * i for i in range(1, 13)], abs=0.05)
    assert t._down is True  # pyright: ignore[reportPrivateUsage]
    redis_server.start()
    clock.now = 1005.0
    # Redis restarted empty; the probe brings the local level (the local bucket empties at 1008)
    assert t.reserve() == pytest.approx(1.5, abs=0.05)  # 3.0 ahead, less the tolerance
    assert t._down is False  # pyright: ignore[reportPrivateUsage]
    assert messages(caplog, logging.INFO) == [
        f"threedcart: Redis at {t.shared.url} is back: the store's bucket is shared again"
    ]
    clock.now = 1005.1  # before the next retry time, but Redis is up: it is used, without a floor
    assert t._plan()[0] == ["0.5", "1.5", "-1.0"]  # pyright: ignore[reportPrivateUsage]
    before = level(redis_server)
    assert t.reserve() == pytest.approx(2.0, abs=0.05)
    assert level(redis_server) == pytest.approx(before + 0.5, abs=1e-6)


def test_a_level_seen_is_the_fullest_answer_and_a_fallback_takes_it() -> None:
    t = throttle(closed_url(), Clock(1000.0))
    t._succeed(0.0, 1000.0)  # pyright: ignore[reportPrivateUsage]
    t._succeed(0.25, 999.5)  # pyright: ignore[reportPrivateUsage]
    t._fail(redis.ConnectionError("gone"), 1000.0)  # pyright: ignore[reportPrivateUsage]
    assert t._local_ahead(999.0) == 1.0  # the local bucket empties at 1000.0, as the shared one  # pyright: ignore[reportPrivateUsage]
    t._succeed(0.5, 1000.0)  # pyright: ignore[reportPrivateUsage]
    t._fail(redis.ConnectionError("gone"), 1000.0)  # pyright: ignore[reportPrivateUsage]
    assert t._local_ahead(1000.0) == 0.5  # pyright: ignore[reportPrivateUsage]


# --- closing ---------------------------------------------------------------------------------------


def test_a_client_that_fails_to_close_is_dropped_with_a_debug_line_and_no_secret(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG, logger="threedcart")
    t = throttle(redis_server.url, Clock())
    t.reserve()

    def broken(self: object) -> None:
        raise redis.ConnectionError(f"lost redis://:{PASSWORD}@127.0.0.1")

    async def abroken(self: object) -> None:
        broken(self)

    monkeypatch.setattr(redis.Redis, "close", broken)
    monkeypatch.setattr(redis.asyncio.Redis, "aclose", abroken)
    t.close()  # nothing raised
    assert t._blocking is None  # pyright: ignore[reportPrivateUsage]

    async def main() -> None:
        await t.areserve()
        await t.aclose()
        assert t._async == {}  # pyright: ignore[reportPrivateUsage]

    asyncio.run(main())
    assert (
        messages(caplog, logging.DEBUG)
        == ["threedcart: closing the Redis client: lost redis://:***@127.0.0.1"] * 2
    )


def test_one_asyncio_client_per_loop() -> None:
    t = throttle("redis://127.0.0.1:9/0", Clock())

    async def main() -> None:
        first = t._async_script()  # pyright: ignore[reportPrivateUsage]
        assert t._async_script() is first  # pyright: ignore[reportPrivateUsage]
        await t.aclose()

    asyncio.run(main())
    asyncio.run(main())  # another loop, another client


# --- giving a slot back ----------------------------------------------------------------------------


def test_release_gives_a_slot_back_to_the_shared_bucket(redis_server: RedisServer) -> None:
    t = throttle(redis_server.url, Clock())
    t.reserve()
    alone = level(redis_server)
    t.release()  # the bucket would drop below now: left to drain with time
    assert level(redis_server) == alone
    for _ in range(3):
        t.reserve()
    before = level(redis_server)
    t.release()
    assert level(redis_server) == pytest.approx(before - 0.5, abs=1e-6)
    with redis_server.client() as client:
        assert client.pttl(store_key(SHOP)) > 0  # still expires


def test_release_while_redis_is_down_gives_the_slot_back_locally(caplog: pytest.LogCaptureFixture) -> None:
    t = throttle(closed_url(), Clock(1000.0))
    for _ in range(6):
        t.reserve()  # refused: the local bucket, which now empties at 1003.0
    t.release()
    assert t._local_ahead(1000.0) == 2.5  # pyright: ignore[reportPrivateUsage]
    t.arelease()  # the same, from asyncio code
    assert t._local_ahead(1000.0) == 2.0  # pyright: ignore[reportPrivateUsage]


def test_a_release_that_fails_is_a_debug_line_and_never_an_error(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="threedcart")
    t = throttle(redis_server.url, Clock())
    t.reserve()
    redis_server.stop()
    t.release()  # not known to be down yet: Redis is tried, and fails
    t.arelease()  # no running event loop: nothing to give back through
    assert t._down is False  # pyright: ignore[reportPrivateUsage]
    first, second = messages(caplog, logging.DEBUG)
    assert re.fullmatch(
        r"threedcart: giving a slot back to Redis: "
        r"Error 111 connecting to 127\.0\.0\.1:\d+\. Connection refused\.",
        first,
    )
    assert second == "threedcart: giving a slot back to Redis: no running event loop"


def test_arelease_gives_a_slot_back_through_a_task_of_its_own(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="threedcart")
    t = throttle(redis_server.url, Clock())
    releases = t._releases  # pyright: ignore[reportPrivateUsage]

    async def main() -> None:
        t.arelease()  # no client on this loop yet: nothing reserved through it, nothing to give back
        assert not releases
        for _ in range(4):
            await t.areserve()
        before = level(redis_server)
        t.arelease()
        assert len(releases) == 1  # held until done
        await asyncio.gather(*releases)
        await asyncio.sleep(0)
        assert not releases
        assert level(redis_server) == pytest.approx(before - 0.5, abs=1e-6)
        t.arelease()
        for task in list(releases):
            task.cancel()  # a cancelled give-back is no failure
        await asyncio.sleep(0.05)
        assert not releases
        redis_server.stop()
        t.arelease()
        await asyncio.wait(list(releases))
        await asyncio.sleep(0)
        assert not releases
        await t.aclose()

    asyncio.run(main())
    (line,) = messages(caplog, logging.DEBUG)
    assert re.fullmatch(
        r"threedcart: giving a slot back to Redis: "
        r"Error 111 connecting to 127\.0\.0\.1:\d+\. Connect call failed .*",
        line,
    )

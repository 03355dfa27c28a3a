"""One store's rate limit shared by every process and machine, on Redis.

The store's leaky bucket counts every request to that store, from every process. Each
process's `Throttle` only knows its own requests; `SharedRateLimit` keeps the bucket's state
(the GCRA's theoretical arrival time) in Redis instead, one key per store, and reserves a slot
with one atomic Lua script that reads the server's clock. The script never waits: it answers
how long the caller must wait, and the caller sleeps with nothing held on the server.

When Redis cannot be reached, the throttle logs a warning once and falls back to its
in-process bucket (started as full as the shared one last was), then tries Redis again every
`retry_interval` seconds; on its way back it carries its own bucket's level into the shared one.

`Store` reserves through a blocking redis-py client (one per store, thread-safe, made on first
use and closed by `Store.close()`); `AsyncStore` awaits the same script through `redis.asyncio`,
so a reservation never blocks the event loop. An asyncio client is bound to the loop it first
ran on: each store's throttle keeps one per running loop, made on first use and closed by
`AsyncStore.aclose()`; one whose loop has closed is dropped (its sockets close as it is
collected). So a `SharedRateLimit` may serve a `Store` and `AsyncStore`s on any number of
threads and event loops. `SharedRateLimit.close()` and `aclose()` close the clients of every
store it serves.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from ._constants import install_hint
from ._throttle import RateLimit, Throttle

if TYPE_CHECKING:
    import redis
    import redis.asyncio
    from redis.commands.core import AsyncScript, Script

ENV_RATE_LIMIT_URL = "THREEDCART_RATE_LIMIT_URL"
KEY_PREFIX = "threedcart:bucket:v1:"

log = logging.getLogger("threedcart")

# KEYS[1]: the store's bucket. ARGV: interval, tolerance (seconds), and a floor: the caller's
# own bucket, as seconds ahead of now (only after a fallback; -1 otherwise).
# Returns the seconds to wait and the bucket's new level as seconds ahead of now, as strings
# (Redis would truncate a Lua number to an integer).
_GCRA = """
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local floor_ahead = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if floor_ahead >= 0 and tat < now + floor_ahead then tat = now + floor_ahead end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.6f', new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return {string.format('%.6f', wait), string.format('%.6f', new_tat - now)}
"""

# KEYS[1]: the store's bucket. ARGV: interval. Gives back one reserved, unused slot.
_RELEASE = """
local interval = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') - interval
if tat > now then
  redis.call('SET', KEYS[1], string.format('%.6f', tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
end
return 1
"""

_SECRET_QUERY = ("password", "ssl_password")

# Each Redis call gets one immediate retry (a pooled connection gone stale after a restart), no
# backoff: an unreachable Redis costs at most about 2 x timeout before the fallback. The clients
# run no health check: its PING is retried on its own, which would double that cost.
RETRIES = 1


def redact_url(url: str) -> str:
    """The connection string with its password (userinfo or query) replaced by ***."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user, sep, _password = userinfo.partition(":")
            netloc = f"{user}:***@{host}" if sep else f"{userinfo}@{host}"
            if not sep and user:  # redis://SECRET@host: a lone userinfo is the password to redis-py
                netloc = f"***@{host}"
        query = parts.query
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in _SECRET_QUERY for k, _v in pairs):
            query = urlencode([(k, "***" if k.lower() in _SECRET_QUERY else v) for k, v in pairs], safe="*")
        if (netloc, query) == (parts.netloc, parts.query):
            return url  # nothing to hide (and unix:///path keeps its empty host)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<unparseable Redis URL>"


def secrets_of(url: str) -> list[str]:
    """Every password in the URL, raw and decoded, to scrub from text."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
        if "@" in parts.netloc:
            userinfo = parts.netloc.rsplit("@", 1)[0]
            user, sep, password = userinfo.partition(":")
            found.append(password if sep else user)
        found += [v for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_QUERY]
    except ValueError:
        pass
    out: list[str] = []
    for secret in found:
        out += [s for s in {secret, unquote(secret), quote(unquote(secret), safe="")} if s]
    return out


def store_key(secure_url: str, prefix: str = KEY_PREFIX) -> str:
    """The store's bucket key: a hash of its normalised SecureURL, never the URL itself."""
    normal = secure_url.strip().rstrip("/").lower()
    return prefix + hashlib.sha256(normal.encode()).hexdigest()[:32]


def _is_text(value: object) -> bool:
    """A non-blank string (the check of an argument from callers without a type checker)."""
    return isinstance(value, str) and bool(value.strip())


@dataclass(frozen=True)
class _Connector:
    """Makes the Redis clients of a `SharedRateLimit`'s stores (the URL holds the password)."""

    url: str = field(repr=False)
    timeout: float

    def blocking_client(self) -> tuple[redis.Redis, Script]:
        """A new blocking client (thread-safe: a connection pool) and the GCRA script on it."""
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # redis-py leaves from_url's **kwargs (the connection's options) unannotated
        client = redis.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
            self.url,
            retry=Retry(NoBackoff(), RETRIES),
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
        )
        return client, client.register_script(_GCRA)

    def async_client(self) -> tuple[redis.asyncio.Redis, AsyncScript]:
        """A new asyncio client and the GCRA script on it, for the running loop only."""
        import redis.asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # redis-py leaves from_url's **kwargs (the connection's options) unannotated
        client = redis.asyncio.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
            self.url,
            retry=Retry(NoBackoff(), RETRIES),
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
        )
        return client, client.register_script(_GCRA)


class SharedRateLimit:
    """The store's bucket in Redis, shared by every process and machine pointed at it.

    >>> limit = threedcart.SharedRateLimit("redis://redis.internal:6379/0")
    >>> store = threedcart.Store.from_env(rate_limit=limit)

    `limit` is the bucket (default: the documented 50 requests, 2 a second). One key per
    store, named from a hash of its SecureURL. If Redis is unreachable the store falls back
    to its in-process bucket, with one warning, and tries Redis again every `retry_interval`
    seconds. Each Redis call gives up after `timeout` seconds. Needs `redis`, the `redis` extra
    (`pip install '.[redis]'` in a checkout). One `SharedRateLimit` may serve several stores.

    A reservation is one Redis round trip, made by the thread (for `AsyncStore`, awaited by
    the task) about to send the request: well under a millisecond on a nearby Redis, and at
    most about 2 x `timeout` while Redis is unreachable, once per `retry_interval`. The async
    round trip never blocks the event loop: other tasks run while it waits.

    Each store keeps its own Redis connections, closed with the store. `close()` (or, from
    asyncio code, `await aclose()`) closes those of every store this limit serves, at once.
    """

    url: str
    """The Redis URL with its password replaced by ***."""
    limit: RateLimit
    """The store's bucket."""
    retry_interval: float
    """Seconds between attempts to reach Redis again while it is unreachable."""
    timeout: float
    """Seconds after which one Redis call gives up."""
    key_prefix: str
    """The prefix of the bucket keys in Redis."""

    def __init__(
        self,
        url: str,
        limit: RateLimit | None = None,
        *,
        retry_interval: float = 5.0,
        timeout: float = 0.25,
        key_prefix: str = KEY_PREFIX,
    ) -> None:
        if not _is_text(url):
            raise ValueError("SharedRateLimit needs a Redis URL, e.g. redis://host:6379/0")
        self._url = url.strip()
        self.secrets: list[str] = secrets_of(self._url)
        """The URL's password and its encodings: the SDK scrubs them from every message."""
        self.url = redact_url(self._url)
        scheme, sep, _rest = self._url.partition("://")
        if not sep or scheme.lower() not in ("redis", "rediss", "unix"):
            raise ValueError(
                f"SharedRateLimit: expected a redis://, rediss:// or unix:// URL, not {self.url!r}"
            )
        if not retry_interval > 0 or not timeout > 0:
            raise ValueError("SharedRateLimit: retry_interval and timeout must be positive")
        self.limit = limit or RateLimit()
        self.retry_interval = retry_interval
        self.timeout = timeout
        self.key_prefix = key_prefix
        self._throttles: weakref.WeakSet[SharedThrottle] = weakref.WeakSet()
        self._lock = threading.Lock()
        try:
            importlib.import_module("redis")
        except ImportError:
            raise ImportError(
                "SharedRateLimit needs the redis package, from threedcart's redis extra: "
                + install_hint("redis")
            ) from None

    def __repr__(self) -> str:
        return f"SharedRateLimit({self.url!r}, {self.limit!r})"

    def redact(self, text: str) -> str:
        """`text` with this URL's password(s) replaced by ***."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def throttle(self, secure_url: str) -> SharedThrottle:
        """The reserving side for one store (what `Store` uses)."""
        throttle = SharedThrottle(
            self, store_key(secure_url, self.key_prefix), _Connector(self._url, self.timeout)
        )
        with self._lock:
            self._throttles.add(throttle)
        return throttle

    def _served(self) -> list[SharedThrottle]:
        with self._lock:
            return list(self._throttles)

    def close(self) -> None:
        """Close the Redis connections of every store this limit serves: their blocking clients,
        and the asyncio clients of event loops that have ended. Those of a running loop are
        closed by `await aclose()` on that loop (or `AsyncStore.aclose()`).

        Calling it again does nothing more. The limit stays usable: a store that reserves
        afterwards connects again, so closing it while stores still run costs them a new
        connection, never a request.
        """
        for throttle in self._served():
            throttle.close()

    async def aclose(self) -> None:
        """`close()`, and the asyncio clients of every store this limit serves on the running loop."""
        for throttle in self._served():
            throttle.close()
            await throttle.aclose()


class SharedThrottle(Throttle):
    """A `Throttle` whose bucket lives in Redis; its in-process bucket is the fallback."""

    def __init__(
        self,
        shared: SharedRateLimit,
        key: str,
        connector: _Connector,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(shared.limit, clock)
        self.shared = shared
        self.key = key
        self._connector = connector
        self._blocking: tuple[redis.Redis, Script] | None = None  # made on first use
        self._blocking_lock = threading.Lock()
        self._retry_at = 0.0  # monotonic; before this, Redis is not tried
        self._down = False
        self._level = -math.inf  # when the shared bucket, as last seen, empties (on the clock)
        self._state_lock = threading.Lock()
        # asyncio clients, one per event loop (a client cannot outlive or change its loop)
        self._async: dict[asyncio.AbstractEventLoop, tuple[redis.asyncio.Redis, AsyncScript]] = {}
        self._async_lock = threading.Lock()
        self._releases: set[asyncio.Task[object]] = set()  # slots being given back (kept from the GC)

    def __repr__(self) -> str:
        return f"SharedThrottle({self.shared!r}, key={self.key!r})"

    def _plan(self) -> tuple[list[str] | None, float]:
        """(the script's arguments, or None to keep to the local bucket; now, monotonic)."""
        now = self._clock()
        with self._state_lock:
            try_redis = not self._down or now >= self._retry_at
            recovering = self._down
            if recovering and try_redis:  # one caller probes; the others keep to the local bucket
                self._retry_at = now + self.shared.retry_interval
        if not try_redis:
            return None, now
        floor = self._local_ahead(now) if recovering else -1.0
        return [repr(self._interval), repr(self._tolerance), repr(floor)], now

    def reserve(self) -> float:
        """Reserve a slot in the shared bucket (or the local one while Redis is down); seconds to wait."""
        args, now = self._plan()
        if args is not None:
            try:
                _client, script = self._blocking_client()
                answer = script(keys=[self.key], args=args)
                wait, ahead = float(answer[0]), float(answer[1])
            except Exception as exc:  # any Redis failure: never fail the user's job for it
                self._fail(exc, now)
            else:
                self._succeed(ahead, now)
                return wait
        return super().reserve()

    async def areserve(self) -> float:
        """`reserve()` for asyncio code: the Redis round trip is awaited, never blocking the loop."""
        args, now = self._plan()
        if args is not None:
            try:
                script = self._async_script()
                answer = await script(keys=[self.key], args=args)
                wait, ahead = float(answer[0]), float(answer[1])
            except Exception as exc:  # any Redis failure: never fail the user's job for it
                self._fail(exc, now)
            else:
                self._succeed(ahead, now)
                return wait
        return super().reserve()

    def release(self) -> None:
        """Give back a reserved, unused slot: to Redis while it is up (best effort), else locally."""
        if self._down:
            super().release()
            return
        try:
            client, _script = self._blocking_client()
            client.eval(_RELEASE, 1, self.key, repr(self._interval))
        except Exception as exc:  # the slot then drains with time, as any other
            log.debug("threedcart: giving a slot back to Redis: %s", self.shared.redact(str(exc)))

    def arelease(self) -> None:
        """`release()` from asyncio code, while a cancellation unwinds: the Redis call runs as a
        task of its own (awaiting here could be cancelled too)."""
        if self._down:
            super().release()
            return
        try:
            loop = asyncio.get_running_loop()
            with self._async_lock:
                found = self._async.get(loop)
            if found is None:
                return
            task = asyncio.ensure_future(found[0].eval(_RELEASE, 1, self.key, repr(self._interval)))
        except Exception as exc:
            log.debug("threedcart: giving a slot back to Redis: %s", self.shared.redact(str(exc)))
            return
        self._releases.add(task)
        task.add_done_callback(self._released)

    def _released(self, task: asyncio.Task[object]) -> None:
        self._releases.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug(
                "threedcart: giving a slot back to Redis: %s", self.shared.redact(str(task.exception()))
            )

    def _blocking_client(self) -> tuple[redis.Redis, Script]:
        """This store's blocking client and the GCRA script on it, made on first use."""
        with self._blocking_lock:
            if self._blocking is None:
                self._blocking = self._connector.blocking_client()
            return self._blocking

    def _async_script(self) -> AsyncScript:
        """The GCRA script on this store's asyncio client for the running loop, made on first use."""
        loop = asyncio.get_running_loop()
        with self._async_lock:
            found = self._async.get(loop)
            if found is None:
                self._forget_closed_loops()
                found = self._async[loop] = self._connector.async_client()
            return found[1]

    def _forget_closed_loops(self) -> None:
        # A client whose loop has closed cannot be awaited any more; dropping it closes its
        # sockets as it is collected. (Called with _async_lock held.)
        for loop in [loop for loop in self._async if loop.is_closed()]:
            del self._async[loop]

    def close(self) -> None:
        """Close this store's blocking Redis client (`Store.close()`), and forget its asyncio
        clients of loops that have ended. A later reservation connects again."""
        with self._blocking_lock:
            found, self._blocking = self._blocking, None
        with self._async_lock:
            self._forget_closed_loops()
        if found is not None:
            try:
                found[0].close()
            except Exception as exc:  # a connection already broken: nothing left to release
                log.debug("threedcart: closing the Redis client: %s", self.shared.redact(str(exc)))

    async def aclose(self) -> None:
        """Close this store's asyncio Redis client of the running loop (`AsyncStore.aclose()`)."""
        with self._async_lock:
            found = self._async.pop(asyncio.get_running_loop(), None)
            self._forget_closed_loops()
        if found is not None:
            try:
                await found[0].aclose()
            except Exception as exc:  # a connection already broken: nothing left to release
                log.debug("threedcart: closing the Redis client: %s", self.shared.redact(str(exc)))

    def _local_ahead(self, now: float) -> float:
        with self._lock:
            return max(0.0, self._tat - now)

    def _succeed(self, ahead: float, now: float) -> None:
        with self._state_lock:
            was_down = self._down
            self._down = False
            # the shared bucket's level, to start from if Redis goes away; concurrent answers
            # may arrive out of order, so keep the fullest level seen
            self._level = max(self._level, now + ahead)
        if was_down:
            log.info("threedcart: Redis at %s is back: the store's bucket is shared again", self.shared.url)

    def _fail(self, exc: Exception, now: float) -> None:
        with self._state_lock:
            first = not self._down
            self._down = True
            self._retry_at = now + self.shared.retry_interval
            level = self._level
        if not first:
            return
        with self._lock:  # start the local bucket as full as the shared one last was
            self._tat = max(self._tat, level)
        log.warning(
            "threedcart: Redis at %s is unreachable (%s: %s): using this process's own bucket "
            "until it is back (retrying every %gs); several processes may now overflow the store's bucket",
            self.shared.url,
            type(exc).__name__,
            self.shared.redact(str(exc)),
            self.shared.retry_interval,
        )

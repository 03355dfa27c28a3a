"""A client-side leaky bucket, so that a store's requests never overflow the service's."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ._constants import BUCKET_CAPACITY, BUCKET_LEAK_PER_SECOND


@dataclass(frozen=True)
class RateLimit:
    """A leaky bucket: bursts of up to `capacity` requests, then `per_second` requests a second.

    The default is the service's documented bucket (50 requests, 2 per second).
    """

    capacity: int = BUCKET_CAPACITY
    per_second: float = BUCKET_LEAK_PER_SECOND

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"RateLimit capacity must be at least 1, not {self.capacity}")
        if not self.per_second > 0:
            raise ValueError(f"RateLimit per_second must be positive, not {self.per_second}")


class Throttle:
    """The client's copy of the service's bucket, shared by every thread and task of one store.

    A generic cell rate algorithm: each request reserves the earliest moment at which the
    server's bucket will have room for it, and the caller waits until then. Reservations are
    atomic, so callers on several threads or tasks never overfill the bucket together. The
    client keeps one request of headroom, because requests arrive at the server a little
    later than they leave, and not always in the same order.
    """

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._interval = 1.0 / limit.per_second
        self._tolerance = max(0, limit.capacity - 2) * self._interval
        self._tat = -float("inf")  # theoretical arrival time of the next request
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Reserve a slot; the seconds to wait before sending."""
        with self._lock:
            now = self._clock()
            tat = max(self._tat, now)
            wait = max(0.0, tat - self._tolerance - now)
            self._tat = tat + self._interval
            return wait

    async def areserve(self) -> float:
        """`reserve()` for asyncio code: the in-process bucket never waits on I/O, so this never blocks."""
        return self.reserve()

    def release(self) -> None:
        """Give back a slot reserved and never used (its caller was cancelled while waiting for it).

        The bucket's level drops by one request; later reservations keep the waits they were
        given, so giving a slot back never lets more requests through than the bucket allows.
        """
        with self._lock:
            self._tat -= self._interval

    def arelease(self) -> None:
        """`release()` from asyncio code (called while a cancellation unwinds: it never awaits)."""
        self.release()

    def close(self) -> None:
        """Release what the blocking path holds (nothing, here); `Store.close()` calls it."""

    async def aclose(self) -> None:
        """Release what the async path holds on the running event loop (nothing, here)."""

"""The store's clock: the time the mock stamps on writes and sends in every `Date` header.

By default it is the real time. With a start instant and a speed it runs from that instant,
`speed` store seconds per real second (`start + elapsed_monotonic * speed`), so that a test
can put the store in the repeated hour of a DST fall-back night, or make hours pass in seconds.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

STORE_TZ = ZoneInfo("America/New_York")
DB_TIME = "%Y-%m-%d %H:%M:%S"

# A running clock stops here rather than overflowing `datetime` (which would fail every request).
_LAST_INSTANT = datetime(9999, 12, 30, tzinfo=UTC)
# The starts accepted: store stamps and IMF-fixdates need four-digit years, and a fast clock
# started late would soon reach the end of time.
EARLIEST_START = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_START = datetime(8999, 12, 31, 23, 59, 59, tzinfo=UTC)


class StoreClock:
    """Aware UTC instants: real time, or `start + (monotonic() - started) * speed`."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        if start is not None and start.utcoffset() is None:
            raise ValueError("the clock's start must be an aware instant (with a time zone)")
        if not math.isfinite(speed) or speed < 0:
            raise ValueError("the clock's speed must be a finite number >= 0")
        self.speed = speed
        # Without a start, at speed 1, follow the wall clock itself (as a real server does).
        self._real = start is None and speed == 1.0
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._started = time.monotonic()
        self._http_second: int | None = None  # no second is cached yet (-1 is one: 1969-12-31T23:59:59Z)
        self._http_date = b""

    def now(self) -> datetime:
        if self._real:
            return datetime.now(UTC)
        elapsed = (time.monotonic() - self._started) * self.speed
        try:
            return min(self._start + timedelta(seconds=elapsed), _LAST_INSTANT)
        except OverflowError:
            return _LAST_INSTANT

    def store_stamp(self) -> str:
        """Now in the store's time zone (US Eastern local time, naive), as the database keeps it."""
        return self.now().astimezone(STORE_TZ).strftime(DB_TIME)

    def http_date(self) -> bytes:
        """Now as an HTTP `Date` value (RFC 7231 IMF-fixdate), e.g. `Sun, 01 Nov 2026 05:20:00 GMT`."""
        now = self.now()
        second = int(now.timestamp())
        if second != self._http_second:
            self._http_date = format_datetime(now.replace(microsecond=0), usegmt=True).encode("ascii")
            self._http_second = second
        return self._http_date

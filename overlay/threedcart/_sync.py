"""Incremental sync: the customers updated in a window of the store's clock, proven complete. No I/O.

The store stamps each customer with its last update in US Eastern local time, to the
second, and filters on that stamp with an inclusive `lastupdatestart`/`lastupdateend`
range. A sync run exports the window `[since, until]` of instants, where `since` is the
previous run's watermark and `until` is the store's own clock (the `Date` header of its
answer) minus a lag of at least a second for writes in flight; the next run starts at
`until` again (windows share their last second: the filters count whole seconds).

Three things make this exact:

- **The store's clock, not the client's.** A client clock ahead of the store's would close
  windows over seconds the store has not lived yet, and the writes of those seconds would
  fall behind the next watermark.
- **Instants, not wall-clock times.** The watermark is an aware instant (stored with its UTC
  offset). On the night the clocks fall back, local times 01:00:00–01:59:59 happen twice;
  a stamp in that hour is ambiguous, so a window touching it asks for the whole range of
  local times its instants can carry. Consecutive windows may then overlap (a customer can
  come twice across runs), never leave a gap.
- **A checked window.** The records of a closed window can only leave it while it is read
  (an update moves a stamp past `until`, a delete removes it), and the paging planner
  yields every record that stays. So once read, the window is counted again: a count above
  the records that reading found means records arrived late, and the window is read again,
  up to `max_passes` times. A run whose window keeps counting more says so, and its
  watermark must not move. (A safety net for writes later than the lag, not a proof.)

The store's clock is trusted only as far as this machine's agrees with it:

- **A sane clock.** The store's `Date` is compared with this machine's clock. A difference of
  more than `max_clock_skew` seconds (say `Date: ... 2099`) refuses the run: nothing is read
  and the watermark stays, because a watermark from a clock that far off skips updates (or
  closes windows over seconds the store has not lived). Within the tolerance the window closes
  at the earlier of the two clocks, so a watermark never runs ahead of this machine's clock and
  a fast store clock that is later set right cannot hide the updates it then stamps.
- **A clock that went back.** A store clock behind the watermark means it went back (or the
  watermark came from a clock that was ahead): updates it stamps now carry times before the
  watermark. The run then re-reads from the earlier instant, the store's clock less the
  tolerance (every run checked the store within the tolerance of this machine, so the clock
  cannot have gone back further), or from the beginning when it is further behind than
  that; the watermark moves back with it. Nothing after the old watermark is skipped.
- **An unreadable `Date`** (or none) falls back to this machine's clock, with a warning.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime

from ._pagination import SeenIds
from ._params import STORE_TIME_FORMAT, UPDATED_SINCE, UPDATED_UNTIL

log = logging.getLogger("threedcart")

SECOND = timedelta(seconds=1)
_MAX_DST_SHIFT = timedelta(hours=2)  # no zone moves its clocks back by more than this
DEFAULT_LAG = 2.0
MIN_LAG = 1.0
DEFAULT_MAX_PASSES = 3
DEFAULT_MAX_CLOCK_SKEW = 300.0  # seconds the store's Date may differ from this machine's clock


def _check_lag(lag: float) -> None:
    # The Date header counts whole seconds: with less than a second of lag, the window's last
    # second could still be running on the store when it is read.
    if not lag >= MIN_LAG:
        raise ValueError(f"lag must be at least {MIN_LAG:g} second, not {lag}")


def _check_skew(max_clock_skew: float | None) -> float | None:
    # Below a second the whole-second Date header alone would refuse runs; inf means "never compare".
    if max_clock_skew is None or max_clock_skew == math.inf:
        return None
    if not max_clock_skew >= MIN_LAG:
        raise ValueError(
            f"max_clock_skew must be at least {MIN_LAG:g} second (or None: trust the store's clock), "
            f"not {max_clock_skew}"
        )
    return float(max_clock_skew)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def http_date(value: str | None) -> datetime | None:
    """An HTTP `Date` value as an aware UTC instant; None when absent or unreadable (a zone is required)."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def _span(delta: timedelta) -> str:
    """A duration for people: `45 s`, `12.5 min`, `3.0 h`, `26,325 days`."""
    seconds = abs(delta.total_seconds())
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.0f} days"


def _shown(header: str) -> str:
    """A header value for a log line: quoted with escapes, and short."""
    return repr(header if len(header) <= 60 else header[:57] + "...")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _local(moment: datetime, tz: tzinfo) -> datetime:
    """The store's wall-clock reading (naive) at this instant."""
    return moment.astimezone(tz).replace(tzinfo=None)


def _fall_back(start: datetime, end: datetime, tz: tzinfo) -> datetime | None:
    """The first instant in (start, end] after the store's clock fell back, if it did (end - start <= 2 h)."""
    before, after = start.astimezone(tz).utcoffset(), end.astimezone(tz).utcoffset()
    if before is None or after is None or after >= before:
        return None
    lo, hi = 0, int((end - start).total_seconds())  # whole seconds after start: old offset at lo, new at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if (start + mid * SECOND).astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return start + hi * SECOND


def local_range(since: datetime | None, until: datetime, tz: tzinfo) -> tuple[datetime | None, datetime]:
    """The store-local times (naive, inclusive) that the instants of `[since, until]` (UTC) can carry.

    Outside a fall-back night this is just the two ends in local time. Across it, local time
    runs back by an hour, so the range widens to cover both readings of the repeated hour.
    """
    high = _local(until, tz)
    back = _fall_back(
        until - _MAX_DST_SHIFT if since is None else max(since, until - _MAX_DST_SHIFT), until, tz
    )
    if back is not None:
        high = max(high, _local(back - SECOND, tz))
    if since is None:
        return None, high
    low = _local(since, tz)
    back = _fall_back(since, min(since + _MAX_DST_SHIFT, until), tz)
    if back is not None:
        low = min(low, _local(back, tz))
    return low, high


@dataclass(frozen=True)
class SyncWindow:
    """The instants one sync run covers, inclusive (in UTC), and the store-local range it asks for."""

    since: datetime | None
    """The first instant (aware), or None for everything up to `until`."""
    until: datetime
    """The last instant (aware): the store's clock minus the lag."""
    local_start: datetime | None
    """`lastupdatestart` as sent (naive store time)."""
    local_end: datetime
    """`lastupdateend` as sent (naive store time)."""
    reaches_ahead: bool = False
    """The local range runs past `until`'s own local time: on a fall-back night the second
    01:xx keeps stamping customers into it while it is read (they belong to later windows too)."""

    @property
    def next_since(self) -> datetime:
        """Where the next window starts: at `until` again, so that consecutive windows share one
        second (the API's filters count whole seconds; a store keeping fractions of a second would
        otherwise fall between two windows)."""
        return self.until

    def filters(self) -> dict[str, datetime]:
        """The SDK filters that ask for this window (naive datetimes are taken as store time)."""
        out = {UPDATED_UNTIL: self.local_end}
        if self.local_start is not None:
            out[UPDATED_SINCE] = self.local_start
        return out

    def describe(self) -> str:
        """The window as text: `[since, until]`, `since` reading "the beginning" on a first run."""
        start = "the beginning" if self.since is None else self.since.isoformat()
        return f"[{start}, {self.until.isoformat()}]"


def plan_window(since: datetime | None, store_now: datetime, lag: float, tz: tzinfo) -> SyncWindow | None:
    """The window a run started at `store_now` covers; None when it would be empty (nothing to sync yet)."""
    if since is not None and since.tzinfo is None:
        raise ValueError("since must be an aware datetime (a watermark with its UTC offset)")
    if store_now.tzinfo is None:
        raise ValueError("store_now must be an aware datetime")
    _check_lag(lag)
    # Aware datetimes of one zone compare and add as wall-clock times, blind to the repeated
    # hour: all arithmetic here is done in UTC.
    until = (store_now.astimezone(UTC) - timedelta(seconds=lag)).replace(microsecond=0)
    since = None if since is None else since.astimezone(UTC)
    if since is not None and until < since:
        return None
    low, high = local_range(since, until, tz)
    return SyncWindow(since, until, low, high, reaches_ahead=high > _local(until, tz))


def parse_watermark(text: str, tz: tzinfo) -> datetime:
    """A stored watermark (as a UTC instant): ISO 8601 with its UTC offset, or (older state files) store-local
    `MM/DD/YYYY HH:MM:SS`, read as the earlier of two possible instants so that nothing is skipped.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.strptime(text, STORE_TIME_FORMAT)
        except ValueError:
            raise ValueError(
                f"{text!r} is not a watermark (ISO 8601 with a UTC offset, e.g. 2026-11-01T01:30:00-04:00)"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz, fold=0)
    return moment.astimezone(UTC)


class SyncCore:
    """One sync run's decisions: its window, which records are new to it, and whether it is complete.

    The driver calls `begin()` with the `Date` of the store's first answer, reads the window
    with the paging planner passing each record's id to `accept()`, counts the window again
    and hands the count to `end_pass()`, which says whether to read it once more.

    `clock` is this machine's clock (aware; default: the system's); `max_clock_skew` the seconds
    the store's may differ from it (None: trust the store's clock, never compare);
    `last_clock_skew` the `clock_skew` of the run that left the watermark `since`, if known.
    """

    def __init__(
        self,
        since: datetime | None,
        *,
        tz: tzinfo,
        lag: float = DEFAULT_LAG,
        max_passes: int = DEFAULT_MAX_PASSES,
        clock: Callable[[], datetime] | None = None,
        max_clock_skew: float | None = None,
        last_clock_skew: timedelta | None = None,
    ) -> None:
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be an aware datetime (a watermark with its UTC offset)")
        _check_lag(lag)
        self.max_clock_skew: float | None = _check_skew(max_clock_skew)
        self.last_clock_skew = last_clock_skew
        since = None if since is None else since.astimezone(UTC)
        if max_passes < 1:
            raise ValueError(f"max_passes must be at least 1, not {max_passes}")
        self.since = since
        self.tz = tz
        self.lag = lag
        self.max_passes = max_passes
        self.clock: Callable[[], datetime] = _utc_now if clock is None else clock
        self.window: SyncWindow | None = None
        self.clock_source: str = ""
        self.clock_skew: timedelta | None = None
        """The store's clock less this machine's, when the store sent a readable Date."""
        self.rewound_from: datetime | None = None
        """The watermark this run re-read before, because the store's clock was behind it."""
        self.passes: int = 0
        self.complete: bool | None = None
        self.reason: str = ""
        self.last_count: int | None = None
        # 8 bytes an id while ids come in increasing order (a set of ints takes about 60): a
        # mirror of a million customers holds two of these
        self._ids = SeenIds()
        self._pass_ids = SeenIds()
        self._no_id = 0
        self._all_no_id = 0

    @property
    def exported(self) -> int:
        """Distinct records accepted so far."""
        return len(self._ids) + self._all_no_id

    def begin(self, store_time: datetime | str | None) -> SyncWindow | None:
        """Fix the window from the store's clock: its `Date` header as sent (a str; None when absent)
        or already read (a datetime). None: nothing to read, because there is nothing to sync yet
        (`complete` is True) or because the store's clock is not sane (`complete` is False, see `reason`).
        """
        client_now = self.clock().astimezone()  # aware (a naive clock reads as local time); any zone will do
        if isinstance(store_time, str):
            header, store_time = store_time, http_date(store_time)
        else:
            header = None
        tolerance = self.max_clock_skew
        if store_time is None:
            self.clock_source = "client"
            now = reading = client_now
            if header is None:
                log.warning(
                    "the store's answer had no Date header: the sync window closes on this machine's clock, "
                    "which may differ from the store's"
                )
            else:
                log.warning(
                    "the store's answer had an unreadable Date header (%s): the sync window closes on this "
                    "machine's clock, which may differ from the store's",
                    _shown(header),
                )
        elif store_time.tzinfo is None:
            raise ValueError("store_time must be an aware datetime")
        else:
            self.clock_source = "store"
            reading = store_time  # aware: compared and subtracted as an instant, shown in UTC
            skew = self.clock_skew = reading - client_now
            if tolerance is not None and abs(skew) > timedelta(seconds=tolerance):
                self.complete = False
                direction = "ahead of" if skew > timedelta(0) else "behind"
                self.reason = (
                    f"the store's clock ({_stamp(reading)}, its Date header) is {_span(skew)} {direction} "
                    f"this machine's ({_stamp(client_now)}), more than the {tolerance:g} s max_clock_skew "
                    "allows: one of the two clocks is wrong, and a watermark from it could skip updates; "
                    "nothing was read"
                )
                return None
            # Within the tolerance, the earlier clock closes the window: never a second the store
            # has not lived, and never a watermark ahead of this machine's clock.
            now = reading if tolerance is None else min(reading, client_now)
        since = self.since
        if since is not None and reading < since:
            since = self._rewind(since, reading, now)
        elif since is not None:
            since = self._step_back(since)
        self.window = plan_window(since, now, self.lag, self.tz)
        if self.window is None:
            self.complete = True  # nothing to read; the watermark stays
        return self.window

    def _rewind(self, since: datetime, reading: datetime, now: datetime) -> datetime | None:
        """Where a run starts whose clock reads `reading`, before the watermark `since`."""
        # The clock that stamps updates went back past the watermark (or the watermark came from a
        # clock that was ahead): whatever it stamped since then carries times before the watermark.
        tolerance = self.max_clock_skew
        self.rewound_from = since
        if tolerance is not None and since - reading <= timedelta(seconds=tolerance):
            # Every run found the store within the tolerance of this machine's clock and took the
            # earlier of the two: the store's clock cannot have gone back further than that.
            earliest = (now - timedelta(seconds=self.lag + tolerance)).replace(microsecond=0)
            start: datetime | None = earliest
            where = f"from {_stamp(earliest)} (its clock less max_clock_skew)"
        else:
            start = None
            where = "from the beginning (how far it went back cannot be bounded)"
        log.warning(
            "%s (%s) is %s behind the watermark (%s): it went back, or the watermark came from a "
            "clock that was ahead, and updates stamped since may carry earlier times; re-reading %s",
            "the store's clock" if self.clock_source == "store" else "this machine's clock",
            _stamp(reading),
            _span(since - reading),
            _stamp(since),
            where,
        )
        return start

    def _step_back(self, since: datetime) -> datetime:
        """Where a run starts whose store clock stepped back against this machine's since the last run."""
        last, skew = self.last_clock_skew, self.clock_skew
        if last is None or skew is None:
            return since
        # The last run read the store's clock at this machine's c1, with skew `last`, and left
        # since <= min(c1 + last, c1) - lag (c1 + last - lag when trusting the store's clock). An
        # update after it, stamped at this machine's t >= c1 with the skew now seen, carries
        # t + skew >= since + lag + skew - min(last, 0) (or - last).
        closed_by = last if self.max_clock_skew is None else min(last, timedelta(0))
        start = (since + timedelta(seconds=self.lag) + skew - closed_by).replace(microsecond=0)
        if start >= since:
            return since
        self.rewound_from = since
        log.log(
            logging.WARNING if since - start > 2 * SECOND else logging.INFO,
            "the store's clock stepped back %s against this machine's since the last run (from %+g s to "
            "%+g s): updates stamped since may carry times before the watermark (%s); re-reading from %s",
            _span(last - skew),
            last.total_seconds(),
            skew.total_seconds(),
            _stamp(since),
            _stamp(start),
        )
        return start

    def accept(self, key: int | None) -> bool:
        """Whether a record read in this run is new to it (ids repeat across passes)."""
        if key is None:
            self._no_id += 1
            self._all_no_id += 1
            return True
        self._pass_ids.add(key)
        return self._ids.add(key)

    def end_pass(self, count: int) -> bool:
        """After reading the window once: True to read it again, False when the run is decided.

        The window's own records only leave it while it is read, so a count above the records
        this reading found means records arrived late (or, on a fall-back night, were stamped
        into the repeated hour): read again. A safety net, not a proof: a late record can hide
        behind one that left.
        """
        self.passes += 1
        self.last_count = count
        found = len(self._pass_ids) + self._no_id
        self._pass_ids = SeenIds()
        self._no_id = 0
        if count <= found:
            self.complete = True
            return False
        if self.window is not None and self.window.reaches_ahead:
            # Customers updated later in the repeated hour are stamped into this window while it
            # is read; they are real updates after `until`, which the next windows read again.
            log.info(
                "sync window %s covers the repeated hour of a fall-back night: %d customers were "
                "stamped into it while it was read; later runs pick them up",
                self.window.describe(),
                count - found,
            )
            self.complete = True
            return False
        if self.passes < self.max_passes:
            log.info(
                "sync window %s counts %d customers but %d were read: reading it again",
                self.window.describe() if self.window else "?",
                count,
                found,
            )
            return True
        self.complete = False
        self.reason = (
            f"the window still counts {count} customers after {self.passes} reading(s), "
            f"but the last reading found {found}"
        )
        return False

    @property
    def next_since(self) -> datetime | None:
        """The watermark to store after a complete run (None: keep the old one)."""
        if not self.complete:
            return None
        return self.since if self.window is None else self.window.next_since

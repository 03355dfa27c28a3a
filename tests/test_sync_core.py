"""The sync core without I/O: windows on the store's clock, the DST fall-back night, completeness."""

from __future__ import annotations

import logging
import math
import random
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from threedcart._sync import SyncCore, _span, http_date, local_range, parse_watermark, plan_window

EASTERN = ZoneInfo("America/New_York")
FALL_BACK = datetime(2026, 11, 1, 6, 0, 0, tzinfo=UTC)  # 02:00 EDT becomes 01:00 EST


def utc(h: int, m: int = 0, s: int = 0) -> datetime:
    return datetime(2026, 11, 1, h, m, s, tzinfo=UTC)


def naive(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        # an ordinary window is its two ends in local time
        (utc(3, 0), utc(4, 0), ("2026-10-31 23:00:00", "2026-11-01 00:00:00")),
        # touching the repeated hour from before: both readings of 01:00-01:59:59 are covered
        (utc(5, 30), utc(6, 10), ("2026-11-01 01:00:00", "2026-11-01 01:59:59")),
        (utc(4, 50), utc(6, 0, 0), ("2026-11-01 00:50:00", "2026-11-01 01:59:59")),
        # within the second reading only
        (utc(6, 10), utc(6, 20), ("2026-11-01 01:10:00", "2026-11-01 01:20:00")),
        # within the first reading only, the window's end does not see the fold
        (utc(5, 10), utc(5, 20), ("2026-11-01 01:10:00", "2026-11-01 01:20:00")),
        # a long window across the night needs no widening
        (utc(0, 0), utc(12, 0), ("2026-10-31 20:00:00", "2026-11-01 07:00:00")),
    ],
)
def test_local_range_covers_both_readings_of_the_repeated_hour(
    since: datetime, until: datetime, expected: tuple[str, str]
) -> None:
    low, high = local_range(since, until, EASTERN)
    assert (low, high) == (naive(expected[0]), naive(expected[1]))


def test_a_first_window_has_no_start_and_still_widens_its_end() -> None:
    assert local_range(None, utc(6, 10), EASTERN) == (None, naive("2026-11-01 01:59:59"))


def test_the_window_closes_on_the_store_clock_minus_the_lag() -> None:
    window = plan_window(utc(5, 0), utc(5, 10, 30), 2.5, EASTERN)
    assert window is not None
    assert window.until == utc(5, 10, 27)
    assert window.next_since == utc(5, 10, 27)  # windows share their last second
    assert window.filters() == {
        "updated_since": naive("2026-11-01 01:00:00"),
        "updated_until": naive("2026-11-01 01:10:27"),
    }
    assert plan_window(utc(5, 10, 29), utc(5, 10, 30), 2, EASTERN) is None  # nothing to sync yet
    assert not window.reaches_ahead
    with pytest.raises(ValueError, match="aware"):
        plan_window(datetime(2026, 11, 1), utc(5), 2, EASTERN)
    for lag in (-1, 0, 0.5, float("nan")):
        with pytest.raises(ValueError, match="lag must be at least 1 second"):
            plan_window(None, utc(5), lag, EASTERN)


def test_the_watermark_keeps_its_offset_through_the_repeated_hour() -> None:
    first = plan_window(None, utc(5, 30, 1), 1, EASTERN)
    second = plan_window(None, utc(6, 30, 1), 1, EASTERN)
    assert first is not None and second is not None
    # the same wall-clock time, an hour apart, told apart by the offset
    assert first.until.astimezone(EASTERN).isoformat() == "2026-11-01T01:30:00-04:00"
    assert second.until.astimezone(EASTERN).isoformat() == "2026-11-01T01:30:00-05:00"
    assert parse_watermark(second.until.astimezone(EASTERN).isoformat(), EASTERN) == utc(6, 30)
    # the second after the first 01:59:59 is the second 01:00:00, not 02:00:00
    last_edt = plan_window(None, utc(6, 0, 0), 1, EASTERN)
    assert last_edt is not None and last_edt.until + timedelta(seconds=1) == utc(6, 0, 0) == FALL_BACK
    assert last_edt.local_end == naive("2026-11-01 01:59:59") and not last_edt.reaches_ahead
    # a window that ends in the second 01:xx asks up to 01:59:59, ahead of its own end
    crossing = plan_window(utc(5, 30), utc(6, 10, 1), 1, EASTERN)
    assert crossing is not None and crossing.reaches_ahead


def test_older_state_files_are_read_as_the_earlier_instant() -> None:
    assert parse_watermark("11/01/2026 01:30:00", EASTERN) == utc(5, 30)  # EDT, the first reading
    assert parse_watermark("2026-11-01T01:30:00Z", EASTERN) == utc(1, 30)
    with pytest.raises(ValueError, match="not a watermark"):
        parse_watermark("yesterday", EASTERN)


def test_the_store_clock_is_used_and_a_missing_date_falls_back_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client_clock = utc(9, 0)  # an hour ahead of the store
    core = SyncCore(utc(7, 0), tz=EASTERN, lag=2, clock=lambda: client_clock)
    window = core.begin(utc(8, 0))
    assert window is not None and window.until == utc(7, 59, 58) and core.clock_source == "store"
    with caplog.at_level(logging.WARNING, logger="threedcart"):
        fallback = SyncCore(utc(7, 0), tz=EASTERN, lag=2, clock=lambda: client_clock).begin(None)
    assert fallback is not None and fallback.until == utc(8, 59, 58)
    assert any("no Date header" in r.getMessage() for r in caplog.records)


def test_a_window_is_read_again_until_its_count_is_covered() -> None:
    core = SyncCore(None, tz=EASTERN, max_passes=3)
    core.begin(utc(8))
    assert [core.accept(i) for i in (1, 2, 3, 2)] == [True, True, True, False]
    assert core.end_pass(4) is True  # a fourth arrived late: read again
    assert core.accept(4) and not core.accept(1)
    assert core.end_pass(4) is True  # this reading found 2 of the 4 counted: again
    assert [core.accept(i) for i in (1, 2, 3, 4)] == [False] * 4
    assert core.end_pass(4) is False and core.complete is True and core.passes == 3
    assert core.next_since == utc(7, 59, 58) and core.exported == 4


def test_a_run_of_increasing_ids_is_held_in_8_bytes_an_id() -> None:
    # a mirror of a million customers holds what its sync run accepted: a set of ints would take
    # about 60 bytes an id for the run and as much again for the pass (120 MB), this 16
    core = SyncCore(None, tz=EASTERN)
    core.begin(utc(8))
    tracemalloc.start()
    try:
        assert all(core.accept(i) for i in range(1, 200_001))
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 200_000 * 2 * 8 * 1.5  # two arrays of 8-byte ids, with their growth margin
    assert core.exported == 200_000 and not core.accept(150_000) and core.end_pass(200_000) is False


def test_a_late_record_hidden_by_one_that_left_is_caught_by_the_reading_not_the_total() -> None:
    # A and B read; B leaves and late C arrives: the count (2) equals what was exported (2),
    # but this reading found 2 only because B was read before leaving. Reading again finds C.
    core = SyncCore(None, tz=EASTERN)
    core.begin(utc(8))
    core.accept(1)
    core.accept(2)
    assert core.end_pass(2) is False  # the first reading cannot tell: a safety net, not a proof
    core = SyncCore(None, tz=EASTERN)
    core.begin(utc(8))
    core.accept(1)
    assert core.end_pass(2) is True


def test_a_window_that_cannot_be_proven_leaves_the_watermark() -> None:
    core = SyncCore(utc(1), tz=EASTERN, max_passes=2)
    core.begin(utc(8))
    core.accept(1)
    assert core.end_pass(5) is True
    assert core.end_pass(5) is False
    assert core.complete is False and core.next_since is None
    assert (
        core.reason == "the window still counts 5 customers after 2 reading(s), but the last reading found 0"
    )


def test_nothing_to_sync_is_complete_and_keeps_the_watermark() -> None:
    core = SyncCore(utc(8), tz=EASTERN)
    assert core.begin(utc(8)) is None
    assert core.complete is True and core.next_since == utc(8)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"lag": 0.5}, "lag"), ({"max_passes": 0}, "max_passes"), ({"since": datetime(2026, 1, 1)}, "aware")],
)
def test_core_arguments_are_checked(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"since": None, "tz": EASTERN, **kwargs}
    with pytest.raises(ValueError, match=message):
        SyncCore(**args)  # type: ignore[arg-type]


# --- a whole fall-back night, simulated -------------------------------------------------------
def simulate_night(
    ranger: Callable[[datetime | None, datetime, tzinfo], tuple[datetime | None, datetime]],
) -> list[str]:
    """Syncs every 7 minutes through the night while customers are updated every few seconds.

    The store stamps updates in naive local time (ambiguous in the repeated hour) and filters on
    them; each run sees the store at its own instant. Returns what was lost.
    """
    rng = random.Random(11)
    stamps: dict[int, datetime] = {}  # id -> naive local stamp of its last update
    versions: dict[int, int] = dict.fromkeys(range(1, 41), 0)
    history: list[tuple[datetime, int, int]] = []  # (instant, id, version)
    exported: dict[int, int] = {}
    since: datetime | None = None
    clock = utc(4, 0)
    next_sync = clock + timedelta(minutes=7)
    lost: list[str] = []
    while clock < utc(8, 30):
        clock += timedelta(seconds=rng.randint(1, 9))
        if clock >= next_sync:  # a sync run at this instant
            core = SyncCore(since, tz=EASTERN, lag=2)
            window = core.begin(clock)
            assert window is not None
            low, high = ranger(window.since, window.until, EASTERN)
            matching = [i for i, s in stamps.items() if (low is None or low <= s) and s <= high]
            for customer_id in matching:
                if core.accept(customer_id):
                    exported[customer_id] = versions[customer_id]
            assert core.end_pass(len(matching)) is False
            # every update the window closed over, unless overwritten since (then a later run has it)
            for instant, customer_id, version in history:
                current = version == versions[customer_id]
                if current and instant <= window.until and exported.get(customer_id, -1) < version:
                    lost.append(f"#{customer_id} v{version} at {instant:%H:%M:%S}Z")
            since = core.next_since
            assert since is not None
            next_sync = clock + timedelta(minutes=7)
        if clock > utc(8, 15):
            continue  # the writers stop; the last runs must hold every final version
        customer_id = rng.randint(1, 40)
        versions[customer_id] += 1
        stamps[customer_id] = clock.astimezone(EASTERN).replace(tzinfo=None)
        history.append((clock, customer_id, versions[customer_id]))
    assert all(exported.get(i, 0) == v for i, v in versions.items() if v), "a final version is missing"
    return sorted(set(lost))


def test_a_fall_back_night_loses_nothing() -> None:
    assert simulate_night(local_range) == []


def test_the_night_simulation_catches_a_naive_window() -> None:
    def naive_range(since: datetime | None, until: datetime, tz: tzinfo) -> tuple[datetime | None, datetime]:
        to_local: Callable[[datetime], datetime] = lambda t: t.astimezone(tz).replace(tzinfo=None)  # noqa: E731
        return (None if since is None else to_local(since)), to_local(until)

    assert simulate_night(naive_range), "the simulation did not exercise the repeated hour"


# --- clock sanity: this machine's clock referees the store's --------------------------------
def machine(at: datetime) -> Callable[[], datetime]:
    return lambda: at


def test_a_store_date_beyond_the_tolerance_refuses_the_run_and_reads_nothing() -> None:
    here = datetime(2026, 12, 4, 23, 0, 0, 250_000, tzinfo=UTC)
    core = SyncCore(utc(7), tz=EASTERN, clock=machine(here), max_clock_skew=300)
    assert core.begin("Thu, 01 Jan 2099 00:00:00 GMT") is None
    assert core.complete is False and core.next_since is None and core.window is None
    assert core.clock_source == "store" and core.clock_skew is not None and core.clock_skew.days == 26325
    assert core.reason == (
        "the store's clock (2099-01-01T00:00:00+00:00, its Date header) is 26,325 days ahead of this "
        "machine's (2026-12-04T23:00:00+00:00), more than the 300 s max_clock_skew allows: one of the two "
        "clocks is wrong, and a watermark from it could skip updates; nothing was read"
    )
    behind = SyncCore(None, tz=EASTERN, clock=machine(here), max_clock_skew=300)
    assert behind.begin(here - timedelta(hours=3)) is None and behind.complete is False
    assert "is 3.0 h behind this machine's" in behind.reason


def test_the_tolerance_is_inclusive_and_checked_both_ways() -> None:
    here = utc(12)
    for skew, refused in [(300, False), (301, True), (-300, False), (-301, True), (0, False)]:
        core = SyncCore(None, tz=EASTERN, clock=machine(here), max_clock_skew=300)
        window = core.begin(here + timedelta(seconds=skew))
        assert (window is None) is refused and core.complete is (False if refused else None), skew
        assert core.clock_skew == timedelta(seconds=skew)


def test_within_the_tolerance_the_earlier_clock_closes_the_window() -> None:
    here = utc(12, 0, 0)
    ahead = SyncCore(utc(11), tz=EASTERN, lag=2, clock=machine(here), max_clock_skew=300)
    window = ahead.begin(utc(12, 4, 0))  # the store 4 minutes fast: the watermark follows this machine
    assert window is not None and window.until == utc(11, 59, 58) and ahead.clock_source == "store"
    behind = SyncCore(utc(11), tz=EASTERN, lag=2, clock=machine(here), max_clock_skew=300)
    window = behind.begin(utc(11, 56, 0))  # the store 4 minutes slow: its own clock, as always
    assert window is not None and window.until == utc(11, 55, 58)
    trusting = SyncCore(utc(11), tz=EASTERN, lag=2, clock=machine(here))  # None: never compare
    window = trusting.begin(utc(12, 4, 0))
    assert window is not None and window.until == utc(12, 3, 58) and trusting.complete is None


def test_a_store_clock_behind_the_watermark_rereads_from_the_earlier_instant(
    caplog: pytest.LogCaptureFixture,
) -> None:
    here = utc(
        12,
        0,
        0,
    )
    watermark = utc(12, 1, 40)  # from a run whose clock was ahead
    core = SyncCore(watermark, tz=EASTERN, lag=2, clock=machine(here), max_clock_skew=300)
    with caplog.at_level(logging.WARNING, logger="threedcart"):
        window = core.begin(
            utc(
                11,
                59,
                59,
            )
        )
    # from the store's clock less the lag and the tolerance, not from the watermark
    assert window is not None and window.since == utc(11, 54, 57) and window.until == utc(11, 59, 57)
    assert core.rewound_from == watermark
    assert [r.getMessage() for r in caplog.records] == [
        "the store's clock (2026-11-01T11:59:59+00:00) is 101 s behind the watermark "
        "(2026-11-01T12:01:40+00:00): it went back, or the watermark came from a clock that was ahead, and "
        "updates stamped since may carry earlier times; re-reading from 2026-11-01T11:54:57+00:00 (its "
        "clock less max_clock_skew)"
    ]
    assert core.end_pass(0) is False and core.complete is True
    assert core.next_since == utc(11, 59, 57)  # the watermark moves back with the clock


def test_a_clock_further_behind_than_the_tolerance_rereads_everything(
    caplog: pytest.LogCaptureFixture,
) -> None:
    here = utc(12)
    for tolerance in (300, None):
        core = SyncCore(utc(15), tz=EASTERN, lag=2, clock=machine(here), max_clock_skew=tolerance)
        with caplog.at_level(logging.WARNING, logger="threedcart"):
            window = core.begin(here)
        assert window is not None and window.since is None and window.until == utc(11, 59, 58)
        assert core.rewound_from == utc(15)
        assert (
            caplog.records[-1]
            .getMessage()
            .endswith(
                "is 3.0 h behind the watermark (2026-11-01T15:00:00+00:00): it went back, or the watermark "
                "came from a clock that was ahead, and updates stamped since may carry earlier times; "
                "re-reading from the beginning (how far it went back cannot be bounded)"
            )
        )


def test_a_watermark_within_the_lag_is_nothing_to_sync_yet_not_a_clock_that_went_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="threedcart"):
        for store_now in (utc(8), utc(8, 0, 1)):
            core = SyncCore(utc(8), tz=EASTERN, lag=2, clock=machine(store_now), max_clock_skew=300)
            assert core.begin(store_now) is None and core.complete is True and core.next_since == utc(8)
            assert core.rewound_from is None
    assert caplog.records == []


def test_without_a_readable_date_this_machines_clock_is_used_and_the_warning_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    here = utc(9, 0, 0)
    for header, message in [
        (None, "the store's answer had no Date header: "),
        ("", "the store's answer had an unreadable Date header (''): "),
        ("soon", "the store's answer had an unreadable Date header ('soon'): "),
        ("Sun, 01 Mar 2026 12:00:00 -0000", "the store's answer had an unreadable Date header ("),
        (
            "\x1b[2J" + "x" * 100,
            "the store's answer had an unreadable Date header ('\\x1b[2J" + "x" * 53 + "...'): ",
        ),
    ]:
        caplog.clear()
        core = SyncCore(utc(7), tz=EASTERN, lag=2, clock=machine(here), max_clock_skew=300)
        with caplog.at_level(logging.WARNING, logger="threedcart"):
            window = core.begin(header)
        assert window is not None and window.until == utc(8, 59, 58), header
        assert core.clock_source == "client" and core.clock_skew is None
        assert len(caplog.records) == 1 and caplog.records[0].getMessage().startswith(message), header
        assert (
            caplog.records[0]
            .getMessage()
            .endswith("the sync window closes on this machine's clock, which may differ from the store's")
        )
    core = SyncCore(utc(7), tz=EASTERN, lag=2, clock=machine(here), max_clock_skew=300)
    assert core.begin("Sun, 01 Nov 2026 08:59:00 GMT") is not None and core.clock_source == "store"
    with pytest.raises(ValueError, match="store_time must be an aware datetime"):
        core.begin(datetime(2026, 11, 1, 9))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("soon", None),
        ("Sun, 01 Mar 2026 12:00:00 -0000", None),  # "-0000": no zone (RFC 5322)
        ("Sun, 01 Mar 2026 12:00:00 GMT", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("Sun, 01 Mar 2026 07:00:00 -0500", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("Sun, 01 Mar 2026 25:00:00 GMT", None),
        ("Sun, 01 Mar 99999 12:00:00 GMT", None),
    ],
)
def test_http_dates(value: str | None, expected: datetime | None) -> None:
    moment = http_date(value)
    assert moment == expected
    assert moment is None or moment.tzinfo is UTC


def test_clock_spans_read_well() -> None:
    assert [_span(timedelta(seconds=s)) for s in (0, 45, 119.5, 120, 750, 7199, 7200, 10800, 172800)] == [
        "0 s",
        "45 s",
        "119.5 s",
        "2.0 min",
        "12.5 min",
        "120.0 min",
        "2.0 h",
        "3.0 h",
        "2 days",
    ]
    assert _span(timedelta(seconds=-45)) == "45 s"


def test_the_tolerance_is_checked() -> None:
    assert SyncCore(None, tz=EASTERN, max_clock_skew=math.inf).max_clock_skew is None
    assert SyncCore(None, tz=EASTERN, max_clock_skew=1).max_clock_skew == 1.0
    assert SyncCore(None, tz=EASTERN).max_clock_skew is None
    for bad in (0.5, 0, -1, float("nan")):
        with pytest.raises(ValueError) as info:
            SyncCore(None, tz=EASTERN, max_clock_skew=bad)
        assert str(info.value) == (
            f"max_clock_skew must be at least 1 second (or None: trust the store's clock), not {bad}"
        )


# --- a store whose clock jumps, simulated ------------------------------------------------------
Offset = Callable[[datetime], timedelta]


def simulate_clock(offset: Offset, *, since: datetime | None = None, careful: bool = True) -> list[str]:
    """Syncs every 7 minutes for 4.5 hours while 500 customers are updated every few seconds.

    The store stamps each update with its own clock, `offset(t)` away from this machine's (t);
    each run sees the store's `Date` at its instant. `careful` runs the core with the default
    tolerance; otherwise a window on the store's clock alone, as before clocks were checked.
    Returns the updates that a window closed over (by their stamps) but no run exported.
    """
    rng = random.Random(23)
    stamps: dict[int, datetime] = {}  # id -> the store's instant of its last update
    versions: dict[int, int] = dict.fromkeys(range(1, 501), 0)
    history: list[tuple[datetime, int, int]] = []  # (stamp, id, version)
    exported: dict[int, int] = {}
    real = utc(12, 0)
    next_sync = real + timedelta(minutes=7)
    lost: set[str] = set()
    skew: timedelta | None = None  # of the run that left `since`
    while real < utc(16, 30):
        real += timedelta(seconds=rng.randint(1, 9))
        if real >= next_sync:
            store_now = (real + offset(real)).replace(microsecond=0)
            if careful:
                core = SyncCore(
                    since, tz=EASTERN, lag=2, clock=machine(real), max_clock_skew=300, last_clock_skew=skew
                )
                window = core.begin(store_now)
            else:
                core = SyncCore(since, tz=EASTERN, lag=2)
                window = plan_window(since, store_now, 2, EASTERN)
                core.window = window
            if window is not None:
                low, high = window.local_start, window.local_end
                local = {i: s.astimezone(EASTERN).replace(tzinfo=None) for i, s in stamps.items()}
                matching = [i for i, s in local.items() if (low is None or low <= s) and s <= high]
                for customer_id in matching:
                    if core.accept(customer_id):
                        exported[customer_id] = versions[customer_id]
                assert core.end_pass(len(matching)) is False
                for stamp, customer_id, version in history:
                    current = version == versions[customer_id]
                    if current and stamp <= window.until and exported.get(customer_id, -1) < version:
                        lost.add(f"#{customer_id} v{version} stamped {stamp:%H:%M:%S}Z")
                since, skew = window.next_since, core.clock_skew
            next_sync = real + timedelta(minutes=7)
        customer_id = rng.randint(1, 500)
        versions[customer_id] += 1
        stamps[customer_id] = (real + offset(real)).replace(microsecond=0)
        history.append((stamps[customer_id], customer_id, versions[customer_id]))
    return sorted(lost)


def between(start: datetime, end: datetime, by: timedelta) -> Offset:
    return lambda t: by if start <= t < end else timedelta(0)


@pytest.mark.parametrize(
    ("case", "offset", "since"),
    [
        # 3 h fast for ten minutes, then set right: those runs are refused, later ones go on
        ("fast, then corrected", between(utc(12, 30), utc(12, 40), timedelta(hours=3)), None),
        # 4 minutes fast (within the tolerance) for a while: windows close on this machine's clock
        ("a little fast, then corrected", between(utc(12, 30), utc(13, 33), timedelta(minutes=4)), None),
        # a watermark left by a run whose clock was 3 h ahead (an older version, or no tolerance)
        ("a watermark from the future", lambda t: timedelta(0), utc(15, 10)),
        # a store clock that steps back 4 minutes and stays there: the next run sees the skew drop
        ("steps back", lambda t: -timedelta(minutes=4) if t >= utc(12, 30) else timedelta(0), None),
        ("steps back 3 h", lambda t: -timedelta(hours=3) if t >= utc(12, 30) else timedelta(0), None),
    ],
)
def test_a_store_clock_that_jumps_loses_nothing(case: str, offset: Offset, since: datetime | None) -> None:
    assert simulate_clock(offset, since=since) == [], case


@pytest.mark.parametrize(
    ("offset", "since"),
    [
        (between(utc(12, 30), utc(12, 40), timedelta(hours=3)), None),
        (between(utc(12, 30), utc(13, 33), timedelta(minutes=4)), None),
        (lambda t: timedelta(0), utc(15, 10)),
        (lambda t: -timedelta(minutes=4) if t >= utc(12, 30) else timedelta(0), None),
    ],
)
def test_the_clock_simulation_catches_a_window_on_the_store_clock_alone(
    offset: Offset, since: datetime | None
) -> None:
    assert simulate_clock(offset, since=since, careful=False), "the simulation did not exercise the jump"


def test_the_one_step_no_run_can_see_is_a_step_back_and_forth_between_two_runs() -> None:
    # Documented in the README: the clock is 4 minutes slow for 3 minutes between two runs (7
    # minutes apart) and set right again before the next one; what it stamped then may fall
    # before the watermark, and neither clock reading shows it. A lag of 4 minutes would cover it.
    offset = between(utc(12, 30), utc(12, 33), -timedelta(minutes=4))
    assert simulate_clock(offset)


def test_a_store_clock_that_stepped_back_since_the_last_run_rereads_the_step(
    caplog: pytest.LogCaptureFixture,
) -> None:
    here = utc(12, 7, 0)
    watermark = utc(11, 59, 58)  # left at 12:00:00 by a run that found both clocks equal

    def begin(last: timedelta | None, store: datetime | None, tolerance: float | None = 300) -> SyncCore:
        core = SyncCore(
            watermark, tz=EASTERN, lag=2, clock=machine(here), max_clock_skew=tolerance, last_clock_skew=last
        )
        core.begin(store)
        return core

    with caplog.at_level(logging.INFO, logger="threedcart"):
        core = begin(timedelta(0), here - timedelta(minutes=4))  # now 4 minutes slow
        assert core.window is not None and core.window.since == utc(11, 56) and core.rewound_from == watermark
        assert (caplog.records[-1].levelno, caplog.records[-1].getMessage()) == (
            logging.WARNING,
            "the store's clock stepped back 4.0 min against this machine's since the last run (from +0 s "
            "to -240 s): updates stamped since may carry times before the watermark "
            "(2026-11-01T11:59:58+00:00); re-reading from 2026-11-01T11:56:00+00:00",
        )
        caplog.clear()
        jitter = begin(timedelta(seconds=-0.5), here - timedelta(seconds=3))  # noise: told quietly
        assert jitter.window is not None and jitter.window.since == utc(11, 59, 57)
        assert [r.levelno for r in caplog.records] == [logging.INFO]
        caplog.clear()
        # no step, or a fast clock set right (its watermark followed this machine's clock): nothing to do
        for last, store in [
            (timedelta(0), here),
            (timedelta(minutes=4), here),
            (None, here - timedelta(minutes=4)),
            (timedelta(0), None),
        ]:
            core = begin(last, store)
            assert core.window is not None and core.window.since == watermark and core.rewound_from is None
        assert [r.getMessage() for r in caplog.records if r.levelno > logging.INFO] == [
            "the store's answer had no Date header: the sync window closes on this machine's clock, "
            "which may differ from the store's"
        ]
    # trusting the store's clock, a fast one left a watermark on its own time: the step is re-read
    trusted = begin(timedelta(minutes=4), here, tolerance=None)
    assert trusted.window is not None and trusted.window.since == utc(11, 56)


# --- what the run says about clocks, to the second ---------------------------------------------------
def test_the_default_clock_is_this_machines_aware_clock() -> None:
    read = SyncCore(None, tz=EASTERN).clock()
    assert abs(read - datetime.now(UTC)) < timedelta(minutes=1)  # a naive clock could not be compared


def test_a_naive_store_time_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^store_time must be an aware datetime$"):
        SyncCore(None, tz=EASTERN, clock=machine(utc(12))).begin(datetime(2026, 11, 1, 12))


@pytest.mark.parametrize(
    ("skew", "shown"),
    [
        (600, "10.0 min ahead of"),  # just past the tolerance
        (-600, "10.0 min behind"),
        (172_656, "48.0 h ahead of"),  # 47.96 h
        (86_443_201, "1,001 days ahead of"),  # 1000.50001 days
    ],
)
def test_a_refused_run_says_how_far_and_which_way_the_store_clock_is_off(skew: int, shown: str) -> None:
    here = utc(12)
    core = SyncCore(None, tz=EASTERN, clock=machine(here), max_clock_skew=300)
    assert core.begin(here + timedelta(seconds=skew)) is None
    assert f") is {shown} this machine's (2026-11-01T12:00:00+00:00)" in core.reason


def test_run_messages_show_instants_in_utc_whatever_this_machines_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    monkeypatch.setenv("TZ", "America/Chicago")
    time.tzset()
    try:
        core = SyncCore(None, tz=EASTERN, clock=machine(utc(12)), max_clock_skew=300)
        assert core.begin(utc(13)) is None
        assert core.reason.startswith(
            "the store's clock (2026-11-01T13:00:00+00:00, its Date header) is 60.0 min ahead of this "
            "machine's (2026-11-01T12:00:00+00:00)"
        )
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    ("header", "shown"),
    [("x" * 60, repr("x" * 60)), ("y" * 61, repr("y" * 57 + "..."))],
)
def test_an_unreadable_date_is_shown_whole_up_to_60_characters(
    header: str, shown: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="threedcart"):
        SyncCore(None, tz=EASTERN, clock=machine(utc(12))).begin(header)
    assert [r.getMessage() for r in caplog.records] == [
        f"the store's answer had an unreadable Date header ({shown}): the sync window closes on this "
        "machine's clock, which may differ from the store's"
    ]


def test_a_store_clock_behind_the_watermark_by_exactly_the_tolerance_rereads_from_it() -> None:
    here = utc(12)
    core = SyncCore(utc(12, 5), tz=EASTERN, lag=2, clock=machine(here), max_clock_skew=300)
    window = core.begin(here)  # 300 s behind the watermark: within the tolerance, inclusive
    assert window is not None and window.since == utc(11, 54, 58) and core.rewound_from == utc(12, 5)


def test_this_machines_clock_behind_the_watermark_is_named_as_such(caplog: pytest.LogCaptureFixture) -> None:
    core = SyncCore(utc(12, 1, 40), tz=EASTERN, lag=2, clock=machine(utc(12)), max_clock_skew=300)
    with caplog.at_level(logging.WARNING, logger="threedcart"):
        window = core.begin(None)
    assert window is not None and window.since == utc(11, 54, 58)
    assert caplog.records[-1].getMessage() == (
        "this machine's clock (2026-11-01T12:00:00+00:00) is 100 s behind the watermark "
        "(2026-11-01T12:01:40+00:00): it went back, or the watermark came from a clock that was ahead, and "
        "updates stamped since may carry earlier times; re-reading from 2026-11-01T11:54:58+00:00 (its "
        "clock less max_clock_skew)"
    )


def test_a_store_clock_step_back_of_the_lag_or_less_moves_nothing(caplog: pytest.LogCaptureFixture) -> None:
    here, watermark = utc(12, 7), utc(11, 59, 58)
    core = SyncCore(
        watermark, tz=EASTERN, lag=2, clock=machine(here), max_clock_skew=300, last_clock_skew=timedelta(0)
    )
    with caplog.at_level(logging.DEBUG, logger="threedcart"):
        window = core.begin(here - timedelta(seconds=2))  # 2 s slower than last time: within the lag
    assert window is not None and window.since == watermark and core.rewound_from is None
    assert caplog.records == []


@pytest.mark.parametrize(("slower", "level", "span"), [(4, logging.INFO, "5 s"), (5, logging.WARNING, "6 s")])
def test_a_store_clock_step_back_is_a_warning_past_two_seconds_of_rereading(
    slower: int, level: int, span: str, caplog: pytest.LogCaptureFixture
) -> None:
    here, watermark = utc(12, 7), utc(11, 59, 58)
    core = SyncCore(
        watermark,
        tz=EASTERN,
        lag=2,
        clock=machine(here),
        max_clock_skew=300,
        last_clock_skew=timedelta(seconds=1),  # the last run found the store 1 s fast
    )
    with caplog.at_level(logging.DEBUG, logger="threedcart"):
        window = core.begin(here - timedelta(seconds=slower))
    start = watermark + timedelta(seconds=2 - slower)
    assert window is not None and window.since == start and core.rewound_from == watermark
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            level,
            f"the store's clock stepped back {span} against this machine's since the last run (from +1 s to "
            f"-{slower} s): updates stamped since may carry times before the watermark "
            f"(2026-11-01T11:59:58+00:00); re-reading from {start.isoformat()}",
        )
    ]

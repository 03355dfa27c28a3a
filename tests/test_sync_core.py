"""The sync core without I/O: windows on the store's clock, the DST fall-back night, completeness."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from threedcart._sync import SyncCore, local_range, parse_watermark, plan_window

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

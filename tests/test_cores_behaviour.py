"""The I/O-free cores pinned down exactly: the paging planner, sync windows, import rows, bulk batches.

Each test drives one core with scripted answers or injected clocks and checks the values a user
relies on (offsets asked for, windows sent, messages shown, rows reported), not just their shape.
"""

from __future__ import annotations

import codecs
import logging
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from conftest import CUSTOMER_FIELDS, SPEC
from threedcart import _rows, _sync
from threedcart._bulk import (
    PARTIAL_RESULT,
    BulkFailure,
    BulkItem,
    BulkPlan,
    BulkResult,
    ResultMismatch,
    attach_partial,
    match_results,
    named_id,
    partial_result,
)
from threedcart._pagination import (
    COUNT,
    MAX_FRUITLESS_STEPS,
    Answer,
    CountRequest,
    Pager,
    PageRequest,
    SeenIds,
    classify,
    raise_for,
)
from threedcart._rows import (
    FIELDS,
    FieldRule,
    ImportEncodingError,
    ImportFileError,
    ImportFormat,
    ImportRow,
    ImportTally,
    RowFailure,
    customer_problems,
    neutralise,
    read_rows,
    restore,
    update_problems,
)
from threedcart._sync import SyncCore, SyncWindow, local_range, parse_watermark, plan_window
from threedcart.errors import PaginationError, ThreeDCartError

EASTERN = ZoneInfo("America/New_York")
CSV, JSONL = ImportFormat.csv, ImportFormat.jsonl
PROPERTIES = SPEC["components"]["schemas"]["Customer"]["properties"]
ID = _rows.ID_FIELD
assert ID in CUSTOMER_FIELDS
STRINGS = [n for n in CUSTOMER_FIELDS if PROPERTIES[n]["type"] == "string"]
BOOLEANS = [n for n in CUSTOMER_FIELDS if PROPERTIES[n]["type"] == "boolean"]
INTEGERS = [n for n in CUSTOMER_FIELDS if PROPERTIES[n]["type"] == "integer" and n != ID]
NUMBERS = [n for n in CUSTOMER_FIELDS if PROPERTIES[n]["type"] == "number"]
LONGEST = max(STRINGS, key=lambda n: PROPERTIES[n]["maxLength"])  # a string field and its bound
SHORTEST = min(STRINGS, key=lambda n: PROPERTIES[n]["maxLength"])
BOOL, INT, NUM = BOOLEANS[0], INTEGERS[0], NUMBERS[0]
TEXT, TEXT2 = STRINGS[0], STRINGS[1]


class Refused(ThreeDCartError):
    """The error a scripted answer carries."""


def key(record: int) -> int:
    return record


def page(*ids: int) -> Answer[int]:
    return Answer(200, records=list(ids))


def ids(first: int, last: int) -> Answer[int]:
    return Answer(200, records=list(range(first, last + 1)))


def step(pager: Pager[int], offset: int, answer: Answer[int]) -> list[int]:
    """Ask for the next page (one at a time), check where it starts, and feed `answer` to it."""
    (request,) = pager.requests()
    assert isinstance(request, PageRequest) and request.offset == offset
    assert request.limit == pager.page_size and request.epoch == pager.epoch
    return pager.feed(request, answer)


def utc(h: int, m: int = 0, s: int = 0, *, day: int = 1) -> datetime:
    return datetime(2026, 11, day, h, m, s, tzinfo=UTC)


def naive(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


# =============================================================================================
# the paging planner
# =============================================================================================
def test_pager_arguments_are_checked_with_their_value_in_the_message() -> None:
    with pytest.raises(ValueError) as info:
        Pager(0, key)
    assert str(info.value) == "page_size must be at least 1, not 0"
    with pytest.raises(ValueError) as info:
        Pager(10, key, concurrency=0)
    assert str(info.value) == "concurrency must be at least 1, not 0"
    smallest = Pager(1, key, concurrency=1)  # the smallest legal values
    assert (smallest.page_size, smallest.concurrency, smallest.overlap, smallest.stride) == (1, 1, 0, 1)


@pytest.mark.parametrize(
    ("page_size", "overlap", "expected"),
    [(10, 1, (1, 9)), (10, 3, (3, 7)), (10, 20, (9, 1)), (10, -5, (0, 10)), (10, 0, (0, 10)), (2, 1, (1, 1))],
)
def test_overlap_is_clamped_to_the_page_and_sets_the_stride(
    page_size: int, overlap: int, expected: tuple[int, int]
) -> None:
    pager: Pager[int] = Pager(page_size, key, overlap=overlap)
    assert (pager.overlap, pager.stride) == expected
    first = pager.requests()
    assert first == [PageRequest(1, page_size, 0)]
    pager.feed(first[0], ids(1, page_size))
    assert pager.requests() == [PageRequest(1 + expected[1], page_size, 0)]


def test_a_new_pager_starts_at_the_beginning_with_nothing_read() -> None:
    pager: Pager[int] = Pager(10, key)
    assert pager.overlap == 1 and pager.stride == 9 and pager.key is key
    assert (pager.epoch, pager.done, pager.total, pager.pages_read, pager.step_backs) == (
        0,
        False,
        None,
        0,
        0,
    )
    assert pager.unordered is False and len(pager.seen) == 0


def test_one_page_at_a_time_without_concurrency() -> None:
    pager: Pager[int] = Pager(10, key)
    assert pager.requests() == [PageRequest(1, 10, 0)]
    assert pager.requests() == []  # the page is on its way: nothing else
    assert pager.feed(PageRequest(1, 10, 0), ids(1, 10)) == list(range(1, 11))
    assert pager.requests() == [PageRequest(10, 10, 0)]
    assert pager.feed(PageRequest(10, 10, 0), ids(10, 19)) == list(range(11, 20))
    assert pager.requests() == [PageRequest(19, 10, 0)]
    assert pager.feed(PageRequest(19, 10, 0), ids(19, 23)) == [20, 21, 22, 23]
    assert not pager.done  # a short page is not proof of the end: read on from its last record
    assert pager.requests() == [PageRequest(23, 10, 0)]
    assert pager.feed(PageRequest(23, 10, 0), page(23)) == []  # only that record: nothing follows
    assert pager.done and pager.requests() == []
    assert (pager.pages_read, pager.step_backs, len(pager.seen)) == (4, 0, 23)


def test_concurrent_reading_guesses_pages_while_the_count_comes_then_stops_at_the_count() -> None:
    pager: Pager[int] = Pager(10, key, concurrency=4)
    first = pager.requests()
    # the count, and one page fewer than the concurrency while it is unknown
    assert first == [COUNT, PageRequest(1, 10, 0), PageRequest(10, 10, 0), PageRequest(19, 10, 0)]
    assert pager.requests() == []
    assert pager.feed(COUNT, Answer(200, total=40)) == [] and pager.total == 40
    assert pager.requests() == [PageRequest(28, 10, 0)]  # 28 <= 40, now 4 in flight
    assert pager.feed(first[1], ids(1, 10)) == list(range(1, 11))
    assert pager.requests() == [PageRequest(37, 10, 0)]  # 37 <= 40
    assert pager.feed(first[2], ids(10, 19)) == list(range(11, 20))
    assert pager.requests() == []  # 46 > 40: no page past the count while others are in flight
    assert pager.feed(first[3], ids(19, 28)) == list(range(20, 29))
    assert pager.feed(PageRequest(28, 10, 0), ids(28, 37)) == list(range(29, 38))
    assert pager.requests() == []  # 37 is still in flight
    assert pager.feed(PageRequest(37, 10, 0), ids(37, 40)) == [38, 39, 40]
    assert pager.done and pager.pages_read == 5


def test_the_count_is_asked_only_once_and_the_next_page_always_goes() -> None:
    pager: Pager[int] = Pager(10, key, concurrency=2)
    assert pager.requests() == [COUNT, PageRequest(1, 10, 0)]  # 1 < 2 - 1 is false: one guess only
    pager.feed(COUNT, Answer(200, total=0))
    assert pager.feed(PageRequest(1, 10, 0), ids(1, 10)) == list(range(1, 11))
    # the count says 0, yet the next page is needed to end: asked, and no COUNT again
    assert pager.requests() == [PageRequest(10, 10, 0)]


def test_two_at_once_asks_the_second_page_once_the_count_reaches_it() -> None:
    pager: Pager[int] = Pager(10, key, concurrency=2)
    assert pager.requests() == [COUNT, PageRequest(1, 10, 0)]
    pager.feed(COUNT, Answer(200, total=30))
    assert pager.requests() == [PageRequest(10, 10, 0)]
    assert pager.requests() == []


def test_a_count_exactly_at_the_next_offset_still_asks_it() -> None:
    pager: Pager[int] = Pager(5, key, concurrency=3)
    assert pager.requests() == [COUNT, PageRequest(1, 5, 0), PageRequest(5, 5, 0)]
    pager.feed(COUNT, Answer(200, total=9))
    assert pager.requests() == [PageRequest(9, 5, 0)]  # 9 <= 9
    pager2: Pager[int] = Pager(5, key, concurrency=3)
    pager2.requests()
    pager2.feed(COUNT, Answer(200, total=8))
    assert pager2.requests() == []  # 9 > 8


def test_a_count_answer_without_total_raises_its_error_or_a_generic_one() -> None:
    pager: Pager[int] = Pager(10, key, concurrency=2)
    pager.requests()
    with pytest.raises(Refused, match=r"^count failed$"):
        pager.feed(COUNT, Answer(404, error=Refused("count failed")))
    with pytest.raises(ThreeDCartError) as info:
        pager.feed(CountRequest(), Answer(500))
    assert type(info.value) is ThreeDCartError and str(info.value) == "unexpected answer: HTTP 500"
    assert pager.total is None


def test_raise_for_raises_the_attached_error_itself() -> None:
    error = Refused("x")
    with pytest.raises(Refused) as info:
        raise_for(Answer(503, error=error))
    assert info.value is error
    with pytest.raises(ThreeDCartError, match=r"^unexpected answer: HTTP 0$"):
        raise_for(Answer(0))


@pytest.mark.parametrize(
    ("answer", "offset", "kind"),
    [
        (Answer(200, records=[]), 1, "end"),
        (Answer(200, records=[7]), 2, "page"),
        (Answer(200, records=None, total=3), 2, "error"),
        (Answer(201, records=[1]), 2, "error"),
        (Answer(404, records=[1]), 2, "end"),
        (Answer(400, message="offset amount exceeds"), 1, "end"),
        (Answer(400, message="\n Offset Amount Exceeds total"), 2, "end"),
        (Answer(400, message="the offset amount exceeds"), 2, "error"),
        (Answer(400, message=""), 2, "error"),
        (Answer(400), 2, "end"),
        (Answer(400), 1, "error"),
        (Answer(400), 0, "error"),
        (Answer(401), 2, "error"),
        (Answer(403, message="offset amount exceeds"), 2, "error"),
    ],
)
def test_classify_reads_status_message_and_offset(answer: Answer[int], offset: int, kind: str) -> None:
    assert classify(answer, offset) == kind


def test_a_refusal_of_a_page_is_raised_with_the_answer_error() -> None:
    pager: Pager[int] = Pager(10, key)
    (first,) = pager.requests()
    with pytest.raises(Refused, match=r"^bad filter$"):
        pager.feed(first, Answer(400, message="lastupdatestart is not a date", error=Refused("bad filter")))


def test_stale_epochs_and_answers_after_the_end_are_dropped() -> None:
    pager: Pager[int] = Pager(10, key)
    step(pager, 1, ids(1, 10))
    assert step(pager, 10, ids(50, 59)) == []  # no known record: step back
    assert pager.epoch == 1 and pager.step_backs == 1
    # an answer of epoch 0 (asked before the step back) counts for nothing, even a fatal one
    assert pager.feed(PageRequest(19, 10, 0), Answer(500, error=Refused("late"))) == []
    assert pager.requests() == [PageRequest(1, 10, 1)]
    assert pager.feed(PageRequest(1, 10, 1), ids(1, 4)) == []  # all seen, short: read on from 4
    assert pager.requests() == [PageRequest(4, 10, 1)]
    assert pager.feed(PageRequest(4, 10, 1), page(4)) == []  # only record 4: the list ends there
    assert pager.done and pager.pages_read == 3
    assert pager.feed(PageRequest(4, 10, 1), Answer(500, error=Refused("after the end"))) == []
    assert pager.requests() == []


def test_pages_before_the_first_accepted_one_are_trusted() -> None:
    pager: Pager[int] = Pager(10, key, concurrency=3)
    requests = pager.requests()
    assert requests == [COUNT, PageRequest(1, 10, 0), PageRequest(10, 10, 0)]
    # page 10 is fed before page 1: nothing to connect to yet, so it is believed
    assert pager.feed(requests[2], ids(10, 19)) == list(range(10, 20))
    assert pager.feed(requests[1], ids(1, 10)) == list(range(1, 10))
    assert pager.step_backs == 0 and pager.pages_read == 2
    fresh: Pager[int] = Pager(10, key)
    # an empty first page ends the list once a count asked after it says 0
    assert step(fresh, 1, Answer(404, message="No records")) == []
    assert not fresh.done and fresh.requests() == [COUNT] and fresh.requests() == []
    assert fresh.feed(COUNT, Answer(200, total=0)) == []
    assert fresh.done and fresh.step_backs == 0


def test_an_end_before_any_accepted_page_is_trusted() -> None:
    pager: Pager[int] = Pager(10, key, concurrency=3)
    requests = pager.requests()
    # the page at 10 answers first, with "offset exceeds": nothing was accepted yet, so it ends
    assert pager.feed(requests[2], Answer(400, message="Offset amount exceeds the total")) == []
    assert pager.done and pager.step_backs == 0


def test_an_unconnected_page_after_an_accepted_one_steps_back() -> None:
    pager: Pager[int] = Pager(10, key, concurrency=3)
    requests = pager.requests()
    pager.feed(COUNT, Answer(200, total=100))
    assert pager.feed(requests[1], ids(1, 10)) == list(range(1, 11))
    assert pager.feed(requests[2], ids(30, 39)) == []
    assert pager.step_backs == 1 and pager.epoch == 1
    assert pager.requests() == [PageRequest(1, 10, 1), PageRequest(10, 10, 1), PageRequest(19, 10, 1)]


def test_a_bodiless_400_is_an_end_past_the_first_page_and_a_refusal_on_it() -> None:
    pager: Pager[int] = Pager(10, key)
    step(pager, 1, ids(1, 10))
    assert step(pager, 10, Answer(400, error=Refused("no body"))) == []  # "offset exceeds", unproven
    assert pager.step_backs == 1 and not pager.done
    first: Pager[int] = Pager(10, key)
    with pytest.raises(Refused, match=r"^no body$"):
        step(first, 1, Answer(400, error=Refused("no body")))


def test_an_end_after_a_full_page_steps_back_instead_of_ending() -> None:
    pager: Pager[int] = Pager(10, key)
    step(pager, 1, ids(1, 10))
    assert step(pager, 10, Answer(404)) == []
    assert not pager.done and pager.step_backs == 1 and pager.epoch == 1
    assert pager.requests() == [PageRequest(1, 10, 1)]


def test_step_backs_double_and_reset_after_a_connecting_page(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="threedcart")
    pager: Pager[int] = Pager(10, key)
    offsets = []

    def ask() -> PageRequest:
        (request,) = pager.requests()
        assert isinstance(request, PageRequest)
        offsets.append(request.offset)
        return request

    pager.feed(ask(), ids(1, 10))  # 1
    pager.feed(ask(), ids(10, 19))  # 10
    pager.feed(ask(), ids(19, 28))  # 19
    pager.feed(ask(), ids(28, 37))  # 28
    assert pager.feed(ask(), ids(100, 109)) == []  # 37: the list shrank in front
    assert pager.feed(ask(), ids(100, 109)) == []  # 37 - 9 = 28: still nothing known
    assert pager.feed(ask(), ids(100, 109)) == []  # 28 - 18 = 10
    assert pager.feed(ask(), ids(5, 14)) == []  # max(1, 10 - 36) = 1: connects, nothing new
    assert pager.feed(ask(), ids(14, 23)) == []  # 10 (1 + 9): connects, nothing new
    assert pager.feed(ask(), ids(40, 49)) == []  # 19: shrank again; back one stride only
    assert pager.feed(ask(), ids(37, 46)) == [38, 39, 40, 41, 42, 43, 44, 45, 46]  # 10
    assert offsets == [1, 10, 19, 28, 37, 28, 10, 1, 10, 19, 10]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG] == [
        "paging: list changed before offset 37; re-reading from 28",
        "paging: list changed before offset 28; re-reading from 10",
        "paging: list changed before offset 10; re-reading from 1",
        "paging: list changed before offset 19; re-reading from 10",
    ]
    assert pager.step_backs == 4 and pager.epoch == 4 and pager.pages_read == 7


def test_a_page_without_ids_proves_nothing_but_is_accepted() -> None:
    none_key = lambda record: None if record < 0 else record  # noqa: E731
    pager: Pager[int] = Pager(3, none_key)
    assert step(pager, 1, page(1, 2, 3)) == [1, 2, 3]
    # every record without id: nothing to check against, so the page is accepted (and all yielded)
    assert step(pager, 3, page(-1, -1, -2)) == [-1, -1, -2]
    assert pager.step_backs == 0 and pager.pages_read == 2 and not pager.unordered
    # a page mixing records without id and unknown ids does not connect: step back
    assert step(pager, 5, page(-1, 9, 10)) == []
    assert pager.step_backs == 1
    # a page whose only known record is the connecting one is accepted; records without id always come
    assert step(pager, 3, page(3, -4, 4)) == [-4, 4]


def test_ids_repeated_within_a_page_are_yielded_once_and_mark_the_list_unordered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pager: Pager[int] = Pager(5, key)
    with caplog.at_level(logging.WARNING, logger="threedcart"):
        assert step(pager, 1, page(1, 2, 2, 3, 4)) == [1, 2, 3, 4]
    assert pager.unordered
    assert [r.getMessage() for r in caplog.records] == [
        "the service sent a page out of CustomerID order; every record is still yielded once "
        "(ids are deduplicated by a set), but in the service's order"
    ]


def test_order_is_judged_on_ids_only_and_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    none_key = lambda record: None if record < 0 else record  # noqa: E731
    pager: Pager[int] = Pager(4, none_key)
    with caplog.at_level(logging.WARNING, logger="threedcart"):
        assert step(pager, 1, page(1, -9, 2, 3)) == [1, -9, 2, 3]
        assert not pager.unordered
        assert step(pager, 4, page(3, 5, 4, 6)) == [5, 4, 6]
        assert pager.unordered
        assert step(pager, 7, page(6, 9, 8, 7)) == [9, 8, 7]
    assert len(caplog.records) == 1 and caplog.records[0].levelno == logging.WARNING


def test_a_full_page_does_not_end_the_list_and_a_short_one_is_proven_by_the_next() -> None:
    pager: Pager[int] = Pager(3, key)
    step(pager, 1, page(1, 2, 3))
    assert not pager.done
    step(pager, 3, page(3, 4))
    assert not pager.done
    step(pager, 4, page(4))
    assert pager.done


def test_page_size_one_trusts_every_answer() -> None:
    pager: Pager[int] = Pager(1, key)
    assert step(pager, 1, page(1)) == [1]
    assert step(pager, 2, page(7)) == [7]  # no overlap: nothing to check
    assert step(pager, 3, Answer(404)) == []
    assert pager.done and pager.step_backs == 0


def test_a_list_emptied_after_a_full_page_ends_on_an_empty_first_page() -> None:
    pager: Pager[int] = Pager(10, key)
    step(pager, 1, ids(1, 10))
    assert step(pager, 10, Answer(404)) == []  # nothing at 10 after a full page: check from the start
    assert step(pager, 1, Answer(404)) == []  # nothing at all: believed once a count says so
    assert pager.requests() == [COUNT]
    assert pager.feed(COUNT, Answer(200, total=0)) == []
    assert pager.done and pager.step_backs == 1


def test_the_first_page_read_again_is_believed_even_if_all_new() -> None:
    pager: Pager[int] = Pager(10, key)
    step(pager, 1, ids(1, 10))
    assert step(pager, 10, ids(50, 59)) == []
    # every record of the list was replaced: page 1 cannot have skipped anything before it
    assert step(pager, 1, ids(60, 69)) == list(range(60, 70))
    assert step(pager, 10, ids(69, 72)) == [70, 71, 72]
    assert step(pager, 13, page(72)) == []  # positions 10-13 held 69-72: 72 alone at 13 ends it
    assert pager.done and pager.step_backs == 1 and pager.pages_read == 4


def contradicting(pager: Pager[int]) -> tuple[int, PaginationError]:
    """Drive `pager` against a list whose page 1 is full and whose page 10 is always empty."""
    sent = 0
    while True:
        (request,) = pager.requests()
        assert isinstance(request, PageRequest)
        sent += 1
        answer = ids(1, 10) if request.offset == 1 else Answer(200, records=[])
        try:
            pager.feed(request, answer)
        except PaginationError as exc:
            return sent, exc


def test_a_list_that_never_holds_still_ends_in_an_exact_pagination_error() -> None:
    pager: Pager[int] = Pager(10, key)
    sent, error = contradicting(pager)
    assert str(error) == (
        f"the list kept shifting under the reader: {MAX_FRUITLESS_STEPS} step-backs in a row "
        "found no new record"
    )
    assert MAX_FRUITLESS_STEPS == 64
    assert pager.step_backs == MAX_FRUITLESS_STEPS and pager.epoch == MAX_FRUITLESS_STEPS
    assert sent == 2 * MAX_FRUITLESS_STEPS + 2 and pager.pages_read == MAX_FRUITLESS_STEPS + 1


def test_a_step_back_that_finds_new_records_resets_the_patience() -> None:
    pager: Pager[int] = Pager(10, key)
    fresh = iter(range(1000, 10**6))
    rounds = 0
    # page 1 brings one new record every 50th time; page 10 is always empty
    while rounds < 300:
        (request,) = pager.requests()
        assert isinstance(request, PageRequest)
        if request.offset == 1:
            rounds += 1
            records = [*range(1, 10), next(fresh) if rounds % 50 == 0 else 10]
            pager.feed(request, Answer(200, records=records))
        else:
            pager.feed(request, Answer(200, records=[]))
    assert pager.step_backs == 299


def test_seen_ids_membership_at_the_edges() -> None:
    seen = SeenIds()
    assert 1 not in seen and len(seen) == 0
    assert seen.add(5) is True
    assert 5 in seen and 4 not in seen and 6 not in seen
    assert seen.add(5) is False  # the last of the increasing run
    assert seen.add(2) is True and seen.add(2) is False  # below the run: kept aside
    assert seen.add(7) is True and seen.add(7) is False
    assert seen.add(6) is True and 6 in seen and seen.add(6) is False
    assert [i in seen for i in range(1, 9)] == [False, True, False, False, True, True, True, False]
    assert len(seen) == 4
    assert -3 not in seen and seen.add(-3) is True and -3 in seen
    negative = SeenIds()  # ids are any integers: the compact run takes negative ones too
    assert negative.add(-5) is True and negative.add(-2) is True and negative.add(-5) is False
    assert -5 in negative and -2 in negative and -4 not in negative and len(negative) == 2


# =============================================================================================
# sync windows
# =============================================================================================
class NoOffset(tzinfo):
    """A zone that knows no UTC offset (its instants stay naive)."""

    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> None:
        return None

    def fromutc(self, dt: datetime) -> datetime:
        return dt


class OffsetFrom2026(tzinfo):
    """A zone that knew no UTC offset before 2026 (its offset is then None), and UTC's after."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None if dt is None or dt.year < 2026 else timedelta(0)

    def dst(self, dt: datetime | None) -> None:
        return None

    def fromutc(self, dt: datetime) -> datetime:
        return dt


def test_fall_back_needs_an_offset_at_both_ends() -> None:
    zone = OffsetFrom2026()
    new_year = datetime(2026, 1, 1, tzinfo=UTC)
    assert _sync._fall_back(new_year - timedelta(hours=1), new_year + timedelta(hours=1), zone) is None
    assert _sync._fall_back(new_year, new_year + timedelta(hours=1), zone) is None


def test_fall_back_finds_the_first_second_after_the_clocks_went_back() -> None:
    fall_back = _sync._fall_back
    assert fall_back(utc(4), utc(6), EASTERN) == utc(6)
    assert fall_back(utc(5, 59, 59), utc(6), EASTERN) == utc(6)
    assert fall_back(utc(5, 59, 58), utc(6, 0, 1), EASTERN) == utc(6)
    assert fall_back(utc(5, 0, 1), utc(6, 59, 59), EASTERN) == utc(6)
    assert fall_back(utc(4), utc(5, 59, 59), EASTERN) is None  # not yet
    assert fall_back(utc(6), utc(7), EASTERN) is None  # already past
    assert fall_back(utc(7, day=8), utc(8, day=8), EASTERN) is None
    spring = datetime(2026, 3, 8, 7, 0, 0, tzinfo=UTC)  # the clocks go forward: nothing repeats
    assert fall_back(spring - timedelta(hours=1), spring + timedelta(hours=1), EASTERN) is None
    assert fall_back(utc(4), utc(6), timezone(timedelta(hours=-5))) is None
    assert fall_back(utc(4), utc(6), NoOffset()) is None


def test_local_range_outside_the_night_is_the_two_ends() -> None:
    assert local_range(utc(12, day=2), utc(13, 30, 5, day=2), EASTERN) == (
        naive("2026-11-02 07:00:00"),
        naive("2026-11-02 08:30:05"),
    )
    assert local_range(None, utc(13, day=2), EASTERN) == (None, naive("2026-11-02 08:00:00"))
    assert local_range(utc(4), utc(5, 59, 59), EASTERN) == (
        naive("2026-11-01 00:00:00"),
        naive("2026-11-01 01:59:59"),
    )


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        # since in the second 01:xx: its local time already precedes all later stamps
        (utc(6, 30), utc(9), ("2026-11-01 01:30:00", "2026-11-01 04:00:00")),
        # since in the first 01:xx: the second reading starts again at 01:00:00, so the start widens
        (utc(5, 30), utc(9), ("2026-11-01 01:00:00", "2026-11-01 04:00:00")),
        (utc(5, 59, 59), utc(9), ("2026-11-01 01:00:00", "2026-11-01 04:00:00")),
        # since just before the fall back (within 2 hours): the start is its own local time
        (utc(4, 30), utc(9), ("2026-11-01 00:30:00", "2026-11-01 04:00:00")),
        # since more than two hours before it: no widening needed at either end
        (utc(3, 59, 59), utc(9), ("2026-10-31 23:59:59", "2026-11-01 04:00:00")),
        # until in the second 01:xx with since long before: the end reaches 01:59:59
        (utc(0), utc(6, 30), ("2026-10-31 20:00:00", "2026-11-01 01:59:59")),
        # until just past the fall back: the first reading of the hour ends at 01:59:59
        (utc(5, 59, 59), utc(6, 0, 1), ("2026-11-01 01:00:00", "2026-11-01 01:59:59")),
        # until more than two hours after it: the end is past the repeated hour anyway
        (utc(5), utc(8, 0, 1), ("2026-11-01 01:00:00", "2026-11-01 03:00:01")),
        (utc(6), utc(6), ("2026-11-01 01:00:00", "2026-11-01 01:00:00")),
    ],
)
def test_local_range_across_the_night(since: datetime, until: datetime, expected: tuple[str, str]) -> None:
    assert local_range(since, until, EASTERN) == (naive(expected[0]), naive(expected[1]))


def test_local_range_without_a_start_still_widens_its_end() -> None:
    assert local_range(None, utc(7, 59, 59), EASTERN) == (None, naive("2026-11-01 02:59:59"))
    assert local_range(None, utc(6, 0, 0), EASTERN) == (None, naive("2026-11-01 01:59:59"))
    assert local_range(None, utc(7, 59, 58), EASTERN) == (None, naive("2026-11-01 02:59:58"))
    assert local_range(None, utc(7, 30), EASTERN) == (None, naive("2026-11-01 02:30:00"))


def test_lag_must_be_at_least_a_second() -> None:
    for lag in (0.999, 0, -1, float("nan")):
        with pytest.raises(ValueError) as info:
            plan_window(None, utc(5), lag, EASTERN)
        assert str(info.value) == f"lag must be at least 1 second, not {lag}"
    window = plan_window(None, utc(5), 1, EASTERN)  # exactly one second is enough
    assert window is not None and window.until == utc(4, 59, 59)
    assert SyncCore(None, tz=EASTERN, lag=1.0).lag == 1.0


def test_a_window_ends_on_whole_seconds_in_utc() -> None:
    store_now = datetime(2026, 11, 2, 9, 0, 30, 999_999, tzinfo=EASTERN)
    window = plan_window(datetime(2026, 11, 2, 8, 0, 0, tzinfo=EASTERN), store_now, 1.5, EASTERN)
    assert window == SyncWindow(
        utc(13, day=2),
        utc(14, 0, 29, day=2),
        naive("2026-11-02 08:00:00"),
        naive("2026-11-02 09:00:29"),
        reaches_ahead=False,
    )
    assert window.since is not None and window.since.tzinfo is UTC and window.until.tzinfo is UTC
    assert window.until.microsecond == 0


def test_a_window_of_one_second_is_read_and_an_inverted_one_is_not() -> None:
    window = plan_window(utc(5, 10, 28), utc(5, 10, 30), 2, EASTERN)
    assert window is not None and window.since == window.until == utc(5, 10, 28)
    assert plan_window(utc(5, 10, 29), utc(5, 10, 30), 2, EASTERN) is None


def test_plan_window_refuses_naive_datetimes_with_exact_messages() -> None:
    with pytest.raises(ValueError) as info:
        plan_window(datetime(2026, 11, 1), utc(5), 2, EASTERN)
    assert str(info.value) == "since must be an aware datetime (a watermark with its UTC offset)"
    with pytest.raises(ValueError) as info:
        plan_window(utc(4), datetime(2026, 11, 1, 5), 2, EASTERN)
    assert str(info.value) == "store_now must be an aware datetime"


def test_a_window_over_the_repeated_hour_reaches_ahead_and_a_plain_one_does_not() -> None:
    crossing = plan_window(utc(5, 30), utc(6, 10, 2), 1, EASTERN)
    assert crossing == SyncWindow(
        utc(5, 30),
        utc(6, 10, 1),
        naive("2026-11-01 01:00:00"),
        naive("2026-11-01 01:59:59"),
        reaches_ahead=True,
    )
    first = plan_window(None, utc(5, 30, 1), 1, EASTERN)
    assert first is not None and first.reaches_ahead is False


def test_window_filters_and_description() -> None:
    window = SyncWindow(utc(5), utc(6), naive("2026-11-01 01:00:00"), naive("2026-11-01 01:59:59"))
    assert window.reaches_ahead is False and window.next_since == utc(6)
    assert window.filters() == {
        "updated_until": naive("2026-11-01 01:59:59"),
        "updated_since": naive("2026-11-01 01:00:00"),
    }
    assert window.describe() == "[2026-11-01T05:00:00+00:00, 2026-11-01T06:00:00+00:00]"
    first = SyncWindow(None, utc(6), None, naive("2026-11-01 01:59:59"))
    assert first.filters() == {"updated_until": naive("2026-11-01 01:59:59")}
    assert first.describe() == "[the beginning, 2026-11-01T06:00:00+00:00]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01T01:30:00-04:00", utc(5, 30)),
        ("2026-11-01T01:30:00-05:00", utc(6, 30)),
        ("2026-11-01T06:30:00+00:00", utc(6, 30)),
        ("2026-11-01T01:30:00", utc(5, 30)),  # no offset: store time, the earlier reading
        ("11/01/2026 01:30:00", utc(5, 30)),
        ("11/02/2026 08:00:00", utc(13, day=2)),
        ("2026-11-02 08:00:00", utc(13, day=2)),
    ],
)
def test_watermarks_are_parsed_to_utc_instants(text: str, expected: datetime) -> None:
    moment = parse_watermark(text, EASTERN)
    assert moment == expected and moment.tzinfo is UTC


def test_a_bad_watermark_is_named_in_the_message() -> None:
    for text in ("yesterday", "13/01/2026 01:30:00", ""):
        with pytest.raises(ValueError) as info:
            parse_watermark(text, EASTERN)
        assert str(info.value) == (
            f"{text!r} is not a watermark (ISO 8601 with a UTC offset, e.g. 2026-11-01T01:30:00-04:00)"
        )
        assert info.value.__cause__ is None and info.value.__suppress_context__


def test_watermarks_round_trip_through_their_iso_text() -> None:
    core = SyncCore(None, tz=EASTERN, lag=1)
    core.begin(utc(6, 30, 1))
    core.end_pass(0)
    mark = core.next_since
    assert mark is not None
    assert mark.astimezone(EASTERN).isoformat() == "2026-11-01T01:30:00-05:00"
    assert parse_watermark(mark.astimezone(EASTERN).isoformat(), EASTERN) == mark


def test_sync_core_arguments_with_exact_messages() -> None:
    with pytest.raises(ValueError) as info:
        SyncCore(datetime(2026, 11, 1), tz=EASTERN)
    assert str(info.value) == "since must be an aware datetime (a watermark with its UTC offset)"
    with pytest.raises(ValueError) as info:
        SyncCore(None, tz=EASTERN, lag=0.5)
    assert str(info.value) == "lag must be at least 1 second, not 0.5"
    with pytest.raises(ValueError) as info:
        SyncCore(None, tz=EASTERN, max_passes=0)
    assert str(info.value) == "max_passes must be at least 1, not 0"
    core = SyncCore(datetime(2026, 11, 1, 1, 30, tzinfo=timezone(timedelta(hours=-5))), tz=EASTERN)
    assert core.since == utc(6, 30) and core.since.tzinfo is UTC
    assert (core.tz, core.lag, core.max_passes) == (EASTERN, 2.0, 3)
    assert (core.window, core.clock_source, core.passes, core.complete, core.reason, core.last_count) == (
        None,
        "",
        0,
        None,
        "",
        None,
    )
    assert core.exported == 0 and core.next_since is None


def test_one_pass_is_allowed_and_decides_at_once() -> None:
    core = SyncCore(None, tz=EASTERN, max_passes=1)
    core.begin(utc(8))
    core.accept(1)
    assert core.end_pass(2) is False
    assert core.complete is False and core.passes == 1 and core.last_count == 2
    assert (
        core.reason == "the window still counts 2 customers after 1 reading(s), but the last reading found 1"
    )


def test_begin_uses_the_store_clock_and_the_default_lag() -> None:
    core = SyncCore(utc(7), tz=EASTERN, clock=lambda: utc(23))
    window = core.begin(utc(8))
    assert core.window is window and core.clock_source == "store"
    assert window == SyncWindow(
        utc(7), utc(7, 59, 58), naive("2026-11-01 02:00:00"), naive("2026-11-01 02:59:58")
    )
    assert core.complete is None


def test_begin_without_a_date_uses_the_injected_clock_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    core = SyncCore(utc(7), tz=EASTERN, lag=3, clock=lambda: utc(9))
    with caplog.at_level(logging.WARNING, logger="threedcart"):
        window = core.begin(None)
    assert window is not None and window.until == utc(8, 59, 57) and core.clock_source == "client"
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.WARNING,
            "the store's answer had no Date header: the sync window closes on this machine's clock, "
            "which may differ from the store's",
        )
    ]


def test_the_default_clock_is_this_machine_in_utc() -> None:
    before = datetime.now(UTC)
    window = SyncCore(None, tz=EASTERN).begin(None)
    after = datetime.now(UTC)
    assert window is not None and window.until.tzinfo is UTC
    assert before - timedelta(seconds=3) <= window.until <= after - timedelta(seconds=1)


def test_an_empty_window_is_complete_and_keeps_the_watermark() -> None:
    core = SyncCore(utc(8), tz=EASTERN, lag=1)
    assert core.begin(utc(8, 0, 1)) is not None  # [8:00:00, 8:00:00]: one second, still read
    core2 = SyncCore(utc(8), tz=EASTERN, lag=1)
    assert core2.begin(utc(8)) is None
    assert core2.complete is True and core2.next_since == utc(8) and core2.window is None


def test_records_without_id_count_in_every_pass() -> None:
    core = SyncCore(None, tz=EASTERN)
    core.begin(utc(8))
    assert [core.accept(k) for k in (None, None, 1, 1)] == [True, True, True, False]
    assert core.exported == 3
    assert core.end_pass(3) is False and core.complete is True  # 1 id + 2 without
    core2 = SyncCore(None, tz=EASTERN)
    core2.begin(utc(8))
    core2.accept(None)
    core2.accept(5)
    assert core2.end_pass(3) is True  # found 2 of 3
    core2.accept(None)
    core2.accept(5)
    core2.accept(6)
    assert core2.exported == 4  # every record without id is new; 5 came twice
    assert core2.end_pass(3) is False and core2.complete is True and core2.last_count == 3


def test_each_pass_counts_only_its_own_reading(caplog: pytest.LogCaptureFixture) -> None:
    core = SyncCore(utc(7), tz=EASTERN, max_passes=3)
    core.begin(utc(8))
    core.accept(1)
    core.accept(2)
    with caplog.at_level(logging.INFO, logger="threedcart"):
        assert core.end_pass(3) is True
    assert caplog.records[-1].getMessage() == (
        "sync window [2026-11-01T07:00:00+00:00, 2026-11-01T07:59:58+00:00] counts 3 customers "
        "but 2 were read: reading it again"
    )
    core.accept(3)  # the second pass found only one: the first pass's ids do not count again
    assert core.end_pass(3) is True and core.complete is None
    core.accept(1)
    core.accept(2)
    core.accept(3)
    assert core.end_pass(3) is False and core.complete is True and core.passes == 3
    assert core.next_since == utc(7, 59, 58) and core.exported == 3 and core.reason == ""


def test_a_count_below_the_reading_is_complete() -> None:
    core = SyncCore(None, tz=EASTERN)
    core.begin(utc(8))
    core.accept(1)
    core.accept(2)
    assert core.end_pass(1) is False and core.complete is True and core.next_since == utc(7, 59, 58)


def test_a_window_reaching_ahead_accepts_late_stamps_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    core = SyncCore(utc(5, 30), tz=EASTERN, lag=1)
    window = core.begin(utc(6, 10, 2))
    assert window is not None and window.reaches_ahead
    core.accept(1)
    with caplog.at_level(logging.INFO, logger="threedcart"):
        assert core.end_pass(4) is False
    assert core.complete is True and core.passes == 1 and core.next_since == utc(6, 10, 1)
    assert caplog.records[-1].getMessage() == (
        "sync window [2026-11-01T05:30:00+00:00, 2026-11-01T06:10:01+00:00] covers the repeated hour "
        "of a fall-back night: 3 customers were stamped into it while it was read; later runs pick them up"
    )


def test_an_unproven_window_keeps_the_watermark_and_gives_the_reason() -> None:
    core = SyncCore(utc(1), tz=EASTERN)  # three passes by default
    core.begin(utc(8))
    core.accept(1)
    assert core.end_pass(9) is True
    core.accept(1)
    core.accept(2)
    assert core.end_pass(9) is True
    assert core.end_pass(9) is False
    assert core.complete is False and core.next_since is None and core.last_count == 9
    assert (
        core.reason == "the window still counts 9 customers after 3 reading(s), but the last reading found 0"
    )


def test_end_pass_without_begin_reads_again_and_names_no_window(caplog: pytest.LogCaptureFixture) -> None:
    core = SyncCore(None, tz=EASTERN, max_passes=2)
    with caplog.at_level(logging.INFO, logger="threedcart"):
        assert core.end_pass(1) is True
    assert (
        caplog.records[-1].getMessage()
        == "sync window ? counts 1 customers but 0 were read: reading it again"
    )


# =============================================================================================
# import rows
# =============================================================================================
def expected_rule(name: str) -> FieldRule:
    """What the spec says about one Customer field, worked out here from the YAML."""
    prop = PROPERTIES[name]
    kind = {"string": str, "integer": int, "number": float, "boolean": bool}[prop["type"]]
    low, high = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}.get(
        prop.get("format", ""), (None, None)
    )
    lows = [x for x in (prop.get("minimum"), low) if x is not None]
    highs = [x for x in (prop.get("maximum"), high) if x is not None]
    return FieldRule(
        name,
        kind,
        nullable=bool(prop.get("nullable")),
        max_length=prop.get("maxLength"),
        minimum=max(lows) if lows else None,
        maximum=min(highs) if highs else None,
    )


@pytest.mark.parametrize("name", CUSTOMER_FIELDS)
def test_each_rule_is_built_from_the_spec(name: str) -> None:
    from threedcart_customers_client.spec import CUSTOMER_FIELDS as SCHEMAS

    assert _rows._rule(name, SCHEMAS[name]) == expected_rule(name) == FIELDS[name]


@pytest.mark.parametrize(
    ("schema", "bounds"),
    [
        ({"type": "integer"}, (None, None)),
        ({"type": "integer", "format": "int32"}, (-(2**31), 2**31 - 1)),
        ({"type": "integer", "format": "int64"}, (-(2**63), 2**63 - 1)),
        ({"type": "integer", "format": "int32", "minimum": 1}, (1, 2**31 - 1)),
        ({"type": "integer", "format": "int32", "maximum": 10}, (-(2**31), 10)),
        (
            {"type": "integer", "format": "int32", "minimum": -(2**40), "maximum": 2**40},
            (-(2**31), 2**31 - 1),
        ),
        ({"type": "integer", "minimum": 0}, (0, None)),
        ({"type": "integer", "maximum": 0}, (None, 0)),
        ({"type": "number", "format": "double", "minimum": -2.5, "maximum": 2.5}, (-2.5, 2.5)),
    ],
)
def test_rule_bounds_combine_the_schema_and_the_format(schema: dict[str, object], bounds: tuple) -> None:
    rule = _rows._rule("X", schema)
    assert (rule.minimum, rule.maximum) == bounds
    assert rule.nullable is False and rule.max_length is None and rule.name == "X"


def test_rule_kinds_lengths_and_nullability() -> None:
    text = _rows._rule("T", {"type": "string", "nullable": True, "maxLength": 3})
    assert text == FieldRule("T", str, nullable=True, max_length=3)
    assert _rows._rule("B", {"type": "boolean", "nullable": False}) == FieldRule("B", bool)
    assert _rows._rule("N", {"type": "number"}) == FieldRule("N", float)


@pytest.mark.parametrize(
    ("rule", "value", "problem"),
    [
        (FieldRule("B", bool), 1, "B must be true or false, not an integer"),
        (FieldRule("B", bool), "true", "B must be true or false, not a string"),
        (FieldRule("I", int), 1.0, "I must be an integer, not a number"),
        (FieldRule("I", int), False, "I must be an integer, not a boolean"),
        (FieldRule("I", int), [1], "I must be an integer, not a list"),
        (FieldRule("I", int), (1,), "I must be an integer, not a list"),
        (FieldRule("I", int), {"a": 1}, "I must be an integer, not an object"),
        (FieldRule("I", int), b"1", "I must be an integer, not bytes"),
        (FieldRule("F", float), "1.5", "F must be a number, not a string"),
        (FieldRule("F", float), True, "F must be a number, not a boolean"),
        (FieldRule("F", float), float("inf"), "F must be a finite number"),
        (FieldRule("F", float), float("-inf"), "F must be a finite number"),
        (FieldRule("S", str), 5, "S must be a string, not an integer"),
        (FieldRule("S", str), 5.5, "S must be a string, not a number"),
        (FieldRule("S", str, nullable=True), {}, "S must be a string, not an object"),
        (FieldRule("S", str), None, "S must not be null"),
        (FieldRule("I", int, minimum=1), 0, "I must be at least 1, not 0"),
        (FieldRule("I", int, minimum=1.0), -7, "I must be at least 1, not -7"),
        (FieldRule("I", int, maximum=10), 11, "I must be at most 10, not 11"),
        (FieldRule("F", float, minimum=-2.5), -3, "F must be at least -2.5, not -3"),
        (FieldRule("F", float, maximum=0.25), 0.5, "F must be at most 0.25, not 0.5"),
        (FieldRule("S", str, max_length=3), "abcd", "S is longer than 3 characters (4)"),
        (FieldRule("S", str, nullable=True, max_length=0), "a", "S is longer than 0 characters (1)"),
        (FieldRule("S", str), "a\udfffb", "S is not valid Unicode (it contains a lone surrogate)"),
    ],
)
def test_field_problems_are_exact(rule: FieldRule, value: object, problem: str) -> None:
    assert rule.problem(value) == problem


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        (FieldRule("S", str, nullable=True), None),
        (FieldRule("S", str, max_length=3), "abc"),
        (FieldRule("S", str, max_length=3), "é✓ü"),
        (FieldRule("S", str), "Ümlaut ✓"),
        (FieldRule("I", int, minimum=1, maximum=10), 1),
        (FieldRule("I", int, minimum=1, maximum=10), 10),
        (FieldRule("F", float, minimum=0, maximum=1), 1),
        (FieldRule("F", float), -0.0),
        (FieldRule("B", bool), False),
        (FieldRule("B", bool, minimum=2, maximum=-2), True),  # bounds are for numbers only
        (FieldRule("S", str, minimum=2, maximum=-2), "1"),
    ],
)
def test_values_the_spec_allows_have_no_problem(rule: FieldRule, value: object) -> None:
    assert rule.problem(value) is None


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("true", True),
        ("TRUE", True),
        (" 1 ", True),
        ("Yes", True),
        ("y", True),
        ("Y", True),
        ("false", False),
        ("0", False),
        ("NO", False),
        ("no", False),
        ("n", False),
        (" N\t", False),
    ],
)
def test_boolean_cells(cell: str, value: bool) -> None:
    assert FIELDS[BOOL].parse(cell) is value


def test_typed_cells_and_their_errors() -> None:
    assert FIELDS[INT].parse(" 42 ") == 42
    assert FIELDS[NUM].parse(" 2.50 ") == 2.5
    assert FIELDS[NUM].parse("3") == 3.0 and isinstance(FIELDS[NUM].parse("3"), float)
    assert FIELDS[TEXT].parse("  spaced  ") == "  spaced  "
    for rule, cell, message in [
        (FIELDS[BOOL], "maybe", f"{BOOL} must be true or false, not 'maybe'"),
        (FIELDS[BOOL], "", f"{BOOL} must be true or false, not ''"),
        (FIELDS[INT], "4.0", f"{INT} must be an integer, not '4.0'"),
        (FIELDS[NUM], "abc", f"{NUM} must be a number, not 'abc'"),
    ]:
        with pytest.raises(ValueError) as info:
            rule.parse(cell)
        assert str(info.value) == message


def test_unknown_fields_are_listed_with_suggestions() -> None:
    wrong = {ID: 1, TEXT.lower(): "x", "XTestColour": "red", TEXT2.upper(): "y"}
    assert customer_problems(wrong) == [
        f"unknown field(s) {TEXT.lower()}, XTestColour, {TEXT2.upper()} "
        f"(did you mean {TEXT} for {TEXT.lower()}, {TEXT2} for {TEXT2.upper()}?)"
    ]
    # a loose resemblance (under 0.75) is no suggestion
    assert customer_problems({ID: 1, "company": "x"}) == ["unknown field(s) company"]
    assert customer_problems({ID: 1, "XTestColour": "red"}) == ["unknown field(s) XTestColour"]
    assert customer_problems({ID: 2, TEXT: None, LONGEST: "x" * PROPERTIES[LONGEST]["maxLength"]}) == []


def test_update_problems_put_the_missing_id_first() -> None:
    limit = PROPERTIES[SHORTEST]["maxLength"]
    assert update_problems({SHORTEST: "x" * (limit + 1)}) == [
        f"missing {ID}",
        f"{SHORTEST} is longer than {limit} characters ({limit + 1})",
    ]
    assert update_problems({ID: None}) == [f"{ID} must not be null"]  # not also "missing"
    assert update_problems({ID: "7"}) == [f"{ID} must be an integer, not a string"]
    assert update_problems({ID: 7}) == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("X-ray", "X-ray"),
        ("=1", "'=1"),
        ("''=1", "'''=1"),
        ("'t Hooft", "'t Hooft"),
        ("", ""),
        ("'", "'"),
        ("a=b", "a=b"),
    ],
)
def test_neutralise_and_restore(value: str, shown: str) -> None:
    assert neutralise(value) == shown
    assert restore(shown) == value


def test_restore_leaves_quotes_that_protect_nothing() -> None:
    assert restore("'X-ray") == "'X-ray"
    assert restore("X=1") == "X=1"
    assert restore("'=1") == "=1"


def read(data: bytes | list[bytes], fmt: ImportFormat, **kw: object) -> list[ImportRow | RowFailure]:
    chunks = data if isinstance(data, list) else [data]
    return list(read_rows(chunks, fmt, name="f", **kw))  # type: ignore[arg-type]


def test_default_file_name_and_no_rows() -> None:
    with pytest.raises(ImportFileError) as info:
        list(read_rows([], JSONL))
    assert str(info.value) == "the file holds no rows"
    with pytest.raises(ImportFileError) as info:
        list(read_rows([f"{ID}\n".encode()], CSV))
    assert str(info.value) == "the file has a header but no rows"


def test_an_unknown_encoding_is_named() -> None:
    with pytest.raises(ImportFileError) as info:
        read(b"{}", JSONL, encoding="no-such-codec")
    assert str(info.value) == "unknown encoding 'no-such-codec'"
    assert type(info.value) is ImportFileError


def test_an_encoding_error_names_its_line_and_offset_in_one_chunk() -> None:
    data = f'{{"{ID}": 1}}\n{{"{ID}": 2}}\n{{"{TEXT}": "\xff"}}\n'.encode("latin-1")
    with pytest.raises(ImportEncodingError) as info:
        read(data, JSONL)
    offset = data.index(b"\xff")
    assert (info.value.offset, info.value.line) == (offset, 3)
    assert str(info.value) == f"f is not valid utf-8: byte(s) FF at offset {offset} (line 3)"


def test_an_encoding_error_across_chunks_counts_the_buffered_bytes() -> None:
    # "é" is C3 A9: its first byte ends one chunk, a bad continuation starts the next
    chunks = [f"{ID},".encode(), f"{TEXT}\n1,\xc3".encode("latin-1"), b"(\n"]
    with pytest.raises(ImportEncodingError) as info:
        read(chunks, CSV)
    offset = len(chunks[0]) + len(chunks[1]) - 1
    assert (info.value.offset, info.value.line) == (offset, 2)
    assert str(info.value) == f"f is not valid utf-8: byte(s) C3 at offset {offset} (line 2)"


def test_a_truncated_character_at_the_end_of_the_file_is_an_error() -> None:
    data = f"{ID}\n1\n2\xc3".encode("latin-1")
    with pytest.raises(ImportEncodingError) as info:
        read(data, CSV)
    assert str(info.value) == f"f is not valid utf-8: byte(s) C3 at offset {len(data) - 1} (line 3)"


def test_line_numbers_of_encoding_errors_follow_the_encoding() -> None:
    # U+010A is 0A 01 in UTF-16-LE: a byte that looks like a newline but is not one
    text = f"{ID},{TEXT}\n1,\u010a\u010a\n"
    data = text.encode("utf-16-le") + b"\x00\xd8A\x00"  # a lone high surrogate on line 3
    with pytest.raises(ImportEncodingError) as info:
        read(data, CSV, encoding="utf-16-le")
    offset = len(text.encode("utf-16-le"))
    assert (info.value.line, info.value.offset) == (3, offset)
    assert str(info.value) == f"f is not valid utf-16-le: byte(s) 00 D8 at offset {offset} (line 3)"


def utf16_be_file() -> tuple[bytes, bytes]:
    """A big-endian UTF-16 file (told by its BOM) with a lone surrogate on line 3, in two chunks."""
    head = f"\ufeff{ID},{TEXT}\n".encode("utf-16-be")
    rest = "1,\u00d8\n".encode("utf-16-be") + b"\xd8\x00\x00A"  # Ø is 00 D8: a surrogate read backwards
    return head, rest


def test_an_encoding_error_in_a_later_chunk_of_big_endian_utf16_names_its_offset() -> None:
    head, rest = utf16_be_file()
    offset = len(head) + len(rest) - 4
    for chunks in ([head + rest], [head, rest]):
        with pytest.raises(ImportEncodingError) as info:
            read(chunks, CSV, encoding="utf-16")
        assert info.value.offset == offset
        assert str(info.value).startswith(f"f is not valid utf-16: byte(s) D8 00 at offset {offset} (line ")


def test_the_line_of_an_encoding_error_does_not_depend_on_the_chunking() -> None:
    head, rest = utf16_be_file()
    with pytest.raises(ImportEncodingError) as whole:
        read([head + rest], CSV, encoding="utf-16")
    assert whole.value.line == 3
    with pytest.raises(ImportEncodingError) as chunked:
        read([head, rest], CSV, encoding="utf-16")
    assert chunked.value.line == 3


class _Truncating(codecs.BufferedIncrementalDecoder):
    """A codec that reports a missing end as an empty span (as some codecs do)."""

    def _buffer_decode(self, data: bytes, errors: str, final: bool) -> tuple[str, int]:
        if data.endswith(b"\\"):  # an escape waits for the byte after it
            if final:
                raise UnicodeDecodeError("escaped", b"", 0, 0, "escape at the end")
            data = data[:-1]
        return data.decode("ascii", errors), len(data)


def _search(name: str) -> codecs.CodecInfo | None:
    if name != "test_escaped_end":
        return None
    return codecs.CodecInfo(
        encode=lambda s, errors="strict": (s.encode("ascii"), len(s)),
        decode=lambda b, errors="strict": (bytes(b).decode("ascii"), len(b)),
        incrementaldecoder=_Truncating,
        name="test_escaped_end",
    )


codecs.register(_search)


def test_an_error_at_the_very_end_says_so() -> None:
    with pytest.raises(ImportEncodingError) as info:
        read(f"{ID}\n1\\".encode(), CSV, encoding="test_escaped_end")
    assert str(info.value).startswith("f is not valid test_escaped_end: byte(s) end of file at offset")


def test_a_bom_is_dropped_only_at_the_start_of_the_file() -> None:
    chunks = [b"\xef\xbb", b"\xbf" + f"{ID},{TEXT}\n1,".encode(), "\ufeffTampa\n".encode()]
    (row,) = read(chunks, CSV)
    assert row == ImportRow(2, {ID: 1, TEXT: "\ufeffTampa"}, "1")
    (only,) = read([b"", "\ufeff".encode(), f'{{"{ID}": 3}}\n'.encode()], JSONL)
    assert only == ImportRow(1, {ID: 3}, "3")


def test_jsonl_rows_are_whole_and_failures_carry_the_written_id() -> None:
    lines = [
        f'{{"{ID}": 1, "{TEXT}": "a"}}',  # 1
        f'{{"{ID}": 2,',  # 2: cut short, column at its end
        "   ",  # 3: blank
        '"just a string"',  # 4
        f'{{"{ID}": Infinity}}',  # 5
        f'{{"{TEXT}": "{"x" * (PROPERTIES[TEXT]["maxLength"] + 1)}"}}',  # 6
        f'{{"{ID}": 1.5, "{TEXT}": 7}}',  # 7
        f'{{"{ID}": 8}} X',  # 8
        f'{{"{ID}": 9,   ',  # 9: trailing spaces belong to the line
    ]
    result = read(("\r\n".join(lines) + "\n").encode(), JSONL)
    limit = PROPERTIES[TEXT]["maxLength"]
    assert result == [
        ImportRow(1, {ID: 1, TEXT: "a"}, "1"),
        RowFailure(2, "", "not valid JSON: Expecting property name enclosed in double quotes (column 18)"),
        RowFailure(4, "", "not a JSON object (one customer per line)"),
        RowFailure(5, "", "not valid JSON: Infinity is not a JSON number"),
        RowFailure(6, "", f"missing {ID}; {TEXT} is longer than {limit} characters ({limit + 1})"),
        RowFailure(
            7, "1.5", f"{ID} must be an integer, not a number; {TEXT} must be a string, not an integer"
        ),
        RowFailure(8, "", "not valid JSON: Extra data (column 19)"),
        RowFailure(9, "", "not valid JSON: Expecting property name enclosed in double quotes (column 21)"),
    ]


def test_jsonl_nesting_too_deep_is_a_row_failure() -> None:
    (failure,) = read(b"[" * 100_000 + b"\n", JSONL)
    assert isinstance(failure, RowFailure) and failure.row == 1 and failure.customer_id == ""
    assert failure.message.startswith("not valid JSON: ")


def test_csv_rows_report_each_problem_by_row_and_keep_going() -> None:
    header = f"{TEXT},{ID},{BOOL}"
    data = "\n".join(
        [
            header,
            'x,1,"true"z',  # 2: not valid CSV
            "only",  # 3: too short to reach the id
            "a,4",  # 4: cell count
            "",  # 5: blank
            ",6,",  # 6: empty cells leave their fields alone
            "b,7,true,extra",  # 7
            "=c,8,no",  # 8
            "'=d,9,yes",  # 9: neutralised text is restored
        ]
    )
    result = read((data + "\n").encode(), CSV)
    assert result == [
        RowFailure(2, "", "not valid CSV: ',' expected after '\"'"),
        RowFailure(3, "", "has 1 cells; the header has 3"),
        RowFailure(4, "4", "has 2 cells; the header has 3"),
        ImportRow(6, {ID: 6}, "6"),
        RowFailure(7, "7", "has 4 cells; the header has 3"),
        ImportRow(8, {TEXT: "=c", ID: 8, BOOL: False}, "8"),
        ImportRow(9, {TEXT: "=d", ID: 9, BOOL: True}, "9"),
    ]
    raw = read((data + "\n").encode(), CSV, raw_csv=True)
    assert raw[-1] == ImportRow(9, {TEXT: "'=d", ID: 9, BOOL: True}, "9")


def test_csv_empty_cells_in_the_middle_are_skipped_not_the_rest() -> None:
    (row,) = read(f"{ID},{TEXT},{TEXT2}\n 5 ,,Tampa\n".encode(), CSV)
    assert row == ImportRow(2, {ID: 5, TEXT2: "Tampa"}, "5")


def test_csv_cell_problems_are_joined_once_each() -> None:
    limit = PROPERTIES[SHORTEST]["maxLength"]
    long = "y" * (limit + 1)
    data = f"{ID},{BOOL},{INT},{SHORTEST}\nx,maybe,1.5,{long}\n,,,\n,,,{long}\n".encode()
    too_long = f"{SHORTEST} is longer than {limit} characters ({limit + 1})"
    assert read(data, CSV) == [
        RowFailure(
            2,
            "x",
            f"{ID} must be an integer, not 'x'; {BOOL} must be true or false, not 'maybe'; "
            f"{INT} must be an integer, not '1.5'; {too_long}",
        ),
        RowFailure(3, "", f"missing {ID}"),
        RowFailure(4, "", f"missing {ID}; {too_long}"),
    ]


def test_only_text_cells_are_restored() -> None:
    data = f"{ID},{INT},{TEXT}\n1,'-5,'-5\n".encode()
    assert read(data, CSV) == [RowFailure(2, "1", f'{INT} must be an integer, not "\'-5"')]
    data = f"{ID},{TEXT}\n1,'-5\n".encode()
    assert read(data, CSV) == [ImportRow(2, {ID: 1, TEXT: "-5"}, "1")]


def test_a_header_that_is_not_csv() -> None:
    with pytest.raises(ImportFileError) as info:
        read(f'"{ID}"x,{TEXT}\n1,a\n'.encode(), CSV)
    assert str(info.value) == "f: the header row is not valid CSV (',' expected after '\"')"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            f"{ID},,{TEXT}",
            "f: unknown column(s) (unnamed column 2); "
            "columns are the API's field names (CustomerID, Email, BillingCity, ...)",
        ),
        (
            f" ,{ID}",
            "f: unknown column(s) (unnamed column 1); "
            "columns are the API's field names (CustomerID, Email, BillingCity, ...)",
        ),
        (
            f"{ID},{TEXT2},{TEXT},{TEXT2},{TEXT}",
            f"f: column(s) {', '.join(sorted([TEXT, TEXT2]))} appear more than once",
        ),
        (f"{TEXT}", f"f has no {ID} column: each row must name the customer it updates"),
        (" , ", "f is empty: its first row must name the columns (CustomerID, ...)"),
    ],
)
def test_header_problems_are_exact(header: str, message: str) -> None:
    with pytest.raises(ImportFileError) as info:
        read(f"{header}\n1\n".encode(), CSV)
    assert str(info.value) == message


def test_several_unknown_columns_are_listed_with_their_suggestions() -> None:
    with pytest.raises(ImportFileError) as info:
        read(f"{ID},XTestColour,{TEXT.lower()},\n1,a,b,c\n".encode(), CSV)
    assert str(info.value) == (
        f"f: unknown column(s) XTestColour, {TEXT.lower()}, (unnamed column 4) "
        f"(did you mean {TEXT} for {TEXT.lower()}?); "
        "columns are the API's field names (CustomerID, Email, BillingCity, ...)"
    )


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n"])
def test_a_csv_file_without_a_header(data: bytes) -> None:
    with pytest.raises(ImportFileError) as info:
        read(data, CSV)
    assert str(info.value) == "f is empty: its first row must name the columns (CustomerID, ...)"


def test_tally_numbers_failures_by_file_row() -> None:
    tally = ImportTally()
    assert tally.rows_read == 0 and tally.failures(BulkResult()) == []
    rows = read(f"{ID}\n1\nx\n3\n4\n".encode(), CSV)
    assert list(tally.sendable(rows)) == [{ID: 1}, {ID: 3}, {ID: 4}]
    assert tally.rows_read == 4
    result = BulkResult(updated=[1])
    result.failed += [
        BulkFailure(2, 4, 404, "not found"),
        BulkFailure(1, None, 400, "refused"),
    ]
    assert tally.failures(result) == [
        RowFailure(3, "x", f"{ID} must be an integer, not 'x'"),
        RowFailure(4, "", "refused"),
        RowFailure(5, "4", "not found"),
    ]


# =============================================================================================
# bulk batches
# =============================================================================================
def items(n: int) -> list[BulkItem[str]]:
    return [BulkItem(i, 100 + i, f"body {i}") for i in range(n)]


def test_bulk_result_summary() -> None:
    result = BulkResult()
    assert result.ok and len(result) == 0 and result.batches == 0
    assert result.updated == [] and result.failed == [] and BulkResult().updated is not result.updated
    result.updated += [1, 2]
    result.failed.append(BulkFailure(2, 3, 404, "gone"))
    assert not result.ok and len(result) == 3
    assert BulkFailure(0, None, 400, "m").sent is True


def test_partial_result_is_attached_sorted_and_read_back() -> None:
    result = BulkResult(updated=[1], failed=[BulkFailure(5, 6, 400, "b"), BulkFailure(2, 3, 404, "a")])
    exc = RuntimeError("boom")
    assert partial_result(exc) is None
    attach_partial(exc, result)
    assert getattr(exc, PARTIAL_RESULT) is result and PARTIAL_RESULT == "partial_result"
    assert partial_result(exc) is result
    assert [f.index for f in result.failed] == [2, 5]
    other = RuntimeError("x")
    other.partial_result = "not a result"  # type: ignore[attr-defined]
    assert partial_result(other) is None


def batches(*sizes: int) -> Iterator[list[BulkItem[str]]]:
    start = 0
    for size in sizes:
        yield [BulkItem(i, i, "") for i in range(start, start + size)]
        start += size


def drive_plan(plan: BulkPlan[str], bad: set[int], message: str = "item {n}: rejected") -> list[list[int]]:
    sent = []
    while (batch := plan.next_batch()) is not None:
        assert plan.next_batch() is batch  # asked again before an answer: the same batch
        sent.append([item.index for item in batch])
        positions = [n for n, item in enumerate(batch) if item.index in bad]
        if positions:
            plan.refused(batch, message.format(n=positions[0]))
        else:
            plan.result.updated.extend(item.customer_id for item in batch)
            plan.answered(batch)
    return sent


def test_a_refused_batch_is_halved_first_half_first_and_larger_half_first() -> None:
    plan: BulkPlan[str] = BulkPlan(iter([items(5)]))
    sent = drive_plan(plan, bad={3})
    assert sent == [[0, 1, 2, 3, 4], [0, 1, 2], [3, 4], [3], [4]]
    assert plan.result.updated == [100, 101, 102, 104]
    assert plan.result.failed == [BulkFailure(3, 103, 400, "rejected")]


def test_item_prefix_is_removed_only_for_a_single_item_and_only_at_the_start() -> None:
    plan: BulkPlan[str] = BulkPlan(iter([items(1)]))
    drive_plan(plan, bad={0}, message="item 12: too long; see item 3: here")
    assert plan.result.failed[0].message == "too long; see item 3: here"
    plan = BulkPlan(iter([items(1)]))
    drive_plan(plan, bad={0}, message="bad item 2: x")
    assert plan.result.failed[0].message == "bad item 2: x"


def test_splitting_stops_after_max_splits_per_batch_and_says_so() -> None:
    plan: BulkPlan[str] = BulkPlan(batches(4, 3), max_splits=1)
    sent = drive_plan(plan, bad=set(range(7)), message="item {n}: no")
    # each batch: itself, then one split into halves, which are refused whole (a single item alone)
    assert sent == [[0, 1, 2, 3], [0, 1], [2, 3], [4, 5, 6], [4, 5], [6]]
    unsplit = "item 0: no (its batch of 2 was refused and not split further)"
    assert [(f.index, f.customer_id, f.message) for f in plan.result.failed] == [
        *((i, i, unsplit) for i in range(6)),
        (6, 6, "no"),
    ]
    assert all(f.status == 400 and f.sent for f in plan.result.failed)


def test_the_plan_checks_that_it_is_answered_about_the_batch_it_gave() -> None:
    plan: BulkPlan[str] = BulkPlan(batches(2))
    batch = plan.next_batch()
    assert batch is not None
    with pytest.raises(AssertionError):
        plan.refused(list(batch), "a copy is not the batch")
    with pytest.raises(AssertionError):
        plan.answered(list(batch))
    plan.answered(batch)
    with pytest.raises(AssertionError):
        plan.answered(batch)  # nothing is on its way any more
    with pytest.raises(AssertionError):
        plan.refused(batch, "x")


def test_no_splits_at_all_refuses_the_batch_whole() -> None:
    plan: BulkPlan[str] = BulkPlan(iter([items(3)]), max_splits=0)
    assert drive_plan(plan, bad={1}) == [[0, 1, 2]]
    assert [f.customer_id for f in plan.result.failed] == [100, 101, 102]


def test_the_default_split_budget_is_32_per_batch() -> None:
    plan: BulkPlan[str] = BulkPlan(iter([items(40), items(40)]))
    sent = drive_plan(plan, bad=set(range(80)))
    assert len(sent) == 2 * (1 + 2 * 32)
    assert len(plan.result.failed) == 80 and plan.result.updated == []
    assert [f.index for f in plan.result.failed] == sorted(f.index for f in plan.result.failed)


def test_the_plan_fills_the_result_it_is_given() -> None:
    result = BulkResult(failed=[BulkFailure(9, 1, 400, "checked before sending", sent=False)])
    plan: BulkPlan[str] = BulkPlan(iter([items(2)]), result=result)
    assert plan.result is result
    drive_plan(plan, bad={0})
    assert [f.index for f in result.failed] == [0, 9]  # sorted by position at the end
    assert result.updated == [101]


def test_batches_are_sent_in_order_and_an_empty_plan_ends_at_once() -> None:
    plan: BulkPlan[str] = BulkPlan(batches(2, 1, 3))
    assert drive_plan(plan, bad=set()) == [[0, 1], [2], [3, 4, 5]]
    assert plan.next_batch() is None
    assert BulkPlan(iter([])).next_batch() is None


# --- bulk results matched to the items by CustomerID ---------------------------------------------
@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("17", 17),
        (17, 17),
        ("2147483647", 2**31 - 1),
        ("2147483648", None),
        ("0", None),
        (0, None),
        (-3, None),
        ("", None),
        ("x", None),
        ("²", None),
        (" 17", None),
        (True, None),
        (None, None),
        (17.0, None),
    ],
)
def test_named_id_reads_the_customer_id_of_a_result(value: object, named: int | None) -> None:
    assert named_id(value) == named


@pytest.mark.parametrize(
    ("sent", "named", "order"),
    [
        ([1, 2, 3], [1, 2, 3], [0, 1, 2]),
        ([1, 2, 3, 4], [2, 4, 1, 3], [2, 0, 3, 1]),  # failures first
        ([5, 5, 6], [6, 5, 5], [1, 2, 0]),  # an id sent twice: its results in order
        ([1, 2], [None, None], [0, 1]),  # no result names an id: by position
        ([], [], []),
    ],
)
def test_results_are_matched_by_the_id_they_name(
    sent: list[int], named: list[int | None], order: list[int]
) -> None:
    assert match_results(sent, named) == order


@pytest.mark.parametrize(
    ("sent", "named", "message"),
    [
        ([1, 2], [1], "1 results for 2 items"),
        ([1], [1, 1], "2 results for 1 items"),
        ([1, 2, 3], [1, 9, 3], "a result names CustomerID 9, which the batch does not hold"),
        ([1, 2, 3], [1, 2, 2], "a result names CustomerID 2, 2 times for 1 item(s)"),
        ([4, 4, 3], [4, 4, 4], "a result names CustomerID 4, 3 times for 2 item(s)"),
        ([1, 2, 3], [9, 8, 3], "a result names CustomerID 8, which the batch does not hold"),
        ([1, 2, 3], [1, None, 3], "result 2 names no CustomerID, others do"),
        ([1, 2], [None, 2], "result 1 names no CustomerID, others do"),
    ],
)
def test_results_that_cannot_be_matched_are_a_mismatch(
    sent: list[int], named: list[int | None], message: str
) -> None:
    with pytest.raises(ResultMismatch) as info:
        match_results(sent, named)
    assert str(info.value) == message and isinstance(info.value, ValueError)


# --- page workers (_pages) ---------------------------------------------------------------------
def test_a_page_worker_skips_a_cancelled_fetch_and_serves_the_next() -> None:
    import threading

    from threedcart._pages import Fetches

    pages = Fetches(1)
    release = threading.Event()
    first = pages.start(release.wait, 10)
    skipped = pages.start(lambda: "never")
    skipped.cancel()  # cancelled while the one worker is busy with the first
    last = pages.start(lambda: "served")
    release.set()
    try:
        assert first.result() is True
        for _ in range(500):  # bounded: a worker that stopped at the cancelled fetch never serves it
            if last._future.done():
                break
            time.sleep(0.01)
        assert last._future.done() and last.result() == "served"
    finally:
        pages.close()
    assert pages.abandoned.is_set()


def test_a_page_workers_failure_is_raised_by_its_result() -> None:
    from threedcart._pages import Fetches

    pages = Fetches(1)
    failure = ValueError("page 3 went wrong")

    def fail() -> None:
        raise failure

    try:
        with pytest.raises(ValueError) as caught:
            pages.start(fail).result()
        assert caught.value is failure
    finally:
        pages.close()


# --- rules of synthetic schemas: allOf, OpenAPI 3.1 type lists, arrays, objects --------------------
def test_an_allof_rule_merges_the_properties_and_required_of_every_member() -> None:
    schema = {
        "allOf": [
            {"type": "object", "properties": {"XTestA": {"type": "string"}}, "required": ["XTestA"]},
            {"properties": {"XTestB": {"type": "integer"}}, "required": ["XTestB"]},
        ],
        "properties": {"XTestC": {"type": "boolean"}},
        "required": ["XTestC"],
        "nullable": True,
        "additionalProperties": False,
    }
    rule = _rows._rule("XTestAddress", schema)
    assert rule == FieldRule(
        "XTestAddress",
        dict,
        nullable=True,
        properties=(FieldRule("XTestA", str), FieldRule("XTestB", int), FieldRule("XTestC", bool)),
        required=("XTestA", "XTestB", "XTestC"),
        closed=True,
    )
    assert rule.problem({}) == "XTestAddress is missing XTestA, XTestB, XTestC"
    whole = {"XTestA": "a", "XTestB": 1, "XTestC": True}
    assert rule.problem(whole) is None and rule.problem(None) is None
    assert rule.problem({**whole, "XTestB": "1"}) == "XTestAddress.XTestB must be an integer, not a string"
    assert rule.problem({**whole, "XTestD": 1, "XTestE": 2}) == (
        "XTestAddress has unknown field(s) XTestD, XTestE"
    )


def test_an_allof_member_alone_gives_its_own_properties() -> None:
    member = {"type": "object", "properties": {"XTestA": {"type": "string"}}, "required": ["XTestA"]}
    rule = _rows._rule("XTestBox", {"allOf": [member]})
    assert rule == FieldRule("XTestBox", dict, properties=(FieldRule("XTestA", str),), required=("XTestA",))
    assert rule.problem({"XTestZ": 1}) == "XTestBox is missing XTestA"  # open: only the missing one


@pytest.mark.parametrize(
    ("declared", "kind", "nullable"),
    [
        (["string", "null"], str, True),
        (["null", "integer"], int, True),
        (["number"], float, False),
        (["null"], object, True),
        ("XTestNoSuchType", object, False),
    ],
)
def test_openapi_31_type_lists_give_the_kind_and_nullability(
    declared: object, kind: type, nullable: bool
) -> None:
    rule = _rows._rule("XTestField", {"type": declared})
    assert (rule.kind, rule.nullable) == (kind, nullable)


def test_a_schema_without_a_type_accepts_any_json() -> None:
    rule = _rows._rule("XTestAny", {"description": "anything"})
    assert rule == FieldRule("XTestAny", object)
    assert [rule.problem(v) for v in ("x", 1, [1], {"a": 1}, True)] == [None] * 5
    assert rule.problem(None) == "XTestAny must not be null"
    assert rule.parse(' {"a": [1]} ') == {"a": [1]}
    with pytest.raises(ValueError, match=r"^XTestAny must be JSON, not '\{a'$"):
        rule.parse("{a")


def test_an_array_rule_has_its_item_rule_and_bounds() -> None:
    schema = {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "string", "maxLength": 2}}
    rule = _rows._rule("XTestTags", schema)
    assert rule == FieldRule(
        "XTestTags", list, min_items=2, max_items=3, items=FieldRule("XTestTags", str, max_length=2)
    )
    assert rule.problem(["a"]) == "XTestTags must have at least 2 item(s), not 1"
    assert rule.problem(["a", "b"]) is None and rule.problem(("a", "b", "c")) is None
    assert rule.problem(["a", "b", "c", "d"]) == "XTestTags must have at most 3 item(s), not 4"
    assert rule.problem(["a", "abc"]) == "XTestTags[1] is longer than 2 characters (3)"


def test_a_deprecated_schema_makes_a_deprecated_rule() -> None:
    assert _rows._rule("XTestOld", {"type": "string", "deprecated": True}).deprecated is True
    assert _rows._rule("XTestNew", {"type": "string"}).deprecated is False


def test_an_open_object_rule_takes_unknown_properties() -> None:
    schema = {"type": "object", "properties": {"XTestA": {"type": "integer"}}}
    for extra in ({}, {"additionalProperties": True}, {"additionalProperties": {"type": "string"}}):
        rule = _rows._rule("XTestBag", {**schema, **extra})
        assert rule.closed is False and rule.problem({"XTestA": 1, "XTestQ": "x"}) is None


def test_a_json_object_cell_that_is_not_json_names_what_it_must_be() -> None:
    rule = _rows._rule("XTestBag", {"type": "object"})
    with pytest.raises(ValueError, match=r"^XTestBag must be a JSON object, not '\[1'$"):
        rule.parse("[1")
    assert rule.parse('{"k": 1}') == {"k": 1}


def test_a_nul_character_anywhere_in_a_string_is_refused() -> None:
    assert FieldRule("XTestText", str).problem("a\x00b") == "XTestText contains a NUL character"
    assert FieldRule("XTestText", str).problem("a\\x00b") is None


def test_a_deprecated_field_warning_names_every_deprecated_field_at_the_callers_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_rows, "DEPRECATED_FIELDS", frozenset({"Comments", "Email"}))
    with pytest.warns(DeprecationWarning) as caught:
        _rows.warn_deprecated({"CustomerID": 1, "Comments": "x", "Email": "a@example.com"})
    assert [str(w.message) for w in caught] == ["Customer field(s) Comments, Email are deprecated by the API"]
    assert caught[0].filename == __file__  # this file's line, however deep the SDK raised it


def test_a_warning_at_the_users_line_is_shown_once_per_line_and_names_its_module() -> None:
    def deprecated_call() -> None:
        _rows.warn_at_users_line("XTest is deprecated", DeprecationWarning)

    registry = globals().setdefault("__warningregistry__", {})
    registry.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # once per location, as Python shows deprecations
        for _ in range(3):
            deprecated_call()
    assert [(str(w.message), w.category, w.filename) for w in caught] == [
        ("XTest is deprecated", DeprecationWarning, __file__)
    ]
    assert caught[0].lineno == deprecated_call.__code__.co_firstlineno + 1
    assert ("XTest is deprecated", DeprecationWarning, caught[0].lineno) in registry
    with warnings.catch_warnings(record=True) as module_filter:
        warnings.filterwarnings("ignore", module=__name__)  # filters by the user's module apply
        deprecated_call()
    assert module_filter == []


def test_without_frames_the_warning_is_still_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_rows.inspect, "currentframe", lambda: None)  # an interpreter without frames
    with pytest.warns(UserWarning, match="^XTest$"):
        _rows.warn_at_users_line("XTest", UserWarning)


def test_a_customer_id_twice_in_a_file_fails_the_later_rows() -> None:
    result = list(read_rows([b"CustomerID,Comments\n7,a\n8,b\n7,c\n7,d\n"], CSV))
    assert result[:2] == [
        ImportRow(2, {ID: 7, "Comments": "a"}, "7"),
        ImportRow(3, {ID: 8, "Comments": "b"}, "8"),
    ]
    assert result[2:] == [
        RowFailure(4, "7", f"{ID} 7 is also in row 2: a file updates each customer once"),
        RowFailure(5, "7", f"{ID} 7 is also in row 2: a file updates each customer once"),
    ]


def test_a_stopped_import_accounts_for_every_row() -> None:
    data = b"CustomerID,Comments\n1,a\n2,b\n3," + b"x" * 300 + b"\n4,d\n5,e\n6,f\n"
    tally = ImportTally()
    sendable = tally.sendable(read_rows([data], CSV))
    sent = [next(sendable)[ID] for _ in range(4)]  # rows 2, 3, 5, 6 (row 4 is refused)
    assert sent == [1, 2, 4, 5] and tally.rows_read == 5
    done = BulkResult(updated=[1])
    done.failed.append(BulkFailure(3, 5, 404, "The Customer record was not found"))
    stopped = tally.stopped(done, read_rows([data], CSV), "interrupted")
    assert [(f.row, f.customer_id, f.message) for f in stopped] == [
        (3, "2", "sent, but the run stopped before its answer (interrupted): check this customer"),
        (4, "3", "Comments is longer than 255 characters (300)"),
        (5, "4", "sent, but the run stopped before its answer (interrupted): check this customer"),
        (6, "5", "The Customer record was not found"),
        (7, "6", "not sent: the run stopped after 1 updates (interrupted)"),
    ]


def test_an_import_stopped_before_any_answer_reports_every_row() -> None:
    data = b"CustomerID,Comments\n1,a\n2,b\n"
    tally = ImportTally()
    next(tally.sendable(read_rows([data], CSV)))
    stopped = tally.stopped(None, read_rows([data], CSV), "Ctrl-C")
    assert [(f.row, f.customer_id, f.message) for f in stopped] == [
        (2, "1", "sent, but the run stopped before its answer (Ctrl-C): check this customer"),
        (3, "2", "not sent: the run stopped after 0 updates (Ctrl-C)"),
    ]


def test_a_bulk_failure_scrubs_secrets_from_text_and_keeps_anything_else() -> None:
    from threedcart import _secrets

    _secrets.register(["XTestSecret-0123456789"])  # as a store registers its credentials
    assert BulkFailure(0, 1, 400, "refused XTestSecret-0123456789").message == "refused [redacted]"
    # a dataclass does not check its fields: a service's non-text message is kept as it came
    assert BulkFailure(0, 1, 400, None).message is None  # type: ignore[arg-type]


# --- one CSV row as a customer (customer_from_csv_row), and blank cells ------------------------------
def test_a_csv_row_becomes_a_customer_with_typed_values() -> None:
    from threedcart import customer_from_csv_row

    row = {ID: " 7 ", "Enabled": "yes", "TotalStoreCredit": "2.5", "Comments": "'=1+1", "BillingCity": ""}
    expected = {ID: 7, "Enabled": True, "TotalStoreCredit": 2.5, "Comments": "=1+1"}
    assert customer_from_csv_row(row) == expected  # the blank city is left out: unchanged
    assert customer_from_csv_row(row, raw_csv=True) == {**expected, "Comments": "'=1+1"}


def test_blank_csv_cells_are_kept_or_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    from threedcart import customer_from_csv_row

    monkeypatch.setitem(_rows.FIELDS, "XTestScore", FieldRule("XTestScore", int, nullable=True))
    row = {ID: "7", "BillingCity": "", "Enabled": "", "XTestScore": ""}
    assert customer_from_csv_row(row) == {ID: 7}
    assert customer_from_csv_row(row, blanks="keep") == {ID: 7}
    # text is cleared, a nullable field nulled; a boolean cannot be blank and stays unchanged
    assert customer_from_csv_row(row, blanks="clear") == {ID: 7, "BillingCity": "", "XTestScore": None}


def test_a_csv_row_that_cannot_be_read_names_every_problem() -> None:
    from threedcart import customer_from_csv_row

    row: dict[str | None, str | list[str] | None] = {ID: "x", "Enabld": "1", "Enabled": None, None: ["extra"]}
    with pytest.raises(ValueError) as caught:
        customer_from_csv_row(row)
    assert str(caught.value) == (
        "the row has more cells than the header; unknown column(s) Enabld (did you mean Enabled?); "
        "Enabled has no cell (the row is shorter than the header); CustomerID must be an integer, not 'x'"
    )
    with pytest.raises(ValueError, match=r"^unknown column\(s\) XTestA, XTestB$"):
        customer_from_csv_row({ID: "1", "XTestA": "", "XTestB": "", None: []})  # no cells beyond: fine


def test_a_csv_row_must_be_a_mapping_and_blanks_keep_or_clear() -> None:
    from threedcart import customer_from_csv_row

    with pytest.raises(TypeError, match=r"^a CSV row is a mapping of column names to cells, not a list$"):
        customer_from_csv_row(["7"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^blanks must be 'keep' or 'clear', not 'drop'$"):
        customer_from_csv_row({ID: "7"}, blanks="drop")  # type: ignore[arg-type]


def test_an_import_file_clears_blank_text_cells_when_asked() -> None:
    data = b"CustomerID,BillingCity,Enabled,Comments\n7,,,'=x\n"
    assert list(read_rows([data], CSV)) == [ImportRow(2, {ID: 7, "Comments": "=x"}, "7")]
    assert list(read_rows([data], CSV, blanks="clear", raw_csv=True)) == [
        ImportRow(2, {ID: 7, "BillingCity": "", "Comments": "'=x"}, "7")
    ]


def test_only_text_cells_are_restored_from_spreadsheet_protection() -> None:
    from threedcart import customer_from_csv_row

    with pytest.raises(ValueError, match=r"""^CustomerGroupID must be an integer, not "'-5"$"""):
        customer_from_csv_row({ID: "7", "CustomerGroupID": "'-5"})
    assert customer_from_csv_row({ID: "7", "Comments": "'-5"}) == {ID: 7, "Comments": "-5"}

"""The paging planner, driven by scripted answers from a simulated live list (no I/O)."""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from threedcart._pagination import (
    COUNT,
    MAX_FRUITLESS_STEPS,
    Answer,
    CountRequest,
    Pager,
    PageRequest,
    Request,
    SeenIds,
    classify,
)
from threedcart.errors import PaginationError, ThreeDCartError

EXCEEDS = "Offset amount exceeds the total number of records"


class Refused(ThreeDCartError):
    """The error a simulated answer carries."""


@dataclass
class LiveList:
    """A list the service pages over while it changes; answers like the real one can."""

    ids: list[int]
    order: Callable[[int], int] = lambda i: i
    bodiless: bool = False
    next_id: int = 0
    log: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.next_id = max(self.ids, default=0) + 1

    def ordered(self) -> list[int]:
        return sorted(self.ids, key=self.order)

    def answer(self, request: Request) -> Answer[int]:
        self.log.append(request)
        if isinstance(request, CountRequest):
            return Answer(200, total=len(self.ids))
        rows = self.ordered()
        if not rows:
            return self._error(404, "No Customer records found")
        if request.offset > len(rows):
            return self._error(400, EXCEEDS)
        return Answer(200, records=rows[request.offset - 1 : request.offset - 1 + request.limit])

    def _error(self, status: int, message: str) -> Answer[int]:
        return Answer(status, message=None if self.bodiless else message, error=Refused(f"{status}"))

    def create(self) -> None:
        self.ids.append(self.next_id)
        self.next_id += 1

    def delete(self, rng: random.Random) -> None:
        if self.ids:
            self.ids.remove(rng.choice(self.ids))


def drive(
    pager: Pager[int],
    answer: Callable[[Request], Answer[int]],
    between: Callable[[], None] = lambda: None,
    limit: int = 10_000,
) -> list[int]:
    """A driver like Store's: send what the planner asks, feed answers back in order, drop stale ones."""
    out: list[int] = []
    pending: list[tuple[Request, Answer[int]]] = []
    for _ in range(limit):
        if pager.done:
            return out
        # answers are computed when asked: the pages of one batch see the same store
        pending += [(r, answer(r)) for r in pager.requests()]
        request, got = pending.pop(0)
        epoch = pager.epoch
        out += pager.feed(request, got)
        if pager.epoch != epoch:
            pending = [(r, a) for r, a in pending if isinstance(r, CountRequest)]
        between()
    raise AssertionError("the planner did not finish")


def key(record: int) -> int:
    return record


def pages_asked(store: LiveList) -> list[int]:
    return [r.offset for r in store.log if isinstance(r, PageRequest)]


# --- ends -----------------------------------------------------------------------------
@pytest.mark.parametrize("bodiless", [False, True])
@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("n", [0, 1, 9, 10, 11, 19, 20, 21, 45])
def test_every_record_once_on_a_still_list(n: int, concurrency: int, bodiless: bool) -> None:
    store = LiveList(list(range(1, n + 1)), bodiless=bodiless)
    assert drive(Pager(10, key, concurrency=concurrency), store.answer) == list(range(1, n + 1))


def test_pages_overlap_by_one_and_an_exact_multiple_ends_on_a_short_page() -> None:
    store = LiveList(list(range(1, 21)))
    assert drive(Pager(10, key), store.answer) == list(range(1, 21))
    # 1-10, 10-19, 19-20: the last page is short, so no probe past the end is needed
    assert pages_asked(store) == [1, 10, 19]


def test_concurrent_reading_asks_the_count_with_the_first_pages_and_no_further_than_it() -> None:
    store = LiveList(list(range(1, 96)))
    assert drive(Pager(10, key, concurrency=4), store.answer) == list(range(1, 96))
    assert store.log[0] == COUNT
    assert pages_asked(store) == [1 + 9 * k for k in range(11)]  # the 11th starts at 91 <= 95


def test_growth_at_an_exact_multiple_is_read() -> None:
    store = LiveList(list(range(1, 21)))
    pager: Pager[int] = Pager(10, key, concurrency=3)
    grown = False

    def grow() -> None:
        nonlocal grown
        if not grown and len(store.log) >= 3:
            grown = True
            for _ in range(5):
                store.create()

    assert drive(pager, store.answer, grow) == list(range(1, 26))


@pytest.mark.parametrize("concurrency", [1, 2, 8])
def test_speculative_pages_past_the_end_are_never_fatal(concurrency: int) -> None:
    def answer(request: Request) -> Answer[int]:
        if isinstance(request, CountRequest):
            return Answer(200, total=3)
        if request.offset == 1:
            return Answer(200, records=[1, 2, 3])
        return Answer(500, error=Refused("a page past the end failed"))

    assert drive(Pager(10, key, concurrency=concurrency), answer) == [1, 2, 3]


def test_an_inflated_count_with_empty_pages_ends() -> None:
    def answer(request: Request) -> Answer[int]:
        if isinstance(request, CountRequest):
            return Answer(200, total=1_000_000)
        assert isinstance(request, PageRequest)
        data = list(range(1, 31))
        return Answer(200, records=data[request.offset - 1 : request.offset - 1 + request.limit])

    pager: Pager[int] = Pager(10, key, concurrency=8)
    assert drive(pager, answer, limit=100) == list(range(1, 31))


def test_a_service_whose_pages_contradict_themselves_raises() -> None:
    # Offset 10 is empty although 1-10 is full, every time: no page ever connects.
    def answer(request: Request) -> Answer[int]:
        assert isinstance(request, PageRequest)
        return Answer(200, records=list(range(1, 11)) if request.offset == 1 else [])

    with pytest.raises(PaginationError):
        drive(Pager(10, key), answer)


def test_page_size_one_is_plain_offset_paging() -> None:
    store = LiveList(list(range(1, 6)))
    assert drive(Pager(1, key), store.answer) == [1, 2, 3, 4, 5]
    assert pages_asked(store) == [1, 2, 3, 4, 5, 6]


def test_records_entering_behind_the_reader_never_end_the_list_early() -> None:
    # The reviewer's case: 3 and 5 match throughout; 1, 2 and 4 leave, then 1 and 2 come back.
    ids = [1, 2, 3, 4, 5]
    script = iter(
        [
            lambda: None,
            lambda: None,
            lambda: [ids.remove(1), ids.remove(2), ids.remove(4)],
            lambda: None,
            lambda: [ids.insert(0, 2), ids.insert(0, 1)],
        ]
    )
    store = LiveList(ids)
    out = drive(Pager(2, key), store.answer, lambda: next(script, lambda: None)())
    assert {3, 5} <= set(out) and len(out) == len(set(out))


@pytest.mark.parametrize(
    ("answer", "offset", "kind"),
    [
        (Answer(200, records=[1]), 1, "page"),
        (Answer(200, records=[]), 7, "end"),
        (Answer(404, message=None), 1, "end"),
        (Answer(404, message="No Customer records found"), 11, "end"),
        (Answer(400, message=EXCEEDS), 11, "end"),
        (Answer(400, message="  offset AMOUNT exceeds the total"), 11, "end"),
        (Answer(400, message="lastupdatestart is not a date"), 11, "error"),
        (Answer(400, message=None), 11, "end"),
        (Answer(400, message=None), 1, "error"),
        (Answer(500, message=None), 11, "error"),
        (Answer(0), 11, "error"),
        (Answer(200, records=None), 1, "error"),
    ],
)
def test_where_a_list_ends_is_decided_by_status_and_position(
    answer: Answer[int], offset: int, kind: str
) -> None:
    assert classify(answer, offset) == kind


def test_a_real_refusal_is_raised_on_the_first_page() -> None:
    refused = Refused("bad filter")
    with pytest.raises(Refused):
        drive(Pager(10, key), lambda r: Answer(400, message=None, error=refused))
    with pytest.raises(Refused):
        drive(Pager(10, key), lambda r: Answer(400, message="lastupdateend is invalid", error=refused))


def test_a_failed_count_is_raised() -> None:
    def answer(request: Request) -> Answer[int]:
        if isinstance(request, CountRequest):
            return Answer(404, error=Refused("count 404: wrong base_url?"))
        return Answer(200, records=[1])

    with pytest.raises(Refused, match="wrong base_url"):
        drive(Pager(10, key, concurrency=2), answer)


def test_a_needed_page_that_fails_is_raised() -> None:
    def answer(request: Request) -> Answer[int]:
        assert isinstance(request, PageRequest)
        if request.offset == 1:
            return Answer(200, records=list(range(1, 11)))
        return Answer(503, error=Refused("unavailable"))

    with pytest.raises(Refused, match="unavailable"):
        drive(Pager(10, key), answer)


# --- a list that changes ------------------------------------------------------------------
def test_a_delete_before_the_offset_is_noticed_and_reread() -> None:
    store = LiveList(list(range(1, 31)))
    deleted = False

    def delete_first() -> None:
        nonlocal deleted
        if not deleted:
            deleted = True
            store.ids.remove(1)
            store.ids.remove(2)

    assert drive(Pager(10, key), store.answer, delete_first) == list(range(1, 31))
    # plain offset paging would have read 1-10, then 11+2=13..., skipping 11 and 12
    assert pages_asked(store)[:3] == [1, 10, 1]


def test_a_shift_larger_than_a_page_steps_back_further() -> None:
    store = LiveList(list(range(1, 101)))
    done = False

    def delete_many() -> None:
        nonlocal done
        if not done and len(store.log) == 3:
            done = True
            del store.ids[:45]

    out = drive(Pager(10, key), store.answer, delete_many)
    assert sorted(out) == out and len(out) == len(set(out))
    assert set(range(46, 101)) <= set(out)


def test_a_list_that_never_connects_raises_instead_of_losing_records() -> None:
    # Past the first page, every answer holds records never seen before: nothing proves
    # that the pages connect, so the reader keeps stepping back, then gives up loudly.
    fresh_ids = iter(range(1000, 10**9))
    asked: list[int] = []

    def answer(request: Request) -> Answer[int]:
        assert isinstance(request, PageRequest)
        asked.append(request.offset)
        if request.offset == 1:
            return Answer(200, records=list(range(1, 11)))
        return Answer(200, records=[next(fresh_ids) for _ in range(10)])

    with pytest.raises(PaginationError, match="step-backs in a row"):
        drive(Pager(10, key), answer, limit=100_000)
    assert asked.count(10) == MAX_FRUITLESS_STEPS + 1


def test_a_list_emptied_while_read_ends_without_error() -> None:
    store = LiveList(list(range(1, 1001)))

    def shrink() -> None:
        del store.ids[:20]  # more than a page in front of the reader before every answer

    out = drive(Pager(10, key), store.answer, shrink, limit=100_000)
    assert len(out) == len(set(out))


def test_out_of_order_pages_are_never_dropped_and_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    store = LiveList(list(range(1, 58)), order=lambda i: (i * 37) % 101)
    with caplog.at_level(logging.WARNING, logger="threedcart"):
        out = drive(Pager(10, key, concurrency=3), store.answer)
    assert out == store.ordered()
    warnings = [r for r in caplog.records if "out of CustomerID order" in r.getMessage()]
    assert len(warnings) == 1


def test_seen_ids_keeps_increasing_ids_compact_and_the_rest_exact() -> None:
    seen = SeenIds()
    assert [seen.add(i) for i in (1, 5, 9)] == [True, True, True]
    assert seen.add(5) is False and seen.add(3) is True and seen.add(3) is False
    assert 3 in seen and 9 in seen and 4 not in seen and 10 not in seen
    assert len(seen) == 4


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(0, 120),
    page_size=st.integers(2, 15),
    concurrency=st.integers(1, 6),
    shuffled=st.booleans(),
    bodiless=st.booleans(),
    seed=st.integers(0, 2**32),
    writes=st.integers(0, 4),
    churn=st.booleans(),
)
def test_records_present_throughout_are_yielded_exactly_once(
    n: int,
    page_size: int,
    concurrency: int,
    shuffled: bool,
    bodiless: bool,
    seed: int,
    writes: int,
    churn: bool,
) -> None:
    rng = random.Random(seed)
    store = LiveList(
        list(range(1, n + 1)),
        order=(lambda i: (i * 7919) % 1009) if shuffled else (lambda i: i),
        bodiless=bodiless,
    )
    untouched = set(store.ids)

    away: list[int] = []  # with churn, records leave the list and come back (a filter)
    budget = [80]  # writers stop some time: a list that grows faster than it is read never ends

    def write() -> None:
        for _ in range(min(budget[0], rng.randint(0, writes))):
            budget[0] -= 1
            roll = rng.random()
            if roll < 0.5 and store.ids:
                victim = rng.choice(store.ids)
                store.ids.remove(victim)
                untouched.discard(victim)
                if churn:
                    away.append(victim)
            elif churn and away and roll < 0.8:
                store.ids.append(away.pop(rng.randrange(len(away))))
            else:
                store.create()

    out = drive(Pager(page_size, key, concurrency=concurrency), store.answer, write, limit=50_000)
    counts = Counter(out)
    assert all(c == 1 for c in counts.values()), "a record was yielded twice"
    assert untouched <= set(counts), f"lost {sorted(untouched - set(counts))}"

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
    MAX_EMPTY_STARTS,
    MAX_FRUITLESS_STEPS,
    MAX_STALE_PAGES,
    Answer,
    CountRequest,
    Pager,
    PageRequest,
    Request,
    SeenIds,
    classify,
    confirmed_empty,
    export_needs_changes,
    export_problem,
    one_page,
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
    # 1-10, 10-19, 19-20, then 20 alone: a short page is the end only once the next proves it
    assert pages_asked(store) == [1, 10, 19, 20]
    counted = LiveList(list(range(1, 21)))
    assert drive(Pager(10, key, concurrency=2), counted.answer) == list(range(1, 21))
    # with the count: 19-20 ends at the 20th record, as the count says
    assert pages_asked(counted) == [1, 10, 19] and counted.log[0] == COUNT


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
        if request.offset == 3:  # the page that proves the end after the short one
            return Answer(200, records=[3])
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


# --- a list ends only where the store proves it --------------------------------------------
def ask(pager: Pager[int], offset: int, limit: int = 10) -> PageRequest:
    """The one request the planner sends next, checked to start at `offset`."""
    (request,) = pager.requests()
    assert isinstance(request, PageRequest) and (request.offset, request.limit) == (offset, limit), request
    return request


def page(*ids: int) -> Answer[int]:
    return Answer(200, records=list(ids))


def span(first: int, last: int) -> Answer[int]:
    return page(*range(first, last + 1))


def test_a_capped_service_is_read_on_and_its_cap_learned_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="threedcart")
    pager: Pager[int] = Pager(10, key)
    assert pager.feed(ask(pager, 1), span(1, 4)) == [1, 2, 3, 4]  # 4 of the 10 asked for
    assert not pager.done and pager.cap is None and pager.full == 10
    # read on from the short page's last record: more records there, never more than 4
    assert pager.feed(ask(pager, 4), span(4, 7)) == [5, 6, 7]
    assert (pager.cap, pager.full, pager.overlap, pager.stride) == (4, 4, 1, 3)
    assert [r.getMessage() for r in caplog.records] == [
        "paging: the service serves at most 4 records a page (10 were asked for); reading on by 3"
    ]
    # pages of 4 are full from now on; `limit` still asks for the page size
    assert pager.feed(ask(pager, 7), span(7, 10)) == [8, 9, 10]
    assert pager.feed(ask(pager, 10), span(10, 11)) == [11]  # short again: its end is not proven yet
    assert not pager.done
    assert pager.feed(ask(pager, 11), page(11)) == []  # only the record it overlaps: the end
    assert pager.done and pager.requests() == [] and pager.step_backs == 0 and pager.epoch == 0
    assert len(caplog.records) == 1  # learned once


def test_a_short_page_followed_by_a_longer_one_was_no_cap() -> None:
    pager: Pager[int] = Pager(10, key)
    pager.feed(ask(pager, 1), span(1, 4))  # the list had 4 records; 6 more came meanwhile
    assert pager.feed(ask(pager, 4), span(4, 10)) == [5, 6, 7, 8, 9, 10]
    assert pager.cap is None and pager.full == 10  # 7 records after a page of 4: not capped
    pager.feed(ask(pager, 10), page(10))
    assert pager.done


def test_a_cap_is_learned_from_the_tail_too() -> None:
    pager: Pager[int] = Pager(10, key)
    pager.feed(ask(pager, 1), span(1, 4))
    assert pager.feed(ask(pager, 4), span(4, 6)) == [5, 6]  # the rest: fewer than the short page
    assert pager.cap == 4 and pager.full == 4
    assert not pager.done  # short against the cap too: proven by the next page
    pager.feed(ask(pager, 6), page(6))
    assert pager.done


def test_a_page_that_repeats_only_the_overlap_ends_the_list_only_after_an_accepted_page() -> None:
    pager: Pager[int] = Pager(10, key)
    assert pager.feed(ask(pager, 1), page(1)) == [1]
    # a first page of one record: nothing to overlap, so the offset after it must answer the end
    assert not pager.done
    assert pager.feed(ask(pager, 2), Answer(400, message="Offset amount exceeds the total")) == []
    assert pager.done and pager.step_backs == 0


def test_a_page_past_a_one_record_page_must_still_connect() -> None:
    pager: Pager[int] = Pager(10, key)
    pager.feed(ask(pager, 1), page(1))
    assert pager.feed(ask(pager, 2), span(2, 5)) == []  # records after it, none known: step back
    assert pager.step_backs == 1 and not pager.done
    assert pager.feed(ask(pager, 1, 10), span(1, 5)) == [2, 3, 4, 5]
    assert pager.feed(ask(pager, 5), page(5)) == []
    assert pager.done


def test_an_end_where_the_overlap_was_asked_is_a_shrunk_list_not_the_end() -> None:
    pager: Pager[int] = Pager(10, key)
    pager.feed(ask(pager, 1), span(1, 4))
    assert pager.feed(ask(pager, 4), Answer(404)) == []  # record 4's place is empty: re-read
    assert not pager.done and pager.step_backs == 1 and pager.epoch == 1
    assert pager.feed(ask(pager, 1), span(1, 3)) == []
    assert pager.feed(ask(pager, 3), page(3)) == []
    assert pager.done


@pytest.mark.parametrize(("total", "proven"), [(23, True), (22, False), (24, False), (0, False)])
def test_a_short_page_ending_at_the_count_is_the_end(total: int, proven: bool) -> None:
    pager: Pager[int] = Pager(10, key, concurrency=2)
    assert pager.requests() == [COUNT, PageRequest(1, 10, 0)]
    pager.feed(COUNT, Answer(200, total=total))
    assert pager.feed(PageRequest(1, 10, 0), span(1, 10)) == list(range(1, 11))
    pager.requests()
    pager.feed(PageRequest(10, 10, 0), span(10, 19))
    pager.requests()
    assert pager.feed(PageRequest(19, 10, 0), span(19, 23)) == [20, 21, 22, 23]
    assert pager.done is proven
    if not proven:
        assert pager.requests() == [PageRequest(23, 10, 0)]


def test_while_a_short_page_is_unproven_one_page_is_in_flight() -> None:
    pager: Pager[int] = Pager(10, key, concurrency=4)
    first = pager.requests()
    assert first == [COUNT, PageRequest(1, 10, 0), PageRequest(10, 10, 0), PageRequest(19, 10, 0)]
    pager.feed(COUNT, Answer(200, total=100))
    assert pager.requests() == [PageRequest(28, 10, 0)]
    # page 1 is capped at 4: the pages asked after it start at the wrong offsets
    assert pager.feed(first[1], span(1, 4)) == [1, 2, 3, 4]
    assert pager.epoch == 1 and pager.step_backs == 0
    assert pager.feed(first[2], span(10, 13)) == []  # of the old epoch: dropped
    assert pager.requests() == [PageRequest(4, 10, 1)]
    assert pager.requests() == []  # one at a time until it is settled
    assert pager.feed(PageRequest(4, 10, 1), span(4, 7)) == [5, 6, 7]
    # the cap is learned: up to 4 pages again, 3 apart
    assert pager.requests() == [PageRequest(o, 10, 1) for o in (7, 10, 13, 16)]


def test_a_short_page_alone_in_flight_keeps_the_epoch() -> None:
    pager: Pager[int] = Pager(10, key)
    pager.feed(ask(pager, 1), span(1, 4))
    assert pager.epoch == 0  # nothing else was asked: nothing to drop


def test_an_empty_first_page_is_believed_with_a_count_of_0_only() -> None:
    pager: Pager[int] = Pager(10, key)
    assert pager.feed(ask(pager, 1), Answer(200, records=[])) == []
    assert not pager.done and pager.requests() == [COUNT]
    assert pager.requests() == []  # nothing until the count is in
    assert pager.feed(COUNT, Answer(200, total=2000)) == [] and pager.total == 2000
    assert pager.feed(ask(pager, 1), span(1, 10)) == list(range(1, 11))  # read again: there it is
    assert not pager.done


def test_an_empty_first_page_and_a_count_of_0_asked_with_it_agree() -> None:
    pager: Pager[int] = Pager(10, key, concurrency=3)
    first = pager.requests()
    pager.feed(COUNT, Answer(200, total=0))
    assert pager.feed(first[1], Answer(404)) == []
    assert pager.done and pager.requests() == []


def test_an_empty_first_page_while_the_count_says_otherwise_asks_again_then_raises() -> None:
    pager: Pager[int] = Pager(10, key, concurrency=3)
    first = pager.requests()
    pager.feed(COUNT, Answer(200, total=7))
    sent = len(first)
    with pytest.raises(PaginationError) as info:
        request: Request = first[1]
        while True:
            pager.feed(request, Answer(404) if isinstance(request, PageRequest) else Answer(200, total=7))
            (request,) = pager.requests()  # one at a time: the count, then page 1 alone
            sent += 1
    times = MAX_EMPTY_STARTS + 1
    assert (
        str(info.value)
        == f"the first page came back empty {times} times while the store counted 7 matching records"
    )
    assert MAX_EMPTY_STARTS == 8
    assert sent == len(first) + 2 * MAX_EMPTY_STARTS + 1


def test_a_count_that_fails_after_an_empty_first_page_is_raised() -> None:
    pager: Pager[int] = Pager(10, key)
    pager.feed(ask(pager, 1), Answer(404))
    with pytest.raises(Refused, match=r"^wrong base_url$"):
        pager.feed(COUNT, Answer(404, error=Refused("wrong base_url")))


def test_empty_starts_are_forgiven_once_a_page_brings_records() -> None:
    pager: Pager[int] = Pager(10, key)
    for _ in range(MAX_EMPTY_STARTS):
        pager.feed(ask(pager, 1), Answer(404))
        assert pager.requests() == [COUNT]
        pager.feed(COUNT, Answer(200, total=5))
    pager.feed(ask(pager, 1), span(1, 10))  # records at last
    pager.feed(ask(pager, 10), Answer(404))  # shrank: back to 1
    pager.feed(ask(pager, 1), Answer(404))
    assert pager.requests() == [COUNT]
    pager.feed(COUNT, Answer(200, total=5))  # would be one too many without the reset
    assert not pager.done and pager.requests() == [PageRequest(1, 10, 1)]


def test_pages_that_reach_past_everything_read_with_nothing_new_raise() -> None:
    pager: Pager[int] = Pager(10, key)
    sent = 0
    with pytest.raises(PaginationError) as info:
        while True:
            (request,) = pager.requests()
            sent += 1
            pager.feed(request, span(1, 10))  # the first page, whatever the offset
    assert str(info.value) == (
        f"the service answered {MAX_STALE_PAGES + 1} pages in a row that reach past every record read "
        "yet hold no new one (does it ignore offset?)"
    )
    assert MAX_STALE_PAGES == 8 and sent == MAX_STALE_PAGES + 2 and pager.step_backs == 0


def test_pages_read_again_below_the_furthest_point_are_not_stale() -> None:
    pager: Pager[int] = Pager(4, key)
    for offset, first in ((1, 1), (4, 4), (7, 7), (10, 10)):
        pager.feed(ask(pager, offset, 4), span(first, first + 3))
    assert pager.feed(ask(pager, 13, 4), span(90, 93)) == []  # the list shrank in front: back
    for offset in (10, 13):  # re-read up to where the reading had come: nothing new, expected
        pager.feed(ask(pager, offset, 4), span(offset, offset + 3))
    # past it, a page with nothing new counts: MAX_STALE_PAGES of them are tolerated
    for _ in range(MAX_STALE_PAGES):
        (request,) = pager.requests()
        assert isinstance(request, PageRequest)
        pager.feed(request, span(13, 16))
    (request,) = pager.requests()
    with pytest.raises(PaginationError):
        pager.feed(request, span(13, 16))


def test_a_new_record_resets_the_stale_pages() -> None:
    pager: Pager[int] = Pager(3, key)
    pager.feed(ask(pager, 1, 3), span(1, 3))
    offset = 3
    for n in range(3 * MAX_STALE_PAGES):
        fresh = 100 + n if n % MAX_STALE_PAGES == 0 else 3  # a new record every MAX_STALE_PAGES pages
        pager.feed(ask(pager, offset, 3), page(1, 2, fresh))
        offset += 2
    assert not pager.done


@pytest.mark.parametrize(
    ("answer", "offset", "page"),
    [
        (Answer(200, records=[1, 2]), 5, [1, 2]),
        (Answer(200, records=[]), 1, []),
        (Answer(400, message="Offset amount exceeds the total"), 3, []),
        (Answer(400, message=None), 3, []),
        (Answer(404), 1, None),
        (Answer(404, message="No Customer records found"), 7, None),
    ],
)
def test_one_page_confirms_a_404_with_a_count(
    answer: Answer[int], offset: int, page: list[int] | None
) -> None:
    assert one_page(answer, offset) == page


def test_one_page_raises_a_refusal_and_a_failed_count() -> None:
    with pytest.raises(Refused, match=r"^bad$"):
        one_page(Answer(400, message="lastupdatestart is invalid", error=Refused("bad")), 1)
    assert confirmed_empty(Answer(200, total=0)) == [] and confirmed_empty(Answer(200, total=9)) == []
    with pytest.raises(Refused, match=r"^base_url$"):
        confirmed_empty(Answer(404, error=Refused("base_url")))


@pytest.mark.parametrize(
    ("exported", "before", "after", "needed"),
    [(5, 5, 5, False), (4, 5, 5, True), (5, 4, 5, True), (5, 5, 4, True), (0, 0, 0, False)],
)
def test_an_export_needs_the_writes_only_when_the_numbers_differ(
    exported: int, before: int, after: int, needed: bool
) -> None:
    assert export_needs_changes(exported, before, after) is needed


@pytest.mark.parametrize(
    ("exported", "before", "after", "changed", "problem"),
    [
        (2000, 2000, 2000, 0, None),
        (
            200,
            2000,
            2000,
            0,
            "the store counted 2000 at the start and 2000 at the end (0 of them written "
            "since): at least 2000 were there throughout, but 200 were read",
        ),
        (
            1999,
            2000,
            2000,
            0,
            "the store counted 2000 at the start and 2000 at the end (0 of them written "
            "since): at least 2000 were there throughout, but 1999 were read",
        ),
        (1990, 2000, 2000, 10, None),
        (
            1989,
            2000,
            2000,
            10,
            "the store counted 2000 at the start and 2000 at the end (10 of them written "
            "since): at least 1990 were there throughout, but 1989 were read",
        ),
        (2010, 2000, 2000, 10, None),
        (
            2011,
            2000,
            2000,
            10,
            "2011 were read, more than the 2000 counted at the start and the 10 written since",
        ),
        (1990, 2000, 1990, 0, None),  # shrank
        (2000, 1990, 2000, 10, None),  # grew
        (
            2001,
            2000,
            2000,
            0,
            "2001 were read, more than the 2000 counted at the start and the 0 written since",
        ),
    ],
)
def test_an_export_is_checked_against_the_counts_and_the_writes(
    exported: int, before: int, after: int, changed: int, problem: str | None
) -> None:
    assert export_problem(exported, before, after, changed) == problem


def test_a_cap_below_the_overlap_shrinks_the_overlap_to_one_record() -> None:
    pager: Pager[int] = Pager(10, key, overlap=3)
    assert pager.feed(ask(pager, 1), span(1, 2)) == [1, 2]  # the service serves 2 of the 10
    assert pager.feed(ask(pager, 2), span(2, 3)) == [3]  # read on from the short page's last record
    assert (pager.cap, pager.overlap, pager.stride) == (2, 1, 1)
    assert pager.feed(ask(pager, 3), span(3, 4)) == [4]  # pages of 2, one record apart
    assert pager.feed(ask(pager, 4), page(4)) == []
    assert pager.done and pager.step_backs == 0


def test_a_short_page_after_a_step_back_drops_the_pages_asked_with_it() -> None:
    pager: Pager[int] = Pager(10, key, concurrency=4)
    first = pager.requests()
    pager.feed(COUNT, Answer(200, total=100))
    assert pager.feed(first[1], span(1, 10)) == list(range(1, 11))
    assert pager.feed(first[2], span(12, 21)) == []  # does not connect: step back
    assert pager.epoch == 1
    again = pager.requests()
    assert again == [PageRequest(o, 10, 1) for o in (1, 10, 19, 28)]
    assert pager.feed(again[0], span(1, 4)) == []  # short now: the list shrank; replan from 4
    assert pager.epoch == 2
    assert pager.feed(again[1], span(10, 19)) == []  # asked in epoch 1: dropped
    assert pager.requests() == [PageRequest(4, 10, 2)]


def test_a_page_ending_where_the_short_page_ended_is_no_sign_of_a_cap() -> None:
    pager: Pager[int] = Pager(10, key, overlap=2)
    assert pager.feed(ask(pager, 1), span(1, 10)) == list(range(1, 11))
    assert pager.feed(ask(pager, 9), span(9, 12)) == [11, 12]  # short: 4 of 10, ending at 12
    # read on overlapping 2: record 12 was replaced meanwhile, and nothing follows it
    assert pager.feed(ask(pager, 11), page(11, 99)) == [99]
    assert pager.cap is None and pager.full == 10 and pager.stride == 8


def test_an_empty_first_page_with_a_count_says_it_reads_again(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="threedcart")
    pager: Pager[int] = Pager(10, key)
    assert pager.feed(ask(pager, 1), Answer(404)) == []
    assert pager.requests() == [COUNT]
    assert pager.feed(COUNT, Answer(200, total=5)) == []
    assert [r.getMessage() for r in caplog.records] == [
        "paging: nothing at offset 1 but a count of 5; reading it again"
    ]
    assert pager.feed(ask(pager, 1), span(1, 5)) == [1, 2, 3, 4, 5]

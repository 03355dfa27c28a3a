"""The paging planner: which pages to ask for, what to yield, and where a list ends. No I/O.

The API pages with `limit`/`offset` over live data, with no snapshot and no cursor. A record
that leaves the list (deleted, or updated out of a filter) before the current offset shifts
every later record one place back, and a plain `offset += limit` then skips one record for
good. The planner reads overlapping pages instead: each page after the first starts on the
last record of the one before (`offset += limit - 1`), and a page is accepted only when it
contains a record already yielded, which proves that nothing lies between the two. When it
does not, the list shrank in front of the reader: the planner steps back (one stride, then
twice as far, down to offset 1, which is always accepted) and reads forward again.

Each record is yielded once, whatever the order the service sends (ids are remembered, in
8 bytes apiece while they arrive in increasing CustomerID order). Where a list ends is
decided from status codes, never from whether an answer has a body: 404 ("no records"), an
empty page, and the 400 "offset exceeds" (by its message, or by its position past the first
page when it has no body) all mean "nothing at this offset". Such an answer, or a page with
no known record, after a full page means the list shrank, so it is verified by stepping back
rather than trusted. `page_size=1` leaves no room for overlap and is read as plain offset paging.

A list ends only where the store proves it. The service may serve fewer records than `limit`
asks for (a silent cap), so a short page is not the end by itself: the planner reads on from
where it ended, and the list ends when that next page holds only the records it overlaps
(nothing follows them), when an end answer comes where no overlap was possible, or when the
page ends exactly at the count. A short page followed by more records was capped: that size is
learned once and is a full page from then on. Nothing at offset 1 is believed only with a
count of 0 (asked with the first page, or after it; a 404 count is raised: it suggests a wrong
base URL). A service that keeps answering pages that reach past everything read without a new
record (it ignores `offset`), or an empty first page while it counts records, ends in
`PaginationError` within a bounded number of requests.

`Store` and `AsyncStore` drive the same `Pager`: they send what `requests()` asks for (up to
`concurrency` at once), feed each answer back in the order asked with `feed()`, yield what it
returns, and drop the requests of an older `epoch`. `list()` reads one page with `one_page`
and `confirmed_empty`; the CLI's export checks its number against the store's counts with
`export_problem`.
"""

from __future__ import annotations

import bisect
import itertools
import logging
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ._constants import PAGE_OVERLAP
from .errors import PaginationError, ThreeDCartError

log = logging.getLogger("threedcart")

T = TypeVar("T")

OFFSET_EXCEEDS = "offset amount exceeds"
"""The start of the service's 400 message for an offset past the last record."""

MAX_FRUITLESS_STEPS = 64
"""Step-backs in a row without a new record before the planner gives up (a list that never holds still)."""
MAX_STALE_PAGES = 8
"""Pages in a row that reach past everything read yet hold no new record before the planner gives
up (a service that ignores `offset` answers the same page forever)."""
MAX_EMPTY_STARTS = 8
"""Empty first pages, each contradicted by a count asked after it, before the planner gives up."""


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Ask for `limit` records from the 1-based `offset`."""

    offset: int
    limit: int
    epoch: int


@dataclass(frozen=True, slots=True)
class CountRequest:
    """Ask for the number of matching records (`countonly=1`)."""


COUNT = CountRequest()
Request = PageRequest | CountRequest


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """What the service answered to one request, as the driver saw it.

    `status` is the HTTP status (0 when there was no answer at all); `records` the parsed page
    of a 200 list answer, `total` the parsed count; `message` the service's error message, or
    None when the answer had no body; `error` the exception to raise if the planner finds the
    answer fatal.
    """

    status: int
    records: Sequence[T] | None = None
    total: int | None = None
    message: str | None = None
    error: BaseException | None = None


def classify(answer: Answer[T], offset: int) -> str:
    """ "page", "end" (nothing at this offset) or "error", from the status code and the offset."""
    if answer.status == 200 and answer.records is not None:
        return "page" if answer.records else "end"
    if answer.status == 404:
        return "end"
    if answer.status == 400:
        if answer.message is not None:
            return "end" if answer.message.strip().lower().startswith(OFFSET_EXCEEDS) else "error"
        # No body: "offset exceeds" is recognised by its position. Offset 1 cannot exceed
        # anything (an empty list is a 404), so a bodiless 400 there is a real refusal.
        return "end" if offset > 1 else "error"
    return "error"


def raise_for(answer: Answer[T]) -> None:
    """Raise the answer's error (an unexpected answer with no error attached is a bug)."""
    if answer.error is not None:
        raise answer.error
    raise ThreeDCartError(f"unexpected answer: HTTP {answer.status}")


def one_page(answer: Answer[T], offset: int) -> list[T] | None:
    """The records of one page (`list()`), [] where the list has nothing at this offset, or None
    when a count must confirm a 404 first (the service's "no records", or a wrong base URL)."""
    if classify(answer, offset) == "error":
        raise_for(answer)
    if answer.status == 404:
        return None
    return list(answer.records or ())


def confirmed_empty(count: Answer[T]) -> list[T]:
    """[] once a count answered for a 404 page; the count's error otherwise (a 404 count: base URL)."""
    if count.total is None:
        raise_for(count)
    return []


def export_needs_changes(exported: int, before: int, after: int) -> bool:
    """Whether checking an export needs the number of records written during it (see `export_problem`)."""
    return not exported == before == after


def export_problem(exported: int, before: int, after: int, changed: int) -> str | None:
    """Why `exported` distinct records cannot be a complete reading of a list the store counted
    `before` the reading and `after` it; None when they can.

    `changed` is how many of the records counted `after` were created or updated since the
    reading began (more is safe). Every other record counted `after` was in the list, untouched,
    from start to end, and a reading yields each such record: at least `after - changed`. A
    reading yields nothing that was never in the list: at most `before + changed` (a record
    created and removed again while read can exceed this; then the check fails safe).
    """
    low, high = after - changed, before + changed
    if exported < low:
        return (
            f"the store counted {before} at the start and {after} at the end ({changed} of them written "
            f"since): at least {low} were there throughout, but {exported} were read"
        )
    if exported > high:
        return (
            f"{exported} were read, more than the {before} counted at the start and the {changed} "
            "written since"
        )
    return None


class SeenIds:
    """The set of ids yielded so far: 8 bytes per id while ids increase, a set for the rest."""

    __slots__ = ("_others", "_run")

    def __init__(self) -> None:
        self._run = array("q")
        self._others: set[int] = set()

    def __contains__(self, key: int) -> bool:
        run = self._run
        if run and key <= run[-1]:
            i = bisect.bisect_left(run, key)
            if i < len(run) and run[i] == key:
                return True
        return key in self._others

    def add(self, key: int) -> bool:
        """Remember `key`; False when it was already there."""
        run = self._run
        if not run or key > run[-1]:
            run.append(key)
            return True
        if key in self:
            return False
        self._others.add(key)
        return True

    def __len__(self) -> int:
        return len(self._run) + len(self._others)


class Pager(Generic[T]):
    """Plans the reading of one list and decides what of each answer to yield.

    `key` gives a record's id (None if it has none: such records are always yielded and
    prove nothing). With `concurrency > 1` the planner asks for the count together with the
    first pages and keeps up to `concurrency` pages in flight, but no further than the count
    reaches: pages past the end are harmless (their answers are dropped) yet cost requests.
    While a short page's end is unproven, one page is in flight at a time.
    """

    def __init__(
        self,
        page_size: int,
        key: Callable[[T], int | None],
        *,
        concurrency: int = 1,
        overlap: int = PAGE_OVERLAP,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.page_size = page_size
        self.concurrency = concurrency
        self.overlap = max(0, min(overlap, page_size - 1))
        self.stride = page_size - self.overlap
        self.key = key
        self.seen = SeenIds()
        self.epoch = 0
        self.done = False
        self.total: int | None = None
        self.pages_read = 0
        self.step_backs = 0
        self.unordered = False
        self.full = page_size
        """The records of a full page: `page_size`, or the service's cap once learned."""
        self.cap: int | None = None
        """The most records the service serves in a page, once a capped page was seen."""
        self._want_count = concurrency > 1
        self._next_offset = 1
        self._in_flight = 0
        self._verified = False  # a page has been accepted: later pages must connect to it
        self._back = self.stride
        self._fruitless = 0
        # (last position, length) of a short page not yet proven the end
        self._short: tuple[int, int] | None = None
        self._end_at: int | None = None  # where an end answer proves the end (past a page of one record)
        self._reach = 0  # the furthest position an accepted page reached
        self._stale = 0
        self._empty_starts = 0
        self._recount = False  # nothing at offset 1: waiting for a count to believe it

    # --- what to send ------------------------------------------------------------------
    def requests(self) -> list[Request]:
        """The requests to send now, in order (the driver keeps their answers in this order)."""
        if self.done:
            return []
        out: list[Request] = []
        if self._want_count:
            self._want_count = False
            out.append(COUNT)
        if self._recount:
            return out
        while self._in_flight < self.concurrency and self._may_ask(self._next_offset):
            out.append(PageRequest(self._next_offset, self.page_size, self.epoch))
            self._in_flight += 1
            self._next_offset += self.stride
        return out

    def _may_ask(self, offset: int) -> bool:
        if self._in_flight == 0:
            return True  # the page the reading needs next
        if self._short is not None or self._empty_starts:
            return False  # where (or whether) the next page starts depends on the one in flight
        if self.total is None:  # the count is on its way: guess a few pages with it
            return self._in_flight < self.concurrency - 1
        return offset <= self.total

    # --- what came back ------------------------------------------------------------------
    def feed(self, request: Request, answer: Answer[T]) -> list[T]:
        """The records of `answer` to yield; raises the answer's error when it is fatal."""
        if isinstance(request, CountRequest):
            return self._counted(answer)
        if request.epoch != self.epoch or self.done:
            return []  # asked before a step back, or past the end: never fatal
        self._in_flight -= 1
        kind = classify(answer, request.offset)
        if kind == "error":
            raise_for(answer)
        # Without overlap (page_size 1) nothing can be checked: plain offset paging.
        trusted = request.offset == 1 or not self._verified or self.overlap == 0
        if kind == "end":
            return self._ended(request.offset, trusted)
        records = answer.records
        assert records is not None  # classify() said "page"
        keys = [self.key(r) for r in records]
        self._check_order(keys)
        known = [k is not None and k in self.seen for k in keys]
        if not trusted and not any(known):
            if all(k is None for k in keys):
                pass  # nothing to check against: accept
            else:
                self._step_back(request.offset)
                return []
        # Only records already read, no more of them than the overlap, after an accepted page:
        # the page that ended on them is followed by nothing.
        proves_end = self._verified and len(records) <= self.overlap and all(known)
        self.pages_read += 1
        self._verified = True
        self._back = self.stride
        fresh = [r for r, k in zip(records, keys, strict=True) if k is None or self.seen.add(k)]
        if fresh:
            self._fruitless = 0
            self._stale = 0
            self._empty_starts = 0
        if proves_end:
            self.done = True
            return fresh
        last = request.offset + len(records) - 1
        short, self._short, self._end_at = self._short, None, None
        if short is not None and self.cap is None and last > short[0] and len(records) <= short[1]:
            # more records after a short page, and never more than it held: it was capped
            self._learn_cap(short[1], request.offset)
        if not fresh and last > self._reach:
            self._stale += 1
            if self._stale > MAX_STALE_PAGES:
                raise PaginationError(
                    f"the service answered {self._stale} pages in a row that reach past every record "
                    "read yet hold no new one (does it ignore offset?)"
                )
        self._reach = max(self._reach, last)
        if len(records) < self.full:
            self._short_page(last, len(records))
        return fresh

    def _counted(self, answer: Answer[T]) -> list[T]:
        if answer.total is None:
            raise_for(answer)
        self.total = answer.total
        if self._recount:
            self._recount = False
            if self.total == 0:
                self.done = True  # nothing at offset 1, and the store counts nothing: empty
                return []
            self._empty_starts += 1
            if self._empty_starts > MAX_EMPTY_STARTS:
                raise PaginationError(
                    f"the first page came back empty {self._empty_starts} times while the store "
                    f"counted {self.total} matching records"
                )
            log.debug("paging: nothing at offset 1 but a count of %d; reading it again", self.total)
        return []

    def _short_page(self, last: int, length: int) -> None:
        """A page of fewer records than a full one ended at position `last`: prove its end."""
        if self.total is not None and last == self.total:
            self.done = True  # the count agrees: nothing lies after this page
            return
        # Read on from where the page ended, overlapping its last record: more records there
        # mean the page was capped; only the overlapped record means the list ends with it.
        # A page of one record leaves nothing to overlap: the offset after it must answer "end".
        overlap = min(self.overlap, length - 1)
        following = last + 1 - overlap
        self._short = (last, length)
        self._end_at = following if overlap == 0 else None
        self._replan(following)

    def _learn_cap(self, cap: int, offset: int) -> None:
        """The page at `offset`, alone in flight, showed that the service serves at most `cap` records."""
        self.cap = self.full = cap
        self.overlap = min(self.overlap, cap - 1)
        self.stride = self._back = cap - self.overlap
        self._next_offset = offset + self.stride
        log.info(
            "paging: the service serves at most %d records a page (%d were asked for); reading on by %d",
            cap,
            self.page_size,
            self.stride,
        )

    def _replan(self, offset: int) -> None:
        if self._in_flight:  # pages asked after this one start at the wrong offsets
            self.epoch += 1
            self._in_flight = 0
        self._next_offset = offset

    def _ended(self, offset: int, trusted: bool) -> list[T]:
        if offset == 1:
            return self._empty_start()
        if trusted or offset == self._end_at:
            self.done = True
            return []
        # Nothing at this offset although the page before it was full: the list shrank in
        # front of us. Never believed without a page that connects; a service whose pages
        # keep contradicting themselves ends in PaginationError, not in a silent end.
        self._step_back(offset)
        return []

    def _empty_start(self) -> list[T]:
        """Nothing at offset 1: the list is empty only if a count asked now says so (a wrong
        base URL answers 404 everywhere, and a service may answer one empty page by mistake)."""
        if self.total == 0:
            self.done = True  # the count asked with the first page agrees
            return []
        self._short = self._end_at = None
        self._recount = self._want_count = True
        self._replan(1)
        return []

    def _step_back(self, offset: int) -> None:
        self._fruitless += 1
        if self._fruitless > MAX_FRUITLESS_STEPS:
            raise PaginationError(
                f"the list kept shifting under the reader: {self._fruitless - 1} step-backs in a row "
                "found no new record"
            )
        self.step_backs += 1
        self.epoch += 1
        self._in_flight = 0
        self._short = self._end_at = None
        self._next_offset = max(1, offset - self._back)
        self._back *= 2
        log.debug("paging: list changed before offset %d; re-reading from %d", offset, self._next_offset)

    def _check_order(self, keys: list[int | None]) -> None:
        if self.unordered:
            return
        ids = [k for k in keys if k is not None]
        if any(a >= b for a, b in itertools.pairwise(ids)):
            self.unordered = True
            log.warning(
                "the service sent a page out of CustomerID order; every record is still yielded "
                "once (ids are deduplicated by a set), but in the service's order"
            )

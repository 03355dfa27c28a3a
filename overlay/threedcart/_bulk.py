"""The outcome of a bulk update, item by item, and the batch splitting shared by both stores (no I/O).

`update_many` checks each item against the schema before anything is sent (a bad item is a
`BulkFailure` with `sent=False`), cuts the rest into batches, and lets `BulkPlan` decide
what to send next: when the service refuses a whole batch (400), the plan splits it in
halves and sends those, down to the single items the service refuses, so one bad item
costs about 2·log2(batch) requests and every other item is applied. `Store` and
`AsyncStore` only send what it asks for and report each answer back.

An answer's results are matched to the items sent by the CustomerID each result names in its
`Value`, whatever their order (`match_results`); by position only when no result names one. A
result that names an id the batch does not hold, names one more often than it was sent, or
leaves an item without a result is a `ResultMismatch`, never a guess.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ._secrets import scrub

T = TypeVar("T")

MAX_SPLITS_PER_BATCH = 32
"""Splits of one refused batch before its unresolved rest is reported as refused (each costs 2 requests)."""
PARTIAL_RESULT = "partial_result"
"""The attribute under which an exception raised by `update_many` carries the finished part
(declared on `ThreeDCartError`; set on any other exception too)."""

# The service names the refused item by its position in the body it received ("item 3: ..."),
# which says nothing to the caller once the item is alone in its request.
_ITEM_PREFIX = re.compile(r"^item \d+: ")
_ID = re.compile(r"[0-9]{1,10}")  # ASCII digits only ("²".isdigit() is True)
MAX_ID = 2**31 - 1


class ResultMismatch(ValueError):
    """The results of a bulk answer cannot be matched one to one with the items sent."""


def named_id(value: object) -> int | None:
    """The CustomerID a result's `Value` names (a string or an integer), or None if it names none."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _ID.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def match_results(sent: Sequence[int], named: Sequence[int | None]) -> list[int]:
    """For each item sent (its CustomerID, in order), the position of its result in the answer.

    `named` holds the CustomerID each result names, in the answer's order (None: it names none).
    Results are matched by id, the k-th result naming an id to the k-th item sent with it; only
    when no result names an id, by position. Raises `ResultMismatch` when the answer holds
    another number of results, names an id the batch does not hold or names one more often than
    it was sent, or when only some results name an id.
    """
    if len(named) != len(sent):
        raise ResultMismatch(f"{len(named)} results for {len(sent)} items")
    unnamed = [i for i, cid in enumerate(named) if cid is None]
    if len(unnamed) == len(named):
        return list(range(len(sent)))
    if unnamed:
        raise ResultMismatch(f"result {unnamed[0] + 1} names no CustomerID, others do")
    ids = [cid for cid in named if cid is not None]  # here, every result names one
    extra = Counter(ids) - Counter(sent)
    if extra:
        cid, times = min(extra.items())
        held = sent.count(cid)
        what = "which the batch does not hold" if not held else f"{held + times} times for {held} item(s)"
        raise ResultMismatch(f"a result names CustomerID {cid}, {what}")
    # as many results as items and none left over: every item has its own
    positions: dict[int, deque[int]] = {}
    for position, result_id in enumerate(ids):
        positions.setdefault(result_id, deque()).append(position)
    return [positions[cid].popleft() for cid in sent]


def _scrub_text(value: object) -> object:
    """`value` scrubbed if it is text, else as is (a dataclass does not check its fields' types)."""
    return scrub(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class BulkFailure:
    """One customer the service did not update."""

    index: int
    """Position of the item in the sequence given to `update_many`."""
    customer_id: int | None
    """The item's CustomerID; None when it has none that is an integer."""
    status: int
    """The item's own status, a plain `int`: 404 when the customer does not exist, 400 when the
    item breaks the schema or the service refused it (alone in its request)."""
    message: str
    sent: bool = True
    """False when the SDK refused the item before sending it (it breaks the spec's schema)."""

    def __post_init__(self) -> None:
        # the service's own words, which may echo a credential
        object.__setattr__(self, "message", _scrub_text(self.message))


@dataclass
class BulkResult:
    """What `update_many` did, across all its batches (answers 200, 206 and 404 alike)."""

    updated: list[int] = field(default_factory=list[int])
    """CustomerIDs the service updated, in the order given."""
    failed: list[BulkFailure] = field(default_factory=list[BulkFailure])
    """Items that were not updated, with the reason, by position."""
    batches: int = 0
    """Bulk requests sent (a refused batch that was split counts each part)."""

    @property
    def ok(self) -> bool:
        """True when every item was updated."""
        return not self.failed

    def __len__(self) -> int:
        return len(self.updated) + len(self.failed)


def attach_partial(exc: BaseException, result: BulkResult) -> None:
    """Let `exc` carry what `update_many` finished before it (as `exc.partial_result`: declared on
    `ThreeDCartError`, an attribute set on the fly on any other exception)."""
    result.failed.sort(key=lambda f: f.index)
    setattr(exc, PARTIAL_RESULT, result)


def partial_result(exc: BaseException) -> BulkResult | None:
    """The `BulkResult` of the batches `update_many` finished before raising `exc`, if any.

    Reads it from any exception: a `ThreeDCartError`'s `partial_result` attribute holds the same,
    and so does that of whatever else stopped `update_many` (Ctrl-C, a cancellation, the input
    iterator raising), where no type checker can see it.

    >>> try:
    ...     result = store.customers.update_many(rows)
    ... except BaseException as exc:
    ...     done = threedcart.partial_result(exc)  # BulkResult | None
    ...     raise
    """
    result = getattr(exc, PARTIAL_RESULT, None)
    return result if isinstance(result, BulkResult) else None


@dataclass(frozen=True, slots=True)
class BulkItem(Generic[T]):
    """One checked item on its way to the service."""

    index: int
    customer_id: int
    body: T


class BulkPlan(Generic[T]):
    """Which items go in the next bulk request, and what a refusal of it means (no I/O).

    Drive it with `next_batch()`; after the request, call `answered(batch)` when its answer
    was folded into `result` item by item, or `refused(batch, message)` when the service
    refused the batch as a whole.
    """

    def __init__(
        self,
        batches: Iterator[list[BulkItem[T]]],
        *,
        result: BulkResult | None = None,
        max_splits: int = MAX_SPLITS_PER_BATCH,
    ) -> None:
        self.result = BulkResult() if result is None else result
        self._batches = batches
        self._queue: deque[list[BulkItem[T]]] = deque()
        self._max_splits = max_splits
        self._splits_left = 0

    def next_batch(self) -> list[BulkItem[T]] | None:
        """The items to send next; None when everything is settled."""
        if not self._queue:
            batch = next(self._batches, None)
            if batch is None:
                self.result.failed.sort(key=lambda f: f.index)
                return None
            self._queue.append(batch)
            self._splits_left = self._max_splits
        return self._queue[0]

    def answered(self, batch: list[BulkItem[T]]) -> None:
        """The answer to `batch` was recorded item by item."""
        assert self._queue and self._queue[0] is batch
        self._queue.popleft()

    def refused(self, batch: list[BulkItem[T]], message: str) -> None:
        """The service refused `batch` as a whole: split it, or record its items as refused."""
        assert self._queue and self._queue[0] is batch
        self._queue.popleft()
        if len(batch) > 1 and self._splits_left > 0:
            self._splits_left -= 1
            half = (len(batch) + 1) // 2
            self._queue.extendleft([batch[half:], batch[:half]])  # the first half is sent first
            return
        if len(batch) == 1:
            message = _ITEM_PREFIX.sub("", message)
        else:
            message = f"{message} (its batch of {len(batch)} was refused and not split further)"
        self.result.failed.extend(BulkFailure(i.index, i.customer_id, 400, message) for i in batch)

# pyright: reportPrivateUsage=false
# (this shell is the store's other half, split off so that the sync one can be written from it:
# it reaches the store's and the resource's own methods by design)
"""`store.customers`: the Customers resource's shell, which sends the calls `_resources` builds.

Each method builds its call (`_resources`), sends it through the generated client of the
store (or of a view with the call's `timeout`) and returns the call's outcome. The same
methods on `with_raw_response` return the answer itself with the outcome (`RawResponse`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from threedcart_customers_client.models import Customer
from threedcart_customers_client.types import Response

from ._bulk import BulkPlan, BulkResult, attach_partial
from ._constants import MAX_BULK_BATCH, MAX_PAGE_SIZE
from ._pages import AsyncFetch, AsyncFetches
from ._pagination import COUNT, Answer, CountRequest, Pager, Request, confirmed_empty, one_page
from ._params import Filters, query_params
from ._resources import (
    Call,
    CustomerLike,
    Page,
    RawResponse,
    SyncRunBase,
    answered,
    batches,
    bulk_call,
    count_call,
    create_call,
    customer_key,
    customer_pager,
    delete_call,
    failed_answer,
    get_call,
    page_call,
    record_batch,
    sealed,
    update_call,
    validate_limits,
    validate_paging,
    whole,
)
from ._sync import DEFAULT_LAG, DEFAULT_MAX_CLOCK_SKEW, DEFAULT_MAX_PASSES, SyncCore
from ._transport import TimeoutLike
from .errors import ThreeDCartError

if TYPE_CHECKING:
    from ._client import AsyncStore

R = TypeVar("R")


class AsyncCustomers:
    """The store's customers (`store.customers`).

    `with_raw_response` has the single-request methods (`get`, `list`, `count`, `create`,
    `update`, `delete`) returning the answer itself: status, headers, `elapsed`, `.parse()`.
    """

    def __init__(self, store: AsyncStore) -> None:
        self._store = store
        self.with_raw_response: AsyncRawCustomers = AsyncRawCustomers(self)
        """The same calls, answering the raw response (`RawResponse`): status, headers, `.parse()`."""

    def _timed(self, timeout: TimeoutLike | None) -> AsyncCustomers:
        """These customers, or those of a view of the store with `timeout`."""
        return self if timeout is None else self._store._timed(timeout).customers

    async def _send(self, call: Call[R]) -> RawResponse[R]:
        """Send one call; its answer with its outcome, or the SDK's error."""
        self._store._ensure_open()
        try:
            detailed: Response[Any] = await call.asyncio_detailed(
                *call.args, client=self._store.client, **call.kwargs
            )
        except Exception as exc:
            raise sealed(exc)  # noqa: B904 (the cause is kept, scrubbed)
        return answered(call, detailed)

    async def get(self, customer_id: int, *, timeout: TimeoutLike | None = None) -> Customer:
        """The customer with this CustomerID. Raises `NotFoundError` if there is none."""
        return (await self.with_raw_response.get(customer_id, timeout=timeout)).parse()

    async def list(
        self,
        *,
        limit: int = MAX_PAGE_SIZE,
        offset: int = 1,
        timeout: TimeoutLike | None = None,
        **filters: Unpack[Filters],
    ) -> Page:
        """One page of customers: `limit` (1..500) from the 1-based `offset`, in the service's order.

        A page past the end, or no match at all, is `[]` (the API answers 404 or 400 there,
        with or without a body). A 404 is confirmed with a count first: a count that is a 404
        too raises `NotFoundError` (the request never reached the API: is `base_url` right?).
        `group_id` lists one customer group's customers.
        """
        raw = await self.with_raw_response.list(limit=limit, offset=offset, timeout=timeout, **filters)
        return raw.parse()

    async def count(self, *, timeout: TimeoutLike | None = None, **filters: Unpack[Filters]) -> int:
        """How many customers match the filters (the API's `countonly=1`).

        A 404 is never 0 here (the service counts 0 with a 200): it raises `NotFoundError`
        suggesting a wrong `base_url`.
        """
        return (await self.with_raw_response.count(timeout=timeout, **filters)).parse()

    async def _fetch(
        self, group_id: int | None, params: dict[str, Any], request: Request
    ) -> Answer[Customer]:
        """One planned request, its answer or failure as an `Answer` (never raises an API error)."""
        try:
            if isinstance(request, CountRequest):
                return Answer(200, total=(await self._send(count_call(group_id, params))).parse())
            return (await self._send(page_call(group_id, params, request.offset, request.limit))).parse()
        except ThreeDCartError as exc:
            return failed_answer(exc)

    def sync(
        self,
        since: datetime | None = None,
        *,
        timeout: TimeoutLike | None = None,
        lag: float = DEFAULT_LAG,
        page_size: int = MAX_PAGE_SIZE,
        concurrency: int = 1,
        max_passes: int = DEFAULT_MAX_PASSES,
        max_clock_skew: float | None = DEFAULT_MAX_CLOCK_SKEW,
        last_clock_skew: timedelta | None = None,
    ) -> AsyncSyncRun:
        """The customers updated since the watermark `since` (an aware datetime; None: all), once each.

        Iterate the returned run once (`async for`); afterwards `run.complete` says whether the
        window was proven complete and `run.next_since` is the watermark to store for the next
        run (None when incomplete: keep the old one). The window closes at the store's clock (its
        `Date` header) minus `lag` seconds, or at this machine's if that is earlier; a store clock
        more than `max_clock_skew` seconds from this machine's (None: never compare) reads nothing
        and leaves the run incomplete. Store `run.clock_skew` with the watermark and pass it back
        as `last_clock_skew`: a store clock that stepped back since then is re-read by the step.
        See the README's "Incremental sync".
        """
        customers = self._timed(timeout)
        validate_paging(page_size, concurrency)
        core = SyncCore(
            since,
            tz=self._store.store_tz,
            lag=lag,
            max_passes=max_passes,
            max_clock_skew=max_clock_skew,
            last_clock_skew=last_clock_skew,
        )
        return AsyncSyncRun(customers, core, page_size, concurrency)

    def iter(
        self,
        *,
        page_size: int = MAX_PAGE_SIZE,
        concurrency: int = 1,
        timeout: TimeoutLike | None = None,
        **filters: Unpack[Filters],
    ) -> AsyncIterator[Customer]:
        """Every matching customer once, page after page, while the store may change.

        Pages overlap by one record and each must connect to what was already read, so a
        customer that matches from start to end is never skipped, even when others are
        deleted or updated out of the filter meanwhile (see the README's Pagination). With
        `concurrency > 1` the count is asked with the first pages and up to `concurrency`
        pages are fetched at once (tasks of the running loop, or threads for a `Store`);
        customers still arrive in page order. Memory holds at most `concurrency + 1` pages and
        8 bytes per customer yielded.
        """
        customers = self._timed(timeout)
        validate_paging(page_size, concurrency)
        group_id, params = query_params(dict(filters), self._store.store_tz)
        return customers._drive(customer_pager(page_size, concurrency), group_id, params)

    async def _drive(
        self, pager: Pager[Customer], group_id: int | None, params: dict[str, Any]
    ) -> AsyncIterator[Customer]:
        """Run the planner: send what it asks for, feed the answers back in order."""
        if pager.concurrency == 1:
            while not pager.done:
                for request in pager.requests():
                    answer = await self._fetch(group_id, params, request)
                    for customer in pager.feed(request, answer):
                        yield customer
            return
        pages = AsyncFetches(pager.concurrency)
        pending: deque[tuple[Request, AsyncFetch[Answer[Customer]]]] = deque()
        try:
            # the pages' requests go through a view that stops them once the reader has left
            reader = self._store._abandonable(pages.abandoned).customers
            while not pager.done:
                for request in pager.requests():
                    pending.append((request, pages.start(reader._fetch, group_id, params, request)))
                request, page = pending.popleft()
                epoch = pager.epoch
                for customer in pager.feed(request, await page.result()):
                    yield customer
                if pager.epoch != epoch:  # a step back: what was asked before it is moot
                    for _, stale in pending:
                        stale.cancel()
                    pending.clear()
        finally:
            # Leaving (a break, an error, Ctrl-C) abandons the pages in flight: no new attempt,
            # no wait, and nobody waits for them.
            for _, stale in pending:
                stale.cancel()
            pages.close()

    async def create(self, customer: CustomerLike, *, timeout: TimeoutLike | None = None) -> int:
        """Create a customer; its new CustomerID. `Email` is required; `Password` defaults to ""."""
        return (await self.with_raw_response.create(customer, timeout=timeout)).parse()

    async def update(
        self, customer_id: int, customer: CustomerLike, *, timeout: TimeoutLike | None = None
    ) -> None:
        """Change the fields given (and only those) of one customer. `NotFoundError` if absent."""
        (await self.with_raw_response.update(customer_id, customer, timeout=timeout)).parse()

    async def update_many(
        self,
        customers: Iterable[CustomerLike],
        *,
        timeout: TimeoutLike | None = None,
        batch_size: int = MAX_BULK_BATCH,
    ) -> BulkResult:
        """Bulk-update customers (each with its CustomerID) in batches of at most 500.

        Returns a `BulkResult`: the ids updated and, by position, every item that was not.
        Each item is checked against the spec's schema (known fields, types, maximum lengths,
        a CustomerID that is a positive 32-bit integer) before it is sent; one that breaks it
        is a failure with `sent=False` and never reaches the service. A batch the service
        refuses as a whole (400) is split in halves until the refused items are alone, and
        the rest is applied; a batch in which no customer exists (404) fails item by item.
        The input is consumed lazily, one batch at a time.

        Authentication, rate-limit, connection and server errors that outlast the retries
        raise, and so does whatever stops the call (the input iterator raising, Ctrl-C, a
        cancellation): `threedcart.partial_result(exc)` is the `BulkResult` of what was
        finished before it (the items of the batch in flight are in neither list: their
        outcome is unknown).
        """
        sender = self._timed(timeout)
        if not 1 <= whole("batch_size", batch_size) <= MAX_BULK_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BULK_BATCH}, not {batch_size}")
        result = BulkResult()
        plan = BulkPlan(batches(customers, batch_size, result), result=result)
        try:
            while (batch := plan.next_batch()) is not None:
                answer = await sender._send(bulk_call([item.body for item in batch]))
                record_batch(plan, batch, answer.parse())
        except BaseException as exc:  # an API error, the input raising, Ctrl-C, a cancellation
            attach_partial(exc, result)
            raise
        return result

    async def delete(self, customer_id: int, *, timeout: TimeoutLike | None = None) -> None:
        """Delete one customer. `NotFoundError` if absent. A 204 (No Content) is a success too.

        A 404 to a retry, after an earlier attempt whose outcome is unknown (it timed out or its
        connection dropped after sending, or a 5xx came back), means that attempt deleted it:
        that is a success. After attempts the service refused (429), a 404 is `NotFoundError`.
        """
        (await self.with_raw_response.delete(customer_id, timeout=timeout)).parse()


class AsyncRawCustomers:
    """`store.customers.with_raw_response`: each call's answer as the service sent it.

    >>> raw = store.customers.with_raw_response.count()
    >>> raw.status_code, raw.headers.get("Date"), raw.elapsed, raw.parse()

    An error answer raises as the plain call does (the error carries the response).
    """

    def __init__(self, customers: AsyncCustomers) -> None:
        self._customers = customers

    async def get(self, customer_id: int, *, timeout: TimeoutLike | None = None) -> RawResponse[Customer]:
        """`customers.get`, answering the raw response; `.parse()` is the customer."""
        return await self._customers._timed(timeout)._send(get_call(customer_id))

    async def list(
        self,
        *,
        limit: int = MAX_PAGE_SIZE,
        offset: int = 1,
        timeout: TimeoutLike | None = None,
        **filters: Unpack[Filters],
    ) -> RawResponse[Page]:
        """`customers.list`, answering the page's raw response; `.parse()` is the page ([] past
        the end, confirmed by a count as there)."""
        customers = self._customers._timed(timeout)
        validate_limits(limit, offset)
        group_id, params = query_params(dict(filters), customers._store.store_tz)
        raw = await customers._send(page_call(group_id, params, offset, limit))
        page = one_page(raw.parse(), offset)
        if page is None:
            page = confirmed_empty(await customers._fetch(group_id, params, COUNT))
        return RawResponse(raw.http_response, page)

    async def count(
        self, *, timeout: TimeoutLike | None = None, **filters: Unpack[Filters]
    ) -> RawResponse[int]:
        """`customers.count`, answering the raw response; `.parse()` is the count."""
        customers = self._customers._timed(timeout)
        group_id, params = query_params(dict(filters), customers._store.store_tz)
        return await customers._send(count_call(group_id, params))

    async def create(self, customer: CustomerLike, *, timeout: TimeoutLike | None = None) -> RawResponse[int]:
        """`customers.create`, answering the raw response; `.parse()` is the new CustomerID."""
        call = create_call(customer)
        return await self._customers._timed(timeout)._send(call)

    async def update(
        self, customer_id: int, customer: CustomerLike, *, timeout: TimeoutLike | None = None
    ) -> RawResponse[None]:
        """`customers.update`, answering the raw response."""
        call = update_call(customer_id, customer)
        return await self._customers._timed(timeout)._send(call)

    async def delete(self, customer_id: int, *, timeout: TimeoutLike | None = None) -> RawResponse[None]:
        """`customers.delete`, answering the raw response."""
        return await self._customers._timed(timeout)._send(delete_call(customer_id))


class AsyncSyncRun(SyncRunBase):
    """One sync run (`store.customers.sync(...)`): iterate it once, then read `complete` and
    `next_since`. A second iteration raises `RuntimeError` (start a new run with the watermark)."""

    def __init__(self, customers: AsyncCustomers, core: SyncCore, page_size: int, concurrency: int) -> None:
        super().__init__(core, page_size, concurrency)
        self._customers = customers

    async def __aiter__(self) -> AsyncIterator[Customer]:
        self._start()
        customers, core = self._customers, self._core
        tz = customers._store.store_tz
        _, probe = query_params(self._probe_params(), tz)
        raw = await customers._send(count_call(None, probe))
        self.estimate: int | None = raw.parse()
        window = core.begin(raw.headers.get("Date"))
        if window is None:
            return
        _, params = query_params(dict(window.filters()), tz)
        while True:
            pager = customer_pager(self._page_size, self._concurrency)
            async for customer in customers._drive(pager, None, params):
                if core.accept(customer_key(customer)):
                    yield customer
            if not core.end_pass((await customers._send(count_call(None, params))).parse()):
                return

"""`store.customers`: the Customers resource, sync and async.

Each method calls one generated operation (`sync_detailed` / `asyncio_detailed`), then turns
its answer into a return value or a typed error. Request building and model parsing stay in
the generated code.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import re
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self, TypeVar, Unpack

import httpx
from threedcart_customers_client.api.customers import (
    create_customer,
    delete_customer,
    get_customer,
    list_customer_group_customers,
    list_customers,
    update_customer,
    update_customers,
)
from threedcart_customers_client.models import (
    CountResult,
    Customer,
    CustomerCreate,
    CustomerUpdate,
    CustomerUpdateItem,
    Error,
    WriteResult,
)
from threedcart_customers_client.types import Response

from ._bulk import (
    BulkFailure,
    BulkItem,
    BulkPlan,
    BulkResult,
    ResultMismatch,
    attach_partial,
    match_results,
    named_id,
)
from ._constants import MAX_BULK_BATCH, MAX_PAGE_SIZE, PAGE_OVERLAP
from ._pagination import (
    COUNT,
    Answer,
    CountRequest,
    Pager,
    PageRequest,
    Request,
    confirmed_empty,
    one_page,
)
from ._params import UPDATED_SINCE, Filters, query_params
from ._rows import update_problems, warn_deprecated
from ._sync import DEFAULT_LAG, DEFAULT_MAX_CLOCK_SKEW, DEFAULT_MAX_PASSES, SyncCore, SyncWindow, http_date
from ._transport import ABANDONED, CALL_OPTIONS, MAYBE_PROCESSED, TimeoutLike
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    NotFoundError,
    ThreeDCartError,
    error_class,
    seal,
)

if TYPE_CHECKING:
    from ._client import AsyncStore, Store, _BaseStore

log = logging.getLogger("threedcart")

T = TypeVar("T")
_ID = re.compile(r"[0-9]{1,10}")
MAX_ID = 2**31 - 1
MAX_READ_ID = 2**63 - 1  # the largest id read back (a signed 64-bit integer, as the pager keeps ids)
CustomerLike = Customer | CustomerCreate | CustomerUpdate | CustomerUpdateItem | Mapping[str, Any]
"""A `Customer`, or a mapping with the API's field names (`{"Email": ...}`)."""
Page = list[Customer]

LAST_RESPONSE: contextvars.ContextVar[httpx.Response | None] = contextvars.ContextVar(
    "threedcart_last_response", default=None
)


def remember_response(response: httpx.Response) -> None:
    """httpx response hook: keep the raw answer of the current call for error reporting."""
    LAST_RESPONSE.set(response)


async def aremember_response(response: httpx.Response) -> None:
    LAST_RESPONSE.set(response)


# --- shared, pure logic ----------------------------------------------------------------
def _body_message(response: httpx.Response) -> str | None:
    """The service's message from an error body; None when the answer carries none."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return None
    items = body if isinstance(body, list) else [body]
    messages = [str(i["Message"]) for i in items if isinstance(i, dict) and i.get("Message")]
    return "; ".join(dict.fromkeys(messages)) if messages else None


def _message(response: httpx.Response) -> str:
    """The service's message from an error body, or the status text when there is none."""
    message = _body_message(response)
    if message is not None:
        return message
    return response.reason_phrase or f"HTTP {response.status_code}"


def server_time(response: httpx.Response | None) -> datetime | None:
    """The store's clock: the `Date` header of its answer (aware, UTC), if it sent a valid one."""
    return http_date(response.headers.get("Date") if response is not None else None)


def api_error(response: httpx.Response) -> APIError:
    if response.is_success and not response.content.strip():  # e.g. a 201 whose new id is unknown
        return APIResponseValidationError(
            f"the service answered {response.status_code} with no body", response=response
        )
    return error_class(response.status_code)(_message(response), response=response)


def _to_customer(customer: CustomerLike, what: str = "customer") -> Customer:
    if isinstance(customer, Customer):
        warn_deprecated(customer.to_dict(), stacklevel=5)
        return customer
    if isinstance(customer, CustomerCreate | CustomerUpdate | CustomerUpdateItem):
        return Customer.from_dict(customer.to_dict())
    if not isinstance(customer, Mapping):
        raise TypeError(f"{what} must be a Customer or a mapping, not {type(customer).__name__}")
    warn_deprecated(customer, stacklevel=5)
    parsed = Customer.from_dict(customer)
    if parsed.additional_properties:
        unknown = ", ".join(sorted(parsed.additional_properties))
        raise ValueError(f"{what} has unknown field(s) {unknown}; use the API's names, e.g. 'Email'")
    return parsed


def _create_body(customer: CustomerLike) -> CustomerCreate:
    data = _to_customer(customer).to_dict()
    if not data.get("Email"):
        raise ValueError("a new customer needs an Email")
    # The API requires a Password on create and accepts an empty one (the reference's own sample).
    data.setdefault("Password", "")
    return CustomerCreate.from_dict(data)


def _update_body(customer: CustomerLike) -> CustomerUpdate:
    # the path selects the record: a CustomerID in `customer` is not sent (the body is closed)
    return CustomerUpdate.from_dict(_to_customer(customer).to_dict())


def _check_id(customer_id: int, what: str = "customer_id") -> int:
    if isinstance(customer_id, bool) or not isinstance(customer_id, int) or customer_id < 1:
        raise ValueError(f"{what} must be a positive integer, not {customer_id!r}")
    return customer_id


def _bulk_item(index: int, customer: object) -> BulkItem[CustomerUpdateItem] | BulkFailure:
    """One item of `update_many`, checked against the spec's schema before anything is sent."""
    if isinstance(customer, Customer | CustomerCreate | CustomerUpdate | CustomerUpdateItem):
        data = customer.to_dict()
    elif isinstance(customer, Mapping):
        data = dict(customer)
    else:
        message = f"must be a Customer or a mapping, not {type(customer).__name__}"
        return BulkFailure(index, None, 400, message, sent=False)
    warn_deprecated(data, stacklevel=6)
    cid = data.get("CustomerID")
    problems = update_problems(data)
    if problems or not isinstance(cid, int):
        written = cid if isinstance(cid, int) and not isinstance(cid, bool) else None
        return BulkFailure(index, written, 400, "; ".join(problems), sent=False)
    return BulkItem(index, cid, CustomerUpdateItem.from_dict(data))


def _batches(
    customers: Iterable[object], size: int, result: BulkResult
) -> Iterator[list[BulkItem[CustomerUpdateItem]]]:
    """Batches of `size` checked items, lazily; items that break the schema go to `result`."""
    batch: list[BulkItem[CustomerUpdateItem]] = []
    for index, customer in enumerate(customers):
        item = _bulk_item(index, customer)
        if isinstance(item, BulkFailure):
            result.failed.append(item)
            continue
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _record_batch(
    plan: BulkPlan[CustomerUpdateItem],
    batch: list[BulkItem[CustomerUpdateItem]],
    detailed: Response[Any],
    raw: httpx.Response,
) -> None:
    """Fold one bulk answer into the plan: item by item, or a refusal of the whole batch (400)."""
    result = plan.result
    result.batches += 1
    parsed = detailed.parsed
    status = int(detailed.status_code)
    if status == 200:
        result.updated.extend(item.customer_id for item in batch)
    elif status == 206 and isinstance(parsed, list):
        try:
            order = _result_order(batch, parsed)
        except ResultMismatch as exc:
            raise APIResponseValidationError(
                f"the service's answer to a bulk update of {len(batch)} does not match it: {exc}",
                response=raw,
            ) from None
        for item, position in zip(batch, order, strict=True):
            outcome = parsed[position]
            assert isinstance(outcome, WriteResult)
            status_text = str(outcome.status)
            if status_text.startswith("2"):
                result.updated.append(item.customer_id)
            else:
                code = int(status_text) if _ID.fullmatch(status_text) else 0
                result.failed.append(BulkFailure(item.index, item.customer_id, code, outcome.message))
    elif status == 404:  # none of the batch exists: only the messages are per item
        try:
            per_item = _result_order(batch, parsed) if isinstance(parsed, list) else None
        except ResultMismatch:
            per_item = None  # the answer's own message for every item rather than a guess
        for n, item in enumerate(batch):
            message = _message(raw)
            if per_item is not None:
                error = parsed[per_item[n]]  # type: ignore[index]
                if isinstance(error, Error) and isinstance(error.message, str):
                    message = error.message
            result.failed.append(BulkFailure(item.index, item.customer_id, status, message))
    elif status == 400:  # refused as a whole: the plan splits it to find the items at fault
        plan.refused(batch, _message(raw))
        return
    else:
        raise api_error(raw)
    plan.answered(batch)


def _result_order(batch: list[BulkItem[CustomerUpdateItem]], results: list[Any]) -> list[int]:
    """The position of each item's result: by the CustomerID each names, by position if none does."""
    return match_results([item.customer_id for item in batch], [named_id(r.value) for r in results])


def _last_response() -> httpx.Response:
    raw = LAST_RESPONSE.get()
    if raw is None:  # not an assert: those vanish under python -O
        raise RuntimeError("the response hook did not run (was store.client's httpx client replaced?)")
    return raw


def _one_customer(detailed: Response[Any], raw: httpx.Response) -> Customer:
    if detailed.status_code == 200 and isinstance(detailed.parsed, list):
        if not detailed.parsed:
            raise NotFoundError("The Customer record was not found", response=raw)
        customer = detailed.parsed[0]
        if not isinstance(customer, Customer) or _customer_key(customer) is None:
            raise APIResponseValidationError(
                f"the service sent a customer {_id_problem(customer)}", response=raw
            )
        return customer
    raise api_error(raw)


def _page_answer(detailed: Response[Any], raw: httpx.Response) -> Answer[Customer]:
    parsed = detailed.parsed
    if detailed.status_code == 200:
        if isinstance(parsed, list):
            wrong = next((c for c in parsed if _customer_key(c) is None), None)
            if wrong is not None:
                bad = APIResponseValidationError(
                    f"the service sent customers {_id_problem(wrong)}", response=raw
                )
                return Answer(200, error=bad)
            return Answer(200, records=parsed)
        what = "a count ({TotalCount})" if isinstance(parsed, CountResult) else "no list of customers"
        invalid = APIResponseValidationError(f"the service answered {what} to a list request", response=raw)
        return Answer(200, error=invalid)
    return Answer(raw.status_code, message=_body_message(raw), error=api_error(raw))


def _failed_answer(exc: ThreeDCartError) -> Answer[Customer]:
    if isinstance(exc, APIError):
        return Answer(exc.status_code, message=_body_message(exc.response), error=exc)
    return Answer(0, error=exc)


def _count_of(detailed: Response[Any], raw: httpx.Response) -> int:
    if detailed.status_code == 200 and isinstance(detailed.parsed, CountResult):
        total = detailed.parsed.total_count
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise APIResponseValidationError(
                f"the service answered a count that is not a whole number: {str(total)[:40]!r}", response=raw
            )
        return total
    if detailed.status_code == 404:
        raise _count_not_found(raw)
    raise api_error(raw)


def _count_not_found(raw: httpx.Response) -> NotFoundError:
    # countonly=1 answers 200 {"TotalCount": 0} when nothing matches: a 404 here means the
    # request never reached the Customers resource.
    url = raw.request.url.copy_with(query=None)
    return NotFoundError(
        f"{url} answered 404 to a count, which the service answers 200 even for 0 matches: "
        "is base_url right (scheme and host only; the SDK adds the API path)?",
        response=raw,
    )


def _deleted_by_an_earlier_attempt(customer_id: int) -> bool:
    """Whether a delete's 404 came to a retry after an earlier attempt may have done the delete."""
    raw = LAST_RESPONSE.get()
    if raw is None or not raw.extensions.get(MAYBE_PROCESSED):
        return False
    log.info("customer %d: the retried delete found it gone; an earlier attempt deleted it", customer_id)
    return True


def _customer_key(customer: Customer) -> int | None:
    """The customer's id; None unless a whole number from 1 to 2**63-1 (what the pager can hold)."""
    cid = customer.customer_id
    return cid if isinstance(cid, int) and not isinstance(cid, bool) and 1 <= cid <= MAX_READ_ID else None


def _id_problem(customer: object) -> str:
    cid = getattr(customer, "customer_id", None)
    if isinstance(cid, int) and not isinstance(cid, bool):
        return f"with a CustomerID out of range ({str(cid)[:40]}; ids run from 1 to 2**63-1)"
    return "without a numeric CustomerID"


def _pager(page_size: int, concurrency: int) -> Pager[Customer]:
    return Pager(page_size, _customer_key, concurrency=concurrency, overlap=PAGE_OVERLAP)


def _written_id(detailed: Response[Any], raw: httpx.Response, expected: int) -> int:
    parsed = detailed.parsed
    if detailed.status_code == expected and isinstance(parsed, list) and parsed:
        result = parsed[0]
        if isinstance(result, WriteResult):
            value = result.value if isinstance(result.value, str) else str(result.value)
            # ASCII digits only ("²".isdigit() is True), and an id the API can hold
            if _ID.fullmatch(value) and 1 <= int(value) <= MAX_ID:
                return int(value)
            raise APIResponseValidationError(
                f"the service answered a CustomerID that is not an id: {value[:40]!r}", response=raw
            )
    raise api_error(raw)


def _whole(name: str, value: object) -> int:
    """`value` if it is a whole number; a TypeError naming the argument if not (True and 2.0 are not)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, not {type(value).__name__} {value!r}")
    return value


def _validate_paging(page_size: int, concurrency: int) -> None:
    if not 1 <= _whole("page_size", page_size) <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
    if _whole("concurrency", concurrency) < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")


def _validate_limits(limit: int, offset: int) -> None:
    if not 1 <= _whole("limit", limit) <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, not {limit}")
    if _whole("offset", offset) < 1:
        raise ValueError(f"offset is 1-based and must be at least 1, not {offset}")


class _CustomersBase:
    def __init__(self, store: _BaseStore) -> None:
        self._store = store

    def _timed(self, timeout: TimeoutLike | None) -> Self:
        """This resource, or the same on a `with_options(timeout=...)` view for one call."""
        if timeout is None:
            return self
        view: Any = self._store.with_options(timeout=timeout)
        return view.customers  # type: ignore[no-any-return]

    @contextmanager
    def _calling(self) -> Iterator[None]:
        """Around one generated operation: this store's call options in, typed errors out."""
        self._store._ensure_open()
        options = self._store._call_options
        reset = CALL_OPTIONS.set(options) if options is not None else None
        LAST_RESPONSE.set(None)
        try:
            yield
        except (
            httpx.TransportError,
            httpx.DecodingError,
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            RecursionError,
        ) as exc:
            failure = _failure(exc)
            if failure is exc:
                raise
            raise failure from exc
        finally:
            if reset is not None:
                CALL_OPTIONS.reset(reset)

    def _list_call(
        self, group_id: int | None, params: dict[str, Any]
    ) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
        kwargs = {**params, "client": self._store.client}
        if group_id is None:
            return list_customers, (), kwargs
        return list_customer_group_customers, (group_id,), kwargs


class _PagePool:
    """Daemon threads that fetch pages. Unlike a ThreadPoolExecutor's, they are never joined:
    an iterator left early, or a process ending, does not wait for the pages still in flight."""

    def __init__(self, workers: int) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._workers = workers
        for n in range(workers):
            threading.Thread(target=self._work, name=f"threedcart-page-{n}", daemon=True).start()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((future, fn, args))
        return future

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

    def shutdown(self) -> None:
        for _ in range(self._workers):
            self._jobs.put(None)


def _failure(exc: Exception) -> Exception:
    """The SDK's error for what a generated operation raised."""
    if isinstance(exc, httpx.TransportError):
        cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        return cls(f"{type(exc).__name__}: {exc}", request=_request_of(exc))
    # a documented status whose body is empty or not the documented JSON
    raw = LAST_RESPONSE.get()
    if raw is None:
        return exc
    if raw.is_success:
        what = "nested too deeply" if isinstance(exc, RecursionError) else f"{type(exc).__name__}: {exc}"
        return APIResponseValidationError(f"unreadable answer ({what[:200]})", response=raw)
    return api_error(raw)


def _request_of(exc: httpx.TransportError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:
        return None


# --- sync ------------------------------------------------------------------------------
class Customers(_CustomersBase):
    """The store's customers (`store.customers`)."""

    _store: Store

    def _call(
        self, op: Callable[..., Response[T]], *args: Any, **kwargs: Any
    ) -> tuple[Response[T], httpx.Response]:
        try:
            with self._calling():
                detailed = op(*args, **kwargs)
        except ThreeDCartError as exc:
            # raised again from here: no frames of httpx (whose locals hold the headers as sent),
            # and the chain of what caused it in scrubbed copies
            raise seal(exc).with_traceback(None)  # noqa: B904 (the cause is kept, scrubbed)
        return detailed, _last_response()

    def get(self, customer_id: int, *, timeout: TimeoutLike | None = None) -> Customer:
        """The customer with this CustomerID. Raises `NotFoundError` if there is none."""
        self = self._timed(timeout)
        detailed, raw = self._call(
            get_customer.sync_detailed, _check_id(customer_id), client=self._store.client
        )
        return _one_customer(detailed, raw)

    def list(
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
        self = self._timed(timeout)
        _validate_limits(limit, offset)
        group_id, params = query_params(dict(filters), self._store.store_tz)
        page = one_page(self._fetch(group_id, params, PageRequest(offset, limit, 0)), offset)
        if page is None:
            page = confirmed_empty(self._fetch(group_id, params, COUNT))
        return page

    def _fetch(self, group_id: int | None, params: dict[str, Any], request: Request) -> Answer[Customer]:
        """One planned request, its answer or failure as an `Answer` (never raises an API error)."""
        op, args, kwargs = self._list_call(group_id, params)
        try:
            if isinstance(request, CountRequest):
                return Answer(200, total=self._count(group_id, params))
            detailed, raw = self._call(
                op.sync_detailed, *args, limit=request.limit, offset=request.offset, **kwargs
            )
        except ThreeDCartError as exc:
            return _failed_answer(exc)
        return _page_answer(detailed, raw)

    def count(self, *, timeout: TimeoutLike | None = None, **filters: Unpack[Filters]) -> int:
        """How many customers match the filters (the API's `countonly=1`).

        A 404 is never 0 here (the service counts 0 with a 200): it raises `NotFoundError`
        suggesting a wrong `base_url`.
        """
        self = self._timed(timeout)
        group_id, params = query_params(dict(filters), self._store.store_tz)
        return self._count(group_id, params)

    def _count(self, group_id: int | None, params: dict[str, Any]) -> int:
        return self._count_dated(group_id, params)[0]

    def _count_dated(self, group_id: int | None, params: dict[str, Any]) -> tuple[int, str | None]:
        """The count and the answer's `Date` header as sent (the sync core reads it)."""
        op, args, kwargs = self._list_call(group_id, params)
        detailed, raw = self._call(op.sync_detailed, *args, countonly=1, **kwargs)
        return _count_of(detailed, raw), raw.headers.get("Date")

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
    ) -> SyncRun:
        """The customers updated since the watermark `since` (an aware datetime; None: all), once each.

        Iterate the returned `SyncRun`; afterwards `run.complete` says whether the window was
        proven complete and `run.next_since` is the watermark to store for the next run (None
        when incomplete: keep the old one). The window closes at the store's clock (its `Date`
        header) minus `lag` seconds, or at this machine's if that is earlier; a store clock more
        than `max_clock_skew` seconds from this machine's (None: never compare) reads nothing and
        leaves the run incomplete. Store `run.clock_skew` with the watermark and pass it back as
        `last_clock_skew`: a store clock that stepped back since then is re-read by the step.
        See the README's "Incremental sync".
        """
        self = self._timed(timeout)
        _validate_paging(page_size, concurrency)
        core = SyncCore(
            since,
            tz=self._store.store_tz,
            lag=lag,
            max_passes=max_passes,
            max_clock_skew=max_clock_skew,
            last_clock_skew=last_clock_skew,
        )
        return SyncRun(self, core, page_size, concurrency)

    def iter(
        self,
        *,
        page_size: int = MAX_PAGE_SIZE,
        concurrency: int = 1,
        timeout: TimeoutLike | None = None,
        **filters: Unpack[Filters],
    ) -> Iterator[Customer]:
        """Every matching customer once, page after page, while the store may change.

        Pages overlap by one record and each must connect to what was already read, so a
        customer that matches from start to end is never skipped, even when others are
        deleted or updated out of the filter meanwhile (see the README's Pagination). With
        `concurrency > 1` the count is asked with the first pages and up to `concurrency`
        pages are fetched at once (threads); customers still arrive in page order. Memory
        holds at most `concurrency + 1` pages and 8 bytes per customer yielded.
        """
        self = self._timed(timeout)
        _validate_paging(page_size, concurrency)
        group_id, params = query_params(dict(filters), self._store.store_tz)
        return self._drive(_pager(page_size, concurrency), group_id, params)

    def _drive(
        self, pager: Pager[Customer], group_id: int | None, params: dict[str, Any]
    ) -> Iterator[Customer]:
        """Run the planner: send what it asks for, feed the answers back in order."""
        if pager.concurrency == 1:
            while not pager.done:
                for request in pager.requests():
                    yield from pager.feed(request, self._fetch(group_id, params, request))
            return
        pool = _PagePool(pager.concurrency)
        abandoned = threading.Event()
        pending: deque[tuple[Request, Future[Answer[Customer]]]] = deque()
        try:
            while not pager.done:
                for request in pager.requests():
                    ctx = contextvars.copy_context()  # carries with_options() into the worker
                    ctx.run(ABANDONED.set, abandoned)
                    pending.append((request, pool.submit(ctx.run, self._fetch, group_id, params, request)))
                request, future = pending.popleft()
                epoch = pager.epoch
                yield from pager.feed(request, future.result())
                if pager.epoch != epoch:  # a step back: what was asked before it is moot
                    for _, stale in pending:
                        stale.cancel()
                    pending.clear()
        finally:
            # Leaving (a break, an error, Ctrl-C) abandons the pages in flight: no new attempt,
            # no wait, and nobody waits for them (the pool's threads are daemons).
            abandoned.set()
            for _, stale in pending:
                stale.cancel()
            pool.shutdown()

    def create(self, customer: CustomerLike, *, timeout: TimeoutLike | None = None) -> int:
        """Create a customer; its new CustomerID. `Email` is required; `Password` defaults to ""."""
        self = self._timed(timeout)
        body = _create_body(customer)
        detailed, raw = self._call(create_customer.sync_detailed, client=self._store.client, body=body)
        return _written_id(detailed, raw, 201)

    def update(self, customer_id: int, customer: CustomerLike, *, timeout: TimeoutLike | None = None) -> None:
        """Change the fields given (and only those) of one customer. `NotFoundError` if absent."""
        self = self._timed(timeout)
        body = _update_body(customer)
        detailed, raw = self._call(
            update_customer.sync_detailed, _check_id(customer_id), client=self._store.client, body=body
        )
        _written_id(detailed, raw, 200)

    def update_many(
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
        cancellation): the exception's `partial_result` attribute (`threedcart.partial_result(exc)`)
        is the `BulkResult` of what was finished before it (the items of the batch in flight are
        in neither list: their outcome is unknown).
        """
        self = self._timed(timeout)
        if not 1 <= _whole("batch_size", batch_size) <= MAX_BULK_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BULK_BATCH}, not {batch_size}")
        result = BulkResult()
        plan = BulkPlan(_batches(customers, batch_size, result), result=result)
        try:
            while (batch := plan.next_batch()) is not None:
                body = [item.body for item in batch]
                detailed, raw = self._call(
                    update_customers.sync_detailed, client=self._store.client, body=body
                )
                _record_batch(plan, batch, detailed, raw)
        except BaseException as exc:  # an API error, the input raising, Ctrl-C, a cancellation
            attach_partial(exc, result)
            raise
        return result

    def delete(self, customer_id: int, *, timeout: TimeoutLike | None = None) -> None:
        """Delete one customer. `NotFoundError` if absent. A 204 (No Content) is a success too.

        A 404 to a retry, after an earlier attempt whose outcome is unknown (it timed out or its
        connection dropped after sending, or a 5xx came back), means that attempt deleted it:
        that is a success. After attempts the service refused (429), a 404 is `NotFoundError`.
        """
        self = self._timed(timeout)
        detailed, raw = self._call(
            delete_customer.sync_detailed, _check_id(customer_id), client=self._store.client
        )
        if detailed.status_code == 404 and _deleted_by_an_earlier_attempt(customer_id):
            return
        if raw.status_code == 204:  # No Content: deleted, with nothing to say
            return
        _written_id(detailed, raw, 200)


# --- async -----------------------------------------------------------------------------
class AsyncCustomers(_CustomersBase):
    """The store's customers (`store.customers`), with coroutines and async iterators."""

    _store: AsyncStore

    async def _call(
        self, op: Callable[..., Awaitable[Response[T]]], *args: Any, **kwargs: Any
    ) -> tuple[Response[T], httpx.Response]:
        try:
            with self._calling():
                detailed = await op(*args, **kwargs)
        except ThreeDCartError as exc:
            raise seal(exc).with_traceback(None)  # noqa: B904 (see Customers._call)
        return detailed, _last_response()

    async def get(self, customer_id: int, *, timeout: TimeoutLike | None = None) -> Customer:
        """The customer with this CustomerID. Raises `NotFoundError` if there is none."""
        self = self._timed(timeout)
        detailed, raw = await self._call(
            get_customer.asyncio_detailed, _check_id(customer_id), client=self._store.client
        )
        return _one_customer(detailed, raw)

    async def list(
        self,
        *,
        limit: int = MAX_PAGE_SIZE,
        offset: int = 1,
        timeout: TimeoutLike | None = None,
        **filters: Unpack[Filters],
    ) -> Page:
        """One page of customers; see `Customers.list`."""
        self = self._timed(timeout)
        _validate_limits(limit, offset)
        group_id, params = query_params(dict(filters), self._store.store_tz)
        page = one_page(await self._fetch(group_id, params, PageRequest(offset, limit, 0)), offset)
        if page is None:
            page = confirmed_empty(await self._fetch(group_id, params, COUNT))
        return page

    async def _fetch(
        self, group_id: int | None, params: dict[str, Any], request: Request
    ) -> Answer[Customer]:
        op, args, kwargs = self._list_call(group_id, params)
        try:
            if isinstance(request, CountRequest):
                return Answer(200, total=await self._count(group_id, params))
            detailed, raw = await self._call(
                op.asyncio_detailed, *args, limit=request.limit, offset=request.offset, **kwargs
            )
        except ThreeDCartError as exc:
            return _failed_answer(exc)
        return _page_answer(detailed, raw)

    async def count(self, *, timeout: TimeoutLike | None = None, **filters: Unpack[Filters]) -> int:
        """How many customers match the filters; see `Customers.count`."""
        self = self._timed(timeout)
        group_id, params = query_params(dict(filters), self._store.store_tz)
        return await self._count(group_id, params)

    async def _count(self, group_id: int | None, params: dict[str, Any]) -> int:
        return (await self._count_dated(group_id, params))[0]

    async def _count_dated(self, group_id: int | None, params: dict[str, Any]) -> tuple[int, str | None]:
        op, args, kwargs = self._list_call(group_id, params)
        detailed, raw = await self._call(op.asyncio_detailed, *args, countonly=1, **kwargs)
        return _count_of(detailed, raw), raw.headers.get("Date")

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
        """The customers updated since `since`, once each (`async for`); see `Customers.sync`."""
        self = self._timed(timeout)
        _validate_paging(page_size, concurrency)
        core = SyncCore(
            since,
            tz=self._store.store_tz,
            lag=lag,
            max_passes=max_passes,
            max_clock_skew=max_clock_skew,
            last_clock_skew=last_clock_skew,
        )
        return AsyncSyncRun(self, core, page_size, concurrency)

    def iter(
        self,
        *,
        page_size: int = MAX_PAGE_SIZE,
        concurrency: int = 1,
        timeout: TimeoutLike | None = None,
        **filters: Unpack[Filters],
    ) -> AsyncIterator[Customer]:
        """Every matching customer once (`async for`), with tasks; see `Customers.iter`."""
        self = self._timed(timeout)
        _validate_paging(page_size, concurrency)
        group_id, params = query_params(dict(filters), self._store.store_tz)
        return self._drive(_pager(page_size, concurrency), group_id, params)

    async def _drive(
        self, pager: Pager[Customer], group_id: int | None, params: dict[str, Any]
    ) -> AsyncIterator[Customer]:
        if pager.concurrency == 1:
            while not pager.done:
                for request in pager.requests():
                    for customer in pager.feed(request, await self._fetch(group_id, params, request)):
                        yield customer
            return
        pending: deque[tuple[Request, asyncio.Task[Answer[Customer]]]] = deque()
        try:
            while not pager.done:
                for request in pager.requests():
                    pending.append((request, asyncio.ensure_future(self._fetch(group_id, params, request))))
                request, task = pending.popleft()
                epoch = pager.epoch
                for customer in pager.feed(request, await task):
                    yield customer
                if pager.epoch != epoch:
                    for _, stale in pending:
                        stale.cancel()
                    pending.clear()
        finally:
            for _, stale in pending:
                stale.cancel()

    async def create(self, customer: CustomerLike, *, timeout: TimeoutLike | None = None) -> int:
        """Create a customer; its new CustomerID. `Email` is required; `Password` defaults to ""."""
        self = self._timed(timeout)
        body = _create_body(customer)
        detailed, raw = await self._call(
            create_customer.asyncio_detailed, client=self._store.client, body=body
        )
        return _written_id(detailed, raw, 201)

    async def update(
        self, customer_id: int, customer: CustomerLike, *, timeout: TimeoutLike | None = None
    ) -> None:
        """Change the fields given (and only those) of one customer. `NotFoundError` if absent."""
        self = self._timed(timeout)
        body = _update_body(customer)
        detailed, raw = await self._call(
            update_customer.asyncio_detailed, _check_id(customer_id), client=self._store.client, body=body
        )
        _written_id(detailed, raw, 200)

    async def update_many(
        self,
        customers: Iterable[CustomerLike],
        *,
        timeout: TimeoutLike | None = None,
        batch_size: int = MAX_BULK_BATCH,
    ) -> BulkResult:
        """Bulk-update customers in batches of at most 500; see `Customers.update_many`.

        An exception carries the finished part as `partial_result`, as there.
        """
        self = self._timed(timeout)
        if not 1 <= _whole("batch_size", batch_size) <= MAX_BULK_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BULK_BATCH}, not {batch_size}")
        result = BulkResult()
        plan = BulkPlan(_batches(customers, batch_size, result), result=result)
        try:
            while (batch := plan.next_batch()) is not None:
                body = [item.body for item in batch]
                detailed, raw = await self._call(
                    update_customers.asyncio_detailed, client=self._store.client, body=body
                )
                _record_batch(plan, batch, detailed, raw)
        except BaseException as exc:  # an API error, the input raising, Ctrl-C, a cancellation
            attach_partial(exc, result)
            raise
        return result

    async def delete(self, customer_id: int, *, timeout: TimeoutLike | None = None) -> None:
        """Delete one customer. `NotFoundError` if absent; see `Customers.delete`."""
        self = self._timed(timeout)
        detailed, raw = await self._call(
            delete_customer.asyncio_detailed, _check_id(customer_id), client=self._store.client
        )
        if detailed.status_code == 404 and _deleted_by_an_earlier_attempt(customer_id):
            return
        if raw.status_code == 204:  # No Content: deleted, with nothing to say
            return
        _written_id(detailed, raw, 200)


# --- incremental sync ----------------------------------------------------------------------
class _SyncRunBase:
    def __init__(self, core: SyncCore, page_size: int, concurrency: int) -> None:
        self._core = core
        self._page_size = page_size
        self._concurrency = concurrency
        self.estimate: int | None = None
        """Customers updated since the watermark when the run started (an upper bound, for progress)."""

    @property
    def window(self) -> SyncWindow | None:
        """The window this run covers (known once iteration has started; None: nothing to sync yet)."""
        return self._core.window

    @property
    def complete(self) -> bool | None:
        """True once the window was read and proven complete; False if it could not be; None before."""
        return self._core.complete

    @property
    def next_since(self) -> datetime | None:
        """The watermark to store after a complete run; None when the old one must stay."""
        return self._core.next_since

    @property
    def exported(self) -> int:
        """Distinct customers yielded."""
        return self._core.exported

    @property
    def passes(self) -> int:
        """How many times the window was read."""
        return self._core.passes

    @property
    def reason(self) -> str:
        """Why the run is incomplete ("" otherwise)."""
        return self._core.reason

    @property
    def clock_source(self) -> str:
        """ "store" (its Date header) or "client" (this machine's clock: the store sent no readable Date)."""
        return self._core.clock_source

    @property
    def clock_skew(self) -> timedelta | None:
        """The store's clock less this machine's (None when the store sent no readable Date)."""
        return self._core.clock_skew

    @property
    def rewound_from(self) -> datetime | None:
        """The watermark this run re-read before, because the store's clock was behind it (else None)."""
        return self._core.rewound_from

    def _probe_params(self) -> dict[str, Any]:
        since = self._core.since
        return {} if since is None else {UPDATED_SINCE: since}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(window={self.window.describe() if self.window else None}, "
            f"exported={self.exported}, passes={self.passes}, complete={self.complete})"
        )


class SyncRun(_SyncRunBase):
    """One sync run (`store.customers.sync(...)`): iterate it, then read `complete` and `next_since`."""

    def __init__(self, customers: Customers, core: SyncCore, page_size: int, concurrency: int) -> None:
        super().__init__(core, page_size, concurrency)
        self._customers = customers

    def __iter__(self) -> Iterator[Customer]:
        customers, core = self._customers, self._core
        tz = customers._store.store_tz
        _, probe = query_params(self._probe_params(), tz)
        self.estimate, store_time = customers._count_dated(None, probe)
        window = core.begin(store_time)
        if window is None:
            return
        _, params = query_params(dict(window.filters()), tz)
        while True:
            pager = _pager(self._page_size, self._concurrency)
            for customer in customers._drive(pager, None, params):
                if core.accept(_customer_key(customer)):
                    yield customer
            if not core.end_pass(customers._count(None, params)):
                return


class AsyncSyncRun(_SyncRunBase):
    """One sync run of an `AsyncStore` (`async for`); then read `complete` and `next_since`."""

    def __init__(self, customers: AsyncCustomers, core: SyncCore, page_size: int, concurrency: int) -> None:
        super().__init__(core, page_size, concurrency)
        self._customers = customers

    async def __aiter__(self) -> AsyncIterator[Customer]:
        customers, core = self._customers, self._core
        tz = customers._store.store_tz
        _, probe = query_params(self._probe_params(), tz)
        self.estimate, store_time = await customers._count_dated(None, probe)
        window = core.begin(store_time)
        if window is None:
            return
        _, params = query_params(dict(window.filters()), tz)
        while True:
            pager = _pager(self._page_size, self._concurrency)
            async for customer in customers._drive(pager, None, params):
                if core.accept(_customer_key(customer)):
                    yield customer
            if not core.end_pass(await customers._count(None, params)):
                return

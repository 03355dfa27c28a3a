"""`store.customers`: the Customers resource, sync and async.

Each method calls one generated operation (`sync_detailed` / `asyncio_detailed`), then turns
its answer into a return value or a typed error. Request building and model parsing stay in
the generated code.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import math
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

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
    CustomerUpdateItem,
    Error,
    WriteResult,
)
from threedcart_customers_client.types import Response

from ._bulk import BulkFailure, BulkResult
from ._constants import MAX_BULK_BATCH, MAX_PAGE_SIZE
from ._params import Filters, query_params
from ._transport import CALL_OPTIONS
from .errors import APIConnectionError, APIError, APITimeoutError, NotFoundError, error_class

if TYPE_CHECKING:
    from ._client import AsyncStore, Store, _BaseStore

T = TypeVar("T")
CustomerLike = Customer | Mapping[str, Any]
"""A `Customer`, or a mapping with the API's field names (`{"Email": ...}`)."""
Page = list[Customer]

LAST_RESPONSE: contextvars.ContextVar[httpx.Response | None] = contextvars.ContextVar(
    "threedcart_last_response", default=None
)
_OFFSET_EXCEEDS = "offset amount exceeds"


def remember_response(response: httpx.Response) -> None:
    """httpx response hook: keep the raw answer of the current call for error reporting."""
    LAST_RESPONSE.set(response)


async def aremember_response(response: httpx.Response) -> None:
    LAST_RESPONSE.set(response)


# --- shared, pure logic ----------------------------------------------------------------
def _message(response: httpx.Response) -> str:
    """The service's message from an error body, or the status text when there is none."""
    try:
        body = response.json()
    except ValueError:
        body = None
    items = body if isinstance(body, list) else [body]
    messages = [str(i["Message"]) for i in items if isinstance(i, dict) and i.get("Message")]
    if messages:
        return "; ".join(dict.fromkeys(messages))
    return response.reason_phrase or f"HTTP {response.status_code}"


def api_error(response: httpx.Response) -> APIError:
    return error_class(response.status_code)(_message(response), response=response)


def _to_customer(customer: CustomerLike, what: str = "customer") -> Customer:
    if isinstance(customer, Customer):
        return customer
    if isinstance(customer, CustomerCreate | CustomerUpdateItem):
        return Customer.from_dict(customer.to_dict())
    if not isinstance(customer, Mapping):
        raise TypeError(f"{what} must be a Customer or a mapping, not {type(customer).__name__}")
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


def _check_id(customer_id: int, what: str = "customer_id") -> int:
    if isinstance(customer_id, bool) or not isinstance(customer_id, int) or customer_id < 1:
        raise ValueError(f"{what} must be a positive integer, not {customer_id!r}")
    return customer_id


def _bulk_item(index: int, customer: CustomerLike) -> CustomerUpdateItem:
    data = _to_customer(customer, f"item {index}").to_dict()
    if "CustomerID" not in data:
        raise ValueError(f"item {index} of update_many has no CustomerID")
    _check_id(data["CustomerID"], f"item {index}'s CustomerID")
    return CustomerUpdateItem.from_dict(data)


def _batches(customers: Iterable[CustomerLike], size: int) -> Iterator[list[tuple[int, CustomerUpdateItem]]]:
    numbered = ((i, _bulk_item(i, c)) for i, c in enumerate(customers))
    while batch := list(itertools.islice(numbered, size)):
        yield batch


def _record_batch(
    result: BulkResult,
    batch: list[tuple[int, CustomerUpdateItem]],
    detailed: Response[Any],
    raw: httpx.Response,
) -> None:
    """Fold one bulk answer into `result`; raise when the whole call failed."""
    result.batches += 1
    parsed = detailed.parsed
    status = detailed.status_code
    if status == 200:
        result.updated.extend(item.customer_id for _, item in batch)
    elif status == 206 and isinstance(parsed, list) and len(parsed) == len(batch):
        for (index, item), outcome in zip(batch, parsed, strict=True):
            assert isinstance(outcome, WriteResult)
            if outcome.status.startswith("2"):
                result.updated.append(item.customer_id)
            else:
                code = int(outcome.status) if outcome.status.isdigit() else 0
                result.failed.append(BulkFailure(index, item.customer_id, code, outcome.message))
    elif status in (400, 404):
        # 404: none of the batch exists. 400: the batch was refused as a whole.
        per_item = isinstance(parsed, list) and len(parsed) == len(batch)
        for n, (index, item) in enumerate(batch):
            message = _message(raw)
            if per_item:
                error = parsed[n]  # type: ignore[index]
                if isinstance(error, Error) and isinstance(error.message, str):
                    message = error.message
            result.failed.append(BulkFailure(index, item.customer_id, status, message))
    else:
        raise api_error(raw)


def _last_response() -> httpx.Response:
    raw = LAST_RESPONSE.get()
    assert raw is not None, "the response hook did not run"
    return raw


def _one_customer(detailed: Response[Any], raw: httpx.Response) -> Customer:
    if detailed.status_code == 200 and isinstance(detailed.parsed, list):
        if not detailed.parsed:
            raise NotFoundError("The Customer record was not found", response=raw)
        customer = detailed.parsed[0]
        assert isinstance(customer, Customer)
        return customer
    raise api_error(raw)


def _page_or_empty(detailed: Response[Any], raw: httpx.Response) -> Page:
    if detailed.status_code == 200 and isinstance(detailed.parsed, list):
        return detailed.parsed
    if detailed.status_code == 404:
        return []  # "No Customer records found"
    if detailed.status_code == 400 and _OFFSET_EXCEEDS in _message(raw).lower():
        return []
    raise api_error(raw)


def _count_of(detailed: Response[Any], raw: httpx.Response) -> int:
    if detailed.status_code == 200 and isinstance(detailed.parsed, CountResult):
        return detailed.parsed.total_count
    if detailed.status_code == 404:
        return 0
    raise api_error(raw)


def _written_id(detailed: Response[Any], raw: httpx.Response, expected: int) -> int:
    parsed = detailed.parsed
    if detailed.status_code == expected and isinstance(parsed, list) and parsed:
        result = parsed[0]
        if isinstance(result, WriteResult):
            return int(result.value)
    raise api_error(raw)


def _validate_paging(page_size: int, concurrency: int) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")


def _validate_limits(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, not {limit}")
    if offset < 1:
        raise ValueError(f"offset is 1-based and must be at least 1, not {offset}")


def _grew(total: int, pages: int, page_size: int, last: Page) -> bool:
    """Whether the store grew while its pages were read: the last page came back fuller than counted."""
    return pages > 0 and len(last) > total - (pages - 1) * page_size


class _Dedupe:
    """Yield customers in increasing CustomerID only: a page that shifted never repeats one."""

    def __init__(self) -> None:
        self.last = 0

    def __call__(self, page: Page) -> Iterator[Customer]:
        for customer in page:
            cid = customer.customer_id
            if isinstance(cid, int):
                if cid <= self.last:
                    continue
                self.last = cid
            yield customer


class _CustomersBase:
    def __init__(self, store: _BaseStore) -> None:
        self._store = store

    @contextmanager
    def _calling(self) -> Iterator[None]:
        """Around one generated operation: this store's call options in, typed errors out."""
        options = self._store._call_options
        reset = CALL_OPTIONS.set(options) if options is not None else None
        LAST_RESPONSE.set(None)
        try:
            yield
        except (httpx.TransportError, ValueError, TypeError, KeyError, AttributeError) as exc:
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
        return APIError(f"unreadable answer ({type(exc).__name__}: {exc})", response=raw)
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
        with self._calling():
            detailed = op(*args, **kwargs)
        return detailed, _last_response()

    def get(self, customer_id: int) -> Customer:
        """The customer with this CustomerID. Raises `NotFoundError` if there is none."""
        detailed, raw = self._call(
            get_customer.sync_detailed, _check_id(customer_id), client=self._store.client
        )
        return _one_customer(detailed, raw)

    def list(self, *, limit: int = MAX_PAGE_SIZE, offset: int = 1, **filters: Unpack[Filters]) -> Page:
        """One page of customers in CustomerID order: `limit` (1..500) from the 1-based `offset`.

        A page past the end, or no match at all, is `[]` (the API answers 404 or 400 there).
        `group_id` lists one customer group's customers.
        """
        _validate_limits(limit, offset)
        group_id, params = query_params(dict(filters), self._store.store_tz)
        return self._page(group_id, params, limit, offset)

    def _page(self, group_id: int | None, params: dict[str, Any], limit: int, offset: int) -> Page:
        op, args, kwargs = self._list_call(group_id, params)
        detailed, raw = self._call(op.sync_detailed, *args, limit=limit, offset=offset, **kwargs)
        return _page_or_empty(detailed, raw)

    def count(self, **filters: Unpack[Filters]) -> int:
        """How many customers match the filters (the API's `countonly=1`)."""
        group_id, params = query_params(dict(filters), self._store.store_tz)
        return self._count(group_id, params)

    def _count(self, group_id: int | None, params: dict[str, Any]) -> int:
        op, args, kwargs = self._list_call(group_id, params)
        detailed, raw = self._call(op.sync_detailed, *args, countonly=1, **kwargs)
        return _count_of(detailed, raw)

    def iter(
        self, *, page_size: int = MAX_PAGE_SIZE, concurrency: int = 1, **filters: Unpack[Filters]
    ) -> Iterator[Customer]:
        """Every matching customer, page after page, in CustomerID order.

        With `concurrency > 1` the total is learnt with `count()` first and up to
        `concurrency` pages are fetched at once; customers still arrive in order. Memory
        holds at most `concurrency + 1` pages, whatever the store's size.
        """
        _validate_paging(page_size, concurrency)
        group_id, params = query_params(dict(filters), self._store.store_tz)
        if concurrency == 1:
            return self._sequential(group_id, params, page_size, 1, _Dedupe())
        return self._concurrent(group_id, params, page_size, concurrency)

    def _sequential(
        self, group_id: int | None, params: dict[str, Any], page_size: int, offset: int, dedupe: _Dedupe
    ) -> Iterator[Customer]:
        while True:
            page = self._page(group_id, params, page_size, offset)
            yield from dedupe(page)
            if len(page) < page_size:
                return
            offset += page_size

    def _concurrent(
        self, group_id: int | None, params: dict[str, Any], page_size: int, concurrency: int
    ) -> Iterator[Customer]:
        dedupe = _Dedupe()
        pool = ThreadPoolExecutor(concurrency, thread_name_prefix="threedcart-page")
        in_flight: deque[tuple[int, Future[Page]]] = deque()
        submitted = 0

        def submit() -> None:
            nonlocal submitted
            ctx = contextvars.copy_context()  # carries with_options() into the worker
            offset = 1 + submitted * page_size
            in_flight.append(
                (submitted, pool.submit(ctx.run, self._page, group_id, params, page_size, offset))
            )
            submitted += 1

        try:
            # The count and the first pages travel together: one round trip less before data flows.
            counted = pool.submit(contextvars.copy_context().run, self._count, group_id, params)
            while submitted < concurrency - 1:
                submit()
            total = counted.result()
            pages = math.ceil(total / page_size)
            while submitted < pages and len(in_flight) < concurrency:
                submit()
            last: Page = []
            while in_flight:
                index, future = in_flight.popleft()
                page = future.result()
                if submitted < pages:
                    submit()
                if index < pages:  # a page guessed beyond the end comes back empty
                    last = page
                    yield from dedupe(page)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if _grew(total, pages, page_size, last):
            yield from self._sequential(group_id, params, page_size, 1 + pages * page_size, dedupe)

    def create(self, customer: CustomerLike) -> int:
        """Create a customer; its new CustomerID. `Email` is required; `Password` defaults to ""."""
        body = _create_body(customer)
        detailed, raw = self._call(create_customer.sync_detailed, client=self._store.client, body=body)
        return _written_id(detailed, raw, 201)

    def update(self, customer_id: int, customer: CustomerLike) -> None:
        """Change the fields given (and only those) of one customer. `NotFoundError` if absent."""
        body = _to_customer(customer)
        detailed, raw = self._call(
            update_customer.sync_detailed, _check_id(customer_id), client=self._store.client, body=body
        )
        _written_id(detailed, raw, 200)

    def update_many(
        self, customers: Iterable[CustomerLike], *, batch_size: int = MAX_BULK_BATCH
    ) -> BulkResult:
        """Bulk-update customers (each with its CustomerID) in batches of at most 500.

        Returns which ids were updated and which failed with the service's message, across
        all batches. A batch the service refuses as a whole (400) or in which no customer
        exists (404) is reported item by item; authentication, rate-limit and server errors
        that outlast the retries raise. The input is consumed lazily, one batch at a time, and
        each item is checked as its batch is formed: an item without a CustomerID raises
        `ValueError` naming its index, after the batches before it were sent.
        """
        if not 1 <= batch_size <= MAX_BULK_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BULK_BATCH}, not {batch_size}")
        result = BulkResult()
        for batch in _batches(customers, batch_size):
            body = [item for _, item in batch]
            detailed, raw = self._call(update_customers.sync_detailed, client=self._store.client, body=body)
            _record_batch(result, batch, detailed, raw)
        return result

    def delete(self, customer_id: int) -> None:
        """Delete one customer. `NotFoundError` if absent."""
        detailed, raw = self._call(
            delete_customer.sync_detailed, _check_id(customer_id), client=self._store.client
        )
        _written_id(detailed, raw, 200)


# --- async -----------------------------------------------------------------------------
class AsyncCustomers(_CustomersBase):
    """The store's customers (`store.customers`), with coroutines and async iterators."""

    _store: AsyncStore

    async def _call(
        self, op: Callable[..., Awaitable[Response[T]]], *args: Any, **kwargs: Any
    ) -> tuple[Response[T], httpx.Response]:
        with self._calling():
            detailed = await op(*args, **kwargs)
        return detailed, _last_response()

    async def get(self, customer_id: int) -> Customer:
        """The customer with this CustomerID. Raises `NotFoundError` if there is none."""
        detailed, raw = await self._call(
            get_customer.asyncio_detailed, _check_id(customer_id), client=self._store.client
        )
        return _one_customer(detailed, raw)

    async def list(self, *, limit: int = MAX_PAGE_SIZE, offset: int = 1, **filters: Unpack[Filters]) -> Page:
        """One page of customers; see `Customers.list`."""
        _validate_limits(limit, offset)
        group_id, params = query_params(dict(filters), self._store.store_tz)
        return await self._page(group_id, params, limit, offset)

    async def _page(self, group_id: int | None, params: dict[str, Any], limit: int, offset: int) -> Page:
        op, args, kwargs = self._list_call(group_id, params)
        detailed, raw = await self._call(op.asyncio_detailed, *args, limit=limit, offset=offset, **kwargs)
        return _page_or_empty(detailed, raw)

    async def count(self, **filters: Unpack[Filters]) -> int:
        """How many customers match the filters (the API's `countonly=1`)."""
        group_id, params = query_params(dict(filters), self._store.store_tz)
        return await self._count(group_id, params)

    async def _count(self, group_id: int | None, params: dict[str, Any]) -> int:
        op, args, kwargs = self._list_call(group_id, params)
        detailed, raw = await self._call(op.asyncio_detailed, *args, countonly=1, **kwargs)
        return _count_of(detailed, raw)

    def iter(
        self, *, page_size: int = MAX_PAGE_SIZE, concurrency: int = 1, **filters: Unpack[Filters]
    ) -> AsyncIterator[Customer]:
        """Every matching customer, in CustomerID order (`async for`); see `Customers.iter`."""
        _validate_paging(page_size, concurrency)
        group_id, params = query_params(dict(filters), self._store.store_tz)
        if concurrency == 1:
            return self._sequential(group_id, params, page_size, 1, _Dedupe())
        return self._concurrent(group_id, params, page_size, concurrency)

    async def _sequential(
        self, group_id: int | None, params: dict[str, Any], page_size: int, offset: int, dedupe: _Dedupe
    ) -> AsyncIterator[Customer]:
        while True:
            page = await self._page(group_id, params, page_size, offset)
            for customer in dedupe(page):
                yield customer
            if len(page) < page_size:
                return
            offset += page_size

    async def _concurrent(
        self, group_id: int | None, params: dict[str, Any], page_size: int, concurrency: int
    ) -> AsyncIterator[Customer]:
        dedupe = _Dedupe()
        in_flight: deque[tuple[int, asyncio.Task[Page]]] = deque()
        submitted = 0

        def submit() -> None:
            nonlocal submitted
            offset = 1 + submitted * page_size
            in_flight.append(
                (submitted, asyncio.ensure_future(self._page(group_id, params, page_size, offset)))
            )
            submitted += 1

        counted = asyncio.ensure_future(self._count(group_id, params))
        last: Page = []
        try:
            while submitted < concurrency - 1:
                submit()
            total = await counted
            pages = math.ceil(total / page_size)
            while submitted < pages and len(in_flight) < concurrency:
                submit()
            while in_flight:
                index, task = in_flight.popleft()
                page = await task
                if submitted < pages:
                    submit()
                if index < pages:
                    last = page
                    for customer in dedupe(page):
                        yield customer
        finally:
            counted.cancel()
            for _, task in in_flight:
                task.cancel()
        if _grew(total, pages, page_size, last):
            async for customer in self._sequential(
                group_id, params, page_size, 1 + pages * page_size, dedupe
            ):
                yield customer

    async def create(self, customer: CustomerLike) -> int:
        """Create a customer; its new CustomerID. `Email` is required; `Password` defaults to ""."""
        body = _create_body(customer)
        detailed, raw = await self._call(
            create_customer.asyncio_detailed, client=self._store.client, body=body
        )
        return _written_id(detailed, raw, 201)

    async def update(self, customer_id: int, customer: CustomerLike) -> None:
        """Change the fields given (and only those) of one customer. `NotFoundError` if absent."""
        body = _to_customer(customer)
        detailed, raw = await self._call(
            update_customer.asyncio_detailed, _check_id(customer_id), client=self._store.client, body=body
        )
        _written_id(detailed, raw, 200)

    async def update_many(
        self, customers: Iterable[CustomerLike], *, batch_size: int = MAX_BULK_BATCH
    ) -> BulkResult:
        """Bulk-update customers in batches of at most 500; see `Customers.update_many`."""
        if not 1 <= batch_size <= MAX_BULK_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BULK_BATCH}, not {batch_size}")
        result = BulkResult()
        for batch in _batches(customers, batch_size):
            body = [item for _, item in batch]
            detailed, raw = await self._call(
                update_customers.asyncio_detailed, client=self._store.client, body=body
            )
            _record_batch(result, batch, detailed, raw)
        return result

    async def delete(self, customer_id: int) -> None:
        """Delete one customer. `NotFoundError` if absent."""
        detailed, raw = await self._call(
            delete_customer.asyncio_detailed, _check_id(customer_id), client=self._store.client
        )
        _written_id(detailed, raw, 200)

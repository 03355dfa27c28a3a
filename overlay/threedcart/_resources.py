"""The Customers resource's calls, I/O-free: what each sends and what its answer means.

`store.customers` (`_customers.py`, generated from `_customers_async.py`) sends the calls
built here through the generated client and hands the answers back here: each call's outcome is
one function of its answer (`RawResponse.parse()`), the same for sync and async.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any, Generic, TypeVar, cast

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
from threedcart_customers_client.types import Response, UnreadableResponse

from ._bulk import (
    BulkFailure,
    BulkItem,
    BulkPlan,
    BulkResult,
    ResultMismatch,
    match_results,
    named_id,
)
from ._constants import MAX_PAGE_SIZE
from ._pagination import Answer, Pager
from ._params import UPDATED_SINCE
from ._rows import is_json_object, is_mapping, update_problems, warn_deprecated
from ._sync import SyncCore, SyncWindow, http_date
from ._transport import MAYBE_PROCESSED
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

log = logging.getLogger("threedcart")

T = TypeVar("T")
R = TypeVar("R")
_ID = re.compile(r"[0-9]{1,10}")
MAX_ID = 2**31 - 1
MAX_READ_ID = 2**63 - 1  # the largest id read back (a signed 64-bit integer, as the pager keeps ids)
CustomerLike = Customer | CustomerCreate | CustomerUpdate | CustomerUpdateItem | Mapping[str, Any]
"""A `Customer`, or a mapping with the API's field names (`{"Email": ...}`)."""
Page = list[Customer]


# --- shared, pure logic ----------------------------------------------------------------
def _body_message(response: httpx.Response) -> str | None:
    """The service's message from an error body; None when the answer carries none."""
    try:
        body: object = response.json()
    except (ValueError, RecursionError):
        return None
    items = _listed(body) or [body]
    messages = [str(i["Message"]) for i in items if is_json_object(i) and i.get("Message")]
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
        warn_deprecated(customer.to_dict())
        return customer
    if isinstance(customer, CustomerCreate | CustomerUpdate | CustomerUpdateItem):
        return Customer.from_dict(customer.to_dict())
    if not isinstance(cast(object, customer), Mapping):
        raise TypeError(f"{what} must be a Customer or a mapping, not {type(customer).__name__}")
    warn_deprecated(customer)
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
    if isinstance(customer_id, bool) or not isinstance(cast(object, customer_id), int) or customer_id < 1:
        raise ValueError(f"{what} must be a positive integer, not {customer_id!r}")
    return customer_id


def _bulk_item(index: int, customer: object) -> BulkItem[CustomerUpdateItem] | BulkFailure:
    """One item of `update_many`, checked against the spec's schema before anything is sent."""
    data: dict[str, Any]
    if isinstance(customer, Customer | CustomerCreate | CustomerUpdate | CustomerUpdateItem):
        data = customer.to_dict()
    elif is_mapping(customer):
        data = {str(key): value for key, value in customer.items()}
    else:
        message = f"must be a Customer or a mapping, not {type(customer).__name__}"
        return BulkFailure(index, None, 400, message, sent=False)
    warn_deprecated(data)
    cid: object = data.get("CustomerID")
    problems = update_problems(data)
    if problems or not isinstance(cid, int):
        written = cid if isinstance(cid, int) and not isinstance(cid, bool) else None
        return BulkFailure(index, written, 400, "; ".join(problems), sent=False)
    return BulkItem(index, cid, CustomerUpdateItem.from_dict(data))


def batches(
    customers: Iterable[object], size: int, result: BulkResult
) -> Iterator[list[BulkItem[CustomerUpdateItem]]]:
    """Batches of `size` checked items, lazily; items that break the schema go to `result`.

    `customers` is an iterable of customers: a string, bytes or a mapping (one customer, not
    several) is a `TypeError` before anything is read."""
    given = cast(object, customers)  # checked at run time: callers without a type checker pass anything
    if isinstance(given, str | bytes | bytearray | Mapping) or not isinstance(given, Iterable):
        what = "one customer" if isinstance(given, Mapping) else f"a {type(given).__name__}"
        raise TypeError(
            f"customers must be an iterable of customers (a list, a generator, ...), not {what}"
            + ("; wrap it in a list" if isinstance(given, Mapping) else "")
        )
    return _batches(customers, size, result)


def _batches(
    customers: Iterable[object], size: int, result: BulkResult
) -> Iterator[list[BulkItem[CustomerUpdateItem]]]:
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


def record_batch(
    plan: BulkPlan[CustomerUpdateItem], batch: list[BulkItem[CustomerUpdateItem]], detailed: Response[Any]
) -> None:
    """Fold one bulk answer into the plan: item by item, or a refusal of the whole batch (400)."""
    raw = detailed.http_response
    result = plan.result
    result.batches += 1
    parsed = detailed.parsed
    status = int(detailed.status_code)
    if status == 200:
        result.updated.extend(item.customer_id for item in batch)
    elif status == 206 and (listed := _listed(parsed)) is not None:
        outcomes = cast(list[WriteResult], listed)  # the generated client reads a 206's items so
        try:
            order = _result_order(batch, outcomes)
        except ResultMismatch as exc:
            raise APIResponseValidationError(
                f"the service's answer to a bulk update of {len(batch)} does not match it: {exc}",
                response=raw,
            ) from None
        for n, item in enumerate(batch):
            outcome = outcomes[order[n]]  # one position per item (match_results)
            status_text = str(outcome.status)
            if status_text.startswith("2"):
                result.updated.append(item.customer_id)
            else:
                code = int(status_text) if _ID.fullmatch(status_text) else 0
                result.failed.append(BulkFailure(item.index, item.customer_id, code, outcome.message))
    elif status == 404:  # none of the batch exists: only the messages are per item
        listed = _listed(parsed)
        errors = None if listed is None else cast(list[Error], listed)  # read so by the generated client
        try:
            per_item = _result_order(batch, errors) if errors is not None else None
        except ResultMismatch:
            per_item = None  # the answer's own message for every item rather than a guess
        for n, item in enumerate(batch):
            message = _message(raw)
            if per_item is not None and errors is not None:
                error = errors[per_item[n]]
                if isinstance(error.message, str):
                    message = error.message
            result.failed.append(BulkFailure(item.index, item.customer_id, status, message))
    elif status == 400:  # refused as a whole: the plan splits it to find the items at fault
        plan.refused(batch, _message(raw))
        return
    else:
        raise api_error(raw)
    plan.answered(batch)


def _result_order(
    batch: list[BulkItem[CustomerUpdateItem]], results: list[WriteResult] | list[Error]
) -> list[int]:
    """The position of each item's result: by the CustomerID each names, by position if none does."""
    named = [named_id(r.value) for r in results]
    return match_results([item.customer_id for item in batch], named)


def _listed(parsed: object) -> list[object] | None:
    """A parsed answer that is a list, as a list of values to check one by one; None if it is not."""
    return cast(list[object], parsed) if isinstance(parsed, list) else None


def _one_customer(detailed: Response[Any]) -> Customer:
    raw = detailed.http_response
    customers = _listed(detailed.parsed)
    if detailed.status_code == 200 and customers is not None:
        if not customers:
            raise NotFoundError("The Customer record was not found", response=raw)
        customer = customers[0]
        if not isinstance(customer, Customer) or customer_key(customer) is None:
            raise APIResponseValidationError(
                f"the service sent a customer {_id_problem(customer)}", response=raw
            )
        return customer
    raise api_error(raw)


def _page_answer(detailed: Response[Any]) -> Answer[Customer]:
    raw = detailed.http_response
    parsed = detailed.parsed
    if detailed.status_code == 200:
        if (records := _listed(parsed)) is not None:
            customers = [c for c in records if isinstance(c, Customer) and customer_key(c) is not None]
            if len(customers) < len(records):
                wrong = next(c for c in records if not isinstance(c, Customer) or customer_key(c) is None)
                bad = APIResponseValidationError(
                    f"the service sent customers {_id_problem(wrong)}", response=raw
                )
                return Answer(200, error=bad)
            return Answer(200, records=customers)
        what = "a count ({TotalCount})" if isinstance(parsed, CountResult) else "no list of customers"
        invalid = APIResponseValidationError(f"the service answered {what} to a list request", response=raw)
        return Answer(200, error=invalid)
    return Answer(raw.status_code, message=_body_message(raw), error=api_error(raw))


def failed_answer(exc: ThreeDCartError) -> Answer[Customer]:
    """A request that raised, as the pager's answer: an API error keeps its status (an error raised
    rather than returned is the transport's refusal of an answer, whose body was not read), anything
    else has none (0)."""
    if isinstance(exc, APIError):
        return Answer(exc.status_code, error=exc)
    return Answer(0, error=exc)


def _count_of(detailed: Response[Any]) -> int:
    raw = detailed.http_response
    if detailed.status_code == 200 and isinstance(detailed.parsed, CountResult):
        total = cast(object, detailed.parsed.total_count)
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


def _deleted(customer_id: int) -> Callable[[Response[Any]], None]:
    """The outcome of a delete: a 200 naming the id, a 204 (No Content), or a 404 to a retry after
    an earlier attempt that may have done the delete (its outcome unknown); else the error."""

    def outcome(detailed: Response[Any]) -> None:
        if detailed.status_code == 404 and _deleted_by_an_earlier_attempt(detailed, customer_id):
            return
        if detailed.status_code == 204:  # No Content: deleted, with nothing to say
            return
        _written_id(detailed, 200)

    return outcome


def _deleted_by_an_earlier_attempt(detailed: Response[Any], customer_id: int) -> bool:
    """Whether a delete's 404 came to a retry after an earlier attempt may have done the delete."""
    if not detailed.http_response.extensions.get(MAYBE_PROCESSED):
        return False
    log.info("customer %d: the retried delete found it gone; an earlier attempt deleted it", customer_id)
    return True


def customer_key(customer: Customer) -> int | None:
    """The customer's id; None unless a whole number from 1 to 2**63-1 (what the pager can hold)."""
    cid = customer.customer_id
    return cid if isinstance(cid, int) and not isinstance(cid, bool) and 1 <= cid <= MAX_READ_ID else None


def _id_problem(customer: object) -> str:
    cid = getattr(customer, "customer_id", None)
    if isinstance(cid, int) and not isinstance(cid, bool):
        return f"with a CustomerID out of range ({str(cid)[:40]}; ids run from 1 to 2**63-1)"
    return "without a numeric CustomerID"


def customer_pager(page_size: int, concurrency: int) -> Pager[Customer]:
    return Pager(page_size, customer_key, concurrency=concurrency)  # overlap: PAGE_OVERLAP


def _written_id(detailed: Response[Any], expected: int) -> int:
    raw = detailed.http_response
    results = _listed(detailed.parsed)
    if detailed.status_code == expected and results:
        result = results[0]
        if isinstance(result, WriteResult):
            value = str(result.value)
            # ASCII digits only ("²".isdigit() is True), and an id the API can hold
            if _ID.fullmatch(value) and 1 <= int(value) <= MAX_ID:
                return int(value)
            raise APIResponseValidationError(
                f"the service answered a CustomerID that is not an id: {value[:40]!r}", response=raw
            )
    raise api_error(raw)


def _host_port(url: httpx.URL) -> str:
    """`host:port` of a URL, the scheme's default port included (what a connection error concerns)."""
    port = url.port or {"https": 443, "http": 80}.get(url.scheme)
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{port}" if port else host


def failure(exc: Exception) -> ThreeDCartError | None:
    """The SDK's error for what a generated operation raised (None: not the service's doing)."""
    if isinstance(exc, ThreeDCartError):  # from the transport: an answer over the size cap
        return exc
    if isinstance(exc, httpx.TransportError):
        cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        request = _request_of(exc)
        where = "" if request is None else f" from {_host_port(request.url)}"
        return cls(f"no answer{where} ({type(exc).__name__}: {exc})", request=request)
    if isinstance(exc, UnreadableResponse):
        raw = exc.http_response
        if not raw.is_success:
            return api_error(raw)
        cause = exc.__cause__
        what = (
            "nested too deeply"
            if isinstance(cause, RecursionError)
            else f"{type(cause).__name__}: {cause}"
            if cause is not None
            else str(exc)
        )
        return APIResponseValidationError(f"unreadable answer ({what[:200]})", response=raw)
    return None


def sealed(exc: Exception) -> BaseException:
    """What to raise for `exc`: the SDK's error, scrubbed and without httpx's frames (whose locals
    hold the headers as sent), its cause kept; or `exc` itself when it is not the service's doing."""
    mapped = failure(exc)
    if mapped is None:
        return exc
    if mapped is not exc:
        mapped.__cause__ = exc
    return seal(mapped).with_traceback(None)


def _request_of(exc: httpx.TransportError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:
        return None


@dataclass(frozen=True)
class Call(Generic[R]):
    """One generated operation with its arguments, and what its answer means (`outcome`)."""

    sync_detailed: Callable[..., Response[Any]]
    asyncio_detailed: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    outcome: Callable[[Response[Any]], R]


def _call(operation: ModuleType, *args: Any, outcome: Callable[[Response[Any]], R], **kwargs: Any) -> Call[R]:
    return Call(operation.sync_detailed, operation.asyncio_detailed, args, kwargs, outcome)


def get_call(customer_id: int) -> Call[Customer]:
    return _call(get_customer, _check_id(customer_id), outcome=_one_customer)


def create_call(customer: CustomerLike) -> Call[int]:
    return _call(create_customer, body=_create_body(customer), outcome=lambda d: _written_id(d, 201))


def update_call(customer_id: int, customer: CustomerLike) -> Call[None]:
    body = _update_body(customer)
    return _call(update_customer, _check_id(customer_id), body=body, outcome=_updated)


def _updated(detailed: Response[Any]) -> None:
    _written_id(detailed, 200)


def delete_call(customer_id: int) -> Call[None]:
    return _call(delete_customer, _check_id(customer_id), outcome=_deleted(customer_id))


def _list_operation(group_id: int | None) -> tuple[ModuleType, tuple[Any, ...]]:
    return (list_customers, ()) if group_id is None else (list_customer_group_customers, (group_id,))


def count_call(group_id: int | None, params: Mapping[str, Any]) -> Call[int]:
    operation, args = _list_operation(group_id)
    return _call(operation, *args, countonly=1, outcome=_count_of, **params)


def page_call(
    group_id: int | None, params: Mapping[str, Any], offset: int, limit: int
) -> Call[Answer[Customer]]:
    """One page; its outcome is an `Answer` for the pager, never an error raised."""
    operation, args = _list_operation(group_id)
    return _call(operation, *args, limit=limit, offset=offset, outcome=_page_answer, **params)


def bulk_call(body: list[CustomerUpdateItem]) -> Call[Response[Any]]:
    """One batch of a bulk update; `record_batch` reads its answer."""
    return _call(update_customers, body=body, outcome=_itself)


def _itself(detailed: Response[Any]) -> Response[Any]:
    return detailed


@dataclass(frozen=True)
class RawResponse(Generic[R]):
    """The answer to one call as the service sent it, and what the call returns (`parse()`).

    >>> raw = store.customers.with_raw_response.get(42)
    >>> raw.status_code, raw.headers["Date"], raw.elapsed
    >>> customer = raw.parse()

    The call raised already if its answer is an error (as the call itself does): a
    `RawResponse` holds an answer the call accepted.
    """

    http_response: httpx.Response = field(repr=False)
    _value: R = field(repr=False)

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def elapsed(self) -> timedelta:
        """From sending the request to the end of its answer: every attempt and the waits between."""
        return self.http_response.elapsed

    @property
    def content(self) -> bytes:
        return self.http_response.content

    @property
    def text(self) -> str:
        return self.http_response.text

    def json(self) -> Any:
        return self.http_response.json()

    @property
    def url(self) -> httpx.URL:
        return self.http_response.url

    @property
    def request(self) -> httpx.Request:
        return self.http_response.request

    def parse(self) -> R:
        """What the call returns: the customer, the page, the count, the new id, or None."""
        return self._value

    def __repr__(self) -> str:
        return f"<RawResponse [{self.status_code}] {self.request.method} {self.url.path}>"


def answered(call: Call[R], detailed: Response[Any]) -> RawResponse[R]:
    """The call's answer with its outcome (which raises the answer's error, if it is one)."""
    return RawResponse(detailed.http_response, call.outcome(detailed))


def whole(name: str, value: object) -> int:
    """`value` if it is a whole number; a TypeError naming the argument if not (True and 2.0 are not)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, not {type(value).__name__} {value!r}")
    return value


def validate_paging(page_size: int, concurrency: int) -> None:
    if not 1 <= whole("page_size", page_size) <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
    if whole("concurrency", concurrency) < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")


def validate_limits(limit: int, offset: int) -> None:
    if not 1 <= whole("limit", limit) <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, not {limit}")
    if whole("offset", offset) < 1:
        raise ValueError(f"offset is 1-based and must be at least 1, not {offset}")


# --- incremental sync ----------------------------------------------------------------------
class SyncRunBase:
    def __init__(self, core: SyncCore, page_size: int, concurrency: int) -> None:
        self._core = core
        self._page_size = page_size
        self._concurrency = concurrency
        self.estimate: int | None = None
        """Customers updated since the watermark when the run started (an upper bound, for progress)."""
        self._started = False

    def _start(self) -> None:
        """A run reads its window once: iterating it again would read another window silently."""
        if self._started:
            raise RuntimeError(
                "this sync run was iterated already; start another with customers.sync(run.next_since)"
            )
        self._started = True

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
        return {UPDATED_SINCE: self._core.since}  # a filter of None is no filter

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(window={self.window.describe() if self.window else None}, "
            f"exported={self.exported}, passes={self.passes}, complete={self.complete})"
        )

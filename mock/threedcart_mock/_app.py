"""The mock's HTTP surface: a Starlette app answering like the 3dcart Customers API."""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._clock import StoreClock
from ._db import Database, Order, Query, filter_column
from ._operations import (
    JSON,
    MAX_BODY_BYTES,
    Answer,
    ApiError,
    Filter,
    Operation,
    Parameter,
    RequestBody,
    customer_filters,
    documented_answer,
    given_once,
    is_json,
    media_type,
    operations,
    parameter_value,
    parse_json,
    read_body,
    request_values,
    server_base_path,
)
from ._schema import (
    MISSING,
    Field,
    Schema,
    body_schema_at,
    customer_fields,
    date_pattern,
    default_value,
    resolve,
    schema_type,
    spec_text,
    unicode_problem,
)
from ._server import ABORT_KEY

__all__ = [
    "MAX_BODY_BYTES",
    "NO_SUCH_RESOURCE_HEADER",
    "ApiError",
    "MockApi",
    "Settings",
    "StoreCredentials",
    "api_base_path",
    "api_routes",
    "create_app",
    "new_customer_defaults",
    "server_base_path",
]

DEFAULT_LIMIT = 10  # the spec: the real default is unknown, the local mock uses 10
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")  # used with fullmatch: "5\n" is not an id
_SIGNED = re.compile(r"[+-]?[0-9]{1,19}")  # as the validator reads an integer: a sign, digits
# Statuses the real service sometimes answers without any body (`--bodiless-errors`).
BODILESS_STATUSES = frozenset({400, 404, 500})
_JSON = JSON
# The writes `--fault-after-commit` may fail after they committed (or, answered from the spec, pretended to).
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Computed by the store: never taken from a request body (the spec says so only in its description).
COMPUTED_FIELDS = frozenset({"TotalStoreCredit"})
# Headers that are never parameters (OpenAPI ignores header parameters of these names).
_RESERVED_HEADERS = frozenset({"accept", "content-type", "authorization"})
# The operations with a stateful handler (everything else is answered from the spec).
STATEFUL_OPERATIONS = (
    "listCustomers",
    "createCustomer",
    "updateCustomers",
    "getCustomer",
    "updateCustomer",
    "deleteCustomer",
    "listCustomerGroupCustomers",
)


@dataclass(frozen=True)
class StoreCredentials:
    secure_url: str
    private_key: str
    token: str

    def __repr__(self) -> str:
        return f"StoreCredentials(secure_url={self.secure_url!r}, private_key='***', token='***')"

    @property
    def key(self) -> str:
        return normalize_url(self.secure_url)


def normalize_url(url: str) -> str:
    return url.strip().rstrip("/").lower()


@dataclass
class LeakyBucket:
    """The documented limit: a bucket of `capacity` requests draining at `rate` per second."""

    capacity: float = 50
    rate: float = 2
    level: float = 0
    stamp: float = field(default_factory=time.monotonic)

    def admit(self, now: float) -> float:
        """0 when the request fits, else the seconds until it would."""
        self.level = max(0.0, self.level - (now - self.stamp) * self.rate)
        self.stamp = now
        if self.level + 1 > self.capacity:
            return (self.level + 1 - self.capacity) / self.rate
        self.level += 1
        return 0.0


@dataclass
class Settings:
    stores: list[StoreCredentials]
    latency_ms: float = 0
    fault_rate: float = 0
    rate_limit: bool = False
    random_seed: int = 0
    bodiless_errors: bool = False  # 400, 404 and 500 of the API answered with no body at all
    # share of successful writes that commit, then answer 500 or drop the connection unanswered
    fault_after_commit: float = 0
    order: Order = "id"  # list order: CustomerID, or a stable order that is not CustomerID order
    clock_start: datetime | None = None  # the store clock's start (aware); None: real time
    clock_speed: float = 1.0  # store seconds per real second
    clock: StoreClock = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.clock = StoreClock(self.clock_start, self.clock_speed)


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False), status, headers, media_type=_JSON
    )


def error_response(
    status: int, message: str, value: str = "", headers: Mapping[str, str] | None = None
) -> Response:
    return _json(
        [{"Key": "Error", "Value": value, "Status": str(status), "Message": message}], status, headers
    )


def _write_result(customer_id: int, status: int, message: str) -> dict[str, str]:
    return {"Key": "CustomerID", "Value": str(customer_id), "Status": str(status), "Message": message}


def new_customer_defaults() -> dict[str, Any]:
    """What a new customer holds before the fields sent are applied: each field's default (see
    `_schema.default_value`), and an enabled account."""
    fields = customer_fields()
    defaults = {f.name: default_value(f) for f in fields.values() if f.name != "CustomerID"}
    record = {name: value for name, value in defaults.items() if value is not MISSING}
    if "Enabled" in fields and fields["Enabled"].kind is bool and "default" not in fields["Enabled"].schema:
        record["Enabled"] = True
    return record


# --- parameters the stateful handlers read ------------------------------------------------------
def _int_bounds(node: Mapping[str, Any]) -> tuple[int, int, frozenset[int] | None]:
    """The inclusive bounds of an integer parameter's schema, and its enum if it has one."""
    low, high = INT64_MIN, INT64_MAX
    if node.get("format") == "int32":
        low, high = INT32_MIN, INT32_MAX
    if isinstance(node.get("minimum"), int | float):
        low = max(low, math.ceil(node["minimum"]) + (1 if node.get("exclusiveMinimum") else 0))
    if isinstance(node.get("maximum"), int | float):
        high = min(high, math.floor(node["maximum"]) - (1 if node.get("exclusiveMaximum") else 0))
    enum = node.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, int) for v in enum):
        return max(low, min(enum)), min(high, max(enum)), frozenset(enum)
    return low, high, None


@dataclass(frozen=True)
class IntParam:
    """An integer query parameter read by a handler (limit, offset, countonly), bounded by its schema."""

    name: str
    low: int
    high: int
    enum: frozenset[int] | None
    allow_empty: bool

    @staticmethod
    def of(param: Parameter | None) -> IntParam | None:
        if param is None:
            return None
        low, high, enum = _int_bounds(param.node)
        return IntParam(param.name, low, high, enum, param.allow_empty)

    def read(self, params: Mapping[str, str], default: int) -> int:
        raw = params.get(self.name)
        if raw is None or (raw == "" and self.allow_empty):  # the reference's samples send them empty
            return default
        if (
            not _SIGNED.fullmatch(raw)
            or not self.low <= int(raw) <= self.high
            or (self.enum is not None and int(raw) not in self.enum)
        ):
            raise ApiError(
                400, f"{self.name} must be an integer between {self.low} and {self.high}", raw[:50]
            )
        return int(raw)


@dataclass(frozen=True)
class FilterParam:
    param: Parameter
    filter: Filter
    field: Field | None  # None for the store's last-update time

    def column(self) -> str:
        return filter_column(self.filter.field)


@dataclass(frozen=True)
class ListPlan:
    """How a list operation reads its query: paging from its parameters, filters from the spec."""

    limit: IntParam | None
    offset: IntParam | None
    countonly: IntParam | None
    default_limit: int
    filters: tuple[FilterParam, ...]
    others: tuple[Parameter, ...]  # declared, neither paging nor filters: validated, then ignored

    @staticmethod
    def of(op: Operation) -> ListPlan:
        fields = customer_fields()
        by_param = {f.param: f for f in customer_filters().get(op.operation_id, ())}
        paging = ("limit", "offset", "countonly")
        limit = op.param("limit")
        default = DEFAULT_LIMIT
        if limit is not None and isinstance(limit.node.get("default"), int):
            default = int(limit.node["default"])
        return ListPlan(
            IntParam.of(limit),
            IntParam.of(op.param("offset")),
            IntParam.of(op.param("countonly")),
            default,
            tuple(
                FilterParam(p, by_param[p.name], fields.get(by_param[p.name].field))
                for p in op.parameters
                if p.location == "query" and p.name in by_param
            ),
            tuple(
                p
                for p in op.parameters
                if p.location == "query" and p.name not in by_param and p.name not in paging
            ),
        )


def _for_field(f: Field, raw: str, value: Any) -> Any:
    """A filter's value as the field's column holds it (json_extract's types: booleans are 1 and 0)."""
    kind, node = f.kind, f.schema
    if kind is list:
        node, _ = resolve(node.get("items") or {}, "")
        kind = {"integer": int, "number": float, "boolean": bool}.get(schema_type(node) or "", str)
    if kind is str:
        return raw
    if kind is bool:
        if isinstance(value, bool):
            return int(value)
        return {"true": 1, "1": 1, "false": 0, "0": 0}.get(raw.lower(), raw)
    if kind is int:
        return int(raw) if _SIGNED.fullmatch(raw) else raw
    if kind is float:
        try:
            number = float(raw)
        except ValueError:
            return raw
        return number if math.isfinite(number) else raw
    return raw


_STORE_TIME = "%m/%d/%Y %H:%M:%S"


def _bound_for_field(f: Field, raw: str, value: Any) -> Any:
    """A since/until value as the field's column holds it: numbers compare as numbers, text as text
    (a store time given to a `date`/`date-time` field compares as ISO 8601)."""
    if f.kind in (int, float):
        return _for_field(f, raw, value)
    if f.format in ("date", "date-time"):
        try:
            moment = datetime.strptime(raw, _STORE_TIME)
        except ValueError:
            return raw
        return moment.date().isoformat() if f.format == "date" else moment.isoformat()
    return raw


class MockApi:
    """The routes, their validation and their answers."""

    def __init__(self, settings: Settings, db: Database) -> None:
        if db.order != settings.order:
            raise ValueError(f"the database pages in {db.order!r} order, the settings say {settings.order!r}")
        self.settings = settings
        self.db = db
        self.defaults = new_customer_defaults()
        self._stores = {s.key: s for s in settings.stores}
        self._buckets: dict[str, LeakyBucket] = {}
        self._rng = random.Random(settings.random_seed)
        # its own sequence: adding after-commit faults leaves the faults of `--fault-rate` as they were
        self._after_commit_rng = random.Random(f"after-commit-{settings.random_seed}")
        self._lists: dict[str, ListPlan] = {}
        self._bodies: dict[str, Schema | None] = {}
        self._ids: dict[str, tuple[str, str, int, int]] = {}  # operationId -> its path id's name, bounds

    # --- the gate every API request passes ------------------------------------
    def _authenticate(self, request: Request) -> str:
        headers = request.headers
        secure_url, private_key, token = (headers.get(h) for h in ("secureurl", "privatekey", "token"))
        missing = [
            name
            for name, value in (("SecureURL", secure_url), ("PrivateKey", private_key), ("Token", token))
            if not value
        ]
        if missing:
            raise ApiError(401, f"Authentication failure: missing header {', '.join(missing)}")
        store = self._stores.get(normalize_url(secure_url or ""))
        if (
            store is None
            or not hmac.compare_digest(store.private_key.encode(), (private_key or "").encode())
            or not hmac.compare_digest(store.token.encode(), (token or "").encode())
        ):
            raise ApiError(
                401,
                "Authentication failure. The PrivateKey/Token/SecureURL combination is invalid",
            )
        return store.key

    def _throttle(self, store: str) -> None:
        if not self.settings.rate_limit:
            return
        bucket = self._buckets.setdefault(store, LeakyBucket())
        wait = bucket.admit(time.monotonic())
        if wait:
            raise ApiError(
                429,
                "Too many requests: the store's request bucket is full",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    def _inject_fault(self) -> None:
        if self.settings.fault_rate and self._rng.random() < self.settings.fault_rate:
            if self._rng.random() < 0.5:
                raise ApiError(500, "Injected fault: internal server error")
            raise ApiError(503, "Injected fault: service unavailable")

    def endpoint(
        self, handler: Callable[[Request, str], Awaitable[Response]], *, secured: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            try:
                if self.settings.latency_ms:
                    await asyncio.sleep(self.settings.latency_ms / 1000)
                # An operation the spec leaves unsecured (`security: []`) shares one anonymous bucket.
                store = self._authenticate(request) if secured else ""
                self._throttle(store)
                self._inject_fault()
                response = await handler(request, store)
            except ApiError as exc:
                return self.error(exc.status, exc.message, exc.value, exc.headers)
            except ClientDisconnect:
                # The client went away while sending its body (or the server closed it: a
                # timeout, a shutdown). Nobody reads this answer; it is no application error.
                return Response(b"", 400)
            if request.method in _WRITES and 200 <= response.status_code < 300:
                return self._fault_after_commit(request, response)
            return response

        return guarded

    def _fault_after_commit(self, request: Request, response: Response) -> Response:
        """`--fault-after-commit`: the write is committed; its answer fails or never comes."""
        share = self.settings.fault_after_commit
        if not share or self._after_commit_rng.random() >= share:
            return response
        abort = request.scope.get(ABORT_KEY)
        if self._after_commit_rng.random() < 0.5 and callable(abort):
            abort()  # the connection drops without an answer; what is returned goes nowhere
            return response
        return self.error(500, "Injected fault after commit: internal server error")

    def error(
        self, status: int, message: str, value: str = "", headers: Mapping[str, str] | None = None
    ) -> Response:
        """An error answer: the error array, or nothing at all under `--bodiless-errors`."""
        if self.settings.bodiless_errors and status in BODILESS_STATUSES:
            return Response(b"", status, headers)  # Content-Length: 0 and no Content-Type
        return error_response(status, message, value, headers)

    # --- request parsing ----------------------------------------------------
    def _path_id(self, request: Request, op: Operation) -> int:
        """The operation's (one) integer path parameter, within its schema's bounds."""
        found = self._ids.get(op.operation_id)
        if found is None:
            param = next((p for p in op.parameters if p.location == "path"), None)
            if param is None:
                raise ApiError(400, f"{op.operation_id} has no path parameter in the spec")
            low, high, _ = _int_bounds(param.node)
            route_name = op.route_names.get(param.name, param.name)
            found = self._ids[op.operation_id] = (route_name, param.name, max(low, 0), high)
        route_name, name, low, high = found
        raw = str(request.path_params.get(route_name, ""))
        if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
            raise ApiError(400, f"{name} must be an integer between {low} and {high}", raw[:50])
        return int(raw)

    @staticmethod
    async def _body(request: Request) -> Any:
        media = media_type(request)
        if media != _JSON:
            raise ApiError(415, f"Unsupported media type {media or '(none)'!r}: send application/json")
        return parse_json(await read_body(request))

    def _body_schema(self, op: Operation) -> Schema | None:
        """The schema of the operation's JSON request body in the spec."""
        if op.operation_id not in self._bodies:
            body = RequestBody.of(op)
            at = body.schema_for(_JSON)[1] if body is not None else None
            self._bodies[op.operation_id] = body_schema_at(at) if at is not None else None
        return self._bodies[op.operation_id]

    def _validate(self, op: Operation, body: Any) -> None:
        """The body against the operation's request body schema: 400 naming every problem."""
        schema = self._body_schema(op)
        problem = schema.check(body, items="item") if schema is not None else None
        if problem:
            raise ApiError(400, problem)

    @staticmethod
    def _fields(body: Any, where: str = "") -> dict[str, Any]:
        """The Customer fields of a (validated) JSON object that the store keeps.

        Unknown keys are ignored (the service ignores them), and so are read-only fields and
        those the store computes (TotalStoreCredit).
        """
        if not isinstance(body, dict):
            raise ApiError(400, f"{where}the customer must be a JSON object")
        fields = customer_fields()
        kept = {
            k: v
            for k, v in body.items()
            if k in fields and not fields[k].read_only and k not in COMPUTED_FIELDS
        }
        problems = [
            problem
            for k, v in kept.items()
            if not (isinstance(v, str) and v.isascii()) and v is not None and not isinstance(v, int | float)
            if (problem := unicode_problem(v, k))
        ]
        if problems:
            raise ApiError(400, where + "; ".join(problems))
        return kept

    def _plan(self, op: Operation) -> ListPlan:
        plan = self._lists.get(op.operation_id)
        if plan is None:
            plan = self._lists[op.operation_id] = ListPlan.of(op)
        return plan

    def _query(self, request: Request, op: Operation, group_id: int | None) -> tuple[Query, int, int, bool]:
        params = request.query_params
        plan = self._plan(op)
        for paging in (plan.limit, plan.offset, plan.countonly):
            if paging is not None:
                given_once(paging.name, params.getlist(paging.name))
        limit = plan.limit.read(params, plan.default_limit) if plan.limit else plan.default_limit
        offset = max(1, plan.offset.read(params, 1)) if plan.offset else 1
        count_only = plan.countonly.read(params, 0) == 1 if plan.countonly else False
        equals: list[tuple[str, Any]] = []
        bounds: list[tuple[str, str, Any]] = []
        contains: list[tuple[str, Any]] = []
        updated: dict[str, str] = {}
        for fp in plan.filters:
            values = params.getlist(fp.param.name)
            if schema_type(fp.param.node) != "array":
                given_once(fp.param.name, values)
            raw = values[0] if values else None
            if raw is None or (raw == "" and fp.param.allow_empty):
                continue
            flt, f = fp.filter, fp.field
            if f is None:  # the store's last-update time
                updated[flt.match] = _moment(fp.param, raw)
                continue
            value = parameter_value(fp.param, values)
            if flt.match == "equals" and f.kind is list:
                contains.append((flt.field, _for_field(f, raw, value)))
            elif flt.match == "equals":
                equals.append((fp.column(), _for_field(f, raw, value)))
            else:
                bounds.append(
                    (fp.column(), ">=" if flt.match == "since" else "<=", _bound_for_field(f, raw, value))
                )
        for param in plan.others:
            parameter_value(param, params.getlist(param.name))
        query = Query(
            group_id,
            tuple(equals),
            updated.get("since"),
            updated.get("until"),
            tuple(bounds),
            tuple(contains),
        )
        return query, limit, offset, count_only

    # --- operations ---------------------------------------------------------
    async def list_customers(self, request: Request, store: str, op: Operation) -> Response:
        return self._list(request, store, op, None, "No Customer records found")

    async def list_group(self, request: Request, store: str, op: Operation) -> Response:
        group_id = self._path_id(request, op)
        return self._list(
            request,
            store,
            op,
            group_id,
            "The Customer Group was not found and/or contains no customer records",
        )

    def _list(
        self, request: Request, store: str, op: Operation, group_id: int | None, none_found: str
    ) -> Response:
        query, limit, offset, count_only = self._query(request, op, group_id)
        if count_only:
            return _json({"TotalCount": self.db.count(store, query)})
        rows = self.db.page(store, query, limit, offset)
        if rows:
            return Response("[" + ",".join(rows) + "]", 200, media_type=_JSON)
        if self.db.count(store, query) == 0:
            raise ApiError(404, none_found)
        raise ApiError(400, "Offset amount exceeds the total number of records", str(offset))

    async def get_customer(self, request: Request, store: str, op: Operation) -> Response:
        customer_id = self._path_id(request, op)
        data = self.db.get(store, customer_id)
        if data is None:
            raise ApiError(404, "The Customer record was not found", str(customer_id))
        return Response("[" + data + "]", 200, media_type=_JSON)

    async def create_customer(self, request: Request, store: str, op: Operation) -> Response:
        body = await self._body(request)
        self._validate(op, body)
        fields = self._fields(body)
        fields.pop("CustomerID", None)  # assigned by the store
        if "Email" in fields and fields["Email"] is None:
            # the spec lets a stored Email be null; a new customer needs one
            raise ApiError(400, "Email is required and must not be null on create")
        customer_id = self.db.create(store, {**self.defaults, **fields})
        return _json([_write_result(customer_id, 201, "Created successfully")], 201)

    async def update_customer(self, request: Request, store: str, op: Operation) -> Response:
        customer_id = self._path_id(request, op)
        body = await self._body(request)
        self._validate(op, body)
        fields = self._fields(body)
        if not self.db.update(store, customer_id, fields):
            raise ApiError(404, "The Customer record was not found", str(customer_id))
        return _json([_write_result(customer_id, 200, "updated successfully")])

    async def update_customers(self, request: Request, store: str, op: Operation) -> Response:
        body = await self._body(request)
        self._validate(op, body)
        if not isinstance(body, list) or not body:
            raise ApiError(400, "The body must be a JSON array of customers")
        items = []
        for index, item in enumerate(body):
            where = f"item {index}: "
            fields = self._fields(item, where)
            customer_id = fields.get("CustomerID")
            if not isinstance(customer_id, int) or isinstance(customer_id, bool):
                raise ApiError(400, where + "CustomerID is required")
            items.append((customer_id, fields))
        found = self.db.update_many(store, items)
        results = [
            _write_result(cid, 200, "updated successfully")
            if ok
            else _write_result(cid, 404, "The Customer record was not found")
            for (cid, _), ok in zip(items, found, strict=True)
        ]
        if all(found):
            return _json(results)
        if not any(found):
            if self.settings.bodiless_errors:
                return self.error(404, "The Customer records were not found")
            return _json(
                [
                    {"Key": "Error", "Value": r["Value"], "Status": "404", "Message": r["Message"]}
                    for r in results
                ],
                404,
            )
        return _json(results, 206)

    async def delete_customer(self, request: Request, store: str, op: Operation) -> Response:
        customer_id = self._path_id(request, op)
        if not self.db.delete(store, customer_id):
            raise ApiError(404, "The Customer record was not found", str(customer_id))
        return _json([_write_result(customer_id, 200, "Deleted successfully")])

    # --- an operation without a handler: answered from the spec ----------------------------------
    def from_spec(self, op: Operation) -> Callable[[Request, str], Awaitable[Response]]:
        """The stateless handler of an operation: validate the request, answer the documented example."""
        answer: Answer | None = documented_answer(op)
        body = RequestBody.of(op)
        for at in body.content.values() if body is not None else ():
            if at is not None:
                body_schema_at(at).self_check()
        params = tuple(
            p for p in op.parameters if not (p.location == "header" and p.name.lower() in _RESERVED_HEADERS)
        )

        async def handler(request: Request, store: str) -> Response:
            for param in params:
                parameter_value(param, request_values(request, param, op.route_names))
            if body is not None:
                data = await read_body(request)
                if not data:
                    if body.required:
                        raise ApiError(400, "The request body is required")
                else:
                    media = media_type(request)
                    accepted, at = body.schema_for(media)
                    if not accepted:
                        raise ApiError(
                            415,
                            f"Unsupported media type {media or '(none)'!r}: send "
                            + " or ".join(body.content),
                        )
                    if is_json(media):
                        value = parse_json(data)
                        problem = body_schema_at(at).check(value, items="item") if at is not None else None
                        if problem:
                            raise ApiError(400, problem)
            if answer is None:
                raise ApiError(501, f"The spec documents no successful answer for {op.label}")
            return Response(answer.body, answer.status, dict(answer.headers), media_type=answer.media_type)

        return handler


def _moment(param: Parameter, raw: str) -> str:
    """A store-time filter value (`MM/DD/YYYY HH:MM:SS`, checked against the parameter's schema too)
    as the database keeps times."""
    try:
        schema = param.schema
        if schema is not None and schema.check(raw, param.name) is not None:
            raise ValueError
        if not date_pattern().match(raw):
            raise ValueError
        # isoformat, not strftime: the year must keep four digits (0999) to compare as text
        return datetime.strptime(raw, _STORE_TIME).isoformat(sep=" ")
    except ValueError:
        raise ApiError(400, f"{param.name} must be a valid date MM/DD/YYYY HH:MM:SS", raw[:50]) from None


# --- routes from the spec ------------------------------------------------------------------------
def api_routes() -> dict[str, dict[str, str]]:
    """The spec's paths, with the server's base path, and their operations: {path: {METHOD: operationId}}."""
    routes: dict[str, dict[str, str]] = {}
    for op in operations():
        routes.setdefault(op.label.split(" ", 2)[1], {})[op.method] = op.operation_id
    return routes


def api_base_path() -> str:
    """The path prefix every operation of the spec shares (`/3dCartWebAPI/v1` in 1.x)."""
    split = [p.strip("/").split("/") for p in api_routes()]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1 or parts[0].startswith("{"):
            break
        common.append(parts[0])
    return "/" + "/".join(common) if common else ""


async def _openapi(request: Request) -> Response:
    return Response(spec_text(), media_type="application/yaml")


def _route_order(route: str) -> list[tuple[int, str]]:
    """Literal segments before templated ones, so that `/Customers/Special` wins over `/Customers/{id}`."""
    return [(1 if "{" in segment else 0, segment) for segment in route.split("/")]


# The header that marks the mock's own 404 for a path the spec does not have.
NO_SUCH_RESOURCE_HEADER = "X-Mock-No-Such-Resource"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        # Not an API answer: the path is none of the spec's (a wrong base path, a typo). It is
        # plain text, not the error array, so that nobody takes it for "No Customer records found".
        text = (
            f"No such resource: {request.method} {request.url.path} is not a path of the API "
            f"(the spec's paths start with {api_base_path()}). This 404 is the mock's own answer, "
            "not one of the API.\n"
        )
        headers = {**(exc.headers or {}), NO_SUCH_RESOURCE_HEADER: "1"}
        return Response(text, 404, headers, media_type="text/plain")
    message = {405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, f"{message}: {request.method} {request.url.path}", "", exc.headers)


class DateHeader:
    """ASGI middleware: every answer carries exactly one `Date` header, from the store clock.

    The server (`_server`) adds none of its own; a `Date` set by the app is replaced all the same.
    """

    def __init__(self, app: ASGIApp, clock: StoreClock) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"date"]
                headers.append((b"date", self.clock.http_date()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_dated)


class MockApp(Starlette):
    """Starlette with `DateHeader` outside everything, even the handler of unexpected errors."""

    clock: StoreClock

    def build_middleware_stack(self) -> ASGIApp:
        return DateHeader(super().build_middleware_stack(), self.clock)


def create_app(settings: Settings, db: Database) -> Starlette:
    """The ASGI app of a mock store with these settings, on this database.

    The settings' clock becomes the database's clock: stamps and `Date` headers agree.
    """
    api = MockApi(settings, db)
    db.clock = settings.clock

    async def _server_error(request: Request, exc: Exception) -> Response:
        return api.error(500, "Internal server error")

    def _route(path: str, guarded: dict[str, Callable[[Request], Awaitable[Response]]]) -> Route:
        # One route per path, so that a wrong method is answered 405 with the full Allow header.
        async def dispatch(request: Request) -> Response:
            method = request.method
            if method == "HEAD" and method not in guarded:
                method = "GET"
            return await guarded[method](request)

        return Route(path, dispatch, methods=list(guarded))

    def _bind(
        handler: Callable[[Request, str, Operation], Awaitable[Response]], op: Operation
    ) -> Callable[[Request, str], Awaitable[Response]]:
        async def bound(request: Request, store: str) -> Response:
            return await handler(request, store, op)

        return bound

    # The spec's operations, by operationId; the paths (and the server's base path) come from the spec.
    handlers: dict[str, Callable[[Request, str, Operation], Awaitable[Response]]] = {
        "listCustomers": api.list_customers,
        "createCustomer": api.create_customer,
        "updateCustomers": api.update_customers,
        "getCustomer": api.get_customer,
        "updateCustomer": api.update_customer,
        "deleteCustomer": api.delete_customer,
        "listCustomerGroupCustomers": api.list_group,
    }
    assert set(handlers) == set(STATEFUL_OPERATIONS)
    by_route: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    from_spec: list[str] = []
    for op in operations():
        known = handlers.get(op.operation_id)
        if known is not None:
            handler = _bind(known, op)
            body = api._body_schema(op)  # read now: a spec the mock cannot use fails the start
            if body is not None:
                body.self_check()
            if op.operation_id in customer_filters():
                api._plan(op)
        else:
            handler = api.from_spec(op)
            from_spec.append(op.label)
        by_route.setdefault(op.route, {})[op.method] = api.endpoint(
            handler, secured=op.secured or known is not None
        )
    routes = [_route(path, by_route[path]) for path in sorted(by_route, key=_route_order)]
    routes.append(Route("/openapi.yaml", _openapi, methods=["GET"]))
    app = MockApp(routes=routes, exception_handlers={HTTPException: _http_error, Exception: _server_error})
    app.clock = settings.clock
    app.state.api = api
    # Reported once at start-up: the operations answered from the spec's examples, statelessly.
    app.state.from_spec = from_spec
    return app

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
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import yaml
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._clock import StoreClock
from ._db import FILTER_COLUMNS, Database, Order, Query
from ._schema import customer_fields, date_pattern, spec_text, type_error
from ._server import ABORT_KEY

DEFAULT_LIMIT = 10
MAX_LIMIT = 500
MAX_BULK = 500
MAX_BODY_BYTES = 4 * 1024 * 1024
INT32_MAX = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")  # used with fullmatch: "5\n" is not an id
# Statuses the real service sometimes answers without any body (`--bodiless-errors`).
BODILESS_STATUSES = frozenset({400, 404, 500})
_JSON = "application/json"
# The writes `--fault-after-commit` may fail after they committed.
_WRITES = frozenset({"POST", "PUT", "DELETE"})


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


class ApiError(Exception):
    """An answer in the API's error shape."""

    def __init__(self, status: int, message: str, value: str = "", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.value, self.headers = status, message, value, headers or {}


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
    """What a new customer holds before the fields sent are applied."""
    zero: dict[type, Any] = {str: "", int: 0, float: 0.0, bool: False}
    record = {f.name: zero[f.kind] for f in customer_fields().values() if f.name != "CustomerID"}
    record["Enabled"] = True
    return record


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
        self, handler: Callable[[Request, str], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            try:
                if self.settings.latency_ms:
                    await asyncio.sleep(self.settings.latency_ms / 1000)
                store = self._authenticate(request)
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
    @staticmethod
    def _path_id(request: Request, minimum: int = 1) -> int:
        raw = request.path_params["id"]
        if not _DIGITS.fullmatch(raw) or not minimum <= int(raw) <= INT32_MAX:
            raise ApiError(400, f"id must be an integer between {minimum} and {INT32_MAX}", raw[:50])
        return int(raw)

    @staticmethod
    async def _body(request: Request) -> Any:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != _JSON:
            raise ApiError(415, f"Unsupported media type {media_type or '(none)'!r}: send application/json")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise ApiError(400, f"Request body is larger than {MAX_BODY_BYTES} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ApiError(400, f"Request body is larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
        try:
            text = b"".join(chunks).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, f"Request body is not valid UTF-8 (byte {exc.start})") from None
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise ApiError(400, f"Malformed JSON in request body: {exc.msg} at position {exc.pos}") from None
        except RecursionError:
            raise ApiError(400, "Malformed JSON in request body: nested too deeply") from None
        except ValueError as exc:
            raise ApiError(400, f"Malformed JSON in request body: {exc}") from None

    @staticmethod
    def _fields(body: Any, where: str = "") -> dict[str, Any]:
        """The known Customer fields of a JSON object, validated against the spec."""
        if not isinstance(body, dict):
            raise ApiError(400, f"{where}the customer must be a JSON object")
        fields = customer_fields()
        problems = [
            problem
            for name, value in body.items()
            if name in fields and (problem := type_error(fields[name], value))
        ]
        if problems:
            raise ApiError(400, where + "; ".join(problems))
        # TotalStoreCredit is computed by the store; unknown keys are ignored.
        return {k: v for k, v in body.items() if k in fields and k != "TotalStoreCredit"}

    @staticmethod
    def _query(request: Request, group_id: int | None) -> tuple[Query, int, int, bool]:
        params = request.query_params

        def integer(name: str, low: int, high: int, default: int) -> int:
            raw = params.get(name, "")
            if raw == "":  # the reference's own samples send every parameter empty
                return default
            if not re.fullmatch(r"-?[0-9]{1,12}", raw) or not low <= int(raw) <= high:
                raise ApiError(400, f"{name} must be an integer between {low} and {high}", raw[:50])
            return int(raw)

        def moment(name: str) -> str | None:
            raw = params.get(name, "")
            if raw == "":
                return None
            try:
                if not date_pattern().match(raw):
                    raise ValueError
                # isoformat, not strftime: the year must keep four digits (0999) to compare as text
                return datetime.strptime(raw, "%m/%d/%Y %H:%M:%S").isoformat(sep=" ")
            except ValueError:
                raise ApiError(400, f"{name} must be a valid date MM/DD/YYYY HH:MM:SS", raw[:50]) from None

        limit = integer("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
        offset = max(1, integer("offset", 0, INT32_MAX, 1))
        count_only = integer("countonly", 0, 1, 0) == 1
        fields = customer_fields()
        equals = []
        for param, (column, field_name) in FILTER_COLUMNS.items():
            value = params.get(param, "")
            if value == "":
                continue
            max_length = fields[field_name].max_length
            if max_length is not None and len(value) > max_length:
                raise ApiError(400, f"{param} is longer than {max_length} characters", value[:50])
            equals.append((column, value))
        query = Query(group_id, tuple(equals), moment("lastupdatestart"), moment("lastupdateend"))
        return query, limit, offset, count_only

    # --- operations ---------------------------------------------------------
    async def list_customers(self, request: Request, store: str) -> Response:
        return self._list(request, store, None, "No Customer records found")

    async def list_group(self, request: Request, store: str) -> Response:
        group_id = self._path_id(request, minimum=0)
        return self._list(
            request, store, group_id, "The Customer Group was not found and/or contains no customer records"
        )

    def _list(self, request: Request, store: str, group_id: int | None, none_found: str) -> Response:
        query, limit, offset, count_only = self._query(request, group_id)
        if count_only:
            return _json({"TotalCount": self.db.count(store, query)})
        rows = self.db.page(store, query, limit, offset)
        if rows:
            return Response("[" + ",".join(rows) + "]", 200, media_type=_JSON)
        if self.db.count(store, query) == 0:
            raise ApiError(404, none_found)
        raise ApiError(400, "Offset amount exceeds the total number of records", str(offset))

    async def get_customer(self, request: Request, store: str) -> Response:
        customer_id = self._path_id(request)
        data = self.db.get(store, customer_id)
        if data is None:
            raise ApiError(404, "The Customer record was not found", str(customer_id))
        return Response("[" + data + "]", 200, media_type=_JSON)

    async def create_customer(self, request: Request, store: str) -> Response:
        body = await self._body(request)
        fields = self._fields(body)
        missing = [name for name in ("Email", "Password") if name not in fields]
        if missing:
            raise ApiError(400, f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required")
        if fields["Email"] is None:  # the spec lets a stored Email be null; a new customer needs one
            raise ApiError(400, "Email is required and must not be null on create")
        customer_id = self.db.create(store, {**self.defaults, **fields})
        return _json([_write_result(customer_id, 201, "Created successfully")], 201)

    async def update_customer(self, request: Request, store: str) -> Response:
        customer_id = self._path_id(request)
        fields = self._fields(await self._body(request))
        if not self.db.update(store, customer_id, fields):
            raise ApiError(404, "The Customer record was not found", str(customer_id))
        return _json([_write_result(customer_id, 200, "updated successfully")])

    async def update_customers(self, request: Request, store: str) -> Response:
        body = await self._body(request)
        if not isinstance(body, list) or not 1 <= len(body) <= MAX_BULK:
            raise ApiError(400, f"The body must be a JSON array of 1 to {MAX_BULK} customers")
        items = []
        for index, item in enumerate(body):
            where = f"item {index}: "
            fields = self._fields(item, where)
            customer_id = fields.get("CustomerID")
            if customer_id is None:
                raise ApiError(400, where + "CustomerID is required")
            items.append((int(customer_id), fields))
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

    async def delete_customer(self, request: Request, store: str) -> Response:
        customer_id = self._path_id(request)
        if not self.db.delete(store, customer_id):
            raise ApiError(404, "The Customer record was not found", str(customer_id))
        return _json([_write_result(customer_id, 200, "Deleted successfully")])


# --- routes from the spec ------------------------------------------------------------------------
@cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(spec_text())
    return spec


def server_base_path() -> str:
    """The path part of the spec's first server URL ("" when the servers carry none)."""
    servers = _spec().get("servers") or [{"url": "/"}]
    return urlsplit(str(servers[0]["url"])).path.rstrip("/")


def api_routes() -> dict[str, dict[str, str]]:
    """The spec's paths, with the server's base path, and their operations: {path: {METHOD: operationId}}."""
    methods = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
    base = server_base_path()
    return {
        base + path: {m.upper(): str(op["operationId"]) for m, op in item.items() if m in methods}
        for path, item in _spec()["paths"].items()
    }


def api_base_path() -> str:
    """The path prefix every operation of the spec shares (`/3dCartWebAPI/v1` in 1.x)."""
    split = [p.strip("/").split("/") for p in api_routes()]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1 or parts[0].startswith("{"):
            break
        common.append(parts[0])
    return "/" + "/".join(common) if common else ""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def _openapi(request: Request) -> Response:
    return Response(spec_text(), media_type="application/yaml")


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

    uvicorn must not add its own (`uvicorn.Config(date_header=False)`); a `Date` set by the app
    is replaced all the same.
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

    def _route(path: str, **handlers: Callable[[Request, str], Awaitable[Response]]) -> Route:
        # One route per path, so that a wrong method is answered 405 with the full Allow header.
        guarded = {method: api.endpoint(handler) for method, handler in handlers.items()}

        async def dispatch(request: Request) -> Response:
            return await guarded["GET" if request.method == "HEAD" else request.method](request)

        return Route(path, dispatch, methods=list(handlers))

    # The spec's operations, by operationId; the paths (and the server's base path) come from the spec.
    handlers: dict[str, Callable[[Request, str], Awaitable[Response]]] = {
        "listCustomers": api.list_customers,
        "createCustomer": api.create_customer,
        "updateCustomers": api.update_customers,
        "getCustomer": api.get_customer,
        "updateCustomer": api.update_customer,
        "deleteCustomer": api.delete_customer,
        "listCustomerGroupCustomers": api.list_group,
    }
    routes = []
    for path, operations in api_routes().items():
        unknown = sorted(set(operations.values()) - set(handlers))
        if unknown:
            raise ValueError(f"the spec's operations {unknown} at {path} have no handler in the mock")
        routes.append(_route(path, **{method: handlers[op] for method, op in operations.items()}))
    routes.append(Route("/openapi.yaml", _openapi, methods=["GET"]))
    app = MockApp(routes=routes, exception_handlers={HTTPException: _http_error, Exception: _server_error})
    app.clock = settings.clock
    app.state.api = api
    return app

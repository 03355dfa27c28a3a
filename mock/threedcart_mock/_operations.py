"""The spec's operations as the mock serves them: routes, parameters, request bodies, filters, answers.

The seven Customers operations have stateful handlers (`_app.MockApi`). Every other operation of
the spec is answered from the spec itself, statelessly, the way Prism does: its parameters and
body are validated against their schemas (400 in the API's error shape, naming what is wrong),
and the answer is the lowest documented 2xx with its example, or an example built from its schema.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from ._schema import (
    Field,
    Schema,
    SpecError,
    child,
    customer_fields,
    example,
    pointer,
    resolve,
    schema_at,
    schema_type,
    spec,
    unicode_problem,
)

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
JSON = "application/json"
MAX_BODY_BYTES = 4 * 1024 * 1024
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_ROUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEMPLATE = re.compile(r"\{([^{}]+)\}")


class ApiError(Exception):
    """An answer in the API's error shape."""

    def __init__(self, status: int, message: str, value: str = "", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.value, self.headers = status, message, value, headers or {}


# --- the spec's operations ------------------------------------------------------------------------
@dataclass(frozen=True)
class Filter:
    """A list filter (`x-threedcart-filter` on a query parameter): which field, compared how."""

    param: str
    field: str  # a Customer property, or LAST_UPDATE
    match: str  # equals, since or until
    sdk_name: str


LAST_UPDATE = "$lastUpdate"
MATCHES = ("equals", "since", "until")


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path, query, header or cookie
    required: bool
    allow_empty: bool  # an empty value means "not given" (the spec's `allowEmptyValue`)
    explode: bool
    at: str  # the pointer of the parameter object
    schema_at: str | None  # the pointer of its schema (None: it has none)
    node: Mapping[str, Any] = field(repr=False, compare=False)  # its schema, resolved
    json_content: bool = False  # `content: application/json` instead of `schema`

    @property
    def schema(self) -> Schema | None:
        return None if self.schema_at is None else schema_at(self.schema_at)

    @property
    def raw(self) -> Mapping[str, Any]:
        node, _ = resolve({"$ref": self.at}, self.at)
        return node if isinstance(node, Mapping) else {}


@dataclass(frozen=True)
class Operation:
    method: str  # GET, PUT, ...
    path: str  # as the spec writes it
    route: str  # the server's base path + the path, in Starlette's syntax
    operation_id: str  # "METHOD path" when the spec gives none
    at: str  # the pointer of the operation object
    parameters: tuple[Parameter, ...]
    secured: bool  # the store's credentials are required
    route_names: Mapping[str, str] = field(default_factory=dict, compare=False)  # spec name -> route name

    @property
    def label(self) -> str:
        full = self.route
        for name, route_name in self.route_names.items():
            full = full.replace("{" + route_name + "}", "{" + name + "}")
        return f"{self.method} {full} ({self.operation_id})"

    @property
    def node(self) -> Mapping[str, Any]:
        node, _ = resolve({"$ref": self.at}, self.at)
        return node if isinstance(node, Mapping) else {}

    def param(self, name: str, location: str = "query") -> Parameter | None:
        for p in self.parameters:
            if p.name == name and p.location == location:
                return p
        return None


def server_base_path() -> str:
    """The path part of the spec's first server URL ("" when the servers carry none)."""
    servers = spec().get("servers") or [{"url": "/"}]
    return urlsplit(str(servers[0].get("url", "/"))).path.rstrip("/")


def _route_names(path: str) -> dict[str, str]:
    """Starlette's names for the path's parameters, one each, all different: the spec's own when it is
    an identifier; else `p<index>`, with `_`s added until it is none of the names in the path (so
    `/{p1}/{xyzzy-id}` is `/{p1}/{p1_}`). Two made names never clash: their indexes differ.

    Raises SpecError when the path names a parameter twice (Starlette would refuse the route).
    """
    found = _TEMPLATE.findall(path)
    names: dict[str, str] = {}
    for index, name in enumerate(found):
        if name in names:
            raise SpecError(f"the path {path} names the parameter {{{name}}} twice")
        route_name = name
        if not _ROUTE_NAME.fullmatch(name):
            route_name = f"p{index}"
            while route_name in found:
                route_name += "_"
        names[name] = route_name
    return names


def _route_template(path: str, names: Mapping[str, str]) -> str:
    return _TEMPLATE.sub(lambda m: "{" + names[m.group(1)] + "}", path)


@cache
def operations() -> tuple[Operation, ...]:
    document = spec()
    base = server_base_path()
    found = []
    for path, item in (document.get("paths") or {}).items():
        path_at = pointer("paths", path)
        item, path_at = resolve(item, path_at)
        if not isinstance(item, Mapping):
            continue
        names = _route_names(str(path))
        route = base + _route_template(str(path), names)
        shared = _parameters(item.get("parameters") or (), child(path_at, "parameters"))
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, Mapping):
                continue
            op_at = child(path_at, method)
            own = _parameters(op.get("parameters") or (), child(op_at, "parameters"))
            merged = {(p.name, p.location): p for p in (*shared, *own)}  # the operation's win
            security = op.get("security", document.get("security"))
            secured = bool(security) and all(bool(requirement) for requirement in security)
            found.append(
                Operation(
                    method.upper(),
                    str(path),
                    route,
                    str(op.get("operationId") or f"{method.upper()} {path}"),
                    op_at,
                    tuple(merged.values()),
                    secured,
                    names,
                )
            )
    return tuple(found)


def _parameters(nodes: Any, at: str) -> list[Parameter]:
    found = []
    for index, raw in enumerate(nodes):
        node, node_at = resolve(raw, child(at, index))
        if not isinstance(node, Mapping) or "name" not in node or "in" not in node:
            continue
        location = str(node["in"])
        schema_node: Any = None
        schema_ptr: str | None = None
        json_content = False
        if "schema" in node:
            schema_ptr = child(node_at, "schema")
            schema_node, _ = resolve(node["schema"], schema_ptr)
        elif isinstance(node.get("content"), Mapping) and node["content"]:
            media = next(iter(node["content"]))
            media_node = node["content"][media]
            if isinstance(media_node, Mapping) and "schema" in media_node:
                schema_ptr = child(node_at, "content", media, "schema")
                schema_node, _ = resolve(media_node["schema"], schema_ptr)
                json_content = True
        style = node.get("style", "form" if location in ("query", "cookie") else "simple")
        found.append(
            Parameter(
                str(node["name"]),
                location,
                bool(node.get("required")) or location == "path",
                bool(node.get("allowEmptyValue")),
                bool(node.get("explode", style == "form")),
                node_at,
                schema_ptr,
                schema_node if isinstance(schema_node, Mapping) else {},
                json_content,
            )
        )
    return found


# --- parameter values -----------------------------------------------------------------------------
def _scalar(node: Mapping[str, Any], raw: str, name: str) -> Any:
    kind = schema_type(node)
    if kind == "integer":
        if not _INTEGER.fullmatch(raw):
            raise ApiError(400, f"{name} must be an integer", raw[:50])
        return int(raw)
    if kind == "number":
        if not _NUMBER.fullmatch(raw) or not math.isfinite(float(raw)):
            raise ApiError(400, f"{name} must be a number", raw[:50])
        return int(raw) if _INTEGER.fullmatch(raw) else float(raw)
    if kind == "boolean":
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise ApiError(400, f"{name} must be true or false", raw[:50])
    return raw


def parameter_value(param: Parameter, values: list[str]) -> Any:
    """The typed value of a parameter sent as `values` (one per occurrence), validated against its
    schema; `None` when it was not given (or given empty where the spec allows empty values).

    Raises ApiError(400) naming the parameter when it is required and missing, given more than
    once (only an array may be), or invalid.
    """
    if not values or (param.allow_empty and all(v == "" for v in values)):
        if param.required:
            raise ApiError(400, f"{param.name} is required")
        return None
    if len(values) > 1 and schema_type(param.node) != "array":
        given_once(param.name, values)
    if param.json_content:
        try:
            value = json.loads(values[0])
        except ValueError:
            raise ApiError(400, f"{param.name} must be JSON", values[0][:50]) from None
    elif schema_type(param.node) == "array":
        parts = values if param.explode else [p for v in values for p in v.split(",")]
        items, _ = resolve(param.node.get("items") or {}, "")
        value = [_scalar(items, part, f"{param.name}[{i}]") for i, part in enumerate(parts)]
    elif schema_type(param.node) == "object":
        value = values[0]  # styles of objects in a URL (deepObject, ...) are not decoded
        return value
    else:
        value = _scalar(param.node, values[0], param.name)
    schema = param.schema
    problem = schema.check(value, param.name) if schema is not None else None
    if problem:
        raise ApiError(400, problem, values[0][:50])
    return value


def given_once(name: str, values: list[str]) -> None:
    """A parameter that is not an array is given once: which of two values would count is
    anyone's guess (a filter checked by the first and applied by the last matches what no one
    asked), so a second one is a 400 naming it."""
    if len(values) > 1:
        raise ApiError(400, f"{name} is given {len(values)} times; give it once", values[1][:50])


def request_values(request: Request, param: Parameter, route_names: Mapping[str, str]) -> list[str]:
    if param.location == "query":
        return list(request.query_params.getlist(param.name))
    if param.location == "header":
        return list(request.headers.getlist(param.name))
    if param.location == "cookie":
        value = request.cookies.get(param.name)
        return [] if value is None else [value]
    raw = request.path_params.get(route_names.get(param.name, param.name))
    return [] if raw is None else [str(raw)]


# --- filters ---------------------------------------------------------------------------------------
def filters(op: Operation) -> tuple[Filter, ...]:
    """The list filters of an operation that lists customers, from `x-threedcart-filter`.

    Raises SpecError when a filter asks for something the mock cannot do (a field Customer does
    not have, an unknown `match`, a time bound on a boolean).
    """
    found = []
    for param in op.parameters:
        ext = param.raw.get("x-threedcart-filter")
        if ext is None or param.location != "query":
            continue
        where = f"x-threedcart-filter of parameter {param.name!r} of {op.operation_id}"
        if not isinstance(ext, Mapping) or not isinstance(ext.get("field"), str):
            raise SpecError(f"{where}: expected {{field, match, sdk-name?}}")
        field_name, match = str(ext["field"]), str(ext.get("match", ""))
        if match not in MATCHES:
            raise SpecError(f"{where}: match {match!r} is none of {', '.join(MATCHES)}")
        if field_name == LAST_UPDATE:
            if match == "equals":
                raise SpecError(f"{where}: {LAST_UPDATE} takes since or until, not equals")
        else:
            f = customer_fields().get(field_name)
            if f is None:
                raise SpecError(f"{where}: Customer has no field {field_name!r}")
            problem = filter_problem(f, match)
            if problem:
                raise SpecError(f"{where}: {problem}")
        found.append(Filter(param.name, field_name, match, str(ext.get("sdk-name") or param.name)))
    return tuple(found)


# The operations that list customers (stateful handlers in `_app`): their filters are the
# database's generated columns.
CUSTOMER_LISTS = ("listCustomers", "listCustomerGroupCustomers")


@cache
def customer_filters() -> dict[str, tuple[Filter, ...]]:
    """The filters of each operation of the spec that lists customers, by operationId."""
    return {op.operation_id: filters(op) for op in operations() if op.operation_id in CUSTOMER_LISTS}


def filter_problem(f: Field, match: str) -> str | None:
    if '"' in f.name or "\x00" in f.name:
        return f"the field name {f.name!r} cannot be filtered on"
    if f.kind is dict or f.kind is object:
        return f"{f.name} is an object; filters compare strings, numbers, booleans and arrays of them"
    if match != "equals" and f.kind in (bool, list):
        return f"{match} needs a string or number field, and {f.name} is not one"
    return None


# --- request bodies --------------------------------------------------------------------------------
def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_json(media: str) -> bool:
    return media == JSON or (media.startswith("application/") and media.endswith("+json"))


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(400, f"Request body is larger than {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(400, f"Request body is larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    """A JSON number with a fraction or an exponent, as a double; one beyond a double's range
    (1e400) would be Infinity, which no JSON answer can hold."""
    number = float(text)
    if not math.isfinite(number):
        raise ApiError(400, "Request body holds a number beyond a double's range", text[:50])
    return number


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose property names are text a UTF-8 store can hold: JSON may escape a lone
    surrogate ("\\ud800"), and a name is what an error message would have to show."""
    for key, _ in pairs:
        if not key.isascii() and unicode_problem(key, "a property name"):
            raise ApiError(
                400, "Request body: a property name is not valid Unicode (it contains a lone surrogate)"
            )
    return dict(pairs)


def parse_json(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"Request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(
            text, parse_constant=_reject_constant, parse_float=_finite, object_pairs_hook=_object
        )
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"Malformed JSON in request body: {exc.msg} at position {exc.pos}") from None
    except RecursionError:
        raise ApiError(400, "Malformed JSON in request body: nested too deeply") from None
    except ValueError as exc:
        raise ApiError(400, f"Malformed JSON in request body: {exc}") from None


def _media_matches(declared: str, media: str) -> bool:
    declared = declared.split(";")[0].strip().lower()
    if declared in ("*/*", media):
        return True
    return declared.endswith("/*") and media.startswith(declared[:-1])


@dataclass(frozen=True)
class RequestBody:
    required: bool
    content: Mapping[str, str | None]  # media type -> pointer of its schema

    @staticmethod
    def of(op: Operation) -> RequestBody | None:
        raw = op.node.get("requestBody")
        if raw is None:
            return None
        node, at = resolve(raw, child(op.at, "requestBody"))
        if not isinstance(node, Mapping):
            return None
        content = {
            str(media): (child(at, "content", media, "schema") if "schema" in (entry or {}) else None)
            for media, entry in (node.get("content") or {}).items()
        }
        return RequestBody(bool(node.get("required")), content)

    def schema_for(self, media: str) -> tuple[bool, str | None]:
        """Whether the media type is accepted, and the pointer of its schema."""
        for declared, at in self.content.items():
            if _media_matches(declared, media):
                return True, at
        return False, None


# --- the stateless answer --------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    media_type: str | None
    headers: Mapping[str, str]


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def documented_answer(op: Operation) -> Answer | None:
    """The lowest documented 2xx (or `default`, as 200) with its example; None when there is none."""
    responses = op.node.get("responses") or {}
    candidates = []
    for code in responses:
        text = str(code).upper()
        if len(text) == 3 and text[0] == "2":
            # an explicit code wins over its range ("2XX", answered as 200) wherever each is listed
            candidates.append((int(text), 0, code) if text.isdigit() else (200, 1, code))
    if not candidates and "default" in responses:
        candidates.append((200, 1, "default"))
    if not candidates:
        return None
    status, _, code = min(candidates, key=lambda c: c[:2])
    node, at = resolve(responses[code], child(op.at, "responses", code))
    if not isinstance(node, Mapping):
        node = {}
    headers = {}
    for name, raw in (node.get("headers") or {}).items():
        header, header_at = resolve(raw, child(at, "headers", name))
        if str(name).lower() in ("content-type", "content-length") or not isinstance(header, Mapping):
            continue
        value = _example_of(header, header_at)
        if value is not None:
            headers[str(name)] = _header_text(value)
    content = node.get("content") or {}
    if status in (204, 205) or not isinstance(content, Mapping) or not content:
        return Answer(status, b"", None, headers)
    media = next((m for m in content if is_json(str(m).split(";")[0].strip().lower())), next(iter(content)))
    entry = content[media] if isinstance(content[media], Mapping) else {}
    value = _example_of(entry, child(at, "content", media))
    media_text = str(media).split(";")[0].strip().lower()
    if "*" in media_text:
        media_text = "text/plain" if isinstance(value, str) else JSON
    if is_json(media_text) or not isinstance(value, str):
        body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    else:
        body = value.encode()
    return Answer(status, body, media_text, headers)


def _example_of(entry: Mapping[str, Any], at: str) -> Any:
    """The example of a media type or header object: `example`, the first of `examples`, else one
    built from its schema."""
    if "example" in entry:
        return entry["example"]
    for name, raw in (entry.get("examples") or {}).items():
        node, _ = resolve(raw, child(at, "examples", name))
        if isinstance(node, Mapping) and "value" in node:
            return node["value"]
    if "schema" in entry:
        return example(entry["schema"], child(at, "schema"))
    return None

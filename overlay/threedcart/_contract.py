"""`threedcart contract-check`: the spec's operations against a live store, every deviation named.

Everything the check knows about the API comes from the OpenAPI document: paths, parameters,
documented statuses and the response schemas (with `$ref`, `allOf`, `oneOf`/`anyOf`, types,
`nullable`, `required`, `maxLength`, bounds, `enum`, `pattern`). The only names written here are
the seven operationIds it exercises. Requests go through a `Store`'s httpx client, so the SDK's
rate limit, retries and deadlines apply, while the raw status and body stay visible.

The document is YAML, read with PyYAML, which the SDK does not depend on: it is imported only
when a YAML document is loaded (a JSON document needs nothing beyond the standard library), and
only this check, which the CLI runs, loads one.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from .errors import ThreeDCartError

# The statuses the service is known to answer without a body (API-FACTS: "some 400/404/500
# answers have no body at all"), allowed whatever the document says about their content.
BODILESS_ALLOWED = frozenset({400, 404, 500})
_INT_FORMATS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_JSON_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "array": "an array",
    "object": "an object",
}


class SpecError(Exception):
    """The document cannot be read or lacks what the check needs (a usage error)."""


class CheckAborted(Exception):
    """The store cannot be checked any further (no answer, or the credentials are refused)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


def load_spec(path: Path) -> dict[str, Any]:
    """The OpenAPI document at `path` (YAML, or JSON when it ends in .json)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read the spec {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SpecError(f"the spec {path} is not UTF-8") from None
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"the spec {path} is not valid JSON: {exc}") from None
    else:
        try:
            import yaml
        except ModuleNotFoundError:
            raise SpecError(
                "reading a YAML spec needs PyYAML (pip install PyYAML), or pass the spec as JSON"
            ) from None
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(f"the spec {path} is not valid YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise SpecError(f"{path} is not an OpenAPI document (no paths)")
    return document


def default_spec_path(environ: Mapping[str, str]) -> Path | None:
    """`$THREEDCART_SPEC`, else the repository's `openapi/customers.yaml` (a checkout)."""
    override = environ.get("THREEDCART_SPEC", "").strip()
    if override:
        return Path(override)
    candidate = Path(__file__).resolve().parent.parent.parent / "openapi" / "customers.yaml"
    return candidate if candidate.is_file() else None


# --- the document -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str  # the template, e.g. /3dCartWebAPI/v1/Customers/{id}
    spec: Mapping[str, Any]
    path_parameters: tuple[Mapping[str, Any], ...]


class Spec:
    """An OpenAPI 3.0 document: operations by id, `$ref`s resolved, schemas merged."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.operations: dict[str, Operation] = {}
        for path, item in document["paths"].items():
            item = self.resolve(item)
            shared = tuple(self.resolve(p) for p in item.get("parameters", ()))
            for method in ("get", "put", "post", "delete", "patch"):
                op = item.get(method)
                if isinstance(op, dict) and op.get("operationId"):
                    self.operations[op["operationId"]] = Operation(
                        op["operationId"], method.upper(), path, op, shared
                    )

    def resolve(self, node: Any) -> Any:
        """`node`, following `$ref`s within the document."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
                raise SpecError(f"cannot resolve $ref {ref!r}")
            seen.add(ref)
            target: Any = self.document
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, Mapping) or part not in target:
                    raise SpecError(f"cannot resolve $ref {ref!r}")
                target = target[part]
            node = target
        return node

    def operation(self, operation_id: str) -> Operation | None:
        return self.operations.get(operation_id)

    def responses(self, op: Operation) -> dict[str, Any]:
        return {str(k): self.resolve(v) for k, v in (op.spec.get("responses") or {}).items()}

    def response_for(self, op: Operation, status: int) -> Mapping[str, Any] | None:
        """The documented response for `status` (exact, then `4XX`, then `default`)."""
        responses = self.responses(op)
        for key in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default"):
            if key in responses:
                return responses[key]  # type: ignore[no-any-return]
        return None

    def parameters(self, op: Operation, where: str) -> dict[str, Mapping[str, Any]]:
        params = [*op.path_parameters, *(self.resolve(p) for p in op.spec.get("parameters", ()))]
        return {p["name"]: p for p in params if p.get("in") == where}

    def merged(self, schema: Any) -> dict[str, Any]:
        """A schema with its `$ref` resolved and its `allOf` members merged into one."""
        schema = self.resolve(schema)
        if not isinstance(schema, Mapping):
            return {}
        result: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        properties: dict[str, Any] = dict(result.get("properties") or {})
        required: list[str] = list(result.get("required") or [])
        for member in schema.get("allOf") or ():
            part = self.merged(member)
            for key, value in part.items():
                if key == "properties":
                    for name, prop in value.items():
                        properties.setdefault(name, prop)
                elif key == "required":
                    required.extend(n for n in value if n not in required)
                else:
                    result.setdefault(key, value)
        if properties:
            result["properties"] = properties
        if required:
            result["required"] = required
        if "type" not in result and properties:
            result["type"] = "object"
        return result

    def body_schema(self, response: Mapping[str, Any]) -> tuple[str, Any] | None:
        """The (media type, schema) of a response's JSON content, if it documents one."""
        content = response.get("content") or {}
        for media, entry in content.items():
            if "json" in media and isinstance(entry, Mapping) and "schema" in entry:
                return media, entry["schema"]
        return None

    def request_schema(self, op: Operation) -> dict[str, Any]:
        body = self.resolve(op.spec.get("requestBody") or {})
        for media, entry in (body.get("content") or {}).items():
            if "json" in media:
                return self.merged(entry.get("schema"))
        return {}


# --- validation ---------------------------------------------------------------------------------
def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_ok(expected: str, value: Any) -> bool:
    if expected == "string":
        return isinstance(value, str)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "array":
        return isinstance(value, list)
    if expected == "object":
        return isinstance(value, dict)
    return True


class Validator:
    """Checks a JSON value against a schema of the document; yields (path, problem) pairs.

    Array indexes appear as `[*]`, so the same problem in every record of a page is one
    deviation. Every property an answer carries must be documented: `additionalProperties`
    (absent or `true`) does not silence an unknown field, because the point of the check is a
    document that describes everything the service sends.
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def errors(self, value: Any, schema: Any, path: str = "$") -> Iterator[tuple[str, str]]:
        s = self.spec.merged(schema)
        if not s:
            return
        if value is None:
            if not s.get("nullable"):
                yield path, "null, but the spec does not allow null here"
            return
        for key in ("oneOf", "anyOf"):
            if key in s:
                yield from self._alternatives(value, s[key], path)
                return
        expected = s.get("type")
        if isinstance(expected, str) and not _type_ok(expected, value):
            yield path, f"{_kind(value)}, the spec says {expected} (e.g. {_show(value)})"
            return
        if "enum" in s and value not in s["enum"]:
            yield path, f"{_show(value)} is not one of {_show(s['enum'])}"
        if isinstance(value, str):
            yield from self._string(value, s, path)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield from self._number(value, s, path)
        elif isinstance(value, list):
            yield from self._array(value, s, path)
        elif isinstance(value, dict):
            yield from self._object(value, s, path)

    def _alternatives(self, value: Any, options: list[Any], path: str) -> Iterator[tuple[str, str]]:
        found = [list(self.errors(value, option, path)) for option in options]
        if any(not problems for problems in found):
            return
        # report against the alternative of the same JSON type, else the closest one
        same = [
            p
            for p, option in zip(found, options, strict=True)
            if _type_ok(str(self.spec.merged(option).get("type", "")), value)
        ]
        yield from min(same or found, key=len)

    def _string(self, value: str, s: Mapping[str, Any], path: str) -> Iterator[tuple[str, str]]:
        if "maxLength" in s and len(value) > s["maxLength"]:
            yield path, f"{len(value)} characters, the spec allows at most {s['maxLength']}"
        if "minLength" in s and len(value) < s["minLength"]:
            yield path, f"{len(value)} characters, the spec needs at least {s['minLength']}"
        if "pattern" in s and not re.search(s["pattern"], value):
            yield path, f"{_show(value)} does not match the pattern {s['pattern']}"

    def _number(self, value: float, s: Mapping[str, Any], path: str) -> Iterator[tuple[str, str]]:
        low, high = _INT_FORMATS.get(str(s.get("format")), (None, None))
        if low is not None and high is not None and not low <= value <= high:
            yield path, f"{value} is outside {s['format']}"
        if "minimum" in s and value < s["minimum"]:
            yield path, f"{value} is below the minimum {s['minimum']}"
        if "maximum" in s and value > s["maximum"]:
            yield path, f"{value} is above the maximum {s['maximum']}"

    def _array(self, value: list[Any], s: Mapping[str, Any], path: str) -> Iterator[tuple[str, str]]:
        if "minItems" in s and len(value) < s["minItems"]:
            yield path, f"{len(value)} items, the spec needs at least {s['minItems']}"
        if "maxItems" in s and len(value) > s["maxItems"]:
            yield path, f"{len(value)} items, the spec allows at most {s['maxItems']}"
        if "items" in s:
            for item in value:
                yield from self.errors(item, s["items"], f"{path}[*]")

    def _object(self, value: dict[str, Any], s: Mapping[str, Any], path: str) -> Iterator[tuple[str, str]]:
        properties: Mapping[str, Any] = s.get("properties") or {}
        for name in s.get("required") or ():
            if name not in value:
                yield f"{path}.{name}", "missing, but the spec requires it"
        extra = s.get("additionalProperties")
        for name, item in value.items():
            if name in properties:
                yield from self.errors(item, properties[name], f"{path}.{name}")
            elif isinstance(extra, Mapping):
                yield from self.errors(item, extra, f"{path}.{name}")
            else:
                yield f"{path}.{name}", f"a field the spec does not document ({_kind(item)})"


# --- the check ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    operation: str
    request: str
    problem: str
    deviation: bool = True  # False: a note (a bodiless error where that is allowed)

    def line(self) -> str:
        label = "DEVIATION" if self.deviation else "note"
        return f"{label} {self.operation} {self.request}: {self.problem}"


@dataclass
class Answer:
    status: int
    body: Any  # the decoded JSON; None when bodiless or not JSON
    bodiless: bool


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    requests: int = 0
    operations: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)
    stopped: str | None = None

    @property
    def deviations(self) -> list[Finding]:
        return [f for f in self.findings if f.deviation]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if not f.deviation]

    def summary(self) -> str:
        dev, notes = len(self.deviations), len(self.notes)
        text = (
            f"contract-check: {self.requests} request{'s' * (self.requests != 1)}, "
            f"{len(self.operations)} operation{'s' * (len(self.operations) != 1)}, "
            f"{dev} deviation{'s' * (dev != 1)}, {notes} note{'s' * (notes != 1)}"
        )
        if self.skipped:
            text += f"; skipped: {'; '.join(self.skipped)}"
        if self.stopped:
            text += f"; stopped early: {self.stopped}"
        return text


def _pointer(document: Any, pointer: str) -> Any:
    for part in pointer.strip("/").split("/") if pointer.strip("/") else ():
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        elif isinstance(document, dict) and part in document:
            document = document[part]
        else:
            return None
    return document


class ContractCheck:
    """Runs the probes through `http` (a Store's httpx client) and collects the findings."""

    LIST, GET, GROUP = "listCustomers", "getCustomer", "listCustomerGroupCustomers"
    CREATE, UPDATE, BULK, DELETE = "createCustomer", "updateCustomer", "updateCustomers", "deleteCustomer"

    def __init__(
        self,
        spec: Spec,
        http: httpx.Client,
        *,
        allow_writes: bool = False,
        progress: Callable[[Finding], None] | None = None,
    ) -> None:
        self.spec = spec
        self.http = http
        self.allow_writes = allow_writes
        self.validator = Validator(spec)
        self.report = Report()
        self._progress = progress
        self._customer_schema: dict[str, Any] = {}

    # -- plumbing --
    def _add(self, finding: Finding) -> None:
        self.report.findings.append(finding)
        if self._progress is not None:
            self._progress(finding)

    def _op(self, operation_id: str) -> Operation | None:
        op = self.spec.operation(operation_id)
        if op is None:
            self._add(Finding(operation_id, "-", "the spec has no operation with this operationId"))
        return op

    def call(
        self,
        op: Operation,
        *,
        path_values: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        expect: frozenset[int] | set[int] = frozenset({200}),
    ) -> Answer | None:
        path = op.path
        for name, value in (path_values or {}).items():
            path = path.replace("{" + name + "}", str(value))
        shown = path + ("?" + urlencode(query) if query else "")
        request = f"{op.method} {shown}"
        self._check_query(op, request, query or {})
        self.report.requests += 1
        self.report.operations.add(op.operation_id)
        try:
            response = self.http.request(
                op.method, path, params=dict(query or {}), json=body if body is not None else None
            )
        except (httpx.HTTPError, ThreeDCartError) as exc:
            raise CheckAborted(f"{request}: no answer ({type(exc).__name__}: {exc})") from None
        if response.status_code == 401 and self.report.requests == 1:
            raise CheckAborted(
                "the store refused the credentials (401): check THREEDCART_SECURE_URL, "
                "THREEDCART_PRIVATE_KEY and THREEDCART_TOKEN",
                usage=True,
            )
        return self._judge(op, request, response, set(expect))

    def _check_query(self, op: Operation, request: str, query: Mapping[str, Any]) -> None:
        known = self.spec.parameters(op, "query")
        for name in query:
            if name not in known:
                self._add(
                    Finding(
                        op.operation_id, request, f"the check sends {name!r}, which the spec does not define"
                    )
                )

    def _judge(self, op: Operation, request: str, response: httpx.Response, expect: set[int]) -> Answer:
        status = response.status_code
        raw = response.content
        bodiless = not raw.strip()
        answer = Answer(status, None, bodiless)
        documented = self.spec.response_for(op, status)

        def deviation(problem: str) -> None:
            self._add(Finding(op.operation_id, request, problem))

        if documented is None:
            codes = ", ".join(self.spec.responses(op))
            deviation(f"status {status} is not documented for this operation (documented: {codes})")
        elif status not in expect:
            wanted = " or ".join(str(s) for s in sorted(expect))
            deviation(f"status {status} where the spec leads to expect {wanted}")
        content = self.spec.body_schema(documented) if documented is not None else None
        if bodiless:
            if documented is None or content is None:
                return answer
            if status >= 400 and (status in BODILESS_ALLOWED or _says_bodiless(documented)):
                self._add(Finding(op.operation_id, request, f"bodiless {status}", deviation=False))
            else:
                deviation(f"bodiless {status}, but the spec documents a JSON body for it")
            return answer
        if documented is not None and content is None:
            deviation(f"a body ({len(raw)} bytes) where the spec documents none for {status}")
            return answer
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            answer.body = json.loads(raw)
        except (ValueError, RecursionError):
            deviation(f"a body that is not JSON (Content-Type {media or 'none'}, {len(raw)} bytes)")
            return answer
        if content is None:
            return answer
        if "json" not in media:
            deviation(f"Content-Type {media or 'none'}, the spec documents {content[0]}")
        # one line per place and kind of problem, however many records share it
        tally: dict[tuple[str, str], tuple[str, int]] = {}
        for path, problem in self.validator.errors(answer.body, content[1]):
            kind = problem.split(" (e.g. ", 1)[0]
            first, n = tally.get((path, kind), (problem, 0))
            tally[path, kind] = (first, n + 1)
        for (path, _), (problem, n) in tally.items():
            deviation(f"{path}: {problem}" + (f", in {n} places" if n > 1 else ""))
        return answer

    # -- the probes --
    def run(self) -> Report:
        try:
            self._reads()
            if self.allow_writes:
                self._writes()
        except CheckAborted as exc:
            if exc.usage:
                raise
            self.report.stopped = str(exc)
        return self.report

    def _reads(self) -> None:
        list_op, get_op, group_op = self._op(self.LIST), self._op(self.GET), self._op(self.GROUP)
        first: dict[str, Any] | None = None
        total: int | None = None
        if list_op is not None:
            first, total = self._list_probes(list_op)
        if get_op is not None:
            self._get_probes(get_op, first)
        if group_op is not None:
            self._group_probes(group_op, first, total)

    def _records(self, answer: Answer | None) -> list[dict[str, Any]]:
        if answer is None or answer.status != 200 or not isinstance(answer.body, list):
            return []
        return [r for r in answer.body if isinstance(r, dict)]

    def _count(self, answer: Answer | None) -> int | None:
        if answer is None or answer.status != 200 or not isinstance(answer.body, dict):
            return None
        # the one integer property the count answer documents (TotalCount)
        for value in answer.body.values():
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None

    def _paging(self, op: Operation) -> tuple[str | None, str | None, str | None]:
        names = self.spec.parameters(op, "query")

        def pick(word: str) -> str | None:
            return next((n for n in names if n.lower() == word), None)

        return pick("limit"), pick("offset"), pick("countonly")

    def _list_probes(self, op: Operation) -> tuple[dict[str, Any] | None, int | None]:
        limit, offset, countonly = self._paging(op)
        total: int | None = None
        if countonly:
            total = self._count(self.call(op, query={countonly: 1}))
        page_query = {k: v for k, v in ((limit, 5), (offset, 1)) if k}
        first_page = self._records(self.call(op, query=page_query, expect={200, 404}))
        if limit and offset:  # the next page, and one past the end
            self.call(op, query={limit: 2, offset: 3}, expect={200, 400, 404})
            if total is not None:
                self.call(op, query={limit: 1, offset: total + 1}, expect={400, 404})
        first = first_page[0] if first_page else None
        filters = self._filters(op, first)
        for name, value in filters[:3]:
            query = {name: value, **({limit: 5} if limit else {})}
            self.call(op, query=query, expect={200, 404})
            if countonly:
                self.call(op, query={name: value, countonly: 1}, expect={200})
        nobody = self._nobody_filter(op)
        if nobody is not None:
            self.call(op, query={nobody[0]: nobody[1]}, expect={404})
        return first, total

    def _customer(self) -> dict[str, Any]:
        if not self._customer_schema:
            op = self.spec.operation(self.GET)
            response = self.spec.response_for(op, 200) if op else None
            content = self.spec.body_schema(response) if response else None
            schema = self.spec.merged(content[1]) if content else {}
            self._customer_schema = self.spec.merged(schema.get("items", schema))
        return self._customer_schema

    def _field_for(self, parameter: str) -> str | None:
        """The Customer property a string filter matches (`state` -> `BillingState`)."""
        properties = self._customer().get("properties") or {}
        word = parameter.lower()
        candidates = [p for p in properties if p.lower() == word or p.lower().endswith(word)]
        if len(candidates) > 1:
            preferred = [p for p in candidates if "billing" in p.lower()]
            candidates = preferred or candidates
        return candidates[0] if candidates else None

    def _filters(self, op: Operation, record: dict[str, Any] | None) -> list[tuple[str, str]]:
        """String filters of the operation, with values taken from a real record."""
        if record is None:
            return []
        found: list[tuple[str, str]] = []
        for name, param in self.spec.parameters(op, "query").items():
            schema = self.spec.merged(param.get("schema"))
            if schema.get("type") != "string" or "pattern" in schema:
                continue
            prop = self._field_for(name)
            value = record.get(prop) if prop else None
            if isinstance(value, str) and value.strip():
                found.append((name, value))
        # a broad filter, a narrow one, then the rest
        order = {"state": 0, "email": 1, "city": 2}
        return sorted(found, key=lambda item: order.get(item[0].lower(), 9))

    def _nobody_filter(self, op: Operation) -> tuple[str, str] | None:
        for name, param in self.spec.parameters(op, "query").items():
            schema = self.spec.merged(param.get("schema"))
            if schema.get("type") == "string" and "pattern" not in schema and "mail" in name.lower():
                return name, f"contract-check-nobody-{secrets.token_hex(6)}@example.invalid"
        return None

    def _id_param(self, op: Operation) -> tuple[str, dict[str, Any]] | None:
        params = self.spec.parameters(op, "path")
        if len(params) != 1:
            return None
        name, param = next(iter(params.items()))
        return name, self.spec.merged(param.get("schema"))

    def _missing_id(self, schema: Mapping[str, Any]) -> int:
        high = schema.get("maximum")
        if high is None:
            high = _INT_FORMATS.get(str(schema.get("format")), (0, 2**31 - 1))[1]
        return int(high)

    def _get_probes(self, op: Operation, first: dict[str, Any] | None) -> None:
        id_param = self._id_param(op)
        if id_param is None:
            self.report.skipped.append(f"{op.operation_id} (not one path parameter)")
            return
        name, schema = id_param
        key = self._primary_key()
        existing = _as_id(first.get(key)) if first is not None and key else None
        if existing is not None:  # also when a drifted service sends the id as a string
            self.call(op, path_values={name: existing})
        else:
            self.report.skipped.append(f"{op.operation_id} by an existing id (no customer listed)")
        self.call(op, path_values={name: self._missing_id(schema)}, expect={404})

    def _primary_key(self) -> str | None:
        """The property that selects a record in a bulk update (its required property)."""
        bulk = self.spec.operation(self.BULK)
        if bulk is not None:
            schema = self.spec.request_schema(bulk)
            item = self.spec.merged(schema.get("items", schema))
            required = item.get("required") or []
            if len(required) == 1:
                return str(required[0])
        properties = self._customer().get("properties") or {}
        return next((p for p in properties if p.lower().endswith("id") and "group" not in p.lower()), None)

    def _group_probes(self, op: Operation, first: dict[str, Any] | None, total: int | None) -> None:
        id_param = self._id_param(op)
        if id_param is None:
            self.report.skipped.append(f"{op.operation_id} (not one path parameter)")
            return
        name, _ = id_param
        limit, offset, countonly = self._paging(op)
        group = None
        if first is not None:
            group_field = next(
                (p for p in self._customer().get("properties") or {} if "group" in p.lower()), None
            )
            group = first.get(group_field) if group_field else None
        if not isinstance(group, int) or isinstance(group, bool):
            group = 0
        page = {k: v for k, v in ((limit, 5), (offset, 1)) if k}
        self.call(op, path_values={name: group}, query=page, expect={200, 404})
        if countonly:
            self.call(op, path_values={name: group}, query={countonly: 1}, expect={200, 404})

    # -- writes, on one customer this check creates and deletes --
    def _writes(self) -> None:
        create, get, update = self._op(self.CREATE), self._op(self.GET), self._op(self.UPDATE)
        bulk, delete = self._op(self.BULK), self._op(self.DELETE)
        if create is None or get is None:
            self.report.skipped.append("writes (no create or get operation)")
            return
        get_param = self._id_param(get)
        if get_param is None:
            self.report.skipped.append("writes (get has no id parameter)")
            return
        tag = secrets.token_hex(6)
        body, sent_email = self._new_customer(create, tag)
        answer = self.call(create, body=body, expect={201})
        new_id = self._created_id(create, answer)
        if new_id is None:
            self._add(
                Finding(create.operation_id, f"POST {create.path}", "no new id in the answer; writes stop")
            )
            return
        created = f"customer {new_id}"
        try:
            read = self._records(self.call(get, path_values={get_param[0]: new_id}))
            if sent_email is not None and read and read[0].get(sent_email[0]) != sent_email[1]:
                self._add(
                    Finding(get.operation_id, f"GET {created}", f"{sent_email[0]} is not what was created")
                )
            text_field = self._editable_text_field(body)
            if update is not None and text_field:
                update_param = self._id_param(update)
                if update_param is not None:
                    value = f"cc {tag}"[: self._max_length(text_field)]
                    self.call(update, path_values={update_param[0]: new_id}, body={text_field: value})
                    self._expect_field(get, get_param[0], new_id, text_field, value, "update")
            key = self._primary_key()
            if bulk is not None and key and text_field:
                value = f"cc bulk {tag}"[: self._max_length(text_field)]
                self.call(bulk, body=[{key: new_id, text_field: value}])
                self._expect_field(get, get_param[0], new_id, text_field, value, "bulk update")
                missing = self._missing_id(self.spec.merged((self._customer().get("properties") or {})[key]))
                self.call(bulk, body=[{key: new_id}, {key: missing}], expect={206})
        finally:
            if delete is not None and (delete_param := self._id_param(delete)) is not None:
                self.call(delete, path_values={delete_param[0]: new_id})
                self.call(get, path_values={get_param[0]: new_id}, expect={404})
            else:
                self.report.skipped.append(f"delete of the created {created}: no delete operation")

    def _new_customer(self, op: Operation, tag: str) -> tuple[dict[str, Any], tuple[str, str] | None]:
        schema = self.spec.request_schema(op)
        properties = schema.get("properties") or {}
        body: dict[str, Any] = {}
        email: tuple[str, str] | None = None
        for name in schema.get("required") or ():
            prop = self.spec.merged(properties.get(name, {}))
            kind = prop.get("type")
            if kind == "string":
                if "mail" in name.lower():
                    body[name] = f"contract-check-{tag}@example.invalid"
                    email = (name, body[name])
                else:
                    body[name] = f"Cc-{tag}"[: prop.get("maxLength", 64)]
            elif kind in ("integer", "number"):
                body[name] = prop.get("minimum", 1)
            elif kind == "boolean":
                body[name] = False
        return body, email

    def _created_id(self, op: Operation, answer: Answer | None) -> int | None:
        if answer is None or answer.status != 201 or answer.body is None:
            return None
        pointer = "/0/Value"
        response = self.spec.response_for(op, 201) or {}
        for link in (response.get("links") or {}).values():
            link = self.spec.resolve(link)
            for expression in (link.get("parameters") or {}).values():
                if isinstance(expression, str) and expression.startswith("$response.body#"):
                    pointer = expression.split("#", 1)[1]
        value = _pointer(answer.body, pointer)
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    def _max_length(self, name: str) -> int:
        prop = self.spec.merged((self._customer().get("properties") or {}).get(name, {}))
        return int(prop.get("maxLength", 64))

    def _editable_text_field(self, created: Mapping[str, Any]) -> str | None:
        """A plain text property (not sent on create, not read-only) to update."""
        for name, prop in (self._customer().get("properties") or {}).items():
            prop = self.spec.merged(prop)
            if (
                prop.get("type") == "string"
                and name not in created
                and not prop.get("readOnly")
                and "pattern" not in prop
                and "enum" not in prop
                and prop.get("maxLength", 64) >= 12
            ):
                return str(name)
        return None

    def _expect_field(
        self, get: Operation, param: str, customer_id: int, name: str, value: str, what: str
    ) -> None:
        read = self._records(self.call(get, path_values={param: customer_id}))
        if read and read[0].get(name) != value:
            self._add(
                Finding(
                    get.operation_id, f"GET customer {customer_id}", f"{name} did not change after the {what}"
                )
            )


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _says_bodiless(response: Mapping[str, Any]) -> bool:
    """Whether a response object says its answer may come without a body (an `x-` extension)."""
    for key, value in response.items():
        if key.startswith("x-") and ("bodiless" in key.lower() or "empty" in key.lower()) and value:
            return True
    return False

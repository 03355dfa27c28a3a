# pyright: strict
"""The probes of `threedcart contract-check`: the spec's operations against a live store.

Everything the check knows about the API comes from the OpenAPI document: paths, parameters,
documented statuses and the response schemas. The only names written here are the seven
operationIds it exercises. Requests go through a `Store`'s httpx client (its public
`store.client.get_httpx_client()`), so the SDK's rate limit, retries and deadlines apply, while
the raw status and body stay visible.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from ..errors import ThreeDCartError
from ._spec import Operation, Spec, as_object, is_array, is_object, json_pointer

# The statuses the service is known to answer without a body (API-FACTS: "some 400/404/500
# answers have no body at all"), allowed whatever the document says about their content.
BODILESS_ALLOWED = frozenset({400, 404, 500})
_INT_MAX = {"int32": 2**31 - 1, "int64": 2**63 - 1}


class CheckAborted(Exception):
    """The store cannot be checked any further (no answer, or the credentials are refused)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


# --- the check ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One deviation (or note) of one request."""

    operation: str
    request: str
    problem: str
    deviation: bool = True  # False: a note (a bodiless error where that is allowed)

    def line(self) -> str:
        label = "DEVIATION" if self.deviation else "note"
        return f"{label} {self.operation} {self.request}: {self.problem}"


@dataclass
class Report:
    """What a check found, and how much it asked."""

    findings: list[Finding] = field(default_factory=list[Finding])
    requests: int = 0
    operations: set[str] = field(default_factory=set[str])
    skipped: list[str] = field(default_factory=list[str])
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


def _reject(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _decoded(raw: bytes) -> Any:
    """The JSON value of a body (NaN and Infinity are not JSON)."""
    return json.loads(raw, parse_constant=_reject)


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
        self.report: Report = Report()
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
    ) -> httpx.Response:
        """Sends one request of `op`, judges its answer against the spec and returns it."""
        path = op.path
        for name, value in (path_values or {}).items():
            path = path.replace("{" + name + "}", str(value))
        shown = path + ("?" + urlencode(query) if query else "")
        request = f"{op.method} {shown}"
        self._check_query(op, request, query or {})
        self.report.requests += 1
        self.report.operations.add(op.operation_id)
        try:
            response = self.http.request(op.method, path, params=dict(query or {}), json=body)
        except (httpx.HTTPError, ThreeDCartError) as exc:
            raise CheckAborted(f"{request}: no answer ({type(exc).__name__}: {exc})") from None
        if response.status_code == 401 and self.report.requests == 1:
            raise CheckAborted(
                "the store refused the credentials (401): check THREEDCART_SECURE_URL, "
                "THREEDCART_PRIVATE_KEY and THREEDCART_TOKEN",
                usage=True,
            )
        self._judge(op, request, response, set(expect))
        return response

    def _check_query(self, op: Operation, request: str, query: Mapping[str, Any]) -> None:
        known = self.spec.parameters(op, "query")
        for name in query:
            if name not in known:
                self._add(
                    Finding(
                        op.operation_id, request, f"the check sends {name!r}, which the spec does not define"
                    )
                )

    def _judge(self, op: Operation, request: str, response: httpx.Response, expect: set[int]) -> None:
        status = response.status_code
        raw = response.content
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
        if not raw.strip():
            if documented is None or content is None:
                return
            if status >= 400 and (status in BODILESS_ALLOWED or _says_bodiless(documented.spec)):
                self._add(Finding(op.operation_id, request, f"bodiless {status}", deviation=False))
            else:
                deviation(f"bodiless {status}, but the spec documents a JSON body for it")
            return
        if documented is not None and content is None:
            deviation(f"a body ({len(raw)} bytes) where the spec documents none for {status}")
            return
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            body = _decoded(raw)
        except (ValueError, RecursionError):
            deviation(f"a body that is not JSON (Content-Type {media or 'none'}, {len(raw)} bytes)")
            return
        if content is None:
            return
        if "json" not in media:
            deviation(f"Content-Type {media or 'none'}, the spec documents {content[0]}")
        # one line per kind of problem and place in a record, however many records share it
        tally: dict[tuple[str, str], tuple[str, str, int]] = {}
        for path, problem in self.spec.errors(body, content[1]):
            key = (re.sub(r"\[\d+\]", "[*]", path), problem.split(" (e.g. ", 1)[0])
            first_path, first_problem, n = tally.get(key, (path, problem, 0))
            tally[key] = (first_path, first_problem, n + 1)
        for path, problem, n in tally.values():
            more = f", in {n} places" if n > 1 else ""
            deviation(f"status {status} {path}: {problem}{more}")

    def _body(self, response: httpx.Response, status: int = 200) -> Any:
        """The decoded JSON of an answer of `status`; None for another status or no JSON."""
        if response.status_code != status:
            return None
        try:
            return _decoded(response.content)
        except (ValueError, RecursionError):
            return None

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
        if list_op is not None:
            first = self._list_probes(list_op)
        if get_op is not None:
            self._get_probes(get_op, first)
        if group_op is not None:
            self._group_probes(group_op, first)

    def _records(self, response: httpx.Response) -> list[dict[str, Any]]:
        body = self._body(response)
        return [dict(r) for r in body if is_object(r)] if is_array(body) else []

    def _count(self, response: httpx.Response) -> int | None:
        # the one integer property the count answer documents (TotalCount)
        for value in as_object(self._body(response)).values():
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None

    def _paging(self, op: Operation) -> tuple[str | None, str | None, str | None]:
        names = self.spec.parameters(op, "query")

        def pick(word: str) -> str | None:
            return next((n for n in names if n.lower() == word), None)

        return pick("limit"), pick("offset"), pick("countonly")

    def _list_probes(self, op: Operation) -> dict[str, Any] | None:
        """The list's probes; the first customer listed, if any."""
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
                self.call(op, query={name: value, countonly: 1})
        nobody = self._nobody_filter(op)
        if nobody is not None:
            self.call(op, query={nobody[0]: nobody[1]}, expect={404})
        return first

    def _customer(self) -> dict[str, Any]:
        if not self._customer_schema:
            op = self.spec.operation(self.GET)
            response = self.spec.response_for(op, 200) if op else None
            content = self.spec.body_schema(response) if response else None
            schema = self.spec.merged(self.spec.at(content[1])) if content else {}
            self._customer_schema = self.spec.merged(schema.get("items", schema))
        return self._customer_schema

    def _properties(self) -> Mapping[str, Any]:
        """The Customer's properties, as the get answer documents them."""
        return as_object(self._customer().get("properties"))

    def _field_for(self, parameter: str) -> str | None:
        """The Customer property a string filter matches (`state` -> `BillingState`)."""
        properties = self._properties()
        word = parameter.lower()
        candidates = [p for p in properties if p.lower().endswith(word)]  # the word itself too
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
            high = _INT_MAX.get(str(schema.get("format")), 2**31 - 1)
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
            required: list[Any] = item.get("required") or []
            if len(required) == 1:
                return str(required[0])
        properties = self._properties()
        return next((p for p in properties if p.lower().endswith("id") and "group" not in p.lower()), None)

    def _group_probes(self, op: Operation, first: dict[str, Any] | None) -> None:
        id_param = self._id_param(op)
        if id_param is None:
            self.report.skipped.append(f"{op.operation_id} (not one path parameter)")
            return
        name, _ = id_param
        limit, offset, countonly = self._paging(op)
        group = None
        if first is not None:
            group_field = next((p for p in self._properties() if "group" in p.lower()), None)
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
        new_id = self._created_id(create, self.call(create, body=body, expect={201}))
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
                missing = self._missing_id(self.spec.merged(self._properties()[key]))
                self.call(bulk, body=[{key: new_id}, {key: missing}], expect={206})
        finally:
            if delete is not None and (delete_param := self._id_param(delete)) is not None:
                self.call(delete, path_values={delete_param[0]: new_id})
                self.call(get, path_values={get_param[0]: new_id}, expect={404})
            else:
                self.report.skipped.append(f"delete of the created {created}: no delete operation")

    def _new_customer(self, op: Operation, tag: str) -> tuple[dict[str, Any], tuple[str, str] | None]:
        schema = self.spec.request_schema(op)
        properties = as_object(schema.get("properties"))
        body: dict[str, Any] = {}
        email: tuple[str, str] | None = None
        for name in schema.get("required") or ():
            prop = self.spec.merged(properties.get(name))
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

    def _created_id(self, op: Operation, response: httpx.Response) -> int | None:
        body = self._body(response, 201)
        if body is None:
            return None
        pointer = "/0/Value"
        documented = self.spec.response_for(op, 201)
        for link in as_object(documented.spec.get("links") if documented else None).values():
            for expression in as_object(as_object(self.spec.resolve(link)).get("parameters")).values():
                if isinstance(expression, str) and expression.startswith("$response.body#"):
                    pointer = expression.split("#", 1)[1]
        return _as_id(json_pointer(body, pointer))  # never True as customer 1

    def _max_length(self, name: str) -> int:
        prop = self.spec.merged(self._properties().get(name))
        return int(prop.get("maxLength", 64))

    def _editable_text_field(self, created: Mapping[str, Any]) -> str | None:
        """A plain text property (not sent on create, not read-only) to update."""
        for name, prop in self._properties().items():
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
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():  # not "²"
        return int(value)
    return None


def _says_bodiless(response: Mapping[str, Any]) -> bool:
    """Whether a response object says its answer may come without a body (an `x-` extension)."""
    for key, value in response.items():
        if key.startswith("x-") and ("bodiless" in key.lower() or "empty" in key.lower()) and value:
            return True
    return False

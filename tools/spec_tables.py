"""Write `threedcart_customers_client/spec.py`: what the SDK derives from the OpenAPI document.

`make generate` runs this after openapi-python-client, into the same package, so that
`make check-generated` fails when the committed tables drift from the spec. The SDK (the
overlay) reads its field rules, list filters, deprecations and versions from this module and
never lists a field or filter by hand.

    python tools/spec_tables.py openapi/customers.yaml generated/threedcart_customers_client/spec.py

The tables:

- `API_VERSION`: the spec's `info.version`.
- `CUSTOMER_FIELDS`: each property of `components.schemas.Customer`, in the spec's order, as its
  JSON schema with every local `$ref` inlined.
- `LIST_FILTERS`: each parameter of `listCustomers` that carries `x-threedcart-filter`, by its
  SDK name (`sdk-name`, else the generated client's Python name of the parameter): the query
  parameter, the generated function's keyword, the extension's `field` and `match`, the schema,
  whether it is deprecated and whether the group listing accepts it too.
- `ListFilters`: the same filters as a `TypedDict`, for type checkers.
- `OPERATIONS`: (operationId, method, path, deprecated) of every operation.
"""

from __future__ import annotations

import json
import keyword
import sys
from pathlib import Path
from typing import Any

import yaml
from openapi_python_client.strings import PythonIdentifier

FIELD_PREFIX = "field_"  # openapi-python-client's default `field_prefix` (generator-config.yml keeps it)
LIST_OPERATION = "listCustomers"
GROUP_OPERATION = "listCustomerGroupCustomers"
EXTENSION = "x-threedcart-filter"
MATCHES = ("equals", "since", "until")
LAST_UPDATE = "$lastUpdate"
RESERVED = frozenset(
    {
        # keyword arguments of the SDK's list methods, and parameters of the CLI's commands
        *("group_id", "limit", "offset", "timeout", "concurrency", "page_size", "since", "lag"),
        *("ctx", "output", "fmt", "format", "columns", "raw_csv", "yes", "state_file", "filters"),
    }
)
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class SpecError(Exception):
    """The spec says something these tables cannot express; the message names it."""


def _resolve(spec: dict[str, Any], node: Any, trail: tuple[str, ...] = ()) -> Any:
    """`node` with every local `$ref` inlined (siblings of a `$ref` are ignored, as in OpenAPI 3.0)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#/"):
                raise SpecError(f"only local references are supported, not {ref!r}")
            if ref in trail:
                raise SpecError(f"recursive schema {ref!r} cannot be inlined")
            target: Any = spec
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return _resolve(spec, target, (*trail, ref))
        return {k: _resolve(spec, v, trail) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(spec, v, trail) for v in node]
    return node


def _operations(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any], list[Any]]]:
    found: dict[str, tuple[str, str, dict[str, Any], list[Any]]] = {}
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            operation = item.get(method)
            if operation is not None:
                found[operation["operationId"]] = (
                    method.upper(),
                    path,
                    operation,
                    [*shared, *operation.get("parameters", [])],
                )
    return found


def _annotation(schema: dict[str, Any], store_time: bool) -> str:
    if store_time:
        return "datetime | date | str"
    kind = schema.get("type")
    if kind == "array":
        return f"list[{_annotation(schema.get('items', {}), False)}]"
    return {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}.get(kind or "", "Any")


def tables(spec: dict[str, Any]) -> dict[str, Any]:
    """The tables as plain data (see the module's docstring)."""
    schemas = spec["components"]["schemas"]
    customer = _resolve(spec, schemas["Customer"])
    fields = dict(customer.get("properties", {}))
    store_time_schema = _resolve(spec, schemas["StoreDateTime"]) if "StoreDateTime" in schemas else None

    operations = _operations(spec)
    if LIST_OPERATION not in operations:
        raise SpecError(f"the spec has no operation {LIST_OPERATION}")
    group_params: set[str] = set()
    if GROUP_OPERATION in operations:
        group_params = {
            _resolve(spec, p)["name"]
            for p in operations[GROUP_OPERATION][3]
            if _resolve(spec, p)["in"] == "query"
        }

    filters: dict[str, dict[str, Any]] = {}
    for raw in operations[LIST_OPERATION][3]:
        param = _resolve(spec, raw)
        extension = param.get(EXTENSION)
        if extension is None:
            continue
        name = param["name"]
        where = f"parameter {name} of {LIST_OPERATION}"
        if param.get("in") != "query":
            raise SpecError(f"{where}: {EXTENSION} is for query parameters")
        match = extension.get("match")
        if match not in MATCHES:
            raise SpecError(f"{where}: {EXTENSION}.match must be one of {', '.join(MATCHES)}, not {match!r}")
        field = extension.get("field")
        if not isinstance(field, str) or not (field in fields or field == LAST_UPDATE):
            raise SpecError(f"{where}: {EXTENSION}.field {field!r} is not a property of Customer")
        if field == LAST_UPDATE and match == "equals":
            raise SpecError(f"{where}: {LAST_UPDATE} takes since or until, not equals")
        kind = fields.get(field, {}).get("type")
        if kind == "object" or (match != "equals" and kind in ("boolean", "array")):
            raise SpecError(f"{where}: {match} cannot filter the {kind} field {field}")
        kwarg = str(PythonIdentifier(name, FIELD_PREFIX))
        sdk_name = extension.get("sdk-name", kwarg)
        if not isinstance(sdk_name, str) or not sdk_name.isidentifier() or keyword.iskeyword(sdk_name):
            raise SpecError(f"{where}: {EXTENSION}.sdk-name {sdk_name!r} is not a Python identifier")
        if sdk_name in filters or sdk_name in RESERVED:
            raise SpecError(f"{where}: the SDK name {sdk_name!r} is taken")
        schema = param.get("schema", {})
        # a bound on the store's last-update time, or a parameter in the store's date format
        store_time = field == LAST_UPDATE or (store_time_schema is not None and schema == store_time_schema)
        filters[sdk_name] = {
            "param": name,
            "kwarg": kwarg,
            "field": field,
            "match": match,
            "schema": schema,
            "store_time": store_time,
            "deprecated": bool(param.get("deprecated", False)),
            "in_group_listing": name in group_params,
            "description": " ".join(str(param.get("description", "")).split()),
            "annotation": _annotation(schema, store_time),
        }

    return {
        "API_VERSION": str(spec["info"]["version"]),
        "CUSTOMER_FIELDS": fields,
        "LIST_FILTERS": filters,
        "OPERATIONS": [
            (op_id, method, path, bool(op.get("deprecated", False)))
            for op_id, (method, path, op, _) in operations.items()
        ],
    }


def render(data: dict[str, Any], source: str) -> str:
    """The module's text (formatted by the generator's ruff hook afterwards)."""

    def literal(value: Any) -> str:
        # JSON's literals are Python's, but for true/false/null
        return repr(json.loads(json.dumps(value)))

    filters = data["LIST_FILTERS"]
    operations = tuple(tuple(o) for o in data["OPERATIONS"])
    lines = [
        f'"""What the SDK derives from {source}: generated by tools/spec_tables.py; do not edit."""',
        "",
        "from __future__ import annotations",
        "",
        "from datetime import date, datetime",
        "from typing import Any, TypedDict",
        "",
        "__all__ = ['API_VERSION', 'CUSTOMER_FIELDS', 'LIST_FILTERS', 'OPERATIONS', 'ListFilters']",
        "",
        f"API_VERSION = {data['API_VERSION']!r}",
        '"""The version of the API contract (`info.version`) this client was generated from."""',
        "",
        f"CUSTOMER_FIELDS: dict[str, dict[str, Any]] = {literal(data['CUSTOMER_FIELDS'])}",
        '"""Each Customer property, in the spec\'s order, as its JSON schema with references inlined."""',
        "",
        f"LIST_FILTERS: dict[str, dict[str, Any]] = {literal(filters)}",
        '"""The list filters by their SDK names (the list operation\'s `x-threedcart-filter` parameters)."""',
        "",
        f"OPERATIONS: tuple[tuple[str, str, str, bool], ...] = {operations!r}",
        '"""(operationId, method, path, deprecated) of every operation in the spec."""',
        "",
        "",
        "class ListFilters(TypedDict, total=False):",
        '    """The list filters as keyword arguments, with the types they accept."""',
        "",
    ]
    if not filters:
        lines.append("    pass")
    for name, spec in filters.items():
        lines.append(f"    {name}: {spec['annotation']}")
        if spec["description"]:
            lines.append(f"    {json.dumps(spec['description'])}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        return 2
    source, out = Path(argv[0]), Path(argv[1])
    try:
        data = tables(yaml.safe_load(source.read_text(encoding="utf-8")))
    except SpecError as exc:
        print(f"error: {source}: {exc}", file=sys.stderr)
        return 1
    out.write_text(render(data, source.name), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

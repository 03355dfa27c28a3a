"""The OpenAPI document as the mock reads it: schemas, validation against them, examples built from them.

The spec is the single source of truth: the Customer fields (names, JSON shapes, nullability,
bounds) come from `components.schemas.Customer`, request bodies and parameters are validated
against the schemas the spec gives them, so the mock can never drift from it.

Validation is openapi-schema-validator's `OAS30Validator` (jsonschema with OpenAPI 3.0's
`nullable`, `format: int32/int64` and friends), with two changes: an `integer` is a JSON number
without a fraction (`1.0` is not one, as in JSON Schema draft 4 that OpenAPI 3.0 builds on),
and every format jsonschema knows (`date-time`, `email`, `uuid`, ...) is checked besides
OpenAPI's own, `time` as RFC 3339's full-time (JSON Schema draft 7's, which OpenAPI's is).
Its errors become one-line messages that name the field, e.g.
"BillingZipCode is longer than 20 characters" or "item 3: CustomerID is required".

In the repository the mock reads `openapi/customers.yaml`. An installed wheel carries a copy of
that file, made at build time (mock/setup.py), as `threedcart_mock/customers.yaml`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import yaml
from jsonschema import Draft7Validator, FormatChecker  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from jsonschema.validators import extend  # type: ignore[import-untyped]
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT4

REPOSITORY_SPEC = Path(__file__).resolve().parent.parent.parent / "openapi" / "customers.yaml"
PACKAGED_SPEC = Path(__file__).resolve().parent / "customers.yaml"
_SPEC_CANDIDATES = (REPOSITORY_SPEC, PACKAGED_SPEC)
# The URI the spec document has in the validators' registry: "#/components/..." resolves in it.
SPEC_URI = "urn:threedcart-mock:spec"
# How many problems one error message lists.
MAX_PROBLEMS = 10


class SpecError(ValueError):
    """The spec asks for something the mock cannot do (a filter on a field it does not have, ...)."""


def spec_path() -> Path:
    """Where the OpenAPI document is: `$THREEDCART_SPEC`, else the repository's `openapi/`,
    else the copy packaged in the wheel."""
    override = os.environ.get("THREEDCART_SPEC")
    if override:
        return Path(override)
    for candidate in _SPEC_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "openapi/customers.yaml not found (neither in the repository nor packaged); set THREEDCART_SPEC"
    )


@cache
def spec_text() -> bytes:
    return spec_path().read_bytes()


@cache
def spec() -> dict[str, Any]:
    """The parsed document (shared: never modify it)."""
    document = yaml.safe_load(spec_text())
    if not isinstance(document, dict):
        raise SpecError(f"{spec_path()} is not an OpenAPI document")
    return document


# --- JSON pointers and $ref --------------------------------------------------------------
def pointer(*parts: str | int) -> str:
    """The JSON pointer fragment ("#/a/b") of these keys."""
    return "#" + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def child(base: str, *parts: str | int) -> str:
    return base + pointer(*parts)[1:]


def lookup(at: str) -> Any:
    """The node at a local pointer ("#/components/schemas/Customer")."""
    if not at.startswith("#"):
        raise SpecError(f"only references inside the document are supported, not {at!r}")
    node: Any = spec()
    for raw in at[1:].split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(key)] if isinstance(node, list) else node[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise SpecError(f"{at} points to nothing in the spec") from None
    return node


def resolve(node: Any, at: str) -> tuple[Any, str]:
    """Follow `$ref`s from `node` (found at pointer `at`): the target and its pointer."""
    seen = set()
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        at = str(node["$ref"])
        if at in seen:
            raise SpecError(f"{at} refers to itself")
        seen.add(at)
        node = lookup(at)
    return node, at


# --- validation ---------------------------------------------------------------------------
def _is_integer(checker: object, instance: object) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def _format_checker() -> FormatChecker:
    checker = FormatChecker()  # every format jsonschema can check with what is installed
    for name, (check, raises) in oas30_format_checker.checkers.items():
        checker.checks(name, raises)(check)  # OpenAPI's own: int32, int64, float, double, byte, ...
    # `time` as JSON Schema draft 7 on (and so OpenAPI) means it: RFC 3339's full-time, with an offset
    # ("12:00:00Z", "12:00:00.5+05:30"). Both checkers above carry draft 3's under that name ("12:00:00",
    # no offset). Draft 7's needs rfc3339-validator (a dependency of openapi-schema-validator); without
    # it `time` goes unchecked, as `date-time` then does.
    draft7 = Draft7Validator.FORMAT_CHECKER.checkers.get("time")
    if draft7 is None:
        checker.checkers.pop("time", None)
    else:
        checker.checks("time", draft7[1])(draft7[0])
    return checker


_Validator: Any = extend(
    OAS30Validator, type_checker=OAS30Validator.TYPE_CHECKER.redefine("integer", _is_integer)
)
_FORMATS = _format_checker()
_JSON_TYPES = {"object": "a JSON object", "array": "a JSON array"}


@cache
def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT4.create_resource(spec()))
    return registry


def _uri(at: str) -> str:
    return SPEC_URI + quote(at, safe="#/~:@!$&'()*+,;=")


class Schema:
    """The schema at one pointer of the spec, compiled for validation.

    With `fast`, a value is first checked by jsonschema-rs against the same schema translated to
    JSON Schema draft 4 (`_draft4`): a value it accepts is valid (the translation is never more
    lenient than `OAS30Validator`); any other value is judged, and its problems named, by
    `OAS30Validator`. A 500-item bulk update is then checked in milliseconds, not a fifth of a
    second.
    """

    def __init__(self, at: str, *, fast: bool = False) -> None:
        self.at = at
        self.node, _ = resolve(lookup(at), at)
        self._validator = _Validator({"$ref": _uri(at)}, registry=_registry(), format_checker=_FORMATS)
        self._fast = _fast_validator(at) if fast else None

    def problems(self, instance: Any, name: str = "", *, items: str = "") -> list[str]:
        """What is wrong with `instance`, one message per problem, each naming where.

        `name` names the instance itself (a parameter's name; "" for a request body, whose
        properties are named by their own names); `items`, when given, names the items of a
        top-level array ("item" gives "item 3: CustomerID is required").
        """
        if self._fast is not None:
            try:
                if self._fast(instance):
                    return []
            except Exception:  # e.g. a lone surrogate or an integer beyond 64 bits: judged below
                pass
        messages: dict[str, None] = {}
        for error in self._validator.iter_errors(instance):
            for message in _messages(error, name, items):
                messages[message] = None
        return list(messages)

    def self_check(self) -> None:
        """Validate an example of the schema once: a `$ref` to nowhere or an unknown `type` raises
        SpecError now (at start-up) rather than a 500 at the first request."""
        try:
            self.problems(example(self.node, self.at))
        except SpecError:
            raise
        except Exception as exc:
            raise SpecError(f"the schema at {self.at} cannot be used: {exc}") from None

    def check(self, instance: Any, name: str = "", *, items: str = "") -> str | None:
        """`problems` as one message, or None when the instance is valid."""
        found = self.problems(instance, name, items=items)
        if not found:
            return None
        more = len(found) - MAX_PROBLEMS
        return "; ".join(found[:MAX_PROBLEMS]) + (f" (and {more} more)" if more > 0 else "")


@cache
def schema_at(at: str) -> Schema:
    return Schema(at)


@cache
def body_schema_at(at: str) -> Schema:
    """The schema of a request body: with the fast path (request bodies are the large values)."""
    return Schema(at, fast=True)


# --- the fast path: the same schemas as JSON Schema draft 4, for jsonschema-rs ------------------
_SCHEMA_MAPS = ("properties", "patternProperties", "definitions")
_SCHEMA_VALUES = ("items", "additionalProperties", "not")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_NUMBER_FORMATS = frozenset({"int32", "int64", "float", "double"})


def _draft4(node: Any) -> Any:
    """An OpenAPI 3.0 schema as draft 4 JSON Schema, as strict as `OAS30Validator` or stricter:
    `nullable` adds "null" to `type`; int32/int64 become bounds on integers; the siblings of a
    `$ref` (which draft 4 would ignore) are kept by moving the `$ref` into `allOf`."""
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: _draft4(sub) for name, sub in value.items()}
        elif key in _SCHEMA_VALUES and isinstance(value, Mapping):
            out[key] = _draft4(value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_draft4(sub) for sub in value]
        else:
            out[key] = value
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    extra: list[Any] = []
    if "$ref" in out and len(out) > 1:
        extra.append({"$ref": out.pop("$ref")})
    bounds = _INT_BOUNDS.get(str(out.get("format")))
    if bounds is not None:
        low, high = bounds
        extra.append({"anyOf": [{"not": {"type": "integer"}}, {"minimum": low, "maximum": high}]})
    if extra:
        out["allOf"] = [*out.get("allOf", []), *extra]
    return out


def _draft4_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """The spec with its component schemas and request bodies' schemas translated (`_draft4`)."""
    out = dict(document)

    def bodies(node: Any) -> Any:
        if not isinstance(node, Mapping) or not isinstance(node.get("content"), Mapping):
            return node
        content = {
            media: (
                {**entry, "schema": _draft4(entry["schema"])}
                if isinstance(entry, Mapping) and "schema" in entry
                else entry
            )
            for media, entry in node["content"].items()
        }
        return {**node, "content": content}

    components = dict(document.get("components") or {})
    components["schemas"] = {k: _draft4(v) for k, v in (components.get("schemas") or {}).items()}
    components["requestBodies"] = {k: bodies(v) for k, v in (components.get("requestBodies") or {}).items()}
    out["components"] = components
    paths: dict[str, Any] = {}
    for path, item in (document.get("paths") or {}).items():
        if isinstance(item, Mapping):
            item = {
                key: (
                    {**op, "requestBody": bodies(op["requestBody"])}
                    if isinstance(op, Mapping) and "requestBody" in op
                    else op
                )
                for key, op in item.items()
            }
        paths[path] = item
    out["paths"] = paths
    return out


@cache
def _fast_registry() -> Any:
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - an optional speed-up
        return None
    if "discriminator" in json.dumps(spec(), default=str):
        return None  # OAS30Validator picks a oneOf member by its discriminator; draft 4 cannot
    return jsonschema_rs.Registry([(SPEC_URI, _draft4_document(spec()))], draft=jsonschema_rs.Draft4)


def _fast_validator(at: str) -> Any:
    registry = _fast_registry()
    if registry is None:
        return None
    import jsonschema_rs

    formats = {
        name: (lambda value, name=name: bool(_FORMATS.conforms(value, name)))
        for name in _FORMATS.checkers
        if name not in _NUMBER_FORMATS
    }
    try:
        validator = jsonschema_rs.Draft4Validator(
            {"$ref": _uri(at)},
            registry=registry,
            formats=formats,
            validate_formats=True,
            ignore_unknown_formats=True,
        )
    except Exception:  # a schema jsonschema-rs cannot compile: OAS30Validator alone judges
        return None
    return validator.is_valid


def _where(path: Sequence[str | int], name: str, items: str) -> str:
    parts = list(path)
    head = name
    if items and parts and isinstance(parts[0], int) and not name:
        head = f"{items} {parts.pop(0)}"
        if parts:
            head += ": "
    text = head
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text and not text.endswith(": "):
            text += "." + part
        else:
            text += part
    return text


def _messages(error: ValidationError, name: str, items: str) -> Iterable[str]:
    keyword, expected, schema = error.validator, error.validator_value, error.schema
    where = _where(list(error.absolute_path), name, items) or "the request body"
    schema = schema if isinstance(schema, Mapping) else {}
    if keyword == "required":
        missing = [str(p) for p in cast(list[Any], expected) if p not in error.instance]
        names = [_where([*error.absolute_path, p], name, items) for p in missing]
        if names:
            listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            yield f"{listed} {'is' if len(names) == 1 else 'are'} required"
        return
    if keyword == "type":
        if error.instance is None:
            yield f"{where} must not be null"
        else:
            wanted = str(expected)
            yield (
                f"{where} must be {_JSON_TYPES[wanted]}"
                if wanted in _JSON_TYPES
                else (f"{where} must be of type {wanted}")
            )
        return
    yield where + " " + _phrase(str(keyword), expected, schema, error)


def _phrase(keyword: str, expected: Any, schema: Mapping[str, Any], error: ValidationError) -> str:
    if keyword == "format":
        bits = {"int32": "a 32-bit integer", "int64": "a 64-bit integer"}
        return f"must be {bits.get(str(expected), f'a valid {expected}')}"
    if keyword == "maxLength":
        return f"is longer than {expected} characters"
    if keyword == "minLength":
        return f"is shorter than {expected} characters"
    if keyword == "pattern":
        return f"does not match the pattern {expected}"
    if keyword in ("minimum", "maximum"):
        exclusive = schema.get("exclusiveMinimum" if keyword == "minimum" else "exclusiveMaximum")
        if keyword == "minimum":
            return f"must be greater than {expected}" if exclusive else f"must be at least {expected}"
        return f"must be less than {expected}" if exclusive else f"must be at most {expected}"
    if keyword == "multipleOf":
        return f"must be a multiple of {expected}"
    if keyword == "enum":
        return "must be one of " + ", ".join(json.dumps(v) for v in cast(list[Any], expected))
    if keyword in ("minItems", "maxItems"):
        low, high = schema.get("minItems"), schema.get("maxItems")
        if low is not None and high is not None:
            return f"must be a JSON array of {low} to {high} items"
        return f"must have at {'least' if keyword == 'minItems' else 'most'} {expected} items"
    if keyword == "uniqueItems":
        return "must not contain the same item twice"
    if keyword in ("minProperties", "maxProperties"):
        return f"must have at {'least' if keyword == 'minProperties' else 'most'} {expected} properties"
    if keyword == "additionalProperties":
        known = set(schema.get("properties", {}))
        extra = sorted(str(k) for k in error.instance if k not in known)
        return "has properties the spec does not allow: " + ", ".join(extra[:10])
    if keyword in ("oneOf", "anyOf"):
        if keyword == "oneOf" and "is valid under each of" in str(error.message):
            return "matches more than one of the shapes the spec allows"
        return "matches none of the shapes the spec allows"
    if keyword == "not":
        return "has a shape the spec does not allow"
    return str(error.message)[:200]


def unicode_problem(value: Any, name: str) -> str | None:
    """JSON may escape a lone surrogate ("\\ud800"), which no UTF-8 database can store."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return f"{name} is not valid Unicode (it contains a lone surrogate)"
    return None


# --- the Customer object --------------------------------------------------------------------
_KINDS: dict[str, type] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list,
    "object": dict,
}


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: type  # str, int, float, bool, list or dict; object when the spec gives no type
    nullable: bool
    max_length: int | None
    minimum: float | None = None
    schema: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    at: str = ""  # the pointer of its schema
    read_only: bool = False
    format: str | None = None


CUSTOMER = pointer("components", "schemas", "Customer")


def object_properties(node: Any, at: str, depth: int = 0) -> dict[str, tuple[Mapping[str, Any], str]]:
    """The properties of an object schema (with those of its `allOf` members): name -> (schema, pointer)."""
    node, at = resolve(node, at)
    found: dict[str, tuple[Mapping[str, Any], str]] = {}
    if not isinstance(node, Mapping) or depth > 20:
        return found
    for index, member in enumerate(node.get("allOf") or ()):
        found.update(object_properties(member, child(at, "allOf", index), depth + 1))
    for name, prop in (node.get("properties") or {}).items():
        found[str(name)] = resolve(prop, child(at, "properties", name))
    return found


def schema_type(node: Mapping[str, Any]) -> str | None:
    """The JSON type a (resolved) schema asks for, looking into its `allOf` members."""
    if isinstance(node.get("type"), str):
        return str(node["type"])
    for member in node.get("allOf") or ():
        found = schema_type(resolve(member, "")[0]) if isinstance(member, Mapping) else None
        if found:
            return found
    return "object" if "properties" in node else None


@cache
def customer_fields() -> dict[str, Field]:
    fields = {}
    for name, (node, at) in object_properties(lookup(CUSTOMER), CUSTOMER).items():
        kind = _KINDS.get(schema_type(node) or "", object)
        fields[name] = Field(
            name,
            kind,
            bool(node.get("nullable")),
            node.get("maxLength"),
            node.get("minimum"),
            node,
            at,
            bool(node.get("readOnly")),
            node.get("format"),
        )
    return fields


@cache
def date_pattern() -> re.Pattern[str]:
    """The pattern of the `lastupdatestart`/`lastupdateend` filters."""
    return re.compile(lookup(pointer("components", "schemas", "StoreDateTime"))["pattern"])


MISSING: Any = object()  # `default_value` of a field a new record leaves out


def default_value(f: Field) -> Any:
    """What a new record holds in `f` before the fields sent are applied.

    The schema's `default`; else the type's zero ("", 0, 0.0, false, [], {}) when the schema
    accepts it; else null when the field is nullable; else an example built from the schema when
    the schema accepts it; else MISSING (the record has no such key, as real records sometimes lack
    keys).
    """
    if "default" in f.schema:
        return f.schema["default"]
    zero: dict[type, Any] = {str: "", int: 0, float: 0.0, bool: False, list: [], dict: {}}
    if f.kind in zero and schema_at(f.at).check(zero[f.kind]) is None:
        return zero[f.kind]
    if f.nullable:
        return None
    built = example(f.schema, f.at)
    return built if schema_at(f.at).check(built) is None else MISSING


# --- examples -------------------------------------------------------------------------------
_FORMAT_EXAMPLES = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00Z",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "",
    "password": "",
}


def example(node: Any, at: str = "", depth: int = 0) -> Any:
    """An example of a schema: its own `example`, `default` or first `enum` value, else one built
    from its type (every property of an object, `minItems` items (at least one) of an array, the
    lower bound of a number, a string of the format's shape). Recursion stops at depth 8 (null)."""
    node, at = resolve(node, at)
    if not isinstance(node, Mapping) or depth > 8:
        return None
    for key in ("example", "default"):
        if key in node:
            return node[key]
    if node.get("enum"):
        return node["enum"][0]
    if node.get("allOf"):
        merged: dict[str, Any] = {}
        for index, member in enumerate(node["allOf"]):
            part = example(member, child(at, "allOf", index), depth + 1)
            if isinstance(part, dict):
                merged.update(part)
        return merged
    for key in ("oneOf", "anyOf"):
        if node.get(key):
            return example(node[key][0], child(at, key, 0), depth + 1)
    kind = schema_type(node)
    if kind == "object":
        return {
            name: example(prop, prop_at, depth + 1)
            for name, (prop, prop_at) in object_properties(node, at).items()
            if not prop.get("writeOnly")
        }
    if kind == "array":
        if node.get("maxItems") == 0:
            return []
        item = example(node.get("items", {}), child(at, "items"), depth + 1)
        return [item] * max(1, int(node.get("minItems") or 1))
    if kind in ("integer", "number"):
        low, high = node.get("minimum"), node.get("maximum")
        value: float = 0
        if low is not None and (value < low or (value == low and node.get("exclusiveMinimum"))):
            value = low + (1 if node.get("exclusiveMinimum") else 0)
        elif high is not None and (value > high or (value == high and node.get("exclusiveMaximum"))):
            value = high - (1 if node.get("exclusiveMaximum") else 0)
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return True
    if kind == "string":
        text = _FORMAT_EXAMPLES.get(str(node.get("format")), "string")
        low, high = int(node.get("minLength") or 0), node.get("maxLength")
        if len(text) < low:
            text += "x" * (low - len(text))
        return text[: int(high)] if high is not None else text
    return None

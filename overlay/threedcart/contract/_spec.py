# pyright: strict
"""The OpenAPI document the check reads: operations, parameters, responses and their schemas.

Answers are validated by `openapi_schema_validator.OAS30Validator` over the whole document, so
every `$ref` resolves as the document says. Each problem comes back as a JSON path to the
offending value (`$[0].CustomerID`) and a sentence naming what the spec expected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import PurePath
from typing import Any, Protocol, TypeGuard

import yaml
from openapi_schema_validator import OAS30Validator

# The spec this version of threedcart was generated from (a copy of openapi/customers.yaml that
# `make generate` writes and `make check-generated` compares).
PACKAGED_SPEC = "customers.yaml"
_PACKAGE = __name__.rpartition(".")[0]
_METHODS = ("get", "put", "post", "delete", "patch")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class SpecError(Exception):
    """The document cannot be read or lacks what the check needs (a usage error)."""


# --- JSON values, typed -------------------------------------------------------------------------
def is_object(value: object) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(value, Mapping)


def is_array(value: object) -> TypeGuard[list[Any]]:
    return isinstance(value, list)


def as_object(value: object) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else an empty one (`.get("x")` of a part that may be absent)."""
    return value if is_object(value) else {}


def packaged_spec() -> Traversable:
    """The spec shipped inside this package."""
    return files(_PACKAGE).joinpath(PACKAGED_SPEC)


def load_spec(source: Traversable | None = None) -> dict[str, Any]:
    """The OpenAPI document at `source`, a `pathlib.Path` or any `Traversable` (YAML, or JSON when
    it ends in .json); by default the spec packaged with threedcart."""
    path = packaged_spec() if source is None else source
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read the spec {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SpecError(f"the spec {path} is not UTF-8") from None
    document: Any
    if PurePath(path.name).suffix.lower() == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"the spec {path} is not valid JSON: {exc}") from None
    else:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(f"the spec {path} is not valid YAML: {exc}") from None
    if not is_object(document) or not is_object(document.get("paths")):
        raise SpecError(f"{path} is not an OpenAPI document (no paths)")
    return dict(document)


def json_pointer(document: object, pointer: str) -> Any:
    """The value at a JSON pointer (`/0/Value`) in `document`, None when there is none."""
    node: Any = document
    for part in pointer.split("/")[1:]:  # "" and "#" name the whole document
        part = part.replace("~1", "/").replace("~0", "~")
        if is_object(node) and part in node:
            node = node[part]
        elif is_array(node) and part.isascii() and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


# --- the document -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    """One operation of the document (its `operationId`, method and path template)."""

    operation_id: str
    method: str
    path: str  # the template, e.g. /3dCartWebAPI/v1/Customers/{id}
    pointer: str  # where it is in the document, e.g. /paths/~13dCartWebAPI~1v1~1Customers/get
    spec: Mapping[str, Any]
    path_parameters: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Response:
    """A documented response, `$ref` followed, and where it is in the document."""

    pointer: str
    spec: Mapping[str, Any]


class _SchemaError(Protocol):
    """What the check reads of a jsonschema `ValidationError`."""

    @property
    def absolute_path(self) -> Sequence[str | int]: ...
    @property
    def relative_path(self) -> Sequence[str | int]: ...
    @property
    def relative_schema_path(self) -> Sequence[str | int]: ...
    @property
    def validator(self) -> str: ...
    @property
    def validator_value(self) -> Any: ...
    @property
    def instance(self) -> Any: ...
    @property
    def schema(self) -> Any: ...
    @property
    def message(self) -> str: ...
    @property
    def context(self) -> Sequence[_SchemaError] | None: ...


class _SchemaValidator(Protocol):
    def iter_errors(self, instance: Any) -> Iterable[_SchemaError]: ...


class Spec:
    """An OpenAPI 3.0 document: operations by id, `$ref`s resolved, answers validated."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        # JSON's view of it: YAML may key a response by the integer 200 (a JSON pointer says
        # "200") or read an unquoted example, or an example's key, as a date
        self.document: dict[str, Any] = json.loads(json.dumps(_text_keys(document), default=str))
        self.operations: dict[str, Operation] = {}
        for path, node in as_object(self.document.get("paths")).items():
            found, item_pointer = self.follow(node, f"/paths/{_escape(path)}")
            item = as_object(found)
            shared = tuple(as_object(self.resolve(p)) for p in item.get("parameters") or ())
            for method in _METHODS:
                op = item.get(method)
                if is_object(op) and isinstance(op.get("operationId"), str):
                    operation_id: str = op["operationId"]
                    self.operations[operation_id] = Operation(
                        operation_id, method.upper(), path, f"{item_pointer}/{method}", op, shared
                    )
        # The validators' view: every object schema closed (see _closed), the whole document
        # as one resource so that each `#/...` reference resolves within it.
        self._closed = _closed(self.document)
        self._validators: dict[str, _SchemaValidator] = {}

    def at(self, pointer: str) -> Any:
        """The node at a JSON pointer (`/components/schemas/Customer`, or with a leading `#`)."""
        node = json_pointer(self.document, pointer)  # a leading # is before the first /
        if node is None:
            raise SpecError(f"cannot resolve #{pointer.removeprefix('#')}")
        return node

    def follow(self, node: Any, pointer: str) -> tuple[Any, str]:
        """`node` (found at `pointer`), following `$ref`s within the document, and where it ends."""
        seen: set[str] = set()
        while is_object(node) and "$ref" in node:
            ref: object = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
                raise SpecError(f"cannot resolve $ref {ref!r}")
            seen.add(ref)
            pointer = ref[1:]
            node = self.at(pointer)
        return node, pointer

    def resolve(self, node: Any) -> Any:
        """`node`, following `$ref`s within the document."""
        return self.follow(node, "")[0]

    def operation(self, operation_id: str) -> Operation | None:
        return self.operations.get(operation_id)

    def responses(self, op: Operation) -> dict[str, Response]:
        found: dict[str, Response] = {}
        for key, value in as_object(op.spec.get("responses")).items():
            node, pointer = self.follow(value, f"{op.pointer}/responses/{_escape(key)}")
            if is_object(node):
                found[key] = Response(pointer, node)
        return found

    def response_for(self, op: Operation, status: int) -> Response | None:
        """The documented response for `status` (exact, then `4XX`, then `default`)."""
        responses = self.responses(op)
        for key in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default"):
            if key in responses:
                return responses[key]
        return None

    def parameters(self, op: Operation, where: str) -> dict[str, Mapping[str, Any]]:
        params = [*op.path_parameters, *(as_object(self.resolve(p)) for p in op.spec.get("parameters") or ())]
        return {str(p.get("name")): p for p in params if p.get("in") == where}

    def merged(self, schema: Any) -> dict[str, Any]:
        """A schema with its `$ref` resolved and its `allOf` members merged into one (for the probes)."""
        node = as_object(self.resolve(schema))
        result: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        properties: dict[str, Any] = dict(as_object(result.get("properties")))
        required: list[str] = list(result.get("required") or [])
        for member in node.get("allOf") or ():
            for key, value in self.merged(member).items():
                if key == "properties":
                    for name, prop in as_object(value).items():
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

    def body_schema(self, response: Response) -> tuple[str, str] | None:
        """The (media type, schema pointer) of a response's JSON content, if it documents one."""
        for media, entry in as_object(response.spec.get("content")).items():
            if "json" in media and is_object(entry) and "schema" in entry:
                return media, f"{response.pointer}/content/{_escape(media)}/schema"
        return None

    def request_schema(self, op: Operation) -> dict[str, Any]:
        body = as_object(self.resolve(op.spec.get("requestBody")))
        for media, entry in as_object(body.get("content")).items():
            if "json" in media:
                return self.merged(as_object(entry).get("schema"))
        return {}

    # -- validation --
    def errors(self, value: Any, pointer: str) -> list[tuple[str, str]]:
        """The (JSON path, problem) pairs of `value` against the schema at `pointer` (`#/...`).

        Paths are JSONPath-like (`$[0].CustomerID`); each place and problem is listed once.
        """
        pointer = pointer.removeprefix("#")
        validator = self._validators.get(pointer)
        if validator is None:
            self.at(pointer)  # a SpecError when the schema is not there
            schema = {**self._closed, "$ref": f"#{pointer}"}
            validator = OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER)
            self._validators[pointer] = validator
        found: dict[tuple[str, str], None] = {}
        for error in _leaves(validator.iter_errors(value)):
            for path, problem in _described(error):
                found[path, problem] = None
        return list(found)


def _closed(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `document` whose object schemas refuse properties they do not name.

    The point of the check is a document that describes everything the service sends, so an
    object schema with `properties` and `additionalProperties` absent or `true` is closed. The
    members of an `allOf` stay open (OpenAPI 3.0 cannot close an `allOf`).
    """
    copy: dict[str, Any] = json.loads(json.dumps(document))
    open_refs: set[str] = set()
    open_nodes: set[int] = set()

    def find_members(node: object) -> None:
        for key, value in _children(node):
            if key == "allOf" and is_array(value):
                for member in value:
                    open_nodes.add(id(member))
                    ref = as_object(member).get("$ref")
                    if isinstance(ref, str):
                        open_refs.add(ref)
            find_members(value)

    def close(node: object, ref: str) -> None:
        if (
            _is_dict(node)
            and is_object(node.get("properties"))
            and node.get("additionalProperties", True) is True
            and id(node) not in open_nodes
            and ref not in open_refs
        ):
            node["additionalProperties"] = False
        for key, value in _children(node):
            close(value, f"{ref}/{_escape(key)}")

    find_members(copy)
    close(copy, "#")
    return copy


def _text_keys(node: object) -> Any:
    """`node` with every mapping key that JSON cannot take (a date YAML read) made a string."""
    if is_object(node):
        return {_json_key(k): _text_keys(v) for k, v in node.items()}
    if is_array(node):
        return [_text_keys(v) for v in node]
    return node


def _json_key(key: object) -> object:
    return key if key is None or isinstance(key, str | int | float | bool) else str(key)


def _is_dict(value: object) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict)


def _children(node: object) -> Iterator[tuple[str, Any]]:
    """The (key or index, value) pairs of a JSON object or array."""
    if is_object(node):
        yield from node.items()
    elif is_array(node):
        for index, value in enumerate(node):
            yield str(index), value


# --- problems, in words -------------------------------------------------------------------------
def _leaves(errors: Iterable[_SchemaError]) -> Iterator[_SchemaError]:
    """The errors to report: for a failed `oneOf`/`anyOf`, those of the closest alternative.

    The closest alternative is one of the value's JSON type (a page, not a count), else the one
    with the fewest problems.
    """
    for error in errors:
        if error.validator not in ("oneOf", "anyOf") or not error.context:
            yield error
            continue
        branches: dict[str | int, list[_SchemaError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        candidates = list(branches.values())
        _, closest = min((_distance(branch), i) for i, branch in enumerate(candidates))
        yield from _leaves(candidates[closest])


def _distance(branch: list[_SchemaError]) -> tuple[bool, int]:
    """How far an alternative is: of another JSON type than the value, then by its problems."""
    return any(e.validator == "type" and not e.relative_path for e in branch), len(branch)


def _json_path(parts: Iterable[str | int]) -> str:
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _IDENTIFIER.match(part):
            path += f".{part}"
        else:
            path += f"[{json.dumps(part)}]"
    return path


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
    text = json.dumps(value)  # ASCII: the default
    return text if len(text) <= 40 else text[:37] + "..."


def _described(error: _SchemaError) -> Iterator[tuple[str, str]]:
    """(path, problem) pairs for one validation error; an example value follows ` (e.g. `."""
    path = list(error.absolute_path)
    keyword, expected, value = error.validator, error.validator_value, error.instance
    if keyword == "required" and is_object(value):
        for name in expected:
            if name not in value:
                yield _json_path([*path, name]), "missing, but the spec requires it"
        return
    if keyword == "additionalProperties" and is_object(value):
        named = as_object(as_object(error.schema).get("properties"))
        for name, item in value.items():
            if name not in named:
                yield _json_path([*path, name]), f"a field the spec does not document ({_kind(item)})"
        return
    where = _json_path(path)
    if keyword == "type":
        if value is None:
            yield where, "null, but the spec does not allow null here"
        else:
            yield where, f"{_kind(value)}, the spec says {expected} (e.g. {_show(value)})"
    elif keyword == "maxLength":
        yield where, f"too long, the spec allows at most {expected} characters (e.g. {len(value)})"
    elif keyword == "minLength":
        yield where, f"too short, the spec needs at least {expected} characters (e.g. {len(value)})"
    elif keyword == "maximum":
        yield where, f"above the maximum {expected} (e.g. {value})"
    elif keyword == "minimum":
        yield where, f"below the minimum {expected} (e.g. {value})"
    elif keyword == "maxItems":
        yield where, f"more items than the {expected} the spec allows (e.g. {len(value)})"
    elif keyword == "minItems":
        yield where, f"fewer items than the {expected} the spec needs (e.g. {len(value)})"
    elif keyword == "enum":
        yield where, f"not one of {_show(expected)} (e.g. {_show(value)})"
    elif keyword == "pattern":
        yield where, f"does not match the pattern {expected} (e.g. {_show(value)})"
    elif keyword == "format":
        yield where, f"not a valid {expected} (e.g. {_show(value)})"
    else:
        message = error.message
        yield where, message if len(message) <= 200 else message[:197] + "..."

"""The Customer schema as the mock enforces it, read from the OpenAPI document itself.

The spec is the single source of truth: field names, JSON types, nullability and maximum
lengths come from `components.schemas.Customer`, so the mock can never drift from it.

In the repository the mock reads `openapi/customers.yaml`. An installed wheel carries a copy of
that file, made at build time (mock/setup.py), as `threedcart_mock/customers.yaml`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPOSITORY_SPEC = Path(__file__).resolve().parent.parent.parent / "openapi" / "customers.yaml"
PACKAGED_SPEC = Path(__file__).resolve().parent / "customers.yaml"
_SPEC_CANDIDATES = (REPOSITORY_SPEC, PACKAGED_SPEC)


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


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: type  # str, int, float or bool
    nullable: bool
    max_length: int | None
    minimum: float | None = None


_KINDS: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}


@cache
def _schemas() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(spec_text())
    return dict(spec["components"]["schemas"])


@cache
def date_pattern() -> re.Pattern[str]:
    """The pattern of the `lastupdatestart`/`lastupdateend` filters."""
    return re.compile(_schemas()["StoreDateTime"]["pattern"])


@cache
def customer_fields() -> dict[str, Field]:
    props: dict[str, Any] = _schemas()["Customer"]["properties"]
    return {
        name: Field(name, _KINDS[p["type"]], bool(p.get("nullable")), p.get("maxLength"), p.get("minimum"))
        for name, p in props.items()
    }


def type_error(field: Field, value: object) -> str | None:
    """Why `value` is not acceptable for `field`, or None when it is."""
    if value is None:
        return None if field.nullable else f"{field.name} must not be null"
    kind = field.kind
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31
        if not ok and isinstance(value, int) and not isinstance(value, bool):
            return f"{field.name} must be a 32-bit integer"
    elif kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        return f"{field.name} must be of type {_type_name(kind)}"
    if field.minimum is not None and isinstance(value, int | float) and value < field.minimum:
        return f"{field.name} must be at least {field.minimum}"
    if field.max_length is not None and isinstance(value, str) and len(value) > field.max_length:
        return f"{field.name} is longer than {field.max_length} characters"
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")  # JSON's "\ud800" escapes decode to lone surrogates
        except UnicodeEncodeError:
            return f"{field.name} is not valid Unicode (it contains a lone surrogate)"
    return None


def _type_name(kind: type) -> str:
    return {str: "string", int: "integer", float: "number", bool: "boolean"}[kind]

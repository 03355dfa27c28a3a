# pyright: strict
"""The mirror's decisions that need no loader: columns from the spec, destinations from a URL, and
which rows a reconciliation removes. No I/O, no dlt: tests drive it directly."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from threedcart_customers_client.spec import CUSTOMER_FIELDS

TABLE = "customers"
"""The table (dlt: the resource) the customers are loaded into."""
DATASET = "threedcart"
"""The default dataset (a schema in DuckDB and PostgreSQL) that holds the table and dlt's own tables."""
PIPELINE = "threedcart_customers"
"""The pipeline's name: its state (the watermark) is stored under it in the destination."""
ID_FIELD = "CustomerID"
DELETED_AT = "_deleted_at"
"""The column `--soft-delete` sets (an aware timestamp) on rows whose customer no longer exists."""
DEFAULT_INTO = "duckdb:///customers.duckdb"

_DATA_TYPES = {"integer": "bigint", "number": "double", "boolean": "bool", "string": "text"}


def json_type(schema: Mapping[str, Any]) -> str | None:
    """The JSON type of one field's schema (`allOf` members and OpenAPI 3.1 type lists included)."""
    for member in schema.get("allOf", ()):
        found = json_type(member)
        if found is not None:
            return found
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or ())
    return next((t for t in types if t != "null"), None)


def data_type(schema: Mapping[str, Any]) -> str:
    """dlt's data type of a field: integers `bigint`, numbers `double`, booleans `bool`, strings
    `text` (their value as the API sends it: a `format` such as `date` is not interpreted), and
    arrays, objects and anything without one JSON type `json` (one column, the value as JSON)."""
    return _DATA_TYPES.get(json_type(schema) or "", "json")


def column_hints(fields: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """The table's columns, one per field of the spec's Customer (`CUSTOMER_FIELDS`) by its API name
    (dlt normalises the names: `CustomerID` is `customer_id`), then `_deleted_at`.

    Every column but the key is nullable: the service sends `null`s and leaves keys out."""
    fields = CUSTOMER_FIELDS if fields is None else fields
    columns: dict[str, dict[str, Any]] = {}
    for name, schema in fields.items():
        column: dict[str, Any] = {"name": name, "data_type": data_type(schema), "nullable": name != ID_FIELD}
        if name == ID_FIELD:
            column["primary_key"] = True
        description = schema.get("description")
        if isinstance(description, str) and description.strip():
            column["description"] = description.strip().splitlines()[0]
        columns[name] = column
    columns[DELETED_AT] = {
        "name": DELETED_AT,
        "data_type": "timestamp",
        "nullable": True,
        "description": "When a reconciliation found the customer deleted (--soft-delete); else null.",
    }
    return columns


@dataclass(frozen=True)
class Destination:
    """Where a mirror loads: dlt's destination name and its credentials (None: from dlt's config)."""

    name: str
    credentials: str | None
    identity: str
    """The destination without secrets: names the pipeline's local working folder."""

    @property
    def work_folder(self) -> str:
        """The folder name of this destination's local pipeline state (a hash of its identity)."""
        return "mirror-" + hashlib.sha256(self.identity.encode()).hexdigest()[:16]


FILE_FORMATS = {"duckdb": "jsonl"}
"""The load files per destination, where dlt's default (SQL INSERT statements) is slower: DuckDB
reads JSON lines (a tenth of the load time for 20,000 customers). PostgreSQL keeps INSERT
statements: its CSV (COPY with FORCE_NULL) would load 3 times faster but turns "" into null."""

_SCHEMES = {"postgresql": "postgres", "postgres": "postgres", "duckdb": "duckdb"}


def destination(into: str) -> Destination:
    """`duckdb:///customers.duckdb` (a relative path; `duckdb:////abs/path` an absolute one),
    `postgresql://user:password@host:port/database`, or another dlt destination by its name
    (`bigquery`, settings from dlt's config or environment) or as `name://...` (credentials)."""
    into = into.strip()
    if not into:
        raise ValueError("--into is empty: give a URL (duckdb:///customers.duckdb) or a dlt destination")
    if "://" not in into:
        if not into.replace("_", "").isalnum():
            raise ValueError(f"{into!r} is neither a URL nor a dlt destination name")
        return Destination(_SCHEMES.get(into, into), None, into)
    parts = urlsplit(into)
    scheme = parts.scheme.lower()
    name = _SCHEMES.get(scheme, scheme)
    if name == "duckdb":
        path = into.split("://", 1)[1]
        path = path[1:] if path.startswith("/") else path  # duckdb:///x is x, duckdb:////x is /x
        if not path or path.startswith("?"):
            raise ValueError(f"{into!r} names no DuckDB file (e.g. duckdb:///customers.duckdb)")
        return Destination("duckdb", path, f"duckdb:{path}")
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    identity = urlunsplit((scheme, netloc, parts.path, "", ""))
    return Destination(name, into, identity)


def redact(url: str) -> str:
    """A destination URL fit to print: its password replaced by `***`."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit((parts.scheme, f"{user}:***@{hostport}", parts.path, parts.query, parts.fragment))


def gone(mirrored: Iterable[int], existing: Iterable[int]) -> Iterator[int]:
    """The ids of `mirrored` that are not in `existing`, both in increasing order (a merge walk:
    no set of either is built)."""
    them = iter(existing)
    current = next(them, None)
    for key in mirrored:
        while current is not None and current < key:
            current = next(them, None)
        if current != key:
            yield key

"""Customer rows checked against the spec, and import files read into numbered rows (no I/O).

The rules come from the spec: `CUSTOMER_FIELDS` is written into
`threedcart_customers_client/spec.py` by `make generate` (tools/spec_tables.py) from
`openapi/customers.yaml`, every JSON shape included (types, formats, nullability, enums,
bounds, lengths, patterns, arrays and their items, objects and their properties), so a change
of the spec changes the checks with `make generate`, and `make check-generated` fails if they
drift. In CSV, an array or object is one cell of JSON.

Reading an import file is a pure function of its bytes: `read_rows(chunks, ...)` decodes
them, numbers the rows as the file shows them and checks every row, yielding an `ImportRow`
to send or a `RowFailure` to report. `ImportTally` maps `update_many`'s answers back to
file rows. The CLI only opens the file and prints.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import functools
import inspect
import itertools
import json
import math
import os
import re
import warnings
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, TypeGuard

from threedcart_customers_client.spec import CUSTOMER_FIELDS

from ._bulk import BulkResult

ID_FIELD = "CustomerID"
Blanks = Literal["keep", "clear"]
"""What an empty CSV cell does: leave its field unchanged, or clear it."""

_KINDS: dict[str, type] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list,
    "object": dict,
}
_FORMAT_BOUNDS: dict[str | None, tuple[int, int]] = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
# a cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def is_json_object(value: object) -> TypeGuard[dict[str, Any]]:
    """A JSON object as `json.loads` gives it (a dict, whose keys are always strings)."""
    return isinstance(value, dict)


def _is_array(value: object) -> TypeGuard[list[Any] | tuple[Any, ...]]:
    """An array as Python callers give it: a list or a tuple."""
    return isinstance(value, list | tuple)


def is_mapping(value: object) -> TypeGuard[Mapping[Any, Any]]:
    return isinstance(value, Mapping)


@dataclass(frozen=True, slots=True)
class FieldRule:
    """What the spec allows in one field of a Customer (or in an item or property of one)."""

    name: str
    kind: type  # str, int, float, bool, list, dict, or object for a schema without a type
    nullable: bool = False
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[Any, ...] | None = None
    pattern: str | None = None
    min_items: int | None = None
    max_items: int | None = None
    items: FieldRule | None = None
    """The rule of each element of an array."""
    properties: tuple[FieldRule, ...] = ()
    """The rules of an object's declared properties."""
    required: tuple[str, ...] = ()
    closed: bool = False
    """An object that refuses undeclared properties (`additionalProperties: false`)."""
    deprecated: bool = False

    def problem(self, value: object, name: str | None = None) -> str | None:
        """Why `value` cannot be sent in this field, or None when it can."""
        name = self.name if name is None else name
        if value is None:
            return None if self.nullable else f"{name} must not be null"
        kind = self.kind
        if kind is object:
            return None
        if kind is bool:
            ok = isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if ok and isinstance(value, float) and not math.isfinite(value):
                return f"{name} must be a finite number"
        elif kind is list:
            ok = isinstance(value, list | tuple)
        elif kind is dict:
            ok = isinstance(value, Mapping)
        else:
            ok = isinstance(value, str)
        if not ok:
            return f"{name} must be {_KIND_NAMES[kind]}, not {_json_type(value)}"
        if self.enum is not None and value not in self.enum:
            allowed = ", ".join(json.dumps(e) for e in self.enum)
            return f"{name} must be one of {allowed}, not {json.dumps(value)}"
        if isinstance(value, int | float) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                return f"{name} must be at least {_number(self.minimum)}, not {value}"
            if self.maximum is not None and value > self.maximum:
                return f"{name} must be at most {_number(self.maximum)}, not {value}"
        if isinstance(value, str):
            if self.max_length is not None and len(value) > self.max_length:
                return f"{name} is longer than {self.max_length} characters ({len(value)})"
            if "\x00" in value:
                return f"{name} contains a NUL character"
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return f"{name} is not valid Unicode (it contains a lone surrogate)"
            if self.pattern is not None and not _search(self.pattern, value):
                return f"{name} does not match the pattern {self.pattern}"
        if _is_array(value):
            return self._items_problem(value, name)
        if is_mapping(value):
            return self._properties_problem(value, name)
        return None

    def _items_problem(self, value: list[Any] | tuple[Any, ...], name: str) -> str | None:
        if self.min_items is not None and len(value) < self.min_items:
            return f"{name} must have at least {self.min_items} item(s), not {len(value)}"
        if self.max_items is not None and len(value) > self.max_items:
            return f"{name} must have at most {self.max_items} item(s), not {len(value)}"
        if self.items is not None:
            for i, item in enumerate(value):
                if problem := self.items.problem(item, f"{name}[{i}]"):
                    return problem
        return None

    def _properties_problem(self, value: Mapping[Any, Any], name: str) -> str | None:
        declared = {rule.name: rule for rule in self.properties}
        missing = [key for key in self.required if key not in value]
        if missing:
            return f"{name} is missing {', '.join(missing)}"
        if self.closed:
            unknown = [str(key) for key in value if key not in declared]
            if unknown:
                return f"{name} has unknown field(s) {', '.join(unknown)}"
        for key, item in value.items():
            rule = declared.get(key)
            if rule is not None and (problem := rule.problem(item, f"{name}.{key}")):
                return problem
        return None

    def parse(self, text: str) -> Any:
        """A CSV cell's value for this field (`true`/`false`, integers, numbers, JSON for arrays
        and objects, or the text)."""
        kind = self.kind
        if kind is str:
            return text
        cleaned = text.strip()
        if kind in (list, dict, object):
            try:
                return json.loads(cleaned, parse_constant=_refuse_constant)
            except (ValueError, RecursionError):
                what = {list: "a JSON array", dict: "a JSON object", object: "JSON"}[kind]
                raise ValueError(f"{self.name} must be {what}, not {text!r}") from None
        if kind is bool:
            lowered = cleaned.lower()
            if lowered in ("true", "1", "yes", "y"):
                return True
            if lowered in ("false", "0", "no", "n"):
                return False
            raise ValueError(f"{self.name} must be true or false, not {text!r}")
        if kind is int:
            # int() also reads "1_0", "١٠" and "１０": a cell is an integer only in ASCII digits
            if not _ASCII_INTEGER.fullmatch(cleaned):
                raise ValueError(f"{self.name} must be an integer, not {text!r}")
            return int(cleaned)
        if not _ASCII_NUMBER.fullmatch(cleaned):
            raise ValueError(f"{self.name} must be a number, not {text!r}")
        return float(cleaned)


@functools.cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    """The spec's `pattern`, compiled once; None when Python's `re` cannot read it (an ECMA-only
    construct such as `\\p{L}`): the service then judges the value alone."""
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _search(pattern: str, value: str) -> bool:
    compiled = _pattern(pattern)
    return compiled is None or compiled.search(value) is not None


_ASCII_INTEGER = re.compile(r"[+-]?[0-9]+")
_ASCII_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_KIND_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "an object",
}


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _rule(name: str, schema: Mapping[str, Any]) -> FieldRule:
    """The rule of one schema of the spec (references already inlined in `CUSTOMER_FIELDS`)."""
    if "allOf" in schema:  # OpenAPI 3.0's `allOf: [$ref]` beside `nullable`/`description`
        merged: dict[str, Any] = {}
        for member in [*schema["allOf"], schema]:  # its own "allOf" key is left in and ignored
            properties = {**merged.get("properties", {}), **member.get("properties", {})}
            required = [*merged.get("required", []), *member.get("required", [])]
            merged.update(member)
            if properties:
                merged["properties"] = properties
            if required:
                merged["required"] = required
        schema = merged
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])  # OpenAPI 3.1 lists
    nullable = bool(schema.get("nullable")) or "null" in types
    kind = next((_KINDS.get(t, object) for t in types if t != "null"), object)  # object: any JSON
    low, high = _FORMAT_BOUNDS.get(schema.get("format"), (None, None))
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    items = schema.get("items")
    enum = schema.get("enum")
    return FieldRule(
        name,
        kind,
        nullable=nullable,
        max_length=schema.get("maxLength"),
        minimum=max(x for x in (minimum, low) if x is not None) if (minimum, low) != (None, None) else None,
        maximum=min(x for x in (maximum, high) if x is not None) if (maximum, high) != (None, None) else None,
        enum=tuple(e for e in enum if e is not None) if enum is not None else None,
        pattern=schema.get("pattern"),
        min_items=schema.get("minItems"),
        max_items=schema.get("maxItems"),
        items=_rule(name, items) if is_mapping(items) else None,
        properties=tuple(_rule(key, sub) for key, sub in schema.get("properties", {}).items()),
        required=tuple(schema.get("required", ())),
        closed=schema.get("additionalProperties") is False,
        deprecated=bool(schema.get("deprecated")),
    )


FIELDS: dict[str, FieldRule] = {name: _rule(name, schema) for name, schema in CUSTOMER_FIELDS.items()}
"""The Customer's fields by their API names, in the spec's order."""
STRING_FIELDS = frozenset(name for name, rule in FIELDS.items() if rule.kind is str)
DEPRECATED_FIELDS = frozenset(name for name, rule in FIELDS.items() if rule.deprecated)


_PACKAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")  # this package's folder, with a slash


def warn_at_users_line(message: str, category: type[Warning]) -> None:
    """Warn naming the first line outside this package (the user's code), however deep in the SDK
    the warning is raised and whatever wraps the functions in between (no frame counting: the
    warning is issued at that frame, as `warnings.warn` does once it has found it)."""
    frame = inspect.currentframe()
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:  # called from within the package only (no user code on the stack)
        warnings.warn(message, category, stacklevel=2)
        return
    module_globals = frame.f_globals
    warnings.warn_explicit(
        message,
        category,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=module_globals.get("__name__"),
        registry=module_globals.setdefault("__warningregistry__", {}),
        module_globals=module_globals,
    )


def warn_deprecated(data: Mapping[str, Any]) -> None:
    """One DeprecationWarning naming the fields of `data` that the spec marks deprecated, at the
    user's line."""
    used = [name for name in data if name in DEPRECATED_FIELDS]
    if used:
        warn_at_users_line(
            f"Customer field(s) {', '.join(used)} are deprecated by the API", DeprecationWarning
        )


def customer_problems(data: Mapping[str, Any]) -> list[str]:
    """Everything in a customer (API names) that the spec refuses: unknown fields, types, lengths."""
    unknown = [str(k) for k in data if k not in FIELDS]
    problems = [f"unknown field(s) {', '.join(unknown)}{_did_you_mean(unknown)}"] if unknown else []
    problems.extend(p for k, v in data.items() if k in FIELDS and (p := FIELDS[k].problem(v)))
    return problems


def update_problems(data: Mapping[str, Any]) -> list[str]:
    """`customer_problems`, plus: an update must name its CustomerID."""
    problems = customer_problems(data)
    if data.get(ID_FIELD) is None and not any(p.startswith(ID_FIELD) for p in problems):
        problems.insert(0, f"missing {ID_FIELD}")
    return problems


def _did_you_mean(names: list[str]) -> str:
    by_lower = {n.lower(): n for n in FIELDS}
    hints: list[str] = []
    for name in names:
        match = difflib.get_close_matches(name.lower(), by_lower, n=1, cutoff=0.75)
        if match:
            hints.append(by_lower[match[0]] if len(names) == 1 else f"{by_lower[match[0]]} for {name}")
    return f" (did you mean {', '.join(hints)}?)" if hints else ""


# --- CSV cells that a spreadsheet would run as formulas ------------------------------------------
def neutralise(value: str) -> str:
    """`value` as a spreadsheet shows it as text: a cell starting a formula gets a leading `'`.

    Quotes already in front of a formula character get one more, so `restore` is exact.
    """
    if value and value.lstrip("'")[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


def restore(value: str) -> str:
    """The inverse of `neutralise` (a cell `'=1+1` reads `=1+1`; `'t Hooft` is left alone)."""
    if value.startswith("'") and value.lstrip("'")[:1] in FORMULA_TRIGGERS:
        return value[1:]
    return value


# --- import files --------------------------------------------------------------------------------
class ImportFormat(StrEnum):
    """The formats of an import file."""

    jsonl = "jsonl"
    csv = "csv"


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (found before any of it is sent)."""


class ImportEncodingError(ImportFileError):
    """The file's bytes are not text in the given encoding."""

    def __init__(self, message: str, *, offset: int, line: int) -> None:
        super().__init__(message)
        self.offset = offset
        self.line = line


@dataclass(frozen=True, slots=True)
class ImportRow:
    """A row that passed every check: the customer to send (API names)."""

    row: int
    """The row's number as the file shows it: the line of a JSONL file, the record of a CSV
    file (its header is row 1), as a spreadsheet numbers them."""
    customer: dict[str, Any]
    written_id: str


@dataclass(frozen=True, slots=True)
class RowFailure:
    """A row that was not imported, and why."""

    row: int
    customer_id: str
    """The CustomerID as the file wrote it ("" when there was none)."""
    message: str


def read_rows(
    chunks: Iterable[bytes],
    fmt: ImportFormat,
    *,
    name: str = "the file",
    encoding: str = "utf-8",
    raw_csv: bool = False,
    blanks: Blanks = "keep",
) -> Iterator[ImportRow | RowFailure]:
    """The rows of an import file, lazily, from its bytes (any chunking).

    Raises `ImportFileError` for what concerns the whole file: bytes that are not `encoding`
    (`ImportEncodingError`, with the byte offset), a CSV header with unknown or repeated
    columns or without CustomerID, a file without any row. CSV cells are typed by the
    schema (`customer_from_csv_row`): an empty cell is left out (the field stays unchanged), or
    with `blanks="clear"` clears a text field (and nulls a nullable one); unless `raw_csv`, a
    string cell that `neutralise` protected (`'=...`) is restored. A second row for a
    CustomerID already seen is a `RowFailure` (the first is sent, the later ones never: the
    order of two updates of one customer in a bulk request is not documented).
    """
    lines = _lines(chunks, encoding, name)
    rows = _csv_rows(lines, name, raw_csv, blanks) if fmt is ImportFormat.csv else _jsonl_rows(lines)
    any_row = False
    first_row: dict[int, int] = {}  # CustomerID -> the row that updates it
    for row in rows:
        any_row = True
        if isinstance(row, ImportRow):
            customer_id = row.customer[ID_FIELD]
            first = first_row.setdefault(customer_id, row.row)
            if first != row.row:
                message = f"{ID_FIELD} {customer_id} is also in row {first}"
                row = RowFailure(row.row, row.written_id, f"{message}: a file updates each customer once")
        yield row
    if not any_row:
        what = "has a header but no rows" if fmt is ImportFormat.csv else "holds no rows"
        raise ImportFileError(f"{name} {what}")


def _lines(chunks: Iterable[bytes], encoding: str, name: str) -> Iterator[str]:
    """Text lines with their ends, decoded incrementally; a UTF-8 BOM is dropped."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)("strict")
    except LookupError:
        raise ImportFileError(f"unknown encoding {encoding!r}") from None
    fed = lines_done = 0
    first = True
    pending = ""
    for chunk in itertools.chain((c for c in chunks if c), [b""]):
        state = decoder.getstate()
        buffered = len(state[0])
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            # the text before the bad bytes, read in the decoder's state before this chunk (for
            # "utf-16", the byte order its BOM set): exc.object is the buffered bytes plus the chunk
            again = codecs.getincrementaldecoder(encoding)("replace")
            again.setstate((b"", state[1]))
            before = again.decode(exc.object[: exc.start])
            line = lines_done + pending.count("\n") + before.count("\n") + 1
            offset = fed - buffered + exc.start
            bad = exc.object[exc.start : exc.end].hex(" ").upper() or "end of file"
            raise ImportEncodingError(
                f"{name} is not valid {encoding}: byte(s) {bad} at offset {offset} (line {line})",
                offset=offset,
                line=line,
            ) from None
        fed += len(chunk)
        if first and text:
            text, first = text.removeprefix("\ufeff"), False
        pending += text
        if "\n" in pending:
            *complete, pending = pending.split("\n")
            for line_text in complete:
                lines_done += 1
                yield line_text + "\n"
    if pending:
        yield pending


def _jsonl_rows(lines: Iterable[str]) -> Iterator[ImportRow | RowFailure]:
    for number, line in enumerate(lines, start=1):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            yield RowFailure(number, "", f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        except (ValueError, RecursionError) as exc:
            yield RowFailure(number, "", f"not valid JSON: {exc}")
            continue
        if not is_json_object(data):
            yield RowFailure(number, "", "not a JSON object (one customer per line)")
            continue
        written = data.get(ID_FIELD)
        written_id = "" if written is None else str(written)
        problems = update_problems(data)
        if problems:
            yield RowFailure(number, written_id, "; ".join(problems))
        else:
            yield ImportRow(number, data, written_id)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _typed(
    cells: Iterable[tuple[FieldRule, str]], *, blanks: Blanks, raw: bool
) -> tuple[dict[str, Any], list[str]]:
    """The values of CSV cells by their fields' rules, and what could not be read."""
    data: dict[str, Any] = {}
    problems: list[str] = []
    for rule, cell in cells:
        if cell == "":
            if blanks == "clear" and rule.kind is str:
                data[rule.name] = ""  # a blank clears a text field
            elif blanks == "clear" and rule.nullable:
                data[rule.name] = None
            continue  # else an empty cell leaves the field as it is
        if rule.kind is str and not raw:
            cell = restore(cell)
        try:
            data[rule.name] = rule.parse(cell)
        except ValueError as exc:
            problems.append(str(exc))
    return data, problems


def customer_from_csv_row(
    row: Mapping[str | None, str | list[str] | None], *, blanks: Blanks = "keep", raw_csv: bool = False
) -> dict[str, Any]:
    """One CSV row, as `csv.DictReader` gives it (API field names to cell text), as a customer
    with typed values, ready for `update_many` or `create`.

    Cells are read as the CLI's `import` reads them: by the field's type in the spec
    (integers, numbers, `true`/`false`, JSON for arrays and objects, text as it is); unless
    `raw_csv`, text that an export protected from spreadsheets (`'=1+1`) is restored. An empty
    cell leaves its field unchanged (`blanks="keep"`), or with `blanks="clear"` clears it: a
    text field becomes `""`, a nullable one `None` (numbers and booleans cannot be blank and
    stay unchanged). Raises `ValueError` naming every unknown column and every cell that
    cannot be read, and `TypeError` for a row that is not a mapping.
    """
    if not is_mapping(row):
        raise TypeError(f"a CSV row is a mapping of column names to cells, not a {type(row).__name__}")
    if blanks not in ("keep", "clear"):
        raise ValueError(f"blanks must be 'keep' or 'clear', not {blanks!r}")
    problems: list[str] = []
    if row.get(None):  # DictReader puts the cells beyond the header under None
        problems.append("the row has more cells than the header")
    names = [str(k) for k in row if k is not None]
    unknown = [n for n in names if n not in FIELDS]
    if unknown:
        problems.append(f"unknown column(s) {', '.join(unknown)}{_did_you_mean(unknown)}")
    cells: list[tuple[FieldRule, str]] = []
    for name in names:
        cell = row[name]
        if name not in FIELDS:
            continue
        if not isinstance(cell, str):
            problems.append(f"{name} has no cell (the row is shorter than the header)")
            continue
        cells.append((FIELDS[name], cell))
    data, cell_problems = _typed(cells, blanks=blanks, raw=raw_csv)
    problems.extend(cell_problems)
    if problems:
        raise ValueError("; ".join(problems))
    return data


def _csv_rows(lines: Iterable[str], name: str, raw: bool, blanks: Blanks) -> Iterator[ImportRow | RowFailure]:
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ImportFileError(f"{name}: the header row is not valid CSV ({exc})") from None
    if not header or not any(cell.strip() for cell in header):
        raise ImportFileError(f"{name} is empty: its first row must name the columns (CustomerID, ...)")
    columns = [cell.strip() for cell in header]
    _check_header(columns, name)
    rules = [FIELDS[c] for c in columns]
    id_at = columns.index(ID_FIELD)
    number = 1
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowFailure(number, "", f"not valid CSV: {exc}")
            continue
        if not cells:
            continue  # a blank line
        id_cell = cells[id_at].strip() if id_at < len(cells) else ""
        if len(cells) != len(columns):
            yield RowFailure(number, id_cell, f"has {len(cells)} cells; the header has {len(columns)}")
            continue
        data, problems = _typed(zip(rules, cells, strict=True), blanks=blanks, raw=raw)
        id_unreadable = any(p.startswith(ID_FIELD) for p in problems)
        missing = f"missing {ID_FIELD}"
        problems.extend(p for p in update_problems(data) if not (id_unreadable and p == missing))
        if problems:
            yield RowFailure(number, id_cell, "; ".join(dict.fromkeys(problems)))
        else:
            yield ImportRow(number, data, id_cell)


def _check_header(columns: list[str], name: str) -> None:
    unknown = [c or f"(unnamed column {i + 1})" for i, c in enumerate(columns) if c not in FIELDS]
    if unknown:
        raise ImportFileError(
            f"{name}: unknown column(s) {', '.join(unknown)}{_did_you_mean(unknown)}; "
            "columns are the API's field names (CustomerID, Email, BillingCity, ...)"
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ImportFileError(f"{name}: column(s) {', '.join(repeated)} appear more than once")
    if ID_FIELD not in columns:
        raise ImportFileError(f"{name} has no {ID_FIELD} column: each row must name the customer it updates")


class ImportTally:
    """Which file row each sent customer came from, and every failure by file row."""

    def __init__(self) -> None:
        self.rows_read = 0
        self._refused: list[RowFailure] = []
        self._sent_rows = array("q")  # position given to update_many -> file row
        self._sent_ids = array("q")  # position given to update_many -> CustomerID

    def sendable(self, rows: Iterable[ImportRow | RowFailure]) -> Iterator[dict[str, Any]]:
        """The customers to give `update_many`; failed rows are kept for the report."""
        for row in rows:
            self.rows_read += 1
            if isinstance(row, RowFailure):
                self._refused.append(row)
                continue
            self._sent_rows.append(row.row)
            self._sent_ids.append(row.customer[ID_FIELD])
            yield row.customer

    def failures(self, result: BulkResult) -> list[RowFailure]:
        """Every failed row, by file row: those refused here and those `result` reports."""
        failed = list(self._refused)
        for failure in result.failed:
            written = "" if failure.customer_id is None else str(failure.customer_id)
            failed.append(RowFailure(self._sent_rows[failure.index], written, failure.message))
        failed.sort(key=lambda f: f.row)
        return failed

    def stopped(
        self, result: BulkResult | None, rows: Iterable[ImportRow | RowFailure], reason: str
    ) -> list[RowFailure]:
        """Every row that was not applied when the run stopped for `reason`, by file row.

        `result` is what `update_many` finished (its exception's `partial_result`, or None);
        `rows` is the file read again. A failed row keeps its own reason; a row whose batch was
        in flight is "sent, outcome unknown"; a row never sent says so, with `reason`.
        """
        done = result if result is not None else BulkResult()
        failures = self.failures(done)
        accounted = {f.row for f in failures}
        updated = set(done.updated)
        in_flight = f"sent, but the run stopped before its answer ({reason}): check this customer"
        not_sent = f"not sent: the run stopped after {len(updated)} updates ({reason})"
        for position, number in enumerate(self._sent_rows):
            if number not in accounted and self._sent_ids[position] not in updated:
                failures.append(RowFailure(number, str(self._sent_ids[position]), in_flight))
        sent = set(self._sent_rows)
        for row in rows:  # the rows never sent: refused here (and already in `failures`), or not reached
            if row.row in accounted or row.row in sent:
                continue
            if isinstance(row, RowFailure):
                failures.append(row)
            else:
                failures.append(RowFailure(row.row, row.written_id, not_sent))
        failures.sort(key=lambda f: f.row)
        return failures

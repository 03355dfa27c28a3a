"""Keep the spec's closed request schemas in step with `Customer`, the one place a field is declared.

OpenAPI 3.0 cannot close a schema built with `allOf` (there is no `unevaluatedProperties`), yet
typed clients must refuse an unknown field in a request body while answers stay open. So the
request schemas list the properties themselves, with `additionalProperties: false`, and this
tool writes those lists: each derived schema's `properties:` block is the text of Customer's
(comments and formatting included), less the properties the table below leaves out. A field
is added, changed or deprecated in `Customer` only; `make generate` runs this tool first, and
`make check-generated` runs it with `--check`, which fails when a copy drifted.

    python tools/spec_derive.py openapi/customers.yaml            # rewrite the derived blocks
    python tools/spec_derive.py openapi/customers.yaml --check    # exit 1 if one differs
"""

from __future__ import annotations

import sys
from pathlib import Path

SOURCE = "Customer"
DERIVED: dict[str, frozenset[str]] = {
    # schema: the Customer properties it leaves out
    "CustomerCreate": frozenset({"CustomerID"}),  # the store assigns the id
    "CustomerUpdate": frozenset({"CustomerID"}),  # the path selects the record
    "CustomerUpdateItem": frozenset(),  # CustomerID selects the record
}
SCHEMA_INDENT = 4  # `    Customer:` under `components: schemas:`
PROPERTY_INDENT = SCHEMA_INDENT + 4
MARK = (
    f"{' ' * PROPERTY_INDENT}# Derived from {SOURCE} by tools/spec_derive.py (make generate): "
    f"edit {SOURCE}, not this."
)


class DeriveError(Exception):
    """The spec's layout is not the one this tool reads; the message says where."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" ")) if line.strip() else 1_000


def _schema_span(lines: list[str], name: str) -> tuple[int, int]:
    """[start, end) of the schema `name` under components/schemas (its header line first)."""
    header = f"{' ' * SCHEMA_INDENT}{name}:"
    try:
        start = next(i for i, line in enumerate(lines) if line.rstrip() == header)
    except StopIteration:
        raise DeriveError(f"components.schemas.{name} not found (as a line {header.strip()!r})") from None
    end = start + 1
    while end < len(lines) and _indent(lines[end]) > SCHEMA_INDENT:
        end += 1
    return start, end


def _properties_span(lines: list[str], name: str) -> tuple[int, int]:
    """[start, end) of the lines under `name`'s `properties:` key."""
    start, end = _schema_span(lines, name)
    key = f"{' ' * (SCHEMA_INDENT + 2)}properties:"
    try:
        first = next(i for i in range(start, end) if lines[i].rstrip() == key) + 1
    except StopIteration:
        raise DeriveError(f"components.schemas.{name} has no `properties:` block") from None
    last = first
    while last < end and _indent(lines[last]) > SCHEMA_INDENT + 2:
        last += 1
    while last > first and not lines[last - 1].strip():  # blank lines belong to what follows
        last -= 1
    return first, last


def _property_blocks(lines: list[str]) -> list[tuple[str, list[str]]]:
    """Customer's properties as (name, lines), comments above a property kept with it."""
    blocks: list[tuple[str, list[str]]] = []
    pending: list[str] = []
    for line in lines:
        if line.strip() == MARK.strip():
            continue
        indent = _indent(line)
        if indent == PROPERTY_INDENT and line.strip().startswith("#"):
            pending.append(line)
        elif indent == PROPERTY_INDENT:
            blocks.append((line.strip().split(":", 1)[0], [*pending, line]))
            pending = []
        elif blocks:
            blocks[-1][1].append(line)
        else:
            raise DeriveError(f"unexpected line in {SOURCE}.properties: {line.rstrip()!r}")
    return blocks


def derive(text: str) -> str:
    """The spec's text with every derived `properties:` block rewritten from Customer's."""
    lines = text.splitlines(keepends=True)
    source_start, source_end = _properties_span(lines, SOURCE)
    blocks = _property_blocks(lines[source_start:source_end])
    # rewrite from the bottom up so that earlier spans keep their positions
    spans = sorted(((name, *_properties_span(lines, name)) for name in DERIVED), key=lambda s: -s[1])
    for name, start, end in spans:
        body = [MARK + "\n"]
        for prop, block in blocks:
            if prop not in DERIVED[name]:
                body.extend(block)
        lines[start:end] = body
    return "".join(lines)


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2 or (len(argv) == 2 and argv[1] != "--check"):
        print("usage: python tools/spec_derive.py SPEC [--check]", file=sys.stderr)
        return 2
    path = Path(argv[0])
    text = path.read_text(encoding="utf-8")
    try:
        derived = derive(text)
    except DeriveError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 1
    if len(argv) == 2:
        if derived != text:
            names = ", ".join(DERIVED)
            print(
                f"error: {path}: the properties of {names} differ from {SOURCE}'s; "
                "run 'make generate' (tools/spec_derive.py) and commit",
                file=sys.stderr,
            )
            return 1
        return 0
    if derived != text:
        path.write_text(derived, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The breaking-change gate of the OpenAPI document (`make api-diff`, `make release-spec`).

`check`: lists every change of SPEC since the last released spec in RELEASED_DIR, found by the
pinned Redocly (`redocly diff --format json`) and graded here (Redocly's grades, except that a
deprecation is minor, as SemVer says), and fails when `info.version` did not get the bump the
changes need (major for a breaking change, minor for an additive one or a deprecation). Each
change is named by what it names: `query parameter zipcode added (GET /...)`, `Customer field
`Comments` deprecated`, one line per type change.

`release`: after a passing check, copies SPEC to RELEASED_DIR/customers-<info.version>.yaml and
prepends a CHANGELOG entry generated from the diff.

Usage: python tools/api_diff.py check|release SPEC RELEASED_DIR [CHANGELOG]
The pinned Redocly is found in tools/spec/node_modules (`make node` installs it), or in $REDOCLY.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
REDOCLY = Path(os.environ.get("REDOCLY", ROOT / "tools" / "spec" / "node_modules" / ".bin" / "redocly"))
RELEASED_NAME = re.compile(r"^customers-([0-9]+)\.([0-9]+)\.([0-9]+)\.yaml$")
IMPACT_ORDER = {"major": 0, "minor": 1, "patch": 2}


def info_version(spec: Path) -> str:
    return str(yaml.safe_load(spec.read_text(encoding="utf-8"))["info"]["version"])


def released_specs(released_dir: Path) -> list[Path]:
    """The released specs, oldest version first."""
    found = [
        (tuple(int(g) for g in m.groups()), p)
        for p in released_dir.glob("customers-*.yaml")
        if (m := RELEASED_NAME.match(p.name))
    ]
    return [p for _, p in sorted(found)]


def _redocly(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "NO_UPDATE_NOTIFIER": "1"}
    return subprocess.run([str(REDOCLY), "diff", *args], capture_output=True, text=True, env=env, check=False)


def _without_banner(text: str) -> str:
    """Redocly's output without its Node end-of-life box."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("║", "╔", "╚")))


def diff_report(base: Path, spec: Path) -> dict[str, Any]:
    result = _redocly(str(base), str(spec), "--format", "json", "--fail-on", "none")
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        sys.exit(
            f"error: redocly diff gave no JSON report:\n{_without_banner(result.stdout + result.stderr)}"
        )
    return report


# --- naming and grading the changes ---------------------------------------------------------
# Redocly's report locates a change by a JSON pointer into the first operation that uses it
# (`#/paths/~1.../get/parameters/9`) and grades it by its own rules. The gate regrades it
# (a deprecation is minor under SemVer: it announces a removal; Redocly calls it a patch), names
# it by what a reader knows (`query parameter zipcode added`, `Customer field Comments deprecated`),
# folds a type change and the constraints that go with it into one line graded once, and groups
# the same change made in several operations into one line that lists them.

METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
# Keywords that only make sense with a schema's type: changed together with it, they are the type change.
TYPE_BOUND = frozenset(
    {
        "format",
        "maxLength",
        "minLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
        "uniqueItems",
    }
)


# Keywords whose values are prose or samples: named, not quoted.
PROSE = frozenset({"description", "summary", "example", "examples", "title"})


@dataclass
class Graded:
    """One change, named and graded: `impact` (major, minor, patch), `text`, and the operations it is in."""

    impact: str
    text: str
    where: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"{self.text} ({', '.join(self.where)})" if self.where else self.text


@dataclass
class Comparison:
    base: Path
    spec: Path
    base_version: str
    version: str
    changes: list[Graded]

    @property
    def bump(self) -> str | None:
        """The bump the changes need (major, minor, patch), None without a change."""
        return min((c.impact for c in self.changes), key=_rank, default=None)

    def summary(self) -> dict[str, int]:
        return {impact: sum(c.impact == impact for c in self.changes) for impact in IMPACT_ORDER}


def _rank(impact: str) -> int:
    return IMPACT_ORDER.get(impact, len(IMPACT_ORDER))


def _parts(pointer: str) -> list[str]:
    """The unescaped segments of a JSON pointer (`#/paths/~1a~1b/get` -> paths, /a/b, get)."""
    text = pointer[1:] if pointer.startswith("#") else pointer
    return [s.replace("~1", "/").replace("~0", "~") for s in text.split("/") if s != ""]


def _resolve(doc: Any, node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 32:
        node = _walk(doc, _parts(node["$ref"]), follow=False)
        seen += 1
    return node


def _walk(doc: Any, parts: list[str], *, follow: bool = True) -> Any:
    """The node at `parts` in `doc`, following local `$ref`s on the way; None when absent."""
    node = doc
    for part in parts:
        if follow:
            node = _resolve(doc, node)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return _resolve(doc, node) if follow else node


def _field_chain(parts: list[str]) -> tuple[str, list[str]]:
    """`properties/A/items/properties/B/type` -> (`A[].B`, [type]): the field, and the parts after it."""
    chain = ""
    i = 0
    while i < len(parts):
        part = parts[i]
        if part == "properties" and i + 1 < len(parts):
            chain += ("." if chain else "") + parts[i + 1]
            i += 2
        elif part in ("items", "additionalProperties"):
            chain += "[]" if part == "items" else "{}"
            i += 1
        elif part in ("allOf", "oneOf", "anyOf") and i + 1 < len(parts):
            i += 2
        else:
            break
    return chain, parts[i:]


def _inside(subject: str, change: dict[str, Any], leftover: list[str]) -> str:
    """`subject`, or the part of it a change is in (`x-threedcart-filter` of query parameter email).

    The parts that only repeat the changed keyword (a modified pointer ends with it) or lead to a
    parameter's schema (a type change of a parameter is the parameter's) are not named."""
    if leftover and leftover[-1] == change.get("property"):
        leftover = leftover[:-1]
    if leftover[:1] == ["schema"]:
        leftover = leftover[1:]
    return f"`{'/'.join(leftover)}` of {subject}" if leftover else subject


def _value(side: dict[str, Any] | None) -> Any:
    return (side or {}).get("value")


def _show(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


class _Namer:
    """Names the subject of a change from both documents (a parameter's name, a field's path)."""

    def __init__(self, base_doc: Any, rev_doc: Any) -> None:
        self.docs = {"base": base_doc, "revision": rev_doc}

    def _doc_order(self, change: dict[str, Any]) -> list[Any]:
        removed = change.get("kind") == "removed"
        first, second = ("base", "revision") if removed else ("revision", "base")
        return [self.docs[first], self.docs[second]]

    def parameter(self, change: dict[str, Any], parts: list[str]) -> str | None:
        """`query parameter zipcode` when the change is in a parameter (found in the documents)."""
        for i in range(len(parts) - 1, 0, -1):
            if parts[i - 1] == "parameters" and (parts[i].isdigit() or parts[:1] == ["components"]):
                found = [_walk(doc, parts[: i + 1]) for doc in self._doc_order(change)]
                if len(parts) == i + 1:  # a side's value carries the parameter itself
                    found += [_value(change.get(key)) for key in ("revision", "base")]
                for param in found:
                    if isinstance(param, dict) and "name" in param:
                        name = f"{param.get('in', '')} parameter {param['name']}".strip()
                        return _inside(name, change, parts[i + 1 :])
        return None

    def component_users(self, change: dict[str, Any]) -> list[str] | None:
        """The operations using the component parameter a change is in (Redocly names only the first)."""
        for side in ("revision", "base"):
            parts = _parts((change.get(side) or {}).get("pointer", ""))
            if parts[:2] == ["components", "parameters"] and len(parts) > 2:
                ref = "#/components/parameters/" + parts[2].replace("~", "~0").replace("/", "~1")
                doc = self.docs["base" if change.get("kind") == "removed" else "revision"]
                return [op for op, params in _operations(doc) if {"$ref": ref} in params]
        return None

    def schema(self, change: dict[str, Any], side: str) -> str | None:
        """`Customer field X.Y[].Z` from a side's pointer into components/schemas."""
        pointer = (change.get(side) or {}).get("pointer", "")
        parts = _parts(pointer)
        if parts[:2] != ["components", "schemas"] or len(parts) < 3:
            return None
        rest = parts[3:]
        if rest and rest[-1] == change.get("property") and rest[-2:-1] != ["properties"]:
            rest = rest[:-1]  # a modified pointer ends with the keyword changed
        chain, leftover = _field_chain(rest)
        return _inside(f"{parts[2]} field `{chain}`" if chain else f"schema `{parts[2]}`", change, leftover)


def _operations(doc: Any) -> list[tuple[str, list[Any]]]:
    """("GET /path", its parameters and its path's) for every operation of a document."""
    found: list[tuple[str, list[Any]]] = []
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method, op in item.items():
            if method in METHODS and isinstance(op, dict):
                found.append(
                    (f"{method.upper()} {path}", [*item.get("parameters", []), *op.get("parameters", [])])
                )
    return found


def _subject(change: dict[str, Any], namer: _Namer) -> tuple[str, list[str]]:
    """(what changed, the operations it is in; none for a component schema) for one change."""
    parts = _parts(change.get("path", ""))
    where: list[str] = []
    rest = parts
    if parts[:1] == ["paths"] and len(parts) > 1:
        path = parts[1]
        rest = parts[2:]
        if rest and rest[0] in METHODS:
            where = [f"{rest[0].upper()} {path}"]
            rest = rest[1:]
        if change.get("typeName") == "PathItem" and not rest:
            return f"path `{path}`", []
        if change.get("typeName") == "Operation" and not rest and where:
            return f"operation {where[0]}", []
    elif parts[:1] == ["components"]:
        where = ["components"]
    param = namer.parameter(change, parts)
    if param:
        users = namer.component_users(change) if parts[:1] == ["paths"] else None
        return param, where if users is None else users
    side = "base" if change.get("kind") == "removed" else "revision"
    named = namer.schema(change, side) or namer.schema(change, "base" if side == "revision" else "revision")
    if named:
        return named, []  # a component schema: the change holds wherever it is used
    chain, leftover = _field_chain(rest[rest.index("properties") :]) if "properties" in rest else ("", [])
    if chain:
        return _inside(f"field `{chain}`", change, leftover), where
    return f"`{'/'.join(rest) or change.get('path', '')}`", where


def _renamed(change: dict[str, Any], namer: _Namer) -> tuple[str, list[str]]:
    """A rename: named by its old name (from the base), with the new one."""
    old = _parts((change.get("base") or {}).get("pointer", ""))
    new = _parts((change.get("revision") or {}).get("pointer", "") or change.get("path", ""))
    new_name = new[-1] if new else "?"
    if change.get("typeName") == "PathItem" and len(old) == 2 and old[0] == "paths":
        return f"path `{old[1]}` renamed to `{new_name}`", []
    subject = namer.schema(change, "base")
    if subject:
        return f"{subject} renamed to `{new_name}`", []
    _, where = _subject(change, namer)
    return f"`{old[-1] if old else '?'}` renamed to `{new_name}`", where


def _verdicts(change: dict[str, Any]) -> list[str]:
    """The verdicts' messages; a type reported both narrowed and widened from A to B is changed once."""
    messages = list(dict.fromkeys(v["message"] for v in change.get("verdicts", []) if v.get("message")))
    both = re.compile(r"^(.*)\b(narrowed|widened) (from .*)$")
    kept: list[str] = []
    for message in messages:
        m = both.match(message)
        if m:
            other = f"{m[1]}{'widened' if m[2] == 'narrowed' else 'narrowed'} {m[3]}"
            if other in messages:
                merged = f"{m[1]}changed {m[3]}"
                if merged not in kept:
                    kept.append(merged)
                continue
        kept.append(message)
    return kept


def _type_detail(change: dict[str, Any], folded: list[dict[str, Any]]) -> str:
    def typed(side: str) -> str:
        value = _value(change.get(side))
        text = "none" if value is None else _show(value)
        extras = [f"{c['property']} {_value(c.get(side))}" for c in folded if _value(c.get(side)) is not None]
        return f"{text} ({', '.join(extras)})" if extras else text

    return f"type changed from {typed('base')} to {typed('revision')}"


def grade(report: dict[str, Any], base_doc: Any, rev_doc: Any) -> list[Graded]:
    """Redocly's changes, named, regraded and grouped; the most severe first."""
    raw = [
        c
        for c in report.get("changes", [])
        if not (c.get("path") == "#/info" and c.get("property") == "version")
    ]
    type_changed = {c.get("path") for c in raw if c.get("kind") == "modified" and c.get("property") == "type"}
    folded: dict[str, list[dict[str, Any]]] = {}
    kept: list[dict[str, Any]] = []
    for c in raw:
        if c.get("kind") == "modified" and c.get("path") in type_changed and c.get("property") in TYPE_BOUND:
            folded.setdefault(c["path"], []).append(c)
        else:
            kept.append(c)
    namer = _Namer(base_doc, rev_doc)
    grouped: dict[tuple[str, str], Graded] = {}
    for c in kept:
        impact = str(c.get("impact", "patch"))
        kind = c.get("kind")
        prop = c.get("property")
        if kind == "modified" and prop == "key":
            text, where = _renamed(c, namer)
        else:
            subject, where = _subject(c, namer)
            if kind in ("added", "removed"):
                text = f"{subject} {kind}"
                if impact == "major" and kind == "added" and _verdicts(c):
                    text += f": {' '.join(_verdicts(c))}"
            elif prop == "deprecated":
                if _value(c.get("revision")) is True:
                    text = f"{subject} deprecated"
                    impact = min(impact, "minor", key=_rank)  # SemVer: a deprecation is minor
                else:
                    text = f"{subject} no longer deprecated"
            elif prop == "type":
                extra = folded.get(c["path"], [])
                impact = min([impact, *(str(f.get("impact", "patch")) for f in extra)], key=_rank)
                text = f"{subject}: {_type_detail(c, extra)}"
            else:
                before, after = _value(c.get("base")), _value(c.get("revision"))
                if _verdicts(c):
                    detail = " ".join(_verdicts(c))
                elif prop in PROSE:
                    detail = f"`{prop}` {'changed' if kind == 'modified' else kind}"
                elif before is not None and after is not None and not isinstance(before, dict | list):
                    detail = f"`{prop}` changed from {_show(before)} to {_show(after)}"
                elif before is not None and not isinstance(before, dict | list):
                    detail = f"`{prop}` {_show(before)} removed"
                elif after is not None and not isinstance(after, dict | list):
                    detail = f"`{prop}` {_show(after)} added"
                else:
                    detail = f"`{prop}` {kind}" if prop else str(kind)
                text = f"{subject}: {detail}"
        graded = grouped.setdefault((impact, text), Graded(impact, text))
        graded.where += [w for w in where if w not in graded.where]
    return sorted(grouped.values(), key=lambda g: _rank(g.impact))


def _semver(version: str) -> tuple[int, int, int] | None:
    m = re.fullmatch(r"([0-9]+)\.([0-9]+)\.([0-9]+)", version)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def required_version(base_version: str, bump: str | None) -> str:
    """The smallest version after `base_version` that the bump allows."""
    v = _semver(base_version)
    if v is None or bump is None:
        return base_version
    major, minor, patch = v
    return {
        "major": f"{major + 1}.0.0",
        "minor": f"{major}.{minor + 1}.0",
        "patch": f"{major}.{minor}.{patch + 1}",
    }[bump]


def bump_covers(base_version: str, version: str, bump: str | None) -> bool:
    """Whether going from `base_version` to `version` is the bump the changes need (or more)."""
    old, new = _semver(base_version), _semver(version)
    if old is None or new is None:
        return False
    if new < old:
        return False
    if bump == "major":
        return new[0] > old[0]
    if bump == "minor":
        return new[:2] > old[:2]
    if bump == "patch":
        return new > old
    return True


def compare(base: Path, spec: Path) -> Comparison:
    """Every change of `spec` since `base`, named and graded."""
    report = diff_report(base, spec)
    base_doc = yaml.safe_load(base.read_text(encoding="utf-8"))
    rev_doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
    return Comparison(
        base=base,
        spec=spec,
        base_version=str(base_doc["info"]["version"]),
        version=str(rev_doc["info"]["version"]),
        changes=grade(report, base_doc, rev_doc),
    )


def describe(change: Graded) -> str:
    """One line for a graded change: what changed, and where when it is in operations."""
    return change.line()


def check(spec: Path, released_dir: Path) -> int:
    releases = released_specs(released_dir)
    if not releases:
        print(f"error: no released spec in {released_dir} (make release-spec records one)", file=sys.stderr)
        return 1
    base = releases[-1]
    result = compare(base, spec)
    needed = result.bump
    if result.changes:
        counts = result.summary()
        print(
            f"api-diff: {len(result.changes)} change(s) since {base.name}: "
            + ", ".join(f"{counts[i]} {i}" for i in IMPACT_ORDER)
        )
        for change in result.changes:
            print(f"  {change.impact}: {describe(change)}")
    if bump_covers(result.base_version, result.version, needed):
        print(
            f"api-diff: {spec} {result.version} is compatible with released {base.name} "
            "(the version bump covers every change)"
        )
        return 0
    if needed is None or _semver(result.version) is None:
        print(
            f"error: {spec}: info.version {result.version!r} is not a MAJOR.MINOR.PATCH version at or above "
            f"the released {result.base_version}",
            file=sys.stderr,
        )
        return 1
    print(
        f"error: {spec} changed the API since {base.name}: these changes need a {needed} version bump "
        f"({required_version(result.base_version, needed)}), but info.version is {result.version} "
        f"(released: {result.base_version}):",
        file=sys.stderr,
    )
    for change in result.changes:
        if change.impact == needed:
            print(f"  - {needed}: {describe(change)}", file=sys.stderr)
    print(
        "Bump info.version in the spec (major: a breaking change, minor: an additive one or a deprecation), "
        "or undo the change; then `make generate` and `make release-spec` when it ships.",
        file=sys.stderr,
    )
    return 1


def changelog_entry(result: Comparison) -> str:
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    summary = result.summary()
    lines = [
        f"## {result.version} ({today})",
        "",
        f"Compared with {result.base_version} by `redocly diff` (graded by tools/api_diff.py): "
        f"{summary['major']} major, {summary['minor']} minor, {summary['patch']} patch; "
        f"requires a {result.bump or 'patch'} bump.",
        "",
    ]
    lines += [f"- **{c.impact}**: {describe(c)}" for c in result.changes] or [
        "- No change to the API's shape."
    ]
    return "\n".join(lines) + "\n"


def release(spec: Path, released_dir: Path, changelog: Path) -> int:
    version = info_version(spec)
    if not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", version):
        print(f"error: info.version {version!r} is not MAJOR.MINOR.PATCH", file=sys.stderr)
        return 1
    target = released_dir / f"customers-{version}.yaml"
    if target.exists():
        if target.read_bytes() == spec.read_bytes():
            print(f"release-spec: {version} is already released as {target}")
            return 0
        print(f"error: {target} exists and differs from {spec}: bump info.version first", file=sys.stderr)
        return 1
    releases = released_specs(released_dir)
    released_dir.mkdir(parents=True, exist_ok=True)
    header = "# Changelog of the Customers API contract (`openapi/customers.yaml`)\n\n"
    if releases:
        if check(spec, released_dir) != 0:
            return 1
        entry = changelog_entry(compare(releases[-1], spec))
    else:
        today = datetime.datetime.now(datetime.UTC).date().isoformat()
        entry = f"## {version} ({today})\n\n- First released spec.\n"
    shutil.copyfile(spec, target)
    old = changelog.read_text(encoding="utf-8") if changelog.exists() else header
    body = old[len(header) :] if old.startswith(header) else old
    changelog.write_text(header + entry + ("\n" + body if body.strip() else ""), encoding="utf-8")
    print(f"release-spec: recorded {target} and prepended {version} to {changelog}")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("check", "release"):
        print(__doc__, file=sys.stderr)
        return 2
    spec, released_dir = Path(argv[1]), Path(argv[2])
    if argv[0] == "check":
        return check(spec, released_dir)
    return release(spec, released_dir, Path(argv[3]) if len(argv) > 3 else ROOT / "CHANGELOG.md")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

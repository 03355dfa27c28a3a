"""The breaking-change gate of the OpenAPI document (`make api-diff`, `make release-spec`).

`check`: grades every change of SPEC since the last released spec in RELEASED_DIR with the
pinned Redocly (`redocly diff --check-version`) and fails when `info.version` did not get the
bump the changes need (major for a breaking change, minor for an additive one).

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


def describe(change: dict[str, Any]) -> str:
    """One line for a change: its verdicts' messages, else its kind and where it is."""
    messages = [v["message"] for v in change.get("verdicts", []) if v.get("message")]
    if messages:
        return " ".join(dict.fromkeys(messages))
    side = change.get("revision") or change.get("base") or {}
    where = side.get("pointer") or change["path"]
    prop = f" `{change['property']}`" if change.get("property") else ""
    return f"{change['kind']}{prop} at `{where}`"


def check(spec: Path, released_dir: Path) -> int:
    releases = released_specs(released_dir)
    if not releases:
        print(f"error: no released spec in {released_dir} (make release-spec records one)", file=sys.stderr)
        return 1
    base = releases[-1]
    result = _redocly(str(base), str(spec), "--check-version", "--fail-on", "none")
    if result.returncode == 0:
        print(
            f"api-diff: {spec} {info_version(spec)} is compatible with released {base.name} "
            "(the version bump covers every change)"
        )
        return 0
    report = diff_report(base, spec)
    print(_without_banner(result.stdout + result.stderr), file=sys.stderr)
    needed = report.get("bump", "?")
    breaking = [describe(c) for c in report.get("changes", []) if c.get("impact") == needed]
    print(
        f"error: {spec} changed the API since {base.name}: these changes need a {needed} version bump, "
        f"but info.version is {info_version(spec)} (released: {info_version(base)}):",
        file=sys.stderr,
    )
    for line in dict.fromkeys(breaking):
        print(f"  - {needed}: {line}", file=sys.stderr)
    print(
        "Bump info.version in the spec (major: a breaking change, minor: an additive one), "
        "or undo the change; then `make generate` and `make release-spec` when it ships.",
        file=sys.stderr,
    )
    return 1


def changelog_entry(report: dict[str, Any], version: str, base_version: str) -> str:
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    summary = report.get("summary", {})
    lines = [
        f"## {version} ({today})",
        "",
        f"Compared with {base_version} by `redocly diff`: {summary.get('major', 0)} major, "
        f"{summary.get('minor', 0)} minor, {summary.get('patch', 0)} patch; "
        f"requires a {report.get('bump', 'patch')} bump.",
        "",
    ]
    changes = sorted(
        (
            c
            for c in report.get("changes", [])
            if not (c.get("path") == "#/info" and c.get("property") == "version")
        ),
        key=lambda c: IMPACT_ORDER.get(c.get("impact", "patch"), 3),
    )
    entries = dict.fromkeys(f"- **{c.get('impact', 'patch')}**: {describe(c)}" for c in changes)
    lines += list(entries) or ["- No change to the API's shape."]
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
        entry = changelog_entry(diff_report(releases[-1], spec), version, info_version(releases[-1]))
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

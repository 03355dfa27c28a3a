"""The version policy of the `threedcart` distribution, checked and applied (standard library only).

The policy (README, "Versions"): the API contract's version is `info.version` of
openapi/customers.yaml, which `make generate` gives the generated client
(generated/pyproject.toml). The `threedcart` distribution has its own version, whose MAJOR is
always the contract's MAJOR: a breaking change of the API is a breaking release of the SDK.
Its MINOR and PATCH move with the SDK's own changes (a minor API change needs at least a minor
SDK release, which `make release-spec` does not force: the SDK may have more to say). The SDK
requires `threedcart-customers-client>=MAJOR.0,<MAJOR+1`.

    python tools/versions.py check [ROOT]   # exit 1 with what to edit when the three disagree
    python tools/versions.py bump [ROOT]    # after a major bump of the spec: edit pyproject.toml

`make venv` runs `check` before installing (so a major bump fails naming the line to edit,
not with a resolver error); `make versions-bump` and `make release-spec` run `bump`.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

CLIENT = "threedcart-customers-client"
_RANGE = re.compile(rf'"{re.escape(CLIENT)}\s*>=\s*(\d+)(?:\.\d+)*\s*,\s*<\s*(\d+)(?:\.\d+)*"')
_VERSION_LINE = re.compile(r'^version\s*=\s*"([^"]+)"', re.MULTILINE)


def _major(version: str) -> int:
    match = re.match(r"(\d+)\.", version)
    if match is None:
        raise ValueError(f"{version!r} is not a MAJOR.MINOR.PATCH version")
    return int(match.group(1))


def problems(root: Path) -> list[str]:
    """What disagrees with the policy, each with the edit that fixes it."""
    api = tomllib.loads((root / "generated" / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    sdk = tomllib.loads(text)["project"]["version"]
    major = _major(api)
    found: list[str] = []
    if _major(sdk) != major:
        found.append(
            f'pyproject.toml: version = "{sdk}" must have the API contract\'s major version {major} '
            f'(openapi/customers.yaml info.version {api}): set it to "{major}.0.0" '
            "(make versions-bump does it)"
        )
    ranges = _RANGE.findall(text)
    if len(ranges) != 1:
        found.append(f'pyproject.toml: declare the generated client as "{CLIENT}>={major}.0,<{major + 1}"')
    elif not int(ranges[0][0]) <= major < int(ranges[0][1]):
        found.append(
            f"pyproject.toml: the dependency {CLIENT}>={ranges[0][0]}...,<{ranges[0][1]} does not admit "
            f'the generated client {api}: edit it to "{CLIENT}>={major}.0,<{major + 1}" '
            "(make versions-bump does it)"
        )
    return found


def bump(root: Path) -> list[str]:
    """Make pyproject.toml follow a new API major version; the edits made."""
    api = tomllib.loads((root / "generated" / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]
    major = _major(api)
    path = root / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    edits = []
    sdk = tomllib.loads(text)["project"]["version"]
    if _major(sdk) != major:
        text = _VERSION_LINE.sub(f'version = "{major}.0.0"', text, count=1)
        edits.append(f"threedcart {sdk} -> {major}.0.0")
    new_range = f'"{CLIENT}>={major}.0,<{major + 1}"'
    if _RANGE.search(text) and _RANGE.search(text).group(0) != new_range:  # type: ignore[union-attr]
        text = _RANGE.sub(new_range, text, count=1)
        edits.append(f"requires {new_range.strip(chr(34))}")
    path.write_text(text, encoding="utf-8")
    return edits


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("check", "bump"):
        print("usage: python tools/versions.py check|bump [ROOT]", file=sys.stderr)
        return 2
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    if argv[0] == "bump":
        for edit in bump(root):
            print(f"versions: {edit} (pyproject.toml)")
    found = problems(root)
    for problem in found:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

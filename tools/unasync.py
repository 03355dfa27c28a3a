"""Writes the sync shell of `store.customers` from its async source, as httpcore does.

Each `overlay/threedcart/*_async.py` is a source; the same name without `_async` is written from
it by the whole-word substitutions below (docstrings and comments included), then formatted with
ruff. `--check` fails when a written file differs from what the source gives (make
check-generated runs it), so the two shells cannot drift apart.

    python tools/unasync.py [--check]
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "overlay" / "threedcart"

# (pattern, replacement), applied in order to every line
SUBSTITUTIONS: list[tuple[str, str]] = [
    (r"\basync def\b", "def"),
    (r"\basync for\b", "for"),
    (r"\basync with\b", "with"),
    (r"\bawait ", ""),
    (r"`async for`", "`for`"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncIterable\b", "Iterable"),
    (r"__aiter__", "__iter__"),
    (r"__anext__", "__next__"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\baclose\b", "close"),
    (r"\basyncio_detailed\b", "sync_detailed"),
    (r"\bAsyncStore\b", "Store"),
    (r"\bAsyncCustomers\b", "Customers"),
    (r"\bAsyncRawCustomers\b", "RawCustomers"),
    (r"\bAsyncSyncRun\b", "SyncRun"),
    (r"\bAsyncFetches\b", "Fetches"),
    (r"\bAsyncFetch\b", "Fetch"),
    (r"\bAsyncPage\b", "Page"),
    (r"tasks of the running loop, or threads for a `Store`", "threads, or tasks for an `AsyncStore`"),
]
_COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in SUBSTITUTIONS]


def _header(source: Path) -> str:
    return f"# Generated from {source.name} by tools/unasync.py: edit that file, not this one.\n"


def unasync(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        for pattern, replacement in _COMPILED:
            line = pattern.sub(replacement, line)
        lines.append(line)
    return "".join(lines)


def _ruff(args: list[str], text: str, path: Path) -> str:
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run(
        [str(ruff), *args, "--quiet", "--stdin-filename", str(path), "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode not in (0, 1):  # 1: findings left, which `make lint` reports on the file
        raise SystemExit(f"error: ruff failed on {path}: {done.stderr.strip()}")
    return done.stdout


def _formatted(text: str, path: Path) -> str:
    """Imports sorted again (the names changed) and formatted, as the project's ruff config says."""
    return _ruff(["format"], _ruff(["check", "--fix", "--select", "I"], text, path), path)


def written() -> dict[Path, str]:
    """Every sync file, as its async source gives it."""
    out: dict[Path, str] = {}
    for source in sorted(PACKAGE.glob("*_async.py")):
        target = source.with_name(source.name.removesuffix("_async.py") + ".py")
        out[target] = _formatted(_header(source) + unasync(source.read_text(encoding="utf-8")), target)
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale: list[str] = []
    expected = written()
    for target, text in expected.items():
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        if check:
            stale.append(target.relative_to(ROOT).as_posix())
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT).as_posix()}")
    if stale:
        print(
            f"error: the sync shell differs from its async source: {', '.join(stale)}; run 'make generate'",
            file=sys.stderr,
        )
        return 1
    if check:
        print("the sync shells match their async sources: " + ", ".join(p.name for p in expected))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`make mutation`: mutation testing of the SDK's core modules with mutmut, and tests/MUTATION.md.

    python tools/mutation.py run [--max-children N] [MODULE ...]   # stage, run mutmut, write the report
    python tools/mutation.py rerun [MODULE ...]   # after changing tests: re-test the last run's survivors
    python tools/mutation.py report                                 # rewrite the report from the last run

mutmut mutates a copy of the code and runs the tests that cover each mutated function. It expects
the package under `src/`, so the run happens in a staging folder, `build/mutation/`, holding
`src/threedcart` (a copy of `overlay/threedcart`) beside a copy of the generated client, the fast
SDK test files below, and the spec
(which the tests read shape facts from). Nothing in the working tree is changed.

Equivalent mutants (a change that cannot alter behaviour) are listed with their reason in
`tests/mutation-equivalents/<module>.toml`; they are shown in the report and not counted against the score.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = Path(os.environ.get("MUTATION_STAGE") or ROOT / "build" / "mutation")  # where the run happens
REPORT = ROOT / "tests" / "MUTATION.md"
EQUIVALENTS = ROOT / "tests" / "mutation-equivalents"  # one TOML file per module: {name = {reason = "..."}}
TARGET = 90.0

# The SDK's core: the I/O-free cores (paging, sync windows, import rows, bulk batches), request
# parameters, the throttle, the transport, the errors, and the resource classes.
MODULES = (
    "_pagination",
    "_sync",
    "_rows",
    "_bulk",
    "_params",
    "_throttle",
    "_transport",
    "errors",
    "_resources",
)
# Fast SDK tests: scripted answers, injected clocks, a mock on loopback at most. The long
# end-to-end suites (chaos, hostile server, reliability) run in `make test`, not per mutant.
TESTS = (
    "conftest.py",
    "test_sdk_units.py",
    "test_sdk_bodiless.py",
    "test_sdk_secrets.py",
    "test_sdk_async.py",
    "test_sdk_sync_runs.py",
    "test_pagination.py",
    "test_sync_core.py",
    "test_import_core.py",
    "test_transport_behaviour.py",
    "test_resources_behaviour.py",
    "test_cores_behaviour.py",
    "test_params_and_errors.py",
)

STATUS = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    37: "caught by type check",
    None: "not checked",
}


def _stage(modules: tuple[str, ...]) -> None:
    if STAGE.exists():
        shutil.rmtree(STAGE)
    (STAGE / "src").mkdir(parents=True)
    shutil.copytree(
        ROOT / "overlay" / "threedcart",
        STAGE / "src" / "threedcart",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # the generated client too, so that the run sees one consistent copy of the code
    shutil.copytree(
        ROOT / "generated" / "threedcart_customers_client",
        STAGE / "src" / "threedcart_customers_client",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    if os.environ.get("MUTATION_GENERATED_REF"):  # e.g. HEAD, while generated/ is being rewritten
        ref = os.environ["MUTATION_GENERATED_REF"]
        shutil.rmtree(STAGE / "src" / "threedcart_customers_client")
        archive = subprocess.run(
            ["git", "archive", ref, "generated/threedcart_customers_client"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(
            ["tar", "-x", "--strip-components=1", "-C", str(STAGE / "src")], input=archive, check=True
        )
    (STAGE / "openapi").mkdir()
    shutil.copy(ROOT / "openapi" / "customers.yaml", STAGE / "openapi" / "customers.yaml")
    (STAGE / "tests").mkdir()
    _copy_tests()
    only = ", ".join(f'"src/threedcart/{m}.py"' for m in modules)
    (STAGE / "pyproject.toml").write_text(
        "[tool.mutmut]\n"
        'source_paths = ["src/"]\n'
        f"only_mutate = [{only}]\n"
        'also_copy = ["openapi/"]\n'
        'pytest_add_cli_args_test_selection = ["tests/"]\n'
        'pytest_add_cli_args = ["-p", "no:cacheprovider"]\n'
        # CPU-time limit per mutant: (the covering tests' time + 3 s) x 5 x 2; a mutant that loops
        # forever is a timeout (a kill) after that instead of minutes
        "timeout_multiplier = 5.0\n"
        "timeout_constant = 3.0\n"
        "use_git_change_detection = false\n"
        "[tool.pytest.ini_options]\n"
        'testpaths = ["tests"]\n'
        # a mutant that makes a test wait forever (a sleep, a lost wake-up) spends no CPU time,
        # so mutmut's CPU limit never fires: pytest-timeout fails that test instead (a kill)
        "timeout = 60\n"
    )


def _copy_tests() -> None:
    for name in TESTS:
        if (ROOT / "tests" / name).exists():
            shutil.copy(ROOT / "tests" / name, STAGE / "tests" / name)


def _results(module: str) -> dict[str, int | None]:
    meta = STAGE / "mutants" / "src" / "threedcart" / f"{module}.py.meta"
    return json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}


def rerun(modules: tuple[str, ...], max_children: int) -> int:
    """Re-test the mutants of the last run that were not killed, with the tests as they are now."""
    if not (STAGE / "mutants").exists():
        print("error: no previous run; use `run` first", file=sys.stderr)
        return 1
    changed = [
        m
        for m in MODULES
        if not filecmp.cmp(
            ROOT / "overlay" / "threedcart" / f"{m}.py",
            STAGE / "src" / "threedcart" / f"{m}.py",
            shallow=False,
        )
    ]
    if changed:  # the mutants were made from other code: their names and results no longer apply
        print(f"error: {', '.join(changed)} changed since the last run; use `run`", file=sys.stderr)
        return 1
    _copy_tests()
    names = [
        n for m in modules for n, code in _results(m).items() if STATUS.get(code) not in ("killed", "timeout")
    ]
    if names:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "TERM": "dumb"}
        with open(STAGE / "mutmut.log", "w") as log:
            subprocess.call(
                [*_mutmut(), "run", "--max-children", str(max_children), *names],
                cwd=STAGE,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    return report(modules)


def _mutmut() -> list[str]:
    return [str(Path(sys.executable).parent / "mutmut")]


def run(modules: tuple[str, ...], max_children: int) -> int:
    _stage(modules)
    started = time.monotonic()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "TERM": "dumb"}
    with open(STAGE / "mutmut.log", "w") as log:
        code = subprocess.call(
            [*_mutmut(), "run", "--max-children", str(max_children)],
            cwd=STAGE,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    minutes = (time.monotonic() - started) / 60
    if code != 0:
        print(f"error: mutmut exited {code}; see {STAGE / 'mutmut.log'}", file=sys.stderr)
        return code
    (STAGE / "run.json").write_text(json.dumps({"minutes": round(minutes, 1), "max_children": max_children}))
    return report(modules)


_SHOW = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
print(json.dumps({name: get_diff_for_mutant(name) for name in json.loads(sys.stdin.read())}))
"""


def _diffs(names: list[str]) -> dict[str, str]:
    """Each mutant's changed lines, `before` → `after`, from mutmut's own diff (one process for all)."""
    if not names:
        return {}
    shown = subprocess.run(
        [sys.executable, "-c", _SHOW],
        cwd=STAGE,
        input=json.dumps(names),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = {}
    for name, diff in json.loads(shown).items():
        lines = diff.splitlines()
        minus = [ln[1:].strip() for ln in lines if ln.startswith("-") and not ln.startswith("---")]
        plus = [ln[1:].strip() for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
        before, after = " / ".join(minus)[:120], " / ".join(plus)[:120]
        result[name] = f"`{before}` → `{after}`".replace("|", "\\|")
    return result


def _equivalents() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(EQUIVALENTS.glob("*.toml")):
        for name, entry in tomllib.loads(path.read_text()).items():
            found[name] = entry["reason"]
    return found


def report(modules: tuple[str, ...] = MODULES) -> int:
    equivalents = _equivalents()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    equivalent_seen: dict[str, list[str]] = defaultdict(list)
    notes: dict[str, str] = {}
    for module in modules:
        results = _results(module)
        if not results:
            print(f"error: no results for {module} in {STAGE}", file=sys.stderr)
            return 1
        for name, code in results.items():
            status = STATUS.get(code, "suspicious")
            counts[module]["mutants"] += 1
            if status in ("killed", "timeout", "caught by type check"):
                counts[module]["killed"] += 1
            elif name in equivalents:
                counts[module]["equivalent"] += 1
                equivalent_seen[module].append(name)
            else:
                counts[module]["survived"] += 1
                survivors[module].append(name)
                if status != "survived":  # no test reaches it, or it was never run
                    notes[name] = f" ({status})"
    diffs = _diffs([n for names in [*survivors.values(), *equivalent_seen.values()] for n in names])
    in_scope = {n for n in equivalents if n.split(".")[1] in modules}
    stale = sorted(in_scope - {n for names in equivalent_seen.values() for n in names})

    lines = [
        "# Mutation testing of the SDK's core",
        "",
        "Written by `make mutation` (`tools/mutation.py`, mutmut pinned in `requirements/mutation.lock`):",
        "every mutant of the modules below is run against the fast SDK tests that cover it",
        f"({', '.join(f'`{t}`' for t in TESTS if t != 'conftest.py')}).",
        "Score = killed / (mutants − equivalent). A timeout counts as killed. Equivalent mutants are",
        "listed in `tests/mutation-equivalents/<module>.toml` with the reason they cannot change behaviour.",
        "",
    ]
    if (STAGE / "run.json").exists():  # the last full run's time (a rerun adds to it)
        last = json.loads((STAGE / "run.json").read_text())
        lines += [f"Last full run: {last['minutes']:.1f} min with {last['max_children']} workers.", ""]
    lines += [
        "| module | mutants | killed | survived | equivalent | score |",
        "|---|---|---|---|---|---|",
    ]

    def row(label: str, c: Counter[str]) -> tuple[str, float]:
        scored = c["mutants"] - c["equivalent"]
        score = 100.0 * c["killed"] / scored if scored else 100.0
        cells = [
            label,
            *(str(c[k]) for k in ("mutants", "killed", "survived", "equivalent")),
            f"{score:.1f}%",
        ]
        return "| " + " | ".join(cells) + " |", score

    worst = 100.0
    total: Counter[str] = Counter()
    for module in modules:
        total.update(counts[module])
        line, score = row(f"`{module}.py`", counts[module])
        worst = min(worst, score)
        lines.append(line)
    lines.append(row("**all**", total)[0])
    lines += [
        "",
        f"Target: at least {TARGET:.0f}% on every module: **{'met' if worst >= TARGET else 'missed'}**.",
        "",
    ]
    lines += ["## Surviving mutants", ""]
    if not any(survivors.values()):
        lines.append("None.")
    for module in modules:
        if survivors[module]:
            lines += [f"### `{module}.py`", ""]
            for name in survivors[module]:
                lines.append(f"- `{name.split('.', 2)[-1]}`{notes.get(name, '')}: {diffs[name]}")
            lines.append("")
    lines += ["## Equivalent mutants", ""]
    if not any(equivalent_seen.values()):
        lines.append("None.")
    for module in modules:
        for name in equivalent_seen[module]:
            lines.append(f"- `{name.split('.', 2)[-1]}`: {diffs[name]}. {equivalents[name]}")
    if stale:
        lines += ["", "Listed as equivalent but no longer surviving (remove from the list):", ""]
        lines += [f"- `{name}`" for name in stale]
    REPORT.write_text("\n".join(lines).rstrip() + "\n")
    print("\n".join(line for line in lines if line.startswith("|") or line.startswith("Target")))
    return 0 if worst >= TARGET else 2


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    r.add_argument("modules", nargs="*", help=f"some of {', '.join(MODULES)} (default: all)")
    rr = sub.add_parser("rerun")
    rr.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    rr.add_argument("modules", nargs="*")
    rp = sub.add_parser("report")
    rp.add_argument("modules", nargs="*")
    args = parser.parse_args()
    if args.command == "rerun":
        return rerun(tuple(args.modules) or MODULES, args.max_children)
    if args.command == "report":
        return report(tuple(args.modules) or MODULES)
    if args.command == "run":
        unknown = sorted(set(args.modules) - set(MODULES))
        if unknown:
            parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
        return run(tuple(args.modules) or MODULES, args.max_children)
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""`make mutation`: mutation testing with mutmut, and tests/MUTATION.md.

    python tools/mutation.py run [--max-children N] [--ref REF] [NAME ...]    # stage, run mutmut, report
    python tools/mutation.py rerun [--max-children N] [--ref REF] [NAME ...]  # after adding tests
    python tools/mutation.py report [NAME ...]            # tests/MUTATION.md from the saved results
    python tools/mutation.py check [--ref REF] [NAME ...] # every equivalents entry names a mutant
    python tools/mutation.py entry MUTANT ...             # the entry to paste for a survivor
    python tools/mutation.py list                         # the groups: modules, tests, targets

NAME is a module (`_params`, `_cli._app`, `contract._check`, `threedcart_mock._db`) or a group (`core`,
`client`, `shared_limit`, `cli`, `contract`, `mock`, `mock_testing`); none means every group. `make
mutation MODULES="_params _throttle"` passes its MODULES on.

Each group (GROUPS below) is a set of modules with the tests that pin them and a target score. A run stages
the group in `build/mutation/<group>/`: `src/` holds copies of the overlay, the generated client and the mock
(mutmut expects the code under `src/`), beside the group's test files, the spec and `tools/*.py` (the tests
read both); nothing in the working tree is changed. `--ref REF` (or MUTATION_REF) stages all of that from a
commit instead of the working tree, for a run while others edit the tree. mutmut changes one thing at a
time in the group's modules and runs the group's tests that reach the changed function. Tests that reach
code in a subprocess they start (the CLI, a mock server) are found too: a `sitecustomize` on the
subprocesses' PYTHONPATH reports the functions they run while mutmut maps tests to functions, and their
mutants are then run (again) with those tests. The core took 48 minutes on two cores before the
three test files that pin `_rows`, `_params` and `errors` joined it; the other groups run slower tests
(the CLI, mock servers, Redis) and have not been timed.

Each module's results are kept in `build/mutation/results/<module>.json` with a hash of the code they were
made from, so a run of some modules leaves the others' results in the report, marked when the code has
changed since.

Equivalent mutants (a change that cannot alter behaviour) are listed with their reason in
`tests/mutation-equivalents/<module>.toml`, keyed by what does not move when code moves: the function's
qualified name and the mutated source line, before and after, whitespace-normalised:

    [[equivalent]]
    function = "Pager.__init__"
    before = "self._verified = False"
    after = "self._verified = None"
    reason = "..."

(a change over several lines has them joined by newlines). They are shown in the report and not counted
against the score. An entry that matches no mutant of the code (stale), or only mutants that a test kills
(so not equivalent), fails `run`, `report` and `check`; `check` also says where code that moved to another
module took its mutants.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NotRequired, TypedDict

ROOT = Path(__file__).resolve().parent.parent
STAGE = Path(
    os.environ.get("MUTATION_STAGE") or ROOT / "build" / "mutation"
).resolve()  # where runs happen (absolute: mutmut changes folder)
REPORT = ROOT / "tests" / "MUTATION.md"
EQUIVALENTS = ROOT / "tests" / "mutation-equivalents"  # <module>.toml: [[equivalent]] tables

# Fast SDK tests: scripted answers, injected clocks, loopback servers at most. The long end-to-end
# suites (chaos, hostile server, reliability) run in `make test`, not per mutant.
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
    "test_spec_driven.py",  # the spec-driven rules of _rows and _params
    "test_typed_errors.py",  # errors, validated arguments (loopback servers)
    "test_secrets_by_value.py",  # errors' scrubbing of secrets (loopback servers)
)

DESELECT = (
    # reads the checkout's pyproject files, which a stage does not have (and pins tools/versions.py)
    "tests/test_spec_driven.py::test_versions_are_the_spec_and_the_distribution",
    # a warning names the first line outside the package: under mutmut that is its trampoline
    # (mutmut/mutation/trampoline.py), which calls every staged function, not the test's own line
    "tests/test_spec_driven.py::test_a_deprecated_filter_warning_points_at_the_callers_line",
    "tests/test_cores_behaviour.py::test_a_deprecated_field_warning_names_every_deprecated_field_at_the_callers_line",
    "tests/test_cores_behaviour.py::test_a_warning_at_the_users_line_is_shown_once_per_line_and_names_its_module",
    "tests/test_resources_behaviour.py::test_a_deprecated_field_given_to_create_warns_at_the_callers_line",
    "tests/test_resources_behaviour.py::test_a_deprecated_field_given_to_update_many_warns_at_the_callers_line",
    "tests/test_resources_behaviour.py::test_a_deprecated_filter_warns_at_the_callers_line",
)


@dataclass(frozen=True)
class Group:
    """Modules that are run together against the tests that pin them."""

    name: str
    sources: tuple[str, ...]  # files or globs, relative to the checkout
    tests: tuple[str, ...]  # files in tests/
    target: float  # the lowest acceptable score of each module, in percent
    deselect: tuple[str, ...] = ()  # tests in those files that need what a stage lacks (node ids)


GROUPS = (
    # the SDK's core: the I/O-free cores (paging, sync windows, import rows, bulk batches), request
    # parameters, the throttle, the transport, the errors, and the Customers resource (its calls and
    # answers, its async shell and the sync shell written from it, the pages in flight)
    Group(
        "core",
        tuple(
            f"overlay/threedcart/{m}.py"
            for m in (
                "_pagination",
                "_sync",
                "_rows",
                "_bulk",
                "_params",
                "_throttle",
                "_transport",
                "errors",
                "_resources",
                "_customers_async",
                "_customers",
                "_pages",
            )
        ),
        TESTS,
        95.0,
        DESELECT,
    ),
    # the Store: options, environment, views, closing
    Group(
        "client",
        ("overlay/threedcart/_client.py",),
        (*TESTS, "test_one_path.py", "test_client_units.py"),
        90.0,
        (
            *DESELECT,
            # compares the staged _customers.py (which mutmut's instrumentation rewrites) with unasync's
            # output
            "tests/test_one_path.py::test_the_sync_shell_is_written_from_the_async_one",
            # the warning's line (see DESELECT)
            "tests/test_client_units.py::test_an_insecure_store_warns_at_the_line_that_built_it",
        ),
    ),
    # one store's bucket in Redis, shared by processes
    Group(
        "shared_limit",
        ("overlay/threedcart/_shared_limit.py",),
        (
            "conftest.py",
            "test_shared_rate_limit.py",
            "test_shared_limit_close.py",
            "test_shared_limit_units.py",
        ),
        90.0,
    ),
    # the `threedcart` console script (run as a subprocess by its tests)
    Group(
        "cli",
        ("overlay/threedcart/_cli/_app.py", "overlay/threedcart/_cli/_output.py"),
        (
            "conftest.py",
            "test_cli.py",
            "test_cli_units.py",
            "test_cli_hygiene.py",
            "test_cli_first_hour.py",
            "test_import_accounting.py",
        ),
        90.0,
    ),
    # `threedcart contract-check`
    Group(
        "contract",
        ("overlay/threedcart/contract/*.py",),
        (
            "conftest.py",
            "test_contract_check.py",
            "test_contract_spec_units.py",
            "test_contract_check_units.py",
        ),
        90.0,
    ),
    # the mock store (a subprocess of its tests)
    Group(
        "mock",
        ("mock/threedcart_mock/_*.py",),
        (
            "conftest.py",
            "test_mock_api.py",
            "test_mock_realism.py",
            "test_mock_sandbox.py",
            "test_mock_spec_driven.py",
            "test_mock_filters_everywhere.py",
            "test_mock_http.py",
            # in this process: the app, the server, the command line, the store
            "test_mock_units.py",
            "test_mock_spec_fixes.py",
            "test_mock_server_early_answer.py",
            "test_mock_mutants.py",
            "test_mock_server_mutants.py",
            "test_mock_clock_and_schema.py",
        ),
        90.0,
        (
            # read mock/ of the checkout (its pyproject; a wheel built from it), which a stage has as src/
            "tests/test_mock_http.py::test_the_mock_uses_its_dependencies_by_declared_public_names_only",
            "tests/test_mock_sandbox.py::test_the_wheel_carries_the_spec_and_runs_from_an_install",
        ),
    ),
    # the helper that starts a mock for tests, demos and benchmarks: every suite above calls it, so
    # with them each of its mutants would run hundreds of mock-starting tests; its own tests pin it
    Group(
        "mock_testing", ("mock/threedcart_mock/testing.py",), ("conftest.py", "test_mock_testing.py"), 90.0
    ),
)

# where each package lives in the checkout, and where it is staged
PACKAGES = {
    "overlay/threedcart": "threedcart",
    "generated/threedcart_customers_client": "threedcart_customers_client",
    "mock/threedcart_mock": "threedcart_mock",
}

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
KILLED = ("killed", "timeout", "caught by type check")

Key = tuple[str, str, str]  # (function, before, after)


class RunInfo(TypedDict):
    minutes: float
    max_children: int
    ref: str | None
    tests: list[str]
    # `--in-process`: the survivors were not run again with the tests that reached them in a
    # subprocess, so the score is a lower bound (absent in results of older runs: False)
    in_process: NotRequired[bool]


class Result(RunInfo):
    """A module's results, kept in build/mutation/results/<module>.json."""

    module: str
    group: str
    sha256: str  # of the code the mutants were made from
    codes: dict[str, int | None]  # mutmut's exit code of each mutant's tests
    keys: dict[str, list[str]]  # each mutant's [function, before, after]


@dataclass(frozen=True)
class Module:
    name: str  # `_params`, `_cli._app`, `threedcart_mock._db`
    path: str  # in the checkout: `overlay/threedcart/_params.py`
    group: Group

    @property
    def staged(self) -> str:
        """Where it is staged: `src/threedcart/_params.py`."""
        for folder, package in PACKAGES.items():
            if self.path.startswith(folder + "/"):
                return f"src/{package}/{self.path[len(folder) + 1 :]}"
        raise ValueError(self.path)

    @property
    def prefix(self) -> str:
        """The start of mutmut's names of its mutants: `threedcart._params`."""
        return self.staged[len("src/") : -len(".py")].replace("/", ".").removesuffix(".__init__")

    def owns(self, mutant: str) -> bool:
        """Whether `mutant` (a mutmut name) is one of this module's: its function's mangled name
        (`x_...` or `xǁ...`) follows the prefix, not another module's name (a package's `__init__`
        has the prefix of every module in it)."""
        return mutant.startswith(self.prefix + ".") and mutant[len(self.prefix) + 1 :].startswith("x")


def _module_name(path: str) -> str:
    dotted = path.split("/", 1)[1].removesuffix(".py").replace("/", ".")  # threedcart._params
    return dotted.removeprefix("threedcart.")


def _modules(base: Path = ROOT) -> list[Module]:
    """Every module in scope that exists in the checkout at `base`, group by group."""
    found: list[Module] = []
    for group in GROUPS:
        for pattern in group.sources:
            for path in sorted(base.glob(pattern)):
                if path.is_file():
                    rel = path.relative_to(base).as_posix()
                    found.append(Module(_module_name(rel), rel, group))
    return found


def _select(names: Sequence[str], base: Path = ROOT) -> list[Module]:
    """The modules that NAMEs (modules or groups) stand for; all of them without names."""
    every = _modules(base)
    if not names:
        for group in GROUPS:
            if not any(m.group is group for m in every):
                print(f"note: group {group.name}: no files match {', '.join(group.sources)}", file=sys.stderr)
        return every
    chosen: list[Module] = []
    for name in names:
        named = next((g for g in GROUPS if g.name == name), None)
        if named is not None:
            members = [m for m in every if m.group is named]
            if not members:
                raise SystemExit(f"error: group {name}: no files match {', '.join(named.sources)}")
        else:
            members = [m for m in every if m.name == name]
            if not members:
                known = ", ".join([g.name for g in GROUPS] + [m.name for m in every])
                raise SystemExit(f"error: unknown module or group {name!r}; choose from {known}")
        chosen += [m for m in members if m not in chosen]
    return chosen


def _by_group(modules: Iterable[Module]) -> dict[Group, list[Module]]:
    grouped: dict[Group, list[Module]] = {}
    for module in modules:
        grouped.setdefault(module.group, []).append(module)
    return grouped


# --- stable keys of mutants ---------------------------------------------------------------------

# Run in a subprocess (mutmut is installed for `make mutation` only): every mutant of each file, named as
# mutmut names it, with its function's qualified name and its changed lines before and after. mutmut's
# own mutation code makes the mutants (in its order, hence its names) and the diff is of the function, as
# in `mutmut show`. The staged configuration sets no do_not_mutate_patterns, so none are read here.
_KEYS = r"""
import difflib, json, sys
import libcst as cst
from mutmut.mutation import file_mutation, pragma_handling
from mutmut.mutation.trampoline_templates import mangle_function_name

pragma_handling.get_lines_ignored_by_pattern = lambda source: set()


def norm(lines):
    return "\n".join(" ".join(line.split()) for line in lines)


out = {}
for prefix, path, only in json.loads(sys.stdin.read()):
    with open(path, encoding="utf-8") as f:
        code = f.read()
    module, mutations, _, _ = file_mutation.create_mutations(path, code)
    grouped = file_mutation.group_by_top_level_node(mutations)
    functions = []
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            functions.append((statement, None))
        elif isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            methods = [m for m in statement.body.body if isinstance(m, cst.FunctionDef)]
            functions += [(m, statement.name.value) for m in methods]
    for function, cls in functions:
        name = function.name.value
        qualified = f"{cls}.{name}" if cls else name
        if only is not None and qualified not in only:
            continue
        mangled = mangle_function_name(name=name, class_name=cls)
        original = cst.Module([function]).code.strip().split("\n")
        for i, mutation in enumerate(grouped.get(function, ()), 1):
            mutated = file_mutation.deep_replace(function, mutation.original_node, mutation.mutated_node)
            changed = cst.Module([mutated]).code.strip().split("\n")
            before, after = [], []
            for line in difflib.unified_diff(original, changed, lineterm="", n=0):
                if not line.startswith(("---", "+++", "@@")):
                    (before if line[0] == "-" else after).append(line[1:])
            out[f"{prefix}.{mangled}__mutmut_{i}"] = [qualified, norm(before), norm(after)]
json.dump(out, sys.stdout, ensure_ascii=False)
"""


def _keys(files: Sequence[tuple[str, Path]], only: dict[str, set[str]] | None = None) -> dict[str, Key]:
    """{mutant name: (function, before, after)} of every mutant of these (prefix, path) files, or only of
    the functions in `only[prefix]` (qualified names)."""
    if not files:
        return {}
    shown = subprocess.run(
        [sys.executable, "-c", _KEYS],
        input=json.dumps(
            [[p, str(path), sorted(only[p]) if only is not None else None] for p, path in files]
        ),
        capture_output=True,
        text=True,
    )
    if shown.returncode != 0:
        raise SystemExit(f"error: cannot list the mutants (is mutmut installed?):\n{shown.stderr}")
    return {name: (k[0], k[1], k[2]) for name, k in json.loads(shown.stdout).items()}


def _norm(text: str) -> str:
    return "\n".join(" ".join(line.split()) for line in text.strip().split("\n"))


def _shown(text: str) -> str:
    return text.replace("\n", " / ")


# --- equivalents --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    module: str
    function: str
    before: str
    after: str
    reason: str

    @property
    def key(self) -> Key:
        return (self.function, self.before, self.after)

    def __str__(self) -> str:
        return f"{self.module}.toml: {self.function}: `{_shown(self.before)}` → `{_shown(self.after)}`"


def _equivalents() -> dict[str, list[Entry]]:
    """{module: its entries}, from tests/mutation-equivalents/<module>.toml."""
    found: dict[str, list[Entry]] = {}
    for path in sorted(EQUIVALENTS.glob("*.toml")):
        module = path.name.removesuffix(".toml")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if set(data) - {"equivalent"}:
            raise SystemExit(
                f"error: {path}: only [[equivalent]] tables, not {sorted(set(data) - {'equivalent'})}"
            )
        entries = []
        for table in data.get("equivalent", []):
            if set(table) != {"function", "before", "after", "reason"}:
                raise SystemExit(
                    f"error: {path}: an entry needs exactly function, before, after, reason: {table}"
                )
            entries.append(
                Entry(
                    module, table["function"], _norm(table["before"]), _norm(table["after"]), table["reason"]
                )
            )
        found[module] = entries
    return found


def _toml(entry: Entry) -> str:
    def text(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string

    return (
        f"[[equivalent]]\nfunction = {text(entry.function)}\nbefore = {text(entry.before)}\n"
        f"after = {text(entry.after)}\nreason = {text(entry.reason)}\n"
    )


def _stale(entries: Sequence[Entry], keys: dict[str, Key], codes: dict[str, int | None] | None) -> list[str]:
    """What is wrong with these entries of one module, against its mutants (and their results, if run)."""
    problems = []
    names_by_key: dict[Key, list[str]] = defaultdict(list)
    for name, key in keys.items():
        names_by_key[key].append(name)
    for entry in entries:
        names = names_by_key.get(entry.key, [])
        if not names:
            problems.append(f"{entry}: matches no mutant of the code (stale: update or remove it)")
        elif codes is not None and all(STATUS.get(codes.get(n), "") in KILLED for n in names):
            problems.append(f"{entry}: a test kills it, so it is not equivalent (remove it)")
    return problems


# --- staging and running ------------------------------------------------------------------------

# On the PYTHONPATH of the processes that the tests start, which then import the mutated code (with the
# mutant under test in their environment, as mutmut sets it). While mutmut maps tests to functions ("stats"),
# mutmut's recorder lives in the test process only, so here each function a subprocess runs is written
# down with the number of the test running at that moment (which the pytest plugin below keeps in the
# file `current`), and added to mutmut's map after the run. Elsewhere this does nothing.
_SITECUSTOMIZE = r'''"""Staged by tools/mutation.py: the tests' subprocesses run the mutated code, and tell
which tests reach the functions they run."""

import os
import sys

if "MUTANT_UNDER_TEST" in os.environ and os.environ.get("MUTATION_SRC"):  # started by a test
    sys.path.insert(0, os.environ["MUTATION_SRC"])

if os.environ.get("MUTANT_UNDER_TEST") == "stats":
    _folder = os.environ.get("MUTATION_HITS")
    if not _folder:
        os.environ["MUTANT_UNDER_TEST"] = ""  # run the original code, without recording
    else:
        import mmap

        from mutmut.mutation import trampoline as _trampoline

        _seen = set()
        _current = []
        _out = os.open(os.path.join(_folder, f"{os.getpid()}.hits"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)

        def _hit(name, caller=None):
            if not _current:
                try:
                    with open(os.path.join(_folder, "current"), "rb") as f:
                        _current.append(mmap.mmap(f.fileno(), 8, access=mmap.ACCESS_READ))
                except (OSError, ValueError):
                    return
            test = int.from_bytes(_current[0][:8], "little")
            if test and (test, name) not in _seen:
                _seen.add((test, name))
                os.write(_out, f"{test - 1} {name}\n".encode())

        _trampoline.record_trampoline_hit = _hit
'''

_PLUGIN = r'''"""Staged by tools/mutation.py: numbers the tests while mutmut maps tests to functions, and
runs a mutant's tests fastest first."""

import json
import mmap
import os

_state = {}


def pytest_collection_modifyitems(config, items):
    # mutmut hands a mutant's tests over in no set order and stops at the first failure: run the
    # quickest first (by the durations it measured), so a mutant that a quick test kills costs that test
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", ""):
        return
    try:
        with open("mutmut-stats.json", encoding="utf-8") as f:  # mutmut runs tests in mutants/
            durations = json.load(f)["duration_by_test"]
    except (OSError, ValueError, KeyError):
        return
    items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))


def pytest_runtest_logstart(nodeid, location):
    folder = os.environ.get("MUTATION_HITS")
    if not folder or os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return
    if not _state:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "current"), "wb") as f:
            f.write(bytes(8))
        with open(os.path.join(folder, "current"), "r+b") as f:
            _state["current"] = mmap.mmap(f.fileno(), 8)
        _state["tests"] = open(os.path.join(folder, "tests"), "a", encoding="utf-8")
        _state["count"] = 0
    _state["count"] += 1
    _state["tests"].write(nodeid + "\n")
    _state["tests"].flush()
    _state["current"][:8] = _state["count"].to_bytes(8, "little")
'''


def _checkout(ref: str | None) -> Path:
    """The tree to stage from: the working tree, or `ref`'s files extracted into a folder of the stage
    (one per command, so that commands can run side by side; main() removes it)."""
    if not ref:
        return ROOT
    STAGE.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="checkout-", dir=STAGE))
    archive = subprocess.run(
        ["git", "archive", ref, "overlay", "generated", "mock", "openapi", "tests", "tools"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
    return base


def _helpers(base: Path, tests: Sequence[str]) -> list[str]:
    """Test files and test helpers that the listed ones import, at any indentation (`from
    test_hostile_server import ...`, `from _redis_server import ...`): staged, not run."""
    found: list[str] = []
    pending = list(tests)
    while pending:
        path = base / "tests" / pending.pop()
        if not path.exists():
            continue
        for name in re.findall(
            r"^\s*(?:from|import) (test_\w+|_[a-z]\w*)\b", path.read_text(encoding="utf-8"), re.M
        ):
            file = f"{name}.py"
            if file not in tests and file not in found:
                found.append(file)
                pending.append(file)
    return found


def _stage(group: Group, modules: Sequence[Module], base: Path) -> Path:
    folder = STAGE / group.name
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "src").mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for source, package in PACKAGES.items():
        shutil.copytree(base / source, folder / "src" / package, ignore=ignore)
    (folder / "openapi").mkdir()
    shutil.copy(base / "openapi" / "customers.yaml", folder / "openapi" / "customers.yaml")
    (folder / "tools").mkdir()
    for tool in (base / "tools").glob("*.py"):
        shutil.copy(tool, folder / "tools" / tool.name)
    (folder / "hooks").mkdir()
    (folder / "hooks" / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    (folder / "hooks" / "mutation_hits.py").write_text(_PLUGIN)
    helpers = _copy_tests(group, folder, base)
    only = ", ".join(f'"{m.staged}"' for m in modules)
    cli_args = ["-p", "no:cacheprovider", "-p", "mutation_hits"]
    cli_args += [f"--ignore=tests/{h}" for h in helpers] + [f"--deselect={t}" for t in group.deselect]
    (folder / "pyproject.toml").write_text(
        "[tool.mutmut]\n"
        'source_paths = ["src/"]\n'
        f"only_mutate = [{only}]\n"
        'also_copy = ["openapi/", "tools/"]\n'
        'pytest_add_cli_args_test_selection = ["tests/"]\n'
        f"pytest_add_cli_args = {json.dumps(cli_args)}\n"
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
    return folder


def _copy_tests(group: Group, folder: Path, base: Path) -> list[str]:
    (folder / "tests").mkdir(exist_ok=True)
    helpers = _helpers(base, group.tests)
    for name in (*group.tests, *helpers):
        if (base / "tests" / name).exists():
            shutil.copy(base / "tests" / name, folder / "tests" / name)
    return helpers


def _mutmut_command() -> list[str]:
    return [str(Path(sys.executable).parent / "mutmut")]


def _mutmut(folder: Path, names: Sequence[str], max_children: int) -> int:
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "TERM": "dumb",
        # processes the tests start run the mutated code too, and report what they ran (see _SITECUSTOMIZE);
        # mutmut's own process puts the mutated code first on its path itself
        "PYTHONPATH": os.pathsep.join(
            [str(folder / "hooks"), *[p for p in [os.environ.get("PYTHONPATH")] if p]]
        ),
        "MUTATION_SRC": str(folder / "mutants" / "src"),
        "MUTATION_HITS": str(folder / "hits"),
    }
    with open(folder / "mutmut.log", "a") as log:
        return subprocess.call(
            [*_mutmut_command(), "run", "--max-children", str(max_children), *names],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _codes(folder: Path, module: Module) -> dict[str, int | None] | None:
    meta = folder / "mutants" / f"{module.staged}.meta"
    if not meta.exists():
        return None
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    return codes


def _add_subprocess_tests(folder: Path) -> set[str]:
    """Add the tests that reached functions in subprocesses to mutmut's map; the functions that gained."""
    hits = folder / "hits"
    stats_path = folder / "mutants" / "mutmut-stats.json"
    if not (hits / "tests").exists() or not stats_path.exists():
        return set()
    tests = (hits / "tests").read_text(encoding="utf-8").splitlines()
    reached: dict[str, set[str]] = defaultdict(set)
    for file in hits.glob("*.hits"):
        for line in file.read_text(encoding="utf-8").splitlines():
            index, _, function = line.partition(" ")
            if index.isdigit() and int(index) < len(tests):
                reached[function].add(tests[int(index)])
    stats = json.loads(stats_path.read_text())
    known = stats["tests_by_mangled_function_name"]
    gained = set()
    for function, found in reached.items():
        found &= set(
            stats["duration_by_test"]
        )  # tests mutmut timed (it estimates each mutant's time from them)
        if not found <= set(known.get(function, [])):
            known[function] = sorted(set(known.get(function, [])) | found)
            gained.add(function)
    stats_path.write_text(json.dumps(stats, indent=4))
    shutil.rmtree(hits)
    return gained


def _test_group(
    folder: Path, modules: Sequence[Module], names: Sequence[str], max_children: int, in_process: bool
) -> int:
    """mutmut on the staged group (on `names` only, if given), then (unless `in_process`) the mutants
    of functions that subprocesses ran, with the tests that started those subprocesses."""
    code = _mutmut(folder, names, max_children)
    if code != 0 or in_process:
        return code
    gained = _add_subprocess_tests(folder)
    again = [
        name
        for module in modules
        for name, result in (_codes(folder, module) or {}).items()
        if name.partition("__mutmut_")[0] in gained and STATUS.get(result) not in KILLED
    ]
    if again:
        print(
            f"{folder.name}: {len(again)} mutants reached in subprocesses, run with those tests",
            file=sys.stderr,
        )
        return _mutmut(folder, again, max_children)
    return 0


def _keep_codes(folder: Path, module: Module, before: dict[str, int | None]) -> None:
    """Give back the results of the last run that a rerun did not test again: mutmut forgets them all
    when its configuration changed (a test deselected, an option added), and they still hold."""
    meta = folder / "mutants" / f"{module.staged}.meta"
    data = json.loads(meta.read_text())
    codes = data["exit_code_by_key"]
    for name, code in before.items():
        if codes.get(name) is None and STATUS.get(code) in KILLED:
            codes[name] = code
    meta.write_text(json.dumps(data))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _save(folder: Path, modules: Sequence[Module], run: RunInfo) -> int:
    """Keep each module's results with the key of every mutant, in build/mutation/results/."""
    keys = _keys([(m.prefix, folder / m.staged) for m in modules])
    (STAGE / "results").mkdir(parents=True, exist_ok=True)
    for module in modules:
        codes = _codes(folder, module)
        if codes is None:
            print(f"error: no results for {module.name} in {folder}", file=sys.stderr)
            return 1
        record: Result = {
            **run,
            "module": module.name,
            "group": module.group.name,
            "sha256": _digest(folder / module.staged),
            "codes": codes,
            "keys": {n: list(k) for n, k in keys.items() if module.owns(n)},
        }
        (STAGE / "results" / f"{module.name}.json").write_text(json.dumps(record, ensure_ascii=False))
    return 0


def run(
    names: Sequence[str], max_children: int, ref: str | None, base: Path = ROOT, in_process: bool = False
) -> int:
    chosen = _select(names, base)
    stale = _check(chosen, base)  # an entry that matches nothing now will match nothing after an hour
    if stale:
        return stale
    for group, modules in _by_group(chosen).items():
        folder = _stage(group, modules, base)
        print(
            f"{group.name}: {', '.join(m.name for m in modules)} (log: {folder / 'mutmut.log'})",
            file=sys.stderr,
        )
        started = time.monotonic()
        code = _test_group(folder, modules, [], max_children, in_process)
        if code != 0:
            print(f"error: mutmut exited {code}; see {folder / 'mutmut.log'}", file=sys.stderr)
            return code
        minutes = round((time.monotonic() - started) / 60, 1)
        info: RunInfo = {
            "minutes": minutes,
            "max_children": max_children,
            "ref": ref,
            "tests": list(group.tests),
            "in_process": in_process,
        }
        (folder / "run.json").write_text(json.dumps({**info, "modules": [m.name for m in modules]}))
        if _save(folder, modules, info):
            return 1
    return report([m.name for m in chosen], base)


def rerun(
    names: Sequence[str], max_children: int, ref: str | None, base: Path = ROOT, in_process: bool = False
) -> int:
    """Re-test the mutants of the last run that were not killed, with the tests as they are now."""
    chosen = _select(names, base)
    for group, modules in _by_group(chosen).items():
        folder = STAGE / group.name
        if not (folder / "run.json").exists():
            print(f"error: {group.name} has no previous run; use `run`", file=sys.stderr)
            return 1
        last = json.loads((folder / "run.json").read_text())
        missing = [m.name for m in modules if m.name not in last["modules"]]
        changed = [
            m.name
            for m in modules
            if m.name not in missing and not filecmp.cmp(base / m.path, folder / m.staged, shallow=False)
        ]
        if (
            missing or changed
        ):  # the mutants were made from other code: their names and results no longer apply
            what = [f"{', '.join(missing)} not in the last run"] if missing else []
            what += [f"{', '.join(changed)} changed since the last run"] if changed else []
            print(f"error: {'; '.join(what)}; use `run`", file=sys.stderr)
            return 1
        _copy_tests(group, folder, base)
        before = {m.name: _codes(folder, m) or {} for m in modules}
        names_left = [
            n for m in modules for n, code in before[m.name].items() if STATUS.get(code) not in KILLED
        ]
        if names_left:
            code = _test_group(folder, modules, names_left, max_children, in_process)
            if code != 0:
                print(f"error: mutmut exited {code}; see {folder / 'mutmut.log'}", file=sys.stderr)
                return code
            for module in modules:
                _keep_codes(folder, module, before[module.name])
        info = RunInfo(
            minutes=last["minutes"],
            max_children=last["max_children"],
            ref=last["ref"],
            tests=last["tests"],
            in_process=in_process or last.get("in_process", False),
        )
        if _save(folder, modules, info):
            return 1
    return report([m.name for m in chosen], base)


# --- the report ---------------------------------------------------------------------------------


def _results(module: Module) -> Result | None:
    path = STAGE / "results" / f"{module.name}.json"
    if not path.exists():
        return None
    record: Result = json.loads(path.read_text())
    return record


def _check(modules: Sequence[Module], base: Path = ROOT) -> int:
    """Every equivalents entry of these modules matches a mutant of their code at `base` (3 if not)."""
    equivalents = _equivalents()
    problems = [
        f"{m}.toml: no such module in scope" for m in equivalents if m not in {x.name for x in _modules(base)}
    ]
    wanted = [m for m in modules if equivalents.get(m.name)]
    functions = {m.prefix: {e.function for e in equivalents[m.name]} for m in wanted}
    keys = _keys([(m.prefix, base / m.path) for m in wanted], functions)
    lost: list[Entry] = []
    for module in wanted:
        mine = {n: k for n, k in keys.items() if module.owns(n)}
        found = {k for k in mine.values()}
        lost += [e for e in equivalents[module.name] if e.key not in found]
        problems += _stale(equivalents[module.name], mine, None)
    if lost:  # code moved to another module keeps its mutants: say where
        others = [m for m in _modules(base) if m.name not in {e.module for e in lost}]
        elsewhere = _keys(
            [(m.prefix, base / m.path) for m in others],
            {m.prefix: {e.function for e in lost} for m in others},
        )
        for entry in lost:
            names = {m.prefix: m.name for m in others}
            homes = sorted({names[n.rsplit(".", 1)[0]] for n, k in elsewhere.items() if k == entry.key})
            if homes:
                problems.append(f"{entry}: this mutant is now in {', '.join(homes)}: move the entry there")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"error: fix {EQUIVALENTS.relative_to(ROOT)}/ (see tools/mutation.py)", file=sys.stderr)
    return 3 if problems else 0


def report(names: Sequence[str] = (), base: Path = ROOT) -> int:
    """Rewrite tests/MUTATION.md from every module's saved results, marking those made from other code
    than `base`'s; the exit status is for `names`."""
    equivalents = _equivalents()
    everything = _modules(base)
    asked = _select(names, base) if names else everything
    results = {m.name: _results(m) for m in everything}
    missing = [m.name for m in asked if results[m.name] is None]
    if names and missing:
        print(f"error: no results for {', '.join(missing)} in {STAGE / 'results'}", file=sys.stderr)
        return 1

    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[tuple[str, str]]] = defaultdict(list)
    equivalent_seen: dict[str, list[tuple[str, Entry]]] = defaultdict(list)
    shown: dict[str, str] = {}
    current: dict[str, bool] = {}
    problems: dict[str, list[str]] = {}
    unchecked: list[Module] = []
    for module in everything:
        record = results[module.name]
        if record is None:
            unchecked.append(module)
            continue
        codes = record["codes"]
        keys: dict[str, Key] = {n: (k[0], k[1], k[2]) for n, k in record["keys"].items()}
        current[module.name] = record["sha256"] == _digest(base / module.path)
        entries = {e.key: e for e in equivalents.get(module.name, [])}
        if current[module.name]:
            problems[module.name] = _stale(equivalents.get(module.name, []), keys, codes)
        else:
            unchecked.append(module)  # checked against the code as it is now, below
        for name, code in codes.items():
            status = STATUS.get(code, "suspicious")
            key = keys.get(name, (name, "?", "?"))
            shown[name] = f"{key[0]}: `{_shown(key[1])}` → `{_shown(key[2])}`".replace("|", "\\|")
            counts[module.name]["mutants"] += 1
            if status in KILLED:
                counts[module.name]["killed"] += 1
            elif key in entries:
                counts[module.name]["equivalent"] += 1
                equivalent_seen[module.name].append((name, entries[key]))
            else:
                counts[module.name]["survived"] += 1
                survivors[module.name].append((name, f" ({status})" if status != "survived" else ""))
    asked_names = {m.name for m in asked}
    wanted = [m for m in unchecked if equivalents.get(m.name) and m.name in asked_names]
    functions = {m.prefix: {e.function for e in equivalents[m.name]} for m in wanted}
    keys_now = _keys([(m.prefix, base / m.path) for m in wanted], functions)
    for module in wanted:
        mine = {n: k for n, k in keys_now.items() if module.owns(n)}
        problems[module.name] = _stale(equivalents[module.name], mine, None)
    orphans = [f"{m}.toml: no such module in scope" for m in equivalents if m not in results]

    def score(c: Counter[str]) -> float:
        scored = c["mutants"] - c["equivalent"]
        return 100.0 * c["killed"] / scored if scored else 100.0

    lines = [
        "# Mutation testing",
        "",
        "Written by `make mutation` (`tools/mutation.py`, mutmut pinned in `requirements/mutation.lock`):",
        "every mutant of a module is run against the tests of its group that reach the mutated function",
        "(in the test process or in a subprocess it starts). Score = killed / (mutants − equivalent);",
        "a timeout counts as killed. Equivalent mutants are listed in",
        "`tests/mutation-equivalents/<module>.toml`, by function and mutated line, with the reason they",
        "cannot change behaviour.",
        "",
        "| group | target | tests | last run |",
        "|---|---|---|---|",
    ]
    for group in GROUPS:
        runs: dict[tuple[float, int, str | None, tuple[str, ...], bool], list[str]] = {}
        for module in everything:
            if module.group is group and (r := results[module.name]) is not None:
                run_key = (
                    r["minutes"],
                    r["max_children"],
                    r["ref"],
                    tuple(r["tests"]),
                    r.get("in_process", False),
                )
                runs.setdefault(run_key, []).append(module.name)
        cells = []
        for (minutes, workers, ref, used, in_process), members in runs.items():
            text = f"{minutes} min on {workers} worker{'' if workers == 1 else 's'}" + (
                f" from `{ref}`" if ref else ""
            )
            if in_process:
                text += (
                    ", survivors not run again with the tests that reach them in a subprocess (a lower bound)"
                )
            if set(group.tests) - set(used):
                text += f", without {', '.join(f'`{t}`' for t in sorted(set(group.tests) - set(used)))}"
            cells.append(f"{', '.join(f'`{m}`' for m in members)}: {text}" if len(runs) > 1 else text)
        tests = ", ".join(f"`{t}`" for t in group.tests if t != "conftest.py")
        lines.append(f"| {group.name} | {group.target:.0f}% | {tests} | {'; '.join(cells) or 'not run'} |")
    lines += [
        "",
        "| module | group | mutants | killed | survived | equivalent | score | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    total: Counter[str] = Counter()
    missed: list[str] = []
    for module in everything:
        label = f"`{module.path.split('/', 1)[1]}`"
        if results[module.name] is None:
            lines.append(f"| {label} | {module.group.name} | not run | | | | | {module.group.target:.0f}% |")
            continue
        c = counts[module.name]
        total.update(c)
        cells = [str(c[k]) for k in ("mutants", "killed", "survived", "equivalent")]
        mark = "" if current[module.name] else " (code changed since)"
        value = score(c)
        if value < module.group.target:
            missed.append(module.name)
        row = [label, module.group.name, *cells, f"{value:.1f}%{mark}", f"{module.group.target:.0f}%"]
        lines.append("| " + " | ".join(row) + " |")
    lines.append(
        f"| **all** | | {' | '.join(str(total[k]) for k in ('mutants', 'killed', 'survived', 'equivalent'))}"
        f" | {score(total):.1f}% | |"
    )
    not_run = [m.name for m in everything if results[m.name] is None]
    changed = [name for name, ok in current.items() if not ok]
    verdict = "met" if not missed and not not_run and not changed else "missed"
    lines += ["", f"Every module at or above its target, on the code as it is: **{verdict}**."]
    for label, which in (("Below", missed), ("Not run", not_run), ("Run on older code", changed)):
        if which:
            lines.append(f"{label}: {', '.join(f'`{m}`' for m in which)}.")
    lines.append("")
    all_problems = orphans + [p for m in everything for p in problems.get(m.name, [])]
    if all_problems:
        lines += ["## Equivalents entries to fix", ""]
        lines += [f"- {p}" for p in all_problems]
        lines.append("")
    lines += ["## Surviving mutants", ""]
    if not any(survivors.values()):
        lines.append("None.")
    for module in everything:
        if survivors[module.name]:
            lines += [f"### `{module.name}`", ""]
            for name, note in survivors[module.name]:
                lines.append(f"- `{name.rsplit('.', 1)[-1]}`{note}: {shown[name]}")
            lines.append("")
    lines += ["## Equivalent mutants", ""]
    if not any(equivalent_seen.values()):
        lines.append("None.")
    for module in everything:
        for name, entry in equivalent_seen[module.name]:
            lines.append(f"- `{module.name}` {shown[name]}. {entry.reason}")
    REPORT.write_text("\n".join(lines).rstrip() + "\n")
    print(
        "\n".join(
            line for line in lines if line.startswith("| `") or line.startswith("| **") or "target" in line
        )
    )
    bad = orphans + [p for m in asked for p in problems.get(m.name, [])]
    for problem in bad:
        print(f"error: {problem}", file=sys.stderr)
    if bad:
        return 3
    return 2 if asked_names & {*missed, *not_run, *changed} else 0


def entry(names: Sequence[str]) -> int:
    """Print the equivalents entry of each named mutant (from the saved results), reason to be written."""
    for name in names:
        for path in sorted((STAGE / "results").glob("*.json")):
            record = json.loads(path.read_text())
            full = next((n for n in record["keys"] if n == name or n.endswith("." + name)), None)
            if full:
                function, before, after = record["keys"][full]
                print(f"# {full} -> tests/mutation-equivalents/{record['module']}.toml")
                print(_toml(Entry(record["module"], function, before, after, "")))
                break
        else:
            print(f"error: no mutant {name} in {STAGE / 'results'}", file=sys.stderr)
            return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("run", "rerun"):
        p = sub.add_parser(command)
        p.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
        p.add_argument("--ref", default=os.environ.get("MUTATION_REF") or None, help="stage from this commit")
        p.add_argument(
            "--in-process",
            action="store_true",
            help="skip running the survivors again with the tests that reach them in a subprocess "
            "(the score is then a lower bound)",
        )
        p.add_argument("names", nargs="*", help="modules or groups (default: all)")
    sub.add_parser("report").add_argument("names", nargs="*")
    c = sub.add_parser("check")
    c.add_argument("--ref", default=os.environ.get("MUTATION_REF") or None, help="check this commit's code")
    c.add_argument("names", nargs="*")
    sub.add_parser("entry").add_argument("names", nargs="+")
    sub.add_parser("list")
    args = parser.parse_args()
    if args.command in ("run", "rerun", "check"):
        if args.ref:  # the commit itself, not a name that moves on (HEAD, a branch)
            args.ref = subprocess.run(
                ["git", "rev-parse", "--short", f"{args.ref}^{{commit}}"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        base = _checkout(args.ref)
        try:
            if args.command == "check":
                return _check(_select(args.names, base), base)
            return (run if args.command == "run" else rerun)(
                args.names, args.max_children, args.ref, base, args.in_process
            )
        finally:
            if base != ROOT:
                shutil.rmtree(base, ignore_errors=True)
    if args.command == "report":
        return report(args.names)
    if args.command == "entry":
        return entry(args.names)
    for group in GROUPS:
        members = [m.name for m in _modules() if m.group is group] or ["(no files yet)"]
        print(
            f"{group.name} ({group.target:.0f}%): {', '.join(members)}\n    tests: {', '.join(group.tests)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""tools/mutation.py: stable keys of mutants, the report (scores, survivors, equivalents, stale entries),
module selection, staging helpers, and tests found through subprocesses."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parent.parent


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_tool", ROOT / "tools" / "mutation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutation_tool"] = module
    spec.loader.exec_module(module)
    return module


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _result(
    stage: Path,
    module: str,
    path: str,
    codes: dict[str, int | None],
    keys: dict[str, list[str]],
    **run: object,
) -> None:
    folder = stage / "results"
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "minutes": 19.2,
        "max_children": 2,
        "ref": None,
        "tests": ["conftest.py", "test_sdk_units.py"],
        "module": module,
        "group": "core",
        "sha256": _digest(ROOT / path),
        "codes": codes,
        "keys": keys,
        **run,
    }
    (folder / f"{module}.json").write_text(json.dumps(record))


def _entry(function: str, before: str, after: str, reason: str) -> str:
    return (
        f"[[equivalent]]\nfunction = {json.dumps(function)}\nbefore = {json.dumps(before)}\n"
        f"after = {json.dumps(after)}\nreason = {json.dumps(reason)}\n\n"
    )


def test_the_report_scores_each_module_and_matches_equivalents_by_function_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    t = "threedcart._throttle.x_reserve__mutmut_"
    e = "threedcart.errors.x_error_class__mutmut_"
    stage = tmp_path / "stage"
    # 10 mutants: 7 killed (one by timeout), 1 equivalent, 2 survivors (one with no test)
    codes: dict[str, int | None] = {
        **{f"{t}{i}": 1 for i in range(1, 7)},
        f"{t}7": 36,
        f"{t}8": 0,
        f"{t}9": 0,
    }
    codes[f"{t}10"] = 33
    keys = {n: ["reserve", "wait = self._interval", f"wait = self._interval + {n[-2:]}"] for n in codes}
    keys[f"{t}8"] = ["reserve", "h = headers.get('Retry-After')", "h = headers.get('retry-after')"]
    _result(stage, "_throttle", "overlay/threedcart/_throttle.py", codes, keys)
    _result(stage, "errors", "overlay/threedcart/errors.py", {f"{e}1": 1, f"{e}2": 3}, {})
    equivalents = tmp_path / "equivalents"
    equivalents.mkdir()
    (equivalents / "_throttle.toml").write_text(
        "# comments stay\n\n"
        # whitespace in the entry does not matter
        + _entry(
            "reserve",
            "h =  headers.get('Retry-After')",
            "h = headers.get('retry-after')  ",
            "case is ignored",
        )
    )
    report = tmp_path / "MUTATION.md"
    monkeypatch.setattr(tool, "STAGE", stage)
    monkeypatch.setattr(tool, "EQUIVALENTS", equivalents)
    monkeypatch.setattr(tool, "REPORT", report)

    code = tool.report(["_throttle", "errors"])

    text = report.read_text()
    assert "| `threedcart/_throttle.py` | core | 10 | 7 | 2 | 1 | 77.8% | 95% |" in text
    assert "| `threedcart/errors.py` | core | 2 | 2 | 0 | 0 | 100.0% | 95% |" in text
    assert "| `threedcart/_params.py` | core | not run |" in text
    assert "| **all** | | 12 | 9 | 2 | 1 | 81.8% | |" in text
    assert "19.2 min on 2 workers, without " in text  # the group's tests that were not in that run
    assert "**missed**" in text and "Below: `_throttle`." in text
    assert code == 2  # below the target on one module
    survivors = text.split("## Surviving mutants")[1].split("## Equivalent mutants")[0]
    assert (
        "- `x_reserve__mutmut_9`: reserve: `wait = self._interval` → `wait = self._interval + _9`"
        in survivors
    )
    assert "- `x_reserve__mutmut_10` (no tests): reserve:" in survivors
    assert "mutmut_8`" not in survivors
    equivalent = text.split("## Equivalent mutants")[1]
    assert (
        "reserve: `h = headers.get('Retry-After')` → `h = headers.get('retry-after')`. case is ignored"
        in equivalent
    )
    assert "## Equivalents entries to fix" not in text
    assert "error" not in capsys.readouterr().err


def test_an_entry_that_matches_no_mutant_or_only_killed_ones_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    t = "threedcart._throttle.x_reserve__mutmut_"
    stage = tmp_path / "stage"
    codes: dict[str, int | None] = {f"{t}1": 1, f"{t}2": 0}
    keys = {f"{t}1": ["reserve", "a = 1", "a = 2"], f"{t}2": ["reserve", "b = 1", "b = 2"]}
    _result(stage, "_throttle", "overlay/threedcart/_throttle.py", codes, keys)
    equivalents = tmp_path / "equivalents"
    equivalents.mkdir()
    (equivalents / "_throttle.toml").write_text(
        _entry("reserve", "a = 1", "a = 2", "killed by a test")
        + _entry("reserve", "c = 1", "c = 2", "the line moved away")
        + _entry("other", "b = 1", "b = 2", "another function")
    )
    (equivalents / "_gone.toml").write_text(_entry("f", "x", "y", "a module that is no more"))
    monkeypatch.setattr(tool, "STAGE", stage)
    monkeypatch.setattr(tool, "EQUIVALENTS", equivalents)
    monkeypatch.setattr(tool, "REPORT", tmp_path / "MUTATION.md")

    assert tool.report(["_throttle"]) == 3

    err = capsys.readouterr().err
    assert "_throttle.toml: reserve: `a = 1` → `a = 2`: a test kills it, so it is not equivalent" in err
    assert "_throttle.toml: reserve: `c = 1` → `c = 2`: matches no mutant of the code (stale" in err
    assert "_throttle.toml: other: `b = 1` → `b = 2`: matches no mutant" in err
    assert "_gone.toml: no such module in scope" in err
    assert "## Equivalents entries to fix" in (tmp_path / "MUTATION.md").read_text()


def test_results_of_older_code_are_marked_and_do_not_meet_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    stage = tmp_path / "stage"
    _result(stage, "errors", "overlay/threedcart/errors.py", {"threedcart.errors.x_f__mutmut_1": 1}, {})
    record = json.loads((stage / "results" / "errors.json").read_text())
    (stage / "results" / "errors.json").write_text(json.dumps({**record, "sha256": "0" * 64}))
    monkeypatch.setattr(tool, "STAGE", stage)
    monkeypatch.setattr(tool, "EQUIVALENTS", tmp_path)
    monkeypatch.setattr(tool, "REPORT", tmp_path / "MUTATION.md")
    assert tool.report(["errors"]) == 2  # measured on other code: not shown to meet the target
    text = (tmp_path / "MUTATION.md").read_text()
    assert "100.0% (code changed since)" in text and "Run on older code: `errors`." in text


def test_a_module_without_results_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = _tool()
    stage = tmp_path / "stage"
    _result(stage, "errors", "overlay/threedcart/errors.py", {"threedcart.errors.x__mutmut_1": 1}, {})
    monkeypatch.setattr(tool, "STAGE", stage)
    monkeypatch.setattr(tool, "REPORT", tmp_path / "MUTATION.md")
    assert tool.report(["errors", "_params"]) == 1
    assert not (tmp_path / "MUTATION.md").exists()


def test_names_select_modules_or_groups() -> None:
    tool = _tool()
    assert [m.name for m in tool._select(["_params", "_throttle"])] == ["_params", "_throttle"]
    assert [m.name for m in tool._select(["cli"])] == ["_cli._app", "_cli._output"]
    mock = tool._select(["mock"])
    assert "threedcart_mock._db" in [m.name for m in mock]
    db = next(m for m in mock if m.name == "threedcart_mock._db")
    assert (db.staged, db.prefix) == ("src/threedcart_mock/_db.py", "threedcart_mock._db")
    app = tool._select(["_cli._app"])[0]
    assert (app.staged, app.prefix) == ("src/threedcart/_cli/_app.py", "threedcart._cli._app")
    with pytest.raises(SystemExit, match="unknown module or group 'nope'"):
        tool._select(["nope"])
    # a package's __init__ has the prefix of every module in it, but owns only its own mutants
    init, check = tool._select(["contract.__init__", "contract._check"])
    assert (init.prefix, check.prefix) == ("threedcart.contract", "threedcart.contract._check")
    own, other = "threedcart.contract.x_load__mutmut_1", "threedcart.contract._check.xǁCǁrun__mutmut_2"
    assert (init.owns(own), init.owns(other), check.owns(other), check.owns(own)) == (
        True,
        False,
        True,
        False,
    )
    targets = {m.group.name: m.group.target for m in tool._select([])}
    assert targets["core"] == 95.0
    assert {targets[g] for g in ("client", "shared_limit", "cli", "mock")} == {90.0}


def test_every_listed_module_and_test_file_exists() -> None:
    tool = _tool()
    for group in tool.GROUPS:
        for source in group.sources:
            if "*" not in source:  # a glob may match nothing yet (the contract check's package)
                assert (ROOT / source).is_file(), source
        for name in group.tests:
            assert (ROOT / "tests" / name).is_file(), name
        for node in group.deselect:
            file, _, test = node.partition("::")
            assert f"def {test}(" in (ROOT / file).read_text(), node


def test_test_files_that_others_import_are_staged_but_not_run() -> None:
    tool = _tool()
    assert tool._helpers(ROOT, ("test_typed_errors.py",)) == ["test_hostile_server.py"]
    assert tool._helpers(ROOT, ("test_hostile_server.py", "test_typed_errors.py")) == []
    # a helper module, imported inside a fixture too (conftest's redis_server)
    assert tool._helpers(ROOT, ("conftest.py",)) == ["_redis_server.py"]
    assert tool._helpers(ROOT, ("test_shared_limit_units.py", "test_typed_errors.py")) == [
        "test_hostile_server.py",
        "_redis_server.py",
    ]


def test_tests_that_reach_functions_in_subprocesses_join_mutmuts_map(tmp_path: Path) -> None:
    tool = _tool()
    (tmp_path / "mutants").mkdir()
    stats = {
        "tests_by_mangled_function_name": {"threedcart._cli._app.x_main": ["tests/test_a.py::test_1"]},
        "duration_by_test": {"tests/test_a.py::test_1": 0.1, "tests/test_a.py::test_2": 0.2},
    }
    (tmp_path / "mutants" / "mutmut-stats.json").write_text(json.dumps(stats))
    hits = tmp_path / "hits"
    hits.mkdir()
    (hits / "tests").write_text("tests/test_a.py::test_1\ntests/test_a.py::test_2\n")
    (hits / "101.hits").write_text("1 threedcart._cli._app.x_main\n0 threedcart._cli._app.x_main\n")
    (hits / "102.hits").write_text("1 threedcart._cli._output.x_write\n7 threedcart._cli._output.x_gone\n")

    gained = tool._add_subprocess_tests(tmp_path)

    assert gained == {"threedcart._cli._app.x_main", "threedcart._cli._output.x_write"}
    known = json.loads((tmp_path / "mutants" / "mutmut-stats.json").read_text())[
        "tests_by_mangled_function_name"
    ]
    assert known["threedcart._cli._app.x_main"] == ["tests/test_a.py::test_1", "tests/test_a.py::test_2"]
    assert known["threedcart._cli._output.x_write"] == ["tests/test_a.py::test_2"]
    assert not hits.exists()  # used once


def test_a_rerun_keeps_the_kills_of_the_last_run_that_mutmut_forgot(tmp_path: Path) -> None:
    tool = _tool()
    (module,) = tool._select(["_throttle"])
    meta = tmp_path / "mutants" / f"{module.staged}.meta"
    meta.parent.mkdir(parents=True)
    t = "threedcart._throttle.x_reserve__mutmut_"
    # after the rerun: mutmut reset everything (its configuration changed) and re-tested 3 and 4
    meta.write_text(json.dumps({"exit_code_by_key": {f"{t}1": None, f"{t}2": None, f"{t}3": 1, f"{t}4": 0}}))
    before = {f"{t}1": 1, f"{t}2": 36, f"{t}3": 0, f"{t}4": 0}

    tool._keep_codes(tmp_path, module, before)

    codes = json.loads(meta.read_text())["exit_code_by_key"]
    assert codes == {f"{t}1": 1, f"{t}2": 36, f"{t}3": 1, f"{t}4": 0}


@pytest.mark.parametrize("in_process", [False, True])
def test_in_process_runs_skip_the_subprocess_pass_and_the_report_calls_their_score_a_lower_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_process: bool
) -> None:
    tool = _tool()
    mutant = "threedcart._throttle.x_reserve__mutmut_1"
    calls: list[list[str]] = []

    def mutmut(folder: Path, names: list[str], max_children: int) -> int:
        calls.append(list(names))
        return 0

    monkeypatch.setattr(tool, "_mutmut", mutmut)
    monkeypatch.setattr(tool, "_add_subprocess_tests", lambda folder: {"threedcart._throttle.x_reserve"})
    monkeypatch.setattr(tool, "_codes", lambda folder, module: {mutant: 0})
    modules = tool._select(["_throttle"])

    assert tool._test_group(tmp_path, modules, [], 2, in_process) == 0
    assert calls == ([[]] if in_process else [[], [mutant]])  # the survivor again, with subprocess tests

    stage = tmp_path / "stage"
    _result(stage, "_throttle", "overlay/threedcart/_throttle.py", {mutant: 1}, {}, in_process=in_process)
    monkeypatch.setattr(tool, "STAGE", stage)
    monkeypatch.setattr(tool, "EQUIVALENTS", tmp_path)
    monkeypatch.setattr(tool, "REPORT", tmp_path / "MUTATION.md")
    tool.report(["_throttle"])
    lower = "survivors not run again with the tests that reach them in a subprocess (a lower bound)"
    assert (lower in (tmp_path / "MUTATION.md").read_text()) is in_process


def test_keys_are_mutmuts_mutants_named_by_function_and_line_and_do_not_move_with_code(
    tmp_path: Path,
) -> None:
    pytest.importorskip("mutmut")
    tool = _tool()
    source = textwrap.dedent(
        """
        def early(x):
            return x + 1


        class Bucket:
            def take(self, n):
                left = self.size  -  n
                return left
        """
    )
    (tmp_path / "a.py").write_text(source)
    (tmp_path / "b.py").write_text(
        source.replace(
            "def early(x):\n    return x + 1\n", "def early(x):\n    y = x * 2\n    return x + 1\n"
        ).replace("left = self.size  -  n", "size = self.size\n        left = self.size - n")
    )
    a = tool._keys([("m", tmp_path / "a.py")])
    b = tool._keys([("m", tmp_path / "b.py")])
    assert a["m.x_early__mutmut_1"] == ("early", "return x + 1", "return x - 1")
    minus = ("Bucket.take", "left = self.size - n", "left = self.size + n")
    assert minus in a.values() and minus in b.values()  # the same key, whitespace aside
    assert set(a.values()) <= set(b.values())  # code added around: every old key is still there
    moved = [n for n, k in a.items() if k[0] == "early" and b.get(n) != k]
    assert moved  # while mutmut's names shift
    only = tool._keys([("m", tmp_path / "a.py")], {"m": {"Bucket.take"}})
    assert only and {k[0] for k in only.values()} == {"Bucket.take"}


def test_every_equivalents_entry_names_a_mutant_of_the_code_as_it_is() -> None:
    """The list cannot rot: moving code keeps an entry, changing the mutated line makes it fail here."""
    pytest.importorskip("mutmut")
    tool = _tool()
    assert tool._check(tool._select([])) == 0


def test_an_entry_for_a_surviving_mutant_is_printed_ready_to_paste(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    name = "threedcart._throttle.xǁThrottleǁ__init____mutmut_19"
    keys = {name: ["Throttle.__init__", 'x = float("inf")', 'x = float("INF")']}
    _result(tmp_path, "_throttle", "overlay/threedcart/_throttle.py", {name: 0}, keys)
    monkeypatch.setattr(tool, "STAGE", tmp_path)
    assert tool.entry(["xǁThrottleǁ__init____mutmut_19"]) == 0
    printed = capsys.readouterr().out
    assert "tests/mutation-equivalents/_throttle.toml" in printed
    assert 'function = "Throttle.__init__"\nbefore = "x = float(\\"inf\\")"' in printed


def test_rerun_refuses_when_the_code_changed_since_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    folder = tmp_path / "core"
    staged = folder / "src" / "threedcart"
    staged.mkdir(parents=True)
    core = tool._select(["core"])
    for module in core:
        (folder / module.staged).write_bytes((ROOT / module.path).read_bytes())
    (staged / "_params.py").write_text("# an older version\n")
    names = [m.name for m in core]
    (folder / "run.json").write_text(
        json.dumps({"minutes": 1, "max_children": 1, "ref": None, "tests": [], "modules": names})
    )
    monkeypatch.setattr(tool, "STAGE", tmp_path)
    assert tool.rerun(["_params"], 1, None) == 1
    assert "_params changed since the last run; use `run`" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("mutant", "order"),
    [
        ("threedcart._params.x_f__mutmut_3", ["test_quick", "test_middle", "test_slow", "test_unknown"]),
        ("stats", ["test_slow", "test_quick", "test_unknown", "test_middle"]),  # mapping: as collected
    ],
)
def test_a_mutants_tests_run_fastest_first(tmp_path: Path, mutant: str, order: list[str]) -> None:
    tool = _tool()
    hooks, mutants = tmp_path / "hooks", tmp_path / "mutants"
    hooks.mkdir()
    (mutants / "tests").mkdir(parents=True)
    (hooks / "mutation_hits.py").write_text(tool._PLUGIN)
    ran = tmp_path / "ran"
    (mutants / "tests" / "test_order.py").write_text(
        "import os\n\n"
        + "".join(
            f"def {name}():\n    open({str(ran)!r}, 'a').write('{name}\\n')\n\n"
            for name in ("test_slow", "test_quick", "test_unknown", "test_middle")
        )
    )
    durations = {"test_slow": 3.0, "test_quick": 0.01, "test_middle": 0.5}  # test_unknown: never timed
    stats = {"duration_by_test": {f"tests/test_order.py::{n}": d for n, d in durations.items()}}
    (mutants / "mutmut-stats.json").write_text(json.dumps(stats))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(hooks), "MUTANT_UNDER_TEST": mutant}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "mutation_hits",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "tests/test_order.py",
        ],
        cwd=mutants,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert ran.read_text().split() == order

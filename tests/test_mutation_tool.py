"""tools/mutation.py's report: scores per module, survivors, equivalents and stale equivalents."""

from __future__ import annotations

import importlib.util
import json
import sys
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


def _stage(tmp_path: Path, results: dict[str, dict[str, int | None]]) -> Path:
    folder = tmp_path / "stage" / "mutants" / "src" / "threedcart"
    folder.mkdir(parents=True)
    for module, codes in results.items():
        (folder / f"{module}.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))
    return tmp_path / "stage"


def test_the_report_scores_each_module_and_lists_survivors_and_equivalents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = _tool()
    t = "threedcart._throttle.x_reserve__mutmut_"
    e = "threedcart.errors.x_error_class__mutmut_"
    stage = _stage(
        tmp_path,
        {
            # 10 mutants: 7 killed (one by timeout), 1 equivalent, 2 survivors (one with no test)
            "_throttle": {
                **{f"{t}{i}": 1 for i in range(1, 7)},
                f"{t}7": 36,
                f"{t}8": 0,
                f"{t}9": 0,
                f"{t}10": 33,
            },
            "errors": {f"{e}1": 1, f"{e}2": 3},
        },
    )
    equivalents = tmp_path / "equivalents"
    equivalents.mkdir()
    (equivalents / "_throttle.toml").write_text(
        f'"{t}8" = {{ reason = "the header name\'s case is ignored by httpx" }}\n'
        f'"{t}99" = {{ reason = "gone" }}\n'
    )
    (equivalents / "_other.toml").write_text('"threedcart._bulk.x__mutmut_1" = { reason = "out of scope" }\n')
    report = tmp_path / "MUTATION.md"
    monkeypatch.setattr(tool, "STAGE", stage)
    monkeypatch.setattr(tool, "EQUIVALENTS", equivalents)
    monkeypatch.setattr(tool, "REPORT", report)
    monkeypatch.setattr(tool, "_diffs", lambda names: {n: f"`a` → `b` ({n[-2:]})" for n in names})

    (stage / "run.json").write_text('{"minutes": 19.2, "max_children": 2}')

    code = tool.report(("_throttle", "errors"))

    text = report.read_text()
    assert "Last full run: 19.2 min with 2 workers." in text
    assert "| `_throttle.py` | 10 | 7 | 2 | 1 | 77.8% |" in text
    assert "| `errors.py` | 2 | 2 | 0 | 0 | 100.0% |" in text
    assert "| **all** | 12 | 9 | 2 | 1 | 81.8% |" in text
    assert "**missed**" in text
    assert code == 2  # below the target on one module
    survivors = text.split("## Surviving mutants")[1].split("## Equivalent mutants")[0]
    short = t.split(".", 2)[-1]
    assert f"- `{short}9`: `a` → `b` (_9)" in survivors
    assert f"- `{short}10` (no tests): `a` → `b` (10)" in survivors
    assert f"{short}8`" not in survivors
    equivalent = text.split("## Equivalent mutants")[1]
    assert "the header name's case is ignored by httpx" in equivalent
    # an equivalent that no longer survives is flagged; another module's list is not
    assert f"`{t}99`" in equivalent
    assert "_bulk" not in equivalent


def test_a_module_without_results_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = _tool()
    monkeypatch.setattr(tool, "STAGE", _stage(tmp_path, {"errors": {"threedcart.errors.x__mutmut_1": 1}}))
    monkeypatch.setattr(tool, "REPORT", tmp_path / "MUTATION.md")
    assert tool.report(("errors", "_params")) == 1
    assert not (tmp_path / "MUTATION.md").exists()


def test_every_core_module_and_test_file_exists() -> None:
    tool = _tool()
    for module in tool.MODULES:
        assert (ROOT / "overlay" / "threedcart" / f"{module}.py").is_file(), module
    for name in tool.TESTS:
        assert (ROOT / "tests" / name).is_file(), name


def test_rerun_refuses_when_the_code_changed_since_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    stage = _stage(tmp_path, {"errors": {"threedcart.errors.x__mutmut_1": 0}})
    staged = stage / "src" / "threedcart"
    staged.mkdir(parents=True)
    for module in tool.MODULES:
        (staged / f"{module}.py").write_bytes((ROOT / "overlay" / "threedcart" / f"{module}.py").read_bytes())
    (staged / "_params.py").write_text("# an older version\n")
    monkeypatch.setattr(tool, "STAGE", stage)
    assert tool.rerun(("errors",), 1) == 1
    assert "_params changed since the last run; use `run`" in capsys.readouterr().err

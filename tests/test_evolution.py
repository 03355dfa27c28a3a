"""The API evolves: scripted spec changes on a temporary copy of the repository, end to end.

Each scenario changes a copy of `openapi/customers.yaml` the way a maintainer would, with synthetic
`XTest` names (no real API will add them, so a real change never collides with a test): an added
Customer field of each JSON shape, added list filters (`x-threedcart-filter`, with and without
`sdk-name`), an added operation, deprecations; and the breaking ones: a removed filter, a renamed
field, a new base path. It bumps `info.version` as required, regenerates the client in the copy with
the copy's Makefile (`make generate`: the GENERATE command line and what follows it), and then:

- an additive change must pass `make check-generated` and `make api-diff` (against the copy's
  `openapi/released/`, with its changes graded minor), and a smoke run in a subprocess with the copy's
  code first on `sys.path` (tests/evolution_smoke.py): the copy's mock on a free loopback port, then
  create, get, list, iter, update_many and export through the SDK and through the `threedcart`
  console script, with the new field, filter option (`--xtest-...`) and keyword (`xtest_...=`), the
  new operation answered by the mock from the spec, or the deprecation warnings;
- a breaking change must fail `make api-diff` after a minor bump, naming what changed and asking for
  the major bump, and pass it (and regenerate) after the major bump.

The additive changes share one release (one regeneration, one check-generated, one api-diff and one
smoke run for the nine field shapes, the filters, the operation and the deprecations; a customer per
field on the SDK side); when that release fails, each shape's and each additive scenario's test runs
it alone, so the failure is pinned to the changes that cause it
(`test_one_release_makes_every_additive_change` keeps the first error). Run one by one, the
additive scenarios took three more regenerations and smoke runs, about 60 s. Today's spec is the
scenarios' baseline: when it already differs from its last release more than its version allows
(unreleased work), the copy releases it under the version it needs first, so
that each api-diff sees its scenario's changes only (a line on the terminal says so).

The copy, made from the working tree, holds openapi/, generator-config.yml, templates/, tools/ (its
Python tools and tools/spec without node_modules), overlay/, mock/ and the Makefile. It reuses the
repository's .venv and tools/spec/node_modules by absolute path and installs nothing: make runs with
VENV pointing at the environment and VENV_STAMP and NODE_STAMP empty, so no install rule can run
(checked with `make -n` first). The phases' times are printed at the end. Part of `make test` (under xdist,
one worker runs the module, so that the shared release is made once: tests/conftest.py); run it alone with
`.venv/bin/python -m pytest tests/test_evolution.py`.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import posixpath
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"  # `make venv`'s environment, reused by absolute path (nothing is installed)
PYTHON = VENV / "bin" / "python"
NODE_MODULES = ROOT / "tools" / "spec" / "node_modules"
SMOKE = Path(__file__).with_name("evolution_smoke.py")
COPIED = ("openapi", "generator-config.yml", "templates", "overlay", "mock", "Makefile")
IGNORED = shutil.ignore_patterns(
    "__pycache__", "*.egg-info", ".ruff_cache", ".mypy_cache", "node_modules", "out"
)
TIMINGS: dict[str, dict[str, float]] = {}

# Slow (a minute and more in all), and make and Node.js (Redocly, behind `make api-diff`) run it.
pytestmark = [pytest.mark.slow, pytest.mark.external]


# --- the spec, as the scenarios see it ----------------------------------------------------------
def _spec_of(root: Path) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((root / "openapi" / "customers.yaml").read_text(encoding="utf-8"))
    return spec


BASE_SPEC = _spec_of(ROOT)
API = posixpath.commonpath(list(BASE_SPEC["paths"])).rstrip("/")
CUSTOMER = BASE_SPEC["components"]["schemas"]["Customer"]["properties"]
PARAMETERS = BASE_SPEC["components"]["parameters"]
FILTERS = {key: p for key, p in PARAMETERS.items() if "x-threedcart-filter" in p}
FILTERED_FIELDS = {p["x-threedcart-filter"]["field"] for p in FILTERS.values()}
EQUALS = [k for k, p in FILTERS.items() if p["x-threedcart-filter"]["match"] == "equals"]
# a plain text field: no filter matches it and create does not require it
TEXT_FIELD = [
    n
    for n, s in CUSTOMER.items()
    if s.get("type") == "string" and n not in FILTERED_FIELDS | {"Email", "Password"}
][-1]


def _customer_shaped(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Where a field change is made: `Customer` alone. The closed request bodies (CustomerCreate,
    CustomerUpdate, CustomerUpdateItem) repeat its properties, and `make generate` writes those
    copies (tools/spec_derive.py): a scenario that edited them too would hide a missing step."""
    return [spec["components"]["schemas"]["Customer"]]


def _list_operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations that take the list filters."""
    ref = {"$ref": f"#/components/parameters/{EQUALS[0]}"}
    return [
        op
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and ref in op.get("parameters", [])
    ]


def _sdk_name(key: str) -> str:
    param = PARAMETERS[key]
    return str(param["x-threedcart-filter"].get("sdk-name", param["name"]))


# --- the scenarios -------------------------------------------------------------------------------
@dataclass
class Scenario:
    id: str
    breaking: bool
    apply: Callable[[dict[str, Any]], None]
    named: list[str]
    """What `make api-diff` must print about the change (each its own line)."""
    smoke: dict[str, Any] = field(default_factory=dict)


def _add_field(name: str, schema: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def apply(spec: dict[str, Any]) -> None:
        for shaped in _customer_shaped(spec):
            shaped["properties"][name] = {
                **copy.deepcopy(schema),
                "description": "A synthetic field of the tests.",
            }

    return apply


FIELD_SHAPES: list[tuple[str, str, dict[str, Any], Any, Any]] = [
    ("integer", "XTestLoyaltyPoints", {"type": "integer", "format": "int32", "minimum": 0}, 120, 121),
    ("number", "XTestBalance", {"type": "number", "format": "double"}, 12.5, 13.25),
    ("string-date", "XTestBirthDate", {"type": "string", "format": "date"}, "1990-04-01", "1991-05-02"),
    ("boolean", "XTestVip", {"type": "boolean"}, True, False),
    ("enum", "XTestTier", {"type": "string", "enum": ["bronze", "silver", "gold"]}, "silver", "gold"),
    ("nullable", "XTestNickname", {"type": "string", "nullable": True, "maxLength": 50}, "Ace", None),
    ("array-of-strings", "XTestTags", {"type": "array", "items": {"type": "string"}}, ["a", "b"], ["c"]),
    (
        "object",
        "XTestPreferences",
        {
            "type": "object",
            "properties": {"XTestChannel": {"type": "string"}, "XTestFrequency": {"type": "integer"}},
        },
        {"XTestChannel": "email", "XTestFrequency": 3},
        {"XTestChannel": "sms", "XTestFrequency": 1},
    ),
    (
        "array-of-objects",
        "XTestAddresses",
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"XTestLabel": {"type": "string"}, "XTestZip": {"type": "string"}},
            },
        },
        [{"XTestLabel": "home", "XTestZip": "33602"}],
        [{"XTestLabel": "work", "XTestZip": "10001"}, {"XTestLabel": "home", "XTestZip": "33606"}],
    ),
]

# two filters: one names its SDK keyword, one takes the parameter's name
ADDED_FILTERS = [
    ("xtestzipcode", "BillingZipCode", "xtest_zip_code"),
    ("xtestcompany", "BillingCompany", None),
]


def _add_filters(spec: dict[str, Any]) -> None:
    for name, target, sdk in ADDED_FILTERS:
        rule: dict[str, Any] = {"field": target, "match": "equals", **({"sdk-name": sdk} if sdk else {})}
        spec["components"]["parameters"][name] = {
            "name": name,
            "in": "query",
            "x-threedcart-filter": rule,
            "required": False,
            "allowEmptyValue": True,
            "example": "XT1A",
            "description": f"A synthetic filter of the tests ({target}).",
            "schema": {"type": "string", "maxLength": 20},
        }
        for op in _list_operations(spec):
            op["parameters"].append({"$ref": f"#/components/parameters/{name}"})


ORDERS_PATH = f"{API}/Customers/{{id}}/XTestOrders"
ORDER = {
    "type": "object",
    "additionalProperties": True,
    "description": "A synthetic order of the tests.",
    "properties": {
        "XTestOrderID": {"type": "integer", "format": "int32", "minimum": 1},
        "XTestTotal": {"type": "number", "format": "double"},
        "XTestStatus": {"type": "string", "enum": ["new", "shipped"]},
    },
    "example": {"XTestOrderID": 7, "XTestTotal": 19.5, "XTestStatus": "new"},
}


def _add_operation(spec: dict[str, Any]) -> None:
    spec["components"]["schemas"]["XTestOrder"] = copy.deepcopy(ORDER)
    by_id = next(item for path, item in spec["paths"].items() if path == f"{API}/Customers/{{id}}")
    get = by_id["get"]
    spec["paths"][ORDERS_PATH] = {
        "parameters": copy.deepcopy(by_id["parameters"]),
        "get": {
            "operationId": "listXTestCustomerOrders",
            "tags": copy.deepcopy(get.get("tags", [])),
            "summary": "A synthetic operation of the tests: one customer's orders",
            "description": "Returns the orders of one customer (the evolution tests add it).",
            "security": copy.deepcopy(get.get("security", [])),
            "responses": {
                "200": {
                    "description": "The customer's orders.",
                    "content": {
                        "application/json": {
                            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/XTestOrder"}},
                            "example": [ORDER["example"]],
                        }
                    },
                },
                **{code: copy.deepcopy(answer) for code, answer in get["responses"].items() if code != "200"},
            },
        },
    }


DEPRECATED_FILTER = EQUALS[-1]


def _deprecate(spec: dict[str, Any]) -> None:
    for shaped in _customer_shaped(spec):
        shaped["properties"][TEXT_FIELD]["deprecated"] = True
    spec["components"]["parameters"][DEPRECATED_FILTER]["deprecated"] = True


REMOVED_FILTER = EQUALS[-1]


def _remove_filter(spec: dict[str, Any]) -> None:
    for op in _list_operations(spec):
        op["parameters"].remove({"$ref": f"#/components/parameters/{REMOVED_FILTER}"})
    del spec["components"]["parameters"][REMOVED_FILTER]


def _rename_field(spec: dict[str, Any]) -> None:
    for shaped in _customer_shaped(spec):
        shaped["properties"] = {
            (f"XTest{TEXT_FIELD}" if n == TEXT_FIELD else n): s for n, s in shaped["properties"].items()
        }


NEW_API = API.replace("/v1", "/XTestV2")


def _move_base_path(spec: dict[str, Any]) -> None:
    spec["paths"] = {p.replace(API, NEW_API, 1): item for p, item in spec["paths"].items()}


FIELD_SCENARIOS = {
    shape: Scenario(
        f"field-{shape}",
        False,
        _add_field(name, schema),
        [f"minor: Customer field `{name}` added"],
        {"fields": [{"name": name, "first": first, "second": second}]},
    )
    for shape, name, schema, first, second in FIELD_SHAPES
}


def _add_every_field(spec: dict[str, Any]) -> None:
    for scenario in FIELD_SCENARIOS.values():
        scenario.apply(spec)


EVERY_FIELD = Scenario(
    "fields (all shapes)",
    False,
    _add_every_field,
    [line for s in FIELD_SCENARIOS.values() for line in s.named],
    {"fields": [f for s in FIELD_SCENARIOS.values() for f in s.smoke["fields"]]},
)
"""A field of every shape, as one change (part of EVERY_ADDITION below)."""

SCENARIOS = [
    Scenario(
        "filters",
        False,
        _add_filters,
        [f"minor: query parameter {name} added (" for name, _, _ in ADDED_FILTERS],
        {
            "filters": [
                {
                    "param": name,
                    "sdk": sdk or name,
                    "option": f"--{(sdk or name).replace('_', '-')}",
                    "field": target,
                }
                for name, target, sdk in ADDED_FILTERS
            ]
        },
    ),
    Scenario(
        "operation",
        False,
        _add_operation,
        [f"minor: path `{ORDERS_PATH}` added"],
        {"operation": {"path": ORDERS_PATH, "schema": {"type": "array", "items": ORDER}}},
    ),
    Scenario(
        "deprecation",
        False,
        _deprecate,
        [
            f"minor: Customer field `{TEXT_FIELD}` deprecated",
            f"minor: query parameter {PARAMETERS[DEPRECATED_FILTER]['name']} deprecated (",
        ],
        {
            "deprecated": {
                "field": TEXT_FIELD,
                "filter_sdk": _sdk_name(DEPRECATED_FILTER),
                "filter_option": f"--{_sdk_name(DEPRECATED_FILTER).replace('_', '-')}",
                "filter_field": PARAMETERS[DEPRECATED_FILTER]["x-threedcart-filter"]["field"],
            }
        },
    ),
    Scenario(
        "removed-filter",
        True,
        _remove_filter,
        [f"major: query parameter {PARAMETERS[REMOVED_FILTER]['name']} removed ("],
    ),
    Scenario(
        "renamed-field",
        True,
        _rename_field,
        [f"major: Customer field `{TEXT_FIELD}` renamed to `XTest{TEXT_FIELD}`"],
    ),
    Scenario(
        "base-path",
        True,
        _move_base_path,
        [f"major: path `{API}/Customers` renamed to `{NEW_API}/Customers`"],
    ),
]
ADDITIVE = [s for s in SCENARIOS if not s.breaking]
BREAKING = [s for s in SCENARIOS if s.breaking]


def _add_everything(spec: dict[str, Any]) -> None:
    for scenario in (EVERY_FIELD, *ADDITIVE):
        scenario.apply(spec)


EVERY_ADDITION = Scenario(
    "every addition",
    False,
    _add_everything,
    [line for s in (EVERY_FIELD, *ADDITIVE) for line in s.named],
    # each scenario's part of the smoke run under its own key (fields, filters, operation, deprecated)
    {key: value for s in (EVERY_FIELD, *ADDITIVE) for key, value in s.smoke.items()},
)
"""One minor release with every additive change: the fields of every shape, the filters, the operation
and the deprecations."""
assert len(EVERY_ADDITION.smoke) == 1 + len(ADDITIVE), "two scenarios share a smoke key"


# --- the copy and its tools ------------------------------------------------------------------------
def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREEDCART_") and k != "PYTHONPATH"}
    env.update(
        PATH=f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        REDOCLY_TELEMETRY="off",
        NO_UPDATE_NOTIFIER="1",
    )
    return env


MAKE_VARS = (f"VENV={VENV}", "VENV_STAMP=", "NODE_STAMP=")
"""No stamp rule, so make never installs into the shared environment; VENV's bin runs the tools."""


def _make(root: Path, target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", target, *MAKE_VARS],
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _copy(source: Path, target: Path) -> Path:
    """The parts of the repository the scenarios need (see the module's docstring)."""
    target.mkdir(parents=True)
    for name in COPIED:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name, ignore=IGNORED, symlinks=True)
        else:
            shutil.copy2(source / name, target / name)
    (target / "tools").mkdir()
    for tool in (source / "tools").glob("*.py"):
        shutil.copy2(tool, target / "tools" / tool.name)
    shutil.copytree(source / "tools" / "spec", target / "tools" / "spec", ignore=IGNORED, symlinks=True)
    (target / "tools" / "spec" / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    return target


def _api_diff_module(root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("evolution_api_diff", root / "tools" / "api_diff.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _bumped(version: str, bump: str) -> str:
    major, minor, patch = (int(x) for x in version.split("."))
    return {
        "major": f"{major + 1}.0.0",
        "minor": f"{major}.{minor + 1}.0",
        "patch": f"{major}.{minor}.{patch + 1}",
    }[bump]


@dataclass
class Pristine:
    root: Path
    """A copy whose spec is its last release (see `pristine`)."""


def _say(request: pytest.FixtureRequest, text: str) -> None:
    """A line on the terminal, outside the output capture (timings, the baseline's state)."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is None or reporter is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(text)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Pristine]:
    """One copy of the repository as it is now; each scenario copies it again (a few milliseconds)."""
    started = time.perf_counter()
    assert NODE_MODULES.is_dir(), "tools/spec/node_modules is missing: run `make node` once"
    root = _copy(ROOT, tmp_path_factory.mktemp("evolution") / "pristine")
    # nothing make would run may install anything into the shared environment
    dry = subprocess.run(
        ["make", "-n", "generate", "check-generated", "api-diff", *MAKE_VARS],
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert dry.returncode == 0, dry.stdout + dry.stderr
    for word in ("pip ", "npm ", "venv ", str(ROOT) + "/generated", str(ROOT) + "/openapi"):
        assert word not in dry.stdout, f"`make` in the copy would run {word!r}:\n{dry.stdout}"
    # The scenarios change today's spec: it is their released baseline. When it already differs from
    # its last release more than its version allows (work in progress), the copy records it as
    # released under the version it needs, as `make release-spec` would after the bump, so that
    # each scenario's api-diff sees the scenario's changes only.
    api_diff = _api_diff_module(root)
    spec_file, released_dir = root / "openapi" / "customers.yaml", root / "openapi" / "released"
    releases = api_diff.released_specs(released_dir)
    version = api_diff.info_version(spec_file)
    if releases and releases[-1].read_bytes() != spec_file.read_bytes():
        drift = api_diff.compare(releases[-1], spec_file)
        if drift.bump and not api_diff.bump_covers(drift.base_version, version, drift.bump):
            version = _bumped(drift.base_version, drift.bump)
            spec = _spec_of(root)
            spec["info"]["version"] = version
            spec_file.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
            _say(
                request,
                f"\nevolution: today's spec needs a {drift.bump} bump against {releases[-1].name} "
                f"({len(drift.changes)} changes); the copy releases it as {version} for the scenarios",
            )
        shutil.copyfile(spec_file, released_dir / f"customers-{version}.yaml")
    TIMINGS["setup"] = {"copy and baseline": time.perf_counter() - started}
    yield Pristine(root)
    total = sum(sum(phases.values()) for phases in TIMINGS.values())
    lines = [f"evolution timings (s), {total:.1f} in all:"]
    lines += [
        f"  {name:<24} " + "  ".join(f"{k} {v:.2f}" for k, v in phases.items())
        for name, phases in TIMINGS.items()
    ]
    _say(request, "\n" + "\n".join(lines))


class _Timer:
    """Times the phases of one scenario into TIMINGS."""

    def __init__(self, scenario: str) -> None:
        self.phases = TIMINGS.setdefault(scenario, {})

    def __call__(self, phase: str, step: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return step()
        finally:
            self.phases[phase] = self.phases.get(phase, 0.0) + time.perf_counter() - started


def _prepare(pristine: Pristine, tmp_path: Path, scenario: Scenario, bump: str) -> tuple[Path, str]:
    """A copy with the scenario's change and the `bump` of info.version; the new version."""
    root = _copy(pristine.root, tmp_path / "repo")
    spec = _spec_of(root)
    scenario.apply(spec)
    spec["info"]["version"] = _bumped(spec["info"]["version"], bump)
    text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)
    (root / "openapi" / "customers.yaml").write_text(text, encoding="utf-8")
    return root, spec["info"]["version"]


def _ok(result: subprocess.CompletedProcess[str], what: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{what} failed (exit {result.returncode}):\n{output[-6000:]}"
    return output


def _module_of(root: Path, needle: str) -> str:
    """The dotted name of the generated operation module whose source holds `needle`."""
    package = root / "generated" / "threedcart_customers_client"
    found = [p for p in (package / "api").rglob("*.py") if needle in p.read_text(encoding="utf-8")]
    assert len(found) == 1, f"generated modules holding {needle!r}: {found}"
    return ".".join(found[0].relative_to(package.parent).with_suffix("").parts)


def _run_additive(pristine: Pristine, tmp_path: Path, scenario: Scenario) -> None:
    """Minor bump, regenerate, check-generated, api-diff (listing the change as minor), smoke run."""
    timed = _Timer(scenario.id)
    root, version = timed("copy", lambda: _prepare(pristine, tmp_path, scenario, "minor"))
    _ok(timed("generate", lambda: _make(root, "generate")), "make generate")
    _ok(timed("check-generated", lambda: _make(root, "check-generated")), "make check-generated")
    diff = _ok(timed("api-diff", lambda: _make(root, "api-diff")), "make api-diff")
    for line in scenario.named:
        assert f"  {line}" in diff, f"api-diff does not list {line!r}:\n{diff}"
    smoke = copy.deepcopy(scenario.smoke)
    if "operation" in smoke:
        smoke["operation"]["module"] = _module_of(root, "/XTestOrders")
    config = {
        "root": str(root),
        "work": str(tmp_path / "work"),
        "version": version,
        "text_field": TEXT_FIELD,
        **smoke,
    }
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join(str(root / part) for part in ("overlay", "generated", "mock"))
    result = timed(
        "smoke",
        lambda: subprocess.run(
            [str(PYTHON), str(SMOKE), json.dumps(config)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        ),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"smoke run of {scenario.id}:\n{output[-6000:]}"


@pytest.fixture(scope="module")
def every_addition(pristine: Pristine, tmp_path_factory: pytest.TempPathFactory) -> str | None:
    """The release with every additive change, run once: None when it passed, else its failure."""
    try:
        _run_additive(pristine, tmp_path_factory.mktemp("every-addition"), EVERY_ADDITION)
    except AssertionError as failure:
        return str(failure)
    return None


def test_one_release_makes_every_additive_change(every_addition: str | None) -> None:
    assert every_addition is None, every_addition


@pytest.mark.parametrize("shape", list(FIELD_SCENARIOS))
def test_an_added_field_of_each_shape_regenerates_and_works_end_to_end(
    every_addition: str | None, pristine: Pristine, tmp_path: Path, shape: str
) -> None:
    """Passes with the release of every addition; when that failed, this shape alone says if it is a cause."""
    if every_addition is not None:
        _run_additive(pristine, tmp_path, FIELD_SCENARIOS[shape])


@pytest.mark.parametrize("scenario", ADDITIVE, ids=[s.id for s in ADDITIVE])
def test_an_additive_change_regenerates_passes_the_gates_and_works_end_to_end(
    every_addition: str | None, pristine: Pristine, tmp_path: Path, scenario: Scenario
) -> None:
    """Passes with the release of every addition; when that failed, this change alone says if it is one."""
    if every_addition is not None:
        _run_additive(pristine, tmp_path, scenario)


@pytest.mark.parametrize("scenario", BREAKING, ids=[s.id for s in BREAKING])
def test_a_breaking_change_fails_api_diff_naming_it_until_the_major_bump(
    pristine: Pristine, tmp_path: Path, scenario: Scenario
) -> None:
    timed = _Timer(scenario.id)
    root, version = timed("copy", lambda: _prepare(pristine, tmp_path, scenario, "minor"))
    refused = timed("api-diff", lambda: _make(root, "api-diff"))
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, f"api-diff passed {scenario.id} with a minor bump ({version}):\n{output}"
    assert "need a major version bump" in refused.stderr, output
    for line in scenario.named:
        assert f"  - {line}" in refused.stderr, f"api-diff does not name {line!r}:\n{output}"
    spec = _spec_of(root)
    spec["info"]["version"] = major = _bumped(version, "major")
    (root / "openapi" / "customers.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    passed = _ok(timed("api-diff", lambda: _make(root, "api-diff")), f"make api-diff with {major}")
    for line in scenario.named:
        assert f"  {line}" in passed, f"api-diff does not list {line!r}:\n{passed}"
    _ok(timed("generate", lambda: _make(root, "generate")), "make generate")

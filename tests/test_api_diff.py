"""`make api-diff` and `make release-spec` on temporary copies of the spec and of the released spec.

A breaking change (a rename, a type change, a new base path) fails with the change and the bump it
needs; an additive change and a deprecation pass after a minor bump (a patch bump is not enough); a
parameter is named by its name and a type change is printed once; a release records the spec and a
changelog entry. Every synthetic change uses an `XTest` name, which no real API will add; the fields
and parameters they touch are picked from the spec.

make runs in a copy of the files these targets read (the Makefile, pyproject.toml, the generated
client's pyproject.toml, tools/versions.py and tools/api_diff.py, with tools/spec/node_modules
linked), with the repository's .venv by absolute path and VENV_STAMP and NODE_STAMP empty, as in
tests/test_evolution.py: `make release-spec` runs `tools/versions.py bump`, which rewrites the
pyproject.toml next to it, and then `make venv node`, which reinstalled the whole environment
(about 15 s, twice per test, and into the environment the other tests were running from).
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "openapi" / "customers.yaml"

pytestmark = pytest.mark.external  # make, and Redocly on Node.js behind `make api-diff`


def _load() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return spec


def _write(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _bump(spec: dict[str, Any], part: str) -> None:
    major, minor, patch = (int(x) for x in spec["info"]["version"].split("."))
    spec["info"]["version"] = {
        "major": f"{major + 1}.0.0",
        "minor": f"{major}.{minor + 1}.0",
        "patch": f"{major}.{minor}.{patch + 1}",
    }[part]


CUSTOMER: dict[str, Any] = _load()["components"]["schemas"]["Customer"]["properties"]
FILTERS: list[str] = [
    key for key, p in _load()["components"]["parameters"].items() if "x-threedcart-filter" in p
]
"""Keys (in components.parameters) of the list filters, from the spec."""
FILTERED_FIELDS = {_load()["components"]["parameters"][k]["x-threedcart-filter"]["field"] for k in FILTERS}
# A plain text field no filter matches and no allOf member repeats: renaming or deprecating it
# touches one declaration.
PLAIN_TEXT = [
    name
    for name, schema in CUSTOMER.items()
    if schema.get("type") == "string" and name not in FILTERED_FIELDS and name not in ("Email", "Password")
][-1]
AN_INTEGER = next(n for n, s in CUSTOMER.items() if s.get("type") == "integer" and n != "CustomerID")


@pytest.fixture
def released(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """Today's spec, released as its own version in a temporary folder."""
    base = _load()
    folder = tmp_path / "released"
    folder.mkdir()
    _write(folder / f"customers-{base['info']['version']}.yaml", base)
    return base, folder


COPIED = ("Makefile", "pyproject.toml", "generated/pyproject.toml", "tools/versions.py", "tools/api_diff.py")
MAKE_VARS = (f"VENV={ROOT / '.venv'}", "VENV_STAMP=", "NODE_STAMP=")
"""No stamp rule, so make never installs into the shared environment (see the module's docstring)."""
WORK: list[Path] = []
"""The copy make runs in (one per test process)."""


@pytest.fixture(scope="module", autouse=True)
def _work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    work = tmp_path_factory.mktemp("api-diff-repo")
    for name in COPIED:
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, work / name)
    (work / "tools" / "spec").mkdir()
    (work / "tools" / "spec" / "node_modules").symlink_to(ROOT / "tools" / "spec" / "node_modules")
    WORK.append(work)
    yield
    WORK.remove(work)


def _make(target: str, spec: Path, folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-s",
            target,
            f"SPEC={spec.resolve()}",
            f"RELEASED_DIR={folder.resolve()}",
            *MAKE_VARS,
            *extra,
        ],
        cwd=WORK[-1],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _rename_property(spec: dict[str, Any], old: str, new: str) -> None:
    props = spec["components"]["schemas"]["Customer"]["properties"]
    spec["components"]["schemas"]["Customer"]["properties"] = {
        (new if name == old else name): value for name, value in props.items()
    }


def _customer_id_as_string(node: Any) -> None:
    """Every declaration of CustomerID (Customer and the allOf members that repeat it) becomes a string."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict) and "CustomerID" in props:
            props["CustomerID"] = {"type": "string", "description": "The CustomerID, as a string."}
        for value in node.values():
            _customer_id_as_string(value)
    elif isinstance(node, list):
        for value in node:
            _customer_id_as_string(value)


def _base_path_xtest(spec: dict[str, Any]) -> None:
    spec["paths"] = {path.replace("/v1/", "/XTestV2/"): item for path, item in spec["paths"].items()}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            lambda s: _rename_property(s, PLAIN_TEXT, f"XTest{PLAIN_TEXT}"),
            f"`{PLAIN_TEXT}` renamed to `XTest",
        ),
        (_customer_id_as_string, "CustomerID"),
        (_base_path_xtest, "/XTestV2/Customers"),
    ],
    ids=["rename-field", "CustomerID-string", "base-path-XTestV2"],
)
def test_a_breaking_change_fails_naming_it_and_the_major_bump(
    released: tuple[dict[str, Any], Path], tmp_path: Path, change: Any, named: str
) -> None:
    base, folder = released
    revision = copy.deepcopy(base)
    change(revision)
    result = _make("api-diff", _write(tmp_path / "customers.yaml", revision), folder)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert named in output, output
    major = int(base["info"]["version"].split(".")[0])
    assert "need a major version bump" in output and f"({major + 1}.0.0)" in output, output
    # a minor bump is not enough either
    _bump(revision, "minor")
    result = _make("api-diff", _write(tmp_path / "customers.yaml", revision), folder)
    assert result.returncode != 0 and "major" in result.stderr, result.stdout + result.stderr


def _add_xtest_points(spec: dict[str, Any]) -> None:
    spec["components"]["schemas"]["Customer"]["properties"]["XTestLoyaltyPoints"] = {
        "type": "integer",
        "description": "A synthetic field of the tests (no real API adds an XTest name).",
        "example": 120,
    }


def test_an_added_field_needs_and_passes_with_a_minor_bump(
    released: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    base, folder = released
    revision = copy.deepcopy(base)
    _add_xtest_points(revision)
    spec = _write(tmp_path / "customers.yaml", revision)
    refused = _make("api-diff", spec, folder)
    assert refused.returncode != 0 and "need a minor version bump" in refused.stderr, refused.stderr
    _bump(revision, "minor")
    _write(spec, revision)
    passed = _make("api-diff", spec, folder)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "compatible with released" in passed.stdout


def test_release_records_the_spec_and_prepends_a_changelog_entry(
    released: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    base, folder = released
    revision = copy.deepcopy(base)
    _add_xtest_points(revision)
    _bump(revision, "minor")
    spec = _write(tmp_path / "customers.yaml", revision)
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text("# Changelog of the Customers API contract (`openapi/customers.yaml`)\n\n## 1.0.0\n")
    result = _make("release-spec", spec, folder, f"CHANGELOG={changelog}")
    assert result.returncode == 0, result.stdout + result.stderr
    version = revision["info"]["version"]
    assert (folder / f"customers-{version}.yaml").read_bytes() == spec.read_bytes()
    text = changelog.read_text()
    assert text.index(f"## {version} (") < text.index("## 1.0.0")
    assert "requires a minor bump" in text and "Customer field `XTestLoyaltyPoints` added" in text
    # the new release is the base of the next check: the same spec passes without another bump
    assert _make("api-diff", spec, folder).returncode == 0
    # a changed spec cannot be released again under the same version
    revision["info"]["description"] += "\nMore text."
    again = _make("release-spec", _write(spec, revision), folder, f"CHANGELOG={changelog}")
    assert again.returncode != 0 and "bump info.version" in again.stderr


def _deprecate_field(spec: dict[str, Any]) -> str:
    spec["components"]["schemas"]["Customer"]["properties"][PLAIN_TEXT]["deprecated"] = True
    return f"Customer field `{PLAIN_TEXT}` deprecated"


def _deprecate_filter(spec: dict[str, Any]) -> str:
    param = spec["components"]["parameters"][FILTERS[-1]]
    param["deprecated"] = True
    return f"{param['in']} parameter {param['name']} deprecated ("


def _deprecate_operation(spec: dict[str, Any]) -> str:
    path, method = next((p, m) for p, item in spec["paths"].items() for m in item if m == "delete")
    spec["paths"][path][method]["deprecated"] = True
    return f"operation DELETE {path} deprecated"


@pytest.mark.parametrize(
    "deprecate",
    [_deprecate_field, _deprecate_filter, _deprecate_operation],
    ids=["field", "filter", "operation"],
)
def test_a_deprecation_needs_a_minor_bump_not_a_patch(
    released: tuple[dict[str, Any], Path], tmp_path: Path, deprecate: Any
) -> None:
    """SemVer: deprecating announces a removal, a minor change (Redocly alone grades it a patch)."""
    base, folder = released
    revision = copy.deepcopy(base)
    line = deprecate(revision)
    spec = _write(tmp_path / "customers.yaml", revision)
    for bump in (None, "patch"):
        if bump:
            _bump(revision, bump)
            _write(spec, revision)
        refused = _make("api-diff", spec, folder)
        output = refused.stdout + refused.stderr
        assert refused.returncode != 0, output
        assert "need a minor version bump" in refused.stderr and f"minor: {line}" in refused.stderr, output
    _bump(revision, "minor")
    passed = _make("api-diff", _write(spec, revision), folder)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert f"  minor: {line}" in passed.stdout and "0 major, 1 minor, 0 patch" in passed.stdout


def _add_xtest_filter(spec: dict[str, Any]) -> None:
    """A new list filter, `xtestzipcode`, declared once and used by every operation that has the filters."""
    spec["components"]["parameters"]["xtestzipcode"] = {
        "name": "xtestzipcode",
        "in": "query",
        "x-threedcart-filter": {"field": "BillingZipCode", "match": "equals", "sdk-name": "xtest_zip_code"},
        "required": False,
        "allowEmptyValue": True,
        "description": "A synthetic filter of the tests.",
        "schema": {"type": "string", "maxLength": 20},
    }
    for item in spec["paths"].values():
        for op in item.values():
            refs = op.get("parameters", []) if isinstance(op, dict) else []
            if {"$ref": f"#/components/parameters/{FILTERS[0]}"} in refs:
                refs.append({"$ref": "#/components/parameters/xtestzipcode"})


def test_an_added_parameter_is_named_by_its_name(
    released: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    base, folder = released
    revision = copy.deepcopy(base)
    _add_xtest_filter(revision)
    spec = _write(tmp_path / "customers.yaml", revision)
    refused = _make("api-diff", spec, folder)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "need a minor version bump" in refused.stderr, output
    users = [
        f"{m.upper()} {p}"
        for p, item in revision["paths"].items()
        for m, op in item.items()
        if isinstance(op, dict)
        and {"$ref": "#/components/parameters/xtestzipcode"} in op.get("parameters", [])
    ]
    assert len(users) >= 2
    line = next(x for x in refused.stderr.splitlines() if "query parameter xtestzipcode added" in x)
    assert line.startswith("  - minor: query parameter xtestzipcode added (") and all(
        u in line for u in users
    )
    assert not re.search(r"parameters/[0-9]", output), output
    _bump(revision, "minor")
    passed = _make("api-diff", _write(spec, revision), folder)
    assert passed.returncode == 0 and "minor: query parameter xtestzipcode added (" in passed.stdout, (
        passed.stdout
    )


def test_removed_and_changed_parameters_are_named_by_their_names(
    released: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    base, folder = released
    revision = copy.deepcopy(base)
    removed, retyped = (revision["components"]["parameters"][k] for k in FILTERS[:2])
    assert removed["schema"]["type"] == retyped["schema"]["type"] == "string"
    list_op = next(
        (p, op)
        for p, item in revision["paths"].items()
        for op in item.values()
        if isinstance(op, dict)
        and {"$ref": f"#/components/parameters/{FILTERS[0]}"} in op.get("parameters", [])
    )
    list_op[1]["parameters"].remove({"$ref": f"#/components/parameters/{FILTERS[0]}"})
    retyped["schema"] = {"type": "integer", "minimum": 0}
    _bump(revision, "minor")
    result = _make("api-diff", _write(tmp_path / "customers.yaml", revision), folder)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "need a major version bump" in result.stderr, output
    assert f"  - major: query parameter {removed['name']} removed (GET {list_op[0]})" in result.stderr, output
    assert f"  - major: query parameter {retyped['name']}: type changed from 'string'" in result.stderr, (
        output
    )
    assert not re.search(r"parameters/[0-9]", output), output


def test_a_type_change_is_graded_and_printed_once(
    released: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    """Redocly reports a type change both narrowed (requests) and widened (answers): one change here."""
    base, folder = released
    revision = copy.deepcopy(base)
    revision["components"]["schemas"]["Customer"]["properties"][AN_INTEGER] = {
        "type": "string",
        "description": CUSTOMER[AN_INTEGER].get("description", ""),
    }
    _bump(revision, "minor")
    result = _make("api-diff", _write(tmp_path / "customers.yaml", revision), folder)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "need a major version bump" in result.stderr, output
    listed = [x for x in result.stdout.splitlines() if f"`{AN_INTEGER}`" in x]
    assert listed == [
        f"  major: Customer field `{AN_INTEGER}`: type changed from 'integer' {_int_format()}to 'string'"
    ]
    assert [x for x in result.stderr.splitlines() if f"`{AN_INTEGER}`" in x] == [f"  - {listed[0].strip()}"]
    assert "narrowed" not in output and "widened" not in output
    assert "1 major, 0 minor, 0 patch" in result.stdout


def _int_format() -> str:
    """How the type change names the integer's format (folded into the one line), if it has one."""
    fmt = CUSTOMER[AN_INTEGER].get("format")
    return f"(format {fmt}) " if fmt else ""


def test_the_repository_spec_passes_against_its_last_release() -> None:
    result = _make("api-diff", SPEC, ROOT / "openapi" / "released")
    assert result.returncode == 0, result.stdout + result.stderr

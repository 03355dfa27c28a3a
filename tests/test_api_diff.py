"""`make api-diff` and `make release-spec` on temporary copies of the spec and of the released spec.

A breaking change (a rename, a type change, a new base path) fails with the change and the bump it
needs; an additive change passes after a minor bump; a release records the spec and a changelog entry.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "openapi" / "customers.yaml"


def _load() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return spec


def _write(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _bump(spec: dict[str, Any], part: str) -> None:
    major, minor, _patch = (int(x) for x in spec["info"]["version"].split("."))
    spec["info"]["version"] = f"{major + 1}.0.0" if part == "major" else f"{major}.{minor + 1}.0"


@pytest.fixture
def released(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """Today's spec, released as its own version in a temporary folder."""
    base = _load()
    folder = tmp_path / "released"
    folder.mkdir()
    _write(folder / f"customers-{base['info']['version']}.yaml", base)
    return base, folder


def _make(target: str, spec: Path, folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", target, f"SPEC={spec}", f"RELEASED_DIR={folder}", *extra],
        cwd=ROOT,
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


def _base_path_v2(spec: dict[str, Any]) -> None:
    spec["paths"] = {path.replace("/v1/", "/v2/"): item for path, item in spec["paths"].items()}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda s: _rename_property(s, "BillingPhoneNumber", "BillingPhone"), "BillingPhoneNumber"),
        (_customer_id_as_string, "CustomerID"),
        (_base_path_v2, "/v2/Customers"),
    ],
    ids=["rename-BillingPhoneNumber", "CustomerID-string", "base-path-v2"],
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


def _add_loyalty_points(spec: dict[str, Any]) -> None:
    spec["components"]["schemas"]["Customer"]["properties"]["LoyaltyPoints"] = {
        "type": "integer",
        "description": "Loyalty points the customer holds.",
        "example": 120,
    }


def test_an_added_field_needs_and_passes_with_a_minor_bump(
    released: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    base, folder = released
    revision = copy.deepcopy(base)
    _add_loyalty_points(revision)
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
    _add_loyalty_points(revision)
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
    assert "requires a minor bump" in text and "LoyaltyPoints" in text
    # the new release is the base of the next check: the same spec passes without another bump
    assert _make("api-diff", spec, folder).returncode == 0
    # a changed spec cannot be released again under the same version
    revision["info"]["description"] += "\nMore text."
    again = _make("release-spec", _write(spec, revision), folder, f"CHANGELOG={changelog}")
    assert again.returncode != 0 and "bump info.version" in again.stderr


def test_the_repository_spec_passes_against_its_last_release() -> None:
    result = _make("api-diff", SPEC, ROOT / "openapi" / "released")
    assert result.returncode == 0, result.stdout + result.stderr

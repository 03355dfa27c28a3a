"""schemathesis runs the spec against the mock: all checks, all phases, zero failures.

Bounded for `make test` (a fixed seed and example count); `make fuzz` raises the count.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from threedcart_mock.testing import MockServer

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "openapi" / "customers.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
PATHS = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"]
OPERATIONS = sum(1 for item in PATHS.values() for method in item if method in METHODS)
CONFIG = Path(__file__).parent / "schemathesis" / "schemathesis.toml"
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "40")
SEED = os.environ.get("SCHEMATHESIS_SEED", "1")


@pytest.mark.slow
def test_spec_against_the_mock_has_no_failures(tmp_path: Path) -> None:
    st = Path(sys.executable).parent / "st"
    junit = tmp_path / "junit.xml"
    with MockServer(["--seed-customers", "300", "--random-seed", "1"]) as mock:
        headers = [arg for name, value in mock.headers.items() for arg in ("-H", f"{name}: {value}")]
        result = subprocess.run(
            [
                str(st),
                "--config-file",
                str(CONFIG),
                "run",
                str(SPEC),
                "--url",
                mock.url,
                *headers,
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
                "--report",
                "junit",
                "--report-junit-path",
                str(junit),
            ],
            capture_output=True,
            text=True,
            timeout=540 if int(MAX_EXAMPLES) <= 100 else 1700,
            cwd=tmp_path,
        )
        assert mock.running(), "the mock died during the run"
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    assert "No issues found" in result.stdout, summary
    # Every operation of the spec was exercised, and the report agrees there were no failures.
    assert f"Selected: {OPERATIONS}/{OPERATIONS}" in result.stdout, summary
    assert f"Tested: {OPERATIONS}" in result.stdout, summary
    suites = ET.parse(junit).getroot()
    failures = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites.iter("testsuite"))
    cases = sum(1 for _ in suites.iter("testcase"))
    assert failures == 0 and cases >= OPERATIONS, summary
    assert "PrivateKey: demo-private-key" not in result.stdout

"""The demo's tour runs to the end (with a smaller store, to fit the test budget)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_the_demo_tour_runs_to_the_end(tmp_path: Path) -> None:
    env = {**os.environ, "DEMO_CUSTOMERS": "3000", "DEMO_OUT": str(tmp_path)}
    env = {k: v for k, v in env.items() if not k.startswith("THREEDCART_")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "demo" / "tour.py")], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "exported 3000 customers" in result.stdout
    assert "updated 300 customers; 1 rows failed" in result.stdout
    assert "99999999,The Customer record was not found" in result.stdout
    assert "300 changed customers picked up (expected 300)" in result.stdout
    assert "inserted 0, updated 1, deleted 1" in result.stdout  # the mirror's reconciling run
    assert "The mock is stopped." in result.stdout
    assert sum(1 for _ in (tmp_path / "customers.jsonl").open()) == 3000
    assert sum(1 for _ in (tmp_path / "sync-2.jsonl").open()) == 300

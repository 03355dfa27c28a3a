"""Every package ships its licence, URLs and classifiers, and the licence file matches them."""

from __future__ import annotations

from importlib.metadata import metadata
from pathlib import Path

import pytest

LICENSE = Path(__file__).parent.parent / "LICENSE"


@pytest.mark.parametrize("distribution", ["threedcart", "threedcart-mock", "threedcart-customers-client"])
def test_package_metadata(distribution: str) -> None:
    meta = metadata(distribution)
    assert meta["License"] == "MIT"
    assert "License :: OSI Approved :: MIT License" in (meta.get_all("Classifier") or [])
    urls = meta.get_all("Project-URL") or []
    assert urls and all(", https://" in url for url in urls)


def test_the_license_file_matches_the_declared_licence() -> None:
    assert LICENSE.read_text().startswith("MIT License\n")

"""Build hook: ship the repository's `openapi/customers.yaml` inside the package.

The spec has one source, `openapi/customers.yaml` at the repository's root. A wheel built from
the repository gets a copy at `threedcart_mock/customers.yaml` (`build_py`), and so does an sdist
(`sdist`), so that a wheel built from the sdist has it too. `_schema.spec_path()` reads the
repository's file when there is one and the packaged copy otherwise. `tests/test_mock_sandbox.py`
checks that a built package carries a copy equal to the repository's file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "customers.yaml"
PACKAGED = Path("threedcart_mock") / "customers.yaml"


def _copy_spec(root: str) -> None:
    target = Path(root) / PACKAGED
    if SPEC.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SPEC, target)
    elif not target.is_file():  # neither the repository's spec nor a copy from an sdist
        raise FileNotFoundError(f"{SPEC} not found: build threedcart-mock from the repository")


class BuildPyWithSpec(build_py):
    def run(self) -> None:
        super().run()
        _copy_spec(self.build_lib)


class SdistWithSpec(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        _copy_spec(base_dir)


setup(cmdclass={"build_py": BuildPyWithSpec, "sdist": SdistWithSpec})

"""The `threedcart` command line: count, list, export, import and sync a store's customers.

It needs the `cli` extra (Typer and Rich: `pip install '.[cli]'` in a checkout, or the wheel `make
dist` builds with `[cli]`); the SDK itself never imports this package.
"""

from __future__ import annotations

import sys

_CLI_DEPENDENCIES = frozenset({"typer", "rich", "click"})


def main() -> None:
    """Entry point of the `threedcart` console script."""
    try:
        from ._app import run
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in _CLI_DEPENDENCIES:
            raise
        from .._constants import install_hint

        sys.stderr.write(
            f"error: the threedcart command needs {exc.name}, from threedcart's cli extra: "
            f"{install_hint('cli')}\n"
        )
        raise SystemExit(1) from None
    run()


__all__ = ["main"]

# pyright: strict
"""`threedcart contract-check`: the spec against a live store (registered on `app` by `_app`).

The check itself is `threedcart.contract`, which needs the `contract` extra; it is imported when
the command runs, so no other command loads PyYAML or openapi-schema-validator.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .. import Store
from .._constants import install_hint
from ._app import _store, app  # pyright: ignore[reportPrivateUsage]  (the CLI's own helper)
from ._output import clean, say_error

if TYPE_CHECKING:
    from ..contract import Finding

USAGE_ERROR = 2
_INSTALL = install_hint("contract")


def _usage(message: str) -> typer.Exit:
    say_error(message)
    return typer.Exit(USAGE_ERROR)


def _contract_store(ctx: typer.Context) -> Store:
    """The store from the options or the environment, always with the documented rate limit."""
    return _store(ctx, _usage, rate_limit=True)


def _say(finding: Finding) -> None:
    sys.stdout.write(clean(finding.line()) + "\n")
    sys.stdout.flush()


@app.command("contract-check")
def contract_check_cmd(
    ctx: typer.Context,
    allow_writes: Annotated[
        bool,
        typer.Option(
            "--allow-writes",
            help="Also create a customer (unique email), update it, bulk-update it and delete it.",
        ),
    ] = False,
    spec_file: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            help="The OpenAPI document, YAML or .json (default: the spec this version was built from).",
            envvar="THREEDCART_SPEC",
        ),
    ] = None,
) -> None:
    """Check the spec against the live store: every deviation on one line, then a summary.

    Runs the spec's read-only operations (lists with filters and paging, a count, a get by an
    existing and by a missing id, a group list); writes only with --allow-writes, on one
    customer it creates and deletes. Exit status 0 when the answers match the spec, 1 when
    they deviate, 2 on a usage error.

    Example: threedcart --base-url https://apirest.3dcart.com contract-check
    """
    try:
        from ..contract import CheckAborted, ContractCheck, Spec, SpecError, load_spec
    except ModuleNotFoundError as exc:
        raise _usage(f"contract-check needs the contract extra ({exc.name} is missing): {_INSTALL}") from None
    try:
        spec = Spec(load_spec(spec_file))
    except SpecError as exc:
        raise _usage(str(exc)) from None
    with _contract_store(ctx) as store:
        check = ContractCheck(spec, store.client.get_httpx_client(), allow_writes=allow_writes, progress=_say)
        try:
            report = check.run()
        except CheckAborted as exc:
            raise _usage(str(exc)) from None
        except SpecError as exc:
            raise _usage(f"the spec: {exc}") from None
        sys.stdout.write(clean(f"{report.summary()} ({store.base_url})") + "\n")
    if report.deviations or report.stopped:
        raise typer.Exit(1)

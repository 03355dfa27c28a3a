# pyright: strict
"""`threedcart.contract`: the spec's operations against a live store, every deviation named.

What `threedcart contract-check` runs. It needs the `contract` extra (PyYAML to read the spec,
openapi-schema-validator to judge the answers): `pip install '.[contract]'` in a checkout of
threedcart, or its wheel with `[contract]` (`INSTALL_HINT`). Importing `threedcart` never imports
this package.

    from threedcart.contract import ContractCheck, Spec, load_spec

    with threedcart.Store.from_env(rate_limit=True) as store:
        report = ContractCheck(Spec(load_spec()), store.client.get_httpx_client()).run()
    print(report.summary())

`load_spec()` reads the spec this version was generated from, shipped in this package
(`customers.yaml`); pass another (a path, YAML or `.json`) to check against it.
"""

from __future__ import annotations

from .._constants import install_hint

INSTALL_HINT = install_hint("contract")

try:  # the modules below import PyYAML and openapi-schema-validator
    from ._check import BODILESS_ALLOWED, CheckAborted, ContractCheck, Finding, Report
    from ._spec import Operation, Response, Spec, SpecError, load_spec, packaged_spec
except ModuleNotFoundError as _missing:
    raise ModuleNotFoundError(
        f"threedcart.contract needs the contract extra ({_missing}): {INSTALL_HINT}", name=_missing.name
    ) from _missing

__all__ = [
    "BODILESS_ALLOWED",
    "INSTALL_HINT",
    "CheckAborted",
    "ContractCheck",
    "Finding",
    "Operation",
    "Report",
    "Response",
    "Spec",
    "SpecError",
    "load_spec",
    "packaged_spec",
]

# pyright: strict
"""`threedcart.mirror`: the store's customers in a database, exact after every run, deletes included.

What `threedcart customers mirror` runs, on dlt (dltHub): merge by CustomerID, the sync watermark
in dlt's state stored with the rows, schema evolution, and destinations from DuckDB (the default)
and PostgreSQL to the warehouses. It needs the `mirror` extra (`INSTALL_HINT`).
Importing `threedcart` never imports this package.

    import threedcart
    from threedcart import mirror

    with threedcart.Store.from_env() as store:
        result = mirror.run(store, "duckdb:///customers.duckdb", reconcile=True)
    print(result.summary())

`mirror.customers(store)` is the dlt resource itself, for a pipeline of your own.
"""

from __future__ import annotations

from .._constants import install_hint
from ._memory import limit_malloc_arenas
from ._plan import DATASET, DEFAULT_INTO, DELETED_AT, PIPELINE, TABLE, column_hints, destination, redact

INSTALL_HINT = install_hint("mirror")

try:  # the modules below import dlt
    from ._load import (
        MirrorError,
        MirrorResult,
        SyncOutcome,
        customers,
        pipeline_for,
        reconcile,
        run,
    )
except ModuleNotFoundError as _missing:
    raise ModuleNotFoundError(
        f"threedcart.mirror needs the mirror extra ({_missing}): {INSTALL_HINT}", name=_missing.name
    ) from _missing

__all__ = [
    "DATASET",
    "DEFAULT_INTO",
    "DELETED_AT",
    "INSTALL_HINT",
    "PIPELINE",
    "TABLE",
    "MirrorError",
    "MirrorResult",
    "SyncOutcome",
    "column_hints",
    "customers",
    "destination",
    "limit_malloc_arenas",
    "pipeline_for",
    "reconcile",
    "redact",
    "run",
]

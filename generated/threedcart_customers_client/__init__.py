"""A client library for accessing 3dcart (Shift4Shop) REST API v1 — Customers"""

from .client import AuthenticatedClient, Client

# The spec's `info.version` (openapi/customers.yaml), the one version source of the contract.
__version__ = "2.0.0"

__all__ = (
    "AuthenticatedClient",
    "Client",
    "__version__",
)

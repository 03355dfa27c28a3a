"""A client library for accessing 3dcart (Shift4Shop) REST API v1 — Customers"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)

"""threedcart: a friendly, typed Python SDK for the 3dcart (Shift4Shop) REST API v1 Customers resource.

>>> import threedcart
>>> with threedcart.Store.from_env() as store:
...     for customer in store.customers.iter(state="FL"):
...         print(customer.customer_id, customer.email)

`Store` is synchronous and thread-safe; `AsyncStore` is its asyncio twin. Errors are in
`threedcart.errors`. The models are the generated ones, re-exported.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from threedcart_customers_client.models import Customer
from threedcart_customers_client.spec import API_VERSION

from . import errors
from ._bulk import BulkFailure, BulkResult, partial_result
from ._client import AsyncStore, Store, StoreOptions
from ._customers import Customers, RawCustomers, SyncRun
from ._customers_async import AsyncCustomers, AsyncRawCustomers, AsyncSyncRun
from ._params import Filters
from ._resources import CustomerLike, RawResponse
from ._rows import Blanks, customer_from_csv_row
from ._shared_limit import SharedRateLimit
from ._sync import SyncWindow
from ._throttle import RateLimit
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PaginationError,
    RateLimitError,
    ServerError,
    StoreClosedError,
    ThreeDCartError,
    UnsupportedMediaTypeError,
)

try:
    __version__ = _metadata.version("threedcart")
    """The version of this SDK (the `threedcart` distribution); its major is the API contract's."""
except _metadata.PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [  # noqa: RUF022 -- plain sorted() order, which tests/test_sdk_units.py checks
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APITimeoutError",
    "API_VERSION",
    "AsyncCustomers",
    "AsyncRawCustomers",
    "AsyncStore",
    "AsyncSyncRun",
    "AuthenticationError",
    "BadRequestError",
    "Blanks",
    "BulkFailure",
    "BulkResult",
    "Customer",
    "CustomerLike",
    "Customers",
    "Filters",
    "NotFoundError",
    "PaginationError",
    "RateLimit",
    "RateLimitError",
    "RawCustomers",
    "RawResponse",
    "ServerError",
    "SharedRateLimit",
    "Store",
    "StoreClosedError",
    "StoreOptions",
    "SyncRun",
    "SyncWindow",
    "ThreeDCartError",
    "UnsupportedMediaTypeError",
    "__version__",
    "customer_from_csv_row",
    "errors",
    "partial_result",
]

"""Defaults of the SDK, in one place."""

from __future__ import annotations

import httpx

DEFAULT_BASE_URL = "https://apirest.3dcart.com"
PRODUCTION_HOST = "apirest.3dcart.com"

# connect quickly or fail; a page of 500 customers can take a while on a busy store
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
DEFAULT_MAX_RETRIES = 2
# One attempt may last at most this many times its longest timeout, however the server drips.
ATTEMPT_DEADLINE_FACTOR = 3.0
# The largest decompressed answer accepted (a page of 500 customers is about 0.5 MB).
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
INITIAL_RETRY_DELAY = 0.5  # seconds, doubled each attempt
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0  # a Retry-After longer than this is capped
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# The documented leaky bucket of the real service, per store.
BUCKET_CAPACITY = 50
BUCKET_LEAK_PER_SECOND = 2.0

MAX_PAGE_SIZE = 500  # the API's batch size for customers (largest `limit`)
MAX_BULK_BATCH = 500  # the largest bulk update the SDK sends
PAGE_OVERLAP = 1  # records each page shares with the one before it, to prove nothing was skipped

STORE_TIMEZONE = "America/New_York"  # store-side times are US Eastern
ENV_SECURE_URL = "THREEDCART_SECURE_URL"
ENV_PRIVATE_KEY = "THREEDCART_PRIVATE_KEY"
ENV_TOKEN = "THREEDCART_TOKEN"
ENV_BASE_URL = "THREEDCART_BASE_URL"
ENV_LOG = "THREEDCART_LOG"
ENV_TIMEOUT = "THREEDCART_TIMEOUT"
ENV_STORE_TIMEZONE = "THREEDCART_STORE_TIMEZONE"


def install_hint(extra: str) -> str:
    """How to install one of threedcart's extras. threedcart is on no package index, so the extra
    comes from where threedcart itself came from: a checkout, or the wheel `make dist` builds."""
    from . import __version__  # at call time: the package's __init__ imports this module

    return (
        f"pip install '.[{extra}]' in a checkout of threedcart, or "
        f"pip install 'dist/threedcart-{__version__}-py3-none-any.whl[{extra}]' after make dist"
    )

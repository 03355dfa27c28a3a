"""The exceptions the SDK raises.

    ThreeDCartError
    ├── APIError                    the service answered with an error status
    │   ├── BadRequestError             400
    │   ├── AuthenticationError         401
    │   ├── NotFoundError               404
    │   ├── UnsupportedMediaTypeError   415
    │   ├── RateLimitError              429
    │   └── ServerError                 5xx
    ├── APIConnectionError          no answer: connection refused or reset, DNS, TLS
    │   └── APITimeoutError             connect, read, write or pool timeout
    └── PaginationError             a list kept changing too fast to be read completely

Every `APIError` carries the HTTP `status_code`, the service's `message` (from the error
body, or the status text when the answer has no body) and the `response`. Messages never
contain credentials.

Bad arguments to an SDK method raise the built-in `ValueError` or `TypeError`, naming the
argument.
"""

from __future__ import annotations

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "NotFoundError",
    "PaginationError",
    "RateLimitError",
    "ServerError",
    "ThreeDCartError",
    "UnsupportedMediaTypeError",
]


class ThreeDCartError(Exception):
    """The root of every error the SDK raises about the service."""


class APIError(ThreeDCartError):
    """The service answered with an error status."""

    status_code: int
    message: str
    response: httpx.Response

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.message = message
        self.response = response
        super().__init__(f"{response.status_code} {message}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r})"


class BadRequestError(APIError):
    """400: a parameter or the body was rejected; the message names the problem."""


class AuthenticationError(APIError):
    """401: the SecureURL/PrivateKey/Token combination is invalid or lacks the privilege."""


class NotFoundError(APIError):
    """404: the customer (or customer group) does not exist."""


class UnsupportedMediaTypeError(APIError):
    """415: the request body was not JSON."""


class RateLimitError(APIError):
    """429: the store's request bucket overflowed (after the SDK's retries)."""


class ServerError(APIError):
    """5xx: the service failed (after the SDK's retries)."""


class APIConnectionError(ThreeDCartError):
    """No answer from the service: the connection was refused or broken."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, write or waiting for a pooled connection)."""


class PaginationError(ThreeDCartError):
    """A list shifted under the reader so often that no complete reading could be proven.

    Raised instead of returning a list that might miss records; reading again later works.
    """


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    415: UnsupportedMediaTypeError,
    429: RateLimitError,
}


def error_class(status_code: int) -> type[APIError]:
    """The exception class for an error status."""
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, APIError)

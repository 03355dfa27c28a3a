"""The exceptions the SDK raises.

    ThreeDCartError
    ├── APIError                    the service answered with an error status
    │   ├── APIResponseValidationError  an answer that cannot be used: too large, undecodable,
    │   │                               or not the documented shape (any status)
    │   ├── BadRequestError             400
    │   ├── AuthenticationError         401
    │   ├── NotFoundError               404
    │   ├── UnsupportedMediaTypeError   415
    │   ├── RateLimitError              429
    │   └── ServerError                 5xx
    ├── APIConnectionError          no answer: connection refused or reset, DNS, TLS
    │   └── APITimeoutError             connect, read, write or pool timeout
    ├── PaginationError             a list kept changing too fast to be read completely
    └── StoreClosedError            the store was closed before the call

Every `APIError` carries the HTTP `status_code`, the service's `message` (from the error
body, or the status text when the answer has no body) and the `response`, whose `request`
is a copy with the credentials replaced by `[redacted]`. The credentials are also removed
by value, wherever the service echoed them: from the message and the args, the response's
headers, reason and body, the request's URL, and every exception of the `__cause__` and
`__context__` chain (copies of the httpx errors, each with a redacted request). Every
exception pickles and unpickles (for `ProcessPoolExecutor` and `multiprocessing`) without them.

Bad arguments to an SDK method raise the built-in `ValueError` or `TypeError`, naming the
argument.

An error that stops `update_many` carries what it finished before it as `partial_result` (a
`BulkResult`; None on every other error). Whatever else stops it (Ctrl-C, a cancellation, the
input iterator raising) carries it too: `threedcart.partial_result(exc)` reads it from any
exception.
"""

from __future__ import annotations

import contextlib

import httpx

from ._bulk import BulkResult
from ._secrets import REDACTED, scrub, scrub_bytes

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "NotFoundError",
    "PaginationError",
    "RateLimitError",
    "ServerError",
    "StoreClosedError",
    "ThreeDCartError",
    "UnsupportedMediaTypeError",
]


SECRET_HEADERS = frozenset({"privatekey", "token", "authorization", "cookie", "proxy-authorization"})


def _url(url: httpx.URL) -> httpx.URL:
    text = str(url)
    clean = scrub(text)
    return url if clean == text else httpx.URL(clean)


def redact_request(request: httpx.Request) -> httpx.Request:
    """A copy of `request` (method, URL, headers) whose credentials read `[redacted]`; no body."""
    headers = [(k, REDACTED if k.lower() in SECRET_HEADERS else scrub(v)) for k, v in request.headers.items()]
    return httpx.Request(request.method, _url(request.url), headers=headers)


def _redact_response(response: httpx.Response) -> httpx.Response:
    try:
        request: httpx.Request | None = response.request
    except RuntimeError:
        request = None
    try:
        content = response.content
    except httpx.ResponseNotRead:
        content = b""
    extensions = {k: v for k, v in response.extensions.items() if k in ("http_version", "reason_phrase")}
    if isinstance(extensions.get("reason_phrase"), bytes):
        extensions["reason_phrase"] = scrub_bytes(extensions["reason_phrase"])
    headers = [
        (k, REDACTED if k.lower() in SECRET_HEADERS else scrub(v))
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=scrub_bytes(content),
        request=None if request is None else redact_request(request),
        extensions=extensions,
    )


def _unpickle(cls: type[ThreeDCartError], args: tuple[object, ...]) -> ThreeDCartError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    return error


def _scrubbed(value: object) -> object:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bytes):
        return scrub_bytes(value)
    if isinstance(value, httpx.Response):
        return _redact_response(value)
    if isinstance(value, httpx.Request):
        return redact_request(value)
    return value


class ThreeDCartError(Exception):
    """The root of every error the SDK raises about the service."""

    partial_result: BulkResult | None = None
    """What `update_many` finished before this error stopped it (None: raised elsewhere)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(_scrubbed(a) for a in args))

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructors do not survive the default pickling; state travels as __dict__.
        args = tuple(_scrubbed(a) for a in self.args)
        return (_unpickle, (type(self), args), {k: _scrubbed(v) for k, v in self.__dict__.items()})


class APIError(ThreeDCartError):
    """The service answered with an error status."""

    status_code: int
    message: str
    response: httpx.Response

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.message = scrub(message)
        self.response = _redact_response(response)
        super().__init__(f"{response.status_code} {message}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r})"


class APIResponseValidationError(APIError):
    """The service answered something the SDK cannot use: larger than `max_response_bytes`,
    undecodable, or not the documented shape. Its `status_code` is the answer's status."""


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

    request: httpx.Request | None
    """The request that got no answer (credentials redacted), when known."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = None if request is None else redact_request(request)


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, write or waiting for a pooled connection)."""


class PaginationError(ThreeDCartError):
    """A list shifted under the reader so often that no complete reading could be proven.

    Raised instead of returning a list that might miss records; reading again later works.
    """


class StoreClosedError(ThreeDCartError):
    """The store (or the store of this `with_options` view) was closed before the call.

    Build a new store; a closed one stays closed.
    """


_MAX_CHAIN = 16


def _scrub_in_place(exc: BaseException) -> None:
    """Scrub an exception of the chain: its args, its attributes, its request; drop its traceback
    (whose frames hold the headers as sent, credentials and all). The SDK's own are scrubbed
    as they are made."""
    if not isinstance(exc, ThreeDCartError):
        if isinstance(exc, httpx.HTTPError):
            with contextlib.suppress(RuntimeError):  # RuntimeError: raised without a request
                exc.request = redact_request(exc.request)
        with contextlib.suppress(Exception):  # an exception type that refuses: nothing to scrub there
            args = tuple(_scrubbed(a) for a in exc.args)
            if args != exc.args:
                exc.args = args
            for key, value in list(vars(exc).items()):
                if _scrubbed(value) is not value:
                    setattr(exc, key, _scrubbed(value))
    exc.__traceback__ = None


def seal(exc: ThreeDCartError) -> ThreeDCartError:
    """`exc` with every exception of its `__cause__` and `__context__` chain scrubbed (in place)."""
    seen = {id(exc)}
    todo = [(exc.__cause__, 1), (exc.__context__, 1)]
    while todo:
        link, depth = todo.pop()
        if link is None or id(link) in seen:
            continue
        seen.add(id(link))
        _scrub_in_place(link)  # the link a cut ends at too: it stays attached
        if depth > _MAX_CHAIN:  # a chain this long is a loop of some kind: cut it
            link.__cause__ = link.__context__ = None
            continue
        todo += [(link.__cause__, depth + 1), (link.__context__, depth + 1)]
    return exc


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

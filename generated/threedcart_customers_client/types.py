"""Contains some shared types for properties"""

import json
from collections.abc import Mapping, MutableMapping
from http import HTTPStatus
from typing import IO, Any, BinaryIO, Generic, Literal, TypeVar

import httpx
import orjson
from attrs import define, field


class Unset:
    def __bool__(self) -> Literal[False]:
        return False


UNSET: Unset = Unset()

# The types that `httpx.Client(files=)` can accept, copied from that library.
FileContent = IO[bytes] | bytes | str
FileTypes = (
    # (filename, file (or bytes), content_type)
    tuple[str | None, FileContent, str | None]
    # (filename, file (or bytes), content_type, headers)
    | tuple[str | None, FileContent, str | None, Mapping[str, str]]
)
RequestFiles = list[tuple[str, FileTypes]]


@define
class File:
    """Contains information for file uploads"""

    payload: BinaryIO
    file_name: str | None = None
    mime_type: str | None = None

    def to_tuple(self) -> FileTypes:
        """Return a tuple representation that httpx will accept for multipart/form-data"""
        return self.file_name, self.payload, self.mime_type


T = TypeVar("T")


@define
class Response(Generic[T]):
    """A response from an endpoint.

    `status_code` is an `HTTPStatus` when Python names the code, else the plain number (a 299 or
    a 599 is still an answer). `http_response` is the `httpx.Response` it was read from: its
    headers, timing (`elapsed`) and request.
    """

    status_code: HTTPStatus | int
    content: bytes
    headers: MutableMapping[str, str]
    parsed: T | None
    http_response: httpx.Response = field(repr=False)


def status_of(code: int) -> HTTPStatus | int:
    """`code` as an `HTTPStatus` when Python names it, else as it is."""
    try:
        return HTTPStatus(code)
    except ValueError:
        return code


class UnreadableResponse(ValueError):
    """A documented success status whose body is not what the document says it is.

    `http_response` is the answer; the exception it is raised from says what was wrong.
    """

    def __init__(self, http_response: httpx.Response, cause: BaseException) -> None:
        super().__init__(f"the answer ({http_response.status_code}) is not the documented body: {type(cause).__name__}")
        self.http_response = http_response


# Bytes to their digits as "0" and everything else as " ": an integer literal that orjson would
# read as a float (beyond 64 bits, so 19 digits or more) becomes a run of 19 zeros.
_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_INTEGER = b"0" * 19


def parse_json(content: bytes) -> Any:
    """A JSON body's value, exactly as `json.loads(content)` (and httpx's `response.json()`) reads it.

    orjson reads it, about twice as fast, when it reads it the same way. Otherwise `json.loads`
    does, with its own value or error: whatever orjson refuses (an empty body, a UTF-8 BOM, UTF-16
    or UTF-32, NaN and Infinity, lone surrogates, nesting past 1024 levels, malformed JSON), and
    any run of 19 or more digits, as orjson reads an integer beyond 64 bits as a float. One
    difference remains: orjson reads nesting up to 1024 levels, where `json.loads` raises
    RecursionError from about 1000 levels (its limit is the interpreter's recursion limit less the
    caller's depth); deeper nesting raises RecursionError as before.
    """
    if _LONG_INTEGER not in content.translate(_DIGITS):
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
    return json.loads(content)


__all__ = [
    "UNSET",
    "File",
    "FileTypes",
    "RequestFiles",
    "Response",
    "UnreadableResponse",
    "Unset",
    "parse_json",
    "status_of",
]

"""Credentials removed by value from whatever leaves the SDK: messages, errors and log lines.

Where the SDK copies a request, headers named PrivateKey or Token are redacted by name
(`errors.redact_request`). A server may echo the same values anywhere else: in an error
message, a header, a reason phrase, a URL. So every value the SDK treats as secret (a store's
PrivateKey and Token, the password of a proxy or of a Redis URL) is registered here when the
store is built, and `scrub` replaces it, in the forms a server or a library is likely to print
it (as is, percent-encoded, JSON- or repr-escaped; any letter case), with `[redacted]`. The
exceptions of `threedcart.errors` scrub their messages, responses and requests as they are
made, and a filter on the loggers of the SDK, httpx and httpcore scrubs each log record.

A value stays registered for the life of the process: an error or a log record may outlive
the store that made it. Values shorter than `MIN_LENGTH` characters are not scrubbed by value:
they cannot be told apart from ordinary text (and are no secret worth the name).
"""

from __future__ import annotations

import json
import logging
import re
import string
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
MIN_LENGTH = 4
# The loggers that see requests and answers: the SDK's, httpx's, and each of httpcore's (a
# logger's filters apply to the records it makes itself, not to its children's).
LOGGERS = (
    "threedcart",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)

REGEX_LIMIT = 256
"""Spellings up to which one regular expression finds them (at C speed); beyond, as in a process
serving many stores, a lookup by their first characters keeps the cost of a scrub independent
of how many stores the process has seen."""
_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _spellings(secret: str) -> set[str]:
    escaped = json.dumps(secret)[1:-1]
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        escaped,
        escaped.replace("/", "\\/"),  # JSON encoders that escape the slash (PHP's does)
        repr(secret)[1:-1],
    }


class _Matcher:
    """Replaces any of a fixed set of spellings, their ASCII letters in any case."""

    def __init__(self, forms: Iterable[str]) -> None:
        ordered = sorted({form.translate(_LOWER) for form in forms}, key=len, reverse=True)  # longest first
        self._regex: re.Pattern[str] | None = None
        self._index: dict[str, list[str]] = {}
        if len(ordered) <= REGEX_LIMIT:
            self._regex = re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE | re.ASCII)
        else:
            for form in ordered:
                self._index.setdefault(form[:MIN_LENGTH], []).append(form)

    def sub(self, text: str) -> str:
        if self._regex is not None:
            return self._regex.sub(REDACTED, text)
        low, get = text.translate(_LOWER), self._index.get
        parts: list[str] = []
        last = i = 0
        while i <= len(text) - MIN_LENGTH:
            for form in get(low[i : i + MIN_LENGTH], ()):
                if low.startswith(form, i):
                    parts += (text[last:i], REDACTED)
                    i = last = i + len(form)
                    break
            else:
                i += 1
        return "".join(parts) + text[last:] if parts else text


class Scrubber:
    """The registered secrets, and what removes them from text and bytes (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._matchers: tuple[_Matcher, _Matcher] | None = None

    def register(self, secrets: Iterable[str | None]) -> None:
        with self._lock:
            before = len(self._forms)
            for secret in secrets:
                if secret and len(secret) >= MIN_LENGTH:
                    self._forms.update(form for form in _spellings(secret) if len(form) >= MIN_LENGTH)
            if len(self._forms) != before:
                self._matchers = None  # made again on next use

    def _now(self) -> tuple[_Matcher, _Matcher] | None:
        matchers = self._matchers
        if matchers is not None or not self._forms:
            return matchers
        with self._lock:
            if self._matchers is None:
                # bytes are matched as latin-1 text (one character a byte), secrets as their UTF-8
                as_bytes = [form.encode("utf-8").decode("latin-1") for form in self._forms]
                self._matchers = (_Matcher(self._forms), _Matcher(as_bytes))
            return self._matchers

    def scrub(self, text: str) -> str:
        matchers = self._now()
        return text if matchers is None or len(text) < MIN_LENGTH else matchers[0].sub(text)

    def scrub_bytes(self, data: bytes) -> bytes:
        matchers = self._now()
        if matchers is None or len(data) < MIN_LENGTH:
            return data
        return matchers[1].sub(data.decode("latin-1")).encode("latin-1")


_SCRUBBER = Scrubber()
_filter_lock = threading.Lock()
_filter_installed = False


def register(secrets: Iterable[str | None]) -> None:
    """Scrub these values from now on (empty and too short ones are ignored)."""
    _SCRUBBER.register(secrets)
    _install_filter()


def scrub(text: str) -> str:
    """`text` with every registered secret replaced by `[redacted]`."""
    return _SCRUBBER.scrub(text)


def scrub_bytes(data: bytes) -> bytes:
    """`data` (a body, a header) with every registered secret replaced by `[redacted]`."""
    return _SCRUBBER.scrub_bytes(data)


def check_credential(name: str, value: object) -> str:
    """A credential as it will be sent in a header; the error names it, never shows it."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} is required (a non-empty string)")
    value = value.strip()
    for position, char in enumerate(value):
        if not 0x20 <= ord(char) <= 0x7E:
            kind = "a control character" if ord(char) < 0x20 or ord(char) == 0x7F else "a non-ASCII character"
            raise ValueError(
                f"{name} contains {kind} at position {position}: headers carry printable ASCII only"
            )
    return value


class ScrubFilter(logging.Filter):
    """Rewrites a log record that would show a registered secret (its message, or its exception)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit: leave it to the handler's report
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


_FILTER = ScrubFilter()


def _install_filter() -> None:
    global _filter_installed
    if _filter_installed:
        return
    with _filter_lock:
        if not _filter_installed:
            for name in LOGGERS:
                logging.getLogger(name).addFilter(_FILTER)
            _filter_installed = True

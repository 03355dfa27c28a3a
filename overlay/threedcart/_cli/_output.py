"""What the CLI writes: customer data made harmless for terminals and spreadsheets, files
that appear only when complete (with the umask's mode), and clean-up on SIGTERM and SIGINT."""

from __future__ import annotations

import atexit
import contextlib
import errno
import io
import json
import logging
import os
import re
import signal
import stat
import sys
import tempfile
import unicodedata
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TextIO

from .._rows import STRING_FIELDS, neutralise
from .._secrets import scrub

# Terminal escape sequences, whole, so that their parameters do not stay behind as text.
_ESCAPES = re.compile(
    r"""
      \x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?    # OSC: hyperlinks (OSC 8), window titles
    | \x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?         # DCS, SOS, PM, APC strings
    | \x1b\[[0-?]*[\x20-/]*[@-~]?                    # CSI: colours, cursor movement, erasing
    | \x9b[0-?]*[\x20-/]*[@-~]?                      # CSI, 8-bit
    | \x9d[^\x07\x1b\x9c]*(?:\x07|\x9c)?             # OSC, 8-bit
    | \x1b[\x20-/]*[0-~]?                            # any other escape
    """,
    re.VERBOSE,
)
# C1 controls are raw bytes to some terminals; JSON may escape any character.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")


def clean(text: str) -> str:
    """`text` for a terminal line: no escape sequences, no control or bidi characters, no breaks."""
    if text.isprintable():
        return text
    text = _ESCAPES.sub("", text)
    return "".join(
        ch if ch.isprintable() else " " if ch in "\t\n\r" or unicodedata.category(ch)[0] == "Z" else ""
        for ch in text
    )


def json_line(data: Any, *, indent: int | None = None) -> str:
    """JSON text that is safe on a terminal too (C1 controls and line separators escaped)."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    if text.isascii() and "\x7f" not in text:  # DEL is ASCII, and a control character
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def csv_row(data: dict[str, Any], *, raw: bool) -> dict[str, Any]:
    """A customer's cells: booleans as `true`/`false`, arrays and objects as JSON; text that a
    spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) prefixed with `'`
    unless `raw`."""
    row: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, list | dict):
            value = json.dumps(value, ensure_ascii=False)  # an array or object is one cell of JSON
        elif not raw and isinstance(value, str) and key in STRING_FIELDS:
            value = neutralise(value)
        row[key] = value
    return row


def say_error(message: str) -> None:
    """One line on stderr, never wrapped, never markup, never a credential."""
    sys.stderr.write(f"error: {clean(scrub(message))}\n")
    sys.stderr.flush()


# --- logging -------------------------------------------------------------------------------
class _CleanFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return clean(scrub(super().format(record)))


def log_verbosely() -> None:
    """`-v`: the SDK's own log at DEBUG and httpx's requests at INFO, on stderr; nothing else."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CleanFormatter("%(levelname)s %(name)s: %(message)s"))
    for name, level in (("threedcart", logging.DEBUG), ("httpx", logging.INFO)):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(handler)
        logger.propagate = False


# --- files -----------------------------------------------------------------------------------
_TEMPORARY: set[Path] = set()


def _remove_temporary() -> None:
    for path in list(_TEMPORARY):
        with contextlib.suppress(OSError):
            path.unlink()
        _TEMPORARY.discard(path)


def _terminate(signum: int, frame: FrameType | None) -> None:
    # Unwind like an exception, so that every `with` removes what it made, then exit 128+n.
    raise SystemExit(128 + signum)


def install_signal_handlers() -> None:
    """SIGTERM and SIGINT unwind the command (temporary files removed) and exit 128 + signal."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _terminate)
    atexit.register(_remove_temporary)


def _mode_for(path: Path) -> int:
    """The mode a new file gets from open() (0666 less the umask), or the mode `path` has."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


@contextmanager
def _temporary(folder: Path, prefix: str, mode: int) -> Generator[tuple[TextIO, Path], None, None]:
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=prefix, dir=folder)
    tmp = Path(name)
    _TEMPORARY.add(tmp)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream, tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        _TEMPORARY.discard(tmp)


@contextmanager
def atomic_output(path: Path) -> Generator[TextIO, None, None]:
    """A file that appears under `path` only once completely written and on disk."""
    with _temporary(path.parent, f".{path.name}.", _mode_for(path)) as (stream, tmp):
        try:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
            os.replace(tmp, path)
            sync_folder(path.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


@contextmanager
def stdout_stream() -> Generator[TextIO, None, None]:
    """Standard output as UTF-8 text without newline translation (for `-o -`)."""
    stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
    sys.stdout.flush()
    try:
        yield stream
    finally:
        stream.flush()
        stream.detach()


PIPE_CLOSED = 128 + signal.SIGPIPE
"""The exit status of a command whose standard output was closed by its reader (`| head`), as
a shell reports a command that SIGPIPE ended."""


def closed_stdout() -> NoReturn:
    """End quietly because the reader of standard output went away: nothing more is written
    there (the interpreter's last flush included) and the status is `PIPE_CLOSED`."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    raise SystemExit(PIPE_CLOSED)


def sync_folder(folder: Path) -> None:
    """Make the names just given in `folder` durable: fsync the directory (where the system can)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # a system whose directories cannot be opened (Windows) makes renames durable itself
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise  # a file system that cannot sync a directory says EINVAL; anything else is a failure
    finally:
        os.close(fd)


_INCOMPLETE = ".incomplete"
_MAX_NAMES = 10_000


def numbered(path: Path, n: int) -> Path:
    """`path` itself for n == 1, else NAME-n.SUFFIX (before a trailing `.incomplete`)."""
    if n == 1:
        return path
    name, tail = path.name, ""
    if name.endswith(_INCOMPLETE) and name != _INCOMPLETE:
        name, tail = name[: -len(_INCOMPLETE)], _INCOMPLETE
    plain = Path(name)
    return path.with_name(f"{plain.stem}-{n}{plain.suffix}{tail}")


def publish_new(tmp: Path, path: Path) -> Path:
    """Give the file `tmp` the name `path`, or the first free `numbered(path, n)`; never replace a file."""
    for n in range(1, _MAX_NAMES + 1):
        candidate = numbered(path, n)
        try:
            os.link(tmp, candidate)  # fails if the name exists, atomically
        except FileExistsError:
            continue
        except OSError:
            # A file system without hard links: reserve the name (O_EXCL), then move onto it.
            try:
                os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                continue
            os.replace(tmp, candidate)
            return candidate
        tmp.unlink()
        return candidate
    raise FileExistsError(f"{path} and {_MAX_NAMES - 1} numbered names beside it exist")


class Sink:
    """A temporary file that becomes `keep()`'s path once complete and on disk, or disappears."""

    def __init__(self, stream: TextIO, tmp: Path) -> None:
        self.stream, self.tmp = stream, tmp
        self.path: Path | None = None
        self.new = False

    def keep(self, path: Path, *, new: bool = False) -> None:
        """Keep the file as `path`; with `new`, never replace a file: the first free name from
        `numbered(path, n)` is taken, and `path` says which once the context has ended."""
        self.path, self.new = path, new

    def discard(self) -> None:
        self.path = None


@contextmanager
def deferred_output(folder: Path, prefix: str = ".threedcart-sync.") -> Generator[Sink, None, None]:
    """Like `atomic_output`, for a file in `folder` whose name is chosen once it is written."""
    with _temporary(folder, prefix, _mode_for(folder / f"{prefix}new")) as (stream, tmp):
        sink = Sink(stream, tmp)
        try:
            yield sink
            stream.flush()
            os.fsync(stream.fileno())
            if sink.path is None:
                tmp.unlink(missing_ok=True)
            else:
                if sink.new:
                    sink.path = published = publish_new(tmp, sink.path)
                    try:
                        sync_folder(folder)
                    except BaseException:
                        # never confirmed on disk: the caller keeps its state, and writes it again
                        published.unlink(missing_ok=True)
                        raise
                else:
                    if sink.path.exists():
                        os.chmod(tmp, _mode_for(sink.path))
                    os.replace(tmp, sink.path)
                    sync_folder(folder)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

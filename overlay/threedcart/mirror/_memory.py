# pyright: strict
"""A mirror's memory: glibc's malloc arenas, which a long run with many threads fragments."""

from __future__ import annotations

import ctypes
import os

_M_ARENA_MAX = -8
"""glibc's `mallopt` parameter for the number of arenas (malloc.h)."""


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc at `arenas` arenas for this process; True when it took effect.

    A mirror runs many threads at once (the page readers, the reader feeding dlt, dlt's
    normalisers and loaders, DuckDB's workers). glibc gives each thread an arena of its own, up
    to eight per core, and memory freed in one arena is not reused by the others, so a long
    mirror's resident memory grows with the customers it has read (about 0.35 kB each: a mirror of
    200,000 customers went from 170 to 254 MB) though it keeps none of them. Two arenas keep it
    flat at a negligible cost (a mirror waits on the store and the database, not on malloc). The
    CLI calls this before its mirror starts; call it likewise, early, in a process of your own
    that mirrors a large store.

    Does nothing and returns False when `MALLOC_ARENA_MAX` is set (glibc read it at start-up:
    that choice stands) or where malloc is not glibc's (macOS, musl).
    """
    if arenas < 1:
        raise ValueError(f"arenas must be at least 1, not {arenas}")
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))

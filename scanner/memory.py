"""Giving memory back while sslyze runs (see scanner/collectors/tls.py GC_SECONDS)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc


def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: the collection alone still helps
        return None


_TRIM = _malloc_trim()


def collect_and_release() -> None:
    """A full collection, then glibc returns the freed heap pages: without the second step the
    threads' malloc arenas keep the peak resident for the rest of the scan."""
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)

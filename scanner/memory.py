"""Giving memory back to the system during a long scan (sslyze's cyclic garbage, see
scanner/collectors/tls.py GC_SECONDS; checkpoints' large transient buffers)."""

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


def release() -> None:
    """Hand the heap's free pages back to the system (glibc keeps them after a large transient
    allocation, such as a checkpoint's tens of MB of JSON)."""
    if _TRIM is not None:
        _TRIM(0)


def collect_and_release() -> None:
    """A full collection, then glibc returns the freed heap pages: without the second step the
    threads' malloc arenas keep the peak resident for the rest of the scan."""
    gc.collect()
    release()

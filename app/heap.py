"""Give freed heap memory back to the operating system (glibc only; a no-op elsewhere)."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time

log = logging.getLogger(__name__)

_libc: ctypes.CDLL | None = None
_checked = False


def release_free_memory() -> float:
    """``malloc_trim(0)``: glibc keeps the memory that onnxruntime, CTranslate2 and numpy free
    in its heaps and arenas, so a long conversation's peak working sets stay resident for good.
    Returns the seconds it took (0.0 where there is no glibc)."""
    global _libc, _checked
    if not _checked:
        _checked = True
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc = lib if hasattr(lib, "malloc_trim") else None
        except OSError:
            _libc = None
    if _libc is None:
        return 0.0
    t0 = time.perf_counter()
    _libc.malloc_trim(0)
    return time.perf_counter() - t0

"""release_free_memory really gives freed heap pages back (glibc)."""

from __future__ import annotations

import platform

import psutil
import pytest

from app.heap import release_free_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_memory_goes_back_to_the_system():
    proc = psutil.Process()
    # 200 MB in 64 KB blocks (under glibc's mmap threshold: they live in the heap), then all
    # freed but the last, which pins the top of the heap so plain free() cannot shrink it.
    blocks = [bytearray(b"x" * 65536) for _ in range(3200)]
    keep = blocks[-1]
    del blocks
    before = proc.memory_info().rss
    assert release_free_memory() >= 0.0
    after = proc.memory_info().rss
    assert before - after > 100e6, (before, after)
    assert keep[0] == ord("x")

"""Keep a long run's memory flat: large freed blocks go back to the system at once.

glibc serves blocks above its mmap threshold (128 KiB) with mmap and returns them on free,
but each time such a block is freed it raises the threshold to that block's size. After
the first song, a song's arrays (a few MB) then come from the heap, whose freed pieces
fragment it: `predict` over 10 000 songs grew by about 10 KB a song. Fixing the threshold
turns that adjustment off. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3  # mallopt parameter number, from glibc's malloc.h
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value


@functools.cache
def return_large_blocks() -> bool:
    """Fix glibc's mmap threshold for this process; True where it took effect."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):  # no C library found, or not glibc
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))

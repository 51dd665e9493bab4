"""Memory for a long scoring run: reused song after song, not faulted in again, and flat.

Scoring a song allocates the same arrays and tensors every time, a few MB to a few tens of
MB each. glibc serves a block above its mmap threshold with fresh pages and unmaps them on
free, so each such tensor costs page faults: with the threshold at glibc's starting
128 KiB, the kernel took a third of `predict`'s CPU time. Left to adjust itself, glibc raises
the threshold to each large block freed, and song-sized arrays then come from the main
heap, where long-lived Python objects made between them fragment it (about 10 KB a song).

So `predict` fixes the mmap threshold at 32 MiB (glibc's own ceiling) and the trim
threshold at 64 MiB, keeping freed blocks for reuse, and scores on a thread of its own:
glibc gives that thread its own arena, which holds only the current song's arrays and
tensors, of the same sizes each song, so it stops growing once it has held one song.
Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1  # mallopt parameter numbers, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20  # blocks below this are served from (and kept in) the heap
TRIM_THRESHOLD_BYTES = 64 * 2**20  # free memory at a heap's top kept for the next song


@functools.cache
def reuse_freed_blocks() -> bool:
    """Set glibc's thresholds for this process as above; True where they took effect."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):  # no C library found, or not glibc
        return False
    trimmed = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    return bool(trimmed and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))

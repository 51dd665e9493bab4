"""A scoring thread reuses its freed blocks: no new page faults, no growth, song after song."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCORE_SONGS = """
import resource, sys, threading
import numpy as np
from tunetag.runtime.malloc import M_MMAP_THRESHOLD, reuse_freed_blocks

if sys.argv[1] == "set":
    assert reuse_freed_blocks()
elif sys.argv[1] == "unmap":  # every block above 128 KiB mapped afresh: what this replaced
    import ctypes
    ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, 128 * 1024)

def song():  # a log-mel, its crops, and a first conv block's output, as predict makes
    arrays = [np.ones(n // 4, dtype=np.float32) for n in (3 * 2**20, 3 * 2**20, 17 * 2**20)]
    del arrays

def songs():  # getrusage, unlike reading /proc, allocates nothing from this thread's arena
    for _ in range(10):
        song()
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(20):
        song()
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(after.ru_minflt - before.ru_minflt, (after.ru_maxrss - before.ru_maxrss) / 1024)

thread = threading.Thread(target=songs)
thread.start()
thread.join()
"""


def _faults_and_growth(mode: str) -> tuple[int, float]:
    done = subprocess.run(
        [sys.executable, "-c", SCORE_SONGS, mode], capture_output=True, text=True, check=True
    )
    faults, growth = done.stdout.split()
    return int(faults), float(growth)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator: Linux")
def test_twenty_songs_reuse_the_memory_of_the_first():
    faults, growth = _faults_and_growth("set")
    unmapped_faults, _ = _faults_and_growth("unmap")

    assert unmapped_faults > 20000  # 20 songs of 23 MB, each block mapped and faulted afresh
    assert faults < 2000
    assert growth < 1

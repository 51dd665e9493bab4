"""A freed song-sized array goes back to the system at once, however many came before."""

from __future__ import annotations

import subprocess
import sys

import pytest

FREE_TWICE = """
import sys
import numpy as np
from tunetag.malloc import return_large_blocks

def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20

if sys.argv[1] == "fixed":
    assert return_large_blocks()
first = np.ones(3 * 2**20 // 8)  # a song's log-mel is about this size
del first  # glibc, left alone, may now serve blocks this large from its heap
second = np.ones(3 * 2**20 // 8)
held = rss_mb()
del second
print(held - rss_mb())
"""


def _returned_mb(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", FREE_TWICE, mode], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator: Linux")
def test_a_second_large_block_is_returned_when_freed():
    assert _returned_mb("fixed") > 2.5

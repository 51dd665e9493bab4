"""librosa's numba cache is written whole, under a lock, before any view reads it."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tunetag.features.librosa_import import lock_path

# fresh processes importing librosa with an empty numba cache: `make check` leaves it out
pytestmark = pytest.mark.slow

COUNT_CACHE_WRITES = """
import dataclasses, glob, sys
import numpy as np
from tunetag.config import FeatureConfig
from tunetag.features.librosa_import import librosa_loaded
from tunetag.features.views import compute_views

def cache_files():
    return len(glob.glob(sys.argv[1] + "/**/*.nb[ic]", recursive=True))

librosa_loaded()
after_import = cache_files()
features = FeatureConfig()
features = dataclasses.replace(features, chroma=dataclasses.replace(features.chroma, tuning=None))
y = (0.1 * np.random.default_rng(0).standard_normal(22050 * 4)).astype(np.float32)
compute_views(["mel", "chroma", "tempogram", "waveform"], y, features)
print(after_import, cache_files())
"""


def _python(code: str, *args: str, cache: Path) -> subprocess.Popen:
    # NUMBA_OPT=0: LLVM's optimisation level changes how long a compile takes, not which
    # functions are compiled or what is written to the cache (a cold import: 17 s -> 11 s)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "NUMBA_OPT": "0"}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE, text=True
    )


@pytest.fixture(scope="module")
def guarded_cache(tmp_path_factory) -> Path:
    """numba's cache folder as one guarded import alone fills it, from empty: the lock test
    below fills it (a cold compile takes most of a minute on 2 cores), and the count test
    starts from what it left, if it ran."""
    return tmp_path_factory.mktemp("numba-cache")


def test_a_second_process_waits_for_the_lock_before_importing(guarded_cache: Path) -> None:
    assert list(guarded_cache.rglob("*")) == []  # numba's cache starts empty
    code = (
        "from tunetag.features.librosa_import import librosa_loaded\n"
        "print('waiting', flush=True)\n"
        "librosa_loaded()\n"
        "print('imported', flush=True)\n"
    )
    fd = os.open(lock_path(), os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        process = _python(code, cache=guarded_cache)
        assert process.stdout.readline().strip() == "waiting"
        time.sleep(1.0)
        assert process.poll() is None  # still blocked on the lock
        assert list(guarded_cache.rglob("*.nbi")) == []
    finally:
        os.close(fd)
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 0
    assert out.strip() == "imported"
    assert list(guarded_cache.rglob("*.nbi"))


def test_every_numba_cache_write_happens_inside_the_guarded_import(
    tmp_path: Path, guarded_cache: Path
) -> None:
    """Whether the cache starts empty or holds what one guarded import wrote (the lock
    test's, copied), a function compiled outside the guard is not in it: computing the views
    writes it, and the count after them differs from the count after the import."""
    shutil.copytree(guarded_cache, tmp_path, dirs_exist_ok=True)
    process = _python(COUNT_CACHE_WRITES, str(tmp_path), cache=tmp_path)
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 0
    after_import, after_views = map(int, out.split())
    assert after_import > 0
    assert after_views == after_import

"""The corpus of bad input (corpus.py) through scan and extract, by the command line: each
bad file is one line naming it, the good ones all come through, nothing hangs or leaves a NaN."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from corpus import BAD, GOOD, make_corpus

from tunetag.library.songtable import SongTable

ERROR_LINE = re.compile(r"^error: (.+?): (.+)$")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    return {"root": root, "entries": make_corpus(root)}


def _tunetag(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real command, in its own process: a crash or a hang cannot hide in the test's."""
    return subprocess.run(
        [sys.executable, "-m", "tunetag", *map(str, args)],
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=timeout,  # a hang fails here
    )


def _errors(stderr: str) -> dict[str, str]:
    """File -> reason, from the ``error: <file>: <reason>`` lines."""
    found = {}
    for line in stderr.splitlines():
        match = ERROR_LINE.match(line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


def _listed(songs) -> set:
    table = SongTable.read(songs, check_files=False)
    return {table.audio_path(row) for row in table.rows}


def _shown(path) -> str:
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def test_scan_lists_every_audio_file_once_and_names_the_unlistable(corpus):
    songs = corpus["root"] / "songs.csv"
    done = _tunetag("scan", corpus["root"] / "music", "-o", songs)
    assert done.returncode == 0, done.stderr[-2000:]
    listed = {path.name for path in _listed(songs)}
    regular = {
        e.path.name for e in corpus["entries"] if e.path.is_file() and not e.path.is_symlink()
    }
    latin1 = next(e.path for e in corpus["entries"] if "UTF-8" in e.what)
    assert listed == regular - {latin1.name}  # each once: the folder loop was not followed
    assert list(_errors(done.stderr)) == [_shown(latin1)]
    assert "not UTF-8" in _errors(done.stderr)[_shown(latin1)]


def test_extract_caches_the_good_and_names_each_bad_file_in_one_line(corpus):
    songs = corpus["root"] / "songs.csv"
    if not songs.exists():
        assert _tunetag("scan", corpus["root"] / "music", "-o", songs).returncode == 0
    cache = corpus["root"] / "cache"
    done = _tunetag("extract", songs, "--cache", cache, "--views", "mel,chroma,tempogram,waveform")
    assert done.returncode == 0, done.stderr[-2000:]
    errors = _errors(done.stderr)
    listed = _listed(songs)
    for entry in corpus["entries"]:
        if entry.path not in listed:
            continue
        reported = str(entry.path) in errors
        if entry.expect == GOOD:
            assert not reported, f"{entry.what}: {errors.get(str(entry.path))}"
        elif entry.expect == BAD:
            assert reported, f"{entry.what} was not reported"
    assert all("\n" not in reason and reason for reason in errors.values())
    arrays = list(cache.rglob("*.npy"))
    good = sum(e.expect == GOOD and e.path in listed for e in corpus["entries"])
    assert len(arrays) >= 4 * good
    assert all(np.isfinite(np.load(array)).all() for array in arrays)

"""Files and folders the person running tunetag may not read: scan names the folder it
cannot list, extract (and so predict, which extracts the same way) and tag name the file,
and the readable songs come through.

Permissions do not bind root: when the tests run as root, the commands run without the
two capabilities that let root read anything (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH).
"""

from __future__ import annotations

import ctypes
import os
import stat
import subprocess

import pytest
import soundfile as sf
from commands import run_tunetag
from signals import sine

from tunetag.library.fields import read_fields
from tunetag.library.predictions import PredictedSong, write_predictions
from tunetag.library.songtable import SongTable

PR_CAPBSET_DROP = 24  # prctl option: take a capability out of the bounding set
CAPS_THAT_READ_ANYTHING = (1, 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH


def _without_reading_anything() -> None:
    """In the child, before it runs tunetag: root keeps no capability past these."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in CAPS_THAT_READ_ANYTHING:
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _tunetag(*args) -> subprocess.CompletedProcess:
    return run_tunetag(*args, preexec_fn=_without_reading_anything if os.geteuid() == 0 else None)


@pytest.fixture
def folder(tmp_path):
    """Two readable songs, one unreadable song and an unreadable folder holding a song."""
    root = tmp_path
    music = root / "music"
    (music / "locked-folder").mkdir(parents=True)
    for k, name in enumerate(("a.wav", "b.wav", "locked.wav", "locked-folder/c.wav")):
        sf.write(music / name, sine(3.0, 22050, 330.0 + 110.0 * k, amplitude=0.3), 22050)
    (music / "locked.wav").chmod(0)
    (music / "locked-folder").chmod(0)
    yield root
    (music / "locked-folder").chmod(stat.S_IRWXU)  # pytest may clean it up


def _errors(stderr: str) -> dict[str, str]:
    lines = [
        line.removeprefix("error: ") for line in stderr.splitlines() if line.startswith("error: ")
    ]
    return dict(line.split(": ", 1) for line in lines)


def test_unreadable_files_and_folders_are_named_and_the_rest_comes_through(folder):
    music, songs, cache = folder / "music", folder / "songs.csv", folder / "cache"
    scanned = _tunetag("scan", music, "-o", songs)
    assert scanned.returncode == 0, scanned.stderr[-2000:]
    assert (
        "cannot list the folder (Permission denied)"
        in _errors(scanned.stderr)[str(music / "locked-folder")]
    )
    table = SongTable.read(songs, check_files=False)
    assert sorted(row["path"] for row in table.rows) == [
        "music/a.wav", "music/b.wav", "music/locked.wav"
    ]  # fmt: skip

    extracted = _tunetag("extract", songs, "--cache", cache)
    assert extracted.returncode == 0, extracted.stderr[-2000:]
    errors = _errors(extracted.stderr)
    assert list(errors) == [str(music / "locked.wav")]
    assert "ermission denied" in errors[str(music / "locked.wav")]
    assert len(list(cache.rglob("*.npy"))) == 2


def test_tag_write_names_an_unreadable_file_and_tags_the_rest(folder):
    music = folder / "music"
    songs = [
        PredictedSong(music / name, run="mood@0123456789ab", predicted={"mood": "mellow"},
                      probability={"mood": 0.9},
                      probabilities={"mood": {"mellow": 0.9, "not mellow": 0.1}})
        for name in ("a.wav", "locked.wav")
    ]  # fmt: skip
    predictions = write_predictions(
        folder / "predictions.csv", {"mood": ["mellow", "not mellow"]}, songs
    )
    done = _tunetag("tag", predictions, "--write")
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(_errors(done.stderr)) == [str(music / "locked.wav")]
    assert read_fields(music / "a.wav", ["mood"]) == {"mood": "mellow"}

"""Two tunetag processes on one song CSV or one feature cache at once: no label is lost, no
file is torn, and the results are those of one process alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from commands import start_tunetag

from tunetag.library.songtable import SongTable

# several real commands at once on one CSV or cache: `make check` leaves it out
pytestmark = pytest.mark.slow

LABEL_MANY = """
import sys
from tunetag.labelapp.store import LabelStore
store = LabelStore(sys.argv[1], [("mood", ["mellow", "not mellow"])])
mine = [k for k in range(len(store)) if k % 2 == int(sys.argv[2])]
for round_ in range(int(sys.argv[3])):
    for k in mine:
        store.set_labels(k, "mood", [("mellow", "not mellow")[(round_ + k) % 2]])
"""
ROUNDS = 15


@pytest.fixture(scope="module")
def library(mood_library):
    return mood_library("shared", songs_per_class=6, duration_s=8.0, seed=9)


def _python(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _tunetag(*args) -> subprocess.Popen:
    return start_tunetag(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(*processes: subprocess.Popen) -> None:
    for process in processes:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]


def test_two_labelling_processes_on_one_csv_lose_no_label(library, tmp_path):
    csv_path = tmp_path / "songs.csv"
    SongTable.read(library / "songs.csv").write(csv_path)
    _wait(*(_python("-c", LABEL_MANY, csv_path, half, ROUNDS) for half in (0, 1)))
    rows = SongTable.read(csv_path, check_files=False).rows
    last = ROUNDS - 1
    assert [row["mood"] for row in rows] == [
        ("mellow", "not mellow")[(last + k) % 2] for k in range(len(rows))
    ]


def test_a_scan_while_a_person_labels_keeps_the_labels_and_adds_the_new_songs(library, tmp_path):
    csv_path = tmp_path / "songs.csv"
    table = SongTable.read(library / "songs.csv")
    for row in table.rows:
        row["path"] = str(table.audio_path(row))
    table.write(csv_path)
    (tmp_path / "new").mkdir()
    for song in sorted((library / "music").rglob("*.flac"))[:3]:
        (tmp_path / "new" / song.name).write_bytes(song.read_bytes())
    labelling = _python("-c", LABEL_MANY, csv_path, 0, ROUNDS)
    rescans = [_tunetag("scan", tmp_path / "new", "-o", csv_path) for _ in range(3)]
    _wait(labelling, *rescans)
    rows = SongTable.read(csv_path, check_files=False).rows
    last = ROUNDS - 1
    labelled = [k for k in range(len(table)) if k % 2 == 0]
    assert [rows[k]["mood"] for k in labelled] == [
        ("mellow", "not mellow")[(last + k) % 2] for k in labelled
    ]
    assert len(rows) == len(table) + 3


def test_two_extractions_into_one_cache_give_the_arrays_of_one(library, tmp_path):
    views = ("--views", "mel,chroma,tempogram,waveform")
    alone, shared = tmp_path / "alone", tmp_path / "shared"
    _wait(_tunetag("extract", library / "songs.csv", "--cache", alone, *views))
    _wait(
        *(_tunetag("extract", library / "songs.csv", "--cache", shared, *views) for _ in range(2))
    )
    expected = _arrays(alone)
    found = _arrays(shared)
    assert list(found) == list(expected) and len(found) == 4 * 12
    assert all(np.array_equal(found[name], expected[name]) for name in expected)
    assert not [p for p in shared.rglob("*") if p.name.endswith(".tmp")]


def _arrays(cache: Path) -> dict[str, np.ndarray]:
    return {str(path.relative_to(cache)): np.load(path) for path in sorted(cache.rglob("*.npy"))}

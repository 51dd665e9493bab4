"""The beets plugin against a real beets library: `beet` run as a process, as a person runs it.

One library per module (eight 6 s demo songs in FLAC, Ogg Vorbis and WAV, imported with
``beet import -A``, their mood set with ``beet modify``), a logreg run trained on it once; the
tests run in file order, the last ones taking a file away and making one read-only.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx2
import mutagen
import pytest

from tunetag.labelapp.app import TOKEN_HEADER
from tunetag.library.songtable import SongTable

BEET = Path(sys.executable).with_name("beet")
MOODS = ("mellow", "not mellow")


class Beets:
    """A beets library in a folder of its own (``BEETSDIR``) and the ``beet`` command on it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.music = root / "music"
        self.env = {
            **os.environ,
            "BEETSDIR": str(root / "beets"),
            "TUNETAG_CACHE": str(root / "cache"),
            "PYTHONUNBUFFERED": "1",
        }

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(BEET), *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        if ok:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [str(BEET), *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip

    def listed(self, fmt: str, *query: str) -> list[str]:
        return self("ls", "-f", fmt, *query).stdout.splitlines()

    def database(self) -> bytes:
        return (self.root / "beets" / "library.db").read_bytes()

    def songs(self) -> list[Path]:
        return sorted(path for path in self.music.rglob("*") if path.is_file())


@pytest.fixture(scope="module")
def library(mood_library, copy_library, tmp_path_factory) -> Beets:
    """The demo songs imported into beets as they are (no copy, no tags written, no
    autotagger), the folder each lies in as its mood, and a logreg run trained on them."""
    root = copy_library(
        mood_library("small", songs_per_class=4, duration_s=6.0, seed=2),
        tmp_path_factory.mktemp("beets"),
    )
    (root / "beets").mkdir()
    (root / "beets" / "config.yaml").write_text(
        f"directory: {root / 'music'}\n"
        f"library: {root / 'beets' / 'library.db'}\n"
        "plugins: tunetag\n"
        "import: {copy: no, write: no, autotag: no}\n"
    )
    beet = Beets(root)
    beet("import", "-A", "-q", str(beet.music))
    for mood in MOODS:
        beet("modify", "-y", f"mood={mood}", f"path:{beet.music / mood}")
    beet("tunetag-train", "--model", "logreg", "-o", str(root / "run"))
    return beet


def test_import_sees_every_format(library):
    suffixes = {Path(line).suffix for line in library.listed("$path")}
    assert len(library.listed("$path")) == 8
    assert suffixes == {".flac", ".ogg", ".wav"}


def test_train_writes_a_run_from_the_items_moods(library):
    assert (library.root / "run" / "model.pt").exists()
    assert (library.root / "run" / "labels.json").exists()
    table = SongTable.read(library.root / "run-songs.csv")
    folders = {table.audio_path(row).parent.name: row["mood"] for row in table.rows}
    assert len(table) == 8
    assert folders == {"mellow": "mellow", "not mellow": "not mellow"}


def test_train_refuses_a_query_whose_items_lack_the_task(library):
    done = library("tunetag-train", "--task", "energy", "-o", "nothing", ok=False)
    assert done.returncode != 0
    assert "no items of the query are labelled energy" in done.stdout + done.stderr
    assert not (library.root / "nothing").exists()


def test_train_keeps_a_run_and_its_songs_unless_told_to_overwrite(library):
    model = (library.root / "run" / "model.pt").read_bytes()
    songs = (library.root / "run-songs.csv").stat()
    done = library("tunetag-train", "--model", "logreg", "-o", str(library.root / "run"), ok=False)
    assert done.returncode != 0
    assert "--overwrite" in done.stdout + done.stderr
    assert (library.root / "run" / "model.pt").read_bytes() == model
    after = (library.root / "run-songs.csv").stat()  # refused first: never written again
    assert (after.st_ino, after.st_mtime_ns) == (songs.st_ino, songs.st_mtime_ns)


def test_predict_leaves_a_persons_labels(library):
    """The moods `beet modify` gave have no probability: labels, which a run trained on and
    a prediction keeps unless --force."""
    before = library.listed("$mood|$mood_probability|$path")
    done = library("tunetag", "--run", str(library.root / "run"))
    assert "8 items predicted, changed 0, 8 labels kept, 0 errors" in done.stdout
    assert library.listed("$mood|$mood_probability|$path") == before
    done = library("tunetag", "--run", str(library.root / "run"), "--force", "--pretend")
    assert "8 items predicted, would change 8, 0 labels kept" in done.stdout
    assert {line.split("|")[1] for line in before} == {"$mood_probability"}


def test_pretend_changes_nothing(library):
    library("modify", "-y", "mood!")
    before = library.database()
    files = {path: path.stat().st_mtime_ns for path in library.songs()}
    done = library("tunetag", "--run", str(library.root / "run"), "--pretend")
    assert done.stdout.count("mood '' -> ") == 8
    assert "8 items predicted, would change 8, 0 labels kept" in done.stdout
    assert library.database() == before
    assert {path: path.stat().st_mtime_ns for path in library.songs()} == files
    assert library.listed("$mood") == ["$mood"] * 8


def test_predict_stores_queryable_attributes(library):
    files = {path: path.stat().st_mtime_ns for path in library.songs()}
    done = library("tunetag", "--run", str(library.root / "run"))
    assert "8 items predicted, changed 8, 0 labels kept" in done.stdout
    rows = [line.split("|") for line in library.listed("$mood|$mood_probability|$path")]
    assert {mood for mood, _, _ in rows} <= set(MOODS)
    assert all(0.5 <= float(p) <= 1 for _, p, _ in rows)
    # The song's own folder is its mood, and the run learnt these very songs.
    assert sum(Path(path).parent.name == mood for mood, _, path in rows) >= 6
    sure = [p for _, p, _ in rows if float(p) >= 0.7]
    assert len(library.listed("$path", "mood_probability:0.7..")) == len(sure)
    assert library.listed("$path", "mood_probability:..0.49") == []
    mellow = [path for mood, _, path in rows if mood == "mellow"]
    assert sorted(library.listed("$path", "mood:=mellow")) == sorted(mellow)
    # Without --write the files are left alone.
    assert {path: path.stat().st_mtime_ns for path in library.songs()} == files
    # Predictions are not labels: a run never trains on them.
    done = library("tunetag-train", "--model", "logreg", "-o", "again", ok=False)
    assert "no items of the query are labelled mood" in done.stdout + done.stderr


def test_a_task_named_as_a_beets_field_is_refused_before_anything_is_stored(library):
    for mood, bpm in zip(MOODS, ("90", "140"), strict=True):
        library("modify", "-y", f"bpm={bpm}", f"path:{library.music / mood}")
    bpm_run = str(library.root / "bpm-run")
    library("tunetag-train", "--task", "bpm", "--model", "logreg", "-o", bpm_run)
    before = library.database()
    done = library("tunetag", "--run", bpm_run, ok=False)
    assert done.returncode != 0
    assert "task 'bpm' is a field of beets' own" in done.stdout + done.stderr
    assert library.database() == before


def test_label_serves_the_items_and_copies_labels_back(library):
    csv_path = library.root / "beets" / "tunetag-songs.csv"
    process = library.start(
        "tunetag-label", f"path:{library.music / 'mellow'}", "--task", "energy=calm,busy",
        "--no-learn",
    )  # fmt: skip
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        url = next(line.split()[1] for line in lines if line.startswith("open "))
        table = SongTable.read(csv_path, check_files=False)
        assert len(table) == 4
        assert {table.audio_path(row).parent.name for row in table.rows} == {"mellow"}
        response = httpx2.post(
            url.split("/?")[0] + "/api/songs/1/labels",
            json={"task": "energy", "labels": ["busy"]},
            headers={TOKEN_HEADER: url.split("token=")[1]},
        )
        assert response.status_code == 200
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, output
    assert "labels of 1 items copied" in output
    labelled = str(table.audio_path(table.rows[1]))
    assert library.listed("$path", "energy:busy") == [labelled]


def test_import_labels_copies_the_csv_alone(library):
    csv_path = library.root / "beets" / "tunetag-songs.csv"
    table = SongTable.read(csv_path, check_files=False)
    table.rows[2]["energy"] = "calm"
    table.columns.append("mood")
    for row in table.rows:
        row["mood"] = ""
    table.rows[3]["mood"] = "not mellow"  # a person's label over a prediction
    table.write()
    done = library("tunetag-label", "--task", "energy", "--task", "mood", "--import-labels")
    assert "labels of 2 items copied" in done.stdout
    assert library.listed("$path", "energy:calm") == [str(table.audio_path(table.rows[2]))]
    relabelled = str(table.audio_path(table.rows[3]))
    assert library.listed("$mood|$mood_probability", f"path:{relabelled}") == [
        "not mellow|$mood_probability"
    ]


def test_playlists_lists_the_items_then_songs_like_them(library):
    playlist = library.root / "like.m3u8"
    mellow = library.music / "mellow"
    done = library("tunetag-playlists", f"path:{mellow}", "-n", "2", "-o", str(playlist))
    assert f"{playlist}: 4 items and 2 songs like them" in done.stdout
    listed = [
        (playlist.parent / line).resolve()
        for line in playlist.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert [path.parent.name for path in listed] == ["mellow"] * 4 + ["not mellow"] * 2
    assert len(set(listed)) == 6


def _file_mood(path: Path) -> str | None:
    """The mood tag as mutagen reads it: ID3's TMOO in WAV, the Vorbis comment MOOD else."""
    tags = mutagen.File(path).tags
    if path.suffix == ".wav":
        frame = tags.get("TMOO") if tags is not None else None
        return None if frame is None else str(frame.text[0])
    values = tags.get("mood") if tags is not None else None
    return values[0] if values else None


def test_write_tags_files_and_tells_a_missing_and_a_read_only_one(library):
    songs = library.songs()
    gone, read_only = songs[0], next(path for path in songs if path.suffix == ".wav")
    gone.rename(library.root / "away.flac")
    read_only.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    library("modify", "-y", "mood!")
    done = library("tunetag", "--run", str(library.root / "run"), "--write")
    told = (done.stdout + done.stderr).splitlines()
    assert f"error: {gone}: file not found" in told
    assert any(line.startswith(f"error: {read_only}: read-only") for line in told)
    assert "7 items predicted, changed 7, 0 labels kept, 6 files written, 2 errors" in done.stdout
    moods = dict(line.split("|", 1)[::-1] for line in library.listed("$mood|$path"))
    assert moods[str(gone)] == "$mood"  # not predicted: left as it was
    assert moods[str(read_only)] in MOODS  # beets knows it; its file could not take it
    assert _file_mood(read_only) is None
    written = [path for path in songs if path not in (gone, read_only)]
    assert [_file_mood(path) for path in written] == [moods[str(path)] for path in written]
    assert {path.suffix for path in written} == {".flac", ".ogg", ".wav"}

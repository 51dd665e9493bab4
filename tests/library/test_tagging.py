"""The tag step: dry run, --write with an undo log, --undo, and every file it must skip."""

from __future__ import annotations

import json
from pathlib import Path

import mutagen
import numpy as np
import pytest
from mutagen.flac import FLAC
from tagged_songs import FORMATS, make_song

from tunetag.audio.decode import decode
from tunetag.errors import ParameterError, TagWriteError
from tunetag.library import tagging
from tunetag.library.fields import read_fields
from tunetag.library.predictions import PredictedSong, write_predictions
from tunetag.library.tagging import probability_field, tag, task_field, undo_tags

TASKS = {"mood": ["mellow", "not mellow"], "genre": ["Ambient", "Rock"]}
RUN = "mood@0123456789ab"
ALL_FIELDS = ["mood", "genre", "TUNETAG_MOOD_P", "TUNETAG_GENRE", "TUNETAG_GENRE_P", "TUNETAG_RUN"]


def predicted(path: Path, mood_p: float = 0.9123, genre: str = "Ambient") -> PredictedSong:
    mood = "mellow" if mood_p >= 0.5 else "not mellow"
    other = "Rock" if genre == "Ambient" else "Ambient"
    return PredictedSong(
        path=path,
        run=RUN,
        predicted={"mood": mood, "genre": genre},
        probability={"mood": max(mood_p, 1 - mood_p), "genre": 0.7},
        probabilities={
            "mood": {"mellow": mood_p, "not mellow": 1 - mood_p},
            "genre": {genre: 0.7, other: 0.3},
        },
    )


def predictions(tmp_path: Path, songs: list[PredictedSong], tasks=TASKS) -> Path:
    return write_predictions(tmp_path / "predictions.csv", tasks, songs)


def raw_tags(path: Path) -> list[tuple[str, str]]:
    """Every tag key and value of a file as mutagen reads it, to compare whole tags."""
    tags = mutagen.File(path).tags
    if tags is None:
        return []
    items = list(tags) if isinstance(tags, list) else list(tags.items())
    return sorted((str(key), repr(value)) for key, value in items)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def library(tmp_path):
    """One song of every format in ``music/``, with its predictions file."""
    paths = [make_song(tmp_path / "music", kind) for kind in ("mp3-v23", "flac", "ogg", "m4a")]
    return paths, predictions(tmp_path, [predicted(path) for path in paths])


def test_task_fields():
    assert task_field("mood") == "mood"
    assert task_field("genre") == "TUNETAG_GENRE"
    assert task_field("genre", genre=True) == "genre"
    assert task_field("energy level") == "TUNETAG_ENERGY_LEVEL"
    assert probability_field("mood") == "TUNETAG_MOOD_P"
    assert probability_field("vocal/instr") == "TUNETAG_VOCAL_INSTR_P"


def test_dry_run_changes_no_byte_and_writes_no_log(tmp_path, library, capsys):
    paths, csv_path = library
    music_before, top_before = snapshot(tmp_path / "music"), snapshot(tmp_path)

    report = tag(csv_path, progress=False)

    assert snapshot(tmp_path / "music") == music_before and snapshot(tmp_path) == top_before
    assert report.mode == "dry run" and report.changed == len(paths) and report.undo_log is None
    out = capsys.readouterr().out
    assert (
        f"{paths[1]}: mood '' -> 'mellow', TUNETAG_MOOD_P '' -> '0.9123', "
        f"TUNETAG_GENRE '' -> 'Ambient', TUNETAG_GENRE_P '' -> '0.7000', "
        f"TUNETAG_RUN '' -> '{RUN}'"
    ) in out.splitlines()
    assert out.splitlines()[-1].startswith(f"dry run: {len(paths)} files would change")


@pytest.mark.parametrize("kind", FORMATS)
def test_write_read_back_and_undo_each_format(tmp_path, kind, capsys):
    path = make_song(tmp_path / "music", kind)
    tags_before, audio_before = raw_tags(path), decode(path, 22050)
    csv_path = predictions(tmp_path, [predicted(path)])

    report = tag(csv_path, write=True, progress=False)

    assert report.changed == 1 and report.skipped == {}
    tags = mutagen.File(path).tags
    if kind == "mp3-v23":
        assert tags.version == (2, 3, 0) and tags["TXXX:MOOD"].text == ["mellow"]
        assert "TMOO" not in tags
    elif kind in ("mp3-v24", "wav"):
        assert tags.version == (2, 4, 0) and tags["TMOO"].text == ["mellow"]
    elif kind == "m4a":
        assert tags["----:com.apple.iTunes:MOOD"] == [b"mellow"]
        assert tags["----:com.apple.iTunes:TUNETAG_RUN"] == [RUN.encode()]
    else:
        assert ("MOOD", "mellow") in list(tags) and ("TUNETAG_RUN", RUN) in list(tags)
    person_genre = None if kind == "wav" else "Jazz"
    assert read_fields(path, ALL_FIELDS) == {
        "mood": "mellow",
        "genre": person_genre,  # the person's genre is never overwritten without --genre
        "TUNETAG_MOOD_P": "0.9123",
        "TUNETAG_GENRE": "Ambient",
        "TUNETAG_GENRE_P": "0.7000",
        "TUNETAG_RUN": RUN,
    }
    assert np.array_equal(decode(path, 22050), audio_before)
    log = report.undo_log
    assert log.parent == tmp_path and log.name.startswith("tunetag-undo-")
    (entry,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["path"] == str(path)
    assert entry["before"] == {field: None for field in entry["after"]}

    undone = undo_tags(log, progress=False)

    assert undone.changed == 1 and undone.skipped == {}
    assert raw_tags(path) == tags_before  # the same tags as before, fields it lacked removed
    assert np.array_equal(decode(path, 22050), audio_before)
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 file restored")


def test_genre_is_written_only_when_asked(tmp_path):
    path = make_song(tmp_path / "music", "flac", genre="Jazz")
    csv_path = predictions(tmp_path, [predicted(path, genre="Rock")])
    tag(csv_path, write=True, progress=False)
    assert read_fields(path, ["genre", "TUNETAG_GENRE"]) == {
        "genre": "Jazz",
        "TUNETAG_GENRE": "Rock",
    }

    report = tag(csv_path, write=True, genre=True, progress=False)

    assert report.changes[path] == {"genre": ("Jazz", "Rock")}
    assert [value for key, value in FLAC(path).tags if key == "GENRE"] == ["Rock"]
    undo_tags(report.undo_log, progress=False)
    assert read_fields(path, ["genre"]) == {"genre": "Jazz"}


def test_min_prob_leaves_uncertain_songs_alone(tmp_path):
    sure, unsure = (make_song(tmp_path / "music", "flac", name=n) for n in ("a.flac", "b.flac"))
    csv_path = predictions(tmp_path, [predicted(sure, 0.95), predicted(unsure, 0.4)])
    unsure_bytes = unsure.read_bytes()

    report = tag(csv_path, write=True, min_prob=0.8, progress=False)

    assert list(report.changes) == [sure]
    assert report.below_min_prob == 3  # both genres (0.7) and the unsure mood (0.6)
    assert unsure.read_bytes() == unsure_bytes
    assert read_fields(sure, ["mood", "TUNETAG_MOOD_P", "TUNETAG_GENRE"]) == {
        "mood": "mellow",
        "TUNETAG_MOOD_P": "0.9500",
        "TUNETAG_GENRE": None,
    }
    with pytest.raises(ParameterError, match="min_prob"):
        tag(csv_path, min_prob=1.5)


def test_other_tasks_and_multi_label_predictions(tmp_path):
    path = make_song(tmp_path / "music", "ogg")
    song = PredictedSong(
        path=path,
        run=RUN,
        predicted={"mood": "not mellow", "vocal tags": "calm;vocal"},
        probability={"mood": 0.8, "vocal tags": 0.61},
        probabilities={
            "mood": {"mellow": 0.2, "not mellow": 0.8},
            "vocal tags": {"calm": 0.9, "vocal": 0.61},
        },
    )
    tasks = {"mood": ["mellow", "not mellow"], "vocal tags": ["calm", "vocal"]}
    tag(predictions(tmp_path, [song], tasks), write=True, progress=False)
    fields = ["mood", "TUNETAG_VOCAL_TAGS", "TUNETAG_VOCAL_TAGS_P"]
    assert read_fields(path, fields) == {
        "mood": "not mellow",
        "TUNETAG_VOCAL_TAGS": "calm;vocal",
        "TUNETAG_VOCAL_TAGS_P": "0.6100",
    }


def test_tasks_that_would_share_a_field_are_refused(tmp_path):
    path = make_song(tmp_path / "music", "flac")
    song = PredictedSong(
        path=path,
        predicted={"energy level": "high", "energy_level": "low"},
        probability={"energy level": 0.9, "energy_level": 0.9},
        probabilities={"energy level": {"high": 0.9}, "energy_level": {"low": 0.9}},
    )
    tasks = {"energy level": ["high"], "energy_level": ["low"]}
    with pytest.raises(ParameterError, match="TUNETAG_ENERGY_LEVEL"):
        tag(predictions(tmp_path, [song], tasks), progress=False)


def test_a_second_run_changes_nothing_and_writes_no_log(tmp_path, library):
    _, csv_path = library
    first = tag(csv_path, write=True, progress=False)
    files = snapshot(tmp_path / "music")

    second = tag(csv_path, write=True, progress=False)

    assert (second.changed, second.unchanged, second.undo_log) == (0, first.changed, None)
    assert snapshot(tmp_path / "music") == files
    assert len(list(tmp_path.glob("tunetag-undo-*.jsonl"))) == 1


def test_read_only_and_vanished_files_are_reported_and_skipped(tmp_path, library, capsys):
    paths, csv_path = library
    read_only, vanished, *fine = paths
    read_only.chmod(0o444)
    read_only_bytes = read_only.read_bytes()
    vanished.unlink()

    report = tag(csv_path, write=True, undo_log=tmp_path / "logs" / "undo.jsonl", progress=False)

    assert report.skipped == {
        read_only: "read-only file; not changed",
        vanished: "file not found",
    }
    assert sorted(report.changes) == sorted(fine)
    assert read_only.read_bytes() == read_only_bytes and not vanished.exists()
    err = capsys.readouterr().err.splitlines()
    assert f"error: {read_only}: read-only file; not changed" in err
    assert f"error: {vanished}: file not found" in err
    logged = [json.loads(line)["path"] for line in report.undo_log.read_text().splitlines()]
    assert sorted(logged) == sorted(str(path) for path in fine)
    assert report.undo_log == tmp_path / "logs" / "undo.jsonl"


def test_odd_names_are_tagged_and_undone(tmp_path):
    names = ["Sigur Rós – Hoppípolla.flac", "two  words .ogg", "日本語の歌.m4a"]
    paths = [make_song(tmp_path / "Mü sic", name.rsplit(".", 1)[1], name=name) for name in names]
    before = [raw_tags(path) for path in paths]
    report = tag(predictions(tmp_path, [predicted(p) for p in paths]), write=True, progress=False)
    assert report.changed == 3 and report.skipped == {}
    assert all(read_fields(path, ["mood"]) == {"mood": "mellow"} for path in paths)
    undo_tags(report.undo_log, progress=False)
    assert [raw_tags(path) for path in paths] == before


def test_the_undo_record_is_on_disk_before_the_file_is_touched(tmp_path, library, monkeypatch):
    paths, csv_path = library
    log = tmp_path / "undo.jsonl"
    real_write = tagging.write_fields

    def write_after_checking_the_log(path, values):
        assert str(path) in [json.loads(line)["path"] for line in log.read_text().splitlines()]
        real_write(path, values)

    monkeypatch.setattr(tagging, "write_fields", write_after_checking_the_log)
    assert tag(csv_path, write=True, undo_log=log, progress=False).changed == len(paths)


def test_a_crash_while_writing_leaves_the_file_whole_and_undo_copes(
    tmp_path, library, monkeypatch, capsys
):
    paths, csv_path = library
    flac = paths[1]
    content = flac.read_bytes()

    def crash(self, *args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(FLAC, "save", crash)
    report = tag(csv_path, write=True, progress=False)
    monkeypatch.undo()

    assert report.skipped == {flac: "tags not written (Input/output error)"}
    assert flac.read_bytes() == content
    assert sorted(p.name for p in flac.parent.iterdir()) == sorted(p.name for p in paths)
    undone = undo_tags(report.undo_log, progress=False)
    assert (undone.changed, undone.unchanged, undone.skipped) == (len(paths) - 1, 1, {})
    assert flac.read_bytes() == content


def test_undo_leaves_a_file_changed_since_alone(tmp_path, library, capsys):
    paths, csv_path = library
    report = tag(csv_path, write=True, progress=False)
    changed = paths[1]
    tags = FLAC(changed)
    tags["MOOD"] = "angry"  # the person changed their mind after tagging
    tags.save()

    undone = undo_tags(report.undo_log, progress=False)

    reason = "changed since it was tagged; left as it is"
    assert undone.skipped == {changed: reason}
    assert f"error: {changed}: {reason}" in capsys.readouterr().err
    assert read_fields(changed, ["mood", "TUNETAG_RUN"]) == {"mood": "angry", "TUNETAG_RUN": RUN}
    assert all(read_fields(p, ["mood"]) == {"mood": None} for p in paths if p != changed)


def test_bad_undo_logs(tmp_path, library):
    paths, csv_path = library
    with pytest.raises(TagWriteError, match="file not found"):
        undo_tags(tmp_path / "none.jsonl")
    log = tag(csv_path, write=True, progress=False).undo_log
    lines = log.read_text().splitlines()

    broken = tmp_path / "broken.jsonl"
    broken.write_text(lines[0] + "\n{not json}\n" + "\n".join(lines[1:]) + "\n")
    files = snapshot(tmp_path / "music")
    with pytest.raises(TagWriteError, match="line 2 is not an undo record; nothing restored"):
        undo_tags(broken, progress=False)
    assert snapshot(tmp_path / "music") == files

    cut_short = tmp_path / "cut.jsonl"  # a crash in the middle of appending the last record
    cut_short.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:20])
    report = undo_tags(cut_short, progress=False)
    assert report.changed == len(paths) - 1 and report.skipped == {}


def test_a_run_appending_to_a_log_a_kill_cut_short_keeps_it_readable(tmp_path, library):
    """A second run in the same second appends to the log a killed run left mid-line."""
    paths, csv_path = library
    log = tmp_path / "undo.jsonl"
    before = {p: raw_tags(p) for p in paths}
    first = write_predictions(tmp_path / "first.csv", TASKS, [predicted(p) for p in paths[:2]])
    tag(first, write=True, undo_log=log, progress=False)
    log.write_text(log.read_text() + '{"path": "/music/cut sho')
    tag(csv_path, write=True, undo_log=log, progress=False)

    assert all(json.loads(line) for line in log.read_text().splitlines())
    assert undo_tags(log, progress=False).changed == len(paths)
    assert {p: raw_tags(p) for p in paths} == before

"""The predictions file: written by predict, read back by tag, playlists and report."""

from __future__ import annotations

import pytest

from tunetag.errors import LabelFileError, ParameterError
from tunetag.library.predictions import PredictedSong, read_predictions, write_predictions

TASKS = {"mood": ["mellow", "not mellow"], "tags": ["calm", "vocal"]}


def song(path, mood_p: float, tags: dict[str, float], **kwargs) -> PredictedSong:
    given = [label for label, p in tags.items() if p >= 0.5]
    least_given = min(tags[label] for label in given) if given else None
    return PredictedSong(
        path=path,
        run="mood@0123456789ab",
        predicted={"mood": "mellow" if mood_p >= 0.5 else "not mellow", "tags": ";".join(given)},
        probability={"mood": max(mood_p, 1 - mood_p), "tags": least_given},
        probabilities={"mood": {"mellow": mood_p, "not mellow": 1 - mood_p}, "tags": tags},
        **kwargs,
    )


def test_a_written_file_reads_back_the_same(tmp_path):
    music = tmp_path / "music"
    songs = [
        song(music / "Sigur Rós, Hoppípolla.flac", 0.9, {"calm": 0.8, "vocal": 0.6},
             artist="Sigur Rós", title="Hoppípolla", duration_s=268.5),
        song(music / "b.mp3", 0.2, {"calm": 0.1, "vocal": 0.3}),
    ]  # fmt: skip
    out = write_predictions(tmp_path / "out" / "predictions.csv", TASKS, songs)
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == (
        "path,artist,title,duration_s,run,mood,mood_probability,mood:mellow,mood:not mellow,"
        "tags,tags_probability,tags:calm,tags:vocal"
    )
    table = read_predictions(out)
    assert table.tasks == TASKS
    first, second = table.songs
    assert first.path == music / "Sigur Rós, Hoppípolla.flac"
    assert (first.artist, first.title, first.duration_s) == ("Sigur Rós", "Hoppípolla", 268.5)
    assert first.predicted == {"mood": "mellow", "tags": "calm;vocal"}
    assert first.probability == {"mood": 0.9, "tags": 0.6}
    assert second.predicted["tags"] == "" and second.probability["tags"] is None
    assert second.probabilities["mood"] == {"mellow": 0.2, "not mellow": 0.8}
    assert second.duration_s is None and second.artist == ""
    assert "../music/b.mp3" in out.read_text(encoding="utf-8")  # relative to the CSV


def test_a_song_csv_is_not_a_predictions_file(tmp_path):
    path = tmp_path / "songs.csv"
    path.write_text("path,artist,title,mood\na.wav,x,y,mellow\n", encoding="utf-8")
    with pytest.raises(LabelFileError, match="not a predictions file .*duration_s, run"):
        read_predictions(path)


def test_a_probability_out_of_range_names_its_line(tmp_path):
    out = write_predictions(
        tmp_path / "p.csv", TASKS, [song(tmp_path / "a.wav", 0.7, {"calm": 0.9, "vocal": 0.1})]
    )
    text = out.read_text(encoding="utf-8").replace("0.7000", "1.7000")
    out.write_text(text, encoding="utf-8")
    with pytest.raises(LabelFileError, match="line 2: mood_probability is '1.7000', not 0-1"):
        read_predictions(out)  # fmt: skip


def test_a_missing_predictions_file_is_named(tmp_path):
    with pytest.raises(LabelFileError, match="nope.csv: file not found"):
        read_predictions(tmp_path / "nope.csv")


def test_extra_columns_follow_the_tasks_one_cell_per_song(tmp_path):
    songs = [song(tmp_path / "a.wav", 0.7, {"calm": 0.9, "vocal": 0.1})]
    out = write_predictions(tmp_path / "p.csv", TASKS, songs, {"label:mood": ["mellow"]})
    header, row = out.read_text(encoding="utf-8").splitlines()
    assert header.endswith(",tags:vocal,label:mood") and row.endswith(",mellow")
    assert read_predictions(out).tasks == TASKS
    with pytest.raises(ParameterError, match="one cell per song"):
        write_predictions(tmp_path / "q.csv", TASKS, songs, {"label:mood": []})

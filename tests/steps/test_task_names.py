"""Any column name a spreadsheet can hold is a task, through train, report, predict and
playlists: ``label`` (beside scored-songs' ``label:<task>`` columns), colons, semicolons,
spaces, dots and letters beyond ASCII."""

from __future__ import annotations

import csv

import pytest
from commands import run_tunetag

from tunetag.library.predictions import read_predictions
from tunetag.runs.folder import RunFolder

ODD_TASKS = ["label", "mood: v2", "a;b c", "Stimmung (ä)", "v1.2"]


@pytest.fixture(scope="module")
def odd_library(small_library, copy_library, tmp_path_factory):
    """The small library with its mood copied into a column of each odd name."""
    root = copy_library(small_library, tmp_path_factory.mktemp("odd"))
    songs = root / "songs.csv"
    with open(songs, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    columns = list(rows[0]) + ODD_TASKS
    with open(songs, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(row | {task: row["mood"] for task in ODD_TASKS})
    return root


def test_odd_column_names_train_predict_and_make_playlists(odd_library, tmp_path):
    cache = tmp_path / "cache"
    tasks = [arg for task in ODD_TASKS for arg in ("--task", task)]
    trained = run_tunetag(
        "train", odd_library / "songs.csv", "-o", tmp_path / "run", "--model", "logreg",
        "--folds", "2", "--cache", cache, *tasks,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    run = RunFolder(tmp_path / "run")
    metrics = run.load_metrics()
    assert list(metrics["tasks"]) == ODD_TASKS
    scored, truth = run.load_scored_songs()
    assert list(scored.tasks) == ODD_TASKS
    assert all(scored.tasks[task] == ["mellow", "not mellow"] for task in ODD_TASKS)
    assert all(labels["label"] in (("mellow",), ("not mellow",)) for labels in truth)
    for task in ODD_TASKS:
        assert run.confusion_path(task).is_file()
    assert "Stimmung (ä)" in (run.path / "report.html").read_text(encoding="utf-8")

    predictions = tmp_path / "predictions.csv"
    predicted = run_tunetag(
        "predict", run.path, odd_library / "music", "-o", predictions, "--cache", cache
    )
    assert predicted.returncode == 0, predicted.stderr
    table = read_predictions(predictions)
    assert list(table.tasks) == ODD_TASKS and len(table.songs) == 8
    for song in table.songs:
        assert len({song.predicted[task] for task in ODD_TASKS}) == 1  # the same labels learnt

    lists = run_tunetag("playlists", predictions, "-o", tmp_path / "lists")
    assert lists.returncode == 0, lists.stderr
    assert len(list((tmp_path / "lists").rglob("*.m3u8"))) == 2 * len(ODD_TASKS)

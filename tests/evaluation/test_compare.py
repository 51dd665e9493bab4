"""Runs compared from their metrics.json, one-split and k-fold alike, as rows, table and PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tunetag.config import FeatureConfig, RunConfig
from tunetag.errors import ParameterError
from tunetag.evaluation.compare import compare, format_comparison, run_names
from tunetag.evaluation.metrics import (
    accuracy_interval,
    classification_metrics,
    multilabel_metrics,
    summarise_folds,
)

MOOD = ["mellow", "not mellow"]
MOODS = ["calm", "happy"]


def write_run(folder: Path, metrics: dict, views: tuple[str, ...] | None = None) -> Path:
    """A run folder holding ``metrics`` and, when ``views`` is given, a config.json."""
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    if views is not None:
        config = RunConfig(features=FeatureConfig(views=views))
        (folder / "config.json").write_text(config.to_json(), encoding="utf-8")
    return folder


def mood_metrics(predicted: list[int]) -> dict:
    """classification_metrics of 4 songs (truth 0, 0, 1, 1) predicted as given."""
    prob = np.eye(2)[predicted]
    return classification_metrics([0, 0, 1, 1], prob, MOOD)


def moods_metrics(prob: list[list[float]]) -> dict:
    """multilabel_metrics of 4 songs (calm: 1, 1, 0, 0; happy: 0, 1, 0, 1)."""
    truth = np.array([[1, 0], [1, 1], [0, 0], [0, 1]])
    return multilabel_metrics(truth, np.array(prob), MOODS)


def one_split_metrics() -> dict:
    """A one-split run's metrics.json: mood accuracy 0.75 (balanced 0.75), views inline."""
    return {
        "model": "seed",
        "views": ["mel"],
        "best_epoch": 4,
        "songs": {"train": 12, "validation": 4},
        "tasks": {"mood": mood_metrics([0, 1, 1, 1])},
    }


def k_fold_metrics() -> dict:
    """A 3-fold run's metrics.json with a single-label and a multi-label task, no views."""
    mood_folds = [
        mood_metrics([0, 0, 1, 1]),
        mood_metrics([0, 1, 1, 1]),
        mood_metrics([0, 0, 1, 0]),
    ]
    good = [[0.9, 0.2], [0.8, 0.7], [0.1, 0.3], [0.2, 0.9]]
    poor = [[0.9, 0.6], [0.3, 0.7], [0.4, 0.3], [0.2, 0.5]]
    moods_folds = [moods_metrics(good), moods_metrics(poor), moods_metrics(good)]
    return {
        "model": "shortchunk",
        "folds": 3,
        "tasks": {
            "mood": {
                "pooled": classification_metrics(
                    [0, 0, 1, 1] * 3, np.eye(2)[[0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 0]], MOOD
                ),
                "summary": summarise_folds(mood_folds),
                "interval_95": list(accuracy_interval(10, 12)),
            },
            "moods": {
                "pooled": moods_metrics(good),
                "summary": summarise_folds(moods_folds),
                "interval_95": None,
            },
        },
    }


@pytest.fixture
def two_runs(tmp_path: Path) -> list[Path]:
    return [
        write_run(tmp_path / "seed-run", one_split_metrics()),
        write_run(tmp_path / "folds-run", k_fold_metrics(), views=("mel", "chroma")),
    ]


def test_rows_of_a_one_split_run_and_a_k_fold_run(two_runs: list[Path]):
    rows = compare(two_runs)
    found = {(row["run"], row["task"], row["metric"]): row for row in rows}
    assert list(found) == [
        ("seed-run", "mood", "accuracy"),
        ("seed-run", "mood", "balanced_accuracy"),
        ("folds-run", "mood", "accuracy"),
        ("folds-run", "mood", "balanced_accuracy"),
        ("folds-run", "moods", "macro_roc_auc"),
        ("folds-run", "moods", "macro_pr_auc"),
    ]
    one_split = found["seed-run", "mood", "accuracy"]
    assert one_split == {
        "run": "seed-run",
        "model": "seed",
        "views": "mel",
        "task": "mood",
        "metric": "accuracy",
        "mean": 0.75,
        "std": 0.0,
        "folds": 1,
        "chosen": "",
    }
    k_fold = found["folds-run", "mood", "accuracy"]
    assert (k_fold["model"], k_fold["views"], k_fold["folds"]) == ("shortchunk", "mel+chroma", 3)
    # Fold accuracies 1.0, 0.75, 0.75.
    assert k_fold["mean"] == pytest.approx(2.5 / 3)
    assert k_fold["std"] == pytest.approx(np.std([1.0, 0.75, 0.75], ddof=1))
    roc = found["folds-run", "moods", "macro_roc_auc"]
    # The poor fold ranks 3 of 4 (yes, no) pairs right for each label: ROC-AUC 0.75.
    assert roc["mean"] == pytest.approx((1.0 + 0.75 + 1.0) / 3)
    assert roc["std"] == pytest.approx(np.std([1.0, 0.75, 1.0], ddof=1))
    assert json.loads(json.dumps(rows)) == rows


def test_undefined_scores_of_a_one_split_run_are_left_out(tmp_path: Path):
    metrics = {
        "model": "seed",
        "views": ["mel"],
        "tasks": {"moods": {**moods_metrics([[0.9, 0.2]] * 4), "macro_roc_auc": None}},
    }
    rows = compare([write_run(tmp_path / "run", metrics)])
    assert [row["metric"] for row in rows] == ["macro_pr_auc"]


def test_table_lists_every_run_with_its_spread(two_runs: list[Path]):
    table = format_comparison(compare(two_runs))
    assert table.splitlines() == [
        "task   metric             seed-run  folds-run",
        "       model              seed      shortchunk",
        "       views              mel       mel+chroma",
        "       folds              1         3",
        "-----  -----------------  --------  --------------",
        "mood   accuracy           0.750     0.833 +- 0.144",
        "mood   balanced_accuracy  0.750     0.833 +- 0.144",
        "moods  macro_roc_auc      -         0.917 +- 0.144",
        "moods  macro_pr_auc       -         0.944 +- 0.096",
    ]


def test_table_needs_rows():
    with pytest.raises(ParameterError, match="no scores"):
        format_comparison([])


def test_plot_is_written_when_asked(two_runs: list[Path], tmp_path: Path):
    path = tmp_path / "out" / "compare.png"
    compare(two_runs, plot_path=path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] >= 800


def test_runs_of_one_name_get_the_shortest_telling_suffix(tmp_path: Path):
    runs = [
        write_run(tmp_path / "x" / "mel" / "run", one_split_metrics()),
        write_run(tmp_path / "y" / "mel" / "run", one_split_metrics()),
        write_run(tmp_path / "chroma" / "run", one_split_metrics()),
        write_run(tmp_path / "seed", one_split_metrics()),
    ]
    expected = ["x/mel/run", "y/mel/run", "chroma/run", "seed"]
    assert run_names(runs) == expected
    assert list(dict.fromkeys(row["run"] for row in compare(runs))) == expected


def test_relative_folders_are_named_by_their_real_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    write_run(tmp_path / "seed", one_split_metrics())
    monkeypatch.chdir(tmp_path / "seed")
    assert run_names([Path(".")]) == ["seed"]


def test_a_folder_given_twice_is_an_error(two_runs: list[Path]):
    with pytest.raises(ParameterError, match="given twice"):
        compare([two_runs[0], two_runs[0].parent / "." / two_runs[0].name])


def test_a_folder_that_is_no_run_is_named(tmp_path: Path, two_runs: list[Path]):
    stray = tmp_path / "holiday photos"
    stray.mkdir()
    with pytest.raises(ParameterError, match="holiday photos: not a run folder"):
        compare([*two_runs, stray])


@pytest.mark.parametrize(
    "metrics",
    [
        {"tasks": {}},
        {"model": "seed", "views": ["mel"], "tasks": ["mood"]},
        {"model": "seed", "views": ["mel"], "tasks": {"mood": {"summary": {"accuracy": 0.5}}}},
        {"model": "seed", "views": ["mel"], "tasks": {"mood": {"n_songs": 4}}},
        [1, 2],
    ],
)
def test_metrics_of_another_layout_name_the_file(tmp_path: Path, metrics):
    run = write_run(tmp_path / "odd", metrics)
    with pytest.raises(ParameterError, match=r"odd[/\\]metrics\.json"):
        compare([run])


def test_what_auto_chose_is_a_line_per_task(tmp_path: Path):
    chosen = {"chosen": "probe:all", "C": 0.01, "balanced_accuracy": 0.8, "candidates": {}}
    metrics = {**one_split_metrics(), "model": "auto", "selection": {"model": {"mood": chosen}}}
    auto = write_run(tmp_path / "auto", metrics)
    other = write_run(tmp_path / "seed", one_split_metrics())
    rows = compare([auto, other])
    assert {row["chosen"] for row in rows if row["run"] == "auto"} == {"probe:all"}
    assert {row["chosen"] for row in rows if row["run"] == "seed"} == {""}
    lines = format_comparison(rows).splitlines()
    assert lines[-1].split() == ["mood", "chosen", "probe:all", "-"]

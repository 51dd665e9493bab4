"""Curves, fold curves, confusion matrices and comparisons come out as real PNGs, atomically."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tunetag.errors import ParameterError
from tunetag.evaluation.plots import (
    _mean_over_folds,
    plot_comparison,
    plot_confusion,
    plot_curves,
    plot_fold_curves,
)


def history(tasks: list[str], epochs: int = 6) -> list[dict[str, float]]:
    """A plausible history: losses falling, accuracies rising, validation loss lowest at 4."""
    rows = []
    for epoch in range(1, epochs + 1):
        row = {
            "epoch": epoch,
            "train_loss": 1.0 / epoch,
            "val_loss": 0.5 + abs(epoch - 4) * 0.1,
        }
        for index, task in enumerate(tasks):
            row[f"train_acc_{task}"] = min(1.0, 0.4 + 0.1 * epoch)
            row[f"val_acc_{task}"] = 0.3 + 0.05 * epoch + 0.02 * index
        rows.append(row)
    return rows


def assert_png(path: Path, min_width: int = 300, min_height: int = 200) -> None:
    """``path`` is a PNG of sensible size and is the only file left in its folder."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert min_width <= width <= 3000
    assert min_height <= height <= 3000
    assert [p.name for p in path.parent.iterdir()] == [path.name]


@pytest.mark.parametrize("tasks", [["mood"], ["mood", "genre"]])
def test_curves_write_a_png(tmp_path: Path, tasks: list[str]):
    path = tmp_path / "run" / "curves.png"
    plot_curves(history(tasks), path, title="test run")
    assert_png(path, min_width=800)


def test_curves_tolerate_missing_values_and_replace_the_old_file(tmp_path: Path):
    path = tmp_path / "curves.png"
    path.write_bytes(b"old")
    rows = history(["mood"], epochs=1)
    del rows[0]["val_acc_mood"]
    rows[0]["val_loss"] = float("nan")
    plot_curves(rows, path)
    assert_png(path)


def test_curves_need_epochs(tmp_path: Path):
    with pytest.raises(ParameterError):
        plot_curves([], tmp_path / "curves.png")
    with pytest.raises(ParameterError):
        plot_curves([{"train_loss": 1.0}], tmp_path / "curves.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("confusion", "classes"),
    [
        ([[10, 2], [1, 11]], ["mellow", "not mellow"]),
        ([[5, 1, 0, 0], [2, 6, 1, 0], [0, 0, 0, 0], [0, 1, 0, 7]], ["a", "b", "c", "d"]),
    ],
)
def test_confusion_writes_a_png(tmp_path: Path, confusion, classes):
    path = tmp_path / "confusion-mood.png"
    plot_confusion(confusion, classes, path, title="mood")
    assert_png(path)


@pytest.mark.parametrize(
    ("confusion", "classes"),
    [
        ([[1, 0], [0, 1]], ["only one"]),
        ([[1, 0, 0], [0, 1, 0]], ["a", "b", "c"]),
        ([[1, -1], [0, 1]], ["a", "b"]),
    ],
)
def test_confusion_rejects_bad_matrices(tmp_path: Path, confusion, classes):
    with pytest.raises(ParameterError):
        plot_confusion(confusion, classes, tmp_path / "confusion.png")
    assert list(tmp_path.iterdir()) == []


def fold_history(tasks: list[str], epochs_per_fold: list[int]) -> list[dict[str, float]]:
    """Rows of several folds that stopped at different epochs, each with a ``fold`` column."""
    return [
        {"fold": fold, **row}
        for fold, epochs in enumerate(epochs_per_fold)
        for row in history(tasks, epochs)
    ]


@pytest.mark.parametrize("tasks", [["mood"], ["mood", "genre"]])
def test_fold_curves_write_a_png(tmp_path: Path, tasks: list[str]):
    path = tmp_path / "run" / "curves.png"
    plot_fold_curves(fold_history(tasks, [6, 9, 4, 12, 7]), path, title="5-fold run")
    assert_png(path, min_width=800)


def test_fold_curves_tolerate_a_fold_without_validation(tmp_path: Path):
    rows = fold_history(["mood"], [3, 5])
    for row in rows[:3]:
        row["val_loss"] = math.nan
        del row["val_acc_mood"]
    path = tmp_path / "curves.png"
    plot_fold_curves(rows, path)
    assert_png(path)


def test_fold_curves_need_folds_and_epochs(tmp_path: Path):
    with pytest.raises(ParameterError, match="no epochs"):
        plot_fold_curves([], tmp_path / "curves.png")
    with pytest.raises(ParameterError, match="'fold'"):
        plot_fold_curves(history(["mood"]), tmp_path / "curves.png")
    with pytest.raises(ParameterError, match="'epoch'"):
        plot_fold_curves([{"fold": 0, "train_loss": 1.0}], tmp_path / "curves.png")
    assert list(tmp_path.iterdir()) == []


def test_fold_mean_covers_the_folds_that_reached_each_epoch():
    folds = [
        [
            {"epoch": 1, "val_loss": 1.0},
            {"epoch": 2, "val_loss": 0.5},
            {"epoch": 3, "val_loss": 0.2},
        ],
        [{"epoch": 1, "val_loss": 3.0}, {"epoch": 2, "val_loss": math.nan}],
        [{"epoch": 2, "val_loss": 1.5}],
    ]
    epochs, mean = _mean_over_folds(folds, "val_loss")
    assert epochs.tolist() == [1.0, 2.0, 3.0]
    assert mean.tolist() == pytest.approx([2.0, 1.0, 0.2])
    _, absent = _mean_over_folds(folds, "val_acc_mood")
    assert np.isnan(absent).all()


def comparison_rows(runs: list[str], tasks: dict[str, list[str]]) -> list[dict]:
    """Scores of each run on each task and metric, the last run from one split."""
    return [
        {
            "run": run,
            "task": task,
            "metric": metric,
            "mean": 0.6 + 0.05 * index,
            "std": 0.0 if index == len(runs) - 1 else 0.04,
            "folds": 1 if index == len(runs) - 1 else 5,
        }
        for index, run in enumerate(runs)
        for task, metrics in tasks.items()
        for metric in metrics
    ]


def test_comparison_writes_a_png_that_grows_with_the_groups(tmp_path: Path):
    small = tmp_path / "small" / "compare.png"
    large = tmp_path / "large" / "compare.png"
    plot_comparison(comparison_rows(["a", "b"], {"mood": ["accuracy"]}), small, title="runs")
    tasks = {"mood": ["accuracy", "balanced_accuracy"], "moods": ["macro_roc_auc", "macro_pr_auc"]}
    plot_comparison(comparison_rows(["a", "b", "c/run"], tasks), large)
    assert_png(small)
    assert_png(large)
    with Image.open(small) as first, Image.open(large) as second:
        assert second.size[1] > first.size[1] * 1.5


def test_comparison_draws_a_run_missing_a_metric(tmp_path: Path):
    rows = comparison_rows(["a", "b"], {"mood": ["accuracy", "balanced_accuracy"]})
    del rows[1]
    path = tmp_path / "compare.png"
    plot_comparison(rows, path)
    assert_png(path)


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [{"run": "a", "task": "mood", "metric": "accuracy", "mean": 0.5}],
        [{"run": "a", "task": "mood", "metric": "accuracy", "mean": math.nan, "std": 0.0}],
        [{"run": "a", "task": "mood", "metric": "accuracy", "mean": None, "std": 0.0}],
        [{"run": "a", "task": "mood", "metric": "accuracy", "mean": 0.5, "std": -0.1}],
    ],
)
def test_comparison_rejects_bad_rows(tmp_path: Path, rows):
    with pytest.raises(ParameterError):
        plot_comparison(rows, tmp_path / "compare.png")
    assert list(tmp_path.iterdir()) == []

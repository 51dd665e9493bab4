"""Training curves and confusion matrices come out as real PNG files, written atomically."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tunetag.errors import ParameterError
from tunetag.evaluation.plots import plot_confusion, plot_curves


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

"""PNG figures of a run: training curves and confusion matrices.

Drawn on a bare ``matplotlib.figure.Figure`` with the Agg canvas, so no pyplot global state
and no display are involved, and written atomically.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tunetag.atomic import atomic_write_bytes
from tunetag.errors import ParameterError

_DPI = 120
_ROTATE_LABELS_LONGER_THAN = 6  # characters; longer x tick labels are slanted


def _save_png(figure: Figure, path: Path) -> None:
    """Render ``figure`` to PNG bytes and write them atomically to ``path``."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    atomic_write_bytes(path, buffer.getvalue())


def _column(history: Sequence[Mapping[str, float]], key: str) -> np.ndarray:
    """One column of the history as floats; NaN where an epoch lacks it."""
    return np.array([float(row.get(key, math.nan)) for row in history], dtype=np.float64)


def _accuracy_tasks(history: Sequence[Mapping[str, float]]) -> list[str]:
    """Task names that have a ``train_acc_<task>`` or ``val_acc_<task>`` column, in order."""
    tasks: list[str] = []
    for row in history:
        for key in row:
            for prefix in ("train_acc_", "val_acc_"):
                if key.startswith(prefix) and key[len(prefix) :] not in tasks:
                    tasks.append(key[len(prefix) :])
    return tasks


def plot_curves(history: Sequence[Mapping[str, float]], path: Path, title: str = "") -> None:
    """Draw loss and accuracy per epoch, the way the proposal reports training.

    The left panel shows ``train_loss`` and ``val_loss``; the right panel every
    ``train_acc_<task>`` (dashed) and ``val_acc_<task>`` (solid) column, one colour per task.
    The epoch of lowest validation loss, the one a run keeps, is marked on both panels.

    Parameters
    ----------
    history : sequence of mapping
        One row per epoch, as in ``history.csv``: ``epoch``, ``train_loss``, ``val_loss`` and
        the accuracy columns (fractions in [0, 1]). A missing or NaN value leaves a gap.
    path : Path
        The PNG file to write; its folder is created if missing.
    title : str
        Figure title, e.g. the run name.

    Raises
    ------
    ParameterError
        If ``history`` is empty or a row lacks ``epoch``.
    """
    if len(history) == 0:
        raise ParameterError(f"{path}: no epochs to plot")
    if any("epoch" not in row for row in history):
        raise ParameterError(f"{path}: every history row needs an 'epoch' column")
    epochs = _column(history, "epoch")
    val_loss = _column(history, "val_loss")
    best = int(np.nanargmin(val_loss)) if np.any(np.isfinite(val_loss)) else None

    figure = Figure(figsize=(11, 4.2), layout="constrained")
    loss_axes, acc_axes = figure.subplots(1, 2)
    marker = "o" if len(history) <= 30 else None

    loss_axes.plot(epochs, _column(history, "train_loss"), "--", color="dimgray", label="train")
    loss_axes.plot(epochs, val_loss, "-", marker=marker, color="black", label="validation")
    if best is not None:
        loss_axes.plot(
            epochs[best],
            val_loss[best],
            "*",
            color="crimson",
            markersize=16,
            zorder=5,
            label=f"best (epoch {epochs[best]:g})",
        )
    loss_axes.set_title("Loss")
    loss_axes.set_ylabel("loss (cross-entropy)")

    for index, task in enumerate(_accuracy_tasks(history)):
        colour = f"C{index % 10}"
        train_acc = _column(history, f"train_acc_{task}")
        val_acc = _column(history, f"val_acc_{task}")
        if np.any(np.isfinite(train_acc)):
            acc_axes.plot(epochs, train_acc, "--", color=colour, label=f"{task} train")
        if np.any(np.isfinite(val_acc)):
            acc_axes.plot(
                epochs, val_acc, "-", marker=marker, color=colour, label=f"{task} validation"
            )
    if best is not None:
        acc_axes.axvline(epochs[best], color="crimson", linestyle=":", label="best epoch")
    acc_axes.set_title("Accuracy")
    acc_axes.set_ylabel("accuracy")
    acc_axes.set_ylim(-0.02, 1.02)

    for axes in (loss_axes, acc_axes):
        axes.set_xlabel("epoch")
        axes.grid(True, alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="best", fontsize="small")
    if title:
        figure.suptitle(title)
    _save_png(figure, Path(path))


def plot_confusion(
    confusion: Sequence[Sequence[int]], classes: Sequence[str], path: Path, title: str = ""
) -> None:
    """Draw an annotated confusion matrix of song counts.

    Each cell shows its count and its share of the true class; the shading is that share
    (row-normalised), so a class with few songs stays as readable as a large one.

    Parameters
    ----------
    confusion : k x k sequence of int
        Song counts; rows are the true class, columns the predicted class, in ``classes``
        order (as ``classification_metrics`` returns).
    classes : sequence of str, length k
        Class names.
    path : Path
        The PNG file to write; its folder is created if missing.
    title : str
        Start of the figure title; the accuracy and song count are appended.

    Raises
    ------
    ParameterError
        If the matrix is not k x k for k class names or holds negative counts.
    """
    counts = np.asarray(confusion)
    n_classes = len(classes)
    if n_classes == 0 or counts.shape != (n_classes, n_classes):
        raise ParameterError(
            f"{path}: confusion must be {n_classes} x {n_classes} for {n_classes} classes, "
            f"got shape {counts.shape}"
        )
    if np.any(counts < 0):
        raise ParameterError(f"{path}: confusion holds negative counts")
    counts = counts.astype(np.int64)
    row_totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, row_totals, out=np.zeros(counts.shape), where=row_totals > 0)
    n_songs = int(counts.sum())
    accuracy = np.trace(counts) / n_songs if n_songs else 0.0

    longest = max(len(str(name)) for name in classes)
    side = max(3.2, 0.9 * n_classes + 1.6)
    figure = Figure(
        figsize=(side + 1.2, side + 0.3 + 0.05 * min(longest, 30)), layout="constrained"
    )
    axes = figure.subplots()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    colourbar = figure.colorbar(image, ax=axes, shrink=0.8)
    colourbar.set_label("share of true class")

    font_size = 11 if n_classes <= 6 else 9
    for row in range(n_classes):
        for col in range(n_classes):
            text = f"{counts[row, col]}"
            if row_totals[row, 0] > 0:
                text += f"\n{shares[row, col]:.0%}"
            axes.text(
                col,
                row,
                text,
                ha="center",
                va="center",
                fontsize=font_size,
                color="white" if shares[row, col] > 0.55 else "black",
            )

    ticks = np.arange(n_classes)
    names = [str(name) for name in classes]
    axes.set_xticks(ticks)
    axes.set_yticks(ticks)
    if longest > _ROTATE_LABELS_LONGER_THAN:
        axes.set_xticklabels(names, rotation=35, ha="right", rotation_mode="anchor")
    else:
        axes.set_xticklabels(names)
    axes.set_yticklabels(names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    summary = f"accuracy {accuracy:.1%} ({n_songs} songs)"
    axes.set_title(f"{title}\n{summary}" if title else summary)
    _save_png(figure, Path(path))

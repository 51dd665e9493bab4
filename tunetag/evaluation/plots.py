"""PNG figures of a run: training curves, confusion matrices and comparisons of runs.

Drawn on a bare ``matplotlib.figure.Figure`` with the Agg canvas, so no pyplot global state
and no display are involved, and written atomically.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tunetag.errors import ParameterError
from tunetag.evaluation.metrics import is_finite_number
from tunetag.files.atomic import atomic_write_bytes

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


class _Series(NamedTuple):
    """One curve of the training figure: which panel, which column, how it is drawn."""

    panel: int  # 0: loss, 1: accuracy
    column: str
    linestyle: str  # dashed for training, solid for validation
    colour: str
    label: str

    @property
    def is_validation(self) -> bool:
        return self.linestyle == "-"


def _series(history: Sequence[Mapping[str, float]]) -> list[_Series]:
    """The curves of a history: both losses, then training and validation accuracy per task."""
    series = [
        _Series(0, "train_loss", "--", "dimgray", "train"),
        _Series(0, "val_loss", "-", "black", "validation"),
    ]
    for index, task in enumerate(_accuracy_tasks(history)):
        colour = f"C{index % 10}"
        series.append(_Series(1, f"train_acc_{task}", "--", colour, f"{task} train"))
        series.append(_Series(1, f"val_acc_{task}", "-", colour, f"{task} validation"))
    return series


def _check_history(
    history: Sequence[Mapping[str, float]], path: Path, columns: Sequence[str]
) -> None:
    """ParameterError unless ``history`` has rows and every row has every one of ``columns``."""
    if len(history) == 0:
        raise ParameterError(f"{path}: no epochs to plot")
    for column in columns:
        if any(column not in row for row in history):
            raise ParameterError(f"{path}: every history row needs an {column!r} column")


def _curve_figure() -> tuple[Figure, tuple[Axes, Axes]]:
    """An empty two-panel figure: loss on the left, accuracy on the right."""
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    loss_axes, acc_axes = figure.subplots(1, 2)
    return figure, (loss_axes, acc_axes)


def _finish_curves(figure: Figure, panels: tuple[Axes, Axes], title: str, path: Path) -> None:
    """Label, grid and legend both panels, title the figure and write it."""
    loss_axes, acc_axes = panels
    loss_axes.set_title("Loss")
    loss_axes.set_ylabel("loss (cross-entropy)")
    acc_axes.set_title("Accuracy")
    acc_axes.set_ylabel("accuracy")
    acc_axes.set_ylim(-0.02, 1.02)
    for axes in panels:
        axes.set_xlabel("epoch")
        axes.grid(True, alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="best", fontsize="small")
    if title:
        figure.suptitle(title)
    _save_png(figure, Path(path))


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
    _check_history(history, path, ("epoch",))
    epochs = _column(history, "epoch")
    val_loss = _column(history, "val_loss")
    best = int(np.nanargmin(val_loss)) if np.any(np.isfinite(val_loss)) else None

    figure, panels = _curve_figure()
    marker = "o" if len(history) <= 30 else None
    for series in _series(history):
        values = _column(history, series.column)
        if np.any(np.isfinite(values)):
            panels[series.panel].plot(
                epochs,
                values,
                series.linestyle,
                marker=marker if series.is_validation else None,
                color=series.colour,
                label=series.label,
            )
    if best is not None:
        panels[0].plot(
            epochs[best],
            val_loss[best],
            "*",
            color="crimson",
            markersize=16,
            zorder=5,
            label=f"best (epoch {epochs[best]:g})",
        )
        panels[1].axvline(epochs[best], color="crimson", linestyle=":", label="best epoch")
    _finish_curves(figure, panels, title, path)


def plot_fold_curves(history: Sequence[Mapping[str, float]], path: Path, title: str = "") -> None:
    """Draw the training curves of every fold of a k-fold run, and their mean.

    The panels and colours are those of `plot_curves`. Each fold is a thin line; each
    series' mean over the folds is a bold line, at every epoch over the folds that reached
    it (folds stop early at different epochs). The spread of the thin lines shows how much
    the curves depend on which songs a fold holds. Each fold's kept epoch (lowest
    validation loss) is a star on the loss panel.

    Parameters
    ----------
    history : sequence of mapping
        One row per fold and epoch: ``fold``, ``epoch`` and the columns of `plot_curves`
        (fractions in [0, 1] for accuracies). A missing or NaN value leaves a gap.
    path : Path
        The PNG file to write; its folder is created if missing.
    title : str
        Figure title, e.g. the run name; the fold count is appended.

    Raises
    ------
    ParameterError
        If ``history`` is empty or a row lacks ``fold`` or ``epoch``.
    """
    _check_history(history, path, ("fold", "epoch"))
    folds = [[row for row in history if row["fold"] == fold] for fold in _unique(history, "fold")]
    figure, panels = _curve_figure()
    for series in _series(history):
        axes = panels[series.panel]
        for rows in folds:
            axes.plot(
                _column(rows, "epoch"),
                _column(rows, series.column),
                series.linestyle,
                color=series.colour,
                linewidth=0.8,
                alpha=0.4,
            )
        epochs, mean = _mean_over_folds(folds, series.column)
        if np.any(np.isfinite(mean)):
            axes.plot(
                epochs,
                mean,
                series.linestyle,
                color=series.colour,
                linewidth=2.4,
                label=f"{series.label} (mean)",
            )
    best_label = "kept epoch of each fold"
    for rows in folds:
        val_loss = _column(rows, "val_loss")
        if np.any(np.isfinite(val_loss)):
            best = int(np.nanargmin(val_loss))
            panels[0].plot(
                _column(rows, "epoch")[best],
                val_loss[best],
                "*",
                color="crimson",
                markersize=11,
                zorder=5,
                label=best_label,
            )
            best_label = "_nolegend_"
    summary = f"{len(folds)} folds: thin lines one fold each, bold lines their mean"
    _finish_curves(figure, panels, f"{title}\n{summary}" if title else summary, path)


def _mean_over_folds(
    folds: Sequence[Sequence[Mapping[str, float]]], column: str
) -> tuple[np.ndarray, np.ndarray]:
    """Every epoch any fold reached, and the mean of ``column`` over the folds that have it.

    Returns
    -------
    epochs, mean : np.ndarray of float, shape (n_epochs,)
        Sorted epochs; the mean over the folds with a finite value there, NaN where none has.
    """
    epochs = np.unique(np.concatenate([_column(rows, "epoch") for rows in folds]))
    table = np.full((len(folds), epochs.size), math.nan)
    for index, rows in enumerate(folds):
        table[index, np.searchsorted(epochs, _column(rows, "epoch"))] = _column(rows, column)
    reached = np.isfinite(table).sum(axis=0)
    total = np.where(np.isfinite(table), table, 0.0).sum(axis=0)
    return epochs, np.where(reached > 0, total / np.maximum(reached, 1), math.nan)


def _unique(rows: Sequence[Mapping], key: str) -> list:
    """The distinct values of ``key`` over ``rows``, in order of first appearance."""
    return list(dict.fromkeys(row[key] for row in rows))


def plot_comparison(rows: Sequence[Mapping], path: Path, title: str = "") -> None:
    """Draw several runs' scores side by side, with their spread over folds.

    One group of horizontal bars per task and metric, one bar (one colour) per run; the
    error bar is +-1 standard deviation over folds, and each bar's end carries its value. Two
    runs whose bars overlap within their error bars are not shown to differ.

    Parameters
    ----------
    rows : sequence of mapping
        One per run, task and metric: ``run``, ``task``, ``metric``, ``mean`` and ``std``
        (scores such as accuracy, fractions in [0, 1]; std 0.0 for a one-split run), as
        `tunetag.evaluation.compare.compare` returns. An optional ``folds`` of 1 marks the
        value "(one split)".
    path : Path
        The PNG file to write; its folder is created if missing.
    title : str
        Figure title.

    Raises
    ------
    ParameterError
        If ``rows`` is empty, a row lacks a key, or a mean or std is not a finite number
        (std negative included).
    """
    if len(rows) == 0:
        raise ParameterError(f"{path}: no scores to compare")
    for row in rows:
        missing = [key for key in ("run", "task", "metric", "mean", "std") if key not in row]
        if missing:
            raise ParameterError(f"{path}: a comparison row lacks {', '.join(missing)}")
        numbers = (row["mean"], row["std"])
        if not all(map(is_finite_number, numbers)) or row["std"] < 0:
            raise ParameterError(f"{path}: mean and std must be finite, std >= 0, got {row}")
    runs = _unique(rows, "run")
    groups = list(dict.fromkeys((row["task"], row["metric"]) for row in rows))
    bar_height = 0.8 / len(runs)

    figure = Figure(figsize=(9, 1.2 + len(groups) * (0.3 * len(runs) + 0.35)), layout="constrained")
    axes = figure.subplots()
    ends = [row["mean"] + row["std"] for row in rows]
    right = max(1.0, *ends)
    for run_index, run in enumerate(runs):
        colour = f"C{run_index % 10}"
        for row in rows:
            if row["run"] != run:
                continue
            y = groups.index((row["task"], row["metric"])) + (run_index + 0.5) * bar_height - 0.4
            axes.barh(y, row["mean"], height=bar_height * 0.9, color=colour, label=str(run))
            if row["std"] > 0:
                axes.errorbar(
                    row["mean"], y, xerr=row["std"], fmt="none", ecolor="black", capsize=3
                )
            text = f"{row['mean']:.3f}" + (f" ± {row['std']:.3f}" if row["std"] > 0 else "")
            if row.get("folds") == 1:
                text += " (one split)"
            axes.text(
                row["mean"] + row["std"] + 0.01 * right,
                y,
                text,
                va="center",
                fontsize="small" if len(runs) <= 4 else "x-small",
            )
    for boundary in range(1, len(groups)):
        axes.axhline(boundary - 0.5, color="lightgray", linewidth=0.8)
    axes.set_yticks(range(len(groups)))
    axes.set_yticklabels([f"{task}\n{metric}" for task, metric in groups])
    axes.set_ylim(len(groups) - 0.5, -0.5)
    left = min(0.0, *(row["mean"] for row in rows))
    axes.set_xlim(left, right * 1.3)
    axes.set_xticks([tick for tick in axes.get_xticks() if left <= tick <= right])
    axes.set_xlabel("score (mean ± std over folds)")
    axes.grid(True, axis="x", alpha=0.3)
    handles, labels = axes.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    figure.legend(
        unique.values(), unique.keys(), loc="outside lower center", ncols=min(len(runs), 4)
    )
    if title:
        axes.set_title(title)
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


def plot_learning_curves(curves: Mapping[str, Mapping], path: Path, title: str = "") -> None:
    """Draw each task's score against the labelled songs it was learnt from, with the 95 %
    interval over folds as a band (see `tunetag.evaluation.learning.learning_curve`).

    Raises
    ------
    ParameterError
        If no task has a point to draw.
    """
    drawn = {task: curve for task, curve in curves.items() if curve["points"]}
    if not drawn:
        raise ParameterError(f"{path}: no learning curve has a point to draw")
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.subplots()
    for task, curve in drawn.items():
        points = curve["points"]
        songs = [p["songs"] for p in points]
        means = [p["mean"] for p in points]
        label = f"{task} ({curve['metric'].replace('_', ' ')})"
        (line,) = axes.plot(songs, means, marker="o", label=label)
        bands = [(p["songs"], *p["interval_95"]) for p in points if p["interval_95"]]
        if bands:
            x, low, high = zip(*bands, strict=True)
            axes.fill_between(x, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
    axes.set_xlabel("labelled songs each fold's model learnt from")
    axes.set_ylabel("cross-validated score")
    axes.set_ylim(0.0, 1.0)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    axes.set_title(title or "learning curve (band: 95 % interval over folds)")
    _save_png(figure, Path(path))

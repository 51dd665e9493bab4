"""What a person looks at in a run folder, drawn from what training left: the loss and
accuracy curves, a confusion matrix per single-label task and the HTML report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from tunetag.evaluation.plots import (
    plot_confusion,
    plot_curves,
    plot_fold_curves,
    plot_learning_curves,
)
from tunetag.evaluation.report import report
from tunetag.library.tasks import Task
from tunetag.runs.folder import RunFolder


def write_run_outputs(
    run: RunFolder,
    tasks: Sequence[Task],
    history: Sequence[Mapping[str, float]],
    metrics: Mapping,
    cache_dir: str | Path | None = None,
) -> None:
    """Write ``curves.png``, ``confusion-<task>.png``, ``learning-curve.png`` (where the run
    drew one) and ``report.html`` into ``run``.

    Parameters
    ----------
    run : RunFolder
        A run folder whose model, tasks, scored songs and metrics are saved.
    tasks : sequence of Task
        The run's tasks.
    history : sequence of mapping
        One row per epoch (per fold and epoch with k folds), as ``history.csv`` holds.
    metrics : mapping
        What ``metrics.json`` holds: the model, the number of folds and per task the
        pooled metrics (under ``"pooled"`` with k folds).
    cache_dir : path, optional
        The feature cache the run was trained from: the report's why strips read it.
    """
    model, folds = metrics["model"], metrics["folds"]
    title = f"{model}: {', '.join(task.name for task in tasks)}"
    plot = plot_fold_curves if folds > 1 else plot_curves
    plot(history, run.curves_path, title=title)
    where = "every song, out of fold" if folds > 1 else "validation songs"
    for task in tasks:
        found = metrics["tasks"][task.name]
        pooled = found["pooled"] if folds > 1 else found
        if not task.multilabel and pooled["n_songs"]:
            plot_confusion(
                pooled["confusion"],
                list(task.classes),
                run.confusion_path(task.name),
                title=f"{task.name} ({model}, {where})",
            )
    curves = metrics.get("learning_curve")
    if curves and any(curve["points"] for curve in curves.values()):
        plot_learning_curves(curves, run.learning_curve_path, title=f"{model}: learning curve")
    report(run.path, cache_dir=cache_dir)

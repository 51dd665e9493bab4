"""Several trained runs side by side: each one's scores, with their spread over folds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath

from tunetag.errors import ParameterError
from tunetag.evaluation.choice import chosen
from tunetag.evaluation.metrics import is_finite_number
from tunetag.evaluation.plots import plot_comparison
from tunetag.runs.folder import RunFolder

SINGLE_LABEL_METRICS = ("accuracy", "balanced_accuracy")
MULTI_LABEL_METRICS = ("macro_roc_auc", "macro_pr_auc")


def compare(run_dirs: Sequence[Path], plot_path: Path | None = None) -> list[dict]:
    """Collect the song-level scores of trained runs, to tell which model or view is better.

    Reads each run's ``metrics.json`` in either of its two shapes. A one-split run holds
    ``{"model", "tasks": {task: metrics}}``; its score is the one measured, with std 0.0 and
    ``folds`` 1. A k-fold run holds ``{"model", "folds", "tasks": {task: {"pooled",
    "summary", "interval_95"}}}``; its score is the mean over folds with their sample std,
    from ``summary`` (see `tunetag.evaluation.metrics.summarise_folds`). Single-label tasks
    give accuracy and balanced accuracy, multi-label tasks macro ROC-AUC and macro PR-AUC.

    Parameters
    ----------
    run_dirs : sequence of Path
        Run folders, each written by ``train``.
    plot_path : Path, optional
        Where to draw the rows as a bar chart PNG (`plot_comparison`); no plot if None.

    Returns
    -------
    list of dict
        One row per run, task and metric, in the order given: ``run`` (the folder's name, or
        its shortest path suffix that tells it from the other runs), ``model``, ``views``
        (view names joined by "+"), ``task``, ``metric``, ``mean`` and ``std`` (fractions in
        [0, 1]), ``folds`` (how many folds the mean is over) and ``chosen`` (what ``auto``
        chose for the task, see `tunetag.evaluation.choice`; "" for other models).

    Raises
    ------
    ParameterError
        If no folder is given, one is given twice, a folder is not a run (no
        ``metrics.json``), or its ``metrics.json`` holds none of the scores above.
    """
    if len(run_dirs) == 0:
        raise ParameterError("no run folders to compare")
    rows: list[dict] = []
    for run_dir, name in zip(run_dirs, run_names(run_dirs), strict=True):
        rows.extend(_run_rows(RunFolder(run_dir), name))
    if plot_path is not None:
        plot_comparison(rows, plot_path, title=f"{len(run_dirs)} runs compared")
    return rows


def run_names(run_dirs: Sequence[Path]) -> list[str]:
    """Short unique names: each folder's name, lengthened by parent folders until unique.

    Parameters
    ----------
    run_dirs : sequence of Path
        Run folders; relative paths are taken from the current folder.

    Returns
    -------
    list of str
        One name per folder, e.g. ``["seed", "mel/shortchunk", "chroma/shortchunk"]``.

    Raises
    ------
    ParameterError
        If the same folder is given twice.
    """
    paths = [Path(run_dir).resolve() for run_dir in run_dirs]
    names = []
    for index, path in enumerate(paths):
        others = paths[:index] + paths[index + 1 :]
        if path in others:
            raise ParameterError(f"{path}: run folder given twice")
        for length in range(1, len(path.parts) + 1):
            suffix = path.parts[-length:]
            if all(other.parts[-length:] != suffix for other in others):
                names.append(PurePath(*suffix).as_posix())
                break
    return names


def format_comparison(rows: Sequence[Mapping]) -> str:
    """A plain-text table of `compare` rows, for a terminal.

    One line per task and metric, one column per run with ``mean +- std`` over folds (the
    mean alone for a one-split run). Header lines give each run's model, views and folds;
    a ``chosen`` line per task gives what a choosing model (``auto``) chose for it.

    Parameters
    ----------
    rows : sequence of mapping
        As `compare` returns: ``run``, ``task``, ``metric``, ``mean``, ``std`` and optionally
        ``model``, ``views`` and ``folds``.

    Returns
    -------
    str
        The table, columns separated by two spaces, without a final newline; "-" where a
        run lacks a score.

    Raises
    ------
    ParameterError
        If ``rows`` is empty.
    """
    if len(rows) == 0:
        raise ParameterError("no scores to compare")
    runs = list(dict.fromkeys(row["run"] for row in rows))
    first_row = {run: next(row for row in rows if row["run"] == run) for run in runs}
    cells = {(row["run"], row["task"], row["metric"]): _cell(row) for row in rows}
    groups = list(dict.fromkeys((row["task"], row["metric"]) for row in rows))

    lines = [["task", "metric", *map(str, runs)]]
    for key in ("model", "views", "folds"):
        lines.append(["", key, *(str(first_row[run].get(key, "-")) for run in runs)])
    body = [
        [task, metric, *(cells.get((run, task, metric), "-") for run in runs)]
        for task, metric in groups
    ]
    choices = {(row["run"], row["task"]): row.get("chosen") for row in rows}
    for task in dict.fromkeys(task for task, _ in groups):
        if any(choices.get((run, task)) for run in runs):
            body.append([task, "chosen", *(choices.get((run, task)) or "-" for run in runs)])
    widths = [max(len(line[col]) for line in lines + body) for col in range(len(runs) + 2)]
    lines.append(["-" * width for width in widths])
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in lines + body
    )


def _cell(row: Mapping) -> str:
    """``0.912 +- 0.031``, or ``0.912`` for a score from one split."""
    if row.get("folds", 2) == 1:
        return f"{row['mean']:.3f}"
    return f"{row['mean']:.3f} +- {row['std']:.3f}"


def _run_rows(run: RunFolder, name: str) -> list[dict]:
    """The comparison rows of one run folder, read from its metrics.json."""
    metrics = run.load_metrics()
    try:
        model = metrics["model"]
        views = _views(metrics, run)
        choices = (metrics.get("selection") or {}).get("model", {})
        rows = []
        for task, scores in metrics["tasks"].items():
            for metric, (mean, std, folds) in _task_scores(scores).items():
                rows.append(
                    {
                        "run": name,
                        "model": model,
                        "views": views,
                        "task": task,
                        "metric": metric,
                        "mean": mean,
                        "std": std,
                        "folds": folds,
                        "chosen": chosen(choices[task]) if task in choices else "",
                    }
                )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ParameterError(
            f"{run.metrics_path}: not tunetag's metrics layout ({exc!r})"
        ) from None
    if not rows:
        raise ParameterError(
            f"{run.metrics_path}: no {', '.join(SINGLE_LABEL_METRICS + MULTI_LABEL_METRICS)} "
            "score in any task"
        )
    return rows


def _task_scores(scores: Mapping) -> dict[str, tuple[float, float, int]]:
    """Metric -> (mean, std, folds) of one task, from a one-split or a k-fold entry."""
    found = {}
    for metric in SINGLE_LABEL_METRICS + MULTI_LABEL_METRICS:
        if "summary" in scores:
            if metric in scores["summary"]:
                summary = scores["summary"][metric]
                found[metric] = (
                    float(summary["mean"]),
                    float(summary["std"]),
                    len(summary["folds"]),
                )
        elif is_finite_number(scores.get(metric)):
            found[metric] = (float(scores[metric]), 0.0, 1)
    return found


def _views(metrics: Mapping, run: RunFolder) -> str:
    """The views the model was fed, from metrics.json or else the run's config.json."""
    views = metrics.get("views") or run.load_config().features.views
    return "+".join(views)

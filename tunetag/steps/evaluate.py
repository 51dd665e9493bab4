"""Score a trained run on any labelled CSV: the same song-level metrics and confusion matrix."""

from __future__ import annotations

import sys
from concurrent.futures import Executor
from pathlib import Path

import numpy as np

from tunetag.errors import LabelFileError
from tunetag.evaluation.plots import plot_confusion
from tunetag.evaluation.task_metrics import task_metrics
from tunetag.library.songtable import SongTable, cell_labels
from tunetag.runs.classify import classify_songs
from tunetag.runs.folder import RunFolder


def evaluate(
    run_dir: str | Path,
    csv_path: str | Path,
    out_dir: str | Path | None = None,
    *,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> dict:
    """Score ``run_dir`` on the labelled songs of ``csv_path``.

    Songs whose label the run never saw cannot be scored: they are counted and skipped.
    Writes ``metrics.json`` and ``confusion-<task>.png`` (single-label tasks) into
    ``out_dir`` (default: ``<run>/eval-<csv name>``) and returns the metrics.
    """
    run = RunFolder(run_dir)
    tasks = run.load_tasks()
    table = SongTable.read(csv_path)
    missing = [task.name for task in tasks if task.name not in table.columns]
    if missing:
        raise LabelFileError(f"{csv_path}: no column {', '.join(missing)} to evaluate against")
    cells = {
        task.name: {i: cell_labels(row[task.name]) for i, row in enumerate(table.rows)}
        for task in tasks
    }
    rows = sorted(i for i in range(len(table.rows)) if any(cells[t.name][i] for t in tasks))
    if not rows:
        raise LabelFileError(f"{csv_path}: no song has a label for the run's tasks")
    paths = [table.audio_path(table.rows[i]) for i in rows]
    result = classify_songs(
        run_dir, paths, cache_dir=cache_dir, executor=executor, progress=progress
    )
    position = {path: k for k, path in enumerate(result.paths)}
    out = Path(out_dir) if out_dir else run.path / f"eval-{Path(csv_path).stem}"
    metrics: dict = {"csv": str(csv_path), "songs_skipped": len(result.errors), "tasks": {}}
    for task in tasks:
        truth = np.full((len(result.paths), task.n_outputs), np.nan)
        unknown = 0
        for i, path in zip(rows, paths, strict=True):
            labels = cells[task.name][i]
            if path not in position or not labels:
                continue
            if all(label in task.classes for label in labels):
                truth[position[path]] = task.target(labels)
            else:
                unknown += 1
        if unknown:
            print(
                f"{task.name}: {unknown} songs have labels the run never saw; not scored",
                file=sys.stderr,
            )
        found = task_metrics(task, truth, result.probabilities[task.name])
        found["songs_unknown_label"] = unknown
        metrics["tasks"][task.name] = found
        if found["n_songs"] and not task.multilabel:
            plot_confusion(
                found["confusion"],
                list(task.classes),
                out / f"confusion-{task.name}.png",
                title=task.name,
            )
    run.save_metrics(metrics, out / "metrics.json")
    return metrics

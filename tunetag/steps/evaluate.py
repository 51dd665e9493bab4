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


def default_out_dir(run_dir: str | Path, csv_path: str | Path) -> Path:
    """Where `evaluate` writes without ``out_dir``: ``<run>/eval-<csv name>``."""
    return Path(run_dir) / f"eval-{Path(csv_path).stem}"


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
    ``out_dir`` (default: ``<run>/eval-<csv name>``) and returns the metrics, with
    ``songs_the_model_learned``: how many of the songs the saved model was trained on,
    whose scores flatter it.
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
    out = Path(out_dir) if out_dir else default_out_dir(run_dir, csv_path)
    metrics: dict = {
        "csv": str(csv_path),
        "songs_skipped": len(result.errors),
        "songs_the_model_learned": _songs_the_model_learned(run, paths),
        "tasks": {},
    }
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


def _songs_the_model_learned(run: RunFolder, paths: list[Path]) -> int:
    """How many of ``paths`` the run's saved model was trained on, as far as its folder
    tells (0 for a run without ``scored-songs.csv``). With k folds that model was retrained
    on every song the run scored; with one split, on the songs of its CSV that it did not
    score, so a CSV holding some of the scored songs is taken to be that CSV."""
    if not run.scored_songs_path.is_file():
        return 0
    table, _ = run.load_scored_songs()
    scored = {song.path.resolve() for song in table.songs}
    shared = sum(path.resolve() in scored for path in paths)
    if run.load_metrics()["folds"] == 1:
        return len(paths) - shared if shared else 0
    return shared

"""Score a trained run on any labelled CSV: the same song-level metrics and confusion matrix."""

from __future__ import annotations

import sys
from concurrent.futures import Executor
from pathlib import Path

from tunetag.errors import LabelFileError
from tunetag.evaluation.metrics import classification_metrics
from tunetag.evaluation.plots import plot_confusion
from tunetag.library.songtable import SongTable
from tunetag.predict import score_songs
from tunetag.runfolder import RunFolder


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
    Writes ``metrics.json`` and ``confusion-<task>.png`` into ``out_dir`` (default:
    ``<run>/eval-<csv name>``) and returns the metrics.
    """
    run = RunFolder(run_dir)
    classes = run.load_labels()
    table = SongTable.read(csv_path)
    missing = [task for task in classes if task not in table.columns]
    if missing:
        raise LabelFileError(f"{csv_path}: no column {', '.join(missing)} to evaluate against")
    labels = {
        task: {i: row[task].strip() for i, row in enumerate(table.rows) if row[task].strip()}
        for task in classes
    }
    rows = sorted(set().union(*(found.keys() for found in labels.values())))
    if not rows:
        raise LabelFileError(f"{csv_path}: no song has a label for {', '.join(classes)}")
    paths = [table.audio_path(table.rows[i]) for i in rows]
    result = score_songs(run_dir, paths, cache_dir=cache_dir, executor=executor, progress=progress)
    position = {path: k for k, path in enumerate(result.paths)}
    out = Path(out_dir) if out_dir else run.path / f"eval-{Path(csv_path).stem}"
    metrics: dict = {"csv": str(csv_path), "songs_skipped": len(result.errors), "tasks": {}}
    for task, names in classes.items():
        known = [
            (position[path], names.index(labels[task][i]))
            for i, path in zip(rows, paths, strict=True)
            if i in labels[task] and path in position and labels[task][i] in names
        ]
        unknown = sum(1 for i in labels[task] if labels[task][i] not in names)
        if unknown:
            print(
                f"{task}: {unknown} songs have labels the run never saw; not scored",
                file=sys.stderr,
            )
        if not known:
            continue
        task_metrics = classification_metrics(
            [target for _, target in known],
            result.probabilities[task][[k for k, _ in known]],
            names,
        )
        task_metrics["songs_unknown_label"] = unknown
        metrics["tasks"][task] = task_metrics
        plot_confusion(task_metrics["confusion"], names, out / f"confusion-{task}.png", title=task)
    run.save_metrics(metrics, out / "metrics.json")
    return metrics

"""A run folder's report: one HTML page with its settings, scores and plots, for a person."""

from __future__ import annotations

import html
from pathlib import Path

from tunetag.atomic import atomic_write_text
from tunetag.runfolder import RunFolder

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.note { color: #666; }
"""


def report(run_dir: str | Path) -> Path:
    """Write ``report.html`` into a run folder from its config, metrics and plots.

    Returns the page's path. The page links the folder's PNGs, so it stays small and the
    folder can be moved or shared as a whole.
    """
    run = RunFolder(run_dir)
    config = run.load_config()
    metrics = run.load_metrics()
    tasks = run.load_tasks()
    songs = metrics["songs"]
    folds = metrics["folds"]
    parts = [
        f"<h1>{_e(run.path.name)}: {_e(config.train.model)}</h1>",
        f"<p>Views {_e(', '.join(config.features.views))}; "
        f"{config.features.audio.window_s:g} s window at {config.features.audio.sample_rate} Hz; "
        f"{_e(_protocol(folds))}. {songs['used']} songs used, {songs['skipped']} skipped, "
        f"{songs['scored']} scored by a model that never saw them.</p>",
    ]
    for task in tasks:
        found = metrics["tasks"][task.name]
        pooled = found.get("pooled", found)
        kind = "multi-label" if task.multilabel else "single-label"
        parts.append(f"<h2>{_e(task.name)} <span class='note'>({kind})</span></h2>")
        parts.append(_headline(found, pooled))
        parts.append(_per_class_table(pooled, task.multilabel))
        confusion = run.confusion_path(task.name)
        if confusion.is_file():
            parts.append(
                f"<img src='{_e(confusion.name)}' alt='confusion matrix of {_e(task.name)}'>"
            )
    parts.append("<h2>Training curves</h2>")
    parts.append(f"<img src='{_e(run.curves_path.name)}' alt='loss and accuracy per epoch'>")
    parts.append(f"<h2>Settings</h2><pre>{_e(config.to_json())}</pre>")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>tunetag run {_e(run.path.name)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )
    path = run.path / "report.html"
    atomic_write_text(path, page)
    return path


def _protocol(folds: int) -> str:
    if folds > 1:
        return f"{folds}-fold cross-validation, artist-grouped and stratified"
    return "one artist-grouped, stratified validation split"


def _headline(found: dict, pooled: dict) -> str:
    """The task's main figures: accuracy (single-label) or ROC-AUC (multi-label)."""
    if not pooled.get("n_songs"):
        return "<p>No song labelled for this task was scored.</p>"
    keys = (
        ["accuracy", "balanced_accuracy", "chance_accuracy"]
        if "accuracy" in pooled
        else [
            "macro_roc_auc",
            "macro_pr_auc",
            "hamming_accuracy",
        ]
    )
    cells = []
    summary = found.get("summary", {})
    for key in keys:
        value = pooled.get(key)
        text = "n/a" if value is None else f"{value:.3f}"
        if key in summary:
            text += f" (folds {summary[key]['mean']:.3f} &plusmn; {summary[key]['std']:.3f})"
        cells.append(f"<tr><td>{_e(key.replace('_', ' '))}</td><td>{text}</td></tr>")
    interval = found.get("interval_95") or pooled.get("interval_95")
    if interval:
        low, high = interval
        cells.append(f"<tr><td>accuracy, 95 % interval</td><td>{low:.3f} - {high:.3f}</td></tr>")
    return f"<p>{pooled['n_songs']} songs.</p><table>{''.join(cells)}</table>"


def _per_class_table(pooled: dict, multilabel: bool) -> str:
    rows = pooled.get("per_label" if multilabel else "per_class")
    if not rows:
        return ""
    columns = (
        ["roc_auc", "pr_auc", "precision", "recall", "f1", "support"]
        if multilabel
        else [
            "precision",
            "recall",
            "f1",
            "support",
        ]
    )
    head = "".join(f"<th>{_e(c.replace('_', ' '))}</th>" for c in ["class", *columns])
    body = "".join(
        "<tr>"
        + f"<td>{_e(name)}</td>"
        + "".join(f"<td>{_number(values.get(c))}</td>" for c in columns)
        + "</tr>"
        for name, values in rows.items()
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _number(value) -> str:
    if value is None:
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)

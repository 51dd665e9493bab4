"""Reports for a person: a run folder's settings, scores, plots and the songs behind them,
or a predictions file's class balance and its most and least confident songs per class."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

from tunetag.config import RunConfig
from tunetag.errors import ParameterError
from tunetag.evaluation.choice import candidate_scores, choice_sentence, fold_choices
from tunetag.evaluation.learning import curve_sentence
from tunetag.evaluation.songtables import class_tables, run_tables
from tunetag.evaluation.zeroshot import TaskBaseline, zero_shot
from tunetag.features.views import patch_views
from tunetag.files.atomic import atomic_write_text
from tunetag.library.predictions import PredictedSong, read_predictions
from tunetag.library.songtable import cell_labels
from tunetag.models import model_class
from tunetag.runs.folder import RunFolder

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.note { color: #666; }
table.songs td, table.songs th { text-align: left; }
table.songs td:last-child, table.songs th:last-child { text-align: right; }
caption { text-align: left; font-weight: bold; padding: 0.25em 0; }
.bar { width: 12em; height: 0.8em; background: #eee; }
.bar div { height: 100%; background: #4a7f9f; }
"""


def report(
    path: str | Path,
    tags_csv: str | Path | None = None,
    tag_for: Mapping[str, str] | None = None,
) -> Path:
    """Write the report of a run folder or of a predictions file; return the page's path.

    Parameters
    ----------
    path : path
        A run folder (see `run_report`) or a predictions CSV from ``tunetag predict``
        (see `predictions_report`).
    tags_csv, tag_for
        A run's zero-shot baseline, as in `run_report`.

    Raises
    ------
    ParameterError
        When ``path`` is a folder but no run folder, or names nothing.
    LabelFileError
        When ``path`` is a file but no predictions file.
    """
    path = Path(path)
    if path.is_dir():
        return run_report(path, tags_csv, tag_for)
    if tags_csv is not None:
        raise ParameterError(f"{path}: a zero-shot baseline (--tags) is set beside a run folder")
    if path.is_file() or path.suffix.lower() == ".csv":
        return predictions_report(path)
    raise ParameterError(f"{path}: no such run folder or predictions file")


def run_report(
    run_dir: str | Path,
    tags_csv: str | Path | None = None,
    tag_for: Mapping[str, str] | None = None,
) -> Path:
    """Write ``report.html`` into a run folder from its config, metrics, plots and scored songs.

    Per task the page shows the scores, the confusion matrix and, from ``scored-songs.csv``,
    the songs the model got wrong and those it was least sure about, each with a player.
    It links the folder's PNGs and the audio by relative paths, so it stays small and the
    folder can be moved or shared with the music beside it. Returns the page's path.

    With ``tags_csv`` (``tunetag tagger-scores`` over the labelled songs) each task also shows the
    pretrained tagger's zero-shot baseline beside the run (see `zero_shot`; ``tag_for``
    maps a class to a tag of another name).
    """
    run = RunFolder(run_dir)
    baselines = (
        {found.task: found for found in zero_shot(run.path, tags_csv, tag_for)}
        if tags_csv is not None
        else {}
    )
    config = run.load_config()
    metrics = run.load_metrics()
    tasks = run.load_tasks()
    scored, truth = run.load_scored_songs() if run.scored_songs_path.is_file() else (None, [])
    songs = metrics["songs"]
    folds = metrics["folds"]
    parts = [
        f"<h1>{_e(run.path.name)}: {_e(config.train.model)}</h1>",
        f"<p>Views {_e(', '.join(config.features.views))}; "
        f"{config.features.audio.window_s:g} s window at {config.features.audio.sample_rate} Hz; "
        f"{_e(_patches_read(config))}{_e(_protocol(folds))}. "
        f"{songs['used']} songs used, {songs['skipped']} skipped, "
        f"{songs['scored']} scored by a model that never saw them.</p>",
    ]
    if scored is None:
        parts.append(
            f"<p class='note'>No song tables: this run has no {run.scored_songs_path.name} "
            "(it was trained before runs kept per-song scores); train it again to see the "
            "songs it got wrong.</p>"
        )
    for task in tasks:
        found = metrics["tasks"][task.name]
        pooled = found.get("pooled", found)
        kind = "multi-label" if task.multilabel else "single-label"
        parts.append(f"<h2>{_e(task.name)} <span class='note'>({kind})</span></h2>")
        parts.append(_headline(found, pooled))
        if metrics.get("selection") and task.name in metrics["selection"]["model"]:
            parts.append(_choice(metrics["selection"], task.name))
        parts.append(_per_class_table(pooled, task.multilabel))
        confusion = run.confusion_path(task.name)
        if confusion.is_file():
            parts.append(
                f"<img src='{_e(confusion.name)}' alt='confusion matrix of {_e(task.name)}'>"
            )
        if task.name in baselines:
            parts.append(_zero_shot_table(baselines[task.name], Path(tags_csv).name))
        if scored is not None and task.name in scored.tasks:
            parts.append(run_tables(task, scored.songs, truth, run.path))
    parts += _learning_curve_section(run, metrics.get("learning_curve"))
    parts.append("<h2>Training curves</h2>")
    parts.append(f"<img src='{_e(run.curves_path.name)}' alt='loss and accuracy per epoch'>")
    parts.append(f"<h2>Settings</h2><pre>{_e(config.to_json())}</pre>")
    path = run.path / "report.html"
    atomic_write_text(path, _page(f"tunetag run {run.path.name}", parts))
    return path


def predictions_report(csv_path: str | Path) -> Path:
    """Write ``<csv stem>-report.html`` beside a predictions file; return the page's path.

    Per task the page shows the class balance of the library (songs and share per class)
    and, per class, the 10 most and 10 least confident songs predicted as it, each with a
    player linked by a path relative to the page.

    Raises
    ------
    LabelFileError
        When the file is missing or not a predictions file.
    """
    table = read_predictions(csv_path)
    path = table.csv_path.with_name(f"{table.csv_path.stem}-report.html")
    runs = sorted({song.run for song in table.songs if song.run})
    parts = [
        f"<h1>Predictions: {_e(table.csv_path.name)}</h1>",
        f"<p>{len(table.songs)} songs, scored by {_e(', '.join(runs) or 'an unnamed run')}.</p>",
    ]
    for task, classes in table.tasks.items():
        parts.append(f"<h2>{_e(task)}</h2>")
        parts.append(_balance_table(task, classes, table.songs))
        parts.append(class_tables(task, classes, table.songs, path.parent))
    atomic_write_text(path, _page(f"tunetag predictions {table.csv_path.name}", parts))
    return path


def _balance_table(task: str, classes: list[str], songs: list[PredictedSong]) -> str:
    """Songs per predicted class, their share of the library and a bar of that share; a
    multi-label song counts once for each of its labels, and songs with none are shown."""
    counts = {name: 0 for name in classes}
    unlabelled = 0
    for song in songs:
        labels = cell_labels(song.predicted[task])
        unlabelled += not labels
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
    if unlabelled:
        counts["(no label)"] = unlabelled
    rows = "".join(
        f"<tr><td>{_e(name)}</td><td>{count}</td><td>{count / max(len(songs), 1):.1%}</td>"
        f"<td><div class='bar'><div style='width: {100 * count / max(len(songs), 1):.1f}%'>"
        "</div></div></td></tr>"
        for name, count in counts.items()
    )
    return (
        f"<table class='balance' data-task='{_e(task)}'>"
        f"<tr><th>class</th><th>songs</th><th>share</th><th></th></tr>{rows}</table>"
    )


def _page(title: str, parts: list[str]) -> str:
    """A self-contained page: inline style, no scripts, nothing fetched."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )


def _patches_read(config: RunConfig) -> str:
    """What a run reads of each window where it reads only some of its 3 s patches."""
    wanted = config.features.patches_read
    if wanted is None or not patch_views(config.features.views):
        return ""
    learnt = " (every patch of the songs it is fitted on)"
    fitted = learnt if model_class(config.train.model).input_kind == "summary" else ""
    return f"{wanted} of each window's 3 s patches read, evenly spread{fitted}; "


def _protocol(folds: int) -> str:
    if folds > 1:
        return f"{folds}-fold cross-validation, artist-grouped and stratified"
    return "one artist-grouped, stratified validation split"


def _choice(selection: Mapping, task: str) -> str:
    """What the model chose for this task: for the saved model, with every candidate's inner
    score, and how often each choice was made in the outer folds."""
    entry = selection["model"][task]
    parts = [f"<p>Chosen for the saved model: {_e(choice_sentence(entry))}</p>"]
    rows = candidate_scores(entry)
    if rows:
        cells = "".join(
            f"<tr><td>{_e(name)}</td><td>{loss:.3f}</td><td>{mean:.3f} &plusmn; {std:.3f}</td></tr>"
            for name, loss, mean, std in rows
        )
        parts.append(
            "<table><tr><th>candidate (lowest inner log loss chosen)</th><th>inner log loss"
            f"</th><th>inner balanced accuracy</th></tr>{cells}</table>"
        )
    counts = fold_choices(selection.get("folds", []), task)
    if counts:
        made = ", ".join(f"{name} {n}x" for name, n in counts.most_common())
        parts.append(
            f"<p class='note'>Chosen in the outer folds, each on its own training songs: "
            f"{_e(made)}. The scores above are those of these folds' choices, on songs none "
            "of them saw.</p>"
        )
    return "".join(parts)


def _learning_curve_section(run: RunFolder, curves: dict | None) -> list[str]:
    """How many labels are enough: the curve, and in words what more labels may add."""
    parts = ["<h2>How many labels are enough</h2>"]
    if not curves:
        return parts + [
            "<p class='note'>No learning curve: it is drawn for k-fold runs of models fitted "
            "in closed form (auto, logreg, musicnn-probe); a network would train three more "
            "times per fold.</p>"
        ]
    if run.learning_curve_path.is_file():
        parts.append(
            f"<img src='{_e(run.learning_curve_path.name)}' "
            "alt='score against the number of labelled songs'>"
        )
    for task, curve in curves.items():
        parts.append(f"<p><strong>{_e(task)}</strong>: {_e(curve_sentence(curve))}</p>")
    return parts


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
    over_folds = (found.get("fold_interval_95") or {}).get("interval")
    if over_folds:
        low, high = over_folds
        name = found["fold_interval_95"]["metric"].replace("_", " ")
        cells.append(f"<tr><td>{_e(name)}, 95 % interval over folds</td>"
                     f"<td>{low:.3f} - {high:.3f}</td></tr>")  # fmt: skip
    interval = found.get("interval_95") or pooled.get("interval_95")
    if interval:
        low, high = interval
        cells.append(
            "<tr><td>accuracy, 95 % interval (Wilson, pooled)</td>"
            f"<td>{low:.3f} - {high:.3f}</td></tr>"
        )
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


def _zero_shot_table(baseline: TaskBaseline, source: str) -> str:
    """The tagger's tags beside the run, on the same songs; a line when no class matched."""
    title = f"<h3>Zero-shot baseline <span class='note'>({_e(source)}, no labels)</span></h3>"
    if not baseline.classes:
        return title + "<p class='note'>No class has a tag of its name (see --tag-for).</p>"
    head = "<tr><th>class</th><th>tag</th><th>songs</th><th>ROC-AUC of the tag</th>"
    head += "<th>ROC-AUC of this run</th></tr>"
    body = "".join(
        f"<tr><td>{_e(row.label)}</td><td>{_e(row.tag)}</td>"
        f"<td>{row.positives} of {row.songs}</td><td>{_number(row.tag_roc_auc)}</td>"
        f"<td>{_number(row.run_roc_auc)}</td></tr>"
        for row in baseline.classes
    )
    if baseline.tag_accuracy is not None:
        body += (
            f"<tr><td colspan='3'>accuracy, the most probable matched tag</td>"
            f"<td>{_number(baseline.tag_accuracy)}</td>"
            f"<td>{_number(baseline.run_accuracy)}</td></tr>"
        )
    return f"{title}<table>{head}{body}</table>"


def _number(value) -> str:
    if value is None:
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)

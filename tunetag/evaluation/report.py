"""Reports for a person: a run folder's settings, scores, plots and the songs behind them,
or a predictions file's class balance and its most and least confident songs per class."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tunetag.config import RunConfig
from tunetag.errors import ParameterError
from tunetag.evaluation.choice import candidate_scores, choice_sentence, fold_choices
from tunetag.evaluation.htmlpage import card, escape, header, page, written_at
from tunetag.evaluation.learning import curve_sentence, headline_metric
from tunetag.evaluation.songtables import class_tables, listed_in_run_tables, run_tables
from tunetag.evaluation.whystrip import strip_key, strip_script
from tunetag.evaluation.zeroshot import TaskBaseline, zero_shot
from tunetag.features.views import patch_views
from tunetag.files.atomic import atomic_write_text
from tunetag.library.predictions import PredictedSong, PredictionTable, read_predictions
from tunetag.library.songtable import cell_labels
from tunetag.library.why import read_why
from tunetag.models import model_class
from tunetag.runs.classify import explain_songs
from tunetag.runs.folder import RunFolder


def report(
    path: str | Path,
    tags_csv: str | Path | None = None,
    tag_for: Mapping[str, str] | None = None,
    cache_dir: str | Path | None = None,
) -> Path:
    """Write the report of a run folder or of a predictions file; return the page's path.

    Parameters
    ----------
    path : path
        A run folder (see `run_report`) or a predictions CSV from ``tunetag predict``
        (see `predictions_report`).
    tags_csv, tag_for
        A run's zero-shot baseline, as in `run_report`.
    cache_dir : path, optional
        The feature cache a run's why strips are drawn from, as in `run_report`.

    Raises
    ------
    ParameterError
        When ``path`` is a folder but no run folder, or names nothing.
    LabelFileError
        When ``path`` is a file but no predictions file.
    """
    path = Path(path)
    if path.is_dir():
        return run_report(path, tags_csv, tag_for, cache_dir)
    if tags_csv is not None:
        raise ParameterError(f"{path}: a zero-shot baseline (--tags) is set beside a run folder")
    if path.is_file() or path.suffix.lower() == ".csv":
        return predictions_report(path)
    raise ParameterError(f"{path}: no such run folder or predictions file")


def run_report(
    run_dir: str | Path,
    tags_csv: str | Path | None = None,
    tag_for: Mapping[str, str] | None = None,
    cache_dir: str | Path | None = None,
) -> Path:
    """Write ``report.html`` into a run folder from its config, metrics, plots and scored songs.

    Per task the page shows the scores, the confusion matrix and, from ``scored-songs.csv``,
    the songs the model got wrong and those it was least sure about, each with a player.
    It links the folder's PNGs and the audio by relative paths, so it stays small and the
    folder can be moved or shared with the music beside it. Returns the page's path.

    With ``tags_csv`` (``tunetag tagger-scores`` over the labelled songs) each task also shows the
    pretrained tagger's zero-shot baseline beside the run (see `zero_shot`; ``tag_for``
    maps a class to a tag of another name).

    Under each listed song, its why strip: which seconds pushed the run's kept model (with k
    folds refitted on every song; with one split the model that scored the song) to the
    song's most probable class (`explain_songs`, from the features in ``cache_dir``, the
    default cache when None, extracted where missing; a song that cannot be read has none).
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
    strips = _run_strips(run, scored, truth, cache_dir) if scored is not None else {}
    songs = metrics["songs"]
    folds = metrics["folds"]
    about = (
        f"<p>Views {escape(', '.join(config.features.views))}; "
        f"{config.features.audio.window_s:g} s window at {config.features.audio.sample_rate} Hz; "
        f"{escape(_patches_read(config))}{escape(_protocol(folds))}. "
        f"{songs['used']} songs used, {songs['skipped']} skipped, "
        f"{songs['scored']} scored by a model that never saw them.</p>"
    )
    if scored is None:
        about += (
            f"<p class='note'>No song tables: this run has no {run.scored_songs_path.name} "
            "(it was trained before runs kept per-song scores); train it again to see the "
            "songs it got wrong.</p>"
        )
    parts = [
        header(
            run.path.name,
            f"{config.train.model} run",
            f"trained {written_at(run.metrics_path)} · the report of a tunetag run",
        ),
        "<div class='scores'>"
        + "".join(
            _score_card(task.name, task.multilabel, metrics["tasks"][task.name]) for task in tasks
        )
        + "</div>",
        card(about),
    ]
    for task in tasks:
        found = metrics["tasks"][task.name]
        pooled = found.get("pooled", found)
        kind = "multi-label" if task.multilabel else "single-label"
        section = [f"<h2>{escape(task.name)} <span class='note'>({kind})</span></h2>"]
        confusion = run.confusion_path(task.name)
        figure = (
            f"<img src='{escape(confusion.name)}' alt='confusion matrix of {escape(task.name)}'>"
            if confusion.is_file()
            else ""
        )
        scores = _headline(found, pooled) + _per_class_table(pooled, task.multilabel)
        section.append(
            card("<h3>Scores</h3>", f"<div class='columns'><div>{scores}</div>{figure}</div>")
        )
        if metrics.get("selection") and task.name in metrics["selection"]["model"]:
            section.append(
                card("<h3>What was chosen</h3>", _choice(metrics["selection"], task.name))
            )
        if task.name in baselines:
            section.append(card(_zero_shot_table(baselines[task.name], Path(tags_csv).name)))
        if scored is not None and task.name in scored.tasks:
            tables = run_tables(task, scored.songs, truth, run.path, strips, folds)
            section.append(card(tables))
        parts.append(f"<section class='task'>{''.join(section)}</section>")
    parts.append(card(*_learning_curve_section(run, metrics.get("learning_curve"))))
    parts.append(
        card(
            "<h2>Training curves</h2>",
            f"<img src='{escape(run.curves_path.name)}' alt='loss and accuracy per epoch'>",
        )
    )
    parts.append(card(f"<h2>Settings</h2><pre>{escape(config.to_json())}</pre>"))
    path = run.path / "report.html"
    script = strip_script() if strips else ""
    atomic_write_text(path, page(f"tunetag run {run.path.name}", parts, script))
    return path


def _run_strips(
    run: RunFolder,
    scored: PredictionTable,
    truth: list[dict[str, tuple[str, ...]]],
    cache_dir: str | Path | None,
) -> dict[str, dict]:
    """The why strips of every song the run's tables list, explained in one pass."""
    tasks = [task for task in run.load_tasks() if task.name in scored.tasks]
    listed = {k for task in tasks for k in listed_in_run_tables(task, scored.songs, truth)}
    paths = [scored.songs[k].path for k in sorted(listed)]
    found = explain_songs(run, paths, cache_dir) if paths else {}
    return {strip_key(path): explanation.as_json() for path, explanation in found.items()}


def predictions_report(csv_path: str | Path) -> Path:
    """Write ``<csv stem>-report.html`` beside a predictions file; return the page's path.

    Per task the page shows the class balance of the library (songs and share per class)
    and, per class, the 10 most and 10 least confident songs predicted as it, each with a
    player linked by a path relative to the page and, where ``predict --explain`` kept them
    (`read_why`), the strip of the seconds that pushed it to the class.

    Raises
    ------
    LabelFileError
        When the file is missing or not a predictions file.
    """
    table = read_predictions(csv_path)
    strips = {strip_key(song): found for song, found in read_why(csv_path).items()}
    path = table.csv_path.with_name(f"{table.csv_path.stem}-report.html")
    runs = sorted({song.run for song in table.songs if song.run})
    parts = [
        header(
            "Predictions",
            table.csv_path.name,
            f"{len(table.songs)} songs, scored by {escape(', '.join(runs) or 'an unnamed run')}. "
            f"Predicted {written_at(table.csv_path)}.",
        )
    ]
    for task, classes in table.tasks.items():
        section = [
            f"<h2>{escape(task)}</h2>",
            card("<h3>Songs per class</h3>", _balance_table(task, classes, table.songs)),
            *class_tables(task, classes, table.songs, path.parent, strips),
        ]
        parts.append(f"<section class='task'>{''.join(section)}</section>")
    script = strip_script() if strips else ""
    atomic_write_text(path, page(f"tunetag predictions {table.csv_path.name}", parts, script))
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
        f"<tr><td>{escape(name)}</td><td>{count}</td><td>{count / max(len(songs), 1):.1%}</td>"
        f"<td><span class='bar'><i style='width: {100 * count / max(len(songs), 1):.1f}%'>"
        "</i></span></td></tr>"
        for name, count in counts.items()
    )
    return (
        f"<table class='balance' data-task='{escape(task)}'>"
        f"<tr><th>class</th><th>songs</th><th>share</th><th></th></tr>{rows}</table>"
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
    parts = [f"<p>Chosen for the saved model: {escape(choice_sentence(entry))}</p>"]
    rows = candidate_scores(entry)
    if rows:
        cells = "".join(
            f"<tr><td>{escape(name)}</td><td>{loss:.3f}</td>"
            f"<td>{mean:.3f} &plusmn; {std:.3f}</td></tr>"
            for name, loss, mean, std in rows
        )
        parts.append(
            "<table><tr><th>candidate (all views kept unless another's inner log loss is "
            "lower by more than a standard error)</th><th>inner log loss"
            f"</th><th>inner balanced accuracy</th></tr>{cells}</table>"
        )
    counts = fold_choices(selection.get("folds", []), task)
    if counts:
        made = ", ".join(f"{name} {n}x" for name, n in counts.most_common())
        parts.append(
            f"<p class='note'>Chosen in the outer folds, each on its own training songs: "
            f"{escape(made)}. The scores above are those of these folds' choices, on songs none "
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
            f"<img src='{escape(run.learning_curve_path.name)}' "
            "alt='score against the number of labelled songs'>"
        )
    for task, curve in curves.items():
        parts.append(f"<p><strong>{escape(task)}</strong>: {escape(curve_sentence(curve))}</p>")
    return parts


def _score_card(task: str, multilabel: bool, found: dict) -> str:
    """A task's headline score, large, as the labelling page shows its live score: the mean
    over folds where there are folds, with their spread and 95 % interval."""
    metric = headline_metric(multilabel)
    summary = found.get("summary", {}).get(metric)
    pooled = found.get("pooled", found)
    title = f"<h3>{escape(task)}</h3>"
    if summary is None and pooled.get(metric) is None:
        return card(title, "<p class='note'>No song labelled for this task was scored.</p>")
    name = metric.replace("_", " ")
    value = summary["mean"] if summary else pooled[metric]
    notes = [f"{pooled.get('n_songs', 0)} songs"]
    if summary:
        name += f", mean of {len(summary['folds'])} folds"
        notes.insert(0, f"&plusmn; {summary['std']:.3f}")
    interval = (found.get("fold_interval_95") or {}).get("interval")
    if interval:
        notes.insert(1, f"95 % interval {interval[0]:.3f} - {interval[1]:.3f}")
    return card(
        title,
        f"<div class='value'>{value:.3f}<small>{escape(name)}</small></div>",
        f"<p class='muted small'>{' · '.join(notes)}</p>",
        kind="score",
    )


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
        cells.append(f"<tr><td>{escape(key.replace('_', ' '))}</td><td>{text}</td></tr>")
    over_folds = (found.get("fold_interval_95") or {}).get("interval")
    if over_folds:
        low, high = over_folds
        name = found["fold_interval_95"]["metric"].replace("_", " ")
        cells.append(f"<tr><td>{escape(name)}, 95 % interval over folds</td>"
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
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in ["class", *columns])
    body = "".join(
        "<tr>"
        + f"<td>{escape(name)}</td>"
        + "".join(f"<td>{_number(values.get(c))}</td>" for c in columns)
        + "</tr>"
        for name, values in rows.items()
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _zero_shot_table(baseline: TaskBaseline, source: str) -> str:
    """The tagger's tags beside the run, on the same songs; a line when no class matched."""
    title = f"<h3>Zero-shot baseline <span class='note'>({escape(source)}, no labels)</span></h3>"
    if not baseline.classes:
        return title + "<p class='note'>No class has a tag of its name (see --tag-for).</p>"
    head = "<tr><th>class</th><th>tag</th><th>songs</th><th>ROC-AUC of the tag</th>"
    head += "<th>ROC-AUC of this run</th></tr>"
    body = "".join(
        f"<tr><td>{escape(row.label)}</td><td>{escape(row.tag)}</td>"
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

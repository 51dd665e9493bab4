"""A pretrained tagger's own tags as a zero-shot baseline for a trained run.

No label of the person's is used: a class is matched to the tagger's tag of the same name
(``mellow`` to the Million Song Dataset's ``Mellow``, any case and spacing) or to the tag
the person names for it, and the tag's score ranks the songs. The run's own probabilities
are measured on the same songs, those it scored by a model that never saw them, so the
two columns of the report compare like with like.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from tunetag.errors import LabelFileError, ParameterError
from tunetag.library.songtable import label_key
from tunetag.runs.folder import RunFolder


@dataclass(frozen=True)
class ClassBaseline:
    """One class against the tag matched to it, on the songs both scored."""

    label: str
    tag: str
    songs: int
    positives: int  # songs labelled with the class
    tag_roc_auc: float | None  # None when the songs are all of one kind
    run_roc_auc: float | None


@dataclass(frozen=True)
class TaskBaseline:
    """A task's matched classes; accuracies when every class of a single-label task has a
    tag (the most probable of the matched tags is the tagger's answer)."""

    task: str
    classes: list[ClassBaseline]
    songs: int
    tag_accuracy: float | None
    run_accuracy: float | None


def read_tag_scores(csv_path: str | Path) -> tuple[list[str], dict[Path, np.ndarray]]:
    """The tag names and each song's scores from a ``tunetag tagger-scores`` CSV.

    Raises
    ------
    LabelFileError
        When the file is not a tags CSV (no ``path`` and ``top`` columns, or a score that
        is no number).
    """
    csv_path = Path(csv_path)
    with open(csv_path, encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows, [])
        if header[:2] != ["path", "top"] or len(header) < 3:
            raise LabelFileError(f"{csv_path}: not a tags CSV (tunetag tagger-scores writes one)")
        tags = header[2:]
        scores = {}
        for line, row in enumerate(rows, start=2):
            try:
                scores[_resolved(csv_path, row[0])] = np.array(row[2:], dtype=float)
            except (ValueError, IndexError):
                raise LabelFileError(f"{csv_path}: line {line}: not a row of tag scores") from None
    return tags, scores


def zero_shot(
    run_dir: str | Path, tags_csv: str | Path, tag_for: Mapping[str, str] | None = None
) -> list[TaskBaseline]:
    """Set a tags CSV beside a run: per task, each class the tagger has a tag for.

    Parameters
    ----------
    run_dir : path
        A run folder with its ``scored-songs.csv``.
    tags_csv : path
        ``tunetag tagger-scores`` over (at least) the run's labelled songs.
    tag_for : mapping of str to str, optional
        Class -> tag, for classes whose tag has another name (``calm`` -> ``Mellow``);
        other classes are matched by name.

    Raises
    ------
    ParameterError
        When ``tag_for`` names a tag the CSV does not hold, or no song is in both files.
    """
    tags, scores = read_tag_scores(tags_csv)
    column_of = {label_key(tag): k for k, tag in enumerate(tags)}
    chosen = {label: label_key(tag) for label, tag in (tag_for or {}).items()}
    for label, tag in (tag_for or {}).items():
        if chosen[label] not in column_of:
            raise ParameterError(f"{tags_csv}: no tag {tag!r} for class {label!r}")
    table, truth = RunFolder(run_dir).load_scored_songs()
    paths = [song.path.resolve() for song in table.songs]
    if not any(path in scores for path in paths):
        raise ParameterError(
            f"{tags_csv}: none of the run's scored songs; run tunetag tagger-scores on them"
        )
    found = []
    for task, classes in table.tasks.items():
        songs = [k for k, path in enumerate(paths) if path in scores and truth[k][task]]
        matched = {
            label: column_of[chosen.get(label, label_key(label))]
            for label in classes
            if chosen.get(label, label_key(label)) in column_of
        }
        found.append(
            _task_baseline(
                TaskSongs(
                    task,
                    classes,
                    tag_scores=np.array([scores[paths[k]] for k in songs]).reshape(-1, len(tags)),
                    run_scores=np.array(
                        [[table.songs[k].probabilities[task][c] for c in classes] for k in songs]
                    ).reshape(-1, len(classes)),
                    truth=[truth[k][task] for k in songs],
                ),
                matched,
                tags,
            )
        )
    return found


@dataclass(frozen=True)
class TaskSongs:
    """A task's labelled songs that both files scored."""

    task: str
    classes: list[str]
    tag_scores: np.ndarray  # (songs, tags)
    run_scores: np.ndarray  # (songs, classes), the run's probabilities
    truth: list[tuple[str, ...]]  # each song's labels


def _task_baseline(songs: TaskSongs, matched: dict[str, int], tags: list[str]) -> TaskBaseline:
    """The figures of one task: per matched class its ROC-AUCs, and the accuracies when
    every class of a single-label task has a tag."""
    classes = songs.classes
    has = np.array([[c in labels for c in classes] for labels in songs.truth]).reshape(
        -1, len(classes)
    )
    baselines = []
    for label, column in matched.items():
        is_class = has[:, classes.index(label)]
        baselines.append(
            ClassBaseline(
                label,
                tags[column],
                len(has),
                int(is_class.sum()),
                _roc_auc(is_class, songs.tag_scores[:, column]),
                _roc_auc(is_class, songs.run_scores[:, classes.index(label)]),
            )
        )
    tag_accuracy = run_accuracy = None
    single = all(len(labels) == 1 for labels in songs.truth)
    if len(has) and single and len(matched) == len(classes):
        true = has.argmax(axis=1)
        tag_answer = songs.tag_scores[:, [matched[c] for c in classes]].argmax(axis=1)
        tag_accuracy = float((tag_answer == true).mean())
        run_accuracy = float((songs.run_scores.argmax(axis=1) == true).mean())
    return TaskBaseline(songs.task, baselines, len(has), tag_accuracy, run_accuracy)


def _roc_auc(is_class: np.ndarray, score: np.ndarray) -> float | None:
    if is_class.all() or not is_class.any():
        return None
    return float(roc_auc_score(is_class, score))


def _resolved(csv_path: Path, cell: str) -> Path:
    path = Path(cell)
    return (path if path.is_absolute() else csv_path.parent / path).resolve()

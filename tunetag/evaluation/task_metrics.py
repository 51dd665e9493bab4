"""Song-level metrics of one task from targets and probabilities, whatever its kind."""

from __future__ import annotations

import numpy as np

from tunetag.evaluation.metrics import (
    accuracy_interval,
    classification_metrics,
    multilabel_metrics,
)
from tunetag.library.tasks import Task


def task_metrics(task: Task, truth: np.ndarray, probabilities: np.ndarray) -> dict:
    """Metrics of ``task`` over the songs labelled for it.

    Parameters
    ----------
    task : Task
        Single-label (accuracy, balanced accuracy, per-class scores, confusion matrix and a
        95 % Wilson interval of the accuracy) or multi-label (per-label ROC-AUC and PR-AUC).
    truth : np.ndarray, shape (songs, n_outputs)
        One-hot or multi-hot targets; rows of NaN for songs unlabelled for the task.
    probabilities : np.ndarray, shape (songs, n_outputs)
        Song probabilities from `tunetag.runs.probabilities.song_probabilities`.

    Returns
    -------
    dict
        JSON-ready metrics; ``{"n_songs": 0}`` when no song is labelled for the task.
    """
    known = ~np.isnan(truth).any(axis=1)
    if not known.any():
        return {"n_songs": 0}
    truth, probabilities = truth[known], probabilities[known]
    if task.multilabel:
        return multilabel_metrics(truth.astype(int), probabilities, list(task.classes))
    found = classification_metrics(truth.argmax(axis=1), probabilities, list(task.classes))
    n_correct = int((truth.argmax(axis=1) == probabilities.argmax(axis=1)).sum())
    found["interval_95"] = list(accuracy_interval(n_correct, len(truth)))
    return found

"""Song-level metrics, as plain JSON-ready numbers, and how sure we can be of them.

Ratios are computed with numpy so that an undefined one (a class never predicted, a class
absent from the truth) is a quiet 0.0 rather than a warning; an undefined ranking score
(ROC-AUC of a label every song shares) is None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real

import numpy as np
from scipy.stats import norm
from sklearn.metrics import average_precision_score, roc_auc_score

from tunetag.errors import ParameterError


def _safe_ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, or 0.0 where the denominator is zero."""
    return float(numerator / denominator) if denominator > 0 else 0.0


def _confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Count songs per (true, predicted) class pair.

    Parameters
    ----------
    y_true, y_pred : np.ndarray of int, shape (n_songs,)
        Class indices in ``[0, n_classes)``.
    n_classes : int
        Number of classes, k.

    Returns
    -------
    np.ndarray of int64, shape (k, k)
        Rows are the true class, columns the predicted class.
    """
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def classification_metrics(
    y_true: Sequence[int], y_prob: np.ndarray, classes: Sequence[str]
) -> dict:
    """Score one task's song-level predictions.

    The prediction for a song is the class of highest probability. Balanced accuracy (mean
    recall over the classes that occur in ``y_true``) and the chance level sit beside plain
    accuracy because labelled libraries are rarely balanced: 80 % accuracy means little when
    80 % of the songs share one label.

    Parameters
    ----------
    y_true : sequence of int, length n_songs
        True class index of each song, in ``[0, len(classes))``.
    y_prob : np.ndarray, shape (n_songs, n_classes)
        Predicted class probabilities (or any scores; only their argmax is used).
    classes : sequence of str, length n_classes
        Class names, in index order.

    Returns
    -------
    dict
        ``n_songs``, ``accuracy``, ``balanced_accuracy``, ``chance_accuracy`` (the share of
        the most frequent true class), ``per_class`` ({name: {precision, recall, f1,
        support}}) and ``confusion`` (k x k list of int; rows true, columns predicted, in
        ``classes`` order). Every value is a built-in ``int``, ``float``, ``list`` or ``dict``.

    Raises
    ------
    ParameterError
        On empty input, mismatched shapes, or a class index out of range.
    """
    truth = np.asarray(y_true)
    prob = np.asarray(y_prob, dtype=np.float64)
    n_classes = len(classes)
    if truth.size == 0:
        raise ParameterError("cannot score an empty set of songs")
    if n_classes == 0:
        raise ParameterError("at least one class name is needed")
    if len(set(classes)) != n_classes:
        raise ParameterError(f"class names must be unique, got {list(classes)}")
    if truth.ndim != 1:
        raise ParameterError(f"y_true must be one-dimensional, got shape {truth.shape}")
    if prob.shape != (truth.size, n_classes):
        raise ParameterError(
            f"y_prob must have shape ({truth.size}, {n_classes}) for {truth.size} songs and "
            f"{n_classes} classes, got {prob.shape}"
        )
    if not np.issubdtype(truth.dtype, np.integer):
        raise ParameterError(f"y_true must hold class indices (int), got dtype {truth.dtype}")
    if truth.min() < 0 or truth.max() >= n_classes:
        raise ParameterError(f"y_true holds class indices outside [0, {n_classes})")
    if not np.all(np.isfinite(prob)):
        raise ParameterError("y_prob holds NaN or infinite values")

    pred = prob.argmax(axis=1)
    confusion = _confusion_counts(truth.astype(np.int64), pred, n_classes)
    correct = np.diag(confusion)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)

    per_class = {}
    recalls_present = []
    for index, name in enumerate(classes):
        precision = _safe_ratio(correct[index], predicted[index])
        recall = _safe_ratio(correct[index], support[index])
        f1 = _safe_ratio(2 * precision * recall, precision + recall)
        per_class[str(name)] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": int(support[index]),
        }
        if support[index] > 0:
            recalls_present.append(recall)

    n_songs = int(truth.size)
    return {
        "n_songs": n_songs,
        "accuracy": float(correct.sum() / n_songs),
        "balanced_accuracy": float(np.mean(recalls_present)),
        "chance_accuracy": float(support.max() / n_songs),
        "per_class": per_class,
        "confusion": confusion.astype(int).tolist(),
    }


def accuracy_interval(n_correct: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of an accuracy measured on ``n`` songs.

    Forty test songs cannot pin an accuracy down to a percent; the interval says how far the
    true accuracy may plausibly lie from the measured ``n_correct / n``. Wilson's interval
    stays inside [0, 1] and keeps its coverage for small ``n`` and for accuracies near 0 or 1,
    where the textbook normal interval fails.

    Parameters
    ----------
    n_correct : int
        Songs predicted right, in ``[0, n]``.
    n : int
        Songs scored, at least 1.
    confidence : float
        Coverage of the interval, in (0, 1); 0.95 gives the usual 95 % interval.

    Returns
    -------
    low, high : float
        Bounds of the interval, fractions in [0, 1].

    Raises
    ------
    ParameterError
        If ``n`` < 1, ``n_correct`` is outside ``[0, n]`` or ``confidence`` outside (0, 1).
    """
    if n < 1:
        raise ParameterError(f"an accuracy interval needs at least 1 song, got {n}")
    if not 0 <= n_correct <= n:
        raise ParameterError(f"n_correct must be in [0, {n}], got {n_correct}")
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence must be in (0, 1), got {confidence}")
    z = float(norm.ppf(0.5 + confidence / 2))
    share = n_correct / n
    shrink = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / shrink
    half_width = z / shrink * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def multilabel_metrics(
    y_true: np.ndarray, y_prob: np.ndarray, labels: Sequence[str], threshold: float = 0.5
) -> dict:
    """Score one multi-label task (e.g. several moods per song) at song level.

    Each label is its own yes/no question. ROC-AUC and average precision judge the ranking
    of the songs by probability, whatever the threshold; precision, recall and F1 judge the
    yes/no decisions at ``threshold``. ROC-AUC is undefined for a label that every scored song
    has (or none has), and average precision for a label no song has: such a score is None and
    is left out of the macro mean.

    Parameters
    ----------
    y_true : np.ndarray of 0/1, shape (n_songs, n_labels)
        1 where the song carries the label.
    y_prob : np.ndarray, shape (n_songs, n_labels)
        Predicted probability of each label (sigmoid outputs), in [0, 1].
    labels : sequence of str, length n_labels
        Label names, in column order.
    threshold : float
        Probability at or above which a label is predicted, in (0, 1).

    Returns
    -------
    dict
        ``n_songs``; ``per_label`` ({name: {roc_auc, pr_auc, precision, recall, f1,
        support}}, support being the songs carrying the label); ``macro_roc_auc`` and
        ``macro_pr_auc`` (means over the labels where defined, None if none is);
        ``subset_accuracy`` (share of songs whose whole label set is right) and
        ``hamming_accuracy`` (share of song-label decisions that are right). Every value is a
        built-in ``int``, ``float``, ``dict`` or None.

    Raises
    ------
    ParameterError
        On empty input, mismatched shapes, truth other than 0/1, probabilities outside
        [0, 1] or NaN, duplicate label names, or ``threshold`` outside (0, 1).
    """
    truth = np.asarray(y_true)
    prob = np.asarray(y_prob, dtype=np.float64)
    n_labels = len(labels)
    if n_labels == 0:
        raise ParameterError("at least one label name is needed")
    if len(set(labels)) != n_labels:
        raise ParameterError(f"label names must be unique, got {list(labels)}")
    if truth.ndim != 2 or truth.shape[0] == 0:
        raise ParameterError(f"y_true must be (n_songs >= 1, n_labels), got shape {truth.shape}")
    if truth.shape != (truth.shape[0], n_labels) or prob.shape != truth.shape:
        raise ParameterError(
            f"y_true and y_prob must both have shape ({truth.shape[0]}, {n_labels}) for "
            f"{n_labels} labels, got {truth.shape} and {prob.shape}"
        )
    if not np.isin(truth, (0, 1)).all():
        raise ParameterError("y_true must hold only 0 and 1")
    if not (np.all(np.isfinite(prob)) and prob.min() >= 0 and prob.max() <= 1):
        raise ParameterError("y_prob must hold probabilities in [0, 1]")
    if not 0 < threshold < 1:
        raise ParameterError(f"threshold must be in (0, 1), got {threshold}")

    truth = truth.astype(bool)
    pred = prob >= threshold
    per_label = {}
    for index, name in enumerate(labels):
        is_label, predicted, scores = truth[:, index], pred[:, index], prob[:, index]
        support = int(is_label.sum())
        true_positives = int((is_label & predicted).sum())
        precision = _safe_ratio(true_positives, predicted.sum())
        recall = _safe_ratio(true_positives, support)
        both_kinds = 0 < support < is_label.size
        per_label[str(name)] = {
            "roc_auc": float(roc_auc_score(is_label, scores)) if both_kinds else None,
            "pr_auc": float(average_precision_score(is_label, scores)) if support else None,
            "precision": precision,
            "recall": recall,
            "f1": _safe_ratio(2 * precision * recall, precision + recall),
            "support": support,
        }
    return {
        "n_songs": int(truth.shape[0]),
        "per_label": per_label,
        "macro_roc_auc": _mean_of_defined(scores["roc_auc"] for scores in per_label.values()),
        "macro_pr_auc": _mean_of_defined(scores["pr_auc"] for scores in per_label.values()),
        "subset_accuracy": float(np.mean(np.all(pred == truth, axis=1))),
        "hamming_accuracy": float(np.mean(pred == truth)),
    }


def _mean_of_defined(values) -> float | None:
    """Mean of the values that are not None; None if every one is."""
    defined = [value for value in values if value is not None]
    return float(np.mean(defined)) if defined else None


def summarise_folds(fold_metrics: Sequence[Mapping]) -> dict:
    """Mean and spread of each score over the folds of a k-fold run.

    The spread between folds shows how much an accuracy depends on which songs happen to be
    tested; a difference between two models smaller than it is no evidence of a better model.

    Parameters
    ----------
    fold_metrics : sequence of mapping
        One metrics dict per fold (as `classification_metrics` or `multilabel_metrics`
        return, or any dict of top-level numbers).

    Returns
    -------
    dict
        ``{key: {"mean": float, "std": float, "folds": [float, ...]}}`` for every top-level
        key whose value is a finite number (not a bool) in every fold, in the first fold's key
        order. ``std`` is the sample standard deviation (ddof=1), 0.0 for a single fold.

    Raises
    ------
    ParameterError
        If ``fold_metrics`` is empty.
    """
    if len(fold_metrics) == 0:
        raise ParameterError("no folds to summarise")
    summary = {}
    for key in fold_metrics[0]:
        values = [fold.get(key) for fold in fold_metrics]
        if not all(is_finite_number(value) for value in values):
            continue
        folds = [float(value) for value in values]
        summary[key] = {
            "mean": float(np.mean(folds)),
            "std": float(np.std(folds, ddof=1)) if len(folds) >= 2 else 0.0,
            "folds": folds,
        }
    return summary


def is_finite_number(value: object) -> bool:
    """Whether ``value`` is a score: a finite real number, numpy's included.

    False for bool, for None (an undefined score, such as ROC-AUC of a label every song
    has), for NaN and infinity, and for anything that is not a number.
    """
    return (
        isinstance(value, Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
    )

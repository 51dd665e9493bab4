"""Song-level classification metrics, as plain JSON-ready numbers.

Computed with numpy alone so that an undefined ratio (a class never predicted, a class absent
from the truth) is a quiet 0.0 rather than a warning.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

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

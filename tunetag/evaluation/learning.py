"""How many labels are enough: a learning curve and what a few more labels are likely to add.

The same folds are scored again with each fold's model trained on a share of its training
songs (25, 50, 75 %; 100 % is the run itself). The mean score over folds against the number
of labelled songs is nearly a straight line in log2(songs) over this range, so its slope says
how much one doubling of the labels adds, and the extrapolation to a few more labels follows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from tunetag.errors import ParameterError
from tunetag.evaluation.metrics import is_finite_number

FRACTIONS = (0.25, 0.5, 0.75, 1.0)  # shares of each fold's training songs
MORE_LABELS = 50  # the "few more labels" the report estimates the gain of


def headline_metric(multilabel: bool) -> str:
    """The score a task's curve draws: balanced accuracy, or macro ROC-AUC for multi-label."""
    return "macro_roc_auc" if multilabel else "balanced_accuracy"


def fold_interval(values: Sequence[float], confidence: float = 0.95) -> list[float] | None:
    """Student's t interval of the mean of per-fold scores, within [0, 1] as the scores are
    (None with fewer than 2 folds).

    The folds' spread is the honest noise of a small library: two models closer than this
    interval's half width are not told apart by it.
    """
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return None
    half = stats.t.ppf((1 + confidence) / 2, len(values) - 1) * values.std(ddof=1)
    half /= np.sqrt(len(values))
    return [max(0.0, float(values.mean() - half)), min(1.0, float(values.mean() + half))]


def learning_curve(
    songs: Mapping[float, int], fold_scores: Mapping[float, Sequence[float | None]], metric: str
) -> dict:
    """The curve of one task, ready for ``metrics.json``.

    Parameters
    ----------
    songs : mapping of float to int
        Fraction of the training songs -> the labelled songs a fold's model learnt from
        (the mean over folds, rounded).
    fold_scores : mapping of float to sequence
        Fraction -> the task's score in each fold (None where a fold could not be scored).
    metric : str
        The score's name (see `headline_metric`).

    Returns
    -------
    dict
        ``{"metric", "points": [{"fraction", "songs", "mean", "std", "interval_95",
        "folds"}], "gain_per_doubling", "more_labels", "gain_more_labels"}``; the gains are
        None when fewer than two points are defined.
    """
    if set(songs) != set(fold_scores) or not songs:
        raise ParameterError("a learning curve needs the songs and scores of the same fractions")
    points = []
    for fraction in sorted(songs):
        scores = [float(s) for s in fold_scores[fraction] if is_finite_number(s)]
        if not scores:
            continue
        points.append(
            {
                "fraction": fraction,
                "songs": int(songs[fraction]),
                "mean": float(np.mean(scores)),
                "std": float(np.std(scores, ddof=1)) if len(scores) > 1 else 0.0,
                "interval_95": fold_interval(scores),
                "folds": scores,
            }
        )
    found = {"metric": metric, "points": points, "gain_per_doubling": None}
    found |= {"more_labels": MORE_LABELS, "gain_more_labels": None}
    usable = [p for p in points if p["songs"] > 0]
    slope = gain_per_doubling([p["songs"] for p in usable], [p["mean"] for p in usable])
    if slope is not None:
        largest = max(p["songs"] for p in usable)
        found["gain_per_doubling"] = slope
        found["gain_more_labels"] = gain_of_more_labels(slope, largest)
    return found


def gain_per_doubling(songs: Sequence[int], means: Sequence[float]) -> float | None:
    """The slope of the mean score against log2(labelled songs): what one doubling of the
    labels adds. None with fewer than two different song counts."""
    if len(set(songs)) < 2:
        return None
    return float(np.polyfit(np.log2(songs), means, 1)[0])


def gain_of_more_labels(slope: float, songs: int, more: int = MORE_LABELS) -> float:
    """What ``more`` labels likely add to a model of ``songs`` labelled songs, at ``slope``
    per doubling (`gain_per_doubling`)."""
    return float(slope * np.log2((songs + more) / songs))


def curve_sentence(curve: Mapping) -> str:
    """What the curve says in words: the score at each share and the likely gain."""
    points = curve["points"]
    if not points:
        return "No fold could be scored at any share of the labels."
    steps = ", ".join(f"{p['mean']:.2f} with {p['songs']} songs" for p in points)
    name = curve["metric"].replace("_", " ")
    if curve["gain_per_doubling"] is None:
        return f"Cross-validated {name}: {steps}."
    return (
        f"Cross-validated {name}: {steps}. Each doubling of the labels added about "
        f"{curve['gain_per_doubling']:+.3f}, so {curve['more_labels']} more labelled songs are "
        f"likely to add about {curve['gain_more_labels']:+.3f} (extrapolated from the curve; "
        "the folds' spread says how sure that is)."
    )

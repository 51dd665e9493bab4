"""The page's live model: a probe refitted after every label, quick enough to follow a person.

The ``auto`` model's full choice (every view, stack, three draws of inner folds) takes
seconds to minutes; the page cannot wait for it after each label. So the live model is one
of its candidates, the class-balanced logistic regression on every view (``probe:all``,
the one ``auto`` chose most on real recordings), with C chosen over a coarser grid by the
same inner folds. The same folds' held-out guesses give, for free, the live score (each
labelled song guessed by a model that never saw it) and the labels the model most doubts.
It reads the songs' coordinates on the library's `LIVE_DIMENSIONS` main directions
(`principal_directions`), not their 954 summary values: a rotation, so the penalty keeps
its meaning, and on 529 real songs of 24 games a refit took 1.3 s instead of 3.4 s at the
same held-out score (0.555 against 0.561).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, softmax

from tunetag.evaluation.learning import fold_interval
from tunetag.models.logreg import (
    C_GRID,
    FALLBACK_C,
    fit_probe,
    fold_log_losses,
    fold_scores,
    inner_folds,
    lowest_loss,
    out_of_fold_logits,
    probe_logits,
    quiet_fits,
)

LIVE_DIMENSIONS = 256  # the library's main directions the live probe reads
LIVE_C_GRID = C_GRID[::2]  # 1e-4 .. 1e2, a decade apart: half of auto's grid, twice as fast
DOUBT_PROBABILITY = 0.1  # a label whose held-out probability is below this is worth a re-listen


@dataclass(frozen=True)
class TaskFit:
    """One task's live model, fitted on the labelled songs.

    Attributes
    ----------
    probabilities : ndarray, shape (songs, classes)
        Every song's probability of each class of ``classes`` (a sigmoid per class for a
        multi-label task); a class no labelled song holds gets 0.
    labelled : ndarray of int
        Rows of the labelled songs.
    held_out : ndarray, shape (len(labelled), classes), or None
        Each labelled song's probabilities from the inner fold that left it out (a row of
        NaN for a song not held out: the only one of its class); None when the songs are
        too few for folds.
    fold_scores : tuple of float
        Balanced accuracy of each inner fold (for a multi-label task, the mean over classes
        of each class's balanced accuracy); empty without folds.
    c : float or None
        The inverse regularisation strength used (per class for multi-label: the first).
    scored_classes, seen_classes : int
        The classes the score covers (those with two songs or more), and those held by the
        labelled songs.
    weight, bias : ndarray, shapes (classes, d) and (classes,)
        The full fit, ``logits = z @ weight.T + bias``: softmax for single-label (a class no
        song holds has bias -inf), a sigmoid per class for multi-label (a class every or no
        labelled song holds: weight 0, bias +-inf). `probabilities_of` scores new rows.
    """

    classes: tuple[str, ...]
    multi_label: bool
    probabilities: np.ndarray
    labelled: np.ndarray
    held_out: np.ndarray | None
    fold_scores: tuple[float, ...]
    c: float | None
    scored_classes: int
    seen_classes: int
    weight: np.ndarray
    bias: np.ndarray

    def logits_of(self, z: np.ndarray) -> np.ndarray:
        """Logits (rows, classes) of songs' standardised coordinates (rows, d)."""
        return _logits(z, self.weight, self.bias)

    def probabilities_of(self, z: np.ndarray) -> np.ndarray:
        """Probabilities (rows, classes) of songs' standardised coordinates (rows, d), as
        ``probabilities`` holds them for the songs fitted on."""
        return _probabilities(z, self.weight, self.bias, self.multi_label)

    def guesses(self) -> np.ndarray:
        """Every song's probabilities from a model that never saw its label: a labelled
        song's from the inner fold that left it out (where there are folds), the others'
        from the full fit. A guess that agreed with each label because it had learnt it
        would hide the mislabels a person should hear again."""
        if self.held_out is None:
            return self.probabilities
        shown = self.probabilities.copy()
        held = ~np.isnan(self.held_out).any(axis=1)
        shown[self.labelled[held]] = self.held_out[held]
        return shown

    @property
    def score(self) -> float | None:
        """The mean of the folds' balanced accuracies, or None without folds."""
        return float(np.mean(self.fold_scores)) if self.fold_scores else None

    @property
    def interval(self) -> list[float] | None:
        """The 95 % interval of that mean over the folds (`fold_interval`)."""
        return fold_interval(self.fold_scores)


def fit_task(
    z: np.ndarray,
    labels: Sequence[Sequence[str]],
    classes: Sequence[str],
    multi_label: bool,
    seed: int = 0,
) -> TaskFit | None:
    """The live model of one task, or None when no song is labelled.

    Parameters
    ----------
    z : ndarray, shape (songs, d)
        Standardised summaries of every prepared song.
    labels : sequence of sequence of str
        Each song's labels in this task (empty: unlabelled).
    classes : sequence of str
        The task's classes, in the order the page shows them.
    multi_label : bool
        Whether a song may hold several classes.
    seed : int
        Seed of the inner folds and of every fit.
    """
    rows = np.array([k for k, given in enumerate(labels) if given], dtype=int)
    if rows.size == 0:
        return None
    holds = np.array([[c in labels[k] for c in classes] for k in rows], dtype=bool)
    with quiet_fits():
        if multi_label:
            return _fit_multi_label(z, rows, holds, tuple(classes), seed)
        return _fit_single_label(z, rows, holds.argmax(axis=1), tuple(classes), seed)


def principal_directions(z: np.ndarray, k: int = LIVE_DIMENSIONS) -> np.ndarray:
    """(d, at most k) orthonormal main directions of standardised summaries (songs, d), the
    largest variance first; ``z @`` them gives the songs' coordinates (no label is read)."""
    _, _, vt = np.linalg.svd(z - z.mean(axis=0), full_matrices=False)
    return vt[:k].T


def doubted_labels(
    fit: TaskFit, labels: Sequence[Sequence[str]]
) -> list[tuple[int, str, bool, float]]:
    """Labelled songs whose label the held-out model finds unlikely, most doubted first:
    ``(row, class, given, doubt)``: a class given with held-out probability ``doubt`` below
    `DOUBT_PROBABILITY`, or, in a multi-label task, a class left out (``given`` False)
    that the model finds nearly certain (``doubt`` = 1 - its probability)."""
    if fit.held_out is None:
        return []
    found = []
    for row, probabilities in zip(fit.labelled, fit.held_out, strict=True):
        if np.isnan(probabilities).any():
            continue  # the only song of its class: never held out
        for c, p in zip(fit.classes, probabilities, strict=True):
            given = c in labels[row]
            doubt = p if given else 1.0 - p
            if (given or fit.multi_label) and doubt < DOUBT_PROBABILITY:
                found.append((int(row), c, given, float(doubt)))
    return sorted(found, key=lambda item: item[3])


def _fit_single_label(
    z: np.ndarray, rows: np.ndarray, y: np.ndarray, classes: tuple[str, ...], seed: int
) -> TaskFit:
    """A class-balanced probe over the classes the labelled songs hold, C chosen by the
    inner folds of the songs of the classes that have two songs or more: with twenty
    classes, waiting for every one to have two would leave C fixed (and no score) for a
    hundred labels. The songs of a class heard once are learnt, but neither held out nor
    scored."""
    seen, counts = np.unique(y, return_counts=True)
    weight = np.zeros((len(classes), z.shape[1]))
    bias = np.full(len(classes), -np.inf)
    if seen.size == 1:
        bias[seen[0]] = 0.0
        probabilities = _probabilities(z, weight, bias, False)
        return TaskFit(classes, False, probabilities, rows, None, (), None, 0, 1, weight, bias)
    twice = seen[counts >= 2]
    held = np.isin(y, twice)
    c, logits, scores = FALLBACK_C, None, ()
    if twice.size >= 2:
        c, logits, scores = _choose_c(z[rows[held]], np.searchsorted(twice, y[held]), seed)
    held_out = None
    if logits is not None:
        held_out = np.full((len(rows), len(classes)), np.nan)
        held_out[np.ix_(held, twice)] = softmax(logits, axis=1)
        held_out[np.ix_(held, np.setdiff1d(np.arange(len(classes)), twice))] = 0.0
    weight[seen], bias[seen] = probe_logits(fit_probe(z[rows], np.searchsorted(seen, y), c, seed))
    scored = twice.size if scores else 0
    fitted = (scores, c, scored, seen.size, weight, bias)
    return TaskFit(classes, False, _probabilities(z, weight, bias, False), rows, held_out, *fitted)


def _fit_multi_label(
    z: np.ndarray, rows: np.ndarray, holds: np.ndarray, classes: tuple[str, ...], seed: int
) -> TaskFit:
    """A binary probe per class, each with its own C; the task's fold scores are the mean
    over the classes that had folds."""
    held_out = np.full((len(rows), len(classes)), np.nan)
    per_class_scores, cs = [], []
    weight, bias = np.zeros((len(classes), z.shape[1])), np.zeros(len(classes))
    for k in range(len(classes)):
        column = holds[:, k].astype(int)
        if np.unique(column).size == 1:
            held_out[:, k] = float(column[0])
            bias[k] = np.inf if column[0] else -np.inf
            continue
        c, logits, scores = _choose_c(z[rows], column, seed)
        cs.append(c)
        if logits is not None:
            held_out[:, k] = softmax(logits, axis=1)[:, 1]
            per_class_scores.append(scores)
        model = fit_probe(z[rows], column, c, seed)
        weight[k], bias[k] = model.coef_[0], model.intercept_[0]
    folds = min((len(s) for s in per_class_scores), default=0)
    scores = tuple(float(np.mean([s[i] for s in per_class_scores])) for i in range(folds))
    usable = held_out if per_class_scores and not np.isnan(held_out).any() else None
    c = cs[0] if cs else None
    scored = len(per_class_scores) if scores else 0
    held = int(holds.any(axis=0).sum())
    fitted = (scores, c, scored, held, weight, bias)
    return TaskFit(classes, True, _probabilities(z, weight, bias, True), rows, usable, *fitted)


def _logits(z: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``z @ weight.T + bias``, where an infinite bias stands for a class never or always
    given (see `TaskFit`)."""
    with np.errstate(invalid="ignore"):
        return z @ weight.T + bias


def _probabilities(
    z: np.ndarray, weight: np.ndarray, bias: np.ndarray, multi_label: bool
) -> np.ndarray:
    """A fit's probabilities of songs: softmax over the classes, or a sigmoid per class."""
    logits = _logits(z, weight, bias)
    return expit(logits) if multi_label else softmax(logits, axis=1)


def _choose_c(
    z: np.ndarray, y: np.ndarray, seed: int
) -> tuple[float, np.ndarray | None, tuple[float, ...]]:
    """C of `LIVE_C_GRID` by the lowest balanced log loss over the inner folds, with the
    held-out logits (songs, classes) and fold scores at that C; `FALLBACK_C` and no
    held-out guesses when the songs are too few for folds."""
    folds = inner_folds(y, seed)
    if not folds:
        return FALLBACK_C, None, ()
    logits = out_of_fold_logits(z, y, folds, LIVE_C_GRID, seed)
    best = lowest_loss(fold_log_losses(y, logits, folds))
    scores = fold_scores(y, logits[best][None], folds)[0]
    return LIVE_C_GRID[best], logits[best], tuple(float(s) for s in scores)

"""Logistic regression on per-song statistics of every view: the baseline with no network.

Every report shows it beside the CNNs, so it is plain how much a CNN adds over a linear model
of each row's mean and spread. Its regularisation is chosen per task by an inner
cross-validation on the songs it is given: on real recordings no fixed C suited every input
(C = 1 overfitted a standardised 200-unit embedding that C = 0.01 did not). The helpers
below (inner folds, a path of fits over the C grid, log loss per fold) are shared
with the `auto` model.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy.special import logsumexp
from threadpoolctl import threadpool_limits
from torch import nn

from tunetag.errors import ParameterError
from tunetag.models.heads import TaskHeads
from tunetag.models.registry import register_model

if TYPE_CHECKING:  # scikit-learn is imported where a probe is fitted: predict never fits
    from sklearn.linear_model import LogisticRegression

ABSENT_CLASS_BIAS = -1e4  # logit bias of a class no training song has: probability ~0
PROBABILITY_CLIP = 1e-3  # a constant label column's frequency is clipped to [p, 1 - p]
# Inverse L2 strengths an inner cross-validation chooses from, strongest first.
C_GRID = tuple(float(c) for c in np.logspace(-4, 2, 13))
# C when there are too few songs for inner folds: strong, as the best C on a standardised
# 200-unit embedding of 88 songs was, since with so few songs nothing can tell better.
FALLBACK_C = 0.01
INNER_FOLDS = 5  # stratified inner folds (fewer when a class has fewer songs)
MIN_SONGS_FOR_CV = 10  # fewer labelled songs (or a class with < 2) -> FALLBACK_C, no selection
# summaries (songs x values) from which the inner folds are fitted in parallel: below it a
# whole path of fits takes milliseconds and starting workers would cost more
PARALLEL_FROM_VALUES = 20_000
TIE = 1e-9  # inner scores closer than this are a tie, won by the first (stronger, simpler)
MAX_ITER = 2000  # lbfgs iterations allowed per fit


@register_model("logreg")
class LogisticRegressionBaseline(nn.Module):
    """Standardise per-song summaries, then one linear head per task.

    Input ``inputs["summary"]``: float32 (batch, d) with d = 2 * sum of the views' rows: the
    mean and the standard deviation over the window's frames of every row of every view.
    The buffers ``mean`` and ``scale`` (d,) standardise it; ``heads`` holds one
    ``nn.Linear(d, n_outputs)`` per task (a `TaskHeads`: any task name). It is fitted in
    closed form by scikit-learn in `fit_summaries`, not by gradient steps, so
    ``default_learning_rate`` is unused; since ``state_dict()`` holds the buffers and heads,
    a run folder saves and loads it like any other model. After a fit, ``selection`` says
    per task which C the inner cross-validation chose and how each C scored (plain
    JSON-able data, not saved; see `choose_c`).

    Parameters
    ----------
    tasks : mapping of str to int
        Task name -> number of outputs (classes or labels).
    view_rows : mapping of str to int
        View name -> rows; the summary has two values per row of every view.
    """

    input_kind = "summary"
    default_batch_size = 64
    default_learning_rate = 1.0  # unused: fit_summaries fits the heads with scikit-learn

    def __init__(self, tasks: Mapping[str, int], view_rows: Mapping[str, int]) -> None:
        super().__init__()
        d = 2 * sum(view_rows.values())
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("scale", torch.ones(d))
        self.heads = TaskHeads({task: nn.Linear(d, k) for task, k in tasks.items()})
        self.selection: dict[str, dict] = {}

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Logits per task, each (batch, n_outputs), for summaries (batch, d)."""
        z = (inputs["summary"] - self.mean) / self.scale
        return {task: head(z) for task, head in self.heads.items()}

    def fit_summaries(
        self,
        x: np.ndarray,
        targets: Mapping[str, np.ndarray],
        multilabel: Mapping[str, bool],
        seed: int = 0,
    ) -> None:
        """Fit the standardisation and every head with scikit-learn, in place.

        The mean and standard deviation come from every song of ``x`` (a constant feature
        gets scale 1). Each task is then fitted on the songs labelled for it only, with
        ``class_weight="balanced"`` so a rare class still counts, and C from `C_GRID` chosen
        by `choose_c`: the lowest mean balanced log loss over stratified inner folds of those
        songs (ties to the stronger penalty); `FALLBACK_C` when a class has fewer
        than 2 songs or there are fewer than `MIN_SONGS_FOR_CV`. Only songs of ``x`` are
        ever used, so inside an outer cross-validation the choice never sees the outer test
        songs.

        - single-label: one multinomial ``LogisticRegression`` (lbfgs). With two classes
          scikit-learn keeps one score z for the second class; the head gives
          [-z/2, z/2], whose softmax equals ``predict_proba``. A class no labelled song
          has gets weight 0 and bias -1e4 (probability ~0).
        - multi-label: one binary ``LogisticRegression`` per label column, with its own C,
          so that sigmoid(logit) equals its ``predict_proba[:, 1]``. A column with one value
          only among the labelled songs gets weight 0 and the logit of its frequency,
          clipped to [1e-3, 1 - 1e-3].

        Parameters
        ----------
        x : ndarray, shape (n_songs, d)
            Per-song summaries, in the order `forward` reads them.
        targets : mapping of str to ndarray
            Task -> float (n, n_outputs) targets of the n songs, as `Task.target` makes
            them: one-hot (single-label) or 0/1 per label (multi-label), a row of NaN for a
            song unlabelled for the task.
        multilabel : mapping of str to bool
            Task -> whether it is multi-label.
        seed : int
            Seed of the inner folds and ``random_state`` of every fit.

        Raises
        ------
        ParameterError
            For summaries of the wrong shape or not finite, a task missing from ``targets``
            or ``multilabel``, targets of the wrong shape or out of range, or a task with no
            labelled song.
        """
        z, mean, scale = standardise("logreg", x, self.mean.shape[0])
        fitted, selection = {}, {}
        with quiet_fits():
            for task, head in self.heads.items():
                y = task_targets("logreg", task, targets, multilabel, len(z), head.out_features)
                labelled = ~np.isnan(y).all(axis=1)
                if multilabel[task]:
                    fitted[task], selection[task] = _fit_multilabel(z[labelled], y[labelled], seed)
                else:
                    y = y[labelled].argmax(axis=1)
                    weight, bias, selection[task] = _fit_single_label(z[labelled], y, seed)
                    fitted[task] = head_rows(weight, bias, np.unique(y), head.out_features)
        with torch.no_grad():
            self.mean.copy_(torch.from_numpy(mean))
            self.scale.copy_(torch.from_numpy(scale))
            for task, (weight, bias) in fitted.items():
                self.heads[task].weight.copy_(torch.from_numpy(weight))
                self.heads[task].bias.copy_(torch.from_numpy(bias))
        self.selection = selection


def _fit_single_label(z: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """Head logits' weight (c, d) and bias (c,) over the c classes seen in ``y``, and what
    the choice of C found."""
    if np.unique(y).size == 1:
        return np.zeros((1, z.shape[1])), np.zeros(1), one_class_report(len(y))
    c, report = choose_c(z, y, seed)
    weight, bias = probe_logits(fit_probe(z, y, c, seed))
    return weight, bias, report


def _fit_multilabel(
    z: np.ndarray, y: np.ndarray, seed: int
) -> tuple[tuple[np.ndarray, np.ndarray], dict]:
    """Weight (k, d) and bias (k,) of one binary fit per label column, and per label what
    the choice of C found."""
    k = y.shape[1]
    weight, bias, reports = np.zeros((k, z.shape[1])), np.zeros(k), []
    for label in range(k):
        column = y[:, label].astype(int)
        if np.unique(column).size == 1:
            bias[label] = constant_logit(column)
            reports.append(one_class_report(len(column)))
            continue
        c, report = choose_c(z, column, seed)
        model = fit_probe(z, column, c, seed)
        weight[label], bias[label] = model.coef_[0], model.intercept_[0]
        reports.append(report)
    return (weight, bias), {"labels": reports}


def choose_c(z: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, dict]:
    """The C of `C_GRID` with the lowest mean balanced log loss over inner folds of ``z``
    (`fold_log_losses`; ties to the stronger penalty), and a report of the choice: ``{"C",
    "log_loss", "balanced_accuracy", "std", "songs", "inner_folds", "scores": {C: mean
    balanced accuracy}, "log_losses": {C: mean log loss}, "note"}``; `FALLBACK_C` when
    there are too few songs for folds."""
    folds = inner_folds(y, seed)
    if not folds:
        return FALLBACK_C, fallback_report(len(y), {"C": FALLBACK_C})
    logits = out_of_fold_logits(z, y, folds, C_GRID, seed)
    scores = fold_scores(y, logits, folds)
    losses = fold_log_losses(y, logits, folds)
    best = lowest_loss(losses)
    report = {
        "C": C_GRID[best],
        "log_loss": float(losses[best].mean()),
        "balanced_accuracy": float(scores[best].mean()),
        "std": float(scores[best].std()),
        "songs": len(y),
        "inner_folds": len(folds),
        "scores": {f"{c:g}": float(s) for c, s in zip(C_GRID, scores.mean(axis=1), strict=True)},
        "log_losses": {
            f"{c:g}": float(loss) for c, loss in zip(C_GRID, losses.mean(axis=1), strict=True)
        },
        "note": "",
    }
    return C_GRID[best], report


def standardise(name: str, x: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardised summaries, their mean and scale (1 for a constant feature), float64.

    Raises ParameterError for summaries that are not (n_songs, d) or not finite.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != d:
        raise ParameterError(f"{name}: summaries must be (n_songs, {d}), got {x.shape}")
    if not np.isfinite(x).all():
        raise ParameterError(f"{name}: summaries contain NaN or infinite values")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    return (x - mean) / scale, mean, scale


def task_targets(
    name: str,
    task: str,
    targets: Mapping[str, np.ndarray],
    multilabel: Mapping[str, bool],
    n: int,
    k: int,
) -> np.ndarray:
    """The float (n, k) targets of ``task``, checked: one-hot or 0/1 rows, NaN rows for
    unlabelled songs, at least one labelled song."""
    if task not in targets or task not in multilabel:
        raise ParameterError(f"{name}: task {task!r} needs targets and a multilabel flag")
    y = np.asarray(targets[task], dtype=np.float64)
    if y.shape != (n, k):
        raise ParameterError(f"{name}: task {task!r} needs targets of shape ({n}, {k})")
    labelled = ~np.isnan(y).all(axis=1)
    if not labelled.any():
        raise ParameterError(f"{name}: task {task!r} has no labelled song")
    rows = y[labelled]
    if multilabel[task]:
        if not np.isin(rows, (0.0, 1.0)).all():
            raise ParameterError(f"{name}: task {task!r} needs 0/1 labels or a row of NaN per song")
    elif not (np.isin(rows, (0.0, 1.0)).all() and (rows.sum(axis=1) == 1).all()):
        raise ParameterError(f"{name}: task {task!r} needs a one-hot row (or NaN) per song")
    return y


def inner_folds(y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, shuffled (by ``seed``) folds of the songs with integer labels ``y``:
    `INNER_FOLDS`, fewer when a class has fewer songs, so every class is in every fold's
    training and test songs; none when a class has < 2 songs or there are too few songs."""
    counts = np.unique(y, return_counts=True)[1]
    if len(y) < MIN_SONGS_FOR_CV or counts.size < 2 or counts.min() < 2:
        return []
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(min(INNER_FOLDS, counts.min()), shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros((len(y), 1)), y))


def out_of_fold_logits(
    z: np.ndarray,
    y: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    cs: Sequence[float],
    seed: int,
) -> np.ndarray:
    """(len(cs), n, c) head logits (see `probe_logits`) of every song over the c classes of
    ``y``, from the probe fitted on the other folds' songs at each C. Each fold's fits go
    from the strongest regularisation to the weakest, each starting from the one before.

    The folds are fitted side by side, one process per core (joblib's reused workers): the
    fits are most of `auto`'s time and hold the GIL, so threads would not help. Every fold
    gives the same numbers wherever it runs.
    """
    import joblib

    classes = np.unique(y).size
    out = np.empty((len(cs), len(y), classes))
    workers = min(len(folds), joblib.cpu_count()) if z.size >= PARALLEL_FROM_VALUES else 1
    paths = joblib.Parallel(n_jobs=workers)(
        joblib.delayed(_fold_path)(z[train], y[train], z[test], classes, cs, seed)
        for train, test in folds
    )
    for (_, test), logits in zip(folds, paths, strict=True):
        out[:, test] = logits
    return out


def _fold_path(
    z_train: np.ndarray,
    y_train: np.ndarray,
    z_test: np.ndarray,
    classes: int,
    cs: Sequence[float],
    seed: int,
) -> np.ndarray:
    """(len(cs), test songs, classes) logits of one fold's path of fits over ``cs``."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(
        class_weight="balanced", max_iter=MAX_ITER, warm_start=True, random_state=seed
    )
    out = np.empty((len(cs), len(z_test), classes))
    with quiet_fits():
        for i, c in enumerate(cs):
            weight, bias = probe_logits(model.set_params(C=c).fit(z_train, y_train))
            out[i] = z_test @ weight.T + bias
    return out


def fold_scores(
    y: np.ndarray, logits: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """(settings, folds) balanced accuracy of each fold's test songs from out-of-fold logits
    (settings, n, c) over the sorted classes of ``y``."""
    from sklearn.metrics import balanced_accuracy_score

    predicted = np.unique(y)[logits.argmax(axis=-1)]
    return np.array(
        [[balanced_accuracy_score(y[test], row[test]) for _, test in folds] for row in predicted]
    )


@contextmanager
def quiet_fits() -> Iterator[None]:
    """One BLAS thread (small matrices: threads only cost), and scikit-learn's guess that
    many classes among few songs "could represent a regression problem" left unsaid: a
    person's labels are classes, and a fold of 20 songs in 12 classes is still a task."""
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The number of unique classes is greater than 50%")
        yield


def fold_log_losses(
    y: np.ndarray, logits: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """(settings, folds) out-of-fold log loss of each fold's test songs, each class
    weighing the same (the mean over classes of its songs' mean loss).

    What the choices are made by: with a few dozen songs a fold's balanced accuracy moves in
    steps, so many settings tie and the winner is much a matter of luck, while the log loss
    moves with every song's probability; measured on three sets of real recordings, choosing
    by it learnt more (README, *Which model learns your taste*), and it never flattens the
    probabilities that ``--min-prob``, playlists and the label page's order read.
    """
    classes = np.unique(y)
    log_p = logits - logsumexp(logits, axis=-1, keepdims=True)
    true = log_p[:, np.arange(len(y)), np.searchsorted(classes, y)]
    losses = []
    for _, test in folds:
        per_class = [-true[:, test][:, y[test] == label].mean(axis=1) for label in classes]
        losses.append(np.mean([loss for loss in per_class if np.isfinite(loss).all()], axis=0))
    return np.stack(losses, axis=1)


def lowest_loss(losses: np.ndarray) -> int:
    """Index of the first row of (settings, folds) losses whose mean is the lowest (to `TIE`):
    the strongest penalty, or the simplest candidate, among ties."""
    return first_best(-losses)


def first_best(scores: np.ndarray) -> int:
    """Index of the first row of (settings, folds) scores whose mean is the best (to `TIE`)."""
    means = scores.mean(axis=1)
    return int(np.flatnonzero(means >= means.max() - TIE)[0])


def fit_probe(z: np.ndarray, y: np.ndarray, c: float, seed: int) -> LogisticRegression:
    """The class-balanced logistic regression of integer labels ``y`` at inverse strength C."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=c, class_weight="balanced", max_iter=MAX_ITER, random_state=seed
    ).fit(z, y)


def probe_logits(model: LogisticRegression) -> tuple[np.ndarray, np.ndarray]:
    """Weight (c, d) and bias (c,) whose softmax is ``model.predict_proba`` over its c
    classes: with two classes scikit-learn keeps one score z, given here as [-z/2, z/2]."""
    if len(model.classes_) == 2:
        return (
            np.stack([-model.coef_[0] / 2, model.coef_[0] / 2]),
            np.array([-model.intercept_[0] / 2, model.intercept_[0] / 2]),
        )
    return model.coef_, model.intercept_


def head_rows(
    weight: np.ndarray, bias: np.ndarray, seen: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weight (k, d) and bias (k,) of a k-class head from those of the ``seen`` classes; a
    class never seen gets weight 0 and bias `ABSENT_CLASS_BIAS`."""
    full_weight, full_bias = np.zeros((k, weight.shape[1])), np.full(k, ABSENT_CLASS_BIAS)
    full_weight[seen], full_bias[seen] = weight, bias
    return full_weight, full_bias


def constant_logit(column: np.ndarray) -> float:
    """The logit of a 0/1 label column's frequency, clipped to [1e-3, 1 - 1e-3]."""
    p = np.clip(column.mean(), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    return float(np.log(p / (1 - p)))


def fallback_report(songs: int, fixed: dict) -> dict:
    """What a choice says when too few songs leave no inner folds."""
    return {
        **fixed,
        "balanced_accuracy": None,
        "songs": songs,
        "inner_folds": 0,
        "note": f"a class has < 2 songs or < {MIN_SONGS_FOR_CV} songs: no inner folds, "
        "fixed choice",
    }


def one_class_report(songs: int) -> dict:
    """What a choice says when the labelled songs all have one class (or label value)."""
    return {
        "C": None,
        "balanced_accuracy": None,
        "songs": songs,
        "inner_folds": 0,
        "note": "one class among the labelled songs: its frequency, no fit",
    }

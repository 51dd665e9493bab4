"""Logistic regression on per-song statistics of every view: the baseline with no network.

Every report shows it beside the CNNs, so it is plain how much a CNN adds over a linear model
of each row's mean and spread.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from tunetag.errors import ParameterError
from tunetag.models.registry import register_model

ABSENT_CLASS_BIAS = -1e4  # logit bias of a class no training song has: probability ~0
PROBABILITY_CLIP = 1e-3  # a constant label column's frequency is clipped to [p, 1 - p]
C = 1.0  # inverse L2 regularisation strength of every scikit-learn fit
MAX_ITER = 2000  # lbfgs iterations allowed per fit


@register_model("logreg")
class LogisticRegressionBaseline(nn.Module):
    """Standardise per-song summaries, then one linear head per task.

    Input ``inputs["summary"]``: float32 (batch, d) with d = 2 * sum of the views' rows: the
    mean and the standard deviation over the window's frames of every row of every view.
    The buffers ``mean`` and ``scale`` (d,) standardise it; ``heads`` holds one
    ``nn.Linear(d, n_outputs)`` per task. It is fitted in closed form by scikit-learn in
    `fit_summaries`, not by gradient steps, so ``default_learning_rate`` is unused; since
    ``state_dict()`` holds the buffers and heads, a run folder saves and loads it like any
    other model.

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
        self.heads = nn.ModuleDict({task: nn.Linear(d, k) for task, k in tasks.items()})

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
        ``class_weight="balanced"`` so a rare class still counts:

        - single-label: one multinomial ``LogisticRegression`` (lbfgs). With two classes
          scikit-learn keeps one score z for the second class; the head gives
          [-z/2, z/2], whose softmax equals ``predict_proba``. A class no labelled song
          has gets weight 0 and bias -1e4 (probability ~0).
        - multi-label: one binary ``LogisticRegression`` per label column, so that
          sigmoid(logit) equals its ``predict_proba[:, 1]``. A column with one value only
          among the labelled songs gets weight 0 and the logit of its frequency, clipped to
          [1e-3, 1 - 1e-3].

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
            ``random_state`` of every fit.

        Raises
        ------
        ParameterError
            For summaries of the wrong shape or not finite, a task missing from ``targets``
            or ``multilabel``, targets of the wrong shape or out of range, or a task with no
            labelled song.
        """
        x = np.asarray(x, dtype=np.float64)
        d = self.mean.shape[0]
        if x.ndim != 2 or x.shape[1] != d:
            raise ParameterError(f"logreg: summaries must be (n_songs, {d}), got {x.shape}")
        if not np.isfinite(x).all():
            raise ParameterError("logreg: summaries contain NaN or infinite values")
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        z = (x - mean) / scale
        fitted = {}
        for task, head in self.heads.items():
            if task not in targets or task not in multilabel:
                raise ParameterError(f"logreg: task {task!r} needs targets and a multilabel flag")
            if multilabel[task]:
                fitted[task] = _fit_multilabel(task, z, targets[task], head.out_features, seed)
            else:
                fitted[task] = _fit_single_label(task, z, targets[task], head.out_features, seed)
        with torch.no_grad():
            self.mean.copy_(torch.from_numpy(mean))
            self.scale.copy_(torch.from_numpy(scale))
            for task, (weight, bias) in fitted.items():
                self.heads[task].weight.copy_(torch.from_numpy(weight))
                self.heads[task].bias.copy_(torch.from_numpy(bias))


def _fit_single_label(
    task: str, z: np.ndarray, y: np.ndarray, k: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weight (k, d) and bias (k,) of a multinomial fit on the songs labelled for ``task``."""
    z, y = _labelled(task, z, y, k)
    if not (np.isin(y, (0.0, 1.0)).all() and (y.sum(axis=1) == 1).all()):
        raise ParameterError(f"logreg: task {task!r} needs a one-hot row (or NaN) per song")
    y = y.argmax(axis=1)
    weight = np.zeros((k, z.shape[1]))
    bias = np.full(k, ABSENT_CLASS_BIAS)
    seen = np.unique(y)
    if len(seen) == 1:
        bias[seen[0]] = 0.0
        return weight, bias
    model = LogisticRegression(
        C=C, class_weight="balanced", max_iter=MAX_ITER, random_state=seed
    ).fit(z, y)
    seen = model.classes_
    if len(seen) == 2:
        weight[seen] = np.stack([-model.coef_[0] / 2, model.coef_[0] / 2])
        bias[seen] = [-model.intercept_[0] / 2, model.intercept_[0] / 2]
    else:
        weight[seen] = model.coef_
        bias[seen] = model.intercept_
    return weight, bias


def _fit_multilabel(
    task: str, z: np.ndarray, y: np.ndarray, k: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weight (k, d) and bias (k,) of one binary fit per label column of ``task``."""
    z, y = _labelled(task, z, y, k)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ParameterError(f"logreg: task {task!r} needs 0/1 labels or a row of NaN per song")
    weight = np.zeros((k, z.shape[1]))
    bias = np.zeros(k)
    for label in range(k):
        column = y[:, label].astype(int)
        if np.unique(column).size == 1:
            p = np.clip(column.mean(), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
            bias[label] = np.log(p / (1 - p))
            continue
        model = LogisticRegression(
            C=C, class_weight="balanced", max_iter=MAX_ITER, random_state=seed
        ).fit(z, column)
        weight[label] = model.coef_[0]
        bias[label] = model.intercept_[0]
    return weight, bias


def _labelled(task: str, z: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The summaries and float targets of the songs labelled for ``task`` (no NaN row)."""
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (len(z), k):
        raise ParameterError(f"logreg: task {task!r} needs targets of shape ({len(z)}, {k})")
    labelled = ~np.isnan(y).all(axis=1)
    if not labelled.any():
        raise ParameterError(f"logreg: task {task!r} has no labelled song")
    return z[labelled], y[labelled]

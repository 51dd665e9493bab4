"""The learning curve of a k-fold run: each fold's model trained again on a share of its
training songs and scored on the same held-out songs (see `tunetag.evaluation.learning`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tunetag.evaluation.learning import FRACTIONS, headline_metric, learning_curve
from tunetag.evaluation.task_metrics import task_metrics
from tunetag.library.tasks import Task
from tunetag.training.datasets import SongExample
from tunetag.training.splits import stratified_share

FitAndScore = Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]


def learning_curves(
    tasks: Sequence[Task],
    examples: Sequence[SongExample],
    strata: Sequence[str],
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    full_fold_metrics: Sequence[dict[str, dict]],
    fit_and_score: FitAndScore,
    seed: int,
    progress: bool = False,
) -> dict[str, dict]:
    """Per task, the score over folds at each share of `FRACTIONS` of the training songs.

    Parameters
    ----------
    tasks, examples
        The run's tasks and songs.
    strata : sequence of str
        Each song's class for stratified shares (the first task's label).
    splits : sequence of (train, test) index arrays
        The run's folds.
    full_fold_metrics : sequence of dict
        Per fold, task -> metrics of the run itself: the curve's point at 100 %.
    fit_and_score : callable
        ``(train_idx, test_idx) -> task -> probabilities of the test songs``.
    seed : int
        Seeds the shares (one per fold and share).
    progress : bool
        Say which share and fold is being trained.
    """
    songs = {fraction: [] for fraction in FRACTIONS}
    scores = {task.name: {fraction: [] for fraction in FRACTIONS} for task in tasks}
    for fold, (train_idx, _) in enumerate(splits):
        songs[1.0].append(len(train_idx))
        for task in tasks:
            found = full_fold_metrics[fold][task.name]
            scores[task.name][1.0].append(found.get(headline_metric(task.multilabel)))
    for fraction in FRACTIONS[:-1]:
        for fold, (train_idx, test_idx) in enumerate(splits):
            if progress:
                print(
                    f"learning curve: {fraction:.0%} of the labels, fold {fold + 1}/{len(splits)}"
                )
            share = stratified_share(train_idx, strata, fraction, seed + 1000 * fold)
            probabilities = fit_and_score(share, test_idx)
            songs[fraction].append(len(share))
            for task in tasks:
                truth = np.stack([examples[k].targets[task.name] for k in test_idx])
                found = task_metrics(task, truth, probabilities[task.name])
                scores[task.name][fraction].append(found.get(headline_metric(task.multilabel)))
    mean_songs = {fraction: round(float(np.mean(n))) for fraction, n in songs.items()}
    return {
        task.name: learning_curve(mean_songs, scores[task.name], headline_metric(task.multilabel))
        for task in tasks
    }

"""A trained run's guesses for the songs being labelled, and how unsure it is of each."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tunetag.runs.classify import classify_songs


@dataclass
class ModelGuesses:
    """Per song, each task's class probabilities and one uncertainty, 0 (sure) to 1."""

    probabilities: dict[int, dict[str, dict[str, float]]]  # song id -> task -> class -> p
    uncertainty: dict[int, float]  # song id -> mean uncertainty over the run's tasks


def task_uncertainty(multilabel: bool, probabilities: np.ndarray) -> np.ndarray:
    """How unsure a model is of each song in one task, scaled to 0 (sure) .. 1 (a coin toss).

    Single-label: one minus the top probability, scaled so that a uniform guess is 1.
    Multi-label: the mean over classes of ``1 - |2p - 1|`` (1 where p is 0.5).

    Parameters
    ----------
    multilabel : bool
        Whether the task is multi-label.
    probabilities : np.ndarray, shape (songs, classes)

    Returns
    -------
    np.ndarray, shape (songs,)
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if multilabel:
        return (1.0 - np.abs(2.0 * probabilities - 1.0)).mean(axis=1)
    n_classes = probabilities.shape[1]
    return (1.0 - probabilities.max(axis=1)) * n_classes / (n_classes - 1)


def guess_songs(
    run_dir: str | Path,
    songs: dict[int, Path],
    *,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> ModelGuesses:
    """Score songs with a trained run, for the page's guesses and the uncertain-first order.

    Songs that cannot be decoded get no guess (``error: <file>: <reason>`` is printed by the
    extraction) and go to the end of an uncertain-first queue.

    Parameters
    ----------
    run_dir : path-like
        A run folder written by ``tunetag train``.
    songs : dict of int to Path
        Song id -> its audio file.
    cache_dir, executor, progress
        As in `tunetag.runs.classify.classify_songs`.
    """
    ids_by_path = {path: song_id for song_id, path in songs.items()}
    scored = classify_songs(
        run_dir, list(songs.values()), cache_dir=cache_dir, executor=executor, progress=progress
    )
    probabilities: dict[int, dict[str, dict[str, float]]] = {}
    unsure = np.zeros(len(scored.paths))
    for task in scored.tasks:
        probs = scored.probabilities[task.name]
        unsure += task_uncertainty(task.multilabel, probs) / len(scored.tasks)
        for path, row in zip(scored.paths, probs, strict=True):
            song = probabilities.setdefault(ids_by_path[path], {})
            song[task.name] = {
                label: round(float(p), 4) for label, p in zip(task.classes, row, strict=True)
            }
    uncertainty = {
        ids_by_path[path]: float(u) for path, u in zip(scored.paths, unsure, strict=True)
    }
    return ModelGuesses(probabilities, uncertainty)

"""Scoring held-out songs while training: probabilities shared among torchrun's processes,
and the validation loss and accuracy of an epoch."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tunetag.library.tasks import Task
from tunetag.runs.probabilities import song_probabilities
from tunetag.runtime import distributed
from tunetag.training.datasets import SongExample

EPSILON = 1e-12  # floor of a probability before its logarithm


def song_probabilities_across_ranks(
    model: nn.Module,
    songs: Sequence[Mapping[str, Path]],
    tasks: Sequence[Task],
    *,
    input_kind: str,
    crop_frames: int,
    device: torch.device | None = None,
    batch_size: int = 32,
) -> dict[str, np.ndarray]:
    """`song_probabilities`, shared among the processes of a torchrun job.

    Rank r scores songs r, r + processes, ... and every rank gets the probabilities of
    every song, in the order of ``songs``. For a single process it is `song_probabilities`.
    Every rank must hold the same weights (see `distributed.broadcast_buffers`).

    Parameters
    ----------
    model, songs, tasks, input_kind, crop_frames, device, batch_size
        As for `song_probabilities`.

    Returns
    -------
    dict of str to numpy.ndarray
        Task name -> float64 (n_songs, n_outputs).
    """
    world = distributed.active_world()
    options = {
        "input_kind": input_kind,
        "crop_frames": crop_frames,
        "device": device,
        "batch_size": batch_size,
    }
    if not world.distributed:
        return song_probabilities(model, songs, tasks, **options)
    mine = list(songs[world.rank :: world.size])
    found = (
        song_probabilities(model, mine, tasks, **options)
        if mine
        else {task.name: np.empty((0, task.n_outputs)) for task in tasks}
    )
    merged = {task.name: np.empty((len(songs), task.n_outputs)) for task in tasks}
    for rank, part in enumerate(distributed.gather_objects(found)):
        for name, rows in part.items():
            merged[name][rank :: world.size] = rows
    return merged


def validate(
    model: nn.Module,
    tasks: Sequence[Task],
    examples: Sequence[SongExample],
    input_kind: str,
    crop_frames: int,
    batch_size: int,
    device: torch.device,
) -> dict[str, float]:
    """`validation_row` of ``examples`` scored whole (NaN everywhere without songs)."""
    if not examples:
        return {"val_loss": math.nan} | {f"val_acc_{task.name}": math.nan for task in tasks}
    probabilities = song_probabilities_across_ranks(
        model,
        [example.view_paths for example in examples],
        tasks,
        input_kind=input_kind,
        crop_frames=crop_frames,
        device=device,
        batch_size=batch_size,
    )
    return validation_row(probabilities, examples, tasks)


def validation_row(
    probabilities: Mapping[str, np.ndarray], examples: Sequence[SongExample], tasks: Sequence[Task]
) -> dict[str, float]:
    """Validation loss (NLL or binary cross-entropy of song probabilities, summed over
    tasks) and accuracy per task (hamming accuracy for multi-label tasks)."""
    row = {"val_loss": 0.0}
    for task in tasks:
        truth = np.stack([example.targets[task.name] for example in examples])
        known = ~np.isnan(truth).any(axis=1)
        if not known.any():
            row[f"val_acc_{task.name}"] = math.nan
            continue
        truth, probs = truth[known], np.clip(probabilities[task.name][known], EPSILON, 1.0)
        if task.multilabel:
            bce = truth * np.log(probs) + (1 - truth) * np.log(np.clip(1 - probs, EPSILON, 1))
            row["val_loss"] += float(-bce.mean())
            row[f"val_acc_{task.name}"] = float(((probs > 0.5) == (truth > 0.5)).mean())
        else:
            row["val_loss"] += float(-np.log((probs * truth).sum(axis=1)).mean())
            row[f"val_acc_{task.name}"] = float(
                (probs.argmax(axis=1) == truth.argmax(axis=1)).mean()
            )
    return row


def cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's ``state_dict`` on the CPU."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}

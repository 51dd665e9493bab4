"""Class probabilities of whole songs from a trained network: the one scoring path that
training (validation, held-out folds) and predict share.

A song's probability is the softmax (single-label) or sigmoid (multi-label) of every crop
of it, averaged; on a GPU the forward passes run in mixed precision (`autocast_dtype`), and
probabilities are computed in float64 from the logits either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from tunetag.errors import ParameterError
from tunetag.library.tasks import Task
from tunetag.models.inputs import load_views, song_inputs
from tunetag.runtime import distributed
from tunetag.runtime.progress import progress_bar


def pick_device() -> torch.device:
    """CUDA when a GPU is present (this rank's own GPU under torchrun), else the CPU."""
    return distributed.rank_device()


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The mixed-precision type of forward passes on ``device``: bfloat16 on a GPU that has
    it, else float16 (with a gradient scaler in training); None (float32) on the CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """Forward passes in `autocast_dtype` on a GPU; nothing changes on the CPU."""
    dtype = autocast_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def song_probabilities(
    model: nn.Module,
    songs: Sequence[Mapping[str, Path]],
    tasks: Sequence[Task],
    *,
    input_kind: str,
    crop_frames: int,
    device: torch.device | None = None,
    batch_size: int = 32,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Probabilities of whole songs: softmax (single-label) or sigmoid (multi-label)
    averaged over every crop of each song.

    On a GPU the forward passes run in mixed precision (`autocast_dtype`); probabilities
    are computed in float64 from the logits either way.

    Parameters
    ----------
    model : torch.nn.Module
        A trained network; run in eval mode on ``device`` (its mode is restored).
    songs : sequence of mapping of str to path
        Per song, its cached views by name (``.npy``, (rows, frames)).
    tasks : sequence of Task
        Tasks to score.
    input_kind : {"crop", "image", "summary"}
        The model's ``input_kind``.
    crop_frames : int
        Frames per crop, as in training.
    device : torch.device, optional
        Where to run; default `pick_device`.
    batch_size : int
        Crops per forward pass.
    progress : bool
        Show a bar over the songs.

    Returns
    -------
    dict of str to numpy.ndarray
        Task name -> float64 (n_songs, n_outputs), in the order of ``songs``.
    """
    if not songs:
        raise ParameterError("no songs to score")
    options = {"input_kind": input_kind, "crop_frames": crop_frames, "batch_size": batch_size}
    with probability_function(model, tasks, device=device, **options) as score:
        found = [
            score(views)
            for views in progress_bar(
                songs, desc="scoring", unit="song", leave=False, disable=not progress
            )
        ]
    return {task.name: np.stack([song[task.name] for song in found]) for task in tasks}


@contextlib.contextmanager
def probability_function(
    model: nn.Module,
    tasks: Sequence[Task],
    *,
    input_kind: str,
    crop_frames: int,
    device: torch.device | None = None,
    batch_size: int = 32,
) -> Iterator[Callable[[Mapping[str, Path]], dict[str, np.ndarray]]]:
    """A function scoring one song at a time, for callers that stream songs as they arrive.

    Inside the block ``model`` is in eval mode on ``device`` (its mode is restored after);
    each call loads a song's cached views and returns task name -> float64 (n_outputs,)
    probabilities averaged over its crops, as a row of `song_probabilities`. Arguments as there.
    """
    if batch_size <= 0:
        raise ParameterError(f"batch_size must be positive, got {batch_size}")
    device = device or pick_device()
    model.to(device)
    was_training = model.training
    model.eval()

    def score(views: Mapping[str, Path]) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            inputs = song_inputs(load_views(views), input_kind, crop_frames)
            n_crops = len(next(iter(inputs.values())))
            sums = {task.name: 0.0 for task in tasks}
            for logits in batched_logits(model, inputs, device, batch_size):
                for task in tasks:
                    probs = _probabilities(logits[task.name], task)
                    sums[task.name] = sums[task.name] + probs.sum(0)
            return {task.name: (sums[task.name] / n_crops).cpu().numpy() for task in tasks}

    try:
        yield score
    finally:
        model.train(was_training)


def batched_logits(
    model: nn.Module, inputs: Mapping[str, torch.Tensor], device: torch.device, batch_size: int
) -> Iterator[dict[str, torch.Tensor]]:
    """The model's logits per task for ``inputs`` (a leading axis of crops, patches or
    songs), ``batch_size`` rows a forward pass on ``device``, in `autocast`."""
    rows = len(next(iter(inputs.values())))
    for start in range(0, rows, batch_size):
        chunk = {k: v[start : start + batch_size].to(device) for k, v in inputs.items()}
        with autocast(device):
            yield model(chunk)


def _probabilities(logits: torch.Tensor, task: Task) -> torch.Tensor:
    logits = logits.double()
    return torch.sigmoid(logits) if task.multilabel else F.softmax(logits, dim=1)

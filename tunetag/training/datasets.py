"""Training examples of songs: random crops of their views, random 3 s patches of their
per-patch views, or their one whole-song input, with their targets per task (see
`tunetag.models.inputs` for what a network is fed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from tunetag.errors import ParameterError
from tunetag.models.inputs import check_input_kind, crop_view, load_views, whole_song_inputs


@dataclass(frozen=True)
class SongExample:
    """One song: its cached views and its target per task.

    ``view_paths`` maps view names to ``.npy`` arrays (rows, frames) on one frame grid, in
    the run's view order. ``targets`` maps each task to a float32 (n_outputs,) vector
    (one-hot or multi-hot; see `Task.target`); a task missing from it, or a NaN vector,
    means the song is unlabelled for that task and adds nothing to its loss.
    """

    view_paths: dict[str, Path]
    targets: dict[str, np.ndarray]
    # the views a closed-form summary model fits on, where they hold more than those the
    # song is scored on: every patch, where a model predicts from a few (`fit_summaries`)
    fit_view_paths: dict[str, Path] | None = None


class TrainCrops(Dataset):
    """Training examples: random crops (``"crop"``) or 3 s patches (``"patch"``), one
    picture (``"image"``) or one statistics vector (``"summary"``) per song.

    For ``"crop"`` each song gives ``crops_per_song`` crops per epoch, the same frames of
    every view, at offsets drawn from (seed, epoch, index), so crops change with `set_epoch`
    but are reproducible whatever order a DataLoader asks in. A song shorter than a crop is
    padded at the end with each view's minimum. ``"patch"`` draws ``crops_per_song`` columns
    of the per-patch views the same way.

    Items are ``(inputs, targets)``: dicts of float32 tensors, inputs by view name (each
    (1, rows, crop_frames) or, for a patch, (rows,)), ``"image"`` (4, 400, 1600) in [0, 1],
    or ``"summary"`` (d,); targets by task, (n_outputs,) with NaN for an unlabelled song.
    """

    def __init__(
        self,
        examples: Sequence[SongExample],
        tasks: Sequence[str],
        input_kind: str,
        crop_frames: int,
        crops_per_song: int,
        seed: int,
    ) -> None:
        check_input_kind(input_kind, crop_frames)
        if crops_per_song <= 0:
            raise ParameterError(f"crops_per_song must be positive, got {crops_per_song}")
        self.examples = list(examples)
        self.tasks = list(tasks)
        self.input_kind = input_kind
        self.crop_frames = crop_frames
        self.crops_per_song = crops_per_song if input_kind in ("crop", "patch") else 1
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's crops: the same epoch always gives the same crops."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.examples) * self.crops_per_song

    def __getitem__(self, index: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        example = self.examples[index // self.crops_per_song]
        views = load_views(example.view_paths)
        if self.input_kind in ("crop", "patch"):
            width = self.crop_frames if self.input_kind == "crop" else 1
            frames = min(view.shape[1] for view in views.values())
            rng = np.random.default_rng([self.seed, self.epoch, index])
            start = int(rng.integers(0, max(frames - width, 0) + 1))
            crops = {name: crop_view(view, start, width) for name, view in views.items()}
            patch = self.input_kind == "patch"
            inputs = {name: crop[:, 0] if patch else crop[None] for name, crop in crops.items()}
        else:
            inputs = {name: x[0] for name, x in whole_song_inputs(views, self.input_kind).items()}
        return inputs, {task: torch.from_numpy(_target(example, task)) for task in self.tasks}


def _target(example: SongExample, task: str) -> np.ndarray:
    target = example.targets.get(task)
    if target is None:
        raise ParameterError(f"{example.view_paths}: no target for task {task!r}")
    return target

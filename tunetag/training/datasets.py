"""What a network sees of a song: random log-mel crops (training), every crop or the
proposal's picture (scoring).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from tunetag.errors import ParameterError
from tunetag.features.image import seed_image
from tunetag.models.registry import INPUT_KINDS

IGNORE_INDEX = -100  # target of a song unlabelled for a task; cross-entropy skips it


@dataclass(frozen=True)
class SongExample:
    """One labelled song: its cached log-mel and its class index per task.

    ``mel_path`` is a ``.npy`` array (n_mels, frames) in dB. A task missing from
    ``targets`` means the song is unlabelled for it and adds nothing to that task's loss.
    """

    mel_path: Path
    targets: dict[str, int]


def crop_frames(crop_s: float, frames_per_second: float) -> int:
    """Frames in a crop of ``crop_s`` seconds (at least 1).

    Parameters
    ----------
    crop_s : float
        Crop length in seconds.
    frames_per_second : float
        Frame rate of the log-mel, in frames per second (sample rate / hop length).

    Returns
    -------
    int
        ``round(crop_s * frames_per_second)``, at least 1.
    """
    if crop_s <= 0 or frames_per_second <= 0:
        raise ParameterError(
            f"crop_s and frames_per_second must be positive, got {crop_s} and {frames_per_second}"
        )
    return max(1, round(crop_s * frames_per_second))


class TrainCrops(Dataset):
    """Training examples: random crops (``"crop"``) or one picture per song (``"image"``).

    For ``"crop"`` each song gives ``crops_per_song`` crops per epoch, at offsets drawn from
    (seed, epoch, index), so the crops change with `set_epoch` but are reproducible and do
    not depend on the order a DataLoader asks for them. A song shorter than a crop is padded
    at the end with its minimum value (the quietest dB it has).

    Parameters
    ----------
    examples : sequence of SongExample
        The training songs.
    tasks : sequence of str
        Task order of the target vector.
    input_kind : {"crop", "image"}
        What the model takes (its class attribute ``input_kind``).
    crop_frames : int
        Frames per crop (see `crop_frames`); unused for ``"image"``.
    crops_per_song : int
        Random crops per song per epoch; ``"image"`` always gives one example per song.
    seed : int
        Random seed of the crop offsets.

    Items are ``(x, y)``: ``x`` float32 (1, n_mels, crop_frames) or (4, 400, 1600) in [0, 1];
    ``y`` int64 (n_tasks,), class indices with -100 where a song has no label.
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
        _check_kind(input_kind, crop_frames)
        if crops_per_song <= 0:
            raise ParameterError(f"crops_per_song must be positive, got {crops_per_song}")
        self.examples = list(examples)
        self.tasks = list(tasks)
        self.input_kind = input_kind
        self.crop_frames = crop_frames
        self.crops_per_song = crops_per_song if input_kind == "crop" else 1
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's crops: the same epoch always gives the same crops."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.examples) * self.crops_per_song

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        example = self.examples[index // self.crops_per_song]
        mel = np.load(example.mel_path, mmap_mode="r")
        if self.input_kind == "image":
            x = _picture(mel)
        else:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            start = int(rng.integers(0, max(mel.shape[1] - self.crop_frames, 0) + 1))
            x = _crop(mel, start, self.crop_frames)[None]
        y = torch.tensor(
            [example.targets.get(task, IGNORE_INDEX) for task in self.tasks], dtype=torch.int64
        )
        return x, y


def song_inputs(mel: np.ndarray, input_kind: str, crop_frames: int) -> torch.Tensor:
    """Every input needed to score one whole song.

    Parameters
    ----------
    mel : np.ndarray, shape (n_mels, frames)
        The song's log-mel in dB.
    input_kind : {"crop", "image"}
        What the model takes.
    crop_frames : int
        Frames per crop; unused for ``"image"``.

    Returns
    -------
    torch.Tensor
        ``"crop"``: float32 (n_crops, 1, n_mels, crop_frames), consecutive non-overlapping
        crops with the last one aligned to the song's end (so it may overlap the one
        before); a song shorter than a crop gives one crop padded with its minimum.
        ``"image"``: float32 (1, 4, 400, 1600) in [0, 1].
    """
    _check_kind(input_kind, crop_frames)
    if mel.ndim != 2 or mel.size == 0:
        raise ParameterError(f"log-mel must be a non-empty 2-D array, got shape {mel.shape}")
    if input_kind == "image":
        return _picture(mel)[None]
    n_frames = mel.shape[1]
    starts = list(range(0, max(n_frames - crop_frames, 0) + 1, crop_frames))
    if starts[-1] + crop_frames < n_frames:
        starts.append(n_frames - crop_frames)
    return torch.stack([_crop(mel, start, crop_frames)[None] for start in starts])


def _check_kind(input_kind: str, crop_frames: int) -> None:
    if input_kind not in INPUT_KINDS:
        raise ParameterError(f"input_kind must be one of {INPUT_KINDS}, got {input_kind!r}")
    if input_kind == "crop" and crop_frames <= 0:
        raise ParameterError(f"crop_frames must be positive, got {crop_frames}")


def _crop(mel: np.ndarray, start: int, n_frames: int) -> torch.Tensor:
    """(n_mels, n_frames) float32 from ``start``; past the song's end, its minimum value."""
    piece = np.array(mel[:, start : start + n_frames], dtype=np.float32)
    if piece.shape[1] < n_frames:
        padded = np.full((mel.shape[0], n_frames), np.min(mel), dtype=np.float32)
        padded[:, : piece.shape[1]] = piece
        piece = padded
    return torch.from_numpy(piece)


def _picture(mel: np.ndarray) -> torch.Tensor:
    """The proposal's RGBA picture of the whole log-mel as float32 (4, 400, 1600) in [0, 1]."""
    rgba = seed_image(np.asarray(mel))
    return torch.from_numpy(rgba).permute(2, 0, 1).float().div(255.0)

"""What a network is fed of a song, from its cached views: crops, 3 s patches of a per-patch
view, the proposal's picture, or per-song statistics, by the model's ``input_kind``.
Training draws random crops or patches of these; scoring takes every one of a song
(`song_inputs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from tunetag.errors import ParameterError
from tunetag.features.image import seed_image
from tunetag.features.views import VIEWS
from tunetag.models.registry import INPUT_KINDS


def crop_frames(crop_s: float, frames_per_second: float) -> int:
    """Frames in a crop of ``crop_s`` seconds (at least 1).

    Parameters
    ----------
    crop_s : float
        Crop length in seconds.
    frames_per_second : float
        Frame rate of the views, in frames per second (sample rate / hop length).
    """
    if crop_s <= 0 or frames_per_second <= 0:
        raise ParameterError(
            f"crop_s and frames_per_second must be positive, got {crop_s} and {frames_per_second}"
        )
    return max(1, round(crop_s * frames_per_second))


def load_views(view_paths: Mapping[str, Path]) -> dict[str, np.ndarray]:
    """Memory-map a song's cached views, the frame views cut to the frames they all have
    (a view with a column per 3 s patch is left whole)."""
    views = {name: np.load(path, mmap_mode="r") for name, path in view_paths.items()}
    framed = [view.shape[1] for name, view in views.items() if not VIEWS[name].per_patch]
    if not framed:
        return views
    frames = min(framed)
    return {
        name: view if VIEWS[name].per_patch else view[:, :frames] for name, view in views.items()
    }


def summary_statistics(views: Mapping[str, np.ndarray]) -> np.ndarray:
    """Mean and standard deviation over frames of every row of every view, float32.

    Rows of view after view, means then deviations per view: ``2 * sum(rows)`` values,
    what the ``summary`` models (the logistic-regression baseline) take.
    """
    parts = []
    for view in views.values():
        array = np.asarray(view, dtype=np.float64)
        parts += [array.mean(axis=1), array.std(axis=1)]
    return np.concatenate(parts).astype(np.float32)


def view_balance(view_rows: Mapping[str, int]) -> np.ndarray:
    """Per column of a summary of views of these rows (`summary_statistics`: two columns a
    row), what gives each view of standardised summaries the same share of the variance,
    the total staying the number of columns d: sqrt(d / (views x the view's columns)).

    A probe under one L2 penalty, or a distance, over all views then weighs each view
    alike, whatever its width: unscaled, the 400 columns of each tagger's embedding
    outweigh the 186 of the descriptors (README, *Which model learns your taste*).
    """
    widths = [2 * rows for rows in view_rows.values()]
    d = sum(widths)
    return np.concatenate([np.full(width, np.sqrt(d / (len(widths) * width))) for width in widths])


def song_inputs(
    views: Mapping[str, np.ndarray], input_kind: str, crop_frames: int
) -> dict[str, torch.Tensor]:
    """Every input needed to score one whole song, each with a leading crop axis.

    ``"crop"``: by view, float32 (n_crops, 1, rows, crop_frames), consecutive
    non-overlapping crops with the last one aligned to the song's end (so it may overlap the
    one before); a song shorter than a crop gives one crop padded with each view's minimum.
    ``"patch"``: by view, float32 (n_patches, rows), every column of the per-patch views.
    ``"image"``: (1, 4, 400, 1600) in [0, 1], the picture of the first view.
    ``"summary"``: (1, d), `summary_statistics`.
    """
    check_input_kind(input_kind, crop_frames)
    for name, view in views.items():
        if view.ndim != 2 or view.size == 0:
            raise ParameterError(f"view {name!r} must be a non-empty 2-D array, got {view.shape}")
    n_frames = min(view.shape[1] for view in views.values())
    if input_kind == "patch":
        return {
            name: torch.from_numpy(np.array(view[:, :n_frames].T, dtype=np.float32))
            for name, view in views.items()
        }
    if input_kind != "crop":
        return whole_song_inputs(views, input_kind)
    starts = crop_starts(n_frames, crop_frames)
    return {
        name: torch.stack([crop_view(view[:, :n_frames], s, crop_frames)[None] for s in starts])
        for name, view in views.items()
    }


def crop_starts(n_frames: int, crop_frames: int) -> list[int]:
    """First frame of each crop `song_inputs` takes: consecutive, without overlap, the last
    aligned to the song's end."""
    starts = list(range(0, max(n_frames - crop_frames, 0) + 1, crop_frames))
    if starts[-1] + crop_frames < n_frames:
        starts.append(n_frames - crop_frames)
    return starts


def whole_song_inputs(views: Mapping[str, np.ndarray], input_kind: str) -> dict[str, torch.Tensor]:
    """The one input of a song for a model of a whole song: its picture or its statistics,
    with a leading axis of one."""
    if input_kind == "image":
        rgba = seed_image(np.asarray(next(iter(views.values()))))
        return {"image": torch.from_numpy(rgba).permute(2, 0, 1).float().div(255.0)[None]}
    return {"summary": torch.from_numpy(summary_statistics(views))[None]}


def check_input_kind(input_kind: str, crop_frames: int) -> None:
    """Raise ParameterError for an unknown kind, or a crop model without frames (a patch is
    always one column)."""
    if input_kind not in INPUT_KINDS:
        raise ParameterError(f"input_kind must be one of {INPUT_KINDS}, got {input_kind!r}")
    if input_kind == "crop" and crop_frames <= 0:
        raise ParameterError(f"crop_frames must be positive, got {crop_frames}")


def crop_view(view: np.ndarray, start: int, n_frames: int) -> torch.Tensor:
    """(rows, n_frames) float32 from ``start``; past the song's end, the view's minimum."""
    piece = np.array(view[:, start : start + n_frames], dtype=np.float32)
    if piece.shape[1] < n_frames:
        padded = np.full((view.shape[0], n_frames), np.min(view), dtype=np.float32)
        padded[:, : piece.shape[1]] = piece
        piece = padded
    return torch.from_numpy(piece)

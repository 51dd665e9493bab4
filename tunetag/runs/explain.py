"""Which seconds of a song made a run's call: how much each stretch raised or lowered each
class, so a person can hear why a song was called mellow.

A stretch's push is the change in the class's log-odds when the song is scored without it
(leave one out), on the same scoring path as its probabilities:

- a model of **crops** or **patches** averages its parts' probabilities, so leaving one out
  is exact and free from the parts' own scores;
- a model of the song's **statistics** (`auto`, `logreg`) is rescored once per 3 s patch
  with that patch's columns dropped from every view (one batch of summaries);
- the proposal's **picture** model is rescored with each 3 s stretch of its spectrogram
  covered by the spectrogram's floor (occlusion), a batch of pictures.

Positive pushes are the seconds that argued for the class. The log-odds are those of the
song's probability, so pushes of one song add up roughly to how far its parts carried it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.special import log_softmax, logsumexp
from torch import nn

from tunetag.audio.window import window_bounds
from tunetag.config import FeatureConfig
from tunetag.features.patches import spread_patches
from tunetag.features.views import VIEWS
from tunetag.library.tasks import Task
from tunetag.models.inputs import crop_starts, load_views, song_inputs
from tunetag.runs.probabilities import batched_logits

PATCH_S = 3.0  # the per-patch views' stretch (musicnn's 187 frames at 16 kHz, hop 256)
IMAGE_BATCH = 4  # occluded pictures per forward pass (10 MB each)


@dataclass(frozen=True)
class Explanation:
    """How much each stretch of one song pushed each class.

    Attributes
    ----------
    starts_s : numpy.ndarray, shape (stretches,)
        Where each stretch starts, in seconds from the start of the song's file.
    lengths_s : numpy.ndarray, shape (stretches,)
        How long each stretch is, in seconds.
    pushes : dict of str to numpy.ndarray
        Task -> (stretches, outputs): the change in each class's log-odds that the stretch
        makes (positive: it argued for the class).
    """

    starts_s: np.ndarray
    lengths_s: np.ndarray
    pushes: dict[str, np.ndarray]

    def most_telling(self, task: str, output: int) -> int:
        """The stretch that argued most for output ``output`` of ``task``."""
        return int(np.argmax(self.pushes[task][:, output]))

    def as_json(self) -> dict:
        """Plain lists, rounded: what a page or report draws a strip from."""
        return {
            "starts_s": np.round(self.starts_s, 2).tolist(),
            "lengths_s": np.round(self.lengths_s, 2).tolist(),
            "pushes": {task: np.round(push, 3).tolist() for task, push in self.pushes.items()},
        }


@contextlib.contextmanager
def explanation_function(
    model: nn.Module,
    tasks: Sequence[Task],
    features: FeatureConfig,
    *,
    input_kind: str,
    crop_frames: int,
    device: torch.device,
) -> Iterator[Callable[[Mapping[str, Path], float | None], Explanation]]:
    """A function explaining one song at a time: (its cached views, its length in seconds
    or None when unknown) -> `Explanation`. ``model`` is in eval mode inside the block.

    The length places the stretches in the file (the window is cut from the song's
    centre or start) and tells which patches a run that reads fewer than all of them
    read; unknown, the window is taken to start at 0 and to be as long as the views."""
    model.to(device)
    was_training = model.training
    model.eval()

    def explain(views: Mapping[str, Path], duration_s: float | None) -> Explanation:
        arrays = load_views(views)
        with torch.inference_mode():
            if input_kind in ("crop", "patch"):
                found = _parts(model, tasks, arrays, input_kind, crop_frames, features, device)
            else:
                found = _left_out(model, tasks, arrays, input_kind, features, duration_s, device)
        starts, lengths, pushes = found
        return Explanation(starts + window_start(features, duration_s), lengths, pushes)

    try:
        yield explain
    finally:
        model.train(was_training)


def _parts(model, tasks, arrays, input_kind, crop_frames, features, device):
    """Crops or patches: each part's probabilities once; leaving part k out of the mean."""
    inputs = song_inputs(arrays, input_kind, crop_frames)
    logits = _logits(model, tasks, inputs, device, batch=32)
    if input_kind == "patch":
        starts = np.arange(len(next(iter(inputs.values())))) * PATCH_S
        lengths = np.full(len(starts), PATCH_S)
    else:
        per_second = features.frames_per_second()
        frames = min(view.shape[1] for view in arrays.values())
        starts = np.asarray(crop_starts(frames, crop_frames)) / per_second
        lengths = np.full(len(starts), min(crop_frames, frames) / per_second)
    pushes = {}
    for task in tasks:
        held, left = log_probabilities(logits[task.name], task.multilabel)
        whole = _log_mean(held) - _log_mean(left)
        without = np.stack(
            [_log_mean(np.delete(held, k, 0)) - _log_mean(np.delete(left, k, 0)) for k in
             range(len(held))]
        )  # fmt: skip
        pushes[task.name] = pushes_of(whole, without)
    return starts, lengths, pushes


def _left_out(model, tasks, arrays, input_kind, features, duration_s, device):
    """Statistics or picture: the song rescored once per 3 s stretch, without it."""
    starts, rows = stretches_left_out(arrays, features, duration_s, cover=input_kind == "image")
    batch = IMAGE_BATCH if input_kind == "image" else len(rows) + 1
    whole = _logits(model, tasks, song_inputs(arrays, input_kind, 0), device, batch)
    inputs = [song_inputs(views, input_kind, 0) for views in rows]
    stacked = {name: torch.cat([one[name] for one in inputs]) for name in inputs[0]}
    without = _logits(model, tasks, stacked, device, batch)
    pushes = {
        task.name: pushes_of(
            log_odds(whole[task.name], task.multilabel)[0],
            log_odds(without[task.name], task.multilabel),
        )
        for task in tasks
    }
    return starts, np.full(len(starts), PATCH_S), pushes


def stretches_left_out(
    arrays: Mapping[str, np.ndarray],
    features: FeatureConfig,
    duration_s: float | None,
    *,
    cover: bool = False,
) -> tuple[np.ndarray, list[dict[str, np.ndarray]]]:
    """Where each 3 s stretch that some view reads starts in the window (seconds), and the
    song's views without it: its columns dropped, or with ``cover`` set to each view's
    floor (a picture keeps its width). A run reading 12 patches of a window has 12."""
    stretches = _stretch_columns(arrays, features, duration_s)
    leave = _covered if cover else _dropped
    starts = np.array([k * PATCH_S for k in stretches], dtype=float)
    return starts, [leave(arrays, columns) for columns in stretches.values()]


def pushes_of(whole: np.ndarray, without: np.ndarray) -> np.ndarray:
    """(stretches, outputs) change in log-odds each stretch makes: the song's log-odds
    ``whole`` (outputs,) against its log-odds without each stretch (0 for an output whose
    log-odds are infinite either way: a class the model never gives, or always)."""
    with np.errstate(invalid="ignore"):
        pushes = whole[None, :] - without
    return np.where(np.isfinite(pushes), pushes, 0.0)


def log_odds(logits: np.ndarray, multilabel: bool) -> np.ndarray:
    """Each output's log-odds from a model's logits (rows, outputs), float64."""
    held, left = log_probabilities(logits, multilabel)
    with np.errstate(invalid="ignore"):
        return held - left


def log_probabilities(logits: np.ndarray, multilabel: bool) -> tuple[np.ndarray, np.ndarray]:
    """log p and log (1 - p) of each output (softmax, or a sigmoid per output), computed
    from the logits so that a song called with p = 1 - 1e-12 still has finite log-odds
    (a probability rounds to 1 long before its log-odds stop growing)."""
    logits = np.asarray(logits, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if multilabel:
            return -np.logaddexp(0.0, -logits), -np.logaddexp(0.0, logits)
        held = log_softmax(logits, axis=1)
        others = np.where(np.eye(logits.shape[1], dtype=bool), -np.inf, held[:, None, :])
        return held, logsumexp(others, axis=2)


def _log_mean(logs: np.ndarray) -> np.ndarray:
    """log of the mean over rows of exp(``logs``): a song's probability from its parts'."""
    with np.errstate(divide="ignore"):
        return logsumexp(logs, axis=0) - np.log(len(logs))


def _stretch_columns(arrays, features, duration_s) -> dict[int, dict[str, np.ndarray]]:
    """3 s stretch index -> per view, the columns of that stretch (stretches that no view
    reads are absent: a run reading 12 patches of a window explains those 12)."""
    per_second = features.frames_per_second()
    analysed = _analysed_seconds(arrays, features, duration_s, per_second)
    found: dict[int, dict[str, np.ndarray]] = {}
    for name, view in arrays.items():
        columns = view.shape[1]
        if VIEWS[name].per_patch:
            count = max(columns, int(analysed // PATCH_S))
            chosen = spread_patches(count, columns if columns < count else None)
            stretch = np.arange(columns) if chosen is None else chosen
        else:
            stretch = (np.arange(columns) / per_second // PATCH_S).astype(int)
        for k in np.unique(stretch):
            found.setdefault(int(k), {})[name] = np.flatnonzero(stretch == k)
    return dict(sorted(found.items()))


def _dropped(arrays, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The views without the given columns (a view left with none stays whole)."""
    kept = {}
    for name, view in arrays.items():
        drop = columns.get(name)
        if drop is None or len(drop) >= view.shape[1]:
            kept[name] = view
        else:
            kept[name] = np.delete(np.asarray(view), drop, axis=1)
    return kept


def _covered(arrays, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The views with the given columns set to each view's floor (its quietest value)."""
    covered = {}
    for name, view in arrays.items():
        view = np.array(view)
        if name in columns:
            view[:, columns[name]] = view.min()
        covered[name] = view
    return covered


def _logits(model, tasks, inputs, device, batch: int) -> dict[str, np.ndarray]:
    """Logits of each row of ``inputs`` (a part, or a whole song), float64."""
    found: dict[str, list[np.ndarray]] = {task.name: [] for task in tasks}
    for logits in batched_logits(model, inputs, device, batch):
        for task in tasks:
            found[task.name].append(logits[task.name].double().cpu().numpy())
    return {name: np.concatenate(parts) for name, parts in found.items()}


def _analysed_seconds(arrays, features, duration_s, per_second) -> float:
    """Seconds of the window the views were computed from."""
    if duration_s is not None:
        return min(float(duration_s), features.audio.window_s)
    framed = [v.shape[1] for name, v in arrays.items() if not VIEWS[name].per_patch]
    if framed:
        return min(framed) / per_second
    return max(v.shape[1] for v in arrays.values()) * PATCH_S


def window_start(features: FeatureConfig, duration_s: float | None) -> float:
    """Where the analysed window starts in the file (0 when the length is unknown)."""
    if duration_s is None:
        return 0.0
    audio = features.audio
    return window_bounds(float(duration_s), audio.window_s, audio.window_position)[0]

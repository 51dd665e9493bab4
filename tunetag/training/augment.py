"""Augmentation of a batch of training crops: random gain, SpecAugment masks and mixup.

A batch is a dict view name -> float32 tensor (batch, 1, rows, frames) whose views share one
time grid (frame t is the same instant in every view), or (batch, rows) for a 3 s patch of a
per-patch view: features of a whole patch, not in dB and with no time or neighbouring rows,
so gain and masks pass it through and only mixup mixes it. Every function draws its
randomness from the ``torch.Generator`` it is given, so a seeded run is reproducible, and
returns new tensors without modifying its inputs (a view it does not change is passed
through as is). Random draws are made on the generator's device and moved to the batch's,
so a CPU generator serves a batch on any device.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from tunetag.config import TrainConfig
from tunetag.errors import ParameterError
from tunetag.features.views import VIEWS

MIN_ROWS_FOR_ROW_MASK = 5  # views with fewer rows (the 3-row waveform) get no row mask


def random_gain(batch: Mapping[str, Tensor], max_db: float, generator: torch.Generator) -> dict:
    """Change each example's level by a random gain, as a quieter or louder master would.

    One gain per example is drawn uniformly in [-max_db, +max_db] dB and added to every view
    in dB (`tunetag.features.views.View.in_db`) present in the batch: the same gain to each,
    since it is one change of level. Level-invariant views (chroma, tempogram) are passed
    through untouched.

    Parameters
    ----------
    batch : mapping of str to Tensor
        View name -> (batch, 1, rows, frames); dB views in dB re full scale.
    max_db : float
        Largest gain in dB, 0 or more; 0 returns the batch unchanged.
    generator : torch.Generator
        Source of the random gains.

    Returns
    -------
    dict of str to Tensor
        The batch with its dB views shifted.

    Raises
    ------
    ParameterError
        If ``max_db`` is negative.
    """
    if max_db < 0:
        raise ParameterError(f"random_gain: max_db must be 0 or more, got {max_db}")
    out = dict(batch)
    if max_db == 0 or not batch:
        return out
    n = _batch_size(batch)
    gain_db = (torch.rand(n, generator=generator, device=generator.device) * 2 - 1) * max_db
    for view in [name for name in out if VIEWS[name].in_db]:
        x = out[view]
        out[view] = x + gain_db.to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)
    return out


def mask_time_and_rows(
    batch: Mapping[str, Tensor],
    time_masks: int,
    row_masks: int,
    max_fraction: float,
    generator: torch.Generator,
) -> dict:
    """SpecAugment (Park et al., 2019) for several views that share one time grid.

    Each example gets ``time_masks`` spans of frames hidden, at the same frames in every view
    (one instant is hidden from every view), and, in every view with at least
    `MIN_ROWS_FOR_ROW_MASK` rows, ``row_masks`` spans of rows (mel bands, pitch classes,
    lags) hidden; views with fewer rows, like the 3-row waveform envelope, get no row mask.
    Each span's width is drawn uniformly in [0, floor(max_fraction * length)] frames or rows
    and its start uniformly where it fits. Masked cells take the example's mean value of
    that view (computed before masking), because the views are not zero-centred. A patch of
    a per-patch view, (batch, rows), is passed through unmasked.

    Parameters
    ----------
    batch : mapping of str to Tensor
        View name -> (batch, 1, rows, frames), all with the same batch size and frames.
    time_masks : int
        Spans of frames hidden per example, 0 or more.
    row_masks : int
        Spans of rows hidden per example in each view, 0 or more.
    max_fraction : float
        Widest span as a share of the crop's frames or of the view's rows, in [0, 1).
    generator : torch.Generator
        Source of the widths and positions.

    Returns
    -------
    dict of str to Tensor
        The masked batch; with no mask asked for, the batch unchanged.

    Raises
    ------
    ParameterError
        For a negative mask count, ``max_fraction`` outside [0, 1), or views whose batch
        sizes or frames differ.
    """
    if time_masks < 0 or row_masks < 0:
        raise ParameterError(
            f"mask_time_and_rows: mask counts must be 0 or more, got {time_masks}, {row_masks}"
        )
    if not 0 <= max_fraction < 1:
        raise ParameterError(
            f"mask_time_and_rows: max_fraction must be in [0, 1), got {max_fraction}"
        )
    out = dict(batch)
    framed = {view: x for view, x in batch.items() if x.dim() == 4}  # not (batch, rows)
    if (time_masks == 0 and row_masks == 0) or not framed:
        return out
    n = _batch_size(framed)
    frames = {x.shape[-1] for x in framed.values()}
    if len(frames) != 1:
        raise ParameterError(f"mask_time_and_rows: views must share their frames, got {frames}")
    time_hidden = _random_spans(n, frames.pop(), time_masks, max_fraction, generator)
    for view, x in framed.items():
        hidden = time_hidden.to(x.device).view(n, 1, 1, -1)
        rows = x.shape[2]
        if row_masks and rows >= MIN_ROWS_FOR_ROW_MASK:
            row_hidden = _random_spans(n, rows, row_masks, max_fraction, generator)
            hidden = hidden | row_hidden.to(x.device).view(n, 1, rows, 1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        out[view] = torch.where(hidden, mean, x)
    return out


def mixup(
    batch: Mapping[str, Tensor],
    targets: Mapping[str, Tensor],
    alpha: float,
    generator: torch.Generator,
) -> tuple[dict, dict]:
    """Mixup (Zhang et al., 2018): train on convex combinations of pairs of examples.

    One lambda ~ Beta(alpha, alpha) is drawn per batch, and one permutation of the batch
    pairs each example with another; every view becomes ``lam * x + (1 - lam) * x[perm]``
    and every target ``lam * t + (1 - lam) * t[perm]``. torch samples Beta only from its
    global generator, so lambda is drawn inside ``torch.random.fork_rng`` from the CPU
    default generator seeded with an integer drawn from ``generator``: reproducible, and the
    global random state is left as it was.

    Parameters
    ----------
    batch : mapping of str to Tensor
        View name -> (batch, 1, rows, frames).
    targets : mapping of str to Tensor
        Task -> soft targets, float (batch, n_outputs): one-hot rows for single-label tasks,
        multi-hot rows for multi-label ones; a row of NaN marks a song unlabelled for the
        task. A pair where either song is unlabelled mixes to NaN (still unlabelled), since
        NaN propagates through the sum.
    alpha : float
        Beta concentration, 0 or more; 0 returns the inputs unchanged. Small values (0.2)
        keep most mixes close to one of the pair.
    generator : torch.Generator
        Source of lambda and of the permutation.

    Returns
    -------
    tuple of dict
        The mixed batch and the mixed targets.

    Raises
    ------
    ParameterError
        For a negative ``alpha``, integer targets, or views and targets of different batch
        sizes.
    """
    if alpha < 0:
        raise ParameterError(f"mixup: alpha must be 0 or more, got {alpha}")
    if alpha == 0 or not batch:
        return dict(batch), dict(targets)
    n = _batch_size(batch)
    for task, t in targets.items():
        if not t.is_floating_point():
            raise ParameterError(
                f"mixup: targets of task {task!r} must be float (soft), got {t.dtype}"
            )
        if t.shape[0] != n:
            raise ParameterError(f"mixup: task {task!r} has {t.shape[0]} targets for {n} examples")
    lam = _beta_sample(alpha, generator)
    perm = torch.randperm(n, generator=generator, device=generator.device)

    def mix(x: Tensor) -> Tensor:
        return lam * x + (1 - lam) * x[perm.to(x.device)]

    return {view: mix(x) for view, x in batch.items()}, {t: mix(y) for t, y in targets.items()}


def augment_batch(
    batch: Mapping[str, Tensor],
    targets: Mapping[str, Tensor],
    config: TrainConfig,
    generator: torch.Generator,
) -> tuple[dict, dict]:
    """Apply the augmentations switched on in ``config``: gain, then masks, then mixup.

    Parameters
    ----------
    batch : mapping of str to Tensor
        View name -> (batch, 1, rows, frames) training crops on one time grid.
    targets : mapping of str to Tensor
        Task -> soft targets, float (batch, n_outputs), NaN rows for unlabelled songs
        (see `mixup`); passed through untouched unless mixup is on.
    config : TrainConfig
        Reads ``augment_gain_db``, ``augment_time_masks``, ``augment_freq_masks``,
        ``augment_mask_fraction`` and ``mixup_alpha``.
    generator : torch.Generator
        Source of every random draw.

    Returns
    -------
    tuple of dict
        The augmented batch and targets.
    """
    out = random_gain(batch, config.augment_gain_db, generator)
    out = mask_time_and_rows(
        out,
        config.augment_time_masks,
        config.augment_freq_masks,
        config.augment_mask_fraction,
        generator,
    )
    return mixup(out, targets, config.mixup_alpha, generator)


def _batch_size(batch: Mapping[str, Tensor]) -> int:
    """The shared batch size of every view; ParameterError if they differ."""
    sizes = {x.shape[0] for x in batch.values()}
    if len(sizes) != 1:
        raise ParameterError(f"augment: views must share their batch size, got {sizes}")
    return sizes.pop()


def _random_spans(
    n: int, length: int, count: int, max_fraction: float, generator: torch.Generator
) -> Tensor:
    """Boolean (n, length): ``count`` random spans per example, each at most
    ``floor(max_fraction * length)`` long, on the generator's device."""
    device = generator.device
    widest = int(max_fraction * length)
    positions = torch.arange(length, device=device)
    hidden = torch.zeros(n, length, dtype=torch.bool, device=device)
    for _ in range(count):
        width = torch.randint(0, widest + 1, (n,), generator=generator, device=device)
        room = (length - width + 1).to(torch.float32)
        start = (torch.rand(n, generator=generator, device=device) * room).long()
        start = torch.minimum(start, length - width)
        hidden |= (positions >= start[:, None]) & (positions < (start + width)[:, None])
    return hidden


def _beta_sample(alpha: float, generator: torch.Generator) -> float:
    """One draw of Beta(alpha, alpha), reproducible from ``generator`` (see `mixup`)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        concentration = torch.tensor(float(alpha), dtype=torch.float64)
        return float(torch.distributions.Beta(concentration, concentration).sample())

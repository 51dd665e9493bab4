"""Train a network on crops of songs and score it on whole songs."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from tunetag.config import TrainConfig
from tunetag.errors import ParameterError
from tunetag.library.tasks import Task
from tunetag.models.logreg import IGNORE_INDEX
from tunetag.runtime import distributed
from tunetag.training.augment import augment_batch
from tunetag.training.checkpoint import StageCheckpoint, random_state, restore_random_state
from tunetag.training.datasets import (
    SongExample,
    TrainCrops,
    load_views,
    song_inputs,
    summary_statistics,
)

EPSILON = 1e-12  # floor of a probability before its logarithm
RANK_SEED_STRIDE = 1_000_003  # seeds of dropout and augmentation of rank r: seed + r * this


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


@dataclass
class FitResult:
    """What `fit` leaves: one history row per epoch and the best epoch's weights.

    ``best_state`` is a CPU copy of the ``state_dict`` of the epoch with the lowest
    validation loss (``best_epoch``, counted from 1), or of the last epoch when there is no
    validation song; the model itself ends with the last epoch's weights.
    """

    history: list[dict[str, float]]
    best_state: dict[str, torch.Tensor]
    best_epoch: int


def fit(
    model: nn.Module,
    tasks: Sequence[Task],
    train_examples: Sequence[SongExample],
    val_examples: Sequence[SongExample],
    *,
    input_kind: str,
    crop_frames: int,
    config: TrainConfig,
    class_weights: Mapping[str, torch.Tensor] | None = None,
    device: torch.device | None = None,
    progress: bool = True,
    checkpoint: StageCheckpoint | None = None,
) -> FitResult:
    """Train on random crops; keep the epoch that scores whole songs best.

    The loss is the sum over tasks of cross-entropy (single-label) or binary cross-entropy
    (multi-label), each over the songs labelled for that task. Training crops are augmented
    as ``config`` says (gain, masks, mixup). After each epoch every validation song is
    scored whole by `predict_songs`; training stops after ``config.patience`` epochs
    without a lower validation loss. A ``"summary"`` model is fitted in closed form instead
    (one history row). On a GPU, forward passes run in mixed precision (`autocast_dtype`).

    Inside a process group (`tunetag.runtime.distributed`, opened by `train` under
    torchrun) every process calls `fit` with the same arguments: each trains on its own
    shard of each epoch's crops, ``batch_size / processes`` (rounded up) a step, gradients
    averaged by DDP, scores its share of the validation songs, and all keep rank 0's
    history row, so all stop at the same epoch with the same weights. A ``"summary"`` model
    is fitted by rank 0 and its weights sent to the others. Only rank 0 shows progress.

    Parameters
    ----------
    model : torch.nn.Module
        A network from `tunetag.models.create`; trained in place on ``device``.
    tasks : sequence of Task
        The tasks, in the order of the model's heads.
    train_examples, val_examples : sequence of SongExample
        Training and validation songs; ``val_examples`` may be empty (the last epoch is
        kept). Each training song is labelled for at least one task.
    input_kind : {"crop", "image", "summary"}
        The model's ``input_kind``.
    crop_frames : int
        Frames per crop (see `tunetag.training.datasets.crop_frames`).
    config : TrainConfig
        With ``batch_size`` and ``learning_rate`` resolved (not None).
    class_weights : mapping of str to torch.Tensor, optional
        Per task: class weights (single-label) or positive weights (multi-label), one per
        output.
    device : torch.device, optional
        Where to train; default `pick_device`.
    progress : bool
        Show a bar per epoch and a summary line per epoch.
    checkpoint : StageCheckpoint, optional
        Where the state after each whole epoch is saved; a state found there is restored
        first (`tunetag.training.checkpoint`), so the result is the uninterrupted one.

    Returns
    -------
    FitResult
        History rows with ``epoch``, ``train_loss``, ``val_loss``, ``train_acc_<task>``
        (crop-level) and ``val_acc_<task>`` (song-level; hamming accuracy for multi-label
        tasks; NaN without validation songs), the best state and the best epoch.

    Raises
    ------
    ParameterError
        For inconsistent arguments, or when the loss stops being finite (diverged).
    """
    _check_fit_arguments(tasks, train_examples, val_examples, config)
    device = device or pick_device()
    world = distributed.active_world()
    progress = progress and world.writes_files
    rank_seed = config.seed + RANK_SEED_STRIDE * world.rank
    torch.manual_seed(rank_seed)
    model.to(device)
    weights = _checked_weights(class_weights or {}, tasks, device)
    if input_kind == "summary":
        return _fit_summaries(model, tasks, train_examples, val_examples, config.seed, device)
    dataset = TrainCrops(
        train_examples,
        [task.name for task in tasks],
        input_kind,
        crop_frames,
        config.crops_per_song,
        config.seed,
    )
    loader = _loader(dataset, config, device, world)
    unlabelled = any(np.isnan(ex.targets[t.name]).any() for ex in train_examples for t in tasks)
    trained = distributed.wrap(model, device, some_heads_idle=unlabelled)
    augment_rng = torch.Generator().manual_seed(rank_seed + 1)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    dtype = autocast_dtype(device)
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    history: list[dict[str, float]] = []
    best_loss, best_epoch, best_state = math.inf, 0, {}
    start, stopped = 1, False
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is not None:
        history, best_loss, best_epoch, best_state, stopped = _restore(
            saved, model, optimizer, scaler, augment_rng, loader, device
        )
        start = len(history) + 1
    for epoch in range(start, config.epochs + 1) if not stopped else ():
        dataset.set_epoch(epoch)
        if isinstance(loader.sampler, distributed.EpochShards):
            loader.sampler.set_epoch(epoch)
        bar = tqdm(loader, desc=f"epoch {epoch}/{config.epochs}", leave=False, disable=not progress)
        row: dict[str, float] = {"epoch": epoch}
        row.update(
            _train_epoch(
                trained, bar, tasks, weights, optimizer, config, augment_rng, device, scaler
            )
        )
        distributed.broadcast_buffers(model)
        row.update(
            _validate(
                model, tasks, val_examples, input_kind, crop_frames, config.batch_size, device
            )
        )
        row = distributed.broadcast_object(row)
        history.append(row)
        if progress:
            tqdm.write(_summary(row, config.epochs))
        if not math.isfinite(row["train_loss"]) or (
            val_examples and not math.isfinite(row["val_loss"])
        ):
            raise ParameterError(
                f"training diverged at epoch {epoch} (loss {row['train_loss']}); "
                f"lower learning_rate (now {config.learning_rate})"
            )
        if not val_examples or row["val_loss"] < best_loss:
            best_loss, best_epoch = row["val_loss"], epoch
            best_state = _cpu_state(model)
        stop = epoch - best_epoch >= config.patience
        if checkpoint is not None:
            checkpoint.save(
                {
                    "model": best_state if best_epoch == epoch else _cpu_state(model),
                    "optimizer": optimizer.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else {},
                    "augment_rng": augment_rng.get_state(),
                    "loader_rng": loader.generator.get_state() if loader.generator else None,
                    "random": random_state(device),
                    "history": history,
                    "best_loss": best_loss,
                    "best_epoch": best_epoch,
                    "best_state": best_state if best_epoch != epoch else None,
                    "stopped": stop or epoch == config.epochs,
                }
            )
        if stop:
            break
    return FitResult(history=history, best_state=best_state, best_epoch=best_epoch)


def _restore(
    saved: dict,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    augment_rng: torch.Generator,
    loader: DataLoader,
    device: torch.device,
) -> tuple[list[dict[str, float]], float, int, dict[str, torch.Tensor], bool]:
    """Put back the state `fit` saved after an epoch; its history, best loss, best epoch,
    best weights and whether it had stopped."""
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    if scaler is not None and saved["scaler"]:
        scaler.load_state_dict(saved["scaler"])
    augment_rng.set_state(saved["augment_rng"])
    if loader.generator is not None and saved["loader_rng"] is not None:
        loader.generator.set_state(saved["loader_rng"])
    restore_random_state(saved["random"], device)
    best_state = saved["best_state"] if saved["best_state"] is not None else saved["model"]
    history = list(saved["history"])
    return history, saved["best_loss"], saved["best_epoch"], best_state, saved["stopped"]


def _loader(
    dataset: TrainCrops, config: TrainConfig, device: torch.device, world: distributed.World
) -> DataLoader:
    """Batches of crops in a new order each epoch: all of them for a single process, this
    rank's `distributed.shard` of them (and its part of each step's batch) under torchrun.

    A last batch of one crop is dropped (batch norm cannot train on it).
    """
    if world.distributed:
        sampler = distributed.EpochShards(len(dataset), world, config.seed)
        batch_size = distributed.rank_batch_size(config.batch_size, world)
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            num_workers=0,
            drop_last=len(sampler) > 1 and len(sampler) % batch_size == 1,
            pin_memory=device.type == "cuda",
        )
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=True,
        num_workers=0,
        generator=torch.Generator().manual_seed(config.seed),
        drop_last=len(dataset) > 1 and len(dataset) % config.batch_size == 1,
        pin_memory=device.type == "cuda",
    )


def predict_songs(
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
    with song_scorer(model, tasks, device=device, **options) as score:
        found = [
            score(views)
            for views in tqdm(songs, desc="scoring", unit="song", leave=False, disable=not progress)
        ]
    return {task.name: np.stack([song[task.name] for song in found]) for task in tasks}


@contextlib.contextmanager
def song_scorer(
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
    probabilities averaged over its crops, as a row of `predict_songs`. Arguments as there.
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
            for start in range(0, n_crops, batch_size):
                chunk = {k: v[start : start + batch_size].to(device) for k, v in inputs.items()}
                with autocast(device):
                    logits = model(chunk)
                for task in tasks:
                    probs = _probabilities(logits[task.name], task)
                    sums[task.name] = sums[task.name] + probs.sum(0)
            return {task.name: (sums[task.name] / n_crops).cpu().numpy() for task in tasks}

    try:
        yield score
    finally:
        model.train(was_training)


def predict_songs_across_ranks(
    model: nn.Module,
    songs: Sequence[Mapping[str, Path]],
    tasks: Sequence[Task],
    *,
    input_kind: str,
    crop_frames: int,
    device: torch.device | None = None,
    batch_size: int = 32,
) -> dict[str, np.ndarray]:
    """`predict_songs`, shared among the processes of a torchrun job.

    Rank r scores songs r, r + processes, ... and every rank gets the probabilities of
    every song, in the order of ``songs``. For a single process it is `predict_songs`.
    Every rank must hold the same weights (see `distributed.broadcast_buffers`).

    Parameters
    ----------
    model, songs, tasks, input_kind, crop_frames, device, batch_size
        As for `predict_songs`.

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
        return predict_songs(model, songs, tasks, **options)
    mine = list(songs[world.rank :: world.size])
    found = (
        predict_songs(model, mine, tasks, **options)
        if mine
        else {task.name: np.empty((0, task.n_outputs)) for task in tasks}
    )
    merged = {task.name: np.empty((len(songs), task.n_outputs)) for task in tasks}
    for rank, part in enumerate(distributed.gather_objects(found)):
        for name, rows in part.items():
            merged[name][rank :: world.size] = rows
    return merged


def _probabilities(logits: torch.Tensor, task: Task) -> torch.Tensor:
    logits = logits.double()
    return torch.sigmoid(logits) if task.multilabel else F.softmax(logits, dim=1)


def _check_fit_arguments(
    tasks: Sequence[Task],
    train_examples: Sequence[SongExample],
    val_examples: Sequence[SongExample],
    config: TrainConfig,
) -> None:
    if not tasks:
        raise ParameterError("at least one task is needed")
    if not train_examples:
        raise ParameterError("no training songs")
    if config.batch_size is None or config.learning_rate is None:
        raise ParameterError("fit needs a resolved batch_size and learning_rate")
    if config.patience <= 0:
        raise ParameterError("patience must be positive")
    for example in [*train_examples, *val_examples]:
        for task in tasks:
            target = example.targets.get(task.name)
            if target is not None and target.shape != (task.n_outputs,):
                raise ParameterError(
                    f"{example.view_paths}: target of {task.name!r} has shape "
                    f"{target.shape}, expected ({task.n_outputs},)"
                )
    for example in train_examples:
        if all(np.isnan(example.targets[task.name]).all() for task in tasks):
            raise ParameterError(f"{example.view_paths}: no label for any task")


def _checked_weights(
    weights: Mapping[str, torch.Tensor], tasks: Sequence[Task], device: torch.device
) -> dict[str, torch.Tensor]:
    outputs = {task.name: task.n_outputs for task in tasks}
    for name, w in weights.items():
        if w.shape != (outputs.get(name, -1),):
            raise ParameterError(
                f"class_weights[{name!r}] has shape {tuple(w.shape)}, "
                f"expected ({outputs.get(name, 'no such task')},)"
            )
    return {name: w.to(device, torch.float32) for name, w in weights.items()}


def task_loss(
    logits: torch.Tensor, target: torch.Tensor, task: Task, weight: torch.Tensor | None
) -> torch.Tensor | None:
    """The task's loss over the songs labelled for it (target rows without NaN); None when
    no song of the batch is."""
    known = ~torch.isnan(target).any(dim=1)
    if not bool(known.any()):
        return None
    logits, target = logits[known], target[known]
    if task.multilabel:
        return F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight)
    return F.cross_entropy(logits, target, weight=weight)


def _train_epoch(
    model: nn.Module,
    batches,
    tasks: Sequence[Task],
    weights: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    augment_rng: torch.Generator,
    device: torch.device,
    scaler: torch.amp.GradScaler | None,
) -> dict[str, float]:
    """One pass over the crops: the mean loss per crop and crop-level accuracy per task,
    over every process's crops. The loss is computed in float32 whatever the forward pass
    ran in; ``scaler`` (float16 only) keeps small gradients from underflowing."""
    model.train()
    loss_sum, n_seen = 0.0, 0
    correct = dict.fromkeys((task.name for task in tasks), 0.0)
    labelled = dict.fromkeys((task.name for task in tasks), 0)
    for inputs, targets in batches:
        inputs, targets = augment_batch(inputs, targets, config, augment_rng)
        inputs = {k: v.to(device, non_blocking=True) for k, v in inputs.items()}
        targets = {k: v.to(device, non_blocking=True) for k, v in targets.items()}
        with autocast(device):
            outputs = model(inputs)
        outputs = {name: logits.float() for name, logits in outputs.items()}
        loss = torch.zeros((), device=device)
        for task in tasks:
            found = task_loss(outputs[task.name], targets[task.name], task, weights.get(task.name))
            if found is None:
                continue
            loss = loss + found
            n_correct, n_known = _agreement(outputs[task.name], targets[task.name], task)
            correct[task.name] += n_correct
            labelled[task.name] += n_known
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        batch = len(next(iter(targets.values())))
        loss_sum += float(loss.detach()) * batch
        n_seen += batch
    names = list(correct)
    totals = distributed.sum_over_ranks(
        [loss_sum, n_seen, *(correct[n] for n in names), *(labelled[n] for n in names)]
    )
    loss_sum, n_seen = totals[0], totals[1]
    correct = dict(zip(names, totals[2 : 2 + len(names)], strict=True))
    labelled = dict(zip(names, totals[2 + len(names) :], strict=True))
    row = {"train_loss": loss_sum / max(n_seen, 1)}
    for name in names:
        row[f"train_acc_{name}"] = correct[name] / labelled[name] if labelled[name] else math.nan
    return row


def _agreement(logits: torch.Tensor, target: torch.Tensor, task: Task) -> tuple[float, int]:
    """Correct predictions among the labelled rows (argmax, or every label at 0.5)."""
    known = ~torch.isnan(target).any(dim=1)
    logits, target = logits[known].detach(), target[known]
    if task.multilabel:
        return float(((logits > 0) == (target > 0.5)).float().mean(dim=1).sum()), len(target)
    return float((logits.argmax(dim=1) == target.argmax(dim=1)).sum()), len(target)


def _validate(
    model: nn.Module,
    tasks: Sequence[Task],
    examples: Sequence[SongExample],
    input_kind: str,
    crop_frames: int,
    batch_size: int,
    device: torch.device,
) -> dict[str, float]:
    if not examples:
        return {"val_loss": math.nan} | {f"val_acc_{task.name}": math.nan for task in tasks}
    probabilities = predict_songs_across_ranks(
        model,
        [example.view_paths for example in examples],
        tasks,
        input_kind=input_kind,
        crop_frames=crop_frames,
        device=device,
        batch_size=batch_size,
    )
    return song_scores(probabilities, examples, tasks)


def song_scores(
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


def _fit_summaries(
    model: nn.Module,
    tasks: Sequence[Task],
    train_examples: Sequence[SongExample],
    val_examples: Sequence[SongExample],
    seed: int,
    device: torch.device,
) -> FitResult:
    """Closed-form fit of a ``"summary"`` model; one history row, scored like an epoch.

    Under torchrun rank 0 fits (there are no gradients to share) and sends the weights to
    the others; the scoring is shared.
    """
    world = distributed.active_world()
    if world.writes_files:
        x = np.stack([summary_statistics(load_views(ex.view_paths)) for ex in train_examples])
        targets = {}
        for task in tasks:
            truth = np.stack([ex.targets[task.name] for ex in train_examples])
            unknown = np.isnan(truth).any(axis=1)
            targets[task.name] = (
                truth if task.multilabel else np.where(unknown, IGNORE_INDEX, truth.argmax(1))
            )
        model.fit_summaries(x, targets, {task.name: task.multilabel for task in tasks}, seed=seed)
    if world.distributed:
        model.load_state_dict(distributed.broadcast_object(_cpu_state(model)))
    model.to(device)
    on_train = _validate(model, tasks, train_examples, "summary", 1, 64, device)
    row = {"epoch": 1, "train_loss": on_train["val_loss"]}
    row |= {f"train_acc_{t.name}": on_train[f"val_acc_{t.name}"] for t in tasks}
    row |= _validate(model, tasks, val_examples, "summary", 1, 64, device)
    row = distributed.broadcast_object(row)
    return FitResult(history=[row], best_state=_cpu_state(model), best_epoch=1)


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's ``state_dict`` on the CPU."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _summary(row: dict[str, float], epochs: int) -> str:
    """One line per epoch: losses, then accuracies."""
    parts = [
        f"epoch {row['epoch']}/{epochs}",
        f"train loss {row['train_loss']:.4f}",
        f"val loss {row['val_loss']:.4f}",
    ]
    parts += [f"{key} {value:.3f}" for key, value in row.items() if "_acc_" in key]
    return "  ".join(parts)

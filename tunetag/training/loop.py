"""Train a network on crops of songs, keeping the epoch that scores whole songs best.

`fit` reads top to bottom: check, build the crops and the training state, restore it from a
checkpoint, then one epoch after another (train, validate, keep the best, save). Models of
whole-song summaries are fitted in closed form on their own path (`tunetag.training.summaries`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from torch.utils.data import DataLoader

from tunetag.config import TrainConfig
from tunetag.errors import ParameterError
from tunetag.library.tasks import Task
from tunetag.runs.probabilities import autocast, autocast_dtype, pick_device
from tunetag.runtime import distributed
from tunetag.runtime.progress import progress_bar, progress_write
from tunetag.training.augment import augment_batch
from tunetag.training.checkpoint import StageCheckpoint, random_state, restore_random_state
from tunetag.training.datasets import SongExample, TrainCrops
from tunetag.training.results import FitResult
from tunetag.training.summaries import fit_summaries
from tunetag.training.validation import cpu_state, validate

RANK_SEED_STRIDE = 1_000_003  # seeds of dropout and augmentation of rank r: seed + r * this


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
    scored whole by `song_probabilities`; training stops after ``config.patience`` epochs
    without a lower validation loss. A ``"summary"`` model takes its own path,
    `tunetag.training.summaries.fit_summaries` (closed form, one history row). On a GPU,
    forward passes run in mixed precision (`autocast_dtype`).

    Inside a process group (`tunetag.runtime.distributed`, opened by `train` under
    torchrun) every process calls `fit` with the same arguments: each trains on its own
    shard of each epoch's crops, ``batch_size / processes`` (rounded up) a step, gradients
    averaged by DDP, scores its share of the validation songs, and all keep rank 0's
    history row, so all stop at the same epoch with the same weights. Only rank 0 shows
    progress.

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
    weights = _checked_weights(class_weights or {}, tasks, device)
    if input_kind == "summary":
        return fit_summaries(
            model, tasks, train_examples, val_examples, config.seed, device, config.time_budget_s
        )
    world = distributed.active_world()
    progress = progress and world.writes_files
    rank_seed = config.seed + RANK_SEED_STRIDE * world.rank
    torch.manual_seed(rank_seed)
    model.to(device)
    names = [task.name for task in tasks]
    dataset = TrainCrops(
        train_examples, names, input_kind, crop_frames, config.crops_per_song, config.seed
    )
    loader = _loader(dataset, config, device, world)
    unlabelled = any(np.isnan(ex.targets[t.name]).any() for ex in train_examples for t in tasks)
    trained = distributed.wrap(model, device, some_heads_idle=unlabelled)
    state = _TrainingState(model, config, device, loader, augment_seed=rank_seed + 1)
    if checkpoint is not None and (saved := checkpoint.load()) is not None:
        state.load_state_dict(saved)
    for epoch in range(len(state.history) + 1, config.epochs + 1):
        if state.stopped:
            break
        dataset.set_epoch(epoch)
        if isinstance(loader.sampler, distributed.EpochShards):
            loader.sampler.set_epoch(epoch)
        bar = progress_bar(
            loader,
            desc=f"epoch {epoch}/{config.epochs}",
            unit="batch",
            leave=False,
            disable=not progress,
        )
        row: dict[str, float] = {"epoch": epoch}
        row |= _train_epoch(trained, bar, tasks, weights, state, config, device)
        distributed.broadcast_buffers(model)
        row |= validate(
            model, tasks, val_examples, input_kind, crop_frames, config.batch_size, device
        )
        row = distributed.broadcast_object(row)
        if progress:
            progress_write(_summary(row, config.epochs))
        _check_finite(row, epoch, config.learning_rate, validated=bool(val_examples))
        state.end_epoch(row, validated=bool(val_examples))
        if checkpoint is not None:
            checkpoint.save(state.state_dict())
    return FitResult(
        history=state.history, best_state=state.best_state, best_epoch=state.best_epoch
    )


class _TrainingState:
    """What `fit` changes epoch by epoch, saved and restored as one object: the weights,
    the optimizer and gradient scaler, every random generator, the history and the best
    epoch so far. A run restored from its `state_dict` goes on bit for bit as if it had
    never stopped."""

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        device: torch.device,
        loader: DataLoader,
        augment_seed: int,
    ) -> None:
        self.model = model
        self.device = device
        self.patience = config.patience
        self.epochs = config.epochs
        self.loader_rng = loader.generator
        self.augment_rng = torch.Generator().manual_seed(augment_seed)
        self.optimizer = torch.optim.AdamW(
            model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        float16 = autocast_dtype(device) == torch.float16
        self.scaler = torch.amp.GradScaler(device.type) if float16 else None
        self.history: list[dict[str, float]] = []
        self.best_loss = math.inf
        self.best_epoch = 0
        self.best_state: dict[str, torch.Tensor] = {}
        self.stopped = False

    def end_epoch(self, row: dict[str, float], validated: bool) -> None:
        """Keep an epoch's row; its weights if it is the best yet (the last one without
        validation songs); stop after `patience` epochs with no better one, or the last."""
        self.history.append(row)
        epoch = row["epoch"]
        if not validated or row["val_loss"] < self.best_loss:
            self.best_loss, self.best_epoch = row["val_loss"], epoch
            self.best_state = cpu_state(self.model)
        self.stopped = epoch - self.best_epoch >= self.patience or epoch == self.epochs

    def state_dict(self) -> dict:
        """Tensors and plain data only (it loads with ``weights_only``); the best epoch's
        weights are stored once when they are the current ones."""
        current = len(self.history) == self.best_epoch
        return {
            "model": self.best_state if current else cpu_state(self.model),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else {},
            "augment_rng": self.augment_rng.get_state(),
            "loader_rng": self.loader_rng.get_state() if self.loader_rng is not None else None,
            "random": random_state(self.device),
            "history": self.history,
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "best_state": None if current else self.best_state,
            "stopped": self.stopped,
        }

    def load_state_dict(self, saved: dict) -> None:
        """Put back what `state_dict` saved after an epoch."""
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        if self.scaler is not None and saved["scaler"]:
            self.scaler.load_state_dict(saved["scaler"])
        self.augment_rng.set_state(saved["augment_rng"])
        if self.loader_rng is not None and saved["loader_rng"] is not None:
            self.loader_rng.set_state(saved["loader_rng"])
        restore_random_state(saved["random"], self.device)
        self.history = list(saved["history"])
        self.best_loss, self.best_epoch = saved["best_loss"], saved["best_epoch"]
        best = saved["best_state"]
        self.best_state = best if best is not None else saved["model"]
        self.stopped = saved["stopped"]


def _check_finite(row: dict[str, float], epoch: int, learning_rate: float, validated: bool):
    """Raise ParameterError when an epoch's loss is no longer a finite number."""
    if not math.isfinite(row["train_loss"]) or (validated and not math.isfinite(row["val_loss"])):
        raise ParameterError(
            f"training diverged at epoch {epoch} (loss {row['train_loss']}); "
            f"lower learning_rate (now {learning_rate})"
        )


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
    state: _TrainingState,
    config: TrainConfig,
    device: torch.device,
) -> dict[str, float]:
    """One pass over the crops: the mean loss per crop and crop-level accuracy per task,
    over every process's crops. The loss is computed in float32 whatever the forward pass
    ran in; the state's scaler (float16 only) keeps small gradients from underflowing."""
    optimizer, scaler = state.optimizer, state.scaler
    model.train()
    loss_sum, n_seen = 0.0, 0
    correct = dict.fromkeys((task.name for task in tasks), 0.0)
    labelled = dict.fromkeys((task.name for task in tasks), 0)
    for inputs, targets in batches:
        inputs, targets = augment_batch(inputs, targets, config, state.augment_rng)
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


def _summary(row: dict[str, float], epochs: int) -> str:
    """One line per epoch: losses, then accuracies."""
    parts = [
        f"epoch {row['epoch']}/{epochs}",
        f"train loss {row['train_loss']:.4f}",
        f"val loss {row['val_loss']:.4f}",
    ]
    parts += [f"{key} {value:.3f}" for key, value in row.items() if "_acc_" in key]
    return "  ".join(parts)

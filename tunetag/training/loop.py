"""Train a network on crops of songs and score it on whole songs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from tunetag.errors import ParameterError
from tunetag.training.datasets import IGNORE_INDEX, SongExample, TrainCrops, song_inputs


def pick_device() -> torch.device:
    """CUDA when a GPU is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class FitResult:
    """What `fit` leaves: one history row per epoch and the best epoch's weights.

    ``best_state`` is a CPU copy of the ``state_dict`` of the epoch with the lowest
    validation loss (``best_epoch``, counted from 1); the model itself ends with the last
    epoch's weights.
    """

    history: list[dict[str, float]]
    best_state: dict[str, torch.Tensor]
    best_epoch: int


def fit(
    model: nn.Module,
    tasks: list[str],
    n_classes: dict[str, int],
    train_examples: Sequence[SongExample],
    val_examples: Sequence[SongExample],
    *,
    input_kind: str,
    crop_frames: int,
    crops_per_song: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    epochs: int,
    patience: int,
    seed: int,
    class_weights: dict[str, torch.Tensor] | None = None,
    device: torch.device | None = None,
    progress: bool = True,
) -> FitResult:
    """Train with AdamW on random crops; keep the epoch that scores songs best.

    The loss is the sum over tasks of cross-entropy on the songs labelled for that task
    (a batch with no label for a task adds 0 for it). After each epoch every validation
    song is scored as a whole with `predict_songs` (softmax averaged over all its crops);
    the validation loss is the mean negative log of the averaged probability of the true
    class, summed over tasks. Training stops after ``patience`` epochs without a lower
    validation loss.

    Parameters
    ----------
    model : torch.nn.Module
        A network from `tunetag.models.create`; moved to ``device`` and trained in place.
    tasks : list of str
        Tasks to train, in the order of the target vectors.
    n_classes : dict of str to int
        Classes per task; targets must lie in ``range(n_classes[task])``.
    train_examples, val_examples : sequence of SongExample
        Training and validation songs; each training song is labelled for at least one task.
    input_kind : {"crop", "image"}
        The model's ``input_kind``.
    crop_frames : int
        Frames per crop (see `tunetag.training.datasets.crop_frames`).
    crops_per_song : int
        Random crops per training song per epoch (ignored for ``"image"``).
    batch_size : int
        Examples per optimiser step. A last batch of a single example is dropped, since
        batch norm cannot train on one value per channel.
    learning_rate : float
        AdamW step size.
    weight_decay : float
        AdamW decoupled weight decay.
    epochs : int
        Most passes over the training songs.
    patience : int
        Epochs without a lower validation loss before stopping.
    seed : int
        Seeds torch (dropout), the shuffling and the crop offsets.
    class_weights : dict of str to torch.Tensor, optional
        Per-class loss weights per task, each of length ``n_classes[task]``.
    device : torch.device, optional
        Where to train; default `pick_device`.
    progress : bool
        Show a bar per epoch and a summary line per epoch.

    Returns
    -------
    FitResult
        History rows with ``epoch``, ``train_loss``, ``val_loss``, ``train_acc_<task>``
        (crop-level) and ``val_acc_<task>`` (song-level; NaN for a task no validation song
        is labelled for), the best state and the best epoch.

    Raises
    ------
    ParameterError
        For inconsistent arguments, or when the loss stops being finite (diverged).
    """
    _check_fit_arguments(
        tasks, n_classes, train_examples, val_examples, batch_size, epochs, patience
    )
    device = device or pick_device()
    torch.manual_seed(seed)
    model.to(device)
    weights = {task: w.to(device) for task, w in (class_weights or {}).items()}
    for task, w in weights.items():
        if w.shape != (n_classes.get(task, -1),):
            raise ParameterError(
                f"class_weights[{task!r}] has shape {tuple(w.shape)}, "
                f"expected ({n_classes.get(task, 'no such task')},)"
            )
    dataset = TrainCrops(train_examples, tasks, input_kind, crop_frames, crops_per_song, seed)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=0,
        generator=torch.Generator().manual_seed(seed),
        drop_last=len(dataset) > 1 and len(dataset) % batch_size == 1,
        pin_memory=device.type == "cuda",
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    history: list[dict[str, float]] = []
    best_loss, best_epoch, best_state = math.inf, 0, {}
    for epoch in range(1, epochs + 1):
        dataset.set_epoch(epoch)
        bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", leave=False, disable=not progress)
        row: dict[str, float] = {"epoch": epoch}
        row.update(_train_epoch(model, bar, tasks, weights, optimizer, device))
        probabilities = predict_songs(
            model,
            [example.mel_path for example in val_examples],
            tasks,
            input_kind=input_kind,
            crop_frames=crop_frames,
            device=device,
            batch_size=batch_size,
        )
        row.update(_song_scores(probabilities, val_examples, tasks))
        history.append(row)
        if progress:
            tqdm.write(_summary(row, epochs))
        if not (math.isfinite(row["train_loss"]) and math.isfinite(row["val_loss"])):
            raise ParameterError(
                f"training diverged at epoch {epoch} (loss {row['train_loss']}); "
                f"lower learning_rate (now {learning_rate})"
            )
        if row["val_loss"] < best_loss:
            best_loss, best_epoch = row["val_loss"], epoch
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
    return FitResult(history=history, best_state=best_state, best_epoch=best_epoch)


def predict_songs(
    model: nn.Module,
    mel_paths: Sequence[Path],
    tasks: Sequence[str],
    *,
    input_kind: str,
    crop_frames: int,
    device: torch.device | None = None,
    batch_size: int = 32,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Class probabilities of whole songs: softmax averaged over every crop of each song.

    Parameters
    ----------
    model : torch.nn.Module
        A trained network; moved to ``device`` and run in eval mode (its mode is restored).
    mel_paths : sequence of path
        Cached log-mel arrays (``.npy``, (n_mels, frames), dB), one per song.
    tasks : sequence of str
        Tasks to score.
    input_kind : {"crop", "image"}
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
        Task -> float64 (n_songs, n_classes), rows summing to 1, in the order of ``mel_paths``.
    """
    if not mel_paths:
        raise ParameterError("no songs to score")
    if batch_size <= 0:
        raise ParameterError(f"batch_size must be positive, got {batch_size}")
    device = device or pick_device()
    model.to(device)
    was_training = model.training
    model.eval()
    rows: dict[str, list[np.ndarray]] = {task: [] for task in tasks}
    with torch.inference_mode():
        for path in tqdm(mel_paths, desc="scoring", leave=False, disable=not progress):
            inputs = song_inputs(np.load(path, mmap_mode="r"), input_kind, crop_frames)
            sums: dict[str, torch.Tensor] = {}
            for chunk in inputs.split(batch_size):
                logits = model(chunk.to(device))
                for task in tasks:
                    batch_sum = F.softmax(logits[task].double(), dim=1).sum(dim=0)
                    sums[task] = sums[task] + batch_sum if task in sums else batch_sum
            for task in tasks:
                rows[task].append((sums[task] / len(inputs)).cpu().numpy())
    model.train(was_training)
    return {task: np.stack(rows[task]) for task in tasks}


def _check_fit_arguments(
    tasks: list[str],
    n_classes: dict[str, int],
    train_examples: Sequence[SongExample],
    val_examples: Sequence[SongExample],
    batch_size: int,
    epochs: int,
    patience: int,
) -> None:
    if not tasks or any(task not in n_classes for task in tasks):
        raise ParameterError(f"every task needs a class count: tasks {tasks}, {n_classes}")
    if not train_examples or not val_examples:
        raise ParameterError(
            f"training needs songs on both sides: {len(train_examples)} training, "
            f"{len(val_examples)} validation"
        )
    if batch_size <= 0 or epochs <= 0 or patience <= 0:
        raise ParameterError("batch_size, epochs and patience must be positive")
    for example in [*train_examples, *val_examples]:
        for task, target in example.targets.items():
            if task in n_classes and not 0 <= target < n_classes[task]:
                raise ParameterError(
                    f"{example.mel_path}: class {target} of {task!r} is outside "
                    f"0..{n_classes[task] - 1}"
                )
    for example in train_examples:
        if not any(task in example.targets for task in tasks):
            raise ParameterError(f"{example.mel_path}: no label for any of the tasks {tasks}")


def _train_epoch(
    model: nn.Module,
    batches,
    tasks: list[str],
    weights: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    device: torch.device,
) -> dict[str, float]:
    """One pass over the crops: the mean loss per crop and crop-level accuracy per task."""
    model.train()
    loss_sum, n_seen = 0.0, 0
    correct = dict.fromkeys(tasks, 0)
    labelled = dict.fromkeys(tasks, 0)
    for x, y in batches:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        outputs = model(x)
        loss = x.new_zeros(())
        for j, task in enumerate(tasks):
            target = y[:, j]
            known = target != IGNORE_INDEX
            n_known = int(known.sum())
            if n_known == 0:
                continue
            loss = loss + F.cross_entropy(
                outputs[task], target, weight=weights.get(task), ignore_index=IGNORE_INDEX
            )
            predicted = outputs[task].argmax(dim=1)
            correct[task] += int((predicted[known] == target[known]).sum())
            labelled[task] += n_known
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += float(loss.detach()) * len(x)
        n_seen += len(x)
    row = {"train_loss": loss_sum / max(n_seen, 1)}
    for task in tasks:
        row[f"train_acc_{task}"] = correct[task] / labelled[task] if labelled[task] else math.nan
    return row


def _song_scores(
    probabilities: dict[str, np.ndarray], examples: Sequence[SongExample], tasks: list[str]
) -> dict[str, float]:
    """Validation loss (NLL of song probabilities, summed over tasks) and accuracy per task."""
    row = {"val_loss": 0.0}
    for task in tasks:
        scored = [k for k, example in enumerate(examples) if task in example.targets]
        if not scored:
            row[f"val_acc_{task}"] = math.nan
            continue
        truth = np.array([examples[k].targets[task] for k in scored])
        probs = probabilities[task][scored]
        true_class = np.clip(probs[np.arange(len(scored)), truth], 1e-12, 1.0)
        row["val_loss"] += float(-np.log(true_class).mean())
        row[f"val_acc_{task}"] = float((probs.argmax(axis=1) == truth).mean())
    return row


def _summary(row: dict[str, float], epochs: int) -> str:
    """One line per epoch: losses, then accuracies."""
    parts = [
        f"epoch {row['epoch']}/{epochs}",
        f"train loss {row['train_loss']:.4f}",
        f"val loss {row['val_loss']:.4f}",
    ]
    parts += [f"{key} {value:.3f}" for key, value in row.items() if "_acc_" in key]
    return "  ".join(parts)

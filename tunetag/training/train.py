"""Train a model on the labelled songs of a CSV and leave a complete run folder."""

from __future__ import annotations

import dataclasses
from collections import Counter
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import torch

from tunetag import models
from tunetag.config import RunConfig, default_cache_dir
from tunetag.errors import ParameterError
from tunetag.evaluation.metrics import classification_metrics
from tunetag.evaluation.plots import plot_confusion, plot_curves
from tunetag.features.extract import extract_files
from tunetag.library.songtable import SongTable
from tunetag.runfolder import RunFolder
from tunetag.training.datasets import SongExample, crop_frames
from tunetag.training.loop import fit, pick_device, predict_songs
from tunetag.training.splits import grouped_stratified_split


def train(
    csv_path: str | Path,
    out_dir: str | Path,
    config: RunConfig | None = None,
    *,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> RunFolder:
    """Train ``config.train.model`` on every song labelled for at least one task.

    The songs are split once, stratified by the first task and grouped by artist, so no
    artist is on both sides; validation scores whole songs (every crop averaged). The best
    epoch by validation loss is kept.

    Parameters
    ----------
    csv_path : path
        The song CSV (``tunetag scan``), with a label column per task.
    out_dir : path
        The run folder to create (files in it are replaced).
    config : RunConfig
        Feature and training settings; defaults otherwise.
    cache_dir : path, optional
        Feature cache folder (default: `default_cache_dir`).
    executor : concurrent.futures.Executor, optional
        Where feature extraction runs (default: a local process pool).
    progress : bool
        Show progress bars.

    Returns
    -------
    RunFolder
        The run folder, with model, config, labels, history, metrics and plots.
    """
    config = config or RunConfig()
    model_class = models.model_class(config.train.model)
    table = SongTable.read(csv_path)
    tasks = list(config.train.tasks)
    labels = {task: table.labels(task) for task in tasks}
    classes = {task: table.classes(task) for task in tasks}
    labelled_rows = sorted(set().union(*(rows.keys() for rows in labels.values())))

    report = extract_files(
        [table.audio_path(table.rows[i]) for i in labelled_rows],
        config.features,
        Path(cache_dir) if cache_dir else default_cache_dir(),
        executor=executor,
        progress=progress,
    )
    usable = [i for i in labelled_rows if table.audio_path(table.rows[i]) in report.ok]
    examples = [
        SongExample(
            mel_path=report.ok[table.audio_path(table.rows[i])]["mel"],
            targets={
                task: classes[task].index(labels[task][i]) for task in tasks if i in labels[task]
            },
        )
        for i in usable
    ]
    groups = table.groups(config.train.group_by)
    strata = [labels[tasks[0]].get(i, "") for i in usable]
    train_idx, val_idx = grouped_stratified_split(
        strata, [groups[i] for i in usable], config.train.val_fraction, config.train.seed
    )
    train_examples = [examples[i] for i in train_idx]
    val_examples = [examples[i] for i in val_idx]

    resolved = dataclasses.replace(
        config.train,
        batch_size=config.train.batch_size or model_class.default_batch_size,
        learning_rate=config.train.learning_rate or model_class.default_learning_rate,
    )
    config = dataclasses.replace(config, train=resolved)
    n_classes = {task: len(names) for task, names in classes.items()}
    torch.manual_seed(resolved.seed)
    model = models.create(resolved.model, n_classes, n_mels=config.features.mel.n_mels)
    frames = crop_frames(resolved.crop_s, config.features.frames_per_second())
    device = pick_device()

    result = fit(
        model,
        tasks,
        n_classes,
        train_examples,
        val_examples,
        input_kind=model_class.input_kind,
        crop_frames=frames,
        crops_per_song=resolved.crops_per_song,
        batch_size=resolved.batch_size,
        learning_rate=resolved.learning_rate,
        weight_decay=resolved.weight_decay,
        epochs=resolved.epochs,
        patience=resolved.patience,
        seed=resolved.seed,
        class_weights=_class_weights(train_examples, n_classes),
        device=device,
        progress=progress,
    )
    model.load_state_dict(result.best_state)
    probabilities = predict_songs(
        model,
        [example.mel_path for example in val_examples],
        tasks,
        input_kind=model_class.input_kind,
        crop_frames=frames,
        device=device,
    )

    run = RunFolder(out_dir)
    run.save_config(config)
    run.save_labels(classes)
    run.save_model(result.best_state)
    run.save_history(result.history)
    plot_curves(result.history, run.curves_path, title=f"{resolved.model}: {', '.join(tasks)}")
    metrics: dict = {
        "model": resolved.model,
        "best_epoch": result.best_epoch,
        "songs": {
            "labelled": len(labelled_rows),
            "used": len(usable),
            "skipped": len(labelled_rows) - len(usable),
            "train": len(train_examples),
            "validation": len(val_examples),
        },
        "tasks": {},
    }
    for task in tasks:
        scored = [k for k, example in enumerate(val_examples) if task in example.targets]
        if not scored:
            raise ParameterError(f"{csv_path}: no validation song has a {task!r} label")
        task_metrics = classification_metrics(
            [val_examples[k].targets[task] for k in scored],
            probabilities[task][scored],
            classes[task],
        )
        metrics["tasks"][task] = task_metrics
        plot_confusion(
            task_metrics["confusion"],
            classes[task],
            run.confusion_path(task),
            title=f"{task} ({resolved.model}, validation songs)",
        )
    run.save_metrics(metrics)
    return run


def _class_weights(
    examples: list[SongExample], n_classes: dict[str, int]
) -> dict[str, torch.Tensor]:
    """Inverse class frequency per task (mean 1), so a rare class weighs as much in the loss."""
    weights = {}
    for task, k in n_classes.items():
        counts = Counter(ex.targets[task] for ex in examples if task in ex.targets)
        freq = np.array([counts.get(c, 0) for c in range(k)], dtype=np.float64)
        inverse = np.where(freq > 0, freq.sum() / np.maximum(freq, 1) / k, 0.0)
        weights[task] = torch.tensor(inverse / inverse[inverse > 0].mean(), dtype=torch.float32)
    return weights

"""The closed-form path of models of whole-song summaries (the logistic baselines)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from tunetag.library.tasks import Task
from tunetag.models.inputs import load_views, summary_statistics
from tunetag.runtime import distributed
from tunetag.training.datasets import SongExample
from tunetag.training.results import FitResult
from tunetag.training.validation import cpu_state, validate


def fit_summaries(
    model: nn.Module,
    tasks: Sequence[Task],
    train_examples: Sequence[SongExample],
    val_examples: Sequence[SongExample],
    seed: int,
    device: torch.device,
    time_budget_s: float | None = None,
) -> FitResult:
    """Closed-form fit of a ``"summary"`` model; one history row, scored like an epoch.

    Under torchrun rank 0 fits (there are no gradients to share) and sends the weights to
    the others; the scoring is shared. A model that chose something on the training songs
    (the C of ``logreg``, the input of ``auto``) says what in its ``selection``; the row
    keeps it as JSON text under ``"selection"``, so ``history.csv`` shows each fold's choice.
    ``time_budget_s`` goes to a model whose ``fit_summaries`` takes one (``auto``'s choice).
    The fit reads each song's ``fit_view_paths`` where it has them (every patch), and the
    scoring its ``view_paths``, the patches predict will read.
    """
    world = distributed.active_world()
    if world.writes_files:
        x = np.stack(
            [
                summary_statistics(load_views(ex.fit_view_paths or ex.view_paths))
                for ex in train_examples
            ]
        )
        targets = {t.name: np.stack([ex.targets[t.name] for ex in train_examples]) for t in tasks}
        budget = {}
        if "time_budget_s" in inspect.signature(model.fit_summaries).parameters:
            budget["time_budget_s"] = time_budget_s
        multilabel = {task.name: task.multilabel for task in tasks}
        model.fit_summaries(x, targets, multilabel, seed=seed, **budget)
    if world.distributed:
        model.load_state_dict(distributed.broadcast_object(cpu_state(model)))
    model.to(device)
    on_train = validate(model, tasks, train_examples, "summary", 1, 64, device)
    row = {"epoch": 1, "train_loss": on_train["val_loss"]}
    row |= {f"train_acc_{t.name}": on_train[f"val_acc_{t.name}"] for t in tasks}
    row |= validate(model, tasks, val_examples, "summary", 1, 64, device)
    if getattr(model, "selection", None):
        row["selection"] = json.dumps(model.selection, sort_keys=True)
    row = distributed.broadcast_object(row)
    return FitResult(history=[row], best_state=cpu_state(model), best_epoch=1)

"""A trained run's own layer that knows the person's categories, per song: what `tunetag
similar --run` finds neighbours in.

- A network (crops, patches, a picture): the input of its task heads, the last layer every
  task reads, averaged over the song's crops as its probabilities are.
- A summary model (``logreg``, ``auto`` and the probes): a linear probe of a standardised
  summary knows only its class directions, so its layer is its class log-probabilities, the
  tasks' side by side (a multi-label task's labels each as log p and log (1 - p)), clipped
  at `LOG_PROBABILITY_FLOOR`. Not the logits: with two classes they are one number and
  its negation, whose cosine is only a sign; a vector of log-probabilities, all below
  zero, moves smoothly with every probability, and two songs the run hears alike are
  close whatever their class. For ``auto`` these are the probabilities it predicts with,
  whichever candidate it chose per task (a stack's members are not a layer of their own).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from tunetag import models
from tunetag.config import FeatureConfig
from tunetag.errors import ParameterError
from tunetag.library.tasks import Task
from tunetag.models.heads import TaskHeads
from tunetag.models.inputs import crop_frames, load_views, song_inputs
from tunetag.runs.folder import RunFolder
from tunetag.runs.probabilities import batched_logits

LOG_PROBABILITY_FLOOR = -10.0  # a class the run rules out counts as this sure, not -1e4
CROPS_PER_PASS = 8  # crops of one song per forward pass


def summary_layer(model: nn.Module, tasks: list[Task], summaries: np.ndarray) -> np.ndarray:
    """(n, sum of classes) class log-probabilities of a summary model, see the module.

    Parameters
    ----------
    model : torch.nn.Module
        A fitted summary model (``input_kind == "summary"``).
    tasks : list of Task
        Its tasks, in the order of its heads.
    summaries : ndarray, shape (n, d)
        `summary_statistics` of the songs' views, the run's views in its order.
    """
    with torch.inference_mode():
        logits = model({"summary": torch.as_tensor(np.asarray(summaries, dtype=np.float32))})
    parts = []
    for task in tasks:
        found = logits[task.name].double()
        if task.multilabel:
            parts += [F.logsigmoid(found), F.logsigmoid(-found)]
        else:
            parts.append(F.log_softmax(found, dim=1))
    return torch.cat(parts, dim=1).clamp(min=LOG_PROBABILITY_FLOOR).numpy()


def layer_function(
    run: RunFolder,
) -> tuple[FeatureConfig, Callable[[Mapping[str, Path]], np.ndarray]]:
    """The features to extract a song with, and a function from its cached views to its
    layer (1-D): the views the run's model reads (`RunFolder.load_for_scoring`).

    Raises
    ------
    ParameterError
        When the run's network has no task heads to read the input of.
    """
    config, tasks = run.load_config(), run.load_tasks()
    model, features = run.load_for_scoring()
    kind = models.model_class(config.train.model).input_kind
    if kind == "summary":

        def summary(views: Mapping[str, Path]) -> np.ndarray:
            inputs = song_inputs(load_views(views), kind, 0)
            return summary_layer(model, tasks, inputs["summary"].numpy())[0]

        return features, summary
    heads = next((module for module in model.modules() if isinstance(module, TaskHeads)), None)
    if heads is None:
        raise ParameterError(f"{run.path}: model {config.train.model} has no task heads to read")
    frames = crop_frames(config.train.crop_s, features.frames_per_second())
    head = next(iter(heads.values()))
    found: list[torch.Tensor] = []
    head.register_forward_pre_hook(lambda _module, args: found.append(args[0].float()))

    device = next(model.parameters()).device

    def network(views: Mapping[str, Path]) -> np.ndarray:
        found.clear()
        with torch.inference_mode():
            inputs = song_inputs(load_views(views), kind, frames)
            for _ in batched_logits(model, inputs, device, CROPS_PER_PASS):
                pass  # the hook keeps each pass's head input
            return torch.cat(found).mean(dim=0).double().cpu().numpy()

    return features, network

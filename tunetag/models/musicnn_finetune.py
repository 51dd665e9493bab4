"""The pretrained musicnn tagger fine-tuned in its last layers on the person's labels."""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import nn

from tunetag.config import DEFAULT_TAGGER, FeatureConfig
from tunetag.errors import ParameterError
from tunetag.models.heads import TaskHeads
from tunetag.models.registry import register_model
from tunetag.pretrained.embedding import POOLED_UNITS
from tunetag.pretrained.networks import EMBEDDING_UNITS
from tunetag.pretrained.taggers import load_tagger

DROPOUT = 0.5  # before each task head, as before the original tag layer
POOLED_VIEW = "musicnn-msd-pooled"  # MSD_musicnn's front and mid ends, pooled, per 3 s patch
FROZEN = (
    "input_norm",
    "timbral",
    "timbral_norms",
    "temporal",
    "temporal_norms",
    "mid",
    "mid_norms",
)


@register_model("musicnn-finetune")
class MusicnnFinetune(nn.Module):
    """MSD_musicnn with its back end trained again and a new head per task.

    Input: 3 s patches of the ``musicnn-msd-pooled`` view, (batch, 1506): what the tagger's
    front and mid ends (the convolutions, 60 % of the weights) make of each patch of
    musicnn's own log-mel. Those stay as pretrained, batch norms included, so a few hundred
    songs cannot undo what the Million Song Dataset taught them; being frozen, their output
    is computed once per song and cached as a view rather than again for every crop of
    every epoch, and they are no part of this model. The back end (batch norm of the pooled
    features, the 200-unit dense layer and its batch norm) starts from the pretrained
    weights and trains with a new linear head per task on the embedding. Patches are scored
    and averaged per song like every crop model's crops.

    Parameters
    ----------
    tasks : mapping of str to int
        Task name -> number of outputs.
    view_rows : mapping of str to int
        Must be ``{"musicnn-msd-pooled": 1506}``.
    """

    input_kind = "patch"
    default_batch_size = 32
    default_learning_rate = 1e-3
    features = FeatureConfig(views=(POOLED_VIEW,))  # the view resamples to 16 kHz itself

    def __init__(self, tasks: Mapping[str, int], view_rows: Mapping[str, int]) -> None:
        super().__init__()
        if dict(view_rows) != {POOLED_VIEW: POOLED_UNITS}:
            raise ParameterError(
                f"musicnn-finetune reads the {POOLED_VIEW} view only, got views {dict(view_rows)}"
            )
        self.network = copy.deepcopy(load_tagger(DEFAULT_TAGGER))
        for part in (*FROZEN, "tags"):  # cached in the view; the tags give way to the tasks
            delattr(self.network, part)
        self.heads = TaskHeads({task: nn.Linear(EMBEDDING_UNITS, k) for task, k in tasks.items()})
        self.dropout = nn.Dropout(DROPOUT)

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Logits per task, each (batch, n_outputs), for pooled patches ``inputs[POOLED_VIEW]``."""
        embedding = self.dropout(self.network.embed(inputs[POOLED_VIEW]))
        return {task: head(embedding) for task, head in self.heads.items()}

"""The pretrained musicnn tagger fine-tuned in its last layers on the person's labels."""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import nn

from tunetag.config import DEFAULT_TAGGER, MUSICNN_FEATURES
from tunetag.errors import ParameterError
from tunetag.models.heads import TaskHeads
from tunetag.models.registry import register_model
from tunetag.pretrained.networks import EMBEDDING_UNITS, N_MELS

DROPOUT = 0.5  # before each task head, as before the original tag layer


@register_model("musicnn-finetune")
class MusicnnFinetune(nn.Module):
    """MSD_musicnn with its back end trained again and a new head per task.

    Input: 3 s crops of musicnn's own log-mel (16 kHz, 96 bands, ``log10(1 + 10000 x)``),
    (batch, 1, 96, frames). The front and mid ends (the convolutions, 60 % of the
    weights) stay frozen, batch norms included, so a few hundred songs cannot undo what
    the Million Song Dataset taught them; the back end (batch norm of the pooled features,
    the 200-unit dense layer and its batch norm) starts from the pretrained weights and
    trains with a new linear head per task on the embedding. Crops are scored and
    averaged per song like every crop model's.

    Parameters
    ----------
    tasks : mapping of str to int
        Task name -> number of outputs.
    view_rows : mapping of str to int
        Must be ``{"mel": 96}``.
    """

    input_kind = "crop"
    default_batch_size = 32
    default_learning_rate = 1e-3
    features = MUSICNN_FEATURES

    def __init__(self, tasks: Mapping[str, int], view_rows: Mapping[str, int]) -> None:
        super().__init__()
        if dict(view_rows) != {"mel": N_MELS}:
            raise ParameterError(
                f"musicnn-finetune reads musicnn's 96-band mel only, got views {dict(view_rows)}"
            )
        from tunetag.pretrained.taggers import (
            load_tagger,  # here: tunetag.pretrained.taggers imports models
        )

        self.network = copy.deepcopy(load_tagger(DEFAULT_TAGGER))
        del self.network.tags  # the 50 tags give way to the person's tasks
        # a plain tuple, not a ModuleList, so the state dict names each weight once
        self.frozen = (
            self.network.input_norm,
            self.network.timbral,
            self.network.timbral_norms,
            self.network.temporal,
            self.network.temporal_norms,
            self.network.mid,
            self.network.mid_norms,
        )
        for part in self.frozen:
            part.requires_grad_(False)
        self.heads = TaskHeads({task: nn.Linear(EMBEDDING_UNITS, k) for task, k in tasks.items()})
        self.dropout = nn.Dropout(DROPOUT)

    def train(self, mode: bool = True) -> MusicnnFinetune:
        """Train mode everywhere but the frozen part, whose batch norms keep their statistics."""
        super().train(mode)
        for part in self.frozen:
            part.eval()
        return self

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Logits per task, each (batch, n_outputs), for crops ``inputs["mel"]``."""
        with torch.no_grad():
            pooled = self.network.pooled(inputs["mel"])
        embedding = self.dropout(self.network.embed(pooled))
        return {task: head(embedding) for task, head in self.heads.items()}

"""Several views of a song at once: a conv branch per view, fused before the heads."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from tunetag.models.registry import register_model
from tunetag.models.shortchunk import ConvTrunk, apply_heads, task_heads

BRANCH_CHANNELS = (16, 32, 32, 64, 64)  # conv channels of each view's branch


@register_model("multiview")
class MultiViewCNN(nn.Module):
    """The proposal's wish: spectrogram, chromagram, tempogram and waveform seen together.

    Each view of the run (``--views``) has its own `ConvTrunk` branch (channels
    16-32-32-64-64) over crops of the same seconds, (batch, 1, rows, frames); the pooled
    features of every branch are joined, then a dense layer with dropout and one linear head
    per task give the logits. With four views, about 0.4M parameters.

    Parameters
    ----------
    tasks : mapping of str to int
        Task name -> number of outputs.
    view_rows : mapping of str to int
        View name -> rows; one branch per view.
    """

    input_kind = "crop"
    default_batch_size = 16
    default_learning_rate = 1e-3

    def __init__(self, tasks: Mapping[str, int], view_rows: Mapping[str, int]) -> None:
        super().__init__()
        self.branches = nn.ModuleDict({view: ConvTrunk(BRANCH_CHANNELS) for view in view_rows})
        n_features = sum(branch.n_features for branch in self.branches.values())
        self.top = task_heads(n_features, tasks)

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Logits per task, each (batch, n_outputs), for crops of every view."""
        features = [branch(inputs[view]) for view, branch in self.branches.items()]
        return apply_heads(self.top, torch.cat(features, dim=1))

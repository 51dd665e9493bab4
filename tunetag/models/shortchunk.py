"""A compact short-chunk CNN on crops of one view (the log-mel by default): the default model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from tunetag.models.heads import TaskHeads
from tunetag.models.registry import register_model

CHANNELS = (32, 32, 64, 64, 128, 128)  # output channels of the six conv blocks
HIDDEN = 128  # units of the dense layer before the heads
DROPOUT = 0.5  # dropout before the dense layer and before the heads


class ConvTrunk(nn.Module):
    """Conv blocks over a (batch, 1, rows, frames) crop, pooled to one vector per crop.

    An input batch norm puts any scale (dB, 0-1 chroma) in range, so no external
    normalisation is needed. Each block is Conv2d 3x3 -> BatchNorm -> ReLU -> 2x2 max-pool;
    a block pools an axis only while it is at least 2 long, so 3-row waveform envelopes,
    12-row chromagrams and 128-band log-mels all fit. Global max and mean pooling over rows
    and frames give ``2 * channels[-1]`` features.
    """

    def __init__(self, channels: Sequence[int] = CHANNELS) -> None:
        super().__init__()
        self.input_norm = nn.BatchNorm2d(1)
        blocks = []
        in_channels = 1
        for out_channels in channels:
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
                    nn.BatchNorm2d(out_channels),
                    nn.ReLU(),
                )
            )
            in_channels = out_channels
        self.blocks = nn.ModuleList(blocks)
        self.n_features = 2 * in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, 2 * channels[-1]) features for crops (batch, 1, rows, frames)."""
        x = self.input_norm(x)
        for block in self.blocks:
            x = block(x)
            kernel = (2 if x.shape[2] >= 2 else 1, 2 if x.shape[3] >= 2 else 1)
            x = F.max_pool2d(x, kernel)
        return torch.cat([x.amax(dim=(2, 3)), x.mean(dim=(2, 3))], dim=1)


def task_heads(n_features: int, tasks: Mapping[str, int]) -> nn.ModuleDict:
    """A dense layer with dropout, then one linear head per task, shared by our CNNs."""
    return nn.ModuleDict(
        {
            "dense": nn.Sequential(
                nn.Dropout(DROPOUT), nn.Linear(n_features, HIDDEN), nn.ReLU(), nn.Dropout(DROPOUT)
            ),
            "heads": TaskHeads({task: nn.Linear(HIDDEN, k) for task, k in tasks.items()}),
        }
    )


def apply_heads(top: nn.ModuleDict, features: torch.Tensor) -> dict[str, torch.Tensor]:
    """Logits per task from pooled features, through `task_heads`' layers."""
    hidden = top["dense"](features)
    return {task: head(hidden) for task, head in top["heads"].items()}


@register_model("shortchunk")
class ShortChunkCNN(nn.Module):
    """Short-chunk CNN after Won et al. (2020), made small for a few hundred labelled songs.

    Input: crops of the run's first view (the log-mel unless ``--views`` says otherwise),
    (batch, 1, rows, frames), a few seconds each. Six conv blocks (channels
    32-32-64-64-128-128, see `ConvTrunk`), global max and mean pooling, a 128-unit dense
    layer with dropout and one linear head per task. About 0.3M parameters.

    Parameters
    ----------
    tasks : mapping of str to int
        Task name -> number of outputs.
    view_rows : mapping of str to int
        View name -> rows; the first view is the one this model reads.
    """

    input_kind = "crop"
    default_batch_size = 16
    default_learning_rate = 1e-3

    def __init__(self, tasks: Mapping[str, int], view_rows: Mapping[str, int]) -> None:
        super().__init__()
        self.view = next(iter(view_rows))
        self.trunk = ConvTrunk()
        self.top = task_heads(self.trunk.n_features, tasks)

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Logits per task, each (batch, n_outputs), for crops of the first view."""
        return apply_heads(self.top, self.trunk(inputs[self.view]))

"""A compact short-chunk CNN on log-mel crops: the default model."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from tunetag.models.registry import register_model

CHANNELS = (32, 32, 64, 64, 128, 128)  # output channels of the six conv blocks
HIDDEN = 128  # units of the dense layer before the heads
DROPOUT = 0.5  # dropout before the dense layer and before the heads


@register_model("shortchunk")
class ShortChunkCNN(nn.Module):
    """Short-chunk CNN after Won et al. (2020), "Evaluation of CNN-based automatic music
    tagging models", made small for a few hundred labelled songs.

    Input: (batch, 1, n_mels, frames), log-mel crops in dB (a few seconds each). An input
    batch norm puts the dB scale in range, so no external normalisation is needed. Six
    blocks of Conv2d 3x3 -> BatchNorm -> ReLU -> 2x2 max-pool (channels 32-32-64-64-128-128)
    follow; a block pools an axis only while it is at least 2 long, so 64-128 bands and
    crops of 65-260 frames all fit. Global max and mean pooling over frequency and time,
    a 128-unit dense layer with dropout, and one linear head per task give the logits.
    About 0.3M parameters.

    Parameters
    ----------
    tasks : mapping of str to int
        Task name -> number of classes.
    n_mels : int
        Mel bands of the input crops (the network adapts to any size; kept for the registry).
    """

    input_kind = "crop"
    default_batch_size = 16
    default_learning_rate = 1e-3

    def __init__(self, tasks: Mapping[str, int], n_mels: int) -> None:
        super().__init__()
        self.input_norm = nn.BatchNorm2d(1)
        blocks = []
        in_channels = 1
        for out_channels in CHANNELS:
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
                    nn.BatchNorm2d(out_channels),
                    nn.ReLU(),
                )
            )
            in_channels = out_channels
        self.blocks = nn.ModuleList(blocks)
        self.dense = nn.Sequential(
            nn.Dropout(DROPOUT),
            nn.Linear(2 * in_channels, HIDDEN),
            nn.ReLU(),
            nn.Dropout(DROPOUT),
        )
        self.heads = nn.ModuleDict({task: nn.Linear(HIDDEN, k) for task, k in tasks.items()})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per task, each (batch, n_classes), for crops (batch, 1, n_mels, frames)."""
        x = self.input_norm(x)
        for block in self.blocks:
            x = block(x)
            kernel = (2 if x.shape[2] >= 2 else 1, 2 if x.shape[3] >= 2 else 1)
            x = F.max_pool2d(x, kernel)
        x = torch.cat([x.amax(dim=(2, 3)), x.mean(dim=(2, 3))], dim=1)
        x = self.dense(x)
        return {task: head(x) for task, head in self.heads.items()}

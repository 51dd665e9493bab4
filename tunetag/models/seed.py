"""The proposal's CNN, exactly: the reference every other model is measured against."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from tunetag.models.heads import TaskHeads
from tunetag.models.registry import register_model

IMAGE_HEIGHT = 400  # pixels: mel bands drawn bottom (low) to top (high)
IMAGE_WIDTH = 1600  # pixels: the 130 s window, left to right


@register_model("seed")
class SeedCNN(nn.Module):
    """``MusicClassifier`` from Atin Kothari's capstone proposal "Music Classifier" (2024).

    Input: (batch, 4, 400, 1600), the proposal's RGBA PNG of a song's 130 s mel-spectrogram
    (magma colours, low frequencies at the bottom) as floats in [0, 1]; see
    `tunetag.features.image.seed_image`. Four Conv2d 3x3 (4 -> 32 -> 64 -> 128 -> 256
    channels), each followed by ReLU and a 2x2 max-pool, leave 256 x 25 x 100 = 640000
    features; ``fc1`` maps them to 512, then ReLU, dropout 0.5 and ``fc2``, one linear
    head per task (with one task, the proposal's ``fc2``).

    Batch size 8 is the proposal's (larger ran out of GPU memory). The proposal gives no
    learning rate; the default, 1e-4, is a cautious one for Adam on a 328M-parameter
    ``fc1`` fed by 640000 unnormalised ReLU features.

    Parameters
    ----------
    tasks : mapping of str to int
        Task name -> number of classes.
    view_rows : mapping of str to int
        Accepted for the registry and ignored: the picture (of the run's first view, the
        log-mel as proposed) is always 400 x 1600 pixels.
    """

    input_kind = "image"
    cpu_note = "slow on a CPU: about 50 s an epoch on 2 cores"  # `tunetag models` shows it
    default_batch_size = 8
    default_learning_rate = 1e-4

    def __init__(self, tasks: Mapping[str, int], view_rows: Mapping[str, int]) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(4, 32, kernel_size=3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv1 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(64, 128, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(128, 256, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(256 * (IMAGE_HEIGHT // 16) * (IMAGE_WIDTH // 16), 512)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = TaskHeads({task: nn.Linear(512, k) for task, k in tasks.items()})

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Logits per task, each (batch, n_classes), for ``inputs["image"]`` (batch, 4, 400,
        1600)."""
        x = inputs["image"]
        for conv in (self.conv0, self.conv1, self.conv2, self.conv3):
            x = self.pool(self.relu(conv(x)))
        x = self.dropout(self.relu(self.fc1(torch.flatten(x, 1))))
        return {task: head(x) for task, head in self.fc2.items()}

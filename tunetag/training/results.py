"""What a fit leaves, whichever path fitted the model."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class FitResult:
    """What `fit` leaves: one history row per epoch and the best epoch's weights.

    ``best_state`` is a CPU copy of the ``state_dict`` of the epoch with the lowest
    validation loss (``best_epoch``, counted from 1), or of the last epoch when there is no
    validation song; the model itself ends with the last epoch's weights.
    """

    history: list[dict[str, float]]
    best_state: dict[str, torch.Tensor]
    best_epoch: int

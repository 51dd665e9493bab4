"""Folding batch norms into convolutions leaves a network's scores as they were."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tunetag import models
from tunetag.models.folding import fold_batch_norms

TASKS = {"mood": 2, "genre": 3}
VIEW_ROWS = {"mel": 64, "chroma": 12, "tempogram": 96, "waveform": 3}


def _trained_looking(model: nn.Module) -> nn.Module:
    """Give every batch norm statistics and an affine map far from the identity."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 3)
            module.running_var.copy_(torch.rand(n, generator=generator) * 4 + 0.1)
            module.weight.data.copy_(torch.randn(n, generator=generator))
            module.bias.data.copy_(torch.randn(n, generator=generator))
    return model.eval()


def _norms_after_convolutions(model: nn.Module) -> int:
    return sum(
        isinstance(a, nn.Conv2d | nn.Conv1d) and isinstance(b, nn.modules.batchnorm._BatchNorm)
        for module in model.modules()
        if isinstance(module, nn.Sequential)
        for a, b in zip(module, list(module)[1:], strict=False)
    )


@pytest.mark.parametrize("name", ["shortchunk", "multiview"])
def test_a_folded_model_scores_as_the_original(name):
    torch.manual_seed(0)
    model = _trained_looking(models.create(name, TASKS, VIEW_ROWS))
    x = {view: torch.randn(3, 1, rows, 65) * 20 - 40 for view, rows in VIEW_ROWS.items()}
    with torch.inference_mode():
        before = model(x)
    assert _norms_after_convolutions(model) > 0

    folded = fold_batch_norms(model)
    with torch.inference_mode():
        after = folded(x)

    assert _norms_after_convolutions(folded) == 0
    assert not folded.training
    for task in TASKS:
        torch.testing.assert_close(after[task], before[task], rtol=1e-4, atol=1e-4)


def test_relu_works_in_place_only_on_a_tensor_made_in_its_own_sequence():
    sequence = nn.Sequential(nn.ReLU(), nn.Conv1d(1, 2, 3), nn.BatchNorm1d(2), nn.ReLU())
    fold_batch_norms(sequence)
    x = torch.randn(4, 1, 10)
    kept = x.clone()

    sequence(x)

    assert not sequence[0].inplace  # its input is the caller's tensor
    assert sequence[3].inplace  # its input is the folded convolution's output
    assert torch.equal(x, kept)

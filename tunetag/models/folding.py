"""A trained network made cheaper to score, with the same outputs.

In eval mode a batch norm is a fixed affine map per channel, so one that directly follows
a convolution folds into the convolution's weights and bias; a ReLU after it can then
overwrite the convolution's output instead of allocating another. For the short-chunk
trunk this drops two of every three activation tensors: on 2 CPU cores it scores a
130 s song in about two thirds of the time (and fewer fresh pages to fault in).
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

_CONVOLUTIONS = (nn.Conv1d, nn.Conv2d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
_FRESH_OUTPUT = (*_CONVOLUTIONS, *_NORMS, nn.Linear)  # modules whose output is a new tensor


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """Fold each batch norm that follows a convolution in an ``nn.Sequential`` into it.

    Changes ``model`` in place and returns it in eval mode: it is for scoring only (the
    folded norms are gone, so training it afterwards would train a different network).
    Outputs equal the unfolded model's in eval mode to float rounding. A ReLU whose input
    is a tensor made just before it in the same ``nn.Sequential`` computes in place.
    """
    model.eval()
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            _fold_sequential(module)
    return model


def _fold_sequential(sequence: nn.Sequential) -> None:
    for k in range(len(sequence) - 1):
        conv, norm = sequence[k], sequence[k + 1]
        if isinstance(conv, _CONVOLUTIONS) and isinstance(norm, _NORMS):
            sequence[k] = fuse_conv_bn_eval(conv, norm)
            sequence[k + 1] = nn.Identity()
    made_fresh = False  # whether the tensor flowing at this point was made inside `sequence`
    for k, layer in enumerate(sequence):
        if isinstance(layer, nn.ReLU) and made_fresh:
            sequence[k] = nn.ReLU(inplace=True)
        if not isinstance(layer, nn.Identity):
            made_fresh = isinstance(layer, _FRESH_OUTPUT)

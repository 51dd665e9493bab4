"""The musicnn taggers in PyTorch, built to take the published TensorFlow weights.

Pons and Serra, "musicnn: pre-trained convolutional neural networks for music audio
tagging" (ISMIR 2019 late-breaking demo), and Pons et al., "End-to-end learning for music
audio tagging at scale" (ISMIR 2018). Both networks read 3 s patches of a 96-band log mel
spectrogram (16 kHz, 512-sample FFT, hop 256: 187 frames) and give 50 tag probabilities.

- `Musicnn`: musically motivated front end (timbral convolutions spanning 38 and 67 mel
  bands, temporal convolutions of 128, 64 and 32 frames, each max-pooled over frequency),
  a mid end of three 1-D convolutions with residual sums, and a back end that pools every
  layer's features over time (max and mean), then a 200-unit dense layer (the embedding)
  and the tag layer.
- `Vgg`: five 3x3 convolutions of 128 channels with max pooling, then the tag layer.

Every block is convolution -> ReLU -> batch norm, in that order, with TensorFlow's batch
norm epsilon (1e-3: some trained variances are near 1e-36, so PyTorch's 1e-5 would change
the results). Tensors here are (batch, 1, bands, frames), tunetag's crop layout; weights
are loaded from the checkpoint's tensors by their TensorFlow names (`load_tf_weights`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from tunetag.config import MUSICNN_EMBEDDING_UNITS as EMBEDDING_UNITS
from tunetag.errors import ParameterError

N_MELS = 96  # mel bands the networks were trained on
PATCH_FRAMES = 187  # frames per 3 s patch (16 kHz, hop 256)
N_TAGS = 50
TF_EPSILON = 1e-3  # TensorFlow's batch norm default
PATCH_BATCH = 64  # patches per forward pass when a whole song is run
FREQUENCY_ROWS = 16  # output rows of a front-end convolution computed (and pooled) at a time


def cut_patches(mel: np.ndarray) -> np.ndarray:
    """A (96, frames) log-mel as (patches, 1, 96, 187), 3 s each, without overlap.

    A song shorter than one patch is repeated to fill it, as the taggers' training data
    were; the frames after the last whole patch are left out, as the original does.
    """
    frames = mel.shape[1]
    if frames < PATCH_FRAMES:
        mel = np.tile(mel, (1, -(-PATCH_FRAMES // frames)))[:, :PATCH_FRAMES]
        frames = PATCH_FRAMES
    starts = range(0, frames - PATCH_FRAMES + 1, PATCH_FRAMES)
    return np.stack([mel[None, :, start : start + PATCH_FRAMES] for start in starts])


def _norm2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=TF_EPSILON)


def _norm1d(channels: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(channels, eps=TF_EPSILON)


class Musicnn(nn.Module):
    """musicnn (MTT_musicnn, MSD_musicnn: 792,079 parameters).

    ``forward`` returns the tag logits; `features` also gives the pooled features of every
    layer (1506 per patch) and the 200-unit embedding, the two places a small head on top
    of a frozen network can read from.
    """

    def __init__(self) -> None:
        super().__init__()
        self.input_norm = _norm2d(1)
        self.timbral = nn.ModuleList(
            nn.Conv2d(1, 204, kernel_size=(int(share * N_MELS), 7)) for share in (0.4, 0.7)
        )
        self.timbral_norms = nn.ModuleList(_norm2d(204) for _ in range(2))
        self.temporal = nn.ModuleList(nn.Conv2d(1, 51, kernel_size=(1, n)) for n in (128, 64, 32))
        self.temporal_norms = nn.ModuleList(_norm2d(51) for _ in range(3))
        self.mid = nn.ModuleList(nn.Conv1d(c, 64, kernel_size=7) for c in (561, 64, 64))
        self.mid_norms = nn.ModuleList(_norm1d(64) for _ in range(3))
        self.pool_norm = _norm1d(1506)
        self.dense = nn.Linear(1506, EMBEDDING_UNITS)
        self.dense_norm = _norm1d(EMBEDDING_UNITS)
        self.tags = nn.Linear(EMBEDDING_UNITS, N_TAGS)
        self.dropout = nn.Dropout(0.5)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, 1506): max and mean over time of the front and mid ends' 753 features."""
        x = self.input_norm(x)
        front = []
        for conv, norm in zip(self.timbral, self.timbral_norms, strict=True):
            # 'same' in time, 'valid' in frequency
            front.append(_block_over_frequency(conv, norm, F.pad(x, (3, 3))))
        for conv, norm in zip(self.temporal, self.temporal_norms, strict=True):
            width = conv.kernel_size[1]
            padded = F.pad(x, ((width - 1) // 2, width // 2))  # TF 'same'
            front.append(_block_over_frequency(conv, norm, padded))
        layers = [torch.cat(front, dim=1)]  # (batch, 561, frames)
        y = layers[0]
        for k, (conv, norm) in enumerate(zip(self.mid, self.mid_norms, strict=True)):
            z = norm(F.relu(conv(F.pad(y, (3, 3)))))
            y = z if k == 0 else z + y  # residual sums after the second and third
            layers.append(y)
        features = torch.cat(layers, dim=1)  # (batch, 753, frames)
        # each feature's max beside its mean, as the original's flattening orders them
        return torch.stack([features.amax(dim=2), features.mean(dim=2)], dim=2).flatten(1)

    def embed(self, pooled: torch.Tensor) -> torch.Tensor:
        """(batch, 200): the penultimate layer from `pooled` features."""
        x = self.dropout(self.pool_norm(pooled))
        return self.dense_norm(F.relu(self.dense(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tag logits (batch, 50) for patches (batch, 1, 96, frames)."""
        return self.tags(self.dropout(self.embed(self.pooled(x))))

    def load_tf_weights(self, tensors: Mapping[str, np.ndarray]) -> None:
        """Copy a musicnn checkpoint's tensors in (see `read_checkpoint`)."""
        convs = [*self.timbral, *self.temporal]
        for k, conv in enumerate(convs):
            _copy_conv2d(conv, tensors, _numbered("conv2d", k))
        for k, conv in enumerate(self.mid):
            kernel = tensors[f"{_numbered('conv2d', len(convs) + k)}/kernel"]  # (7, C, 1, 64)
            _copy(conv.weight, kernel[:, :, 0, :].transpose(2, 1, 0))
            _copy(conv.bias, tensors[f"{_numbered('conv2d', len(convs) + k)}/bias"])
        norms = [
            self.input_norm,
            *self.timbral_norms,
            *self.temporal_norms,
            *self.mid_norms,
            self.pool_norm,
            self.dense_norm,
        ]
        for k, norm in enumerate(norms):
            _copy_norm(norm, tensors, _numbered("batch_normalization", k))
        _copy_dense(self.dense, tensors, "dense")
        _copy_dense(self.tags, tensors, "dense_1")


def _block_over_frequency(conv: nn.Conv2d, norm: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """``norm(relu(conv(x)))`` at its largest over frequency: (batch, channels, frames).

    In evaluation the norm is one affine map per channel, increasing or decreasing, and ReLU
    is increasing, so pooling first gives the same numbers with ReLU and the norm applied to
    a band's share of the values (a patch 39 -> 37 ms on one core). A channel the norm scales
    by a negative number is convolved with its weights negated, so that its largest value
    is minus its smallest; negating is exact in floating point. The convolution runs over
    `FREQUENCY_ROWS` output rows at a time, each block's maximum taken while it is still in
    the core's cache (the same numbers; a patch 34.8 -> 33.5 ms).
    """
    if norm.training:
        return norm(F.relu(conv(x))).amax(dim=2)
    sign = torch.where(norm.weight < 0, -1.0, 1.0)
    weight, bias = conv.weight * sign[:, None, None, None], conv.bias * sign
    height, rows = weight.shape[2], x.shape[2] - weight.shape[2] + 1
    largest = None
    for first in range(0, rows, FREQUENCY_ROWS):
        block = x[:, :, first : min(rows, first + FREQUENCY_ROWS) + height - 1]
        found = F.conv2d(block, weight, bias).amax(dim=2)
        largest = found if largest is None else torch.maximum(largest, found)
    pooled = F.relu(largest * sign[:, None])
    return F.batch_norm(
        pooled, norm.running_mean, norm.running_var, norm.weight, norm.bias, False, 0.0, norm.eps
    )


class Vgg(nn.Module):
    """The VGG-like baseline (MTT_vgg, MSD_vgg: 607,030 parameters); 187-frame patches only."""

    def __init__(self) -> None:
        super().__init__()
        self.input_norm = _norm2d(1)
        self.convs = nn.ModuleList(
            nn.Conv2d(1 if k == 0 else 128, 128, kernel_size=3, padding=1) for k in range(5)
        )
        self.norms = nn.ModuleList(_norm2d(128) for _ in range(5))
        # (time, frequency) pool sizes and strides, after each convolution
        self.pools = [((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2))]
        self.pools.append(((4, 4), (4, 4)))
        self.tags = nn.Linear(256, N_TAGS)
        self.dropouts = nn.ModuleList([nn.Dropout(0.25)] * 4 + [nn.Dropout(0.5)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tag logits (batch, 50) for patches (batch, 1, 96, 187)."""
        if x.shape[-1] != PATCH_FRAMES:
            raise ParameterError(f"the vgg tagger reads {PATCH_FRAMES}-frame patches only")
        x = self.input_norm(x.transpose(2, 3))  # (batch, 1, time, frequency), as trained
        for conv, norm, (size, stride), dropout in zip(
            self.convs, self.norms, self.pools, self.dropouts, strict=True
        ):
            x = dropout(F.max_pool2d(norm(F.relu(conv(x))), size, stride))
        return self.tags(x.permute(0, 2, 3, 1).flatten(1))  # flattened as TensorFlow's NHWC

    def load_tf_weights(self, tensors: Mapping[str, np.ndarray]) -> None:
        """Copy a vgg checkpoint's tensors in (see `read_checkpoint`)."""
        for k, conv in enumerate(self.convs):
            kernel = tensors[f"{k + 1}CNN/kernel"]  # (3 time, 3 frequency, in, out)
            _copy(conv.weight, kernel.transpose(3, 2, 0, 1))
            _copy(conv.bias, tensors[f"{k + 1}CNN/bias"])
        for k, norm in enumerate([self.input_norm, *self.norms]):
            _copy_norm(norm, tensors, _numbered("batch_normalization", k))
        _copy_dense(self.tags, tensors, "dense")


def _numbered(name: str, k: int) -> str:
    """TensorFlow's layer names: ``conv2d``, ``conv2d_1``, ``conv2d_2``, ..."""
    return name if k == 0 else f"{name}_{k}"


def _copy_conv2d(conv: nn.Conv2d, tensors: Mapping[str, np.ndarray], name: str) -> None:
    """A TensorFlow conv kernel (time, frequency, in, out) into (out, in, frequency, time)."""
    _copy(conv.weight, tensors[f"{name}/kernel"].transpose(3, 2, 1, 0))
    _copy(conv.bias, tensors[f"{name}/bias"])


def _copy_norm(norm: nn.Module, tensors: Mapping[str, np.ndarray], name: str) -> None:
    _copy(norm.weight, tensors[f"{name}/gamma"])
    _copy(norm.bias, tensors[f"{name}/beta"])
    _copy(norm.running_mean, tensors[f"{name}/moving_mean"])
    _copy(norm.running_var, tensors[f"{name}/moving_variance"])


def _copy_dense(linear: nn.Linear, tensors: Mapping[str, np.ndarray], name: str) -> None:
    _copy(linear.weight, tensors[f"{name}/kernel"].T)
    _copy(linear.bias, tensors[f"{name}/bias"])


def _copy(target: torch.Tensor, value: np.ndarray) -> None:
    """Copy with the shape checked, so a wrong mapping fails loudly."""
    if tuple(target.shape) != value.shape:
        raise ParameterError(f"checkpoint tensor of shape {value.shape}, expected {target.shape}")
    with torch.no_grad():
        target.copy_(torch.tensor(np.asarray(value)))

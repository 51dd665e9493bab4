"""Pure functions from samples to the arrays a network sees ("views" of a song).

Each view is one function (librosa's keyword conventions: ``y=``, ``sr=``, ``hop_length=``)
and one entry in ``_VIEWS``; `compute_view` dispatches on the name with a `FeatureConfig`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import librosa
import numpy as np

from tunetag.config import FeatureConfig
from tunetag.errors import ParameterError


def mel_spectrogram(
    *,
    y: np.ndarray,
    sr: int,
    n_fft: int = 2048,
    hop_length: int = 512,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    top_db: float = 80.0,
) -> np.ndarray:
    """Log-power mel spectrogram in dB below its loudest bin (the proposal's input).

    Relative to the maximum, so a song's level does not matter, and floored ``top_db``
    below it, so silence does not reach minus infinity.

    Parameters
    ----------
    y : np.ndarray, shape (samples,)
        Mono float samples.
    sr : int
        Sample rate of ``y`` in Hz.
    n_fft : int
        FFT length in samples.
    hop_length : int
        Samples between frames.
    n_mels : int
        Number of mel bands.
    fmin, fmax : float
        Lowest and highest band edge in Hz; ``fmax=None`` means ``sr / 2``.
    top_db : float
        Dynamic range kept, in dB.

    Returns
    -------
    np.ndarray, shape (n_mels, 1 + len(y) // hop_length), float32
        Values in ``[-top_db, 0]`` dB; the loudest bin is 0 dB.
    """
    _check_samples(y)
    if sr <= 0:
        raise ParameterError(f"sr must be a positive number of Hz, got {sr}")
    if top_db <= 0:
        raise ParameterError(f"top_db must be a positive number of dB, got {top_db}")
    power = librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=fmin, fmax=fmax
    )
    return librosa.power_to_db(power, ref=np.max, top_db=top_db).astype(np.float32)


def _mel_view(y: np.ndarray, features: FeatureConfig) -> np.ndarray:
    return mel_spectrogram(y=y, sr=features.audio.sample_rate, **dataclasses.asdict(features.mel))


_VIEWS: dict[str, Callable[[np.ndarray, FeatureConfig], np.ndarray]] = {
    "mel": _mel_view,
}

VIEW_NAMES: tuple[str, ...] = tuple(_VIEWS)


def compute_view(name: str, y: np.ndarray, features: FeatureConfig) -> np.ndarray:
    """Compute the view called ``name`` with the settings in ``features``.

    Parameters
    ----------
    name : str
        One of `VIEW_NAMES`.
    y : np.ndarray, shape (samples,)
        Mono float samples at ``features.audio.sample_rate`` Hz.
    features : FeatureConfig
        Sample rate and the parameters of every view.

    Returns
    -------
    np.ndarray
        The view; ``"mel"`` is (n_mels, frames) in dB.
    """
    if name not in _VIEWS:
        raise ParameterError(f"unknown view {name!r}; known views: {', '.join(VIEW_NAMES)}")
    return _VIEWS[name](y, features)


def _check_samples(y: np.ndarray) -> None:
    """Raise ParameterError unless ``y`` is a non-empty, finite, 1-D float array."""
    if not isinstance(y, np.ndarray) or not np.issubdtype(y.dtype, np.floating):
        raise ParameterError("y must be a float numpy array of samples")
    if y.ndim != 1:
        raise ParameterError(f"y must be mono (1-D), got shape {y.shape}")
    if y.size == 0:
        raise ParameterError("y is empty")
    if not np.isfinite(y).all():
        raise ParameterError("y holds non-finite samples (NaN or infinity)")

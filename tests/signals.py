"""Sound made on the spot for the tests (imported by basename: ``from signals import sine``)."""

from __future__ import annotations

import numpy as np


def sine(
    duration_s: float,
    sr: int = 22050,
    freq_hz: float = 440.0,
    amplitude: float = 0.5,
    channels: int = 1,
) -> np.ndarray:
    """``amplitude * sin(2 pi freq_hz t)`` for ``duration_s`` seconds at ``sr`` (float32,
    starting at phase 0): shape (samples,), or (samples, channels) with each channel alike."""
    t = np.arange(int(round(duration_s * sr))) / sr
    y = (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    return y if channels == 1 else np.repeat(y[:, None], channels, axis=1)

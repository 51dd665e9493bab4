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


def half_and_half(path, first: str, second: str, seed: int, half_s: float = 6.0):
    """A demo song of mood ``first`` followed by one of mood ``second``, ``half_s`` seconds
    each, written to ``path`` (22050 Hz): a song whose call one half should explain."""
    import soundfile as sf

    from tunetag.demo.library import synthesise_song

    rng = np.random.default_rng(seed)
    genre = {"mellow": "ambient", "not mellow": "rock"}
    halves = [synthesise_song(mood, genre[mood], half_s, 22050, rng) for mood in (first, second)]
    sf.write(path, np.concatenate(halves), 22050)
    return path

"""The proposal's picture of a song: its log-mel as a 1600x400 'magma' PNG.

The proposal drew each log-mel with ``librosa.display.specshow`` in a 16x4 inch figure at
100 dpi. `seed_image` makes the same picture as a pure array function (no figure), fast
enough to run for every song of a library.
"""

from __future__ import annotations

import io
import os

import numpy as np
from matplotlib import colormaps
from PIL import Image

from tunetag.errors import ParameterError
from tunetag.files.atomic import atomic_write_bytes


def seed_image(log_mel: np.ndarray, height: int = 400, width: int = 1600) -> np.ndarray:
    """Render a log-mel spectrogram as an RGBA picture, as specshow would draw it.

    Values are scaled by the array's own minimum and maximum (specshow's default colour
    limits), resampled to the picture's size by nearest neighbour (specshow draws each bin as
    a flat rectangle), put with the lowest mel band at the bottom and mapped through
    matplotlib's 'magma' colormap (specshow's default for all-negative dB data).

    Parameters
    ----------
    log_mel : np.ndarray, shape (n_mels, frames)
        Log-mel spectrogram in dB, lowest band first.
    height, width : int
        Picture size in pixels; mel bands run vertically, frames (time) horizontally.

    Returns
    -------
    np.ndarray, shape (height, width, 4), uint8
        RGBA, alpha 255.
    """
    log_mel = np.asarray(log_mel)
    if log_mel.ndim != 2 or log_mel.size == 0:
        raise ParameterError(f"log_mel must be a non-empty 2-D array, got shape {log_mel.shape}")
    if not np.isfinite(log_mel).all():
        raise ParameterError("log_mel holds non-finite values (NaN or infinity)")
    if height <= 0 or width <= 0:
        raise ParameterError(f"height and width must be positive pixels, got {height}x{width}")
    rows = _nearest_indices(log_mel.shape[0], height)[::-1]
    cols = _nearest_indices(log_mel.shape[1], width)
    picture = log_mel[np.ix_(rows, cols)].astype(np.float32)
    lo, hi = float(log_mel.min()), float(log_mel.max())
    scaled = (picture - lo) / (hi - lo) if hi > lo else np.zeros_like(picture)
    return colormaps["magma"](scaled, bytes=True)


def write_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Save an RGB or RGBA uint8 picture as a PNG, atomically.

    Parameters
    ----------
    path : path-like
        Where the PNG goes; its folder is created if missing.
    image : np.ndarray, shape (height, width, 3 or 4), uint8
        The picture, top row first.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ParameterError(
            f"image must be uint8 of shape (height, width, 3 or 4), got {image.dtype} {image.shape}"
        )
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def _nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """For each of ``n_out`` evenly spaced output cells, the input cell under its centre."""
    return ((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.intp)

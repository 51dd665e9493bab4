"""Pick the stretch of a song that is analysed (the proposal's 130 s window)."""

from __future__ import annotations

import numpy as np

from tunetag.config import WINDOW_POSITIONS
from tunetag.errors import ParameterError


def analysis_window(
    y: np.ndarray, sr: int, window_s: float, position: str = "centre"
) -> np.ndarray:
    """The ``window_s``-second stretch of a song that every view is computed from.

    Songs differ in length; analysing the same duration of each keeps the views the same
    shape. The centre of a song is the part most typical of it (intros and fades are left
    out), so it is the default.

    Parameters
    ----------
    y : np.ndarray, shape (samples,)
        The whole song, mono.
    sr : int
        Sample rate of ``y`` in Hz.
    window_s : float
        Length of the window in seconds.
    position : {"centre", "start"}
        ``"centre"`` takes the middle of the song, ``"start"`` its first ``window_s`` seconds.

    Returns
    -------
    np.ndarray, shape (samples,)
        A view (no copy) of ``y``: ``round(window_s * sr)`` samples, or all of ``y`` when the
        song is shorter than the window.
    """
    if sr <= 0:
        raise ParameterError(f"sr must be a positive number of Hz, got {sr}")
    if window_s <= 0:
        raise ParameterError(f"window_s must be a positive number of seconds, got {window_s}")
    if position not in WINDOW_POSITIONS:
        raise ParameterError(f"position must be one of {WINDOW_POSITIONS}, got {position!r}")
    length = int(round(window_s * sr))
    if len(y) <= length:
        return y
    start = (len(y) - length) // 2 if position == "centre" else 0
    return y[start : start + length]


def window_bounds(
    duration_s: float, window_s: float, position: str = "centre"
) -> tuple[float, float]:
    """Where `analysis_window` cuts a song, in seconds from its start.

    The labelling page starts playback here, so a person hears what the model hears.

    Parameters
    ----------
    duration_s : float
        Length of the whole song in seconds.
    window_s : float
        Length of the window in seconds.
    position : {"centre", "start"}
        As in `analysis_window`.

    Returns
    -------
    (float, float)
        Start and end of the window in seconds; the whole song when it is shorter.
    """
    if duration_s < 0:
        raise ParameterError(f"duration_s must not be negative, got {duration_s}")
    if window_s <= 0:
        raise ParameterError(f"window_s must be a positive number of seconds, got {window_s}")
    if position not in WINDOW_POSITIONS:
        raise ParameterError(f"position must be one of {WINDOW_POSITIONS}, got {position!r}")
    if duration_s <= window_s:
        return 0.0, float(duration_s)
    start_s = (duration_s - window_s) / 2 if position == "centre" else 0.0
    return start_s, start_s + window_s

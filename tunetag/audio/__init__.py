"""Decode any audio file to mono float32 at one rate, and pick the window that is analysed."""

from tunetag.audio.decode import decode, load_window
from tunetag.audio.window import analysis_window, window_bounds

__all__ = ["analysis_window", "decode", "load_window", "window_bounds"]

"""Write audio files: in blocks, because libvorbis overflows its stack on one long write."""

from __future__ import annotations

import os
from typing import BinaryIO

import numpy as np
import soundfile as sf

BLOCK_FRAMES = 1 << 16  # frames per write; libvorbis allocates one write's samples on its stack


def write_audio(
    target: str | os.PathLike | BinaryIO,
    samples: np.ndarray,
    sr: int,
    file_format: str,
    subtype: str,
) -> None:
    """Encode samples into a file or binary handle, any length, any format soundfile writes.

    A single `soundfile.write` of more than about a minute of Ogg Vorbis crashes the whole
    process (libsndfile issue 1095, python-soundfile issues 396 and 426); writing in blocks
    of `BLOCK_FRAMES` does not.

    Parameters
    ----------
    target : path-like or binary file
        Where the encoded audio goes.
    samples : np.ndarray, shape (frames,) or (frames, channels)
        The audio, float in [-1, 1].
    sr : int
        Sample rate in Hz.
    file_format, subtype : str
        As in soundfile, e.g. ``"OGG"`` and ``"VORBIS"``.
    """
    samples = np.asarray(samples)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with sf.SoundFile(
        target, "w", samplerate=sr, channels=channels, format=file_format, subtype=subtype
    ) as out:
        for start in range(0, len(samples), BLOCK_FRAMES):
            out.write(samples[start : start + BLOCK_FRAMES])

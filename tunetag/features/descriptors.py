"""Hand-crafted descriptors of a song per 3 s patch: timbre, brightness, level, harmony, rhythm.

The classic small set a classifier of a few hundred songs can read (MFCCs, spectral shape,
zero crossings, RMS, chroma, onsets and a tempo), each as its mean and standard deviation
over the frames of a patch. They are computed at one fixed analysis (`ANALYSIS`: 22050 Hz,
2048-sample FFT, hop 512), whatever the run's sample rate or frame grid, so the view means
the same in every run and its cache key names that analysis, not the run's settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from tunetag.features.librosa_import import librosa_loaded
from tunetag.features.spectrum import mel_power, power_spectrogram, power_to_db


@dataclass(frozen=True)
class DescriptorAnalysis:
    """The fixed analysis every song's descriptors are computed at."""

    sample_rate: int = 22050  # Hz; other rates are resampled (soxr, high quality) to it
    n_fft: int = 2048  # samples per FFT frame (Hann)
    hop_length: int = 512  # samples between frames
    patch_s: float = 3.0  # seconds per patch, without overlap, as musicnn's
    n_mfcc: int = 20
    n_mels: int = 128  # bands of the log-mel the MFCCs and the onset strength read
    roll_percent: float = 0.85  # share of the spectral magnitude below the roll-off
    tempo_window_s: float = 8.0  # seconds of onsets each frame's tempo autocorrelation reads


ANALYSIS = DescriptorAnalysis()

FRAME_DESCRIPTORS = (
    *(f"mfcc{k}" for k in range(ANALYSIS.n_mfcc)),
    "centroid",  # Hz
    "bandwidth",  # Hz
    "rolloff",  # Hz
    "zcr",  # zero crossings per sample
    "rms",  # amplitude, 1 for a full-scale square wave
    *(
        f"chroma-{note}"
        for note in ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    ),
    "onset",  # spectral flux of the log-mel
)
# rows of the view: every frame descriptor's mean over a patch, then every one's deviation
DESCRIPTOR_ROWS = (
    *(f"mean {name}" for name in FRAME_DESCRIPTORS),
    *(f"std {name}" for name in FRAME_DESCRIPTORS),
    "tempo",  # BPM
)


def patch_descriptors(*, y: np.ndarray, sr: int, power: np.ndarray | None = None) -> np.ndarray:
    """The descriptors of every 3 s patch of ``y``.

    Parameters
    ----------
    y : np.ndarray, shape (samples,)
        Mono float samples, full scale at +-1.
    sr : int
        Sample rate of ``y`` in Hz; resampled to ``ANALYSIS.sample_rate`` if different.
    power : np.ndarray, optional
        ``power_spectrogram(y, ANALYSIS.n_fft, ANALYSIS.hop_length)`` where the caller has
        it already (the run's own grid is the analysis'); ignored when ``y`` is resampled.

    Returns
    -------
    np.ndarray, shape (len(DESCRIPTOR_ROWS), patches), float32
        Rows named by `DESCRIPTOR_ROWS`. One column per whole patch of
        ``round(patch_s * sample_rate / hop_length)`` frames, without overlap (the frames
        after the last whole patch are left out, as musicnn does); a song shorter than a
        patch gives one column of all its frames.
    """
    if sr != ANALYSIS.sample_rate:
        y = soxr.resample(y, sr, ANALYSIS.sample_rate, quality="HQ").astype(np.float32)
        power = None
    if power is None:
        power = power_spectrogram(y, ANALYSIS.n_fft, ANALYSIS.hop_length)
    frames = _frame_descriptors(y, power)
    patch = round(ANALYSIS.patch_s * ANALYSIS.sample_rate / ANALYSIS.hop_length)
    width = min(patch, frames.shape[1])
    count = frames.shape[1] // width
    blocks = frames[:, : count * width].reshape(len(frames), count, width)
    onset = frames[FRAME_DESCRIPTORS.index("onset")]
    rows = [blocks.mean(axis=2), blocks.std(axis=2), _patch_tempo(onset, count, width)[None]]
    return np.concatenate(rows).astype(np.float32)


def _frame_descriptors(y: np.ndarray, power: np.ndarray) -> np.ndarray:
    """(len(FRAME_DESCRIPTORS), frames), float64: each descriptor on the analysis' frames."""
    librosa = librosa_loaded()
    sr, n_fft, hop = ANALYSIS.sample_rate, ANALYSIS.n_fft, ANALYSIS.hop_length
    # librosa's own log-mel for MFCCs and onsets: power_to_db(ref=1, amin=1e-10, top_db=80)
    log_mel = power_to_db(mel_power(power, sr, ANALYSIS.n_mels, 0.0, None), 1e-10, 80.0)
    magnitude = np.sqrt(power)  # the spectral shape is of magnitudes, as librosa's from y
    centroid = librosa.feature.spectral_centroid(S=magnitude, sr=sr, n_fft=n_fft)
    rows = [
        librosa.feature.mfcc(S=log_mel, n_mfcc=ANALYSIS.n_mfcc),
        centroid,
        librosa.feature.spectral_bandwidth(S=magnitude, sr=sr, n_fft=n_fft, centroid=centroid),
        librosa.feature.spectral_rolloff(
            S=magnitude, sr=sr, n_fft=n_fft, roll_percent=ANALYSIS.roll_percent
        ),
        librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop),
        librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop),
        librosa.feature.chroma_stft(S=power, sr=sr, n_fft=n_fft, tuning=0.0),
        librosa.onset.onset_strength(S=log_mel, sr=sr, n_fft=n_fft, hop_length=hop)[None],
    ]
    return np.concatenate(rows).astype(np.float64)


def _patch_tempo(onset: np.ndarray, count: int, width: int) -> np.ndarray:
    """BPM per patch: librosa's tempo (autocorrelation of onsets, log-normal prior at 120
    BPM) of the tempogram averaged over the patch's frames, each frame's autocorrelation
    reading ``tempo_window_s`` around it, so a patch's tempo sees more than its 3 s."""
    librosa = librosa_loaded()
    sr, hop = ANALYSIS.sample_rate, ANALYSIS.hop_length
    window = int(librosa.time_to_frames(ANALYSIS.tempo_window_s, sr=sr, hop_length=hop))
    tempogram = librosa.feature.tempogram(
        onset_envelope=onset, sr=sr, hop_length=hop, win_length=window
    )
    per_patch = tempogram[:, : count * width].reshape(window, count, width).mean(axis=2)
    return librosa.feature.tempo(tg=per_patch, sr=sr, hop_length=hop, aggregate=None)

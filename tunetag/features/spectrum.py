"""Short-time spectra the views share, with numpy and scipy.fft only.

librosa's STFT and mel take twice as long (float64 FFTs of float32 samples, a dense mel
product) and their first call in a fresh worker imports numba, scipy.signal and
scipy.ndimage (about 1.4 s). These compute in float32, a block of frames at a time, and
equal librosa's (``stft`` with ``pad_mode="constant"``, ``filters.mel``, ``power_to_db``) to
float32 rounding.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_BLOCK_FRAMES = 256  # frames per FFT call: few Python steps, a block (2 MB) stays in cache
_MEL_GROUPS = 8  # mel bands in this many groups, each multiplied only over its own FFT bins
_HZ_PER_MEL = 200.0 / 3  # Slaney mel scale: linear below 1 kHz ...
_LOG_MEL = 1000.0 / _HZ_PER_MEL  # ... logarithmic from 1 kHz (15 mel) ...
_MEL_LOG_STEP = np.log(6.4) / 27.0  # ... with this step in log(Hz) per mel


def power_spectrogram(y: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """|STFT|^2 of centred, zero-padded, periodic-Hann frames, as ``librosa.stft``'s.

    Parameters
    ----------
    y : np.ndarray, shape (samples,)
        Mono float samples, at least one.
    n_fft : int
        FFT and window length in samples.
    hop_length : int
        Samples between frames.

    Returns
    -------
    np.ndarray, shape (1 + n_fft // 2, frames), float32
        Power per FFT bin and frame; ``frames`` is ``1 + len(y) // hop_length`` for even
        ``n_fft``. Frame ``t`` is centred on sample ``t * hop_length``.
    """
    import scipy.fft  # here, not above: 0.15 s that importers needing no spectra skip

    padded = np.pad(y.astype(np.float32, copy=False), n_fft // 2)
    frames = sliding_window_view(padded, n_fft)[::hop_length]
    window = _hann(n_fft)
    power = np.empty((len(frames), 1 + n_fft // 2), dtype=np.float32)
    for start in range(0, len(frames), _BLOCK_FRAMES):
        block = slice(start, start + _BLOCK_FRAMES)
        spectrum = scipy.fft.rfft(frames[block] * window, axis=-1, overwrite_x=True)
        magnitude = np.abs(spectrum)
        np.multiply(magnitude, magnitude, out=power[block])
    return power.T  # frames were rows so each block is written contiguously


def mel_power(
    power: np.ndarray, sr: float, n_mels: int, fmin: float, fmax: float | None
) -> np.ndarray:
    """Mel filterbank applied to a power spectrogram, as ``librosa.feature.melspectrogram(S=)``.

    Each band weighs only a few FFT bins, so the bands go in groups, each multiplied over
    the bins it covers: half the dense product's time.

    Parameters
    ----------
    power : np.ndarray, shape (1 + n_fft // 2, frames)
        Power spectrogram; ``n_fft`` is taken as ``2 * (rows - 1)``, as librosa does.
    sr : float
        Sample rate in Hz.
    n_mels : int
        Number of mel bands.
    fmin, fmax : float
        Lowest and highest band edge in Hz; ``fmax=None`` means ``sr / 2``.

    Returns
    -------
    np.ndarray, shape (n_mels, frames), float32
        Power per mel band and frame, lowest band first.
    """
    n_fft = 2 * (power.shape[0] - 1)
    mel = np.zeros((n_mels, power.shape[1]), dtype=np.float32)
    for bands, bins, weights in _mel_groups(sr, n_fft, n_mels, fmin, fmax):
        np.matmul(weights, power[bins], out=mel[bands])
    return mel


@functools.lru_cache(maxsize=16)
def mel_filterbank(
    sr: float, n_fft: int, n_mels: int, fmin: float, fmax: float | None
) -> np.ndarray:
    """Slaney mel filterbank, area-normalised, as ``librosa.filters.mel``'s defaults.

    Cached (read-only) since every song of a run uses the same one.

    Parameters
    ----------
    sr : float
        Sample rate in Hz.
    n_fft : int
        FFT length in samples.
    n_mels : int
        Number of mel bands.
    fmin, fmax : float
        Lowest and highest band edge in Hz; ``fmax=None`` means ``sr / 2``.

    Returns
    -------
    np.ndarray, shape (n_mels, 1 + n_fft // 2), float32
        Triangular weights per band and FFT bin, each band's area ``2 / width`` in Hz.
    """
    if fmax is None:
        fmax = float(sr) / 2
    fft_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_edges = np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2)
    edges_hz = _mel_to_hz(mel_edges)
    ramps = np.subtract.outer(edges_hz, fft_hz)
    widths = np.diff(edges_hz)[:, np.newaxis]
    rising = -ramps[:-2] / widths[:-1]
    falling = ramps[2:] / widths[1:]
    weights = np.maximum(0, np.minimum(rising, falling)).astype(np.float32)
    weights *= 2.0 / (edges_hz[2:] - edges_hz[:-2])[:, np.newaxis]  # float32, then scaled
    empty = (weights.max(axis=1) == 0) & (edges_hz[:-2] > 0)  # as librosa, 0 Hz bands excused
    if empty.any():
        warnings.warn(
            f"{empty.sum()} of {n_mels} mel bands cover no FFT bin and stay silent; "
            "use fewer bands, a longer n_fft or a higher fmax",
            stacklevel=2,
        )
    weights.flags.writeable = False
    return weights


def power_to_db(power: np.ndarray, amin: float, top_db: float | None) -> np.ndarray:
    """``10 log10(max(power, amin))``, floored ``top_db`` below its maximum.

    As ``librosa.power_to_db(power, ref=1.0, amin=amin, top_db=top_db)``.

    Parameters
    ----------
    power : np.ndarray
        Power, non-negative.
    amin : float
        Smallest power, > 0, so silence is ``10 log10(amin)`` dB, not minus infinity.
    top_db : float or None
        Dynamic range kept below the maximum in dB; None keeps all.

    Returns
    -------
    np.ndarray
        dB, same shape (and float dtype) as ``power``.
    """
    log_spec = 10.0 * np.log10(np.maximum(amin, power))
    if top_db is not None:
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec


@functools.lru_cache(maxsize=16)
def _hann(n_fft: int) -> np.ndarray:
    """Periodic Hann window (``scipy.signal.get_window("hann", n_fft)``), float32."""
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    window.flags.writeable = False
    return window


@functools.lru_cache(maxsize=16)
def _mel_groups(
    sr: float, n_fft: int, n_mels: int, fmin: float, fmax: float | None
) -> tuple[tuple[slice, slice, np.ndarray], ...]:
    """The filterbank cut into (bands, bins they cover, their weights on those bins)."""
    basis = mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    groups = []
    for rows in np.array_split(np.arange(n_mels), min(_MEL_GROUPS, n_mels)):
        bands = slice(rows[0], rows[-1] + 1)
        covered = np.flatnonzero(basis[bands].any(axis=0))
        if covered.size:  # bands with no bins (too narrow for n_fft) stay zero
            bins = slice(covered[0], covered[-1] + 1)
            groups.append((bands, bins, np.ascontiguousarray(basis[bands, bins])))
    return tuple(groups)


def _hz_to_mel(hz: float) -> float:
    """Hz to Slaney mel (``librosa.hz_to_mel``)."""
    hz_array = np.asarray([hz], dtype=np.float64)
    mel = hz_array / _HZ_PER_MEL
    log_part = hz_array >= 1000.0
    mel[log_part] = _LOG_MEL + np.log(hz_array[log_part] / 1000.0) / _MEL_LOG_STEP
    return mel[0]


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of `_hz_to_mel` (``librosa.mel_to_hz``)."""
    hz = _HZ_PER_MEL * mel
    log_part = mel >= _LOG_MEL
    hz[log_part] = 1000.0 * np.exp(_MEL_LOG_STEP * (mel[log_part] - _LOG_MEL))
    return hz

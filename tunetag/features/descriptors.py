"""Hand-crafted descriptors of a song per 3 s patch: timbre, brightness, level, harmony, rhythm.

The classic small set a classifier of a few hundred songs can read (MFCCs, spectral shape,
zero crossings, RMS, chroma, onsets, spectral contrast), each as its mean and standard
deviation over the frames of a patch, then per patch a tempo and how clearly it sits in a
key, and in a major or a minor one (Krumhansl-Schmuckler key profiles). Spectral contrast
(peaks against valleys per octave band; Jiang et al., 2002) and key clarity and mode (mood
descriptors of Eerola, Lartillot and Toiviainen, 2009) raised what a probe of the
descriptors learns on every real set (README, *Which model learns your taste*). They are
computed at one fixed analysis (`ANALYSIS`: 22050 Hz, 2048-sample FFT, hop 512), whatever
the run's sample rate or frame grid, so the view means the same in every run and its cache
key names that analysis, not the run's settings.

With `FeatureConfig.patches_per_window` set they are computed for only that many patches,
evenly spaced, each from the few seconds of samples its frames and its tempo read (a
quarter of the work for 8 patches of a 130 s window), giving those columns of the
whole-window array (see `_some_patches`), so predicting a library costs less.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from tunetag.errors import ParameterError
from tunetag.features.librosa_import import librosa_loaded
from tunetag.features.patches import spread_patches
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
    contrast_bands: int = 6  # octave bands of the spectral contrast, above one below 200 Hz
    key_profiles: str = "krumhansl-kessler"  # what the key rows correlate each patch's chroma with


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
    *(f"contrast{k}" for k in range(ANALYSIS.contrast_bands + 1)),  # dB, lowest band first
)
# rows of the view: every frame descriptor's mean over a patch, then every one's deviation
DESCRIPTOR_ROWS = (
    *(f"mean {name}" for name in FRAME_DESCRIPTORS),
    *(f"std {name}" for name in FRAME_DESCRIPTORS),
    "tempo",  # BPM
    "key clarity",  # the patch's mean chroma's best correlation with the 24 key profiles
    "mode",  # its best major key's correlation less its best minor key's: > 0 major
)
# Krumhansl and Kessler's (1982) probe-tone ratings of the 12 pitch classes from the tonic
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


PATCH_FRAMES = round(ANALYSIS.patch_s * ANALYSIS.sample_rate / ANALYSIS.hop_length)  # 129
# frames on each side of a frame's centre that its FFT reads: a stretch of samples gives its
# frames exactly once it reaches this far past them
_FFT_REACH = -(-ANALYSIS.n_fft // 2 // ANALYSIS.hop_length)
_ONSET_DELAY = 3  # onset frame t is the flux from log-mel frame t - 3 to t - 2 (librosa's)


def patch_descriptors(
    *,
    y: np.ndarray,
    sr: int,
    power: np.ndarray | None = None,
    patches: int | None = None,
) -> np.ndarray:
    """The descriptors of every 3 s patch of ``y``, or of ``patches`` of them.

    Parameters
    ----------
    y : np.ndarray, shape (samples,)
        Mono float samples, full scale at +-1.
    sr : int
        Sample rate of ``y`` in Hz; resampled to ``ANALYSIS.sample_rate`` if different.
    power : np.ndarray, optional
        ``power_spectrogram(y, ANALYSIS.n_fft, ANALYSIS.hop_length)`` where the caller has
        it already (the run's own grid is the analysis'); ignored when ``y`` is resampled.
    patches : int, optional
        Analyse only this many patches, evenly spaced from the first to the last
        (`spread_patches`, as the musicnn views pick theirs),
        each from the samples around it that its frames and its tempo read: its column is
        the whole-window one but for the 80 dB floors of the log-mel and the contrast, then
        relative to the loudest bin of what is analysed (see `_some_patches`). None, or at
        least the window's patches: every patch.

    Returns
    -------
    np.ndarray, shape (len(DESCRIPTOR_ROWS), patches), float32
        Rows named by `DESCRIPTOR_ROWS`. One column per whole patch of `PATCH_FRAMES`
        frames, without overlap (the frames after the last whole patch are left out, as
        musicnn does); a song shorter than a patch gives one column of all its frames.
    """
    if patches is not None and (isinstance(patches, bool) or patches < 1):
        raise ParameterError(f"patches must be 1 or more (or None), got {patches!r}")
    if sr != ANALYSIS.sample_rate:
        y = soxr.resample(y, sr, ANALYSIS.sample_rate, quality="HQ").astype(np.float32)
        power = None
    width = min(PATCH_FRAMES, 1 + len(y) // ANALYSIS.hop_length)
    count = (1 + len(y) // ANALYSIS.hop_length) // width
    chosen = spread_patches(count, patches)
    if chosen is not None:
        return _some_patches(y, power, chosen * width, width)
    if power is None:
        power = power_spectrogram(y, ANALYSIS.n_fft, ANALYSIS.hop_length)
    log_mel = _log_mel(power)
    frames = _frame_descriptors(power, log_mel, _sample_rows(y), _onset(log_mel))
    blocks = frames[:, : count * width].reshape(len(frames), count, width)
    onset = frames[FRAME_DESCRIPTORS.index("onset")]
    tempo = _patch_tempo(onset, count, width)
    return _patch_rows(blocks, tempo)


def _some_patches(
    y: np.ndarray, power: np.ndarray | None, starts: np.ndarray, width: int
) -> np.ndarray:
    """The columns of the patches of ``width`` frames from ``starts``, each computed from
    the stretch of frames its tempo reads (its frames, ``tempo_window_s`` of onsets around
    them and the log-mel frames those onsets are the flux of), clipped at the window's ends
    as the whole window's computation is: so every number but the log-mel's floor and the
    spectral contrast's is the whole window's. Those floors (80 dB under the loudest bin,
    as librosa's) are taken over every stretch together, which holds the whole window's
    loudest bin unless it lies between them; they decide only bins that far under, as in
    silence or a pure tone."""
    n_frames = 1 + len(y) // ANALYSIS.hop_length
    window = _tempo_window()
    before = window // 2 + _ONSET_DELAY  # tempogram frame t reads onsets t - window // 2 ...
    after = window - window // 2 - 1  # ... to t + window - window // 2 - 1
    stretches: list[list[int]] = []  # [first, stop) frames, overlapping ones merged
    for start in starts:
        first, stop = max(0, start - before), min(n_frames, start + width + after)
        if stretches and first <= stretches[-1][1]:
            stretches[-1][1] = stop
        else:
            stretches.append([first, stop])
    powers = [
        power[:, first:stop] if power is not None else _stretch_power(y, first, stop)
        for first, stop in stretches
    ]
    # one dB conversion over every stretch, so they share one floor, as the window's frames
    mels = np.concatenate([mel_power(part, *_MEL) for part in powers], axis=1)
    log_mels = np.split(_db(mels), np.cumsum([part.shape[1] for part in powers])[:-1], axis=1)
    spectra, log_mel_frames, sample_frames, onset_frames, tempograms = [], [], [], [], []
    for (first, stop), part, log_mel in zip(stretches, powers, log_mels, strict=True):
        onset = _onset(log_mel)
        ramped = _ramp(onset, window)  # index k: the window's ramped onsets at first + k
        for start in starts[(starts >= first) & (starts + width <= stop)]:
            own = slice(start - first, start - first + width)
            samples, offset = _stretch_samples(y, start, start + width)
            spectra.append(part[:, own])
            log_mel_frames.append(log_mel[:, own])
            sample_frames.append(_sample_rows(samples)[:, offset : offset + width])
            onset_frames.append(onset[own])
            reads = ramped[own.start : own.stop + window - 1]  # its frames' onset windows
            tempograms.append(_tempogram(reads, center=False))
    frames = _frame_descriptors(
        np.concatenate(spectra, axis=1),
        np.concatenate(log_mel_frames, axis=1),
        np.concatenate(sample_frames, axis=1),
        np.concatenate(onset_frames),
    )
    blocks = frames.reshape(len(frames), len(starts), width)
    per_patch = np.stack([tempogram.mean(axis=1) for tempogram in tempograms], axis=1)
    return _patch_rows(blocks, _tempo(per_patch))


def _patch_rows(blocks: np.ndarray, tempo: np.ndarray) -> np.ndarray:
    """`DESCRIPTOR_ROWS` of frame descriptors (descriptors, patches, frames) and the
    patches' tempi: means, deviations, tempo, then the key rows of the mean chroma."""
    means = blocks.mean(axis=2)
    chroma = slice(FRAME_DESCRIPTORS.index("chroma-C"), FRAME_DESCRIPTORS.index("chroma-B") + 1)
    rows = [means, blocks.std(axis=2), tempo[None], _key_strengths(means[chroma])]
    return np.concatenate(rows).astype(np.float32)


def _key_strengths(chroma: np.ndarray) -> np.ndarray:
    """(2, patches): key clarity and mode of (12, patches) mean chroma, from the Pearson
    correlations with the 12 rotations of each key profile (Krumhansl-Schmuckler); a patch
    whose chroma is flat (silence) correlates with nothing and gets 0 for both."""
    centred = chroma - chroma.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(centred, axis=0, keepdims=True)
    unit = np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 1e-12)
    best = []
    for profile in (MAJOR_PROFILE, MINOR_PROFILE):
        keys = np.stack([np.roll(profile, tonic) for tonic in range(12)])
        keys = keys - keys.mean(axis=1, keepdims=True)
        keys /= np.linalg.norm(keys, axis=1, keepdims=True)
        best.append((keys @ unit).max(axis=0))
    major, minor = best
    return np.stack([np.maximum(major, minor), major - minor])


def _frame_descriptors(
    power: np.ndarray, log_mel: np.ndarray, sample_rows: np.ndarray, onset: np.ndarray
) -> np.ndarray:
    """(len(FRAME_DESCRIPTORS), frames), float64: each descriptor on the analysis' frames,
    from their power spectra, log-mel, `_sample_rows` and `_onset`."""
    librosa = librosa_loaded()
    sr, n_fft = ANALYSIS.sample_rate, ANALYSIS.n_fft
    magnitude = np.sqrt(power)  # the spectral shape is of magnitudes, as librosa's from y
    centroid = librosa.feature.spectral_centroid(S=magnitude, sr=sr, n_fft=n_fft)
    rows = [
        librosa.feature.mfcc(S=log_mel, n_mfcc=ANALYSIS.n_mfcc),
        centroid,
        _bandwidth(magnitude, centroid),
        librosa.feature.spectral_rolloff(
            S=magnitude, sr=sr, n_fft=n_fft, roll_percent=ANALYSIS.roll_percent
        ),
        sample_rows,
        librosa.feature.chroma_stft(S=power, sr=sr, n_fft=n_fft, tuning=0.0),
        onset[None],
        librosa.feature.spectral_contrast(
            S=magnitude, sr=sr, n_fft=n_fft, n_bands=ANALYSIS.contrast_bands
        ),
    ]
    return np.concatenate(rows).astype(np.float64)


def _bandwidth(magnitude: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    """librosa's spectral bandwidth (p = 2), its frame normalisation done once on the sums:
    librosa's own normalises every bin and takes a quarter of the descriptors' time."""
    librosa = librosa_loaded()
    sr, n_fft = ANALYSIS.sample_rate, ANALYSIS.n_fft
    raw = librosa.feature.spectral_bandwidth(
        S=magnitude, sr=sr, n_fft=n_fft, centroid=centroid, norm=False
    )
    total = magnitude.sum(axis=0, keepdims=True)
    total[total < np.finfo(magnitude.dtype).tiny] = 1.0  # librosa leaves such frames as they are
    return raw / np.sqrt(total)


_MEL = (ANALYSIS.sample_rate, ANALYSIS.n_mels, 0.0, None)  # mel_power's bands


def _db(mel: np.ndarray) -> np.ndarray:
    """librosa's own log-mel for MFCCs and onsets: power_to_db(ref=1, amin=1e-10, top_db=80)."""
    return power_to_db(mel, 1e-10, 80.0)


def _log_mel(power: np.ndarray) -> np.ndarray:
    return _db(mel_power(power, *_MEL))


def _sample_rows(y: np.ndarray) -> np.ndarray:
    """(2, 1 + len(y) // hop_length): zero crossings and RMS of the samples' centred frames."""
    librosa = librosa_loaded()
    n_fft, hop = ANALYSIS.n_fft, ANALYSIS.hop_length
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop)
    rms = librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop)
    return np.concatenate([zcr, rms])


def _onset(log_mel: np.ndarray) -> np.ndarray:
    librosa = librosa_loaded()
    sr, n_fft, hop = ANALYSIS.sample_rate, ANALYSIS.n_fft, ANALYSIS.hop_length
    return librosa.onset.onset_strength(S=log_mel, sr=sr, n_fft=n_fft, hop_length=hop)


def _stretch_samples(y: np.ndarray, first: int, stop: int) -> tuple[np.ndarray, int]:
    """The samples the centred frames ``[first, stop)`` of ``y`` read, and the index of
    frame ``first`` among the stretch's own frames (the window's ends as in ``y``)."""
    hop = ANALYSIS.hop_length
    begin = max(0, first - _FFT_REACH)
    return y[begin * hop : (stop - 1 + _FFT_REACH) * hop], first - begin


def _stretch_power(y: np.ndarray, first: int, stop: int) -> np.ndarray:
    """Frames ``[first, stop)`` of ``power_spectrogram(y)``, from their samples only."""
    samples, offset = _stretch_samples(y, first, stop)
    power = power_spectrogram(samples, ANALYSIS.n_fft, ANALYSIS.hop_length)
    return power[:, offset : offset + stop - first]


def _tempo_window() -> int:
    """Onset frames each tempogram frame reads: ``tempo_window_s``."""
    librosa = librosa_loaded()
    sr, hop = ANALYSIS.sample_rate, ANALYSIS.hop_length
    return int(librosa.time_to_frames(ANALYSIS.tempo_window_s, sr=sr, hop_length=hop))


def _ramp(onset: np.ndarray, window: int) -> np.ndarray:
    """The onsets as librosa's centred tempogram pads them (a ramp down to 0 at each end)."""
    return np.pad(onset, window // 2, mode="linear_ramp", end_values=0)


def _tempogram(onset: np.ndarray, center: bool) -> np.ndarray:
    librosa = librosa_loaded()
    sr, hop = ANALYSIS.sample_rate, ANALYSIS.hop_length
    return librosa.feature.tempogram(
        onset_envelope=onset, sr=sr, hop_length=hop, win_length=_tempo_window(), center=center
    )


def _tempo(per_patch: np.ndarray) -> np.ndarray:
    """librosa's tempo of each column of averaged tempogram frames."""
    librosa = librosa_loaded()
    sr, hop = ANALYSIS.sample_rate, ANALYSIS.hop_length
    return librosa.feature.tempo(tg=per_patch, sr=sr, hop_length=hop, aggregate=None)


def _patch_tempo(onset: np.ndarray, count: int, width: int) -> np.ndarray:
    """BPM per patch: librosa's tempo (autocorrelation of onsets, log-normal prior at 120
    BPM) of the tempogram averaged over the patch's frames, each frame's autocorrelation
    reading ``tempo_window_s`` around it, so a patch's tempo sees more than its 3 s."""
    tempogram = _tempogram(onset, center=True)
    per_patch = tempogram[:, : count * width].reshape(len(tempogram), count, width).mean(axis=2)
    return _tempo(per_patch)

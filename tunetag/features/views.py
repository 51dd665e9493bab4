"""Pure functions from samples to the arrays a network sees ("views" of a song).

The proposal looked at "spectrograms, chromagrams, tempograms and waveforms ... because they
provide very different views of the same data". Each view is one function with librosa's
keyword conventions (``y=``, ``sr=``, ``n_fft=``, ``hop_length=``) and one entry in
`VIEWS`. Every frame view uses centred frames on one grid, ``1 + len(y) // hop_length``
frames of ``hop_length`` samples, so frames ``[a, b)`` are the same seconds in every view.

What a view is (its function, its rows, per frame or per 3 s patch, in dB or not, the
settings its cache key names) is one `View` in that table; a package adds its own with
`register_view`, as `tunetag.pretrained` adds ``musicnn`` and its kin, pretrained networks'
layers per 3 s patch, so this module never imports a network. ``descriptors``
(`tunetag.features.descriptors`) are hand-crafted, per 3 s patch too.

`compute_views` computes several views of one song from a `FeatureConfig`, sharing one
short-time Fourier transform between the mel, the chromagram, the tempogram's onsets and the
descriptors (on their grid), and whatever else views share through `SongSamples.shared`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import asdict, dataclass

import numpy as np

from tunetag.config import MAX_SAMPLE_MAGNITUDE, MEL_SCALES, FeatureConfig
from tunetag.errors import ParameterError
from tunetag.features.descriptors import ANALYSIS, DESCRIPTOR_ROWS, patch_descriptors
from tunetag.features.librosa_import import librosa_loaded
from tunetag.features.patches import with_patches
from tunetag.features.spectrum import mel_filterbank, mel_power, power_spectrogram, power_to_db


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
    scale: str = "db",
) -> np.ndarray:
    """Log-power mel spectrogram in dB re full scale (the proposal's input, level kept).

    Loudness is a main cue of mood (mellow songs are soft), so the level is kept: 0 dB is
    the power a full-scale sine (amplitude 1) gives in the band where it reads loudest,
    which holds for sines below about 1 kHz, where the mel bands are narrowest; a
    full-scale sine higher up reads a few dB lower (its band is wider and flatter). Values
    are floored ``top_db`` below the song's loudest bin, and never below -100 dB, so
    silence does not reach minus infinity.

    ``scale="logc"`` gives the input the pretrained musicnn taggers were trained on
    instead: ``log10(1 + 10000 x)`` of the mel power ``x`` (not re full scale) rounded to
    float16, as their training data were stored; 0 for silence, about 4 to 6 for loud bands.

    Parameters
    ----------
    y : np.ndarray, shape (samples,)
        Mono float samples, full scale at +-1.
    sr : int
        Sample rate of ``y`` in Hz.
    n_fft : int
        FFT length in samples (Hann window).
    hop_length : int
        Samples between frames.
    n_mels : int
        Number of mel bands.
    fmin, fmax : float
        Lowest and highest band edge in Hz; ``fmax=None`` means ``sr / 2``.
    top_db : float
        Dynamic range kept below the loudest bin, in dB (``"db"`` scale).
    scale : {"db", "logc"}
        How the mel power is compressed.

    Returns
    -------
    np.ndarray, shape (n_mels, 1 + len(y) // hop_length), float32
        Lowest band first. ``"db"``: dB re full scale, at most about 0 dB for full-scale
        music, and within ``[max - top_db, max]``; ``"logc"``: at least 0.
    """
    _check_samples(y)
    _check_grid(sr, n_fft, hop_length)
    _check_positive_int("n_mels", n_mels)
    if not top_db > 0:
        raise ParameterError(f"top_db must be a positive number of dB, got {top_db}")
    if scale not in MEL_SCALES:
        raise ParameterError(f"unknown mel scale {scale!r}; known scales: {', '.join(MEL_SCALES)}")
    power = power_spectrogram(y, n_fft, hop_length)
    return _log_mel(power, sr, n_mels, fmin, fmax, top_db, scale)


def chromagram(
    *,
    y: np.ndarray,
    sr: int,
    n_fft: int = 2048,
    hop_length: int = 512,
    n_chroma: int = 12,
    tuning: float | None = 0.0,
) -> np.ndarray:
    """Energy per pitch class, frame by frame: the harmony, whatever the octave or level.

    ``librosa.feature.chroma_stft`` of the power spectrogram, each frame divided by its
    largest pitch class.

    Parameters
    ----------
    y : np.ndarray, shape (samples,)
        Mono float samples.
    sr : int
        Sample rate of ``y`` in Hz.
    n_fft : int
        FFT length in samples (Hann window).
    hop_length : int
        Samples between frames.
    n_chroma : int
        Pitch classes per octave (rows); 12 is one per semitone.
    tuning : float or None
        Deviation from A440 in fractions of a chroma bin; None estimates it from ``y``.

    Returns
    -------
    np.ndarray, shape (n_chroma, 1 + len(y) // hop_length), float32
        Values in [0, 1]: 1 for each frame's strongest pitch class, 0 in digital silence.
        Row 0 is C, row ``n_chroma * 9 // 12`` is A.
    """
    _check_samples(y)
    _check_grid(sr, n_fft, hop_length)
    _check_positive_int("n_chroma", n_chroma)
    _check_tuning(tuning)
    power = power_spectrogram(y, n_fft, hop_length)
    return _chroma(power, sr, n_chroma, tuning)


def tempogram(
    *,
    y: np.ndarray,
    sr: int,
    n_fft: int = 2048,
    hop_length: int = 512,
    win_length: int = 384,
) -> np.ndarray:
    """How periodic the onsets are at each lag, frame by frame: tempo and rhythm.

    ``librosa.feature.tempogram`` (local autocorrelation, Hann-windowed, each frame divided
    by its largest value) of ``librosa.onset.onset_strength`` (spectral flux of a 128-band
    log-mel) on the same frame grid.

    Parameters
    ----------
    y : np.ndarray, shape (samples,)
        Mono float samples.
    sr : int
        Sample rate of ``y`` in Hz.
    n_fft : int
        FFT length in samples of the onset detector's spectrogram.
    hop_length : int
        Samples between frames; also the lag step.
    win_length : int
        Onset frames per autocorrelation window, and the number of lags (rows).

    Returns
    -------
    np.ndarray, shape (win_length, 1 + len(y) // hop_length), float32
        Values in [0, 1]; row ``k`` is a lag of ``k`` frames, a tempo of
        ``60 * sr / (hop_length * k)`` BPM (``librosa.tempo_frequencies(win_length,
        hop_length=hop_length, sr=sr)`` gives every row's BPM); row 0 is 1 unless the frame
        has no onsets at all.
    """
    _check_samples(y)
    _check_grid(sr, n_fft, hop_length)
    _check_positive_int("win_length", win_length)
    power = power_spectrogram(y, n_fft, hop_length)
    return _tempogram(power, sr, n_fft, hop_length, win_length)


def waveform_envelope(
    *,
    y: np.ndarray,
    sr: int,
    n_fft: int = 2048,
    hop_length: int = 512,
    floor_db: float = -80.0,
) -> np.ndarray:
    """The proposal's waveform picture as a frame-rate envelope a network can use.

    Per centred frame of ``n_fft`` samples (zero-padded at the ends, as the mel's frames):
    the peak of the positive half, the peak of the negative half and the RMS, so level,
    dynamics and asymmetry are kept at the mel's frame rate.

    Parameters
    ----------
    y : np.ndarray, shape (samples,)
        Mono float samples, full scale at +-1.
    sr : int
        Sample rate of ``y`` in Hz (checked only; the envelope is in samples).
    n_fft : int
        Frame length in samples.
    hop_length : int
        Samples between frames.
    floor_db : float
        Negative dB re full scale; quieter values are clipped to it.

    Returns
    -------
    np.ndarray, shape (3, 1 + len(y) // hop_length), float32
        dB re full scale (``20 * log10``, an amplitude of 1 is 0 dB), in ``[floor_db, 0]``
        for samples within +-1. Row 0: largest sample; row 1: largest magnitude of a
        negative sample; row 2: RMS (``librosa.feature.rms``, ``frame_length=n_fft``).
    """
    _check_samples(y)
    _check_grid(sr, n_fft, hop_length)
    if not (math.isfinite(floor_db) and floor_db < 0):
        raise ParameterError(f"floor_db must be a negative number of dB, got {floor_db}")
    librosa = librosa_loaded()
    padded = np.pad(y, n_fft // 2)
    frames = librosa.util.frame(padded, frame_length=n_fft, hop_length=hop_length)
    positive = np.maximum(frames.max(axis=0), 0.0)
    negative = np.maximum(-frames.min(axis=0), 0.0)
    rms = librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop_length, center=True)[0]
    amplitude = np.stack([positive, negative, rms])
    with np.errstate(divide="ignore"):  # silence is -inf dB until clipped
        level_db = 20.0 * np.log10(amplitude)
    return np.maximum(level_db, floor_db).astype(np.float32)


def compute_views(
    names: Iterable[str], y: np.ndarray, features: FeatureConfig
) -> dict[str, np.ndarray]:
    """Compute several views of one song, sharing its power spectrogram between them.

    The same arrays as calling each view's function, with the STFT computed once.

    Parameters
    ----------
    names : iterable of str
        Views to compute, each one of `view_names`.
    y : np.ndarray, shape (samples,)
        Mono float samples at ``features.audio.sample_rate`` Hz.
    features : FeatureConfig
        Sample rate, the frame grid (``features.mel.n_fft`` and ``hop_length``, shared by
        every view) and each view's own settings (``features.chroma``, ...).

    Returns
    -------
    dict of str to np.ndarray
        Name -> array of shape (`view_rows`, 1 + len(y) // hop_length), float32; views
        with `View.per_patch` (``"descriptors"``, the musicnn ones) have one column per 3 s
        patch instead.
    """
    names = tuple(names)
    for name in names:
        _check_view_name(name)
    _check_samples(y)
    song = SongSamples(y, features)
    return {name: VIEWS[name].compute(song, features) for name in names}


def compute_view(name: str, y: np.ndarray, features: FeatureConfig) -> np.ndarray:
    """Compute the view called ``name`` with the settings in ``features``.

    Parameters
    ----------
    name : str
        One of `view_names`.
    y : np.ndarray, shape (samples,)
        Mono float samples at ``features.audio.sample_rate`` Hz.
    features : FeatureConfig
        Sample rate, frame grid and the parameters of every view.

    Returns
    -------
    np.ndarray, shape (view_rows(name, features), 1 + len(y) // hop_length), float32
        ``"mel"``: bands in dB; ``"chroma"``: pitch classes in [0, 1]; ``"tempogram"``: lags
        in [0, 1]; ``"waveform"``: peak+, peak- and RMS in dB; per 3 s patch instead of
        per frame: ``"descriptors"`` (`DESCRIPTOR_ROWS`), ``"musicnn"`` and its kin (the
        pretrained taggers' layers, see `tunetag.pretrained.embedding`).
    """
    return compute_views((name,), y, features)[name]


def view_rows(name: str, features: FeatureConfig) -> int:
    """Rows of a view's array under ``features``, without computing it (to build models).

    Parameters
    ----------
    name : str
        One of `view_names`.
    features : FeatureConfig
        The view settings.

    Returns
    -------
    int
        Mel bands, pitch classes, tempogram lags, 3 for the waveform envelope, 93
        descriptors, or a network layer's units.
    """
    _check_view_name(name)
    return VIEWS[name].rows(features)


class SongSamples:
    """One song's samples and, computed on first use, what several of its views share."""

    def __init__(self, y: np.ndarray, features: FeatureConfig) -> None:
        self.y = y
        self.sr = features.audio.sample_rate
        self.n_fft = features.mel.n_fft
        self.hop_length = features.mel.hop_length
        self._shared: dict[Hashable, object] = {}

    @functools.cached_property
    def power(self) -> np.ndarray:
        return power_spectrogram(self.y, self.n_fft, self.hop_length)

    def shared(self, key: Hashable, compute: Callable[[], object]) -> object:
        """``compute()`` on the first call with ``key``, the same object on later ones: a
        network's forward pass that two views of this song read runs once."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]


@dataclass(frozen=True)
class View:
    """What a view is: how it is computed, how many rows it has, how to read it, and which
    settings decide its array (what its cache key names besides the decoded window)."""

    compute: Callable[[SongSamples, FeatureConfig], np.ndarray]
    rows: Callable[[FeatureConfig], int]
    per_patch: bool = False  # one column per 3 s patch, not per frame: whole-song summaries only
    in_db: bool = False  # values in dB, where a change of level is an added constant
    # a JSON value of what decides the array beside features.audio; None: the frame grid
    # (features.mel) and the FeatureConfig field named as the view (features.chroma, ...)
    settings: Callable[[FeatureConfig], object] | None = None


def _mel_view(song: SongSamples, features: FeatureConfig) -> np.ndarray:
    mel = features.mel
    return _log_mel(song.power, song.sr, mel.n_mels, mel.fmin, mel.fmax, mel.top_db, mel.scale)


def _chroma_view(song: SongSamples, features: FeatureConfig) -> np.ndarray:
    chroma = features.chroma
    _check_positive_int("n_chroma", chroma.n_chroma)
    _check_tuning(chroma.tuning)
    return _chroma(song.power, song.sr, chroma.n_chroma, chroma.tuning)


def _tempogram_view(song: SongSamples, features: FeatureConfig) -> np.ndarray:
    win_length = features.tempogram.win_length
    _check_positive_int("win_length", win_length)
    return _tempogram(song.power, song.sr, song.n_fft, song.hop_length, win_length)


def _waveform_view(song: SongSamples, features: FeatureConfig) -> np.ndarray:
    return waveform_envelope(
        y=song.y,
        sr=song.sr,
        n_fft=song.n_fft,
        hop_length=song.hop_length,
        floor_db=features.waveform.floor_db,
    )


def _descriptors_view(song: SongSamples, features: FeatureConfig) -> np.ndarray:
    """On `FeatureConfig.patches_per_window` patches where set; the run's STFT is lent when
    on the analysis' grid, but not computed for patches that read only stretches of it."""
    grid = (song.sr, song.n_fft, song.hop_length)
    same_grid = grid == (ANALYSIS.sample_rate, ANALYSIS.n_fft, ANALYSIS.hop_length)
    patches = features.patches_read
    computed = "power" in vars(song)  # functools.cached_property keeps it there
    lend = same_grid and (patches is None or computed)
    return patch_descriptors(
        y=song.y, sr=song.sr, power=song.power if lend else None, patches=patches
    )


def _descriptors_settings(features: FeatureConfig) -> dict[str, object]:
    """The analysis, and the patches when not every one (the keys before them unchanged)."""
    return with_patches(asdict(ANALYSIS), features.patches_read)


VIEWS: dict[str, View] = {
    "mel": View(_mel_view, lambda features: features.mel.n_mels, in_db=True),
    "chroma": View(_chroma_view, lambda features: features.chroma.n_chroma),
    "tempogram": View(_tempogram_view, lambda features: features.tempogram.win_length),
    "waveform": View(_waveform_view, lambda features: 3, in_db=True),
    "descriptors": View(
        _descriptors_view,
        lambda features: len(DESCRIPTOR_ROWS),
        per_patch=True,
        settings=_descriptors_settings,
    ),
}
# the views of the signal itself, one column a frame
FRAME_VIEWS: tuple[str, ...] = tuple(name for name, view in VIEWS.items() if not view.per_patch)


def register_view(name: str, view: View) -> None:
    """Add a view that `compute_views`, the cache and the models then know by ``name``."""
    if name in VIEWS and VIEWS[name] != view:
        raise ParameterError(f"a different view is already called {name!r}")
    VIEWS[name] = view


def view_names() -> tuple[str, ...]:
    """The names of every view known now (`tunetag.pretrained` adds ``musicnn`` and its kin)."""
    return tuple(VIEWS)


def patch_views(names: Iterable[str]) -> list[str]:
    """Those of ``names`` with one column per 3 s patch (for whole-song summaries only)."""
    return [name for name in names if VIEWS[name].per_patch]


def _log_mel(
    power: np.ndarray,
    sr: int,
    n_mels: int,
    fmin: float,
    fmax: float | None,
    top_db: float,
    scale: str,
) -> np.ndarray:
    if scale == "logc":
        stored = mel_power(power, sr, n_mels, fmin, fmax).astype(np.float16).astype(np.float32)
        return np.log10(10000 * stored + 1)
    n_fft = 2 * (power.shape[0] - 1)
    full_scale = _full_scale_mel_power(sr, n_fft, n_mels, fmin, fmax)
    mel = mel_power(power, sr, n_mels, fmin, fmax) / full_scale
    return power_to_db(mel, amin=1e-10, top_db=top_db).astype(np.float32)


@functools.lru_cache(maxsize=16)
def _full_scale_mel_power(
    sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None
) -> float:
    """Mel power of a full-scale sine on the FFT bin and in the band where it is largest.

    A periodic Hann window's spectrum has three non-zero bins, ``n_fft / 2`` at 0 and
    ``-n_fft / 4`` at +-1, so a sine on bin k puts ``lobe[0]`` in bin k and ``lobe[1]`` in
    each neighbour.
    """
    basis = mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    lobe = (np.array([n_fft / 2, n_fft / 4]) / 2) ** 2  # a unit sine is two half-amplitude lines
    sine_power = lobe[0] * basis[:, 1:-1] + lobe[1] * (basis[:, :-2] + basis[:, 2:])
    return float(sine_power.max())


def _chroma(power: np.ndarray, sr: int, n_chroma: int, tuning: float | None) -> np.ndarray:
    librosa = librosa_loaded()
    chroma = librosa.feature.chroma_stft(S=power, sr=sr, n_chroma=n_chroma, tuning=tuning)
    return chroma.astype(np.float32)


def _tempogram(
    power: np.ndarray, sr: int, n_fft: int, hop_length: int, win_length: int
) -> np.ndarray:
    """librosa's default onset strength (from a 128-band log-mel), then its tempogram."""
    librosa = librosa_loaded()
    onset_mel = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr, fmax=sr / 2))
    onsets = librosa.onset.onset_strength(S=onset_mel, sr=sr, n_fft=n_fft, hop_length=hop_length)
    rows = librosa.feature.tempogram(
        onset_envelope=onsets, sr=sr, hop_length=hop_length, win_length=win_length
    )
    return np.clip(rows, 0.0, 1.0).astype(np.float32)  # onsets are >= 0; FFT round-off is not


def _check_view_name(name: str) -> None:
    if name not in VIEWS:
        raise ParameterError(f"unknown view {name!r}; known views: {', '.join(VIEWS)}")


def _check_samples(y: np.ndarray) -> None:
    """Raise ParameterError unless ``y`` is a non-empty, finite, 1-D float array within
    `MAX_SAMPLE_MAGNITUDE`."""
    if not isinstance(y, np.ndarray) or not np.issubdtype(y.dtype, np.floating):
        raise ParameterError("y must be a float numpy array of samples")
    if y.ndim != 1:
        raise ParameterError(f"y must be mono (1-D), got shape {y.shape}")
    if y.size == 0:
        raise ParameterError("y is empty")
    peak = float(np.max(np.abs(y)))  # NaN when any sample is
    if not np.isfinite(peak):
        raise ParameterError("y holds non-finite samples (NaN or infinity)")
    if peak > MAX_SAMPLE_MAGNITUDE:  # its power would overflow float32 towards infinity
        raise ParameterError(f"y reaches {peak:.3g}, past {MAX_SAMPLE_MAGNITUDE:g}: not audio")


def _check_grid(sr: int, n_fft: int, hop_length: int) -> None:
    if not sr > 0:
        raise ParameterError(f"sr must be a positive number of Hz, got {sr}")
    _check_positive_int("n_fft", n_fft)
    _check_positive_int("hop_length", hop_length)


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ParameterError(f"{name} must be a positive whole number, got {value!r}")


def _check_tuning(tuning: float | None) -> None:
    if tuning is not None and not math.isfinite(tuning):
        raise ParameterError(f"tuning must be a finite fraction of a bin or None, got {tuning}")

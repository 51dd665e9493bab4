"""The shared short-time spectra equal librosa's, and the mel view imports nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import librosa
import numpy as np
import pytest

from tunetag.features.spectrum import mel_filterbank, mel_power, power_spectrogram, power_to_db

SR = 22050


def noise(n_samples: int, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(n_samples)).astype(np.float32)


def librosa_power(y: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_fft is too large" for the short signals
        return np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length)) ** 2


@pytest.mark.parametrize("n_samples", [1, 100, 2047, 2048, 2049, 12345])
@pytest.mark.parametrize(("n_fft", "hop_length"), [(2048, 512), (1024, 333), (2047, 100), (512, 7)])
def test_power_spectrogram_is_librosa_stft_squared(n_samples, n_fft, hop_length):
    y = noise(n_samples)
    power = power_spectrogram(y, n_fft, hop_length)
    expected = librosa_power(y, n_fft, hop_length)
    assert power.shape == expected.shape
    assert power.dtype == np.float32
    # float32 FFT round-off is relative to the frame's energy, not to each bin
    np.testing.assert_allclose(power, expected, rtol=1e-5, atol=1e-6 * expected.max())


def test_power_spectrogram_has_one_frame_per_hop_and_takes_float64():
    y = noise(SR).astype(np.float64)
    power = power_spectrogram(y, 2048, 512)
    assert power.shape == (1025, 1 + SR // 512)
    assert power.dtype == np.float32
    expected = librosa_power(y, 2048, 512)
    np.testing.assert_allclose(power, expected, rtol=1e-5, atol=1e-6 * expected.max())


MEL_SETTINGS = [
    (22050, 2048, 128, 0.0, None),
    (16000, 1024, 40, 0.0, None),
    (44100, 4096, 96, 30.0, 16000.0),
    (8000, 512, 64, 200.0, 3500.0),
    (22050, 2048, 32, 500.0, 2000.0),
]


@pytest.mark.parametrize(("sr", "n_fft", "n_mels", "fmin", "fmax"), MEL_SETTINGS)
def test_mel_filterbank_is_librosa_slaney(sr, n_fft, n_mels, fmin, fmax):
    basis = mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    expected = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    assert basis.shape == (n_mels, 1 + n_fft // 2)
    assert basis.dtype == np.float32
    np.testing.assert_allclose(basis, expected, rtol=1e-6, atol=1e-9)


def test_mel_filterbank_is_cached_and_read_only():
    basis = mel_filterbank(SR, 2048, 128, 0.0, None)
    assert mel_filterbank(SR, 2048, 128, 0.0, None) is basis
    with pytest.raises(ValueError, match="read-only"):
        basis[0, 0] = 1.0


def test_mel_filterbank_warns_of_bands_with_no_bins():
    mel_filterbank.cache_clear()  # a cached filterbank does not warn again
    with pytest.warns(UserWarning, match="mel bands cover no FFT bin"):
        mel_filterbank(SR, 256, 128, 0.0, None)


@pytest.mark.filterwarnings("ignore:.*(mel bands cover no FFT bin|Empty filters)")
@pytest.mark.parametrize(
    ("sr", "n_fft", "n_mels", "fmin", "fmax"), [*MEL_SETTINGS, (22050, 256, 128, 0.0, None)]
)
def test_mel_power_is_librosa_melspectrogram(sr, n_fft, n_mels, fmin, fmax):
    power = power_spectrogram(noise(sr), n_fft, n_fft // 4)
    mel = mel_power(power, sr, n_mels, fmin, fmax)
    expected = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=n_mels, fmin=fmin, fmax=fmax)
    assert mel.shape == expected.shape
    assert mel.dtype == np.float32
    np.testing.assert_allclose(mel, expected, rtol=1e-5, atol=1e-7 * expected.max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("amin", "top_db"), [(1e-10, 80.0), (1e-5, 40.0), (1e-10, None)])
def test_power_to_db_is_librosa_power_to_db(dtype, amin, top_db):
    power = (np.random.default_rng(1).exponential(size=(64, 50)) ** 8).astype(dtype)
    power[0, :5] = 0.0  # silence meets amin
    db = power_to_db(power, amin=amin, top_db=top_db)
    expected = librosa.power_to_db(power, ref=1.0, amin=amin, top_db=top_db)
    assert db.dtype == dtype
    np.testing.assert_allclose(db, expected, rtol=0, atol=1e-5)


HEAVY = ("numba", "scipy.signal", "scipy.ndimage", "librosa.core.audio")

MEL_IN_A_FRESH_PROCESS = f"""
import json, sys
import numpy as np
from tunetag.config import FeatureConfig
from tunetag.features.views import compute_views
y = (0.1 * np.random.default_rng(0).standard_normal(22050 * 3)).astype(np.float32)
mel = compute_views(("mel",), y, FeatureConfig())["mel"]
assert mel.shape == (128, 1 + len(y) // 512)
print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
"""


def test_the_mel_view_imports_no_numba_scipy_signal_or_librosa_audio():
    # each of these costs a fresh worker up to a second on its first song
    result = subprocess.run(
        [sys.executable, "-c", MEL_IN_A_FRESH_PROCESS],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(result.stdout) == []

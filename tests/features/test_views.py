"""The log-mel view and the name -> view dispatch."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from tunetag.config import AudioConfig, FeatureConfig, MelConfig
from tunetag.errors import ParameterError
from tunetag.features import VIEW_NAMES, compute_view, mel_spectrogram

SR = 22050


def sine(duration_s: float, freq_hz: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(duration_s * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


@pytest.mark.parametrize(("n_samples", "hop_length", "n_mels"), [(SR, 512, 128), (12345, 256, 64)])
def test_shape_is_bands_by_frames(n_samples, hop_length, n_mels):
    y = np.random.default_rng(0).standard_normal(n_samples).astype(np.float32)
    mel = mel_spectrogram(y=y, sr=SR, hop_length=hop_length, n_mels=n_mels)
    assert mel.shape == (n_mels, 1 + n_samples // hop_length)
    assert mel.dtype == np.float32


def test_1khz_sine_peaks_in_the_band_nearest_1khz():
    mel = mel_spectrogram(y=sine(2.0, 1000.0), sr=SR)
    centres = librosa.mel_frequencies(n_mels=128 + 2, fmin=0.0, fmax=SR / 2)[1:-1]
    expected = int(np.argmin(np.abs(centres - 1000.0)))
    loudest = np.argmax(mel.mean(axis=1))
    assert abs(int(loudest) - expected) <= 1


def test_values_are_db_below_the_peak_within_top_db():
    y = sine(1.0, 440.0) + 1e-3 * np.random.default_rng(1).standard_normal(SR).astype(np.float32)
    for top_db in (80.0, 40.0):
        mel = mel_spectrogram(y=y, sr=SR, top_db=top_db)
        assert mel.max() == pytest.approx(0.0, abs=1e-5)
        assert mel.min() >= -top_db - 1e-4
        assert mel.min() < -top_db / 2  # the floor is actually reached somewhere


def test_level_does_not_matter():
    y = sine(1.0, 440.0)
    np.testing.assert_allclose(
        mel_spectrogram(y=y, sr=SR), mel_spectrogram(y=0.01 * y, sr=SR), atol=1e-3
    )


def test_fmin_and_fmax_set_the_band_edges():
    # with bands spread over 500-2000 Hz, a 1.5 kHz tone lands far up the mel axis
    mel = mel_spectrogram(y=sine(1.0, 1500.0), sr=SR, n_mels=32, fmin=500.0, fmax=2000.0)
    centres = librosa.mel_frequencies(n_mels=32 + 2, fmin=500.0, fmax=2000.0)[1:-1]
    expected = int(np.argmin(np.abs(centres - 1500.0)))
    assert expected > 20
    assert abs(int(np.argmax(mel.mean(axis=1))) - expected) <= 1


@pytest.mark.parametrize(
    "y",
    [
        np.zeros(0, dtype=np.float32),
        np.zeros((2, 100), dtype=np.float32),
        np.zeros(100, dtype=np.int16),
        np.array([0.0, np.nan, 0.0], dtype=np.float32),
        [0.0, 0.1, 0.2],
    ],
    ids=["empty", "2-D", "int", "nan", "list"],
)
def test_bad_samples_are_parameter_errors(y):
    with pytest.raises(ParameterError):
        mel_spectrogram(y=y, sr=SR)


def test_mel_is_a_known_view():
    assert "mel" in VIEW_NAMES


def test_compute_view_uses_the_config():
    y = sine(1.0, 440.0, sr=16000)
    features = FeatureConfig(
        audio=AudioConfig(sample_rate=16000),
        mel=MelConfig(n_fft=1024, hop_length=256, n_mels=40, top_db=60.0),
    )
    view = compute_view("mel", y, features)
    expected = mel_spectrogram(y=y, sr=16000, n_fft=1024, hop_length=256, n_mels=40, top_db=60.0)
    np.testing.assert_array_equal(view, expected)
    assert view.shape == (40, 1 + len(y) // 256)


def test_unknown_view_names_the_known_ones():
    with pytest.raises(ParameterError, match="unknown view 'chromagram'.*mel"):
        compute_view("chromagram", sine(0.5, 440.0), FeatureConfig())

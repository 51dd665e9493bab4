"""The four views (mel, chroma, tempogram, waveform), their input checks and the dispatch."""

from __future__ import annotations

import importlib

import librosa
import numpy as np
import pytest
from signals import sine

from tunetag.config import (
    AudioConfig,
    ChromaConfig,
    FeatureConfig,
    MelConfig,
    TempogramConfig,
    WaveformConfig,
)
from tunetag.errors import ParameterError
from tunetag.features.views import (
    FRAME_VIEWS,
    chromagram,
    compute_view,
    compute_views,
    mel_spectrogram,
    patch_views,
    tempogram,
    view_names,
    view_rows,
    waveform_envelope,
)

SR = 22050
VIEW_FUNCTIONS = [mel_spectrogram, chromagram, tempogram, waveform_envelope]


def noise(n_samples: int, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(n_samples)).astype(np.float32)


# --- mel -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_samples", "hop_length", "n_mels"), [(SR, 512, 128), (12345, 256, 64)])
def test_mel_shape_is_bands_by_frames(n_samples, hop_length, n_mels):
    mel = mel_spectrogram(y=noise(n_samples), sr=SR, hop_length=hop_length, n_mels=n_mels)
    assert mel.shape == (n_mels, 1 + n_samples // hop_length)
    assert mel.dtype == np.float32


def test_1khz_sine_peaks_in_the_band_nearest_1khz():
    mel = mel_spectrogram(y=sine(2.0, SR, 1000.0), sr=SR)
    centres = librosa.mel_frequencies(n_mels=128 + 2, fmin=0.0, fmax=SR / 2)[1:-1]
    expected = int(np.argmin(np.abs(centres - 1000.0)))
    loudest = np.argmax(mel.mean(axis=1))
    assert abs(int(loudest) - expected) <= 1


@pytest.mark.parametrize("freq_hz", [100.0, 261.63, 440.0, 900.0])
def test_full_scale_sine_below_1khz_reads_about_0_db(freq_hz):
    mel = mel_spectrogram(y=sine(1.0, SR, freq_hz, amplitude=1.0), sr=SR)
    assert -1.5 < mel.max() <= 0.0


def test_full_scale_noise_stays_below_0_db():
    y = np.random.default_rng(3).uniform(-1, 1, SR).astype(np.float32)
    assert mel_spectrogram(y=y, sr=SR).max() < 0.0


def test_level_is_kept_half_amplitude_is_6_db_lower():
    full = mel_spectrogram(y=sine(1.0, SR, 440.0, amplitude=1.0), sr=SR)
    half = mel_spectrogram(y=sine(1.0, SR, 440.0, amplitude=0.5), sr=SR)
    assert full.max() - half.max() == pytest.approx(20 * np.log10(2), abs=0.01)
    loud = full > full.max() - 40  # bins well above the floor shift by the same 6 dB
    np.testing.assert_allclose(full[loud] - half[loud], 20 * np.log10(2), atol=0.01)


def test_floor_is_top_db_below_the_loudest_bin():
    y = sine(1.0, SR, 440.0) + noise(SR, seed=1) / 100
    for top_db in (80.0, 40.0):
        mel = mel_spectrogram(y=y, sr=SR, top_db=top_db)
        assert mel.min() == pytest.approx(mel.max() - top_db, abs=1e-3)  # the floor is reached


def test_digital_silence_is_minus_100_db():
    mel = mel_spectrogram(y=np.zeros(SR, dtype=np.float32), sr=SR)
    np.testing.assert_allclose(mel, -100.0, atol=1e-3)


def test_fmin_and_fmax_set_the_band_edges():
    # with bands spread over 500-2000 Hz, a 1.5 kHz tone lands far up the mel axis
    mel = mel_spectrogram(y=sine(1.0, SR, 1500.0), sr=SR, n_mels=32, fmin=500.0, fmax=2000.0)
    centres = librosa.mel_frequencies(n_mels=32 + 2, fmin=500.0, fmax=2000.0)[1:-1]
    expected = int(np.argmin(np.abs(centres - 1500.0)))
    assert expected > 20
    assert abs(int(np.argmax(mel.mean(axis=1))) - expected) <= 1


# --- chroma --------------------------------------------------------------------------------


def test_chroma_is_librosa_chroma_stft_in_0_to_1():
    y = noise(12345)
    chroma = chromagram(y=y, sr=SR, hop_length=256, n_chroma=24)
    assert chroma.shape == (24, 1 + 12345 // 256)
    assert chroma.dtype == np.float32
    expected = librosa.feature.chroma_stft(y=y, sr=SR, hop_length=256, n_chroma=24, tuning=0.0)
    np.testing.assert_allclose(chroma, expected, atol=1e-6)
    assert chroma.min() >= 0.0
    np.testing.assert_allclose(chroma.max(axis=0), 1.0, atol=1e-6)  # each frame's max is 1


@pytest.mark.parametrize(("freq_hz", "row"), [(261.63, 0), (440.0, 9), (123.47, 11)])
def test_chroma_row_0_is_c(freq_hz, row):
    chroma = chromagram(y=sine(1.0, SR, freq_hz), sr=SR)
    assert int(np.argmax(chroma.mean(axis=1))) == row


def test_chroma_of_silence_is_zero():
    chroma = chromagram(y=np.zeros(SR, dtype=np.float32), sr=SR)
    assert chroma.shape == (12, 1 + SR // 512)
    assert not chroma.any()


def test_chroma_tuning_none_estimates_it():
    # a quarter-tone sharp A: with tuning estimated, it is still A
    chroma = chromagram(y=sine(1.0, SR, 440.0 * 2 ** (0.45 / 12)), sr=SR, tuning=None)
    assert int(np.argmax(chroma.mean(axis=1))) == 9


# --- tempogram -----------------------------------------------------------------------------


def test_tempogram_is_librosa_tempogram_of_onset_strength():
    y = noise(2 * SR)
    rows = tempogram(y=y, sr=SR, hop_length=256, win_length=200)
    assert rows.shape == (200, 1 + 2 * SR // 256)
    assert rows.dtype == np.float32
    onsets = librosa.onset.onset_strength(y=y, sr=SR, hop_length=256)
    expected = librosa.feature.tempogram(
        onset_envelope=onsets, sr=SR, hop_length=256, win_length=200
    )
    np.testing.assert_allclose(rows, expected, atol=1e-5)
    assert rows.min() >= 0.0 and rows.max() <= 1.0


def test_tempogram_of_silence_is_zero():
    assert not tempogram(y=np.zeros(SR, dtype=np.float32), sr=SR).any()


# --- waveform ------------------------------------------------------------------------------


def test_waveform_rows_are_peaks_and_librosa_rms_in_db():
    y = noise(12345, seed=2)
    envelope = waveform_envelope(y=y, sr=SR, n_fft=1024, hop_length=256)
    assert envelope.shape == (3, 1 + 12345 // 256)
    assert envelope.dtype == np.float32
    frames = librosa.util.frame(np.pad(y, 512), frame_length=1024, hop_length=256)
    np.testing.assert_allclose(envelope[0], 20 * np.log10(frames.max(axis=0)), atol=1e-4)
    np.testing.assert_allclose(envelope[1], 20 * np.log10(-frames.min(axis=0)), atol=1e-4)
    rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=256)[0]
    np.testing.assert_allclose(envelope[2], 20 * np.log10(rms), atol=1e-4)


def test_waveform_keeps_asymmetry_and_clips_at_the_floor():
    y = np.zeros(SR, dtype=np.float32)
    y[SR // 2] = 0.1  # one positive click in silence
    envelope = waveform_envelope(y=y, sr=SR, floor_db=-60.0)
    middle = (SR // 2) // 512
    assert envelope[0, middle] == pytest.approx(-20.0, abs=1e-4)
    np.testing.assert_array_equal(envelope[1], -60.0)  # no negative sample anywhere
    assert envelope[0, 0] == -60.0 and envelope.min() == -60.0


# --- checks --------------------------------------------------------------------------------


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
@pytest.mark.parametrize("function", VIEW_FUNCTIONS, ids=lambda f: f.__name__)
def test_bad_samples_are_parameter_errors(function, y):
    with pytest.raises(ParameterError, match="^y "):
        function(y=y, sr=SR)


@pytest.mark.parametrize(
    ("function", "bad"),
    [
        (mel_spectrogram, {"sr": 0}),
        (mel_spectrogram, {"n_fft": 0}),
        (mel_spectrogram, {"top_db": 0.0}),
        (mel_spectrogram, {"n_mels": -1}),
        (chromagram, {"hop_length": 0}),
        (chromagram, {"n_chroma": 0}),
        (chromagram, {"tuning": float("nan")}),
        (tempogram, {"win_length": 0}),
        (tempogram, {"hop_length": 12.5}),
        (waveform_envelope, {"floor_db": 0.0}),
        (waveform_envelope, {"n_fft": -2048}),
    ],
    ids=lambda x: x.__name__ if callable(x) else next(iter(x)),
)
def test_bad_parameters_are_parameter_errors_naming_them(function, bad):
    name = next(iter(bad))
    with pytest.raises(ParameterError, match=f"^{name} "):
        function(y=noise(SR), **{"sr": SR, **bad})


# --- dispatch ------------------------------------------------------------------------------


CUSTOM = FeatureConfig(
    audio=AudioConfig(sample_rate=16000),
    mel=MelConfig(n_fft=1024, hop_length=256, n_mels=40, top_db=60.0),
    chroma=ChromaConfig(n_chroma=24, tuning=0.1),
    tempogram=TempogramConfig(win_length=100),
    waveform=WaveformConfig(floor_db=-60.0),
    views=FRAME_VIEWS,
)


ALL_VIEWS = (
    "mel",
    "chroma",
    "tempogram",
    "waveform",
    "descriptors",
    "musicnn",
    "musicnn-msd",
    "musicnn-msd-pooled",
    "musicnn-mtt",
    "musicnn-mtt-pooled",
)


def test_the_ten_views_are_known():
    assert view_names() == ALL_VIEWS
    assert FRAME_VIEWS == ("mel", "chroma", "tempogram", "waveform")
    assert patch_views(view_names()) == list(ALL_VIEWS[4:])


@pytest.mark.parametrize("features", [FeatureConfig(), CUSTOM], ids=["default", "custom"])
@pytest.mark.parametrize("name", FRAME_VIEWS)
def test_every_view_has_view_rows_rows_on_the_mel_frame_grid(name, features):
    y = noise(16000)
    view = compute_view(name, y, features)
    assert view.shape == (view_rows(name, features), 1 + len(y) // features.mel.hop_length)
    assert view.dtype == np.float32


def test_view_rows_come_from_each_view_settings():
    patch_rows = [93, 200, 200, 1506, 200, 1506]  # fixed, whatever the settings
    assert [view_rows(name, CUSTOM) for name in ALL_VIEWS] == [40, 24, 100, 3, *patch_rows]
    assert [view_rows(name, FeatureConfig()) for name in ALL_VIEWS] == [
        128,
        12,
        192,
        3,
        *patch_rows,
    ]


def test_compute_view_uses_each_view_settings_and_the_shared_grid():
    y = sine(1.0, 16000, 440.0) + noise(16000)
    grid = {"sr": 16000, "n_fft": 1024, "hop_length": 256}
    expected = {
        "mel": mel_spectrogram(y=y, **grid, n_mels=40, top_db=60.0),
        "chroma": chromagram(y=y, **grid, n_chroma=24, tuning=0.1),
        "tempogram": tempogram(y=y, **grid, win_length=100),
        "waveform": waveform_envelope(y=y, **grid, floor_db=-60.0),
    }
    for name in FRAME_VIEWS:
        np.testing.assert_array_equal(compute_view(name, y, CUSTOM), expected[name], name)


def test_compute_views_equals_the_single_views_with_one_stft(monkeypatch):
    y = noise(SR)
    features = FeatureConfig(views=FRAME_VIEWS)
    alone = {name: compute_view(name, y, features) for name in FRAME_VIEWS}
    views_module = importlib.import_module("tunetag.features.views")
    real_power_spectrogram = views_module.power_spectrogram
    calls = []

    def counting_power_spectrogram(*args, **kwargs):
        calls.append("ours")
        return real_power_spectrogram(*args, **kwargs)

    def refuse_stft(*args, **kwargs):
        calls.append("librosa")
        return pytest.fail("a view computed its own STFT through librosa")

    monkeypatch.setattr(views_module, "power_spectrogram", counting_power_spectrogram)
    monkeypatch.setattr(librosa, "stft", refuse_stft)
    monkeypatch.setattr(librosa.core.spectrum, "stft", refuse_stft)
    together = compute_views(FRAME_VIEWS, y, features)
    assert calls == ["ours"]
    assert list(together) == list(FRAME_VIEWS)
    for name in FRAME_VIEWS:
        np.testing.assert_array_equal(together[name], alone[name], name)


def test_unknown_view_names_the_known_ones():
    message = "unknown view 'chromagram'; known views: mel, chroma, tempogram, waveform"
    with pytest.raises(ParameterError, match=message):
        compute_view("chromagram", sine(0.5, SR, 440.0), FeatureConfig())
    with pytest.raises(ParameterError, match=message):
        view_rows("chromagram", FeatureConfig())
    with pytest.raises(ParameterError, match=message):
        compute_views(["mel", "chromagram"], sine(0.5, SR, 440.0), FeatureConfig())


def test_logc_mel_is_musicnn_input_from_float16_mel_power():
    # musicnn's training data: librosa's mel power stored as float16, then log10(1 + 10000 x)
    y = 0.1 * noise(3 * 16000)
    found = mel_spectrogram(y=y, sr=16000, n_fft=512, hop_length=256, n_mels=96, scale="logc")
    power = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=256, n_mels=96)
    expected = np.log10(10000 * power.astype(np.float16).astype(np.float32) + 1)
    assert found.dtype == np.float32 and found.shape == (96, 1 + len(y) // 256)
    # float16 rounding of float32 power that differs in its last bits may land one step apart
    assert np.mean(found == expected) > 0.99
    np.testing.assert_allclose(found, expected, atol=2e-3)
    silent = mel_spectrogram(y=np.zeros(16000, np.float32), sr=16000, scale="logc")
    assert (silent == 0).all()


def test_the_mel_view_follows_the_configured_scale():
    y = noise(SR)
    logc = FeatureConfig(mel=MelConfig(scale="logc"))
    np.testing.assert_array_equal(
        compute_view("mel", y, logc), mel_spectrogram(y=y, sr=SR, scale="logc")
    )
    assert (compute_view("mel", y, logc) >= 0).all() and (
        compute_view("mel", y, FeatureConfig()) <= 0
    ).all()


def test_an_unknown_mel_scale_names_the_known_ones():
    with pytest.raises(ParameterError, match="unknown mel scale 'log'; known scales: db, logc"):
        mel_spectrogram(y=noise(SR), sr=SR, scale="log")
    with pytest.raises(ParameterError, match="unknown mel scale 'log'"):
        MelConfig(scale="log")

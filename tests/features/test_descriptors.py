"""The descriptors view: hand-crafted descriptors per 3 s patch, at one fixed analysis."""

from __future__ import annotations

import importlib
from dataclasses import asdict

import numpy as np
import pytest
from commands import fresh_python
from signals import sine

from tunetag.config import AudioConfig, FeatureConfig, MelConfig
from tunetag.errors import ParameterError
from tunetag.features.cache import FeatureCache
from tunetag.features.descriptors import ANALYSIS, DESCRIPTOR_ROWS, patch_descriptors
from tunetag.features.views import VIEWS, compute_view, compute_views, patch_views, view_rows

SR = ANALYSIS.sample_rate
ROW = {name: k for k, name in enumerate(DESCRIPTOR_ROWS)}

descriptors_module = importlib.import_module("tunetag.features.descriptors")
views_module = importlib.import_module("tunetag.features.views")


def clicks(duration_s: float, bpm: float, sr: int = SR) -> np.ndarray:
    """A short Hann-shaped click every beat."""
    y = np.zeros(int(duration_s * sr), np.float32)
    click = 0.8 * np.hanning(200).astype(np.float32)
    for start in (np.arange(0.0, duration_s - 0.01, 60.0 / bpm) * sr).astype(int):
        y[start : start + 200] = click[: len(y) - start]
    return y


def test_93_rows_named_means_then_deviations_then_tempo_and_key():
    assert len(DESCRIPTOR_ROWS) == 93 == view_rows("descriptors", FeatureConfig())
    assert DESCRIPTOR_ROWS[0] == "mean mfcc0" and DESCRIPTOR_ROWS[45] == "std mfcc0"
    assert DESCRIPTOR_ROWS[20:26] == (
        "mean centroid",
        "mean bandwidth",
        "mean rolloff",
        "mean zcr",
        "mean rms",
        "mean chroma-C",
    )
    assert DESCRIPTOR_ROWS[37] == "mean onset" and DESCRIPTOR_ROWS[38] == "mean contrast0"
    assert DESCRIPTOR_ROWS[44] == "mean contrast6" and DESCRIPTOR_ROWS[90] == "tempo"
    assert DESCRIPTOR_ROWS[-2:] == ("key clarity", "mode")
    assert patch_views(["mel", "descriptors"]) == ["descriptors"]


@pytest.mark.parametrize(
    ("seconds", "patches"), [(0.5, 1), (2.9, 1), (3.0, 1), (6.0, 2), (8.9, 2), (9.1, 3)]
)
def test_one_column_per_whole_3_s_patch_and_one_for_a_short_song(seconds, patches):
    y = sine(seconds, SR, 440.0)
    view = compute_view("descriptors", y, FeatureConfig())
    assert view.shape == (len(DESCRIPTOR_ROWS), patches) and view.dtype == np.float32
    assert np.isfinite(view).all()


@pytest.mark.parametrize("freq_hz", [440.0, 1000.0])
def test_a_sine_reads_its_frequency_level_and_crossings(freq_hz):
    amplitude = 0.5
    view = patch_descriptors(y=sine(9.0, SR, freq_hz, amplitude), sr=SR)
    middle = view[:, 1]  # a patch without the song's zero-padded edges
    assert middle[ROW["mean centroid"]] == pytest.approx(freq_hz, rel=0.01)
    assert middle[ROW["mean rolloff"]] == pytest.approx(freq_hz, rel=0.05)
    assert middle[ROW["mean zcr"]] == pytest.approx(2 * freq_hz / SR, rel=0.02)
    assert middle[ROW["mean rms"]] == pytest.approx(amplitude / np.sqrt(2), rel=0.01)
    assert middle[ROW["std rms"]] < 1e-3 and middle[ROW["std centroid"]] < 0.01 * freq_hz
    chroma = middle[ROW["mean chroma-C"] : ROW["mean chroma-B"] + 1]
    if freq_hz == 440.0:
        assert chroma.argmax() == 9 and chroma[9] == pytest.approx(1.0)  # A
    for k in range(3):  # the edges blur it a little only
        assert view[ROW["mean centroid"], k] == pytest.approx(freq_hz, rel=0.02)


def test_white_noise_is_brighter_and_crosses_more_than_a_sine():
    noise = (0.1 * np.random.default_rng(0).standard_normal(6 * SR)).astype(np.float32)
    noisy = patch_descriptors(y=noise, sr=SR)
    tone = patch_descriptors(y=sine(6.0, SR, 440.0, 0.1), sr=SR)
    for row in ("mean centroid", "mean bandwidth", "mean rolloff", "mean zcr"):
        assert (noisy[ROW[row]] > 5 * tone[ROW[row]]).all(), row
    assert noisy[ROW["mean zcr"]] == pytest.approx(0.5, abs=0.02)  # every other sample


def test_a_tone_has_more_spectral_contrast_than_noise_in_its_band():
    noise = (0.1 * np.random.default_rng(0).standard_normal(6 * SR)).astype(np.float32)
    noisy = patch_descriptors(y=noise, sr=SR)
    tone = patch_descriptors(y=sine(6.0, SR, 1000.0, 0.1), sr=SR)  # band 3: 800-1600 Hz
    assert (tone[ROW["mean contrast3"]] > noisy[ROW["mean contrast3"]] + 20).all()


def notes(semitones_from_c4: list[int], note_s: float = 0.25, rounds: int = 4) -> np.ndarray:
    """A scale played ``rounds`` times, each note three harmonics under a Hann envelope."""
    t = np.arange(int(SR * note_s)) / SR
    played = []
    for n in semitones_from_c4 * rounds:
        hz = 261.63 * 2 ** (n / 12)
        tone = sum(0.3 / k * np.sin(2 * np.pi * k * hz * t) for k in (1, 2, 3))
        played.append(tone * np.hanning(len(t)))
    return np.concatenate(played).astype(np.float32)


def test_key_rows_tell_a_major_scale_from_a_minor_one_and_both_from_noise():
    major = patch_descriptors(y=notes([0, 2, 4, 5, 7, 9, 11, 12]), sr=SR)  # C major
    minor = patch_descriptors(y=notes([-3, -1, 0, 2, 4, 5, 8, 9]), sr=SR)  # A harmonic minor
    noise = (0.1 * np.random.default_rng(0).standard_normal(6 * SR)).astype(np.float32)
    noisy = patch_descriptors(y=noise, sr=SR)
    assert (major[ROW["mode"]] > 0.1).all() and (minor[ROW["mode"]] < -0.1).all()
    for scale in (major, minor):
        assert (scale[ROW["key clarity"]] > 0.6).all()
        assert (scale[ROW["key clarity"]] > noisy[ROW["key clarity"]].max() + 0.3).all()


@pytest.mark.parametrize("bpm", [90.0, 100.0, 128.0])
def test_a_click_track_gives_its_tempo_in_every_patch(bpm):
    view = patch_descriptors(y=clicks(15.0, bpm), sr=SR)
    assert view.shape[1] == 5
    np.testing.assert_allclose(view[ROW["tempo"]], bpm, rtol=0.04)
    steady = patch_descriptors(y=sine(15.0), sr=SR)
    assert (view[ROW["mean onset"]] > 10 * steady[ROW["mean onset"]]).all()


def test_silence_gives_finite_descriptors():
    view = patch_descriptors(y=np.zeros(4 * SR, np.float32), sr=SR)
    assert view.shape == (len(DESCRIPTOR_ROWS), 1) and np.isfinite(view).all()
    assert view[ROW["mean rms"], 0] == 0 and view[ROW["mean zcr"], 0] == 0
    assert view[ROW["key clarity"], 0] == 0 and view[ROW["mode"], 0] == 0


def test_the_run_frame_grid_does_not_change_the_view():
    y = clicks(7.0, 120.0) + sine(7.0, SR, 330.0, 0.2)
    default = compute_view("descriptors", y, FeatureConfig())
    other_grid = FeatureConfig(mel=MelConfig(n_fft=1024, hop_length=256, n_mels=64))
    np.testing.assert_array_equal(compute_view("descriptors", y, other_grid), default)
    np.testing.assert_array_equal(patch_descriptors(y=y, sr=SR), default)


def test_another_run_rate_is_resampled_to_the_analysis_rate():
    at_16k = sine(7.0, 16000, 440.0, 0.3)
    view = compute_view("descriptors", at_16k, FeatureConfig(audio=AudioConfig(sample_rate=16000)))
    at_analysis = patch_descriptors(y=sine(7.0, SR, 440.0, 0.3), sr=SR)
    assert view.shape == at_analysis.shape
    for row in ("mean centroid", "mean zcr", "mean rms", "tempo"):
        np.testing.assert_allclose(view[ROW[row]], at_analysis[ROW[row]], rtol=0.01, err_msg=row)


def test_on_the_analysis_grid_the_run_stft_is_shared(monkeypatch):
    y = sine(4.0, SR, 440.0)
    alone = compute_view("descriptors", y, FeatureConfig())
    calls = []
    real = views_module.power_spectrogram

    def counting(*args, **kwargs):
        calls.append(args[1:])
        return real(*args, **kwargs)

    monkeypatch.setattr(views_module, "power_spectrogram", counting)
    monkeypatch.setattr(descriptors_module, "power_spectrogram", counting)
    together = compute_views(("mel", "chroma", "descriptors"), y, FeatureConfig())
    assert calls == [(2048, 512)]
    np.testing.assert_array_equal(together["descriptors"], alone)


def test_the_view_module_loads_no_network():
    code = (
        "import sys, numpy as np; from tunetag.config import FeatureConfig; "
        "from tunetag.features.views import compute_view; "
        "compute_view('descriptors', np.zeros(22050, np.float32), FeatureConfig()); "
        "print('torch' in sys.modules, 'sklearn' in sys.modules)"
    )
    out = fresh_python(code)
    assert out.split() == ["False", "False"]


def changing(duration_s: float, noise: float = 0.01) -> np.ndarray:
    """Clicks at 100 BPM over a sine whose pitch steps every 3 s and whose level swells, so
    every descriptor changes from patch to patch, over a faint noise that keeps every
    log-mel bin within 80 dB of the loudest (none at its floor)."""
    t = np.arange(int(duration_s * SR)) / SR
    freq = 220.0 * 2 ** (np.floor(t / 3.0) * 5 / 12)  # a fourth higher every 3 s
    level = 0.2 + 0.15 * np.sin(2 * np.pi * t / 11.0)
    tone = level * np.sin(2 * np.pi * np.cumsum(freq) / SR)
    hiss = noise * np.random.default_rng(1).standard_normal(len(t))
    return (tone + hiss).astype(np.float32) + clicks(duration_s, 100.0)


def chosen(count: int, patches: int) -> np.ndarray:
    return np.linspace(0, count - 1, patches).round().astype(int)


@pytest.mark.parametrize("patches", [1, 3, 7, 12])
def test_a_few_patches_are_those_columns_of_the_whole_window(patches):
    # 1: the first patch; 3: the ends and the middle, apart; 7, 12: contexts that overlap
    y = changing(40.0)
    whole = patch_descriptors(y=y, sr=SR)
    assert whole.shape[1] == 13
    some = patch_descriptors(y=y, sr=SR, patches=patches)
    assert some.shape == (len(DESCRIPTOR_ROWS), patches) and some.dtype == np.float32
    # the same frames of the same samples, the same onsets for every tempo frame: equal
    # but for float rounding (in practice bit for bit)
    np.testing.assert_allclose(some, whole[:, chosen(13, patches)], rtol=1e-6, atol=1e-6)


def test_without_a_noise_floor_only_the_log_mel_rows_may_move():
    """Bins 80 dB under the loudest are floored there, the loudest of what is analysed;
    every row that does not read the log-mel (MFCCs, onsets, tempo) or the contrast's
    decibels (librosa's floor alike) is still the window's."""
    y = changing(40.0, noise=0.0)
    whole = patch_descriptors(y=y, sr=SR)[:, chosen(13, 2)]
    some = patch_descriptors(y=y, sr=SR, patches=2)
    for name in DESCRIPTOR_ROWS:
        if not any(word in name for word in ("mfcc", "onset", "tempo", "contrast")):
            np.testing.assert_allclose(some[ROW[name]], whole[ROW[name]], rtol=1e-6, err_msg=name)


@pytest.mark.parametrize("bpm", [90.0, 128.0])
def test_a_click_track_keeps_its_tempo_in_every_patch_analysed(bpm):
    y = clicks(45.0, bpm)
    some = patch_descriptors(y=y, sr=SR, patches=4)
    np.testing.assert_allclose(some[ROW["tempo"]], bpm, rtol=0.04)
    whole = patch_descriptors(y=y, sr=SR)
    np.testing.assert_array_equal(some[ROW["tempo"]], whole[ROW["tempo"], chosen(15, 4)])


@pytest.mark.parametrize("extra", [0, 1, 30])
def test_as_many_patches_as_the_window_has_or_more_is_the_whole_window(extra):
    y = changing(13.0)
    whole = patch_descriptors(y=y, sr=SR)
    count = whole.shape[1]
    np.testing.assert_array_equal(patch_descriptors(y=y, sr=SR, patches=count + extra), whole)


def test_the_view_reads_patches_per_window_with_or_without_the_run_stft():
    y = changing(30.0)
    whole = compute_view("descriptors", y, FeatureConfig())
    features = FeatureConfig(patches_per_window=4)
    alone = compute_view("descriptors", y, features)
    beside_mel = compute_views(("mel", "descriptors"), y, features)["descriptors"]
    np.testing.assert_allclose(alone, whole[:, chosen(whole.shape[1], 4)], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(beside_mel, alone, rtol=1e-6, atol=1e-6)
    resampled = FeatureConfig(audio=AudioConfig(sample_rate=16000), patches_per_window=4)
    at_16k = compute_view("descriptors", sine(30.0, 16000, 440.0, 0.3), resampled)
    assert at_16k.shape == (len(DESCRIPTOR_ROWS), 4) and np.isfinite(at_16k).all()


def test_the_key_names_the_patches_only_when_set(tmp_path):
    settings = VIEWS["descriptors"].settings
    assert settings(FeatureConfig()) == asdict(ANALYSIS)  # the key every cached array has
    assert settings(FeatureConfig(patches_per_window=8)) == {**asdict(ANALYSIS), "patches": 8}
    song = tmp_path / "song.wav"
    song.write_bytes(b"only its path, size and time are read")
    cache = FeatureCache(tmp_path / "cache")
    keys = {
        cache.key(song, FeatureConfig(patches_per_window=patches), "descriptors")
        for patches in (None, 4, 8)
    }
    assert len(keys) == 3


def test_no_patches_is_refused():
    with pytest.raises(ParameterError):
        patch_descriptors(y=sine(10.0), sr=SR, patches=0)

"""Each view reads what a signal of known harmony, tempo or level holds."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from signals import sine

from tunetag.config import FeatureConfig, MelConfig
from tunetag.features.views import (
    FRAME_VIEWS,
    chromagram,
    compute_views,
    tempogram,
    waveform_envelope,
)

SR = 22050
HOP = 512
C, E, G, A = 0, 4, 7, 9  # chroma rows
NOTE_HZ = {"A3": 220.0, "C4": 261.63, "E4": 329.63, "G4": 392.0}


def chord(*notes: str, duration_s: float = 2.0) -> np.ndarray:
    return sum(sine(duration_s, SR, NOTE_HZ[note], amplitude=0.3) for note in notes)


def click_track(bpm: float, duration_s: float = 11.0) -> np.ndarray:
    beats_s = np.arange(0.25, duration_s, 60.0 / bpm)
    return librosa.clicks(times=beats_s, sr=SR, length=int(duration_s * SR)).astype(np.float32)


@pytest.mark.parametrize(
    ("notes", "pitch_classes"),
    [(("C4", "E4", "G4"), {C, E, G}), (("A3", "C4", "E4"), {A, C, E})],
    ids=["C major", "A minor"],
)
def test_chord_notes_are_the_three_strongest_pitch_classes(notes, pitch_classes):
    mean = chromagram(y=chord(*notes), sr=SR).mean(axis=1)
    assert set(np.argsort(mean)[-3:]) == pitch_classes
    assert np.sort(mean)[-3] > 1.5 * np.sort(mean)[-4]  # clearly above the fourth


@pytest.mark.parametrize("bpm", [120.0, 90.0])
def test_click_track_tempogram_peaks_on_the_beat_period(bpm):
    rows = tempogram(y=click_track(bpm), sr=SR, hop_length=HOP)
    lag_bpm = librosa.tempo_frequencies(rows.shape[0], hop_length=HOP, sr=SR)
    mean = rows.mean(axis=1)
    lags = np.flatnonzero((lag_bpm >= 60) & (lag_bpm <= 200))  # lag 0 (inf BPM) is left out

    def near(tempo: float) -> np.ndarray:
        return np.abs(lag_bpm[lags] - tempo) <= 0.05 * tempo

    # the beat period (about 21.5 frames at 120 BPM) falls between two lags and splits its
    # peak, so a whole-number multiple of it (43 frames, 60 BPM) may read a little higher
    best = lag_bpm[lags[np.argmax(mean[lags])]]
    assert abs(best - bpm) <= 0.05 * bpm or abs(best - bpm / 2) <= 0.05 * bpm / 2
    on_beat_grid = np.zeros(len(lags), dtype=bool)
    for multiple in (1, 2, 3):
        on_beat_grid |= near(bpm / multiple)
    assert mean[lags[near(bpm)]].max() > mean[lags[~on_beat_grid]].max() + 0.3


def test_sine_envelope_reads_its_peak_and_rms_in_dbfs():
    y = sine(3.0, SR, 440.0, amplitude=0.5)
    envelope = waveform_envelope(y=y, sr=SR, hop_length=HOP)
    middle = envelope[:, 10:-10]
    np.testing.assert_allclose(middle[2], 20 * np.log10(0.5 / np.sqrt(2)), atol=0.5)
    np.testing.assert_allclose(middle[0], 20 * np.log10(0.5), atol=0.05)
    np.testing.assert_allclose(middle[1], 20 * np.log10(0.5), atol=0.05)


def test_louder_song_has_a_higher_envelope_by_the_gain():
    y = chord("C4", "E4", "G4")
    quiet = waveform_envelope(y=0.1 * y, sr=SR)
    loud = waveform_envelope(y=y, sr=SR)
    np.testing.assert_allclose(loud - quiet, 20.0, atol=0.01)


@pytest.mark.filterwarnings("ignore:n_fft=.* is too large")
@pytest.mark.parametrize("n_samples", [300, 2047, 22050, 22051, 30000, 4 * 22050 + 123])
@pytest.mark.parametrize(("n_fft", "hop_length"), [(2048, 512), (1024, 256)])
def test_every_view_has_the_same_frames(n_samples, n_fft, hop_length):
    features = FeatureConfig(mel=MelConfig(n_fft=n_fft, hop_length=hop_length))
    y = (0.1 * np.random.default_rng(n_samples).standard_normal(n_samples)).astype(np.float32)
    views = compute_views(FRAME_VIEWS, y, features)
    frames = {name: view.shape[1] for name, view in views.items()}
    assert frames == dict.fromkeys(FRAME_VIEWS, 1 + n_samples // hop_length)

"""The musicnn view: the pretrained tagger's embedding per 3 s patch, cached like any view."""

from __future__ import annotations

import numpy as np
import pytest
import soxr
import torch
from commands import fresh_python
from signals import sine

from tunetag.config import AudioConfig, FeatureConfig, MusicnnConfig
from tunetag.errors import ParameterError
from tunetag.features import extract_files
from tunetag.features.views import compute_view, mel_spectrogram
from tunetag.pretrained.embedding import musicnn_embedding
from tunetag.pretrained.networks import cut_patches
from tunetag.pretrained.taggers import load_tagger


def chord(seconds: float, sr: int) -> np.ndarray:
    y = sum(sine(seconds, sr, hz, amplitude=1 / k) for k, hz in enumerate((220.0, 277.2, 329.6), 1))
    t = np.arange(len(y)) / sr
    return (0.1 * y * np.exp(-(t % 1.0))).astype(np.float32)


def test_one_column_per_3_s_patch_of_the_penultimate_layer():
    y = chord(7.0, 16000)
    found = musicnn_embedding(y=y, sr=16000)
    mel = mel_spectrogram(y=y, sr=16000, n_fft=512, hop_length=256, n_mels=96, scale="logc")
    network = load_tagger("MSD_musicnn")
    with torch.no_grad():
        expected = network.embed(network.pooled(torch.from_numpy(cut_patches(mel)))).numpy()
    assert found.shape == (200, 2) and found.dtype == np.float32
    np.testing.assert_allclose(found, expected.T, rtol=1e-5, atol=1e-5)


def test_other_rates_are_resampled_to_16_khz_first():
    y = chord(4.0, 22050)
    at_16k = soxr.resample(y, 22050, 16000, quality="HQ").astype(np.float32)
    np.testing.assert_allclose(
        musicnn_embedding(y=y, sr=22050), musicnn_embedding(y=at_16k, sr=16000), atol=1e-6
    )


def test_the_view_follows_the_configured_tagger():
    y = chord(3.5, 16000)
    msd = FeatureConfig(audio=AudioConfig(sample_rate=16000))
    mtt = FeatureConfig(audio=AudioConfig(sample_rate=16000), musicnn=MusicnnConfig("MTT_musicnn"))
    np.testing.assert_array_equal(compute_view("musicnn", y, msd), musicnn_embedding(y=y, sr=16000))
    assert not np.allclose(compute_view("musicnn", y, mtt), compute_view("musicnn", y, msd))
    with pytest.raises(ParameterError, match="needs a musicnn tagger, not 'MSD_vgg'"):
        musicnn_embedding(y=y, sr=16000, tagger="MSD_vgg")


def test_the_view_is_extracted_and_cached(tmp_path, write_audio):
    song = write_audio("chord.wav", duration_s=6.5, sr=16000)
    features = FeatureConfig(
        audio=AudioConfig(sample_rate=16000, window_s=130.0), views=("mel", "musicnn")
    )
    report = extract_files([song], features, tmp_path / "cache", progress=False)
    assert report.errors == {}
    assert np.load(report.ok[song]["musicnn"]).shape == (200, 2)
    assert np.load(report.ok[song]["mel"]).shape == (128, 1 + int(6.5 * 16000) // 512)


def test_computing_other_views_never_imports_the_network():
    code = (
        "import sys, numpy as np; from tunetag.config import FeatureConfig; "
        "from tunetag.features.views import compute_views; "
        "compute_views(('mel', 'chroma'), np.zeros(22050, np.float32), FeatureConfig()); "
        "print('torch' in sys.modules)"
    )
    out = fresh_python(code)
    assert out.split() == ["False"]

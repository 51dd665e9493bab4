"""The per-tagger musicnn views: each tagger's embedding and pooled layer, one forward pass
per tagger and song, cached under their own keys."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from commands import run_tunetag
from test_embedding import chord

from tunetag.config import MUSICNN_FEATURES, AudioConfig, FeatureConfig, MusicnnConfig
from tunetag.features import FeatureCache, extract_files
from tunetag.features.views import compute_view, compute_views, view_rows
from tunetag.pretrained.embedding import POOLED_UNITS, musicnn_pooled
from tunetag.pretrained.networks import Musicnn, cut_patches
from tunetag.pretrained.taggers import load_tagger

AT_16K = FeatureConfig(audio=AudioConfig(sample_rate=16000))
TAGGERS = {"msd": "MSD_musicnn", "mtt": "MTT_musicnn"}
TAGGER_VIEWS = ("musicnn-msd", "musicnn-msd-pooled", "musicnn-mtt", "musicnn-mtt-pooled")


@pytest.fixture(scope="module")
def y() -> np.ndarray:
    return chord(7.0, 16000)  # two 3 s patches


@pytest.mark.parametrize(
    ("view", "rows"), [(v, 1506 if "pooled" in v else 200) for v in TAGGER_VIEWS]
)
def test_shape_and_rows_of_each_view(y, view, rows):
    found = compute_view(view, y, AT_16K)
    assert found.shape == (rows, 2) == (view_rows(view, AT_16K), 2)
    assert found.dtype == np.float32 and np.isfinite(found).all()


@pytest.mark.parametrize("short", ["msd", "mtt"])
@pytest.mark.parametrize("configured", ["MSD_musicnn", "MTT_musicnn"])
def test_a_tagger_view_is_the_musicnn_view_of_that_tagger_whatever_is_configured(
    y, short, configured
):
    features = FeatureConfig(audio=AT_16K.audio, musicnn=MusicnnConfig(configured))
    of_its_tagger = FeatureConfig(audio=AT_16K.audio, musicnn=MusicnnConfig(TAGGERS[short]))
    np.testing.assert_array_equal(
        compute_view(f"musicnn-{short}", y, features), compute_view("musicnn", y, of_its_tagger)
    )


def test_the_two_taggers_differ(y):
    together = compute_views(TAGGER_VIEWS, y, AT_16K)
    assert not np.allclose(together["musicnn-msd"], together["musicnn-mtt"])
    assert not np.allclose(together["musicnn-msd-pooled"], together["musicnn-mtt-pooled"])


@pytest.mark.parametrize("short", ["msd", "mtt"])
def test_the_embedding_is_the_network_embedding_of_the_pooled_view(y, short):
    together = compute_views((f"musicnn-{short}", f"musicnn-{short}-pooled"), y, AT_16K)
    network = load_tagger(TAGGERS[short])
    with torch.no_grad():
        embedded = network.embed(torch.from_numpy(together[f"musicnn-{short}-pooled"].T.copy()))
    np.testing.assert_allclose(together[f"musicnn-{short}"], embedded.numpy().T, atol=1e-5)


def test_the_pooled_view_is_the_network_pooled_layer_of_each_patch(y):
    patches = torch.from_numpy(cut_patches(compute_view("mel", y, MUSICNN_FEATURES)))
    with torch.no_grad():
        expected = load_tagger("MTT_musicnn").pooled(patches).numpy().T
    found = compute_view("musicnn-mtt-pooled", y, AT_16K)
    assert found.shape == (POOLED_UNITS, 2)
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(found, musicnn_pooled(y=y, sr=16000, tagger="MTT_musicnn"))


def test_each_tagger_runs_once_per_song_whichever_of_its_views_are_computed(y, monkeypatch):
    patches_run = {name: 0 for name in TAGGERS.values()}  # each patch of a song counts once
    real_pooled = Musicnn.pooled

    def counting_pooled(self, x):
        patches_run[next(name for name in TAGGERS.values() if load_tagger(name) is self)] += len(x)
        return real_pooled(self, x)

    monkeypatch.setattr(Musicnn, "pooled", counting_pooled)
    compute_views(("musicnn", *TAGGER_VIEWS), y, AT_16K)
    assert patches_run == {"MSD_musicnn": 2, "MTT_musicnn": 2}
    patches_run.update(dict.fromkeys(patches_run, 0))
    compute_views(("musicnn-mtt", "musicnn-mtt-pooled"), y, AT_16K)
    assert patches_run == {"MSD_musicnn": 0, "MTT_musicnn": 2}


def test_views_computed_together_equal_each_alone(y):
    together = compute_views(("musicnn", *TAGGER_VIEWS), y, AT_16K)
    for view, array in together.items():
        np.testing.assert_array_equal(array, compute_view(view, y, AT_16K), view)


def test_extract_caches_the_views_under_their_own_keys(tmp_path, write_audio):
    song = write_audio("chord.wav", duration_s=6.5, sr=16000)
    features = FeatureConfig(audio=AT_16K.audio, views=("musicnn-msd", "descriptors"))
    report = extract_files([song], features, tmp_path / "cache", progress=False)
    assert report.errors == {} and report.computed == 1
    assert np.load(report.ok[song]["musicnn-msd"]).shape == (200, 2)
    assert np.load(report.ok[song]["descriptors"]).shape == (93, 2)
    again = extract_files([song], features, tmp_path / "cache", progress=False)
    assert (again.computed, again.cached) == (0, 1)
    mtt_configured = FeatureConfig(audio=AT_16K.audio, musicnn=MusicnnConfig("MTT_musicnn"))
    assert FeatureCache(tmp_path / "cache").load(song, mtt_configured, "musicnn-msd") is not None


def test_the_extract_command_caches_them(tmp_path, write_audio):
    song = write_audio("chord.wav", duration_s=4.0, sr=22050, folder=tmp_path / "music")
    (tmp_path / "songs.csv").write_text(f"path\n{song}\n", encoding="utf-8")
    args = ["extract", tmp_path / "songs.csv", "--cache", tmp_path / "cache", "--workers", "1"]
    done = run_tunetag(*args, "--views", "musicnn-msd,descriptors")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 songs ready (1 computed, 0 from the cache)" in done.stdout
    cache = FeatureCache(tmp_path / "cache")
    features = FeatureConfig(views=("musicnn-msd", "descriptors"))
    assert cache.load(song, features, "musicnn-msd").shape == (200, 1)
    assert cache.load(song, features, "descriptors").shape == (93, 1)


def test_fewer_patches_are_those_columns_of_every_patch_and_keyed_apart(tmp_path):
    y = chord(16.0, 16000)  # five 3 s patches

    def at_16k(patches):
        return FeatureConfig(audio=AT_16K.audio, patches_per_window=patches)

    every = compute_view("musicnn-msd", y, at_16k(None))
    three = compute_view("musicnn-msd", y, at_16k(3))
    assert every.shape[1] > 3 and three.shape == (every.shape[0], 3)
    picked = np.linspace(0, every.shape[1] - 1, 3).round().astype(int)  # first, middle, last
    np.testing.assert_allclose(three, every[:, picked], atol=1e-6)
    assert compute_view("musicnn-mtt-pooled", y, at_16k(99)).shape[1] == every.shape[1]
    song = tmp_path / "song.wav"
    song.write_bytes(b"RIFF")
    cache = FeatureCache(tmp_path / "cache")
    keys = {
        cache.key(song, FeatureConfig(patches_per_window=n), "musicnn-msd") for n in (None, 3, 4)
    }
    assert len(keys) == 3
    every = {
        cache.key(song, FeatureConfig(patches_per_window=n), "musicnn-msd") for n in (None, "all")
    }
    assert len(every) == 1  # 'all' reads what every patch does, from the same arrays
    same = {cache.key(song, FeatureConfig(patches_per_window=n), "mel") for n in (None, 3)}
    assert len(same) == 1  # the frame views do not depend on it

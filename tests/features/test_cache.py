"""The content-addressed view cache: hits, misses, and what must (not) change a key."""

from __future__ import annotations

import dataclasses
import importlib
import os

import numpy as np
import pytest

from tunetag.config import (
    AudioConfig,
    ChromaConfig,
    FeatureConfig,
    MelConfig,
    MusicnnConfig,
    TempogramConfig,
    WaveformConfig,
)
from tunetag.errors import AudioDecodeError, ParameterError
from tunetag.features import FeatureCache, view_names

# the module, not the class of the same name that tunetag.features exports
cache_module = importlib.import_module("tunetag.features.cache")

FEATURES = FeatureConfig()
ARRAY = np.arange(12, dtype=np.float32).reshape(3, 4)


@pytest.fixture
def song(write_audio):
    return write_audio("song.wav", duration_s=0.5)


def test_miss_then_hit_after_save(tmp_path, song):
    cache = FeatureCache(tmp_path / "cache")
    assert cache.load(song, FEATURES, "mel") is None
    saved = cache.save(song, FEATURES, "mel", ARRAY)
    assert saved == cache.path_for(song, FEATURES, "mel")
    loaded = cache.load(song, FEATURES, "mel")
    np.testing.assert_array_equal(loaded, ARRAY)
    assert loaded.dtype == np.float32
    assert isinstance(loaded, np.memmap)


def test_layout_is_view_then_two_hex_then_key(tmp_path, song):
    cache = FeatureCache(tmp_path)
    key = cache.key(song, FEATURES, "mel")
    assert len(key) == 64 and int(key, 16) >= 0
    assert cache.path_for(song, FEATURES, "mel") == tmp_path / "mel" / key[:2] / f"{key}.npy"


def test_save_leaves_no_temporary_file(tmp_path, song):
    path = FeatureCache(tmp_path).save(song, FEATURES, "mel", ARRAY)
    assert list(path.parent.iterdir()) == [path]


@pytest.mark.parametrize(
    "changed",
    [
        FeatureConfig(mel=MelConfig(n_mels=64)),
        FeatureConfig(mel=MelConfig(hop_length=256)),
        FeatureConfig(mel=MelConfig(top_db=60.0)),
        FeatureConfig(mel=MelConfig(scale="logc")),
        FeatureConfig(audio=AudioConfig(sample_rate=16000)),
        FeatureConfig(audio=AudioConfig(window_s=30.0)),
    ],
)
def test_changed_setting_is_a_miss(tmp_path, song, changed):
    cache = FeatureCache(tmp_path)
    cache.save(song, FEATURES, "mel", ARRAY)
    assert cache.key(song, changed, "mel") != cache.key(song, FEATURES, "mel")
    assert cache.load(song, changed, "mel") is None


def test_touched_file_is_a_miss(tmp_path, song):
    cache = FeatureCache(tmp_path)
    cache.save(song, FEATURES, "mel", ARRAY)
    stat = song.stat()
    os.utime(song, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert cache.load(song, FEATURES, "mel") is None


def test_same_name_in_another_folder_is_another_song(tmp_path, write_audio):
    a = write_audio("song.wav", duration_s=0.5, folder=tmp_path / "a")
    b = write_audio("song.wav", duration_s=0.5, folder=tmp_path / "b")
    cache = FeatureCache(tmp_path / "cache")
    assert cache.key(a, FEATURES, "mel") != cache.key(b, FEATURES, "mel")


def test_relative_and_absolute_paths_share_a_key(tmp_path, song, monkeypatch):
    cache = FeatureCache(tmp_path / "cache")
    monkeypatch.chdir(song.parent)
    assert cache.key(song.name, FEATURES, "mel") == cache.key(song, FEATURES, "mel")


def test_adding_a_view_keeps_every_key(tmp_path, song):
    cache = FeatureCache(tmp_path)
    more_views = dataclasses.replace(FEATURES, views=view_names())
    for view in view_names():
        assert cache.key(song, more_views, view) == cache.key(song, FEATURES, view)
    assert len({cache.key(song, FEATURES, view) for view in view_names()}) == len(view_names())


@pytest.mark.parametrize(
    ("changed", "view"),
    [
        (FeatureConfig(chroma=ChromaConfig(n_chroma=24)), "chroma"),
        (FeatureConfig(chroma=ChromaConfig(tuning=None)), "chroma"),
        (FeatureConfig(tempogram=TempogramConfig(win_length=200)), "tempogram"),
        (FeatureConfig(waveform=WaveformConfig(floor_db=-60.0)), "waveform"),
        (FeatureConfig(musicnn=MusicnnConfig(tagger="MTT_musicnn")), "musicnn"),
    ],
)
def test_a_view_own_setting_changes_its_key_only(tmp_path, song, changed, view):
    cache = FeatureCache(tmp_path)
    for other in view_names():
        same = cache.key(song, changed, other) == cache.key(song, FEATURES, other)
        assert same == (other != view), other


@pytest.mark.parametrize("view", view_names())
def test_the_frame_grid_and_the_decoding_change_every_view_key(tmp_path, song, view):
    cache = FeatureCache(tmp_path)
    for changed in (
        FeatureConfig(mel=MelConfig(hop_length=256)),
        FeatureConfig(mel=MelConfig(n_fft=1024)),
        FeatureConfig(audio=AudioConfig(sample_rate=16000)),
    ):
        assert cache.key(song, changed, view) != cache.key(song, FEATURES, view)


def test_unknown_view_is_a_parameter_error(tmp_path, song):
    with pytest.raises(ParameterError, match="unknown view 'audio'; known views: mel, chroma"):
        FeatureCache(tmp_path).key(song, FEATURES, "audio")


@pytest.mark.parametrize(
    "damage",
    [b"", b"not a numpy file at all", "truncate"],
    ids=["empty", "garbage", "truncated"],
)
def test_corrupt_file_is_a_miss(tmp_path, song, damage):
    cache = FeatureCache(tmp_path)
    path = cache.save(song, FEATURES, "mel", np.zeros((128, 500), dtype=np.float32))
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    else:
        path.write_bytes(damage)
    assert cache.load(song, FEATURES, "mel") is None
    cache.save(song, FEATURES, "mel", ARRAY)  # and saving repairs it
    np.testing.assert_array_equal(cache.load(song, FEATURES, "mel"), ARRAY)


def test_missing_audio_file_is_an_audio_error(tmp_path):
    with pytest.raises(AudioDecodeError, match="gone.wav: file not found"):
        FeatureCache(tmp_path).key(tmp_path / "gone.wav", FEATURES, "mel")


def test_a_new_cache_format_is_a_miss(tmp_path, song, monkeypatch):
    cache = FeatureCache(tmp_path)
    cache.save(song, FEATURES, "mel", ARRAY)
    monkeypatch.setattr(cache_module, "CACHE_FORMAT_VERSION", cache_module.CACHE_FORMAT_VERSION + 1)
    assert cache.load(song, FEATURES, "mel") is None

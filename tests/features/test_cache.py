"""The content-addressed view cache: hits, misses, and what must (not) change a key."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
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
def test_the_decoding_changes_every_view_key(tmp_path, song, view):
    cache = FeatureCache(tmp_path)
    for changed in (
        FeatureConfig(audio=AudioConfig(sample_rate=16000)),
        FeatureConfig(audio=AudioConfig(window_s=30.0)),
    ):
        assert cache.key(song, changed, view) != cache.key(song, FEATURES, view)


GRID_VIEWS = ("mel", "chroma", "tempogram", "waveform", "musicnn")  # keyed as before settings
FIXED_VIEWS = (
    "descriptors",
    "musicnn-msd",
    "musicnn-msd-pooled",
    "musicnn-mtt",
    "musicnn-mtt-pooled",
)


def test_every_view_is_keyed_by_the_grid_or_by_its_own_settings():
    assert set(view_names()) == {*GRID_VIEWS, *FIXED_VIEWS}


@pytest.mark.parametrize("view", view_names())
def test_the_frame_grid_changes_the_key_of_views_on_it_only(tmp_path, song, view):
    cache = FeatureCache(tmp_path)
    for changed in (
        FeatureConfig(mel=MelConfig(hop_length=256)),
        FeatureConfig(mel=MelConfig(n_fft=1024)),
        FeatureConfig(mel=MelConfig(n_mels=64)),
    ):
        same = cache.key(song, changed, view) == cache.key(song, FEATURES, view)
        assert same == (view in FIXED_VIEWS)


def old_key(song, features: FeatureConfig, view: str) -> str:
    """The key as it was before views said which settings decide them."""
    resolved = song.resolve()
    stat = resolved.stat()
    identity = {
        "format": cache_module.CACHE_FORMAT_VERSION,
        "path": str(resolved),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "audio": dataclasses.asdict(features.audio),
        "mel": dataclasses.asdict(features.mel),
        "view": view,
        "settings": dataclasses.asdict(getattr(features, view)),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()


@pytest.mark.parametrize("view", GRID_VIEWS)
@pytest.mark.parametrize(
    "features",
    [
        FEATURES,
        FeatureConfig(mel=MelConfig(n_mels=64), musicnn=MusicnnConfig(tagger="MTT_musicnn")),
        FeatureConfig(audio=AudioConfig(sample_rate=16000), chroma=ChromaConfig(tuning=None)),
    ],
    ids=["default", "mel-and-tagger", "rate-and-tuning"],
)
def test_the_views_cached_before_keep_their_keys(tmp_path, song, view, features):
    assert FeatureCache(tmp_path).key(song, features, view) == old_key(song, features, view)


@pytest.mark.parametrize("tagger", ["MSD_musicnn", "MTT_musicnn"])
def test_a_fixed_tagger_view_is_keyed_by_its_tagger_not_the_configured_one(tmp_path, song, tagger):
    cache = FeatureCache(tmp_path)
    configured = FeatureConfig(musicnn=MusicnnConfig(tagger=tagger))
    for view in FIXED_VIEWS:
        assert cache.key(song, configured, view) == cache.key(song, FEATURES, view)
    assert (cache.key(song, configured, "musicnn") == cache.key(song, FEATURES, "musicnn")) == (
        tagger == FEATURES.musicnn.tagger
    )


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


def _touch(path):
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_a_touched_file_adopted_keeps_its_arrays(tmp_path, song):
    cache = FeatureCache(tmp_path / "cache")
    assert cache.adopt(song) is False  # new audio: recorded, nothing to link
    cache.save(song, FEATURES, "mel", ARRAY)
    key = cache.key(song, FEATURES, "mel")
    _touch(song)
    assert cache.load(song, FEATURES, "mel") is None
    assert cache.adopt(song) is True
    assert cache.key(song, FEATURES, "mel") == key
    np.testing.assert_array_equal(cache.load(song, FEATURES, "mel"), ARRAY)
    assert cache.adopt(song) is False  # linked once


def test_a_copy_in_another_folder_adopted_shares_the_arrays(tmp_path, song):
    cache = FeatureCache(tmp_path / "cache")
    cache.adopt(song)
    cache.save(song, FEATURES, "mel", ARRAY)
    copy = tmp_path / "moved" / "renamed.wav"
    copy.parent.mkdir()
    copy.write_bytes(song.read_bytes())
    assert cache.adopt(copy) is True
    np.testing.assert_array_equal(cache.load(copy, FEATURES, "mel"), ARRAY)


def test_other_audio_of_the_same_name_is_not_adopted(tmp_path, song, write_audio):
    cache = FeatureCache(tmp_path / "cache")
    cache.adopt(song)
    cache.save(song, FEATURES, "mel", ARRAY)
    other = write_audio("song.wav", duration_s=0.5, freq_hz=880.0, folder=tmp_path / "other")
    assert cache.adopt(other) is False
    assert cache.load(other, FEATURES, "mel") is None


def test_a_changed_file_is_not_adopted_by_its_old_arrays(tmp_path, write_audio):
    cache = FeatureCache(tmp_path / "cache")
    song = write_audio("song.wav", duration_s=0.5)
    cache.adopt(song)
    cache.save(song, FEATURES, "mel", ARRAY)
    write_audio("song.wav", duration_s=0.5, freq_hz=880.0)  # new audio under the same name
    _touch(song)
    assert cache.adopt(song) is False
    assert cache.load(song, FEATURES, "mel") is None


def test_a_file_ffmpeg_cannot_read_is_left_alone(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("not audio\n")
    cache = FeatureCache(tmp_path / "cache")
    assert cache.adopt(text) is False
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("damage", ["", "[1, 2]", '{"path": "x"}', "{not json"])
def test_a_damaged_link_is_ignored(tmp_path, song, damage):
    cache = FeatureCache(tmp_path / "cache")
    cache.adopt(song)
    cache.save(song, FEATURES, "mel", ARRAY)
    _touch(song)
    cache.adopt(song)
    (link,) = (tmp_path / "cache" / "songs" / "file").glob("*/*.json")
    link.write_text(damage)
    assert cache.load(song, FEATURES, "mel") is None  # the file's own identity again

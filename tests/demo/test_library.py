"""The synthesised demo library: layout, tags, determinism, and moods that sound different."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import librosa
import mutagen
import numpy as np
import pytest
import soundfile as sf

from tunetag.demo.library import MOODS, make_demo_library, synthesise_song
from tunetag.errors import ParameterError

SONGS_PER_CLASS = 6
DURATION_S = 3.0


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("demo")
    paths = make_demo_library(
        root, songs_per_class=SONGS_PER_CLASS, duration_s=DURATION_S, progress=False
    )
    return root, paths


def read_metadata(path: Path) -> dict[str, str]:
    """Title, artist, album and genre, whether stored as Vorbis comments or ID3 frames."""
    tags = mutagen.File(path).tags
    if path.suffix == ".wav":
        frames = {"title": "TIT2", "artist": "TPE1", "album": "TALB", "genre": "TCON"}
        return {key: tags[frame].text[0] for key, frame in frames.items()}
    return {key: tags[key][0] for key in ("title", "artist", "album", "genre")}


def test_layout_puts_moods_in_folders(library):
    root, paths = library
    assert len(paths) == 2 * SONGS_PER_CLASS
    assert sorted(p.name for p in root.iterdir()) == sorted(MOODS)
    for mood in MOODS:
        assert sum(p.parent == root / mood for p in paths) == SONGS_PER_CLASS
    assert sorted(root.rglob("*.*")) == sorted(paths)  # nothing else, no temporary files


def test_formats_channels_and_rates_are_mixed(library):
    _, paths = library
    assert {p.suffix for p in paths} == {".flac", ".ogg", ".wav"}
    infos = [sf.info(p) for p in paths]
    assert {info.channels for info in infos} == {1, 2}
    assert {info.samplerate for info in infos} == {22050, 44100}
    assert all(info.duration == pytest.approx(DURATION_S, abs=0.01) for info in infos)


def test_tags_are_readable_and_artists_keep_to_one_mood(library):
    _, paths = library
    moods_by_artist = defaultdict(set)
    songs_by_artist = defaultdict(int)
    genres_by_mood = defaultdict(set)
    for path in paths:
        tags = read_metadata(path)
        assert tags["title"] and tags["album"]
        assert path.stem == f"{tags['artist']} - {tags['title']}"
        moods_by_artist[tags["artist"]].add(path.parent.name)
        songs_by_artist[tags["artist"]] += 1
        genres_by_mood[path.parent.name].add(tags["genre"])
    assert all(len(moods) == 1 for moods in moods_by_artist.values())
    assert all(2 <= count <= 4 for count in songs_by_artist.values())
    for mood in MOODS:
        artists = [a for a, moods in moods_by_artist.items() if moods == {mood}]
        assert len(artists) >= 3
    # Genre is not a copy of mood: some genre occurs in both moods, and each mood has several.
    assert genres_by_mood["mellow"] & genres_by_mood["not mellow"]
    assert all(len(genres) >= 2 for genres in genres_by_mood.values())


def test_same_seed_gives_same_files(library, tmp_path: Path):
    root, paths = library
    again = make_demo_library(
        tmp_path, songs_per_class=SONGS_PER_CLASS, duration_s=DURATION_S, progress=False
    )
    assert [p.relative_to(tmp_path) for p in again] == [p.relative_to(root) for p in paths]
    for first, second in zip(paths, again, strict=True):
        assert np.array_equal(sf.read(first)[0], sf.read(second)[0])
        assert first.read_bytes() == second.read_bytes()  # Ogg serial numbers too


def test_another_seed_gives_other_songs(library, tmp_path: Path):
    _, paths = library
    other = make_demo_library(tmp_path, songs_per_class=2, duration_s=1.0, seed=1, progress=False)
    assert {p.name for p in other}.isdisjoint({p.name for p in paths})


def test_not_mellow_is_louder_and_more_percussive_on_average(library):
    _, paths = library
    features = defaultdict(lambda: defaultdict(list))
    for path in paths:
        samples, file_sr = sf.read(path, dtype="float32", always_2d=True)
        sr = 22050
        y = librosa.resample(samples.mean(axis=1), orig_sr=file_sr, target_sr=sr)
        features[path.parent.name]["rms"].append(np.sqrt(np.mean(y**2)))
        features[path.parent.name]["onset"].append(librosa.onset.onset_strength(y=y, sr=sr).mean())
        centroid = librosa.feature.spectral_centroid(y=y, sr=sr).mean()
        features[path.parent.name]["centroid"].append(centroid)
    for name in ("rms", "onset", "centroid"):
        assert np.mean(features["not mellow"][name]) > np.mean(features["mellow"][name]), name


def test_synthesised_song_shape_level_and_seed():
    song = synthesise_song("mellow", "folk", 2.0, 22050, np.random.default_rng(3), channels=2)
    assert song.shape == (44100, 2)
    assert song.dtype == np.float32
    assert 0.0 < np.abs(song).max() < 0.9
    same = synthesise_song("mellow", "folk", 2.0, 22050, np.random.default_rng(3), channels=2)
    assert np.array_equal(song, same)


@pytest.mark.parametrize(
    ("mood", "genre", "duration_s", "sr", "channels"),
    [
        ("happy", "folk", 1.0, 22050, 1),
        ("mellow", "rock", 1.0, 22050, 1),
        ("not mellow", "rock", 1.0, 22050, 3),
        ("not mellow", "rock", 0.2, 22050, 1),
        ("not mellow", "rock", 1.0, 100, 1),
    ],
)
def test_synthesise_rejects_bad_arguments(mood, genre, duration_s, sr, channels):
    with pytest.raises(ParameterError):
        synthesise_song(mood, genre, duration_s, sr, np.random.default_rng(0), channels)


@pytest.mark.parametrize(
    "kwargs", [{"songs_per_class": 1}, {"duration_s": 0.5}, {"sr": 4000}, {"sr": 200000}]
)
def test_make_rejects_bad_arguments(tmp_path: Path, kwargs):
    with pytest.raises(ParameterError):
        make_demo_library(tmp_path / "demo", progress=False, **kwargs)
    assert not (tmp_path / "demo").exists()

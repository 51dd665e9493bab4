"""Whole artists go to one side; validation holds its share and, when it can, every class."""

from __future__ import annotations

import numpy as np
import pytest

from tunetag.errors import ParameterError
from tunetag.training.splits import grouped_stratified_split


def random_library(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Songs with random artists (1-6 songs each) and random, artist-correlated labels."""
    n_artists = int(rng.integers(2, 40))
    labels, groups = [], []
    for artist in range(n_artists):
        favourite = rng.choice(["mellow", "not mellow", "jazz"])
        for _ in range(int(rng.integers(1, 7))):
            labels.append(favourite if rng.random() < 0.7 else str(rng.choice(["mellow", "jazz"])))
            groups.append(f"artist {artist}")
    return labels, groups


def balanced_library(n_artists: int = 24, songs_each: int = 5) -> tuple[list[str], list[str]]:
    """Three classes, each sung by a third of the artists."""
    classes = ["mellow", "not mellow", "jazz"]
    labels = [classes[a % 3] for a in range(n_artists) for _ in range(songs_each)]
    groups = [f"artist {a}" for a in range(n_artists) for _ in range(songs_each)]
    return labels, groups


def test_no_artist_is_on_both_sides_and_every_song_is_used():
    rng = np.random.default_rng(0)
    for seed in range(150):
        labels, groups = random_library(rng)
        train, val = grouped_stratified_split(labels, groups, 0.25, seed)
        assert len(train) and len(val)
        assert sorted([*train, *val]) == list(range(len(labels)))
        assert list(train) == sorted(train) and list(val) == sorted(val)
        assert not {groups[i] for i in train} & {groups[i] for i in val}


@pytest.mark.parametrize("val_fraction", [0.2, 0.25, 0.5])
def test_validation_holds_about_its_share(val_fraction):
    labels, groups = balanced_library(n_artists=40, songs_each=5)
    for seed in range(5):
        _, val = grouped_stratified_split(labels, groups, val_fraction, seed)
        assert abs(len(val) / len(labels) - val_fraction) <= 0.05


def test_share_is_kept_by_the_fallback_too():
    labels = ["mellow"] * 99 + ["jazz"]  # jazz has one artist: no stratified folds
    groups = [f"artist {i // 3}" for i in range(100)]
    _, val = grouped_stratified_split(labels, groups, 0.25, seed=3)
    assert abs(len(val) - 25) <= 3


def test_same_seed_same_split_other_seed_other_split():
    labels, groups = balanced_library()
    first = grouped_stratified_split(labels, groups, 0.25, seed=7)
    again = grouped_stratified_split(labels, groups, 0.25, seed=7)
    other = grouped_stratified_split(labels, groups, 0.25, seed=8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[1], other[1])


def test_every_class_is_in_validation_when_possible():
    rng = np.random.default_rng(1)
    for seed in range(60):
        labels, groups = balanced_library(n_artists=int(rng.integers(12, 40)))
        train, val = grouped_stratified_split(labels, groups, 0.25, seed)
        assert {labels[i] for i in val} == set(labels)
        assert {labels[i] for i in train} == set(labels)


def test_two_artists_per_class_still_puts_each_class_in_validation():
    labels = ["mellow"] * 4 + ["not mellow"] * 4
    groups = ["a", "a", "b", "b", "c", "c", "d", "d"]
    train, val = grouped_stratified_split(labels, groups, 0.5, seed=0)
    assert {labels[i] for i in val} == {"mellow", "not mellow"}
    assert {labels[i] for i in train} == {"mellow", "not mellow"}


def test_one_artist_cannot_be_split():
    with pytest.raises(ParameterError, match="at least 2 groups"):
        grouped_stratified_split(["mellow", "jazz"], ["solo", "solo"], 0.25, seed=0)


@pytest.mark.parametrize("val_fraction", [0.0, 1.0, -0.1])
def test_val_fraction_must_be_a_share(val_fraction):
    with pytest.raises(ParameterError, match="val_fraction"):
        grouped_stratified_split(["a", "b"], ["x", "y"], val_fraction, seed=0)


def test_lengths_must_match():
    with pytest.raises(ParameterError, match="2 labels but 3 groups"):
        grouped_stratified_split(["a", "b"], ["x", "y", "z"], 0.25, seed=0)

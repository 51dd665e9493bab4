"""Whole artists go to one side; validation holds its share and, when it can, every class.

k-fold: every song is tested once, no artist in two folds, the folds are reproducible.
"""

from __future__ import annotations

import numpy as np
import pytest

from tunetag.errors import ParameterError
from tunetag.training.splits import (
    grouped_stratified_folds,
    grouped_stratified_split,
    stratified_share,
)


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
    with pytest.raises(ParameterError, match="2 labels but 3 groups"):
        grouped_stratified_folds(["a", "b"], ["x", "y", "z"], 2, seed=0)


def test_small_classes_with_many_splits_fall_back_to_a_random_split():
    # 10 splits for 0.1, but no class has 10 songs: scikit-learn would refuse.
    labels = [name for name in "abcd" for _ in range(3)]
    groups = [f"artist {i}" for i in range(12)]
    train, val = grouped_stratified_split(labels, groups, 0.1, seed=0)
    assert len(val) == 1
    assert sorted([*train, *val]) == list(range(12))


@pytest.mark.parametrize("n_folds", [2, 3, 5])
def test_folds_partition_the_songs_and_never_share_an_artist(n_folds):
    rng = np.random.default_rng(n_folds)
    tested = 0
    for seed in range(120):
        labels, groups = random_library(rng)
        if len(set(groups)) < n_folds or max(map(labels.count, set(labels))) < n_folds:
            continue
        folds = grouped_stratified_folds(labels, groups, n_folds, seed)
        assert len(folds) == n_folds
        tests = [list(test) for _, test in folds]
        assert sorted(i for test in tests for i in test) == list(range(len(labels)))
        for train, test in folds:
            assert len(test) > 0
            assert list(train) == sorted(train) and list(test) == sorted(test)
            assert sorted([*train, *test]) == list(range(len(labels)))
            assert not {groups[i] for i in train} & {groups[i] for i in test}
        tested += 1
    assert tested > 50


def test_same_seed_same_folds_other_seed_other_folds():
    labels, groups = balanced_library()
    first = grouped_stratified_folds(labels, groups, 4, seed=7)
    again = grouped_stratified_folds(labels, groups, 4, seed=7)
    other = grouped_stratified_folds(labels, groups, 4, seed=8)
    for (train_a, test_a), (train_b, test_b) in zip(first, again, strict=True):
        assert np.array_equal(train_a, train_b) and np.array_equal(test_a, test_b)
    assert any(
        not np.array_equal(test_a, test_b)
        for (_, test_a), (_, test_b) in zip(first, other, strict=True)
    )


@pytest.mark.parametrize("n_folds", [3, 5])
def test_every_class_is_in_every_fold_when_possible(n_folds):
    rng = np.random.default_rng(n_folds)
    for seed in range(40):
        # At least n_folds artists per class, so each fold can hold each class.
        labels, groups = balanced_library(n_artists=3 * int(rng.integers(n_folds, 12)))
        for _, test in grouped_stratified_folds(labels, groups, n_folds, seed):
            assert {labels[i] for i in test} == set(labels)


def test_folds_keep_the_class_shares():
    # 25 % jazz over 40 artists: each of 4 folds holds about a quarter of the jazz songs.
    labels = ["jazz" if a % 4 == 0 else "mellow" for a in range(40) for _ in range(3)]
    groups = [f"artist {a}" for a in range(40) for _ in range(3)]
    for seed in range(10):
        for _, test in grouped_stratified_folds(labels, groups, 4, seed):
            share = sum(labels[i] == "jazz" for i in test) / len(test)
            assert abs(share - 0.25) <= 0.05


def test_one_artist_per_fold_is_enough():
    labels = ["mellow", "mellow", "jazz", "jazz", "jazz", "mellow"]
    groups = ["a", "a", "b", "b", "c", "c"]
    folds = grouped_stratified_folds(labels, groups, 3, seed=0)
    assert sorted(tuple(test) for _, test in folds) == [(0, 1), (2, 3), (4, 5)]


def test_fewer_artists_than_folds_is_an_error_that_counts_them():
    labels, groups = balanced_library(n_artists=4)
    with pytest.raises(ParameterError, match="at least 5 groups, got 4"):
        grouped_stratified_folds(labels, groups, 5, seed=0)


@pytest.mark.parametrize("n_folds", [1, 0, -3])
def test_fewer_than_two_folds_is_an_error(n_folds):
    labels, groups = balanced_library()
    with pytest.raises(ParameterError, match="at least 2 folds"):
        grouped_stratified_folds(labels, groups, n_folds, seed=0)


def test_folds_need_a_class_as_large_as_the_fold_count():
    with pytest.raises(ParameterError, match="largest has 2"):
        grouped_stratified_folds(["a", "a", "b", "b"], ["w", "x", "y", "z"], 3, seed=0)


def test_a_stratified_share_keeps_every_class_and_its_proportion():
    labels = ["a"] * 40 + ["b"] * 20 + ["c"] * 2
    indices = np.arange(0, 62)
    share = stratified_share(indices, labels, 0.25, seed=1)
    kinds = [labels[k] for k in share]
    assert (kinds.count("a"), kinds.count("b"), kinds.count("c")) == (10, 5, 1)
    assert set(share) <= set(indices) and list(share) == sorted(share)
    assert list(stratified_share(indices, labels, 0.25, seed=1)) == list(share)
    assert list(stratified_share(indices, labels, 0.25, seed=2)) != list(share)
    part = stratified_share(indices[::2], labels, 0.5, seed=0)
    assert set(part) <= set(indices[::2])  # drawn only from the songs given
    with pytest.raises(ParameterError):
        stratified_share(indices, labels, 0.0, seed=0)

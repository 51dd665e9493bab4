"""Hold out whole artists for validation or k-fold testing, keeping the classes' shares."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from tunetag.errors import ParameterError


def grouped_stratified_split(
    labels: Sequence[str],
    groups: Sequence[str],
    val_fraction: float,
    seed: int,
    *,
    group_name: str = "group",
) -> tuple[np.ndarray, np.ndarray]:
    """Split songs into training and validation so that no group is on both sides.

    Songs of one artist sound alike; if they fell on both sides, validation would measure
    how well the model recognises the artist, not the mood. When every class has songs
    from at least 2 groups, scikit-learn's ``StratifiedGroupKFold`` with
    ``round(1 / val_fraction)`` shuffled folds is used and the first fold that puts every
    class on both sides (else the first fold) is held out. Otherwise groups are taken in a
    random order whenever they bring validation nearer ``val_fraction`` of the songs.

    Parameters
    ----------
    labels : sequence of str
        The class of each song (the stratum; e.g. the first task's label).
    groups : sequence of str
        The group of each song (e.g. the artist); a group never straddles the split.
    val_fraction : float
        Share of songs to hold out, in (0, 1); met approximately, since groups are whole.
    seed : int
        Random seed; the same inputs and seed give the same split.
    group_name : str
        What a group is, in errors ("artist": "songs of at least 2 artists").

    Returns
    -------
    train, val : numpy.ndarray of int
        Sorted song indices of each side; together they are every song once.

    Raises
    ------
    ParameterError
        If the lengths differ, ``val_fraction`` is outside (0, 1) or there are fewer than
        2 groups.
    """
    if len(labels) != len(groups):
        raise ParameterError(f"{len(labels)} labels but {len(groups)} groups")
    if not 0 < val_fraction < 1:
        raise ParameterError(f"val_fraction must be in (0, 1), got {val_fraction}")
    labels_arr = np.asarray(labels, dtype=object)
    groups_arr = np.asarray(groups, dtype=object)
    unique_groups = sorted(set(groups_arr))
    if len(unique_groups) < 2:
        raise ParameterError(
            f"a split needs songs of at least 2 {group_name}s, got {len(unique_groups)}"
        )
    n_splits = max(2, round(1 / val_fraction))
    class_sizes = Counter(labels_arr)
    groups_per_class = [len(set(groups_arr[labels_arr == label])) for label in class_sizes]
    if (
        min(groups_per_class) >= 2
        and len(unique_groups) >= n_splits
        and max(class_sizes.values()) >= n_splits
    ):
        return _stratified_group_fold(labels_arr, groups_arr, n_splits, seed)
    return _random_group_split(groups_arr, unique_groups, val_fraction, seed)


def grouped_stratified_folds(
    labels: Sequence[str],
    groups: Sequence[str],
    n_folds: int,
    seed: int,
    *,
    group_name: str = "group",
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split songs into k folds for cross-validation, no group in two folds.

    Every song is tested exactly once, by the model trained on the other folds, so a small
    library's accuracy is measured on all of its songs rather than on one lucky quarter.
    scikit-learn's ``StratifiedGroupKFold`` (shuffled) places whole groups so that each
    fold's class shares stay near the library's.

    Parameters
    ----------
    labels : sequence of str
        The class of each song (the stratum; e.g. the first task's label).
    groups : sequence of str
        The group of each song (e.g. the artist); a group's songs all share one test fold.
    n_folds : int
        Number of folds, k >= 2; each fold tests about 1/k of the songs.
    seed : int
        Random seed; the same inputs and seed give the same folds.
    group_name : str
        What a group is, in errors ("artist": "songs of at least 5 artists").

    Returns
    -------
    list of (train, test) pairs of numpy.ndarray of int
        One pair per fold, each side sorted song indices; the test sides partition the songs
        and no group is on both sides of a pair.

    Raises
    ------
    ParameterError
        If the lengths differ, ``n_folds`` < 2, there are fewer groups than folds, or every
        class has fewer songs than folds.
    """
    if len(labels) != len(groups):
        raise ParameterError(f"{len(labels)} labels but {len(groups)} groups")
    if n_folds < 2:
        raise ParameterError(f"k-fold needs at least 2 folds, got {n_folds}")
    labels_arr = np.asarray(labels, dtype=str)
    groups_arr = np.asarray(groups, dtype=str)
    n_groups = len(set(groups_arr))
    if n_groups < n_folds:
        raise ParameterError(
            f"{n_folds} folds need songs of at least {n_folds} {group_name}s, got {n_groups}"
        )
    largest_class = int(np.unique(labels_arr, return_counts=True)[1].max())
    if largest_class < n_folds:
        raise ParameterError(
            f"{n_folds} folds need a class with at least {n_folds} songs; the largest has "
            f"{largest_class}"
        )
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        folds = splitter.split(np.zeros(len(labels_arr)), labels_arr, groups_arr)
        return [(np.sort(train), np.sort(test)) for train, test in folds]


def _stratified_group_fold(
    labels: np.ndarray, groups: np.ndarray, n_splits: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The first grouped stratified fold with every class on both sides, else the first."""
    folds = grouped_stratified_folds(labels, groups, n_splits, seed)
    classes = set(labels)
    for train, val in folds:
        if set(labels[val]) == classes and set(labels[train]) == classes:
            return train, val
    return folds[0]


def _random_group_split(
    groups: np.ndarray, unique_groups: list[str], val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Take shuffled groups that bring validation nearer its share; keep one for training."""
    sizes = Counter(groups)
    target = val_fraction * len(groups)
    order = [unique_groups[i] for i in np.random.default_rng(seed).permutation(len(unique_groups))]
    val_groups: set[str] = set()
    n_val = 0
    for group in order:
        nearer = abs(n_val + sizes[group] - target) < abs(n_val - target)
        if nearer and len(val_groups) < len(unique_groups) - 1:
            val_groups.add(group)
            n_val += sizes[group]
    if not val_groups:
        val_groups.add(min(order, key=sizes.__getitem__))
    in_val = np.array([g in val_groups for g in groups], dtype=bool)
    return np.flatnonzero(~in_val), np.flatnonzero(in_val)


def stratified_share(
    indices: np.ndarray, labels: Sequence[str], fraction: float, seed: int
) -> np.ndarray:
    """A random ``fraction`` of ``indices`` with each class's share kept (at least one song
    of every class): what a model learns from when a person has labelled fewer songs.

    Parameters
    ----------
    indices : numpy.ndarray of int
        The songs to draw from.
    labels : sequence of str
        The class of every song (indexed by song, not by position in ``indices``).
    fraction : float
        Share to keep, in (0, 1].
    seed : int
        Random seed; the same inputs and seed give the same songs.

    Returns
    -------
    numpy.ndarray of int
        Sorted song indices, a subset of ``indices``.
    """
    if not 0 < fraction <= 1:
        raise ParameterError(f"fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    indices = np.asarray(indices)
    of_class = np.asarray([labels[k] for k in indices], dtype=object)
    kept = []
    for label in sorted(set(of_class)):
        members = indices[of_class == label]
        keep = max(1, round(fraction * len(members)))
        kept.append(rng.permutation(members)[:keep])
    return np.sort(np.concatenate(kept))

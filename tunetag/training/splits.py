"""Hold out whole artists for validation, keeping the classes' shares where possible."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from tunetag.errors import ParameterError


def grouped_stratified_split(
    labels: Sequence[str], groups: Sequence[str], val_fraction: float, seed: int
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
            f"a split needs songs from at least 2 groups, got {len(unique_groups)}"
        )
    n_splits = max(2, round(1 / val_fraction))
    groups_per_class = [
        len(set(groups_arr[labels_arr == label])) for label in sorted(set(labels_arr))
    ]
    if min(groups_per_class) >= 2 and len(unique_groups) >= n_splits:
        return _stratified_group_fold(labels_arr, groups_arr, n_splits, seed)
    return _random_group_split(groups_arr, unique_groups, val_fraction, seed)


def _stratified_group_fold(
    labels: np.ndarray, groups: np.ndarray, n_splits: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The first StratifiedGroupKFold fold with every class on both sides, else the first."""
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    classes = set(labels)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        folds = list(splitter.split(np.zeros(len(labels)), labels, groups))
    for train, val in folds:
        if set(labels[val]) == classes and set(labels[train]) == classes:
            return np.sort(train), np.sort(val)
    train, val = folds[0]
    return np.sort(train), np.sort(val)


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

"""The order songs come up on the labelling page: unlabelled first, then the rest."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import numpy as np

from tunetag.errors import ParameterError

# CSV order, seeded shuffle, least sure model first, and the songs that teach the most
ORDERS = ("file", "shuffle", "uncertain", "teach")
TEACH = "teach"
PROJECTED_DIMENSIONS = 64  # distances between songs are measured in a random projection
DISTANCE_CHUNK = 256  # labelled songs whose distances to the library are held at once
PICKED_APART = 32  # songs the teaching order spreads one by one; the rest follow by score


def label_queue(
    song_ids: Sequence[int],
    is_complete: Callable[[int], bool],
    order: str = "file",
    *,
    seed: int = 0,
    uncertainty: dict[int, float] | None = None,
    teaching: Sequence[int] | None = None,
) -> list[int]:
    """Songs in the order to label them.

    Songs still missing a label come first, so a person who comes back picks up where they
    left off; the labelled ones follow in the same order, for review.

    Parameters
    ----------
    song_ids : sequence of int
        The songs that can be labelled (their files exist).
    is_complete : callable
        Song id -> whether it has a label in every task.
    order : {"file", "shuffle", "uncertain"}
        ``"file"`` keeps the CSV's order; ``"shuffle"`` mixes it (the same for the same
        ``seed``); ``"uncertain"`` puts first the songs a trained model is least sure
        about, where one label teaches the most.
    seed : int
        Seed of the shuffle.
    uncertainty : dict of int to float, optional
        Song id -> how unsure the model is, 0 (sure) to 1; needed for ``"uncertain"``.
        Songs without a score go last.
    teaching : sequence of int, optional
        Song ids in `teaching_order`; needed for ``"teach"``. Songs missing from it (not
        yet prepared for the live model) follow in CSV order.

    Returns
    -------
    list of int
    """
    if order not in ORDERS:
        raise ParameterError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    ordered = list(song_ids)
    if order == "shuffle":
        random.Random(seed).shuffle(ordered)
    elif order == "uncertain":
        if uncertainty is None:
            raise ParameterError("the 'uncertain' order needs a trained run (--run RUN)")
        ordered.sort(key=lambda song_id: -uncertainty.get(song_id, -1.0))
    elif order == TEACH:
        if teaching is None:
            raise ParameterError("the 'teach' order needs the live model's teaching order")
        rank = {song_id: k for k, song_id in enumerate(teaching)}
        ordered.sort(key=lambda song_id: rank.get(song_id, len(rank)))
    return sorted(ordered, key=is_complete)


def spread_points(z: np.ndarray, seed: int = 0) -> np.ndarray:
    """Songs' standardised summaries (songs, d) projected to `PROJECTED_DIMENSIONS` by a
    fixed random Gaussian matrix: distances stay nearly the same (Johnson-Lindenstrauss) at
    a small share of the cost, which matters on a library of thousands of songs."""
    rng = np.random.default_rng(seed)
    projection = rng.normal(size=(z.shape[1], PROJECTED_DIMENSIONS)) / np.sqrt(PROJECTED_DIMENSIONS)
    return z @ projection


def teaching_order(
    points: np.ndarray,
    labelled: np.ndarray,
    uncertainty: np.ndarray | None = None,
    seed: int = 0,
) -> list[int]:
    """Rows of the unlabelled songs, the one whose label would teach the model most first.

    Until there is a model (``uncertainty`` None), songs spread over the library: k-means++
    seeding, each next song drawn at random with probability proportional to its squared
    distance to the nearest song labelled or drawn so far, so the first labels cover every
    corner of it (a CSV written from class folders holds one class for a long while). The
    first `PICKED_APART` are drawn one by one, each counting as labelled for the next; the
    rest follow by that distance. Once a model exists, the songs it is least sure of come
    first (ties: the farthest from anything labelled). Replayed on three sets of real
    recordings (``benchmarks/active.py``, README), weighting the doubt by the distance to
    the labelled songs as well (BADGE-like draws) needed more labels, not fewer: on the
    two-class mood set 39.6 to reach 95 % of the ceiling against 23.5 for this order, as the
    far songs it favours are often oddities that teach little.

    Parameters
    ----------
    points : ndarray, shape (songs, p)
        The songs in a space where distance means unlike (see `spread_points`).
    labelled : ndarray of bool, shape (songs,)
    uncertainty : ndarray, shape (songs,), optional
        0 (sure) .. 1 (a coin toss), from the live model.
    seed : int
        Seed of the draws (give each fit its own, or every fit draws at the same quantile).
    """
    labelled = np.asarray(labelled, dtype=bool)
    candidates = np.flatnonzero(~labelled)
    if candidates.size == 0:
        return []
    nearest = _squared_distance_to(points[candidates], points[labelled])
    if uncertainty is not None:
        doubt = np.asarray(uncertainty, dtype=float)[candidates]
        return [int(candidates[k]) for k in np.lexsort((-nearest, -doubt))]
    rng = np.random.default_rng(seed)
    left = np.ones(candidates.size, dtype=bool)
    picked: list[int] = []
    for _ in range(min(PICKED_APART, candidates.size)):
        choices = np.flatnonzero(left)
        weights = _spread_weights(nearest[choices])
        k = int(rng.choice(choices, p=weights / weights.sum()))
        picked.append(k)
        left[k] = False
        nearest = np.minimum(
            nearest, _squared_distance_to(points[candidates], points[[candidates[k]]])
        )
    rest = np.flatnonzero(left)
    rest = rest[np.argsort(-_spread_weights(nearest[rest]), kind="stable")]
    return [int(candidates[k]) for k in [*picked, *rest]]


def _spread_weights(nearest: np.ndarray) -> np.ndarray:
    """Squared distance to the nearest labelled song; every song alike where none is
    labelled yet or all sit on labelled ones."""
    if np.isinf(nearest).any() or nearest.sum() <= 0:
        return np.ones_like(nearest)
    return nearest


def _squared_distance_to(points: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Each point's squared distance to the nearest of ``others`` (inf when there are none),
    ``others`` taken `DISTANCE_CHUNK` at a time: memory stays linear in the library (a
    whole matrix of 20 000 songs by 2 000 labelled ones would take 800 MB)."""
    nearest = np.full(len(points), np.inf)
    lengths = (points**2).sum(axis=1)[:, None]
    for start in range(0, len(others), DISTANCE_CHUNK):
        chunk = others[start : start + DISTANCE_CHUNK]
        squared = lengths + (chunk**2).sum(axis=1)[None, :] - 2.0 * points @ chunk.T
        nearest = np.minimum(nearest, np.maximum(squared, 0.0).min(axis=1))
    return nearest

"""The order songs come up on the labelling page: unlabelled first, then the rest."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from tunetag.errors import ParameterError

ORDERS = ("file", "shuffle", "uncertain")  # CSV order, seeded shuffle, least sure model first


def label_queue(
    song_ids: Sequence[int],
    is_complete: Callable[[int], bool],
    order: str = "file",
    *,
    seed: int = 0,
    uncertainty: dict[int, float] | None = None,
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
    return sorted(ordered, key=is_complete)

"""The order songs come up in: unlabelled first, then file, shuffled or least-sure order."""

from __future__ import annotations

import numpy as np
import pytest

from tunetag.errors import ParameterError
from tunetag.labelapp import queue
from tunetag.labelapp.queue import (
    ORDERS,
    PICKED_APART,
    label_queue,
    spread_points,
    teaching_order,
)

SONGS = list(range(40))
LABELLED = {1, 4, 5, 11, 20, 33}


def done(song_id: int) -> bool:
    return song_id in LABELLED


def test_the_file_order_puts_unlabelled_songs_first_each_part_in_csv_order():
    queue = label_queue(SONGS, done, "file")
    unlabelled = [i for i in SONGS if i not in LABELLED]
    assert queue == unlabelled + sorted(LABELLED)


def test_the_file_order_is_the_default_and_keeps_the_given_order_of_ids():
    assert label_queue([7, 3, 5, 1, 0], done) == [7, 3, 0, 5, 1]


def test_a_shuffle_is_a_permutation_with_unlabelled_songs_still_first():
    queue = label_queue(SONGS, done, "shuffle", seed=1)
    assert sorted(queue) == SONGS
    split = len(SONGS) - len(LABELLED)
    assert not any(done(i) for i in queue[:split]) and all(done(i) for i in queue[split:])
    assert queue != label_queue(SONGS, done, "file")


def test_a_shuffle_is_fixed_by_its_seed():
    seven = label_queue(SONGS, done, "shuffle", seed=7)
    assert label_queue(SONGS, done, "shuffle", seed=7) == seven
    assert label_queue(SONGS, done, "shuffle", seed=8) != seven


def test_uncertain_puts_the_least_sure_first_and_unscored_songs_last_in_each_part():
    uncertainty = {0: 0.2, 1: 0.9, 2: 0.7, 4: 0.1, 5: 0.95, 6: 0.0}
    queue = label_queue(range(8), lambda i: i in {1, 4, 7}, "uncertain", uncertainty=uncertainty)
    assert queue == [5, 2, 0, 6, 3, 1, 4, 7]


def test_uncertain_keeps_file_order_between_equal_scores():
    uncertainty = {3: 0.5, 1: 0.5, 2: 0.8, 0: 0.5}
    assert label_queue(range(4), done, "uncertain", uncertainty=uncertainty) == [2, 0, 3, 1]


def test_uncertain_with_no_song_scored_is_the_file_order():
    assert label_queue(SONGS, done, "uncertain", uncertainty={}) == label_queue(SONGS, done)


def test_uncertain_without_scores_is_a_parameter_error():
    with pytest.raises(ParameterError, match="--run"):
        label_queue(SONGS, done, "uncertain")


@pytest.mark.parametrize("order", ["random", "File", ""])
def test_an_unknown_order_is_a_parameter_error(order):
    with pytest.raises(ParameterError, match="order must be one of"):
        label_queue(SONGS, done, order)


def test_every_order_leaves_the_given_ids_alone():
    given = list(SONGS)
    for order in ORDERS:
        label_queue(given, done, order, uncertainty={0: 1.0}, teaching=[3, 2])
    assert given == SONGS


# --- teach: the live model's order ------------------------------------------------------


def test_teach_follows_the_teaching_order_then_the_csv_order_unlabelled_first():
    queue = label_queue(range(8), lambda i: i in {1, 4}, "teach", teaching=[6, 2, 5])
    assert queue == [6, 2, 5, 0, 3, 7, 1, 4]
    with pytest.raises(ParameterError, match="live model"):
        label_queue(SONGS, done, "teach")


def clusters(sizes: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points in tight, far-apart clusters of the given sizes, and each point's cluster."""
    rng = np.random.default_rng(seed)
    which = np.repeat(np.arange(len(sizes)), sizes)
    centres = rng.normal(size=(len(sizes), 8)) * 50.0
    return centres[which] + rng.normal(size=(len(which), 8)), which


def test_without_a_model_the_first_songs_cover_every_cluster_even_a_small_one():
    points, which = clusters([60, 30, 6, 4])
    for seed in range(5):
        order = teaching_order(points, np.zeros(len(points), dtype=bool), seed=seed)
        assert sorted(order) == list(range(len(points)))
        assert set(which[order[:4]]) == {0, 1, 2, 3}  # file order would take 60 songs of one


def test_without_a_model_labelled_clusters_are_left_for_the_others():
    points, which = clusters([20, 20, 20])
    labelled = which == 0
    order = teaching_order(points, labelled, seed=0)
    assert set(order) == set(np.flatnonzero(~labelled))
    assert set(which[order[:2]]) == {1, 2}


def test_with_a_model_the_songs_it_is_least_sure_of_come_first_the_far_ones_on_ties():
    points, which = clusters([20, 20, 20])
    labelled = np.zeros(60, dtype=bool)
    labelled[[0, 1, 20]] = True  # clusters 0 and 1 heard, cluster 2 not
    uncertainty = np.full(60, 0.1)
    uncertainty[which == 0] = 0.9  # unsure, in a cluster already heard
    uncertainty[which == 2] = 0.5  # less unsure, unheard
    uncertainty[21] = 0.0  # sure of it: last
    for seed in range(3):
        order = teaching_order(points, labelled, uncertainty, seed)
        assert set(which[order[:18]]) == {0} and set(which[order[18:38]]) == {2}
        assert order[-1] == 21
    tied = teaching_order(points, labelled, np.full(60, 0.5))
    assert set(which[tied[:20]]) == {2}  # equally unsure: the unheard cluster first


def test_the_last_few_songs_are_ordered_too():
    points, _ = clusters([3, 2])
    labelled = np.array([True, False, False, True, False])
    assert sorted(teaching_order(points, labelled, np.full(5, 0.5))) == [1, 2, 4]
    assert teaching_order(points, np.ones(5, dtype=bool)) == []


def test_the_teaching_order_is_fixed_by_its_seed_and_picks_apart_then_by_score():
    points, _ = clusters([40, 40])
    labelled = np.zeros(80, dtype=bool)
    first = teaching_order(points, labelled, seed=3)
    assert teaching_order(points, labelled, seed=3) == first
    assert teaching_order(points, labelled, seed=4) != first
    uncertainty = np.linspace(0, 1, 80)
    scored = teaching_order(points, labelled, uncertainty)
    assert len(scored) == 80 and len(set(scored)) == 80
    assert PICKED_APART < 80


def test_spread_points_keep_distances_roughly():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, 400))
    projected = spread_points(z)
    assert projected.shape == (50, 64)
    far = np.linalg.norm(z[0] - z[1:], axis=1)
    near = np.linalg.norm(projected[0] - projected[1:], axis=1)
    assert np.all(np.abs(near / far - 1) < 0.5)


def test_distances_to_many_labelled_songs_are_taken_in_chunks_to_the_same_order():
    rng = np.random.default_rng(7)
    points = rng.normal(size=(700, 16))
    labelled = rng.random(700) < 0.8  # more labelled songs than one chunk holds
    whole = np.min(((points[~labelled, None] - points[None, labelled]) ** 2).sum(-1), axis=1)
    np.testing.assert_allclose(
        queue._squared_distance_to(points[~labelled], points[labelled]), whole, rtol=1e-9
    )
    assert labelled.sum() > queue.DISTANCE_CHUNK

"""The order songs come up in: unlabelled first, then file, shuffled or least-sure order."""

from __future__ import annotations

import pytest

from tunetag.errors import ParameterError
from tunetag.labelapp.queue import ORDERS, label_queue

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
        label_queue(given, done, order, uncertainty={0: 1.0})
    assert given == SONGS

"""Exact cosine search and what a list may hold: known points, known answers."""

from __future__ import annotations

import numpy as np
import pytest

from tunetag.errors import ParameterError
from tunetag.library.neighbours import (
    DUPLICATE_DISTANCE,
    Picker,
    cosine_distances,
    nearest_rows,
    standardised_unit_rows,
    unit_rows,
)


def clusters(rng: np.random.Generator, per_cluster: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Songs around three orthogonal directions in 16 values, and each song's cluster."""
    centres = np.eye(16)[:3] * 10
    x = np.concatenate([centre + rng.normal(0, 1, (per_cluster, 16)) for centre in centres])
    return unit_rows(x), np.repeat(np.arange(3), per_cluster)


def test_songs_come_nearest_first_and_the_seed_is_left_out():
    unit, cluster = clusters(np.random.default_rng(0))
    seed = 2
    distances = cosine_distances(unit, unit[seed])
    found = Picker(unit, [""] * len(unit), None, left_out=[seed]).take(distances, 5)
    assert seed not in found
    assert (cluster[found] == cluster[seed]).all()  # the five other songs of its cluster
    assert np.all(np.diff(distances[found]) >= 0)
    assert np.allclose(distances[found], 1 - unit[found] @ unit[seed], atol=1e-6)


def test_at_most_k_songs_of_an_artist_and_unknown_artists_are_not_capped():
    unit, _ = clusters(np.random.default_rng(1))
    artists = ["one"] * 6 + [""] * 12
    distances = cosine_distances(unit, unit[0])
    found = Picker(unit, artists, 2, left_out=[0]).take(distances, 10)
    assert sum(artists[k] == "one" for k in found) == 2
    assert len(found) == 10
    found = Picker(unit, ["One "] * 18, 3).take(distances, 10)  # spelling does not count
    assert len(found) == 3


def test_near_duplicates_of_a_seed_or_of_a_song_taken_are_left_out():
    unit, _ = clusters(np.random.default_rng(2))
    twice = np.concatenate([unit, unit[[1, 3]]])  # songs 18 and 19 repeat songs 1 and 3
    distances = cosine_distances(twice, twice[1])
    found = Picker(twice, [""] * len(twice), None, left_out=[1]).take(distances, 19)
    assert 18 not in found  # the seed's copy
    assert (3 in found) != (19 in found)  # one of the two recordings of song 3
    assert len(found) == 17
    outside = Picker(unit, [""] * 18, None, extra=unit[[4]]).take(distances[:18], 18)
    assert 4 not in outside  # a seed outside the library still has its copy left out


def test_a_song_just_past_the_duplicate_distance_is_kept():
    near = unit_rows(np.array([[1.0, 0.0], [1.0, 0.0], [np.cos(0.3), np.sin(0.3)]]))
    assert 1 - near[2] @ near[0] > DUPLICATE_DISTANCE
    found = Picker(near, ["", "", ""], None, left_out=[0]).take(cosine_distances(near, near[0]), 3)
    assert found == [2]


def test_songs_at_an_infinite_distance_are_never_taken():
    unit, _ = clusters(np.random.default_rng(3))
    distances = cosine_distances(unit, unit[0])
    distances[6:] = np.inf
    assert sorted(Picker(unit, [""] * 18, None).take(distances, 18)) == list(range(6))


def test_a_picker_remembers_what_it_took():
    unit, _ = clusters(np.random.default_rng(4))
    picker = Picker(unit, [""] * 18, None)
    first = picker.take(cosine_distances(unit, unit[0]), 3)
    second = picker.take(cosine_distances(unit, unit[0]), 3)
    assert not set(first) & set(second) and picker.taken == first + second


def test_nearest_rows_is_the_exact_search(monkeypatch):
    monkeypatch.setattr("tunetag.library.neighbours.QUERY_CHUNK", 7)  # several chunks
    unit = unit_rows(np.random.default_rng(5).normal(size=(30, 8)))
    found = nearest_rows(unit, 4)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    assert (found == np.argsort(-similarity, axis=1, kind="stable")[:, :4]).all()


def test_standardised_rows_are_made_in_place_chunk_by_chunk(monkeypatch):
    monkeypatch.setattr("tunetag.library.neighbours.QUERY_CHUNK", 4)  # several chunks
    x = np.random.default_rng(6).normal(3, 2, (10, 5)).astype(np.float32)
    x[:, 2] = 7.0  # a constant column keeps scale 1
    expected = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    unit, mean, scale = standardised_unit_rows(x)
    assert unit is x and np.allclose(unit, expected, atol=1e-5)
    assert scale[2] == 1.0 and mean[2] == pytest.approx(7.0)


def test_bad_input_is_refused():
    with pytest.raises(ParameterError, match="NaN"):
        unit_rows(np.array([[np.nan, 1.0]]))
    with pytest.raises(ParameterError, match="zeros"):
        cosine_distances(unit_rows(np.eye(2)), np.zeros(2))
    with pytest.raises(ParameterError, match="per_artist"):
        Picker(unit_rows(np.eye(2)), ["", ""], 0)
    assert np.allclose(unit_rows(np.zeros((1, 3))), 0)

"""A trained run's guesses: how unsure it is, and the uncertain-first queue it gives."""

from __future__ import annotations

import numpy as np
import pytest

from tunetag.labelapp.guesses import task_uncertainty
from tunetag.labelapp.session import open_session
from tunetag.library.songtable import SongTable
from tunetag.library.tasks import Task

# Rows whose mood is emptied after training: the songs left to label. The shared run
# (`logreg_run`, on the demo songs of seed 2) is least sure of them in an order other than
# the file's (1, 4, 6, 0), so the test can tell.
BLANKED = (0, 1, 4, 6)

# --- task_uncertainty -------------------------------------------------------------------


def test_a_uniform_guess_is_most_unsure_and_a_one_hot_is_sure():
    for n_classes in (2, 3, 5):
        task = Task("mood", tuple(f"c{k}" for k in range(n_classes)))
        uniform = np.full((1, n_classes), 1.0 / n_classes)
        one_hot = np.eye(n_classes)
        assert task_uncertainty(task.multilabel, uniform) == pytest.approx([1.0])
        assert task_uncertainty(task.multilabel, one_hot) == pytest.approx(np.zeros(n_classes))


def test_single_label_uncertainty_falls_as_the_top_class_grows():
    task = Task("mood", ("a", "b", "c"))
    guesses = np.array([[0.4, 0.35, 0.25], [0.6, 0.3, 0.1], [0.9, 0.05, 0.05]])
    unsure = task_uncertainty(task.multilabel, guesses)
    assert unsure.shape == (3,)
    assert 1.0 > unsure[0] > unsure[1] > unsure[2] > 0.0
    assert unsure[1] == pytest.approx((1 - 0.6) * 3 / 2)


def test_multi_label_uncertainty_is_one_at_a_coin_toss_and_zero_when_sure():
    task = Task("tags", ("calm", "vocal"), multilabel=True)
    guesses = np.array([[0.5, 0.5], [0.0, 1.0], [1.0, 1.0], [0.5, 1.0], [0.75, 0.25]])
    assert task_uncertainty(task.multilabel, guesses) == pytest.approx([1.0, 0.0, 0.0, 0.5, 0.5])


# --- the uncertain-first session of a trained run ---------------------------------------


@pytest.fixture(scope="module")
def labelled_run(small_library, logreg_run, copy_library, tmp_path_factory):
    """8 six-second demo songs, the shared logistic run trained on their moods, then 4 moods
    blanked (in a copy of the song CSV)."""
    root = copy_library(small_library, tmp_path_factory.mktemp("guesses"))
    cache = root / "cache"
    songs = root / "songs.csv"
    run = logreg_run
    table = SongTable.read(songs)
    for row in BLANKED:
        table.rows[row]["mood"] = ""
    table.write()
    session, skipped = open_session(
        songs, ["mood"], order="uncertain", run=run.path, cache_dir=cache, progress=False
    )
    yield {"session": session, "skipped": skipped, "classes": run.load_tasks()[0].classes}
    session.close()


def test_unlabelled_songs_come_first_least_sure_first(labelled_run):
    session = labelled_run["session"]
    assert labelled_run["skipped"] == {}
    assert sorted(session.queue) == list(range(8))
    first = session.queue[: len(BLANKED)]
    assert sorted(first) == list(BLANKED)
    unsure = [session.guesses.uncertainty[song_id] for song_id in first]
    assert unsure == sorted(unsure, reverse=True)
    assert first != sorted(first)  # not merely the file order
    assert all(0.0 <= u <= 1.0 for u in unsure)
    labelled = session.queue[len(BLANKED) :]
    assert sorted(labelled) == [i for i in range(8) if i not in BLANKED]
    unsure = [session.guesses.uncertainty[song_id] for song_id in labelled]
    assert unsure == sorted(unsure, reverse=True)  # reviewing: the most doubtful label first


def test_every_unlabelled_song_has_a_guess_over_the_run_s_classes(labelled_run):
    guesses = labelled_run["session"].guesses
    classes = set(labelled_run["classes"])
    assert classes == {"mellow", "not mellow"}
    for song_id in BLANKED:
        probabilities = guesses.probabilities[song_id]["mood"]
        assert set(probabilities) == classes
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-3)
        assert all(0.0 <= p <= 1.0 for p in probabilities.values())


def test_labelled_songs_are_scored_too(labelled_run):
    guesses = labelled_run["session"].guesses
    assert set(guesses.probabilities) == set(guesses.uncertainty) == set(range(8))


def test_the_page_shows_the_guess_beside_each_song(labelled_run):
    session = labelled_run["session"]
    assert set(session.song(BLANKED[0])["guess"]["mood"]) == set(labelled_run["classes"])
    assert set(session.song(2)["guess"]["mood"]) == set(labelled_run["classes"])

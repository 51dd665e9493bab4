"""The page's live model: a probe on every labelled song, its held-out score and doubts."""

from __future__ import annotations

import numpy as np
import pytest

from tunetag.labelapp.learner import (
    DOUBT_PROBABILITY,
    LIVE_C_GRID,
    doubted_labels,
    fit_task,
    principal_directions,
)

CLASSES = ["mellow", "lively", "dark"]  # "dark" is offered, no song holds it


def two_moods(n: int, seed: int = 0) -> tuple[np.ndarray, list[list[str]]]:
    """Standardised-looking summaries where two columns tell mellow from lively."""
    rng = np.random.default_rng(seed)
    lively = np.arange(n) % 2 == 1
    z = rng.normal(size=(n, 30))
    z[:, :2] += 3.0 * lively[:, None]
    return z, [["lively"] if is_lively else ["mellow"] for is_lively in lively]


def test_a_clear_task_scores_high_on_held_out_songs_and_guesses_the_unlabelled():
    z, labels = two_moods(80)
    given = [song if k < 60 else [] for k, song in enumerate(labels)]

    fit = fit_task(z, given, CLASSES, multi_label=False)

    assert fit.labelled.tolist() == list(range(60))
    assert fit.c in LIVE_C_GRID and len(fit.fold_scores) == 5
    assert fit.score > 0.9 and fit.interval[0] <= fit.score <= fit.interval[1]
    assert fit.probabilities.shape == (80, 3) and np.allclose(fit.probabilities.sum(axis=1), 1)
    assert np.all(fit.probabilities[:, 2] == 0)  # no song is dark: never guessed
    guessed = np.array(CLASSES)[fit.probabilities[60:].argmax(axis=1)]
    assert (guessed == np.array([song[0] for song in labels[60:]])).mean() > 0.9
    assert fit.held_out.shape == (60, 3)


def test_held_out_guesses_come_from_models_that_never_saw_the_song():
    """A song whose label contradicts its sound is doubted: a model that had seen it would
    have learnt it (weak penalty), one that had not finds it unlikely."""
    z, labels = two_moods(60, seed=1)
    labels[7] = ["lively" if labels[7] == ["mellow"] else "mellow"]

    fit = fit_task(z, labels, CLASSES, multi_label=False)
    doubts = doubted_labels(fit, labels)

    assert doubts and doubts[0][:3] == (7, labels[7][0], True)
    assert all(p < DOUBT_PROBABILITY for *_, p in doubts)
    assert [p for *_, p in doubts] == sorted(p for *_, p in doubts)
    # the page's guess of a labelled song is the held-out one: it does not echo the label
    guesses = fit.guesses()
    np.testing.assert_array_equal(guesses[fit.labelled], fit.held_out)
    assert guesses[7, CLASSES.index(labels[7][0])] < DOUBT_PROBABILITY
    assert (
        fit.probabilities[7, CLASSES.index(labels[7][0])] > guesses[7, CLASSES.index(labels[7][0])]
    )


def test_few_songs_get_a_model_but_no_score():
    z, labels = two_moods(6)
    fit = fit_task(z, labels, CLASSES, multi_label=False)
    assert fit.score is None and fit.interval is None and fit.held_out is None
    assert fit.probabilities.shape == (6, 3)
    assert doubted_labels(fit, labels) == []


def test_one_class_is_certain_and_no_label_is_no_model():
    z, _ = two_moods(20)
    only_mellow = [["mellow"]] * 5 + [[]] * 15
    fit = fit_task(z, only_mellow, CLASSES, multi_label=False)
    assert np.all(fit.probabilities[:, 0] == 1.0) and fit.score is None
    assert fit_task(z, [[]] * 20, CLASSES, multi_label=False) is None


def test_multi_label_fits_a_probe_per_class():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(80, 20))
    vocal, calm = rng.random(80) < 0.5, rng.random(80) < 0.5
    z[:, 0] += 3.0 * vocal
    z[:, 1] += 3.0 * calm
    labels = [
        [name for name, on in (("vocal", v), ("calm", c)) if on] or ["none"]
        for v, c in zip(vocal, calm, strict=True)
    ]

    fit = fit_task(z, labels, ["vocal", "calm", "none"], multi_label=True)

    assert fit.multi_label and fit.probabilities.shape == (80, 3)
    assert ((fit.probabilities[:, 0] > 0.5) == vocal).mean() > 0.9
    assert ((fit.probabilities[:, 1] > 0.5) == calm).mean() > 0.9
    assert fit.score > 0.8 and len(fit.fold_scores) == 5
    also_calm = np.flatnonzero(vocal & calm)
    left_out = int(also_calm[z[also_calm, 0].argmax()])  # the most clearly vocal of them
    labels[left_out] = [label for label in labels[left_out] if label != "vocal"]
    refit = fit_task(z, labels, ["vocal", "calm", "none"], multi_label=True)
    doubted = {(row, c, given) for row, c, given, _ in doubted_labels(refit, labels)}
    assert (left_out, "vocal", False) in doubted  # a class left out that it hears clearly


@pytest.mark.parametrize("n", [10, 40])
def test_the_fit_depends_on_the_labels_it_is_given_only(n):
    z, labels = two_moods(n + 20, seed=3)
    given = [song if k < n else [] for k, song in enumerate(labels)]
    first = fit_task(z, given, CLASSES, multi_label=False, seed=4)
    again = fit_task(z, given, CLASSES, multi_label=False, seed=4)
    np.testing.assert_array_equal(first.probabilities, again.probabilities)
    assert first.fold_scores == again.fold_scores


def test_main_directions_are_a_rotation_the_probe_cannot_tell_from_the_summaries():
    """With every direction kept, the coordinates are the summaries turned: an L2 probe
    learns the same model from them (it is why the penalty keeps its meaning)."""
    z, labels = two_moods(40, seed=5)
    z = z - z.mean(axis=0)
    directions = principal_directions(z)
    assert directions.shape == (30, 30)
    np.testing.assert_allclose(directions.T @ directions, np.eye(30), atol=1e-10)
    variance = (z @ directions).var(axis=0)
    assert np.all(np.diff(variance) <= 1e-12)  # the largest variance first

    turned = fit_task(z @ directions, labels, CLASSES, multi_label=False)
    plain = fit_task(z, labels, CLASSES, multi_label=False)

    assert turned.c == plain.c
    np.testing.assert_allclose(turned.probabilities, plain.probabilities, atol=1e-3)
    assert principal_directions(z, k=8).shape == (30, 8)


def test_classes_heard_once_are_learnt_but_the_score_covers_those_heard_twice():
    z, labels = two_moods(40, seed=6)
    labels[0], labels[1] = ["dark"], ["dark"]  # two dark songs: scored
    extra = ["storm", "rain", "wind"]
    for k, name in zip((2, 3, 4), extra, strict=True):
        labels[k] = [name]  # heard once each: learnt, not held out
    classes = [*CLASSES, *extra]

    fit = fit_task(z, labels, classes, multi_label=False)

    assert fit.seen_classes == 6 and fit.scored_classes == 3
    assert fit.score is not None and len(fit.fold_scores) == 2  # dark has two songs: 2 folds
    once = [int(np.flatnonzero(fit.labelled == k)[0]) for k in (2, 3, 4)]
    assert (
        np.isnan(fit.held_out[once]).all() and not np.isnan(np.delete(fit.held_out, once, 0)).any()
    )
    np.testing.assert_array_equal(fit.guesses()[[2, 3, 4]], fit.probabilities[[2, 3, 4]])
    assert fit.probabilities[3, classes.index("rain")] > 0  # a class heard once is guessed
    assert all(row not in (2, 3, 4) for row, *_ in doubted_labels(fit, labels))


@pytest.mark.parametrize(
    ("multi_label", "given"),
    [
        (False, lambda labels: labels),  # two of the three classes heard
        (False, lambda labels: [["mellow"] if k < 3 else [] for k in range(len(labels))]),  # one
        (
            True,
            lambda labels: [[*song, "dark"] if k % 3 else song for k, song in enumerate(labels)],
        ),
        (True, lambda labels: [[*song, "dark"] for song in labels]),  # dark on every song
    ],
)
def test_the_fit_scores_new_rows_as_it_scored_the_songs_it_was_fitted_on(multi_label, given):
    """What the page's explanations rescore a song's statistics with (`probabilities_of`)."""
    z, labels = two_moods(40)
    fit = fit_task(z, given(labels), CLASSES, multi_label=multi_label)
    assert np.allclose(fit.probabilities_of(z), fit.probabilities)

"""The logistic-regression baseline gives scikit-learn's probabilities through a torch forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from tunetag import models
from tunetag.errors import ParameterError
from tunetag.models.logreg import LogisticRegressionBaseline

VIEW_ROWS = {"mel": 4, "chroma": 3}
D = 2 * sum(VIEW_ROWS.values())
N = 60


def summaries(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-song summaries (N, D) on very different scales, and a 3-class label that shifts
    the first features so the classes are (nearly) separable."""
    rng = np.random.default_rng(seed)
    y = np.arange(N) % 3
    x = rng.normal(size=(N, D))
    x[:, :3] += 3.0 * np.eye(3)[y]
    x *= np.linspace(0.1, 40, D)  # dB-sized and 0..1-sized rows side by side
    x -= 30
    x[:, -1] = 5.0  # a constant feature: scale 1, not a division by zero
    return x.astype(np.float32), y


def one_hot(y: np.ndarray, k: int) -> np.ndarray:
    """Targets as `Task.target` makes them: a one-hot row per song, NaN where y < 0."""
    targets = np.eye(k, dtype=np.float32)[np.maximum(y, 0)]
    targets[y < 0] = np.nan
    return targets


def probabilities(model: torch.nn.Module, x: np.ndarray, task: str, multilabel: bool):
    with torch.no_grad():
        logits = model({"summary": torch.from_numpy(x)})[task]
    return (torch.sigmoid(logits) if multilabel else torch.softmax(logits, dim=1)).numpy()


def sklearn_reference(x: np.ndarray, y: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    """predict_proba of the fit the baseline promises, on every song."""
    z = StandardScaler().fit_transform(x.astype(np.float64))
    clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
    return clf.fit(z[labelled], y[labelled]).predict_proba(z)


def test_is_registered_as_a_summary_model():
    cls = models.model_class("logreg")
    assert cls is LogisticRegressionBaseline
    assert cls.input_kind == "summary" and cls.default_batch_size == 64
    model = models.create("logreg", {"mood": 2, "genre": 3}, VIEW_ROWS)
    assert model.mean.shape == (D,) and model.scale.shape == (D,)
    logits = model({"summary": torch.randn(5, D)})
    assert logits["mood"].shape == (5, 2) and logits["genre"].shape == (5, 3)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_softmax_equals_sklearn_predict_proba(n_classes):
    x, y = summaries()
    y = y % n_classes
    model = LogisticRegressionBaseline({"mood": n_classes}, VIEW_ROWS)

    model.fit_summaries(x, {"mood": one_hot(y, n_classes)}, {"mood": False})

    expected = sklearn_reference(x, y, np.ones(N, dtype=bool))
    np.testing.assert_allclose(probabilities(model, x, "mood", False), expected, atol=1e-5)
    assert (expected.argmax(axis=1) == y).mean() > 0.9  # the fit learned something


def test_multilabel_sigmoid_equals_sklearn_per_label():
    x, y = summaries()
    tags = np.stack([y == 0, y != 1, np.zeros(N, dtype=bool)], axis=1).astype(np.float32)
    tags[::7] = np.nan
    labelled = ~np.isnan(tags).all(axis=1)
    model = LogisticRegressionBaseline({"tags": 3}, VIEW_ROWS)

    model.fit_summaries(x, {"tags": tags}, {"tags": True})

    got = probabilities(model, x, "tags", True)
    for label in range(2):
        column = np.nan_to_num(tags[:, label]).astype(int)
        expected = sklearn_reference(x, column, labelled)[:, 1]
        np.testing.assert_allclose(got[:, label], expected, atol=1e-5)
    np.testing.assert_allclose(got[:, 2], 1e-3, rtol=1e-4)  # never present: clipped frequency


def test_absent_class_gets_no_probability():
    x, y = summaries()
    y = np.where(y == 1, 3, y)  # classes 0, 2, 3 of 4; class 1 absent
    model = LogisticRegressionBaseline({"genre": 4}, VIEW_ROWS)

    model.fit_summaries(x, {"genre": one_hot(y, 4)}, {"genre": False})

    got = probabilities(model, x, "genre", False)
    assert got[:, 1].max() < 1e-6
    expected = sklearn_reference(x, y, np.ones(N, dtype=bool))
    np.testing.assert_allclose(got[:, [0, 2, 3]], expected, atol=1e-5)


def test_unlabelled_songs_are_ignored():
    x, y = summaries()
    y = y % 2
    masked = y.copy()
    masked[:20] = -100
    # Labels that would change the fit if they were used.
    flipped = y.copy()
    flipped[:20] = 1 - flipped[:20]
    model = LogisticRegressionBaseline({"mood": 2}, VIEW_ROWS)

    model.fit_summaries(x, {"mood": one_hot(masked, 2)}, {"mood": False})

    labelled = masked != -100
    expected = sklearn_reference(x, y, labelled)
    np.testing.assert_allclose(probabilities(model, x, "mood", False), expected, atol=1e-5)
    other = sklearn_reference(x, flipped, np.ones(N, dtype=bool))
    assert np.abs(expected - other).max() > 1e-2


def test_state_dict_round_trip_gives_the_same_outputs():
    x, y = summaries()
    tasks = {"mood": 3, "tags": 2}
    tags = np.stack([y == 0, y == 2], axis=1).astype(np.float32)
    model = LogisticRegressionBaseline(tasks, VIEW_ROWS)
    model.fit_summaries(x, {"mood": one_hot(y, 3), "tags": tags}, {"mood": False, "tags": True})

    fresh = LogisticRegressionBaseline(tasks, VIEW_ROWS)
    fresh.load_state_dict(model.state_dict())

    assert {"mean", "scale"} <= set(model.state_dict())
    for task, multilabel in (("mood", False), ("tags", True)):
        np.testing.assert_array_equal(
            probabilities(fresh, x, task, multilabel), probabilities(model, x, task, multilabel)
        )


def test_single_seen_class_predicts_it():
    x, _ = summaries()
    y = np.full(N, -100)
    y[:5] = 1
    model = LogisticRegressionBaseline({"mood": 2}, VIEW_ROWS)

    model.fit_summaries(x, {"mood": one_hot(y, 2)}, {"mood": False})

    np.testing.assert_allclose(probabilities(model, x, "mood", False)[:, 1], 1.0)


@pytest.mark.parametrize(
    ("targets", "multilabel", "message"),
    [
        ({"mood": one_hot(np.full(N, -1), 2)}, False, "no labelled song"),
        ({"mood": np.full((N, 2), np.nan)}, True, "no labelled song"),
        ({"mood": np.full((N, 2), 0.0)}, False, "one-hot"),
        ({"mood": np.full((N, 3), 0.0)}, True, "shape"),
        ({"mood": np.full((N, 2), 0.5)}, True, "0/1 labels"),
        ({}, False, "needs targets"),
    ],
)
def test_bad_targets_are_refused(targets, multilabel, message):
    x, _ = summaries()
    model = LogisticRegressionBaseline({"mood": 2}, VIEW_ROWS)
    with pytest.raises(ParameterError, match=message):
        model.fit_summaries(x, targets, {"mood": multilabel})


def test_summaries_of_the_wrong_width_are_refused():
    model = LogisticRegressionBaseline({"mood": 2}, VIEW_ROWS)
    with pytest.raises(ParameterError, match=r"\(n_songs, 14\)"):
        model.fit_summaries(
            np.zeros((N, 10)), {"mood": one_hot(np.zeros(N, int), 2)}, {"mood": False}
        )

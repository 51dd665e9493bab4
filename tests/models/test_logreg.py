"""The logistic-regression baseline gives scikit-learn's probabilities through a torch forward,
at the C an inner cross-validation of the songs it is given chose."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from tunetag import models
from tunetag.errors import ParameterError
from tunetag.models.logreg import C_GRID, FALLBACK_C, INNER_FOLDS, LogisticRegressionBaseline

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


def sklearn_reference(x: np.ndarray, y: np.ndarray, labelled: np.ndarray, c: float) -> np.ndarray:
    """predict_proba of the fit the baseline promises at inverse strength ``c``, on every song."""
    z = StandardScaler().fit_transform(x.astype(np.float64))
    clf = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
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

    expected = sklearn_reference(x, y, np.ones(N, dtype=bool), model.selection["mood"]["C"])
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
        c = model.selection["tags"]["labels"][label]["C"]
        expected = sklearn_reference(x, column, labelled, c)[:, 1]
        np.testing.assert_allclose(got[:, label], expected, atol=1e-5)
    np.testing.assert_allclose(got[:, 2], 1e-3, rtol=1e-4)  # never present: clipped frequency


def test_absent_class_gets_no_probability():
    x, y = summaries()
    y = np.where(y == 1, 3, y)  # classes 0, 2, 3 of 4; class 1 absent
    model = LogisticRegressionBaseline({"genre": 4}, VIEW_ROWS)

    model.fit_summaries(x, {"genre": one_hot(y, 4)}, {"genre": False})

    got = probabilities(model, x, "genre", False)
    assert got[:, 1].max() < 1e-6
    expected = sklearn_reference(x, y, np.ones(N, dtype=bool), model.selection["genre"]["C"])
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
    c = model.selection["mood"]["C"]
    expected = sklearn_reference(x, y, labelled, c)
    np.testing.assert_allclose(probabilities(model, x, "mood", False), expected, atol=1e-5)
    other = sklearn_reference(x, flipped, np.ones(N, dtype=bool), c)
    assert (expected.argmax(axis=1) != other.argmax(axis=1)).sum() >= 5


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


def binary_targets(y: np.ndarray) -> dict[str, np.ndarray]:
    return {"t": one_hot(y, 2)}


def clean_needing_weak_regularisation(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two features sharing a loud common part: their difference separates the classes, but
    the class means differ along the first alone, which is what a strong penalty keeps."""
    rng = np.random.default_rng(seed)
    y = np.arange(80) % 2
    common = rng.normal(scale=5.0, size=80)
    x = rng.normal(size=(80, D))
    x[:, 0] = common + 0.6 * (2 * y - 1) + 0.1 * rng.normal(size=80)
    x[:, 1] = common + 0.1 * rng.normal(size=80)
    return x, y


def noisy_high_dimensional(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """160 songs, 120 features, a weak shift of 20 of them: easy to overfit."""
    rng = np.random.default_rng(seed)
    y = np.arange(160) % 2
    x = rng.normal(size=(160, 120))
    x[:, :20] += 0.3 * y[:, None]
    return x, y


def test_c_chosen_by_inner_cv_is_smaller_on_noisy_than_on_clean_data():
    chosen = {}
    for data, view_rows in (
        (clean_needing_weak_regularisation, VIEW_ROWS),
        (noisy_high_dimensional, {"mel": 40, "chroma": 20}),
    ):
        cs = []
        for seed in range(3):
            x, y = data(seed)
            model = LogisticRegressionBaseline({"t": 2}, view_rows)
            model.fit_summaries(x, binary_targets(y), {"t": False}, seed=seed)
            report = model.selection["t"]
            assert report["C"] in C_GRID and report["inner_folds"] == INNER_FOLDS
            assert report["log_loss"] == min(report["log_losses"].values())
            cs.append(report["C"])
        chosen[data.__name__] = cs
    assert max(chosen["noisy_high_dimensional"]) < min(chosen["clean_needing_weak_regularisation"])
    assert min(chosen["clean_needing_weak_regularisation"]) >= 10


def test_inner_scores_are_out_of_fold():
    """On pure noise with more features than songs every C fits its training songs
    perfectly; only scores of songs left out of each fit stay near chance."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(60, 2 * 100)), np.arange(60) % 2
    model = LogisticRegressionBaseline({"t": 2}, {"mel": 100})

    model.fit_summaries(x, binary_targets(y), {"t": False})

    z = StandardScaler().fit_transform(x)
    assert LogisticRegression(C=100, max_iter=2000).fit(z, y).score(z, y) == 1.0
    assert max(model.selection["t"]["scores"].values()) < 0.75


@pytest.mark.parametrize("n_songs", [30, 8])
def test_too_few_songs_for_inner_folds_use_the_fixed_c(n_songs):
    x, y = summaries()
    x, y = x[:n_songs], y[:n_songs] % 2
    if n_songs == 30:
        y[:] = 0
        y[4] = 1  # one song of class 1: no stratified folds
    model = LogisticRegressionBaseline({"mood": 2}, VIEW_ROWS)

    model.fit_summaries(x, {"mood": one_hot(y, 2)}, {"mood": False})

    report = model.selection["mood"]
    assert report["C"] == FALLBACK_C and report["inner_folds"] == 0
    assert report["balanced_accuracy"] is None and "fixed" in report["note"]
    expected = sklearn_reference(x, y, np.ones(n_songs, dtype=bool), FALLBACK_C)
    np.testing.assert_allclose(probabilities(model, x, "mood", False), expected, atol=1e-5)


def test_selection_is_plain_data_and_deterministic():
    x, y = summaries()
    tags = np.stack([y == 0, np.zeros(N, dtype=bool)], axis=1).astype(np.float32)
    fits = []
    for _ in range(2):
        model = LogisticRegressionBaseline({"mood": 3, "tags": 2}, VIEW_ROWS)
        targets = {"mood": one_hot(y, 3), "tags": tags}
        model.fit_summaries(x, targets, {"mood": False, "tags": True}, seed=4)
        fits.append(json.dumps(model.selection, sort_keys=True))
    assert fits[0] == fits[1]
    selection = json.loads(fits[0])
    assert selection["mood"]["C"] in C_GRID
    assert [label["C"] for label in selection["tags"]["labels"]][1] is None  # constant label


def test_any_task_name_works():
    x, y = summaries()
    model = models.create("logreg", {"mood: v2.1": 3}, VIEW_ROWS)
    model.fit_summaries(x, {"mood: v2.1": one_hot(y, 3)}, {"mood: v2.1": False})
    assert (probabilities(model, x, "mood: v2.1", False).argmax(axis=1) == y).mean() > 0.9


def test_the_run_history_records_the_choice(logreg_run):
    with logreg_run.history_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1
    selection = json.loads(rows[0]["selection"])
    assert set(selection) == {"mood"} and selection["mood"]["C"] in (*C_GRID, FALLBACK_C)


def test_among_tied_regularisations_the_better_calibrated_wins():
    """On clean, separable songs every C scores the same balanced accuracy; the one chosen
    must give confident probabilities, not the nearly flat ones of the strongest penalty."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 30)
    x = rng.normal(size=(60, 8)) + 3.0 * y[:, None]
    model = models.create("logreg", {"mood": 2}, {"mel": 4})
    model.fit_summaries(x, {"mood": np.eye(2)[y]}, {"mood": False})
    report = model.selection["mood"]
    assert report["balanced_accuracy"] == 1.0
    assert report["C"] > min(float(c) for c in report["scores"])
    with torch.no_grad():
        z = model({"summary": torch.from_numpy(x.astype(np.float32))})["mood"]
    confidence = torch.softmax(z, dim=1).max(dim=1).values
    assert float(confidence.median()) > 0.9


def test_many_classes_among_few_songs_fit_without_warnings():
    """A fold of 30 songs in 15 classes is a person's task, not "a regression problem"."""
    import warnings

    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(15), 2)
    x = rng.normal(size=(30, 6)) + y[:, None]
    for name in ("logreg", "auto"):
        model = models.create(name, {"composer": 15}, {"a": 2, "b": 1})
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.fit_summaries(x, {"composer": np.eye(15)[y]}, {"composer": False})


def test_inner_folds_fitted_side_by_side_give_the_logits_of_one_fold_after_another(monkeypatch):
    """The folds' paths of fits run in worker processes once the summaries are large enough;
    each fold's logits are the same numbers as fitted here, in order."""
    from tunetag.models import logreg

    x, y = summaries()
    z = logreg.standardise("test", x, D)[0]
    folds = logreg.inner_folds(y, seed=0)
    monkeypatch.setattr(logreg, "PARALLEL_FROM_VALUES", z.size + 1)
    one_after_another = logreg.out_of_fold_logits(z, y, folds, C_GRID, seed=0)
    monkeypatch.setattr(logreg, "PARALLEL_FROM_VALUES", 0)
    monkeypatch.setattr("joblib.cpu_count", lambda: 2)
    side_by_side = logreg.out_of_fold_logits(z, y, folds, C_GRID, seed=0)
    np.testing.assert_array_equal(side_by_side, one_after_another)
    assert np.isfinite(side_by_side).all() and side_by_side.shape == (len(C_GRID), N, 3)

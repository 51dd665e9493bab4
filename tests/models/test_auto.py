"""The auto model picks, per task, the input its inner cross-validation scores best, and its
forward gives exactly the chosen candidate's probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from tunetag import models
from tunetag.config import FeatureConfig, RunConfig, TrainConfig
from tunetag.errors import ParameterError
from tunetag.evaluation.choice import choice_sentence
from tunetag.library.predictions import read_predictions
from tunetag.models.auto import STACK_C, AutoProbe, kept_candidate
from tunetag.models.logreg import C_GRID, FALLBACK_C, inner_folds
from tunetag.steps.predict import predict
from tunetag.steps.train import train

VIEW_ROWS = {"a": 10, "b": 15, "c": 5}  # columns a: 0-19, b: 20-49, c: 50-59
D = 2 * sum(VIEW_ROWS.values())
COLUMNS = {"a": slice(0, 20), "b": slice(20, 50), "c": slice(50, 60)}
READS = {"a": {"probe:a", "probe:all", "stack"}, "b": {"probe:b", "probe:all", "stack"}}
# what probe:all multiplies each view's columns by: sqrt(60 / (3 views x its columns))
ALL_VIEWS_SCALE = np.concatenate(
    [np.full(20, 1.0), np.full(30, np.sqrt(2 / 3)), np.full(10, np.sqrt(2))]
)


def one_hot(y: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k, dtype=np.float32)[y]


def signal_in_b(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two classes told apart by five columns of view b only."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, D)) * 3.0 + 10.0
    x[:, 20:25] += 4.0 * y[:, None]
    return x.astype(np.float32), y


def complementary(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Four classes: view a tells {0, 1} from {2, 3}, view b {0, 2} from {1, 3}; one view
    alone can only be right half the time."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    x = rng.normal(size=(n, D))
    x[:, 0:3] += 3.0 * (y >= 2)[:, None]
    x[:, 20:23] += 3.0 * (y % 2)[:, None]
    return x.astype(np.float32), y


def probabilities(model: torch.nn.Module, x: np.ndarray, task: str, multilabel: bool):
    with torch.no_grad():
        logits = model({"summary": torch.from_numpy(x)})[task]
    return (torch.sigmoid(logits) if multilabel else torch.softmax(logits, dim=1)).numpy()


def standardised(x: np.ndarray) -> np.ndarray:
    return StandardScaler().fit_transform(x.astype(np.float64))


def probe(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=2000)


def test_is_registered_with_its_own_views():
    cls = models.model_class("auto")
    assert cls is AutoProbe and cls.input_kind == "summary" and cls.default_batch_size == 64
    assert cls.features.views == ("musicnn-msd", "musicnn-mtt", "descriptors")
    assert cls.features.audio.sample_rate == 22050
    model = models.create("auto", {"mood": 2, "genre": 3}, VIEW_ROWS)
    logits = model({"summary": torch.randn(5, D)})
    assert logits["mood"].shape == (5, 2) and logits["genre"].shape == (5, 3)


def test_signal_in_one_view_picks_a_candidate_reading_it():
    x, y = signal_in_b(160, seed=0)
    model = AutoProbe({"mood": 2}, VIEW_ROWS)

    model.fit_summaries(x, {"mood": one_hot(y, 2)}, {"mood": False}, seed=1)

    report = model.selection["mood"]
    assert report["chosen"] in READS["b"] and report["balanced_accuracy"] > 0.85
    scores = {name: found["balanced_accuracy"] for name, found in report["candidates"].items()}
    assert list(scores) == ["probe:c", "probe:a", "probe:b", "probe:all", "stack"]
    assert max(scores["probe:a"], scores["probe:c"]) < 0.65 < scores["probe:b"]
    losses = {name: found["log_loss"] for name, found in report["candidates"].items()}
    assert report["log_loss"] == losses[report["chosen"]]
    if report["chosen"] != "probe:all":  # only a clearly lower loss replaces it
        assert report["log_loss"] == min(losses.values()) < losses["probe:all"]
    fresh_x, fresh_y = signal_in_b(200, seed=9)
    predicted = probabilities(model, fresh_x, "mood", False).argmax(axis=1)
    assert (predicted == fresh_y).mean() > 0.85


def test_complementary_views_pick_the_concatenation_or_the_stack():
    x, y = complementary(160, seed=0)
    model = AutoProbe({"genre": 4}, VIEW_ROWS)

    model.fit_summaries(x, {"genre": one_hot(y, 4)}, {"genre": False})

    report = model.selection["genre"]
    assert report["chosen"] in ("probe:all", "stack")
    single = max(report["candidates"][f"probe:{view}"]["balanced_accuracy"] for view in "abc")
    assert single < 0.6 and report["balanced_accuracy"] > 0.85
    fresh_x, fresh_y = complementary(200, seed=9)
    assert (probabilities(model, fresh_x, "genre", False).argmax(axis=1) == fresh_y).mean() > 0.85


def test_the_probe_of_all_views_stays_unless_another_is_lower_by_a_standard_error():
    all_views = np.array([0.50, 0.60, 0.55, 0.52, 0.58])
    # probe:a is lower on average, by less than a standard error of the differences
    noisy = all_views + np.array([-0.10, 0.08, -0.09, 0.07, -0.06])
    assert noisy.mean() < all_views.mean()
    assert kept_candidate({"probe:a": noisy, "probe:all": all_views}) == ("probe:all", "probe:a")
    # lower in every fold: a clear gain
    steady = all_views - np.array([0.04, 0.05, 0.03, 0.04, 0.05])
    found = kept_candidate({"probe:a": steady, "probe:all": all_views, "stack": noisy})
    assert found == ("probe:a", "probe:a")
    # without the probe of all views the lowest wins, ties to the first (simpler)
    assert kept_candidate({"probe:a": all_views, "probe:b": noisy}) == ("probe:b", "probe:b")
    same = {"probe:a": all_views, "probe:b": all_views.copy()}
    assert kept_candidate(same) == ("probe:a", "probe:a")


def test_a_kept_probe_of_all_views_says_which_lower_loss_it_was_kept_over():
    x, y = signal_in_b(80, seed=0)
    model = AutoProbe({"mood": 2}, VIEW_ROWS)

    model.fit_summaries(x, {"mood": one_hot(y, 2)}, {"mood": False}, seed=1)

    report = model.selection["mood"]
    losses = {name: found["log_loss"] for name, found in report["candidates"].items()}
    assert report["chosen"] == "probe:all" and losses["probe:b"] < losses["probe:all"]
    assert report["note"] == (
        "kept over probe:b, whose inner log loss was lower by less than 1 standard error"
    )
    assert "kept over probe:b" in choice_sentence(report)


def test_a_chosen_probe_gives_its_own_probabilities_and_survives_saving():
    x, y = signal_in_b(160, seed=0)
    model = AutoProbe({"mood": 2}, VIEW_ROWS)
    model.fit_summaries(x, {"mood": one_hot(y, 2)}, {"mood": False}, candidates=["probe:b"])

    report = model.selection["mood"]
    assert report["chosen"] == "probe:b" and report["C"] in C_GRID
    expected = probe(report["C"]).fit(standardised(x)[:, COLUMNS["b"]], y)
    got = probabilities(model, x, "mood", False)
    np.testing.assert_allclose(
        got, expected.predict_proba(standardised(x)[:, COLUMNS["b"]]), atol=1e-5
    )
    fresh = models.create("auto", {"mood": 2}, VIEW_ROWS)
    fresh.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(probabilities(fresh, x, "mood", False), got)


def stack_reference(x: np.ndarray, y: np.ndarray, cs: dict[str, float], seed: int) -> np.ndarray:
    """A stack rebuilt with scikit-learn alone: per view a probe, out-of-inner-fold
    log-probabilities for the stacker, the probes refitted on every song."""
    z = standardised(x)
    folds = inner_folds(y, seed)
    out_of_fold, on_all = [], []
    for view, columns in COLUMNS.items():
        features = np.empty((len(y), np.unique(y).size))
        for fit_on, left_out in folds:
            fitted = probe(cs[view]).fit(z[fit_on][:, columns], y[fit_on])
            features[left_out] = fitted.predict_log_proba(z[left_out][:, columns])
        out_of_fold.append(features)
        on_all.append(probe(cs[view]).fit(z[:, columns], y).predict_log_proba(z[:, columns]))
    scaler = StandardScaler().fit(np.hstack(out_of_fold))
    stacker = probe(STACK_C).fit(scaler.transform(np.hstack(out_of_fold)), y)
    return stacker.predict_proba(scaler.transform(np.hstack(on_all)))


def test_a_chosen_stack_gives_the_stacks_probabilities_even_with_an_absent_class():
    x, y = complementary(160, seed=2)
    y = np.where(y == 1, 4, y)  # classes 0, 2, 3, 4 of 5; class 1 absent
    model = AutoProbe({"genre": 5}, VIEW_ROWS)

    model.fit_summaries(x, {"genre": one_hot(y, 5)}, {"genre": False}, seed=3, candidates=["stack"])

    report = model.selection["genre"]
    assert report["chosen"] == "stack" and set(report["C"]) == {"a", "b", "c"}
    got = probabilities(model, x, "genre", False)
    assert got[:, 1].max() < 1e-6
    expected = stack_reference(x, y, report["C"], seed=3)
    np.testing.assert_allclose(got[:, [0, 2, 3, 4]], expected, atol=1e-3)
    assert (got.argmax(axis=1) == y).mean() > 0.9
    fresh = models.create("auto", {"genre": 5}, VIEW_ROWS)
    fresh.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(probabilities(fresh, x, "genre", False), got)


def test_the_choice_depends_on_the_given_songs_only():
    """Songs held out (say, an outer fold's test songs) and earlier fits leave no trace."""
    x, y = signal_in_b(200, seed=4)
    given, held_out = np.arange(150), np.arange(150, 200)
    targets = one_hot(y, 2)
    alone = AutoProbe({"mood": 2}, VIEW_ROWS)
    alone.fit_summaries(x[given], {"mood": targets[given]}, {"mood": False}, seed=5)
    again = AutoProbe({"mood": 2}, VIEW_ROWS)
    flipped = targets[:, ::-1].copy()
    again.fit_summaries(x, {"mood": flipped}, {"mood": False}, seed=5)  # every song, wrong
    np.random.seed(123)
    torch.manual_seed(123)

    again.fit_summaries(x[given], {"mood": targets[given]}, {"mood": False}, seed=5)

    assert json.dumps(again.selection) == json.dumps(alone.selection)
    for name, tensor in alone.state_dict().items():
        torch.testing.assert_close(again.state_dict()[name], tensor, rtol=0, atol=0)
    assert len(held_out) == 50  # never passed with `given`: nothing else can reach the fit


def test_the_probe_of_all_views_gives_each_view_an_equal_share_of_the_variance():
    # view c (10 columns) holds the signal; a (20) and b (30) are noise that, unscaled,
    # would hold 5 / 6 of the variance under the probe's one penalty
    rng = np.random.default_rng(0)
    y = np.arange(120) % 2
    x = rng.normal(size=(120, D)).astype(np.float32)
    x[:, 50:52] += 1.5 * y[:, None]
    model = AutoProbe({"mood": 2}, VIEW_ROWS)
    model.fit_summaries(x, {"mood": one_hot(y, 2)}, {"mood": False}, candidates=["probe:all"])

    report = model.selection["mood"]
    read = standardised(x) * ALL_VIEWS_SCALE
    assert (read[:, COLUMNS["a"]] ** 2).sum() == pytest.approx((read[:, COLUMNS["c"]] ** 2).sum())
    expected = probe(report["C"]).fit(read, y).predict_proba(read)
    np.testing.assert_allclose(probabilities(model, x, "mood", False), expected, atol=1e-5)
    unscaled = probe(report["C"]).fit(standardised(x), y).predict_proba(standardised(x))
    assert np.abs(unscaled - expected).max() > 0.01  # the scaling changes the fit


def test_a_class_too_small_for_inner_folds_gets_the_fixed_probe_on_all_views():
    x, y = signal_in_b(40, seed=0)
    y[:] = 0
    y[7] = 1
    model = AutoProbe({"mood": 2}, VIEW_ROWS)

    model.fit_summaries(x, {"mood": one_hot(y, 2)}, {"mood": False})

    report = model.selection["mood"]
    assert report["chosen"] == "probe:all" and report["C"] == FALLBACK_C
    assert report["inner_folds"] == 0 and report["note"]
    read = standardised(x) * ALL_VIEWS_SCALE
    expected = probe(FALLBACK_C).fit(read, y).predict_proba(read)
    np.testing.assert_allclose(probabilities(model, x, "mood", False), expected, atol=1e-5)


def test_one_class_is_predicted_and_few_songs_fall_back():
    x, y = signal_in_b(8, seed=0)
    model = AutoProbe({"mood": 2, "genre": 3}, VIEW_ROWS)
    genre = one_hot(np.full(8, 2), 3)
    genre[:3] = np.nan  # unlabelled for genre

    model.fit_summaries(x, {"mood": one_hot(y, 2), "genre": genre}, {"mood": False, "genre": False})

    assert model.selection["mood"]["chosen"] == "probe:all"  # 8 songs: no inner folds
    assert model.selection["genre"]["C"] is None
    np.testing.assert_allclose(probabilities(model, x, "genre", False)[:, 2], 1.0)


def logits(model: torch.nn.Module, x: np.ndarray) -> dict[str, np.ndarray]:
    with torch.no_grad():
        return {
            task: found.numpy() for task, found in model({"summary": torch.from_numpy(x)}).items()
        }


def test_a_model_that_chose_one_view_reads_it_alone_and_scores_the_same_from_it():
    x, y = signal_in_b(160, seed=0)
    model = AutoProbe({"mood": 2}, VIEW_ROWS)
    model.fit_summaries(x, {"mood": one_hot(y, 2)}, {"mood": False}, candidates=["probe:b"])

    assert model.views_read() == ("b",)
    pruned = model.reading_only(["b"])
    np.testing.assert_allclose(
        logits(pruned, x[:, COLUMNS["b"]])["mood"], logits(model, x)["mood"], atol=1e-5
    )
    with pytest.raises(ParameterError, match="cannot leave out"):
        model.reading_only(["a", "c"])


def test_a_model_reads_the_union_of_its_tasks_views_and_drops_the_rest_exactly():
    x, y = signal_in_b(160, seed=0)
    rng = np.random.default_rng(1)
    from_a = rng.integers(0, 2, size=160)
    x[:, 0:4] += 5.0 * from_a[:, None]
    model = AutoProbe({"tags": 2, "mood": 2}, VIEW_ROWS)
    targets = {"tags": np.stack([from_a, y], axis=1).astype(np.float32), "mood": one_hot(y, 2)}
    model.fit_summaries(
        x, targets, {"tags": True, "mood": False}, candidates=["probe:a", "probe:b"]
    )

    assert model.views_read() == ("a", "b")
    kept = np.r_[COLUMNS["a"], COLUMNS["b"]]
    pruned, whole = logits(model.reading_only(["a", "b"]), x[:, kept]), logits(model, x)
    for task in ("tags", "mood"):
        np.testing.assert_allclose(pruned[task], whole[task], atol=1e-5)


def test_a_stack_reads_every_view():
    x, y = complementary(160, seed=0)
    model = AutoProbe({"genre": 4}, VIEW_ROWS)
    model.fit_summaries(x, {"genre": one_hot(y, 4)}, {"genre": False}, candidates=["stack"])

    assert model.views_read() == ("a", "b", "c")


def test_multilabel_chooses_per_label():
    x, y = signal_in_b(160, seed=0)
    rng = np.random.default_rng(1)
    from_a = rng.integers(0, 2, size=160)
    x[:, 0:4] += 5.0 * from_a[:, None]
    tags = np.stack([from_a, y, np.zeros(160, dtype=int)], axis=1).astype(np.float32)
    tags[::9] = np.nan
    labelled = ~np.isnan(tags).all(axis=1)
    model = AutoProbe({"tags": 3, "mood": 2}, VIEW_ROWS)

    model.fit_summaries(x, {"tags": tags, "mood": one_hot(y, 2)}, {"tags": True, "mood": False})

    labels = model.selection["tags"]["labels"]
    assert labels[0]["chosen"] in READS["a"] and labels[1]["chosen"] in READS["b"]
    assert labels[2]["C"] is None and labels[0]["songs"] == labelled.sum()
    got = probabilities(model, x, "tags", True)
    for label in (0, 1):
        assert ((got[:, label] > 0.5) == tags[:, label].astype(bool))[labelled].mean() > 0.9
    np.testing.assert_allclose(got[:, 2], 1e-3, rtol=1e-4)  # never present: clipped frequency
    fresh = models.create("auto", {"tags": 3, "mood": 2}, VIEW_ROWS)
    fresh.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(probabilities(fresh, x, "tags", True), got)
    np.testing.assert_array_equal(
        probabilities(fresh, x, "mood", False), probabilities(model, x, "mood", False)
    )
    json.dumps(model.selection)


def test_a_multilabel_stack_gives_sigmoids_of_the_stacker():
    x, y = complementary(160, seed=0)
    tags = np.stack([y == 3, y >= 2], axis=1).astype(np.float32)
    model = AutoProbe({"tags": 2}, VIEW_ROWS)

    model.fit_summaries(x, {"tags": tags}, {"tags": True}, candidates=["stack"])

    got = probabilities(model, x, "tags", True)
    z = standardised(x)
    for label in (0, 1):
        report = model.selection["tags"]["labels"][label]
        assert report["chosen"] == "stack"
        column = tags[:, label].astype(int)
        folds = inner_folds(column, 0)
        out_of_fold, on_all = [], []
        for view, columns in COLUMNS.items():
            features = np.empty(len(column))
            for fit_on, left_out in folds:
                fitted = probe(report["C"][view]).fit(z[fit_on][:, columns], column[fit_on])
                features[left_out] = fitted.decision_function(z[left_out][:, columns])
            out_of_fold.append(features)
            fitted = probe(report["C"][view]).fit(z[:, columns], column)
            on_all.append(fitted.decision_function(z[:, columns]))
        scaler = StandardScaler().fit(np.stack(out_of_fold, axis=1))
        stacker = probe(STACK_C).fit(scaler.transform(np.stack(out_of_fold, axis=1)), column)
        expected = stacker.predict_proba(scaler.transform(np.stack(on_all, axis=1)))[:, 1]
        # the model's out-of-fold members come from warm-started fits, these from cold ones:
        # lbfgs stops within its tolerance at slightly different weights (up to 4e-3 here)
        np.testing.assert_allclose(got[:, label], expected, atol=6e-3)
    assert ((got[:, 0] > 0.5) == tags[:, 0].astype(bool)).mean() > 0.9


def test_unknown_candidates_are_refused():
    x, y = signal_in_b(40, seed=0)
    model = AutoProbe({"mood": 2}, VIEW_ROWS)
    with pytest.raises(ParameterError, match="candidates"):
        model.fit_summaries(x, {"mood": one_hot(y, 2)}, {"mood": False}, candidates=["probe:x"])
    one_view = AutoProbe({"mood": 2}, {"a": 30})
    with pytest.raises(ParameterError, match="candidates"):
        one_view.fit_summaries(x, {"mood": one_hot(y, 2)}, {"mood": False}, candidates=["stack"])


def test_a_spent_time_budget_leaves_the_other_candidates_out():
    x, y = signal_in_b(160, seed=0)
    model = AutoProbe({"mood": 2}, VIEW_ROWS)

    model.fit_summaries(x, {"mood": one_hot(y, 2)}, {"mood": False}, time_budget_s=1e-9)

    report = model.selection["mood"]
    assert report["chosen"] == "probe:all" and list(report["candidates"]) == ["probe:all"]
    assert report["left_out"] == ["probe:c", "probe:a", "probe:b", "stack"]
    assert "time budget" in report["note"]


def test_runs_of_auto_read_its_views_and_fold_five_times():
    features = models.run_features("auto", FeatureConfig())
    assert features.views == ("musicnn-msd", "musicnn-mtt", "descriptors")
    assert features.audio.sample_rate == 22050 and AutoProbe.default_folds == 5


def test_auto_trains_saves_reports_its_choice_and_predicts(small_library, tmp_path):
    config = RunConfig(train=TrainConfig(model="auto", tasks=("mood",)))
    cache = tmp_path / "cache"

    run = train(small_library / "songs.csv", tmp_path / "run", config, cache_dir=cache,
                progress=False)  # fmt: skip

    metrics = run.load_metrics()
    assert metrics["songs"]["scored"] == 8 and metrics["folds"] >= 2
    selection = metrics["selection"]
    assert len(selection["folds"]) == metrics["folds"]
    final = selection["model"]["mood"]
    assert final["chosen"] == "probe:all" and final["songs"] == 8  # too few for inner folds
    assert run.load_config().features.views == AutoProbe.features.views
    predict(run.path, [small_library / "music"], tmp_path / "p.csv", cache_dir=cache,
            progress=False)  # fmt: skip
    assert len(read_predictions(tmp_path / "p.csv").songs) == 8

"""Song-level metrics, intervals and fold summaries against cases worked out by hand."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from tunetag.errors import ParameterError
from tunetag.evaluation.metrics import (
    accuracy_interval,
    classification_metrics,
    multilabel_metrics,
    summarise_folds,
)

CLASSES = ["mellow", "not mellow"]


def one_hot(indices: list[int], n_classes: int) -> np.ndarray:
    """Probabilities that put everything on the given classes."""
    prob = np.full((len(indices), n_classes), 0.1 / max(n_classes - 1, 1))
    prob[np.arange(len(indices)), indices] = 0.9
    return prob


def test_perfect_predictions_score_one():
    result = classification_metrics([0, 1, 1, 0], one_hot([0, 1, 1, 0], 2), CLASSES)
    assert result["n_songs"] == 4
    assert result["accuracy"] == 1.0
    assert result["balanced_accuracy"] == 1.0
    assert result["confusion"] == [[2, 0], [0, 2]]
    for name in CLASSES:
        assert result["per_class"][name] == {
            "precision": 1.0,
            "recall": 1.0,
            "f1": 1.0,
            "support": 2,
        }


def test_all_wrong_scores_zero():
    result = classification_metrics([0, 0, 1], one_hot([1, 1, 0], 2), CLASSES)
    assert result["accuracy"] == 0.0
    assert result["balanced_accuracy"] == 0.0
    assert result["confusion"] == [[0, 2], [1, 0]]
    assert result["per_class"]["mellow"]["f1"] == 0.0


def test_imbalanced_set_separates_balanced_accuracy_from_accuracy():
    # 8 mellow (all right), 2 not mellow (1 right): accuracy 9/10, balanced (1 + 0.5) / 2.
    truth = [0] * 8 + [1, 1]
    pred = [0] * 8 + [1, 0]
    result = classification_metrics(truth, one_hot(pred, 2), CLASSES)
    assert result["accuracy"] == pytest.approx(0.9)
    assert result["balanced_accuracy"] == pytest.approx(0.75)
    assert result["chance_accuracy"] == pytest.approx(0.8)
    mellow = result["per_class"]["mellow"]
    assert mellow["precision"] == pytest.approx(8 / 9)
    assert mellow["recall"] == 1.0
    assert mellow["f1"] == pytest.approx(2 * (8 / 9) / (8 / 9 + 1))
    assert result["per_class"]["not mellow"]["recall"] == pytest.approx(0.5)


def test_class_never_predicted_gives_zero_precision_quietly():
    classes = ["ambient", "folk", "rock"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = classification_metrics([0, 1, 2, 2], one_hot([0, 1, 0, 1], 3), classes)
    rock = result["per_class"]["rock"]
    assert rock == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}


def test_class_absent_from_truth_is_left_out_of_balanced_accuracy():
    classes = ["ambient", "folk", "rock"]
    result = classification_metrics([0, 0, 1], one_hot([0, 2, 1], 3), classes)
    # Recalls of the present classes: ambient 1/2, folk 1/1.
    assert result["balanced_accuracy"] == pytest.approx(0.75)
    assert result["per_class"]["rock"]["support"] == 0
    assert result["per_class"]["rock"]["precision"] == 0.0


def test_confusion_rows_are_true_columns_are_predicted():
    classes = ["a", "b", "c"]
    # One song of class a predicted as c; two of b predicted as a.
    result = classification_metrics([0, 1, 1], one_hot([2, 0, 0], 3), classes)
    assert result["confusion"] == [[0, 0, 1], [2, 0, 0], [0, 0, 0]]


def test_prediction_is_argmax_of_probabilities():
    prob = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    result = classification_metrics([1, 2], prob, ["a", "b", "c"])
    assert result["confusion"] == [[0, 0, 0], [0, 1, 0], [1, 0, 0]]


def test_result_is_json_ready():
    result = classification_metrics(np.array([0, 1]), one_hot([0, 0], 2), CLASSES)
    assert json.loads(json.dumps(result)) == result
    assert all(type(value) is int for row in result["confusion"] for value in row)


@pytest.mark.parametrize(
    ("y_true", "y_prob", "classes"),
    [
        ([], np.zeros((0, 2)), CLASSES),
        ([0, 1], np.zeros((3, 2)), CLASSES),
        ([0, 1], np.zeros((2, 3)), CLASSES),
        ([0, 2], np.zeros((2, 2)), CLASSES),
        ([0, -1], np.zeros((2, 2)), CLASSES),
        ([0.0, 1.0], np.zeros((2, 2)), CLASSES),
        ([0, 1], np.array([[0.5, np.nan], [0.1, 0.9]]), CLASSES),
        ([0, 1], np.zeros((2, 2)), ["same", "same"]),
    ],
)
def test_bad_input_is_a_parameter_error(y_true, y_prob, classes):
    with pytest.raises(ParameterError):
        classification_metrics(y_true, y_prob, classes)


@pytest.mark.parametrize(
    ("n_correct", "n", "confidence", "expected"),
    [
        (8, 10, 0.95, (0.4902, 0.9433)),
        (0, 10, 0.95, (0.0, 0.2775)),
        (10, 10, 0.95, (0.7225, 1.0)),
        (8, 10, 0.90, (0.5408, 0.9315)),
        (45, 50, 0.95, (0.7864, 0.9565)),
    ],
)
def test_accuracy_interval_is_wilsons(n_correct, n, confidence, expected):
    low, high = accuracy_interval(n_correct, n, confidence)
    assert low == pytest.approx(expected[0], abs=5e-4)
    assert high == pytest.approx(expected[1], abs=5e-4)


def test_accuracy_interval_narrows_with_more_songs_and_holds_the_estimate():
    widths = []
    for n in (10, 40, 160, 640):
        low, high = accuracy_interval(int(0.75 * n), n)
        assert low < 0.75 < high
        widths.append(high - low)
    assert widths == sorted(widths, reverse=True)
    assert widths[-1] < widths[0] / 4


@pytest.mark.parametrize(
    ("n_correct", "n", "confidence", "match"),
    [
        (0, 0, 0.95, "at least 1 song"),
        (11, 10, 0.95, "n_correct"),
        (-1, 10, 0.95, "n_correct"),
        (5, 10, 1.0, "confidence"),
        (5, 10, 0.0, "confidence"),
    ],
)
def test_accuracy_interval_rejects_bad_counts(n_correct, n, confidence, match):
    with pytest.raises(ParameterError, match=match):
        accuracy_interval(n_correct, n, confidence)


MOODS = ["calm", "happy", "sad"]
# calm: ranked 0.9 (yes), 0.6 (no), 0.4 (yes), 0.1 (no): ROC-AUC 3/4, AP (1 + 2/3) / 2.
# happy: ranked perfectly. sad: every song has it, so its ROC-AUC is undefined.
MOOD_TRUTH = np.array([[1, 0, 1], [1, 1, 1], [0, 0, 1], [0, 1, 1]])
MOOD_PROB = np.array([[0.9, 0.2, 0.6], [0.4, 0.8, 0.9], [0.6, 0.3, 0.4], [0.1, 0.7, 0.7]])


def test_multilabel_metrics_by_hand():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = multilabel_metrics(MOOD_TRUTH, MOOD_PROB, MOODS)
    assert result["n_songs"] == 4
    calm, happy, sad = (result["per_label"][name] for name in MOODS)
    assert calm["roc_auc"] == pytest.approx(0.75)
    assert calm["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    assert (calm["precision"], calm["recall"], calm["f1"]) == (0.5, 0.5, 0.5)
    assert calm["support"] == 2
    assert happy == {
        "roc_auc": 1.0,
        "pr_auc": 1.0,
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "support": 2,
    }
    assert sad["roc_auc"] is None
    assert sad["pr_auc"] == 1.0
    assert sad["recall"] == pytest.approx(0.75)
    assert sad["f1"] == pytest.approx(2 * 0.75 / 1.75)
    assert sad["support"] == 4
    assert result["macro_roc_auc"] == pytest.approx((0.75 + 1.0) / 2)
    assert result["macro_pr_auc"] == pytest.approx(((1 + 2 / 3) / 2 + 1 + 1) / 3)
    assert result["subset_accuracy"] == pytest.approx(0.5)
    assert result["hamming_accuracy"] == pytest.approx(9 / 12)


def test_multilabel_threshold_moves_the_decisions_not_the_ranking():
    low = multilabel_metrics(MOOD_TRUTH, MOOD_PROB, MOODS, threshold=0.35)
    high = multilabel_metrics(MOOD_TRUTH, MOOD_PROB, MOODS)
    assert low["per_label"]["sad"]["recall"] == 1.0
    assert low["macro_roc_auc"] == high["macro_roc_auc"]
    assert low["macro_pr_auc"] == high["macro_pr_auc"]


def test_label_no_song_has_is_left_out_quietly_and_result_is_json_ready():
    truth = np.array([[1, 0], [0, 0], [1, 0]])
    prob = np.array([[0.8, 0.7], [0.3, 0.2], [0.6, 0.1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = multilabel_metrics(truth, prob, ["calm", "angry"])
    angry = result["per_label"]["angry"]
    assert angry["roc_auc"] is None and angry["pr_auc"] is None
    assert angry["precision"] == 0.0 and angry["support"] == 0
    assert result["macro_roc_auc"] == 1.0 and result["macro_pr_auc"] == 1.0
    assert json.loads(json.dumps(result)) == result


def test_macro_scores_are_none_when_no_label_can_be_ranked():
    result = multilabel_metrics(np.ones((3, 2), int), np.full((3, 2), 0.9), ["a", "b"])
    assert result["macro_roc_auc"] is None
    assert result["macro_pr_auc"] == 1.0
    assert result["subset_accuracy"] == 1.0


@pytest.mark.parametrize(
    ("y_true", "y_prob", "labels", "threshold"),
    [
        (np.zeros((0, 2)), np.zeros((0, 2)), ["a", "b"], 0.5),
        (np.zeros(2), np.zeros(2), ["a", "b"], 0.5),
        (np.zeros((2, 2)), np.zeros((2, 3)), ["a", "b"], 0.5),
        (np.zeros((2, 3)), np.zeros((2, 3)), ["a", "b"], 0.5),
        (np.array([[0, 2]]), np.zeros((1, 2)), ["a", "b"], 0.5),
        (np.zeros((1, 2)), np.array([[0.5, 1.5]]), ["a", "b"], 0.5),
        (np.zeros((1, 2)), np.array([[0.5, np.nan]]), ["a", "b"], 0.5),
        (np.zeros((1, 2)), np.zeros((1, 2)), ["a", "a"], 0.5),
        (np.zeros((1, 2)), np.zeros((1, 2)), ["a", "b"], 1.0),
    ],
)
def test_multilabel_bad_input_is_a_parameter_error(y_true, y_prob, labels, threshold):
    with pytest.raises(ParameterError):
        multilabel_metrics(y_true, y_prob, labels, threshold)


def test_summarise_folds_takes_shared_numbers_only():
    folds = [
        {
            "n_songs": 10,
            "accuracy": 0.8,
            "macro_roc_auc": None,
            "per_class": {"a": {"f1": 1.0}},
            "confusion": [[1, 0], [0, 1]],
            "stopped_early": True,
            "model": "seed",
            "only_here": 0.5,
        },
        {"n_songs": 12, "accuracy": 0.9, "macro_roc_auc": 0.7, "stopped_early": False},
        {"n_songs": 11, "accuracy": 0.7, "macro_roc_auc": 0.6, "stopped_early": True},
    ]
    summary = summarise_folds(folds)
    assert list(summary) == ["n_songs", "accuracy"]
    assert summary["accuracy"]["mean"] == pytest.approx(0.8)
    assert summary["accuracy"]["std"] == pytest.approx(0.1)  # sample std, ddof=1
    assert summary["accuracy"]["folds"] == [0.8, 0.9, 0.7]
    assert summary["n_songs"] == {"mean": 11.0, "std": 1.0, "folds": [10.0, 12.0, 11.0]}
    assert json.loads(json.dumps(summary)) == summary


def test_summarise_folds_reads_numpy_numbers_and_one_fold():
    summary = summarise_folds([{"accuracy": np.float32(0.5), "n": np.int64(3), "bad": np.nan}])
    assert summary == {
        "accuracy": {"mean": 0.5, "std": 0.0, "folds": [0.5]},
        "n": {"mean": 3.0, "std": 0.0, "folds": [3.0]},
    }
    assert all(type(value["mean"]) is float for value in summary.values())


def test_summarise_folds_of_real_metrics():
    truth = [0, 1, 1, 0]
    folds = [
        classification_metrics(truth, one_hot([0, 1, 1, 0], 2), CLASSES),
        classification_metrics(truth, one_hot([0, 1, 0, 0], 2), CLASSES),
    ]
    summary = summarise_folds(folds)
    assert set(summary) == {"n_songs", "accuracy", "balanced_accuracy", "chance_accuracy"}
    assert summary["accuracy"]["mean"] == pytest.approx(0.875)
    assert summary["accuracy"]["std"] == pytest.approx(np.std([1.0, 0.75], ddof=1))


def test_summarise_folds_needs_a_fold():
    with pytest.raises(ParameterError, match="no folds"):
        summarise_folds([])

"""Song-level metrics against cases worked out by hand."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from tunetag.errors import ParameterError
from tunetag.evaluation.metrics import classification_metrics

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

"""The learning curve's figures: points, intervals over folds, the gain of more labels."""

import numpy as np
import pytest

from tunetag.errors import ParameterError
from tunetag.evaluation.learning import (
    MORE_LABELS,
    curve_sentence,
    fold_interval,
    headline_metric,
    learning_curve,
)
from tunetag.evaluation.plots import plot_learning_curves


def test_the_interval_over_folds_is_students():
    low, high = fold_interval([0.6, 0.7, 0.8])
    # mean 0.7, std 0.1, t(0.975, 2) = 4.303: half width 0.1 * 4.303 / sqrt(3)
    assert (low + high) / 2 == pytest.approx(0.7)
    assert (high - low) / 2 == pytest.approx(0.1 * 4.3027 / np.sqrt(3), rel=1e-3)
    assert fold_interval([0.7]) is None
    assert fold_interval([1.0, 1.0, 0.8]) == [pytest.approx(0.6465, abs=1e-3), 1.0]  # clipped


def test_a_curve_straight_in_log_songs_gives_its_slope():
    songs = {0.25: 25, 0.5: 50, 0.75: 75, 1.0: 100}
    scores = {
        f: [0.5 + 0.05 * np.log2(n / 25) + d for d in (-0.01, 0.01)] for f, n in songs.items()
    }
    curve = learning_curve(songs, scores, "balanced_accuracy")
    assert [p["songs"] for p in curve["points"]] == [25, 50, 75, 100]
    assert curve["points"][-1]["mean"] == pytest.approx(0.6)
    assert curve["gain_per_doubling"] == pytest.approx(0.05)
    assert curve["gain_more_labels"] == pytest.approx(0.05 * np.log2((100 + MORE_LABELS) / 100))
    sentence = curve_sentence(curve)
    assert "+0.050" in sentence and f"{MORE_LABELS} more labelled songs" in sentence


def test_undefined_fold_scores_are_left_out():
    curve = learning_curve({0.5: 10, 1.0: 20}, {0.5: [None, None], 1.0: [0.8, None]}, "x")
    assert [p["fraction"] for p in curve["points"]] == [1.0]
    assert curve["points"][0]["folds"] == [0.8] and curve["gain_per_doubling"] is None
    assert "doubling" not in curve_sentence(curve)
    with pytest.raises(ParameterError):
        learning_curve({0.5: 10}, {1.0: [0.5]}, "x")


def test_multi_label_tasks_draw_their_roc_auc():
    assert headline_metric(True) == "macro_roc_auc"
    assert headline_metric(False) == "balanced_accuracy"


def test_the_curve_is_drawn(tmp_path):
    songs = {0.5: 10, 1.0: 20}
    curve = learning_curve(songs, {0.5: [0.6, 0.7], 1.0: [0.8, 0.75]}, "balanced_accuracy")
    path = tmp_path / "curve.png"
    plot_learning_curves({"mood": curve}, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ParameterError, match="no learning curve"):
        plot_learning_curves({"mood": learning_curve({1.0: 5}, {1.0: [None]}, "x")}, path)

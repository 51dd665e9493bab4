"""The analysed window: centred, from the start, or the whole of a short song."""

from __future__ import annotations

import numpy as np
import pytest

from tunetag.audio import analysis_window, window_bounds
from tunetag.errors import ParameterError

SR = 100  # Hz; small so sample indices are easy to reason about


def test_centre_window_sits_in_the_middle():
    y = np.arange(1000, dtype=np.float32)  # 10 s
    window = analysis_window(y, SR, 4.0)
    assert len(window) == 400
    assert window[0] == 300 and window[-1] == 699


def test_start_window_is_the_beginning():
    y = np.arange(1000, dtype=np.float32)
    window = analysis_window(y, SR, 4.0, position="start")
    np.testing.assert_array_equal(window, y[:400])


def test_odd_leftover_centres_within_one_sample():
    y = np.arange(1001, dtype=np.float32)
    window = analysis_window(y, SR, 4.0)
    before, after = window[0] - y[0], y[-1] - window[-1]
    assert len(window) == 400
    assert abs(before - after) <= 1


@pytest.mark.parametrize("position", ["centre", "start"])
def test_song_shorter_than_the_window_is_returned_whole(position):
    y = np.arange(250, dtype=np.float32)
    np.testing.assert_array_equal(analysis_window(y, SR, 4.0, position), y)


def test_song_exactly_the_window_is_returned_whole():
    y = np.arange(400, dtype=np.float32)
    np.testing.assert_array_equal(analysis_window(y, SR, 4.0), y)


def test_window_is_a_view_not_a_copy():
    y = np.arange(1000, dtype=np.float32)
    assert np.shares_memory(analysis_window(y, SR, 4.0), y)


def test_130_s_at_22050_hz_is_the_proposal_window():
    y = np.zeros(200 * 22050, dtype=np.float32)
    assert len(analysis_window(y, 22050, 130.0)) == 130 * 22050


@pytest.mark.parametrize(
    ("sr", "window_s", "position"),
    [(0, 4.0, "centre"), (SR, 0.0, "centre"), (SR, 4.0, "end")],
)
def test_bad_arguments_are_parameter_errors(sr, window_s, position):
    with pytest.raises(ParameterError):
        analysis_window(np.zeros(10, dtype=np.float32), sr, window_s, position)


@pytest.mark.parametrize("position", ["centre", "start"])
def test_window_bounds_match_the_samples_analysis_window_cuts(position):
    y = np.arange(SR * 300, dtype=np.float32) / SR  # each sample holds its own time in seconds
    start_s, end_s = window_bounds(300.0, 130.0, position)
    cut = analysis_window(y, SR, 130.0, position)
    assert start_s == pytest.approx(cut[0], abs=1 / SR)
    assert end_s == pytest.approx(cut[-1] + 1 / SR, abs=1 / SR)


def test_window_bounds_of_a_short_song_are_the_whole_song():
    assert window_bounds(42.5, 130.0) == (0.0, 42.5)


def test_window_bounds_refuse_a_negative_duration():
    with pytest.raises(ParameterError, match="duration_s"):
        window_bounds(-1.0, 130.0)

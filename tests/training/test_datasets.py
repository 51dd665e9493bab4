"""Crops and pictures: shapes, padding, coverage of the song, reproducible randomness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tunetag.errors import ParameterError
from tunetag.training.datasets import SongExample, TrainCrops, crop_frames, song_inputs

N_MELS = 16


def ramp_mel(frames: int) -> np.ndarray:
    """A log-mel in dB whose value is its frame index minus 80, so a crop shows where it was."""
    return np.tile(np.arange(frames, dtype=np.float32) - 80.0, (N_MELS, 1))


@pytest.fixture
def songs(tmp_path: Path) -> list[SongExample]:
    """Three songs of 100, 250 and 30 frames; the third is unlabelled for genre."""
    examples = []
    for k, (frames, targets) in enumerate(
        [(100, {"mood": 0, "genre": 2}), (250, {"mood": 1, "genre": 0}), (30, {"mood": 1})]
    ):
        path = tmp_path / f"song{k}.npy"
        np.save(path, ramp_mel(frames))
        examples.append(SongExample(mel_path=path, targets=targets))
    return examples


def test_crop_frames_rounds_seconds_to_frames():
    assert crop_frames(3.0, 22050 / 512) == 129
    assert crop_frames(0.001, 10.0) == 1
    with pytest.raises(ParameterError):
        crop_frames(0.0, 43.0)


def test_crops_have_the_right_shape_and_targets(songs):
    data = TrainCrops(songs, ["mood", "genre"], "crop", 48, crops_per_song=4, seed=0)
    assert len(data) == 12
    x, y = data[4]
    assert x.shape == (1, N_MELS, 48) and x.dtype == torch.float32
    assert y.tolist() == [1, 0] and y.dtype == torch.int64
    assert data[8][1].tolist() == [1, -100]


def test_a_crop_is_a_contiguous_piece_of_its_song(songs):
    data = TrainCrops(songs, ["mood"], "crop", 48, crops_per_song=4, seed=0)
    for index in range(8):
        x, _ = data[index]
        row = x[0, 0].numpy()
        assert np.all(np.diff(row) == 1.0)
        assert row[0] >= -80 and row[-1] < (100 if index < 4 else 250) - 80


def test_a_short_song_is_padded_with_its_minimum(songs):
    data = TrainCrops(songs, ["mood"], "crop", 48, crops_per_song=2, seed=0)
    x, _ = data[4]
    row = x[0, 0].numpy()
    assert np.array_equal(row[:30], ramp_mel(30)[0])
    assert np.all(row[30:] == -80.0)


def test_set_epoch_changes_crops_reproducibly(songs):
    data = TrainCrops(songs, ["mood"], "crop", 48, crops_per_song=4, seed=0)

    def starts(epoch: int) -> list[float]:
        data.set_epoch(epoch)
        return [float(data[i][0][0, 0, 0]) for i in range(8)]

    first = starts(1)
    assert starts(2) != first
    assert starts(1) == first
    assert len(set(first)) > 1
    other_seed = TrainCrops(songs, ["mood"], "crop", 48, crops_per_song=4, seed=1)
    other_seed.set_epoch(1)
    assert [float(other_seed[i][0][0, 0, 0]) for i in range(8)] != first


def test_song_inputs_cover_the_whole_song():
    mel = ramp_mel(250)
    crops = song_inputs(mel, "crop", 100)
    assert crops.shape == (3, 1, N_MELS, 100)
    assert [float(c[0, 0, 0]) + 80 for c in crops] == [0.0, 100.0, 150.0]
    assert float(crops[-1, 0, 0, -1]) == mel[0, -1]
    assert song_inputs(ramp_mel(200), "crop", 100).shape[0] == 2


def test_song_inputs_pad_a_short_song_into_one_crop():
    crops = song_inputs(ramp_mel(30), "crop", 48)
    assert crops.shape == (1, 1, N_MELS, 48)
    assert np.all(crops[0, 0, :, 30:].numpy() == -80.0)


def test_images_are_the_proposals_picture(songs):
    data = TrainCrops(songs, ["mood"], "image", 48, crops_per_song=4, seed=0)
    assert len(data) == 3
    x, y = data[1]
    assert x.shape == (4, 400, 1600) and x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert torch.all(x[3] == 1.0)  # opaque alpha
    assert y.tolist() == [1]
    picture = song_inputs(np.load(songs[1].mel_path), "image", 48)
    assert picture.shape == (1, 4, 400, 1600)
    assert torch.equal(picture[0], x)
    # time runs left to right: the ramp is dark at the left and bright at the right
    assert float(x[:3, :, :10].mean()) < float(x[:3, :, -10:].mean())


def test_unknown_input_kind_is_refused(songs):
    with pytest.raises(ParameterError, match="input_kind"):
        TrainCrops(songs, ["mood"], "waveform", 48, crops_per_song=1, seed=0)
    with pytest.raises(ParameterError, match="input_kind"):
        song_inputs(ramp_mel(10), "waveform", 48)

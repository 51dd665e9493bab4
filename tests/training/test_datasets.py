"""Crops, pictures and summaries: shapes, padding, aligned views, reproducible randomness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tunetag.errors import ParameterError
from tunetag.library.tasks import Task
from tunetag.models.inputs import crop_frames, load_views, song_inputs, summary_statistics
from tunetag.training.datasets import SongExample, TrainCrops

N_MELS = 16
MOOD = Task("mood", ("mellow", "loud"))
GENRE = Task("genre", ("a", "b", "c"))


def ramp(frames: int, rows: int = N_MELS) -> np.ndarray:
    """A view whose value is its frame index minus 80, so a crop shows where it was."""
    return np.tile(np.arange(frames, dtype=np.float32) - 80.0, (rows, 1))


@pytest.fixture
def songs(tmp_path: Path) -> list[SongExample]:
    """Three songs of 100, 250 and 30 frames with a mel and a 12-row chroma-like view;
    the third is unlabelled for genre."""
    examples = []
    for k, (frames, mood, genre) in enumerate(
        [(100, "mellow", "c"), (250, "loud", "a"), (30, "loud", None)]
    ):
        paths = {"mel": tmp_path / f"mel{k}.npy", "chroma": tmp_path / f"chroma{k}.npy"}
        np.save(paths["mel"], ramp(frames))
        np.save(paths["chroma"], ramp(frames + 1, rows=12) + 1000.0)  # one frame longer
        targets = {"mood": MOOD.target([mood]), "genre": GENRE.target([genre] if genre else None)}
        examples.append(SongExample(paths, targets))
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
    assert x["mel"].shape == (1, N_MELS, 48) and x["mel"].dtype == torch.float32
    assert x["chroma"].shape == (1, 12, 48)
    assert y["mood"].tolist() == [0.0, 1.0] and y["genre"].tolist() == [1.0, 0.0, 0.0]
    assert torch.isnan(data[8][1]["genre"]).all()


def test_every_view_is_cropped_at_the_same_frames(songs):
    data = TrainCrops(songs, ["mood"], "crop", 48, crops_per_song=4, seed=0)
    for index in range(8):
        x, _ = data[index]
        mel, chroma = x["mel"][0, 0].numpy(), x["chroma"][0, 0].numpy()
        assert np.all(np.diff(mel) == 1.0)
        np.testing.assert_array_equal(chroma - 1000.0, mel)
        assert mel[0] >= -80 and mel[-1] < (100 if index < 4 else 250) - 80


def test_a_short_song_is_padded_with_its_minimum(songs):
    data = TrainCrops(songs, ["mood"], "crop", 48, crops_per_song=2, seed=0)
    x, _ = data[4]
    row = x["mel"][0, 0].numpy()
    assert np.array_equal(row[:30], ramp(30)[0])
    assert np.all(row[30:] == -80.0)


def test_set_epoch_changes_crops_reproducibly(songs):
    data = TrainCrops(songs, ["mood"], "crop", 48, crops_per_song=4, seed=0)

    def starts(epoch: int) -> list[float]:
        data.set_epoch(epoch)
        return [float(data[i][0]["mel"][0, 0, 0]) for i in range(8)]

    first = starts(1)
    assert starts(2) != first
    assert starts(1) == first
    assert len(set(first)) > 1
    other_seed = TrainCrops(songs, ["mood"], "crop", 48, crops_per_song=4, seed=1)
    other_seed.set_epoch(1)
    assert [float(other_seed[i][0]["mel"][0, 0, 0]) for i in range(8)] != first


def test_song_inputs_cover_the_whole_song():
    views = {"mel": ramp(250), "chroma": ramp(251, rows=12)}
    crops = song_inputs(views, "crop", 100)
    assert crops["mel"].shape == (3, 1, N_MELS, 100) and crops["chroma"].shape == (3, 1, 12, 100)
    assert [float(c[0, 0, 0]) + 80 for c in crops["mel"]] == [0.0, 100.0, 150.0]
    assert float(crops["mel"][-1, 0, 0, -1]) == views["mel"][0, -1]
    assert song_inputs({"mel": ramp(200)}, "crop", 100)["mel"].shape[0] == 2


def test_song_inputs_pad_a_short_song_into_one_crop():
    crops = song_inputs({"mel": ramp(30)}, "crop", 48)["mel"]
    assert crops.shape == (1, 1, N_MELS, 48)
    assert np.all(crops[0, 0, :, 30:].numpy() == -80.0)


def test_images_are_the_proposals_picture_of_the_first_view(songs):
    data = TrainCrops(songs, ["mood"], "image", 48, crops_per_song=4, seed=0)
    assert len(data) == 3
    x, y = data[1]
    image = x["image"]
    assert image.shape == (4, 400, 1600) and image.dtype == torch.float32
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    assert torch.all(image[3] == 1.0)  # opaque alpha
    assert y["mood"].tolist() == [0.0, 1.0]
    picture = song_inputs({"mel": np.load(songs[1].view_paths["mel"])}, "image", 48)["image"]
    assert picture.shape == (1, 4, 400, 1600)
    assert torch.equal(picture[0], image)
    # time runs left to right: the ramp is dark at the left and bright at the right
    assert float(image[:3, :, :10].mean()) < float(image[:3, :, -10:].mean())


def test_summaries_are_means_and_deviations_of_every_row():
    mel = np.array([[1.0, 3.0], [2.0, 2.0]], dtype=np.float32)
    chroma = np.array([[0.0, 1.0]], dtype=np.float32)
    found = summary_statistics({"mel": mel, "chroma": chroma})
    np.testing.assert_allclose(found, [2.0, 2.0, 1.0, 0.0, 0.5, 0.5])
    inputs = song_inputs({"mel": mel, "chroma": chroma}, "summary", 48)
    assert inputs["summary"].shape == (1, 6)


def test_unknown_input_kind_is_refused(songs):
    with pytest.raises(ParameterError, match="input_kind"):
        TrainCrops(songs, ["mood"], "waveform", 48, crops_per_song=1, seed=0)
    with pytest.raises(ParameterError, match="input_kind"):
        song_inputs({"mel": ramp(10)}, "waveform", 48)


def test_frame_views_are_cut_together_and_the_patch_view_is_left_whole(tmp_path):
    arrays = {
        "mel": np.ones((128, 500), np.float32),
        "chroma": np.ones((12, 498), np.float32),
        "musicnn": np.ones((200, 4), np.float32),
    }
    paths = {}
    for name, array in arrays.items():
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], array)
    views = load_views(paths)
    assert {name: view.shape for name, view in views.items()} == {
        "mel": (128, 498),
        "chroma": (12, 498),
        "musicnn": (200, 4),
    }
    assert load_views({"musicnn": paths["musicnn"]})["musicnn"].shape == (200, 4)


def test_patches_are_single_columns_of_the_per_patch_views(tmp_path):
    """A patch model trains on one random column a song at a time and scores every column."""
    pooled = np.tile(np.arange(5, dtype=np.float32), (7, 1)) + np.arange(7)[:, None] * 100
    np.save(tmp_path / "pooled.npy", pooled)
    example = SongExample({"musicnn": tmp_path / "pooled.npy"}, {"mood": MOOD.target(["loud"])})
    data = TrainCrops([example], ["mood"], "patch", 129, crops_per_song=4, seed=0)
    assert len(data) == 4
    columns = set()
    for epoch in range(5):
        data.set_epoch(epoch)
        for index in range(4):
            x, y = data[index]
            assert x["musicnn"].shape == (7,) and x["musicnn"].dtype == torch.float32
            column = int(x["musicnn"][0])
            np.testing.assert_array_equal(x["musicnn"].numpy(), pooled[:, column])
            columns.add(column)
    assert columns == set(range(5))
    every = song_inputs({"musicnn": pooled}, "patch", 129)["musicnn"]
    assert every.shape == (5, 7)
    np.testing.assert_array_equal(every.numpy(), pooled.T)

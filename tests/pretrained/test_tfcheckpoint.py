"""Reading TensorFlow checkpoints without TensorFlow: the musicnn weights, and damaged files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tunetag.pretrained.taggers import weights_folder
from tunetag.pretrained.tfcheckpoint import CheckpointError, read_checkpoint


@pytest.fixture
def msd_musicnn(tmp_path):
    """A copy of the MSD_musicnn checkpoint that a test may damage."""
    folder = tmp_path / "MSD_musicnn"
    shutil.copytree(weights_folder() / "MSD_musicnn", folder)
    return folder


def test_the_musicnn_checkpoint_holds_its_published_layers(msd_musicnn):
    tensors = read_checkpoint(f"{msd_musicnn}/")
    assert len(tensors) == 64
    assert sum(array.size for array in tensors.values()) == 792_079
    assert tensors["conv2d/kernel"].shape == (7, 38, 1, 204)
    assert tensors["conv2d_5/kernel"].shape == (7, 561, 1, 64)
    assert tensors["dense/kernel"].shape == (1506, 200)
    assert tensors["dense_1/kernel"].shape == (200, 50)
    assert all(array.dtype == np.float32 for array in tensors.values())
    assert all(np.isfinite(array).all() for array in tensors.values())
    # trained, not initial, values: batch norm statistics moved away from 0 and 1
    assert np.abs(tensors["batch_normalization_9/moving_mean"]).max() > 0.1


def test_optimizer_slots_are_left_out_unless_asked_for(msd_musicnn):
    everything = read_checkpoint(f"{msd_musicnn}/", optimizer=True)
    slots = [name for name in everything if "Adam" in name or name.endswith("_power")]
    trainable = 64 - 2 * 11  # 11 batch norms keep two moving statistics each
    assert len(slots) == 2 * trainable + 2  # Adam's two moments of each, and two powers
    assert set(everything) - set(slots) == set(read_checkpoint(f"{msd_musicnn}/"))
    for name in everything.keys() - set(slots):
        if name.endswith("/kernel"):
            assert everything[f"{name}/Adam"].shape == everything[name].shape


def test_a_missing_file_is_named(msd_musicnn):
    (msd_musicnn / ".data-00000-of-00001").unlink()
    with pytest.raises(CheckpointError, match=r"\.data-00000-of-00001: checkpoint file not found"):
        read_checkpoint(f"{msd_musicnn}/")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda index: index[:20], "too short"),
        (lambda index: index[:-1] + b"\x00", "wrong magic number"),
        (lambda index: b"\x00" * 8 + index[8:], "(not read|past the end|does not fit|damaged)"),
    ],
    ids=["truncated", "magic", "zeroed"],
)
def test_a_damaged_index_is_a_clear_error(msd_musicnn, damage, reason):
    index = msd_musicnn / ".index"
    index.write_bytes(damage(index.read_bytes()))
    with pytest.raises(CheckpointError, match=reason):
        read_checkpoint(f"{msd_musicnn}/")


def test_a_short_data_file_is_a_clear_error(msd_musicnn):
    data = msd_musicnn / ".data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="does not fit the data file"):
        read_checkpoint(f"{msd_musicnn}/")

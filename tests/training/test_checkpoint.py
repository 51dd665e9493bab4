"""`train --resume`: a run stopped after any epoch or fold and resumed gives the run folder
an uninterrupted run gives; a checkpoint of other settings, or a broken one, is refused."""

from __future__ import annotations

import pytest
import torch

from tunetag.config import RunConfig, TrainConfig
from tunetag.errors import ParameterError
from tunetag.steps.train import train
from tunetag.training import checkpoint as checkpoint_module

# seven trainings of a network, stopped and resumed: `make check` leaves it out
pytestmark = pytest.mark.slow

CONFIG = RunConfig(
    train=TrainConfig(
        model="shortchunk",
        tasks=("mood",),
        folds=2,
        epochs=3,
        patience=3,
        crop_s=2.0,
        crops_per_song=2,
        augment_gain_db=3.0,
        mixup_alpha=0.2,
    )
)
RUN_FILES = ("metrics.json", "history.csv", "labels.json", "config.json", "scored-songs.csv")


class KilledError(Exception):
    """Stands for a kill: raised right after the n-th checkpoint write."""


@pytest.fixture(scope="module")
def library(mood_library, tmp_path_factory):
    """The shared demo songs, and a folder of this module's own for the runs and the cache."""
    root = mood_library("library", songs_per_class=4, duration_s=6.0, seed=5)
    runs = tmp_path_factory.mktemp("checkpoint")
    return {"songs": root / "songs.csv", "cache": runs / "cache", "runs": runs}


@pytest.fixture(scope="module")
def uninterrupted(library):
    return train(
        library["songs"],
        library["runs"] / "whole",
        CONFIG,
        cache_dir=library["cache"],
        progress=False,
    )


def _stop_after(monkeypatch, writes: int) -> None:
    """Make the ``writes``-th checkpoint write (epoch or finished stage) the last one."""
    save = checkpoint_module.TrainingCheckpoint._save
    count = {"n": 0}

    def save_then_stop(self):
        save(self)
        count["n"] += 1
        if count["n"] == writes:
            raise KilledError

    monkeypatch.setattr(checkpoint_module.TrainingCheckpoint, "_save", save_then_stop)


def _assert_same_run(found, expected) -> None:
    """Every file alike but for the folder's name in the run id; the same weights."""
    for name in RUN_FILES:
        text = (found.path / name).read_text().replace(f"{found.path.name}@", "run@")
        assert text == (expected.path / name).read_text().replace(f"{expected.path.name}@", "run@")
    weights = torch.load(found.model_path, weights_only=True)
    for key, value in torch.load(expected.model_path, weights_only=True).items():
        assert torch.equal(weights[key], value), key


# 2 folds of 3 epochs, then the final model: writes 1-3 are fold 1's epochs, 4 its end,
# 5-7 fold 2, 8 its end, then the final fit's epochs.
@pytest.mark.parametrize("writes", [1, 4, 6, 9])
def test_a_resumed_run_is_the_uninterrupted_run(
    library, uninterrupted, tmp_path, monkeypatch, writes
):
    out = library["runs"] / f"stopped-{writes}"  # beside the other: the same relative paths
    with monkeypatch.context() as patch:
        _stop_after(patch, writes)
        with pytest.raises(KilledError):
            train(library["songs"], out, CONFIG, cache_dir=library["cache"], progress=False)
    assert (out / "checkpoint.pt").is_file() and not (out / "model.pt").exists()

    run = train(
        library["songs"], out, CONFIG, cache_dir=library["cache"], progress=False, resume=True
    )
    _assert_same_run(run, uninterrupted)
    assert not (out / "checkpoint.pt").exists()


def test_resume_without_a_checkpoint_starts_from_the_beginning(library, uninterrupted):
    run = train(
        library["songs"],
        library["runs"] / "fresh",
        CONFIG,
        cache_dir=library["cache"],
        progress=False,
        resume=True,
    )
    _assert_same_run(run, uninterrupted)


def test_a_checkpoint_of_other_settings_or_a_broken_one_is_refused(library, tmp_path, monkeypatch):
    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        _stop_after(patch, 1)
        with pytest.raises(KilledError):
            train(library["songs"], out, CONFIG, cache_dir=library["cache"], progress=False)
    other = RunConfig(train=TrainConfig(**{**CONFIG.train.__dict__, "seed": 1}))
    with pytest.raises(ParameterError, match="other settings"):
        train(library["songs"], out, other, cache_dir=library["cache"], progress=False, resume=True)

    (out / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ParameterError, match="cannot be resumed"):
        train(
            library["songs"], out, CONFIG, cache_dir=library["cache"], progress=False, resume=True
        )

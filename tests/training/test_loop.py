"""The loop learns an easy problem, scores songs, keeps the best epoch and stops early."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tunetag import models
from tunetag.config import TrainConfig
from tunetag.errors import ParameterError
from tunetag.library.tasks import Task
from tunetag.runs.probabilities import autocast_dtype, pick_device, song_probabilities
from tunetag.training.datasets import SongExample
from tunetag.training.loop import fit

N_MELS = 32
FRAMES = 100
CPU = torch.device("cpu")
MOOD = Task("mood", ("high", "low"))
GENRE = Task("genre", ("a", "b", "c"))
TAGS = Task("tags", ("bright", "dark", "dull"), multilabel=True)


def band_song(rng: np.random.Generator, high: bool) -> np.ndarray:
    """A log-mel in dB: quiet noise, loud in the low bands (class 0) or high bands (class 1)."""
    mel = rng.normal(-70.0, 4.0, size=(N_MELS, FRAMES))
    bands = slice(N_MELS - 10, N_MELS) if high else slice(0, 10)
    mel[bands] += 45.0 + rng.normal(0.0, 4.0, size=(10, FRAMES))
    return mel.astype(np.float32)


@pytest.fixture
def library(tmp_path: Path) -> tuple[list[SongExample], list[SongExample]]:
    """16 songs, half of each class; 8 for training and 8 for validation."""
    rng = np.random.default_rng(0)
    examples = []
    for k in range(16):
        path = tmp_path / f"song{k:02d}.npy"
        np.save(path, band_song(rng, high=bool(k % 2)))
        label = "low" if k % 2 else "high"
        examples.append(SongExample({"mel": path}, {"mood": MOOD.target([label])}))
    return examples[:8], examples[8:]


def config(**changes) -> TrainConfig:
    base = TrainConfig(
        crops_per_song=4,
        batch_size=8,
        learning_rate=3e-3,
        epochs=6,
        patience=6,
        augment_time_masks=0,
        augment_freq_masks=0,
    )
    return dataclasses.replace(base, **changes)


def run_fit(model, tasks, train, val, input_kind="crop", weights=None, progress=False, **changes):
    return fit(
        model,
        tasks,
        train,
        val,
        input_kind=input_kind,
        crop_frames=32,
        config=config(**changes),
        class_weights=weights,
        device=CPU,
        progress=progress,
    )


def shortchunk(tasks) -> nn.Module:
    torch.manual_seed(0)
    return models.create("shortchunk", {t.name: t.n_outputs for t in tasks}, {"mel": N_MELS})


class MeanBands(nn.Module):
    """A linear model of the mean dB per band: no batch norm, no dropout."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(N_MELS, 2)

    def forward(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"mood": self.head(inputs["mel"].mean(dim=(1, 3)) / 80.0)}


@pytest.mark.slow  # trains a network to 90 % accuracy
def test_shortchunk_learns_low_against_high_bands(library):
    train, val = library
    result = run_fit(shortchunk([MOOD]), [MOOD], train, val)

    assert max(row["val_acc_mood"] for row in result.history) >= 0.9
    assert set(result.history[0]) == {
        "epoch",
        "train_loss",
        "val_loss",
        "train_acc_mood",
        "val_acc_mood",
    }
    assert [row["epoch"] for row in result.history] == list(range(1, len(result.history) + 1))
    best = result.history[result.best_epoch - 1]
    assert best["val_loss"] == min(row["val_loss"] for row in result.history)
    assert all(t.device.type == "cpu" for t in result.best_state.values())

    fresh = shortchunk([MOOD])
    fresh.load_state_dict(result.best_state)
    probs = song_probabilities(
        fresh, [ex.view_paths for ex in val], [MOOD], input_kind="crop", crop_frames=32, device=CPU
    )["mood"]
    assert probs.shape == (8, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    truth = np.array([ex.targets["mood"].argmax() for ex in val])
    assert (probs.argmax(axis=1) == truth).mean() == best["val_acc_mood"]
    nll = -np.log(probs[np.arange(8), truth]).mean()
    assert nll == pytest.approx(best["val_loss"], rel=1e-5)


@pytest.mark.slow  # trains a network on two tasks
def test_a_song_unlabelled_for_one_task_still_trains_the_other(library):
    train, val = library
    unlabelled = GENRE.target(None)
    partial = [
        SongExample(ex.view_paths, {**ex.targets, "genre": GENRE.target(["abc"[k % 3]])})
        if k < 2
        else SongExample(ex.view_paths, {**ex.targets, "genre": unlabelled})
        for k, ex in enumerate(train)
    ]
    val = [
        SongExample(ex.view_paths, {**ex.targets, "genre": GENRE.target(["abc"[k % 3]])})
        for k, ex in enumerate(val)
    ]
    result = run_fit(
        shortchunk([MOOD, GENRE]), [MOOD, GENRE], partial, val, crops_per_song=1, batch_size=2
    )
    for row in result.history:
        assert all(math.isfinite(value) for value in row.values())
        assert "train_acc_genre" in row and "val_acc_genre" in row
    assert max(row["val_acc_mood"] for row in result.history) >= 0.9


@pytest.mark.slow  # trains a network on a multi-label task
def test_multi_label_tasks_learn_with_sigmoid_heads(library):
    train, val = library

    def tagged(examples):
        out = []
        for ex in examples:
            low = bool(ex.targets["mood"].argmax())
            labels = ["dark", "dull"] if low else ["bright"]
            out.append(SongExample(ex.view_paths, {"tags": TAGS.target(labels)}))
        return out

    result = run_fit(shortchunk([TAGS]), [TAGS], tagged(train), tagged(val), epochs=8)
    assert max(row["val_acc_tags"] for row in result.history) >= 0.9
    model = shortchunk([TAGS])
    model.load_state_dict(result.best_state)
    probs = song_probabilities(
        model, [ex.view_paths for ex in val], [TAGS], input_kind="crop", crop_frames=32
    )["tags"]
    assert probs.shape == (8, 3) and ((probs >= 0) & (probs <= 1)).all()
    assert not np.allclose(probs.sum(axis=1), 1.0)


@pytest.mark.slow  # trains a network with augmentation and mixup
def test_augmentation_and_mixup_train_without_error(library):
    train, val = library
    result = run_fit(
        shortchunk([MOOD]),
        [MOOD],
        train,
        val,
        epochs=2,
        augment_gain_db=6.0,
        augment_time_masks=2,
        augment_freq_masks=2,
        mixup_alpha=0.4,
    )
    assert all(math.isfinite(row["train_loss"]) for row in result.history)


def test_stops_after_patience_epochs_without_improvement(library):
    train, val = library
    result = run_fit(
        MeanBands(),
        [MOOD],
        train,
        val,
        learning_rate=1e-12,
        weight_decay=0.0,
        epochs=10,
        patience=2,
    )
    assert len(result.history) <= 3


def test_without_validation_songs_the_last_epoch_is_kept(library):
    train, _ = library
    result = run_fit(MeanBands(), [MOOD], train, [], epochs=3)
    assert result.best_epoch == 3 and len(result.history) == 3
    assert math.isnan(result.history[-1]["val_loss"])


def test_same_seed_same_history(library):
    train, val = library
    runs = [run_fit(shortchunk([MOOD]), [MOOD], train, val, epochs=1).history for _ in range(2)]
    assert runs[0] == runs[1]


def test_progress_prints_one_line_per_epoch(library, capsys):
    train, val = library
    run_fit(MeanBands(), [MOOD], train, val, progress=True, epochs=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2
    assert "val loss" in lines[0] and "val_acc_mood" in lines[0]


def test_class_weights_must_match_the_classes(library):
    train, val = library
    with pytest.raises(ParameterError, match="class_weights"):
        run_fit(MeanBands(), [MOOD], train, val, weights={"mood": torch.ones(3)}, epochs=1)


def test_a_target_of_the_wrong_size_is_refused(library):
    train, val = library
    bad = [SongExample(train[0].view_paths, {"mood": np.ones(3, np.float32)}), *train[1:]]
    with pytest.raises(ParameterError, match="expected \\(2,\\)"):
        run_fit(MeanBands(), [MOOD], bad, val, epochs=1)


def test_pick_device_is_cuda_only_when_present():
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert autocast_dtype(CPU) is None  # full precision on the CPU, mixed on a GPU


class MeanColours(nn.Module):
    """A linear model of the picture's mean colour, for the "image" input path."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(4, 2)

    def forward(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"mood": self.head(inputs["image"].mean(dim=(2, 3)))}


def test_image_models_train_on_one_picture_per_song(library):
    train, val = library
    result = run_fit(MeanColours(), [MOOD], train, val, input_kind="image", epochs=1)
    assert math.isfinite(result.history[0]["val_loss"])
    probs = song_probabilities(
        MeanColours(), [val[0].view_paths], [MOOD], input_kind="image", crop_frames=32, device=CPU
    )
    assert probs["mood"].shape == (1, 2)


def test_the_logistic_baseline_is_fitted_in_closed_form(library):
    train, val = library
    model = models.create("logreg", {"mood": 2}, {"mel": N_MELS})
    result = run_fit(model, [MOOD], train, val, input_kind="summary")
    assert len(result.history) == 1 and result.best_epoch == 1
    assert result.history[0]["val_acc_mood"] >= 0.9

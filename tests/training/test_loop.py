"""The loop learns an easy problem, scores songs, keeps the best epoch and stops early."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tunetag import models
from tunetag.errors import ParameterError
from tunetag.training.datasets import SongExample
from tunetag.training.loop import fit, pick_device, predict_songs

N_MELS = 32
FRAMES = 100
CPU = torch.device("cpu")


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
        examples.append(SongExample(mel_path=path, targets={"mood": k % 2}))
    return examples[:8], examples[8:]


def settings(**changes) -> dict:
    base = dict(
        input_kind="crop",
        crop_frames=32,
        crops_per_song=4,
        batch_size=8,
        learning_rate=3e-3,
        weight_decay=1e-4,
        epochs=6,
        patience=6,
        seed=0,
        device=CPU,
        progress=False,
    )
    return base | changes


class MeanBands(nn.Module):
    """A linear model of the mean dB per band: no batch norm, no dropout."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(N_MELS, 2)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"mood": self.head(x.mean(dim=(1, 3)) / 80.0)}


def test_shortchunk_learns_low_against_high_bands(library):
    train, val = library
    torch.manual_seed(0)
    model = models.create("shortchunk", {"mood": 2}, n_mels=N_MELS)

    result = fit(model, ["mood"], {"mood": 2}, train, val, **settings())

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

    fresh = models.create("shortchunk", {"mood": 2}, n_mels=N_MELS)
    fresh.load_state_dict(result.best_state)
    probs = predict_songs(
        fresh, [ex.mel_path for ex in val], ["mood"], input_kind="crop", crop_frames=32, device=CPU
    )["mood"]
    assert probs.shape == (8, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    truth = np.array([ex.targets["mood"] for ex in val])
    assert (probs.argmax(axis=1) == truth).mean() == best["val_acc_mood"]
    nll = -np.log(probs[np.arange(8), truth]).mean()
    assert nll == pytest.approx(best["val_loss"], rel=1e-5)


def test_a_task_without_labels_in_most_batches_trains_the_other(library):
    train, val = library
    partial = [
        SongExample(
            ex.mel_path, {"mood": ex.targets["mood"], "genre": k % 3} if k < 2 else ex.targets
        )
        for k, ex in enumerate(train)
    ]
    val = [SongExample(ex.mel_path, {**ex.targets, "genre": k % 3}) for k, ex in enumerate(val)]
    torch.manual_seed(0)
    model = models.create("shortchunk", {"mood": 2, "genre": 3}, n_mels=N_MELS)

    result = fit(
        model,
        ["mood", "genre"],
        {"mood": 2, "genre": 3},
        partial,
        val,
        **settings(crops_per_song=1, batch_size=2, epochs=4),
    )

    for row in result.history:
        assert all(math.isfinite(value) for value in row.values())
        assert "train_acc_genre" in row and "val_acc_genre" in row
    assert max(row["val_acc_mood"] for row in result.history) >= 0.9


def test_stops_after_patience_epochs_without_improvement(library):
    train, val = library
    result = fit(
        MeanBands(),
        ["mood"],
        {"mood": 2},
        train,
        val,
        **settings(learning_rate=0.0, weight_decay=0.0, epochs=10, patience=2),
    )
    assert len(result.history) == 3
    assert result.best_epoch == 1


def test_same_seed_same_history(library):
    train, val = library
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        model = models.create("shortchunk", {"mood": 2}, n_mels=N_MELS)
        runs.append(fit(model, ["mood"], {"mood": 2}, train, val, **settings(epochs=1)).history)
    assert runs[0] == runs[1]


def test_progress_prints_one_line_per_epoch(library, capsys):
    train, val = library
    fit(MeanBands(), ["mood"], {"mood": 2}, train, val, **settings(epochs=2, progress=True))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2
    assert "val loss" in lines[0] and "val_acc_mood" in lines[0]


def test_class_weights_must_match_the_classes(library):
    train, val = library
    with pytest.raises(ParameterError, match="class_weights"):
        fit(
            MeanBands(),
            ["mood"],
            {"mood": 2},
            train,
            val,
            class_weights={"mood": torch.ones(3)},
            **settings(epochs=1),
        )


def test_a_target_outside_the_classes_is_refused(library):
    train, val = library
    bad = [SongExample(train[0].mel_path, {"mood": 2}), *train[1:]]
    with pytest.raises(ParameterError, match="outside 0..1"):
        fit(MeanBands(), ["mood"], {"mood": 2}, bad, val, **settings(epochs=1))


def test_pick_device_is_cuda_only_when_present():
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


class MeanColours(nn.Module):
    """A linear model of the picture's mean colour, for the "image" input path."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"mood": self.head(x.mean(dim=(2, 3)))}


def test_image_models_train_on_one_picture_per_song(library):
    train, val = library
    result = fit(
        MeanColours(), ["mood"], {"mood": 2}, train, val, **settings(input_kind="image", epochs=1)
    )
    assert math.isfinite(result.history[0]["val_loss"])
    probs = predict_songs(
        MeanColours(), [val[0].mel_path], ["mood"], input_kind="image", crop_frames=32, device=CPU
    )
    assert probs["mood"].shape == (1, 2)

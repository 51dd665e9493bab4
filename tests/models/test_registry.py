"""Every registered model builds, learns, and answers with one logit tensor per task."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tunetag import models
from tunetag.errors import ParameterError
from tunetag.models import registry

TASKS = {"mood": 2, "genre": 3}


def example_input(input_kind: str, n_mels: int) -> torch.Tensor:
    """A small batch of what a model of ``input_kind`` takes."""
    if input_kind == "image":
        return torch.rand(1, 4, 400, 1600)
    return torch.randn(2, 1, n_mels, 65) * 20 - 40


@pytest.mark.parametrize("name", models.available())
def test_every_model_builds_runs_and_learns(name):
    torch.manual_seed(0)
    cls = models.model_class(name)
    assert cls.input_kind in ("image", "crop")
    assert cls.default_batch_size > 0 and cls.default_learning_rate > 0
    model = models.create(name, TASKS, n_mels=64)
    x = example_input(cls.input_kind, n_mels=64)

    logits = model(x)

    assert set(logits) == set(TASKS)
    for task, n_classes in TASKS.items():
        assert logits[task].shape == (len(x), n_classes)
        assert torch.isfinite(logits[task]).all()
    first = next(model.parameters())
    before = first.detach().clone()
    loss = sum(
        nn.functional.cross_entropy(logits[task], torch.zeros(len(x), dtype=torch.long))
        for task in TASKS
    )
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert not torch.equal(first.detach(), before)


def test_unknown_name_lists_available_models():
    with pytest.raises(ParameterError, match="unknown model 'nope'.*shortchunk"):
        models.create("nope", TASKS, n_mels=64)


def test_duplicate_name_is_refused():
    class Another(nn.Module):
        input_kind = "crop"

    with pytest.raises(ParameterError, match="already registered"):
        models.register_model("shortchunk")(Another)
    assert models.model_class("shortchunk").__name__ == "ShortChunkCNN"


def test_a_new_model_is_one_decorated_class(monkeypatch):
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))

    @models.register_model("tiny")
    class Tiny(nn.Module):
        input_kind = "crop"
        default_batch_size = 4
        default_learning_rate = 1e-2

        def __init__(self, tasks, n_mels):
            super().__init__()
            self.heads = nn.ModuleDict({t: nn.Linear(n_mels, k) for t, k in tasks.items()})

        def forward(self, x):
            return {t: head(x.mean(dim=(1, 3))) for t, head in self.heads.items()}

    assert "tiny" in models.available()
    assert models.available() == sorted(models.available())
    assert isinstance(models.create("tiny", {"mood": 2}, n_mels=8), Tiny)


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ({}, "at least one task"),
        ({"mood": 1}, "at least 2 classes"),
        ({"type": 2}, "cannot name a network head"),
    ],
)
def test_bad_tasks_are_refused(tasks, message):
    with pytest.raises(ParameterError, match=message):
        models.create("shortchunk", tasks, n_mels=64)


def test_seed_is_the_proposals_music_classifier():
    model = models.create("seed", {"mood": 2}, n_mels=128)
    convs = [model.conv0, model.conv1, model.conv2, model.conv3]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (4, 32),
        (32, 64),
        (64, 128),
        (128, 256),
    ]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert (model.pool.kernel_size, model.pool.stride) == (2, 2)
    assert (model.fc1.in_features, model.fc1.out_features) == (640000, 512)
    assert model.dropout.p == 0.5
    assert (model.fc2["mood"].in_features, model.fc2["mood"].out_features) == (512, 2)
    printed = str(model)
    assert "(fc1): Linear(in_features=640000, out_features=512, bias=True)" in printed
    assert "(dropout): Dropout(p=0.5, inplace=False)" in printed
    assert "4, 400, 1600" in type(model).__doc__ and "proposal" in type(model).__doc__
    assert type(model).default_batch_size == 8


def test_shortchunk_is_small():
    model = models.create("shortchunk", TASKS, n_mels=128)
    assert sum(p.numel() for p in model.parameters()) < 1_000_000


@pytest.mark.parametrize(("n_mels", "frames"), [(64, 65), (96, 130), (128, 260), (128, 65)])
def test_shortchunk_fits_every_crop_size(n_mels, frames):
    model = models.create("shortchunk", TASKS, n_mels=n_mels).eval()
    logits = model(torch.randn(3, 1, n_mels, frames))
    assert logits["genre"].shape == (3, 3)

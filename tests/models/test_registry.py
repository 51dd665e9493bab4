"""Every registered model builds, learns, and answers with one logit tensor per task."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tunetag import models
from tunetag.config import FeatureConfig
from tunetag.errors import ParameterError
from tunetag.models import registry
from tunetag.runs.folder import model_view_rows

TASKS = {"mood": 2, "genre": 3}
VIEW_ROWS = {"mel": 64, "chroma": 12, "tempogram": 96, "waveform": 3}


def view_rows_of(name: str) -> dict[str, int]:
    """The views a model reads: its own (the pretrained ones), else all four, small."""
    if models.has_own_features(name):
        return model_view_rows(models.run_features(name, FeatureConfig()))
    return VIEW_ROWS


def example_input(input_kind: str, view_rows: dict[str, int]) -> dict[str, torch.Tensor]:
    """A small batch of what a model of ``input_kind`` takes, for every view."""
    if input_kind == "image":
        return {"image": torch.rand(1, 4, 400, 1600)}
    if input_kind == "summary":
        return {"summary": torch.randn(4, 2 * sum(view_rows.values()))}
    if input_kind == "patch":
        return {view: torch.randn(4, rows) for view, rows in view_rows.items()}
    return {view: torch.randn(2, 1, rows, 65) * 20 - 40 for view, rows in view_rows.items()}


@pytest.mark.parametrize("name", models.available())
def test_every_model_builds_runs_and_learns(name):
    torch.manual_seed(0)
    cls = models.model_class(name)
    assert cls.input_kind in ("image", "crop", "patch", "summary")
    assert cls.default_batch_size > 0 and cls.default_learning_rate > 0
    model = models.create(name, TASKS, view_rows_of(name))
    x = example_input(cls.input_kind, view_rows_of(name))
    batch = len(next(iter(x.values())))

    logits = model(x)

    assert set(logits) == set(TASKS)
    for task, n_classes in TASKS.items():
        assert logits[task].shape == (batch, n_classes)
        assert torch.isfinite(logits[task]).all()
    first = next(p for p in model.parameters() if p.requires_grad)
    before = first.detach().clone()
    loss = sum(
        nn.functional.cross_entropy(logits[task], torch.zeros(batch, dtype=torch.long))
        for task in TASKS
    )
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert not torch.equal(first.detach(), before)


def test_unknown_name_lists_available_models():
    with pytest.raises(ParameterError, match="unknown model 'nope'.*shortchunk"):
        models.create("nope", TASKS, VIEW_ROWS)


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

        def __init__(self, tasks, view_rows):
            super().__init__()
            rows = view_rows["mel"]
            self.heads = nn.ModuleDict({t: nn.Linear(rows, k) for t, k in tasks.items()})

        def forward(self, inputs):
            return {t: head(inputs["mel"].mean(dim=(1, 3))) for t, head in self.heads.items()}

    assert "tiny" in models.available()
    assert models.available() == sorted(models.available())
    assert isinstance(models.create("tiny", {"mood": 2}, {"mel": 8}), Tiny)


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ({}, "at least one task"),
        ({"mood": 0}, "at least 1 output"),
        ({"": 2}, "a task needs a name"),
    ],
)
def test_bad_tasks_are_refused(tasks, message):
    with pytest.raises(ParameterError, match=message):
        models.create("shortchunk", tasks, {"mel": 64})


def test_a_model_needs_views_with_rows():
    with pytest.raises(ParameterError, match="every view needs rows"):
        models.create("shortchunk", TASKS, {})
    with pytest.raises(ParameterError, match="every view needs rows"):
        models.create("multiview", TASKS, {"mel": 64, "chroma": 0})


def test_seed_is_the_proposals_music_classifier():
    model = models.create("seed", {"mood": 2}, {"mel": 128})
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


@pytest.mark.parametrize("name", ["shortchunk", "multiview"])
def test_our_cnns_are_small(name):
    model = models.create(name, TASKS, VIEW_ROWS)
    assert sum(p.numel() for p in model.parameters()) < 1_000_000


@pytest.mark.parametrize(("rows", "frames"), [(3, 65), (12, 65), (64, 65), (128, 260), (384, 130)])
def test_shortchunk_fits_every_view_and_crop_size(rows, frames):
    model = models.create("shortchunk", TASKS, {"view": rows}).eval()
    logits = model({"view": torch.randn(3, 1, rows, frames)})
    assert logits["genre"].shape == (3, 3)


def test_shortchunk_reads_the_first_view_and_multiview_reads_them_all():
    torch.manual_seed(0)
    inputs = {view: torch.randn(2, 1, rows, 65) for view, rows in VIEW_ROWS.items()}
    changed = {**inputs, "chroma": inputs["chroma"] + 5.0}
    single = models.create("shortchunk", TASKS, VIEW_ROWS).eval()
    assert torch.equal(single(inputs)["mood"], single(changed)["mood"])
    several = models.create("multiview", TASKS, VIEW_ROWS).eval()
    assert set(several.branches) == set(VIEW_ROWS)
    assert not torch.allclose(several(inputs)["mood"], several(changed)["mood"])


def test_patch_models_read_per_patch_views_only(monkeypatch):
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))

    @models.register_model("patches")
    class Patches(nn.Module):
        input_kind = "patch"

    read = models.run_features("patches", FeatureConfig(views=("musicnn",)))
    assert read.views == ("musicnn",)
    with pytest.raises(ParameterError, match="one column per frame"):
        models.run_features("patches", FeatureConfig(views=("musicnn", "mel")))
    with pytest.raises(ParameterError, match="one column per 3 s"):
        models.run_features("shortchunk", FeatureConfig(views=("musicnn",)))


def test_a_model_with_its_own_features_keeps_the_patches_asked_for():
    asked = FeatureConfig(patches_per_window=8)
    assert models.run_features("auto", asked).patches_per_window == 8
    assert models.run_features("auto", FeatureConfig()).patches_per_window == 12
    assert models.run_features("auto", asked).views == ("musicnn-msd", "musicnn-mtt", "descriptors")
    every = models.run_features("auto", FeatureConfig(patches_per_window="all"))
    assert every.patches_per_window == "all" and every.patches_read is None


@pytest.mark.parametrize("wanted", [0, -1, True, 2.5, "some"])
def test_patches_per_window_is_a_count_all_or_none(wanted):
    with pytest.raises(ParameterError, match="patches_per_window must be"):
        FeatureConfig(patches_per_window=wanted)

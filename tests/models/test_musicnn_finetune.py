"""musicnn-finetune reads the frozen part's output from a cached view: the same network as
when it ran the convolutions on every crop, with only the back end and heads to train."""

from __future__ import annotations

import numpy as np
import soxr
import torch
from signals import sine

from tunetag import models
from tunetag.config import MUSICNN_FEATURES, FeatureConfig
from tunetag.features.views import compute_view
from tunetag.models.musicnn_finetune import POOLED_VIEW
from tunetag.pretrained.networks import cut_patches
from tunetag.pretrained.taggers import load_tagger

BACK_END = {"pool_norm", "dense", "dense_norm"}


def finetune(tasks: dict[str, int] | None = None) -> torch.nn.Module:
    torch.manual_seed(0)
    return models.create("musicnn-finetune", tasks or {"mood": 2}, {POOLED_VIEW: 1506})


def test_a_cached_column_gives_the_logits_the_patch_mel_gave():
    """Back end and heads on the view's column k equal them on the frozen front and mid
    ends run on patch k of musicnn's mel, as the model did before the view was cached."""
    sr = 22050
    y = np.concatenate([sine(3.5, sr, 220.0), sine(3.5, sr, 1500.0, amplitude=0.2)])
    pooled = compute_view(POOLED_VIEW, y, FeatureConfig(views=(POOLED_VIEW,)))
    y16 = soxr.resample(y, sr, 16000, quality="HQ").astype(np.float32)
    patches = torch.from_numpy(cut_patches(compute_view("mel", y16, MUSICNN_FEATURES)))
    assert pooled.shape == (1506, len(patches)) == (1506, 2)
    model = finetune({"mood": 2, "genre": 3}).eval()
    with torch.no_grad():
        cached = model({POOLED_VIEW: torch.from_numpy(pooled.T.copy())})
        embedding = model.network.embed(load_tagger("MSD_musicnn").pooled(patches))
        live = {task: head(embedding) for task, head in model.heads.items()}
    for task in ("mood", "genre"):
        torch.testing.assert_close(cached[task], live[task], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(cached["genre"][0], cached["genre"][1], atol=1e-3)


def test_the_model_holds_only_what_it_trains():
    """The frozen convolutions live in the cached view, not in the model: nothing of them
    can reach the optimizer, and training leaves the shared tagger as it was."""
    model = finetune()
    parts = {name.split(".")[1] for name in model.state_dict() if name.startswith("network.")}
    assert parts == BACK_END
    assert all(p.requires_grad for p in model.parameters())
    tagger = load_tagger("MSD_musicnn")
    before = {name: t.clone() for name, t in tagger.state_dict().items()}
    dense = model.network.dense.weight.detach().clone()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    logits = model({POOLED_VIEW: torch.randn(8, 1506).abs()})
    torch.nn.functional.cross_entropy(logits["mood"], torch.arange(8) % 2).backward()
    optimizer.step()
    assert not torch.equal(model.network.dense.weight, dense)
    for name, tensor in tagger.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_it_starts_from_the_pretrained_back_end():
    model = finetune()
    tagger = load_tagger("MSD_musicnn").state_dict()
    for name, tensor in model.network.state_dict().items():
        assert torch.equal(tensor, tagger[name]), name

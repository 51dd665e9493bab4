"""A run's layer per song: a network's task heads' input over its crops, a summary model's
class log-probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tunetag import models
from tunetag.config import RunConfig, TrainConfig
from tunetag.errors import ParameterError
from tunetag.features.extract import extract_files
from tunetag.library.tasks import Task
from tunetag.models.inputs import crop_frames, load_views, song_inputs
from tunetag.runs.folder import RunFolder, model_view_rows
from tunetag.runs.layer import LOG_PROBABILITY_FLOOR, layer_function, summary_layer

CONFIG = RunConfig(train=TrainConfig(model="shortchunk", tasks=("mood",)))
TASKS = [Task("mood", ("mellow", "not mellow"), False), Task("tags", ("a", "b", "c"), True)]


def test_a_networks_layer_is_its_heads_input_averaged_over_the_crops(write_audio, tmp_path):
    torch.manual_seed(0)
    folder = RunFolder(tmp_path / "run")
    folder.save_config(CONFIG)
    folder.save_tasks(TASKS[:1])
    network = models.create("shortchunk", {"mood": 2}, view_rows=model_view_rows(CONFIG.features))
    folder.save_model(network.state_dict())
    song = write_audio("song.wav", duration_s=8.0)
    views = extract_files([song], CONFIG.features, tmp_path / "cache", progress=False).ok[song]

    features, layer_of = layer_function(folder)
    layer = layer_of(views)

    frames = crop_frames(CONFIG.train.crop_s, CONFIG.features.frames_per_second())
    crops = song_inputs(load_views(views), "crop", frames)["mel"]
    network.eval()
    with torch.inference_mode():
        hidden = network.top["dense"](network.trunk(crops)).mean(dim=0).double().numpy()
    assert len(crops) > 1 and layer.shape == (128,)
    assert np.allclose(layer, hidden, atol=1e-5)


def test_a_summary_models_layer_is_its_class_log_probabilities():
    model = models.create("logreg", {"mood": 2, "tags": 3}, view_rows={"mel": 2})
    with torch.no_grad():
        model.heads["mood"].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [-1.0, 0, 0, 0]]))
        model.heads["mood"].bias.zero_()
        model.heads["tags"].weight.zero_()
        model.heads["tags"].bias.copy_(torch.tensor([0.0, -1e4, 3.0]))
    summaries = np.array([[2.0, 0, 0, 0], [-2.0, 0, 0, 0]], dtype=np.float32)

    layer = summary_layer(model, TASKS, summaries)

    assert layer.shape == (2, 2 + 2 * 3)
    assert np.allclose(np.exp(layer[:, :2]).sum(axis=1), 1.0)  # a distribution over the moods
    assert layer[0, 0] > layer[0, 1] and layer[1, 0] < layer[1, 1]
    assert layer[0, 2:5] == pytest.approx(np.log([0.5, 1e-30, 1 / (1 + np.exp(-3))]).clip(-10))
    assert layer.min() == LOG_PROBABILITY_FLOOR  # the label ruled out, clipped


def test_a_layer_is_refused_for_a_network_without_task_heads(tmp_path, monkeypatch):
    folder = RunFolder(tmp_path / "run")
    folder.save_config(CONFIG)
    folder.save_tasks(TASKS[:1])
    monkeypatch.setattr(RunFolder, "load_model", lambda self, device=None: torch.nn.Linear(2, 2))
    with pytest.raises(ParameterError, match="model shortchunk has no task heads to read"):
        layer_function(folder)

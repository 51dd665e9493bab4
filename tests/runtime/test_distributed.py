"""Training under torchrun: two CPU processes (gloo) learn what one process learns, each on
its own shard of the crops, and rank 0 alone writes the run folder."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from commands import module_args
from torch import nn

from tunetag.config import TrainConfig
from tunetag.errors import ParameterError
from tunetag.library.tasks import Task
from tunetag.models import create
from tunetag.runs.probabilities import autocast_dtype, pick_device, song_probabilities
from tunetag.runtime import distributed
from tunetag.runtime.distributed import EpochShards, World, environment_world, shard
from tunetag.training.datasets import SongExample
from tunetag.training.loop import fit
from tunetag.training.validation import song_probabilities_across_ranks

TORCHRUN = Path(sys.executable).parent / "torchrun"
RUN_FILES = {
    "config.json",
    "labels.json",
    "model.pt",
    "history.csv",
    "metrics.json",
    "curves.png",
    "confusion-mood.png",
    "scored-songs.csv",
    "report.html",
}
EPOCHS = 6
MIN_ACCURACY = 0.75  # both runs on the separable demo set (5 held-out songs)
ACCURACY_TOLERANCE = 0.25  # one held-out song of five (0.2), not two


def test_the_environment_says_where_a_process_stands():
    assert environment_world({}) == World(rank=0, local_rank=0, size=1)
    world = environment_world({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert world == World(rank=3, local_rank=1, size=4)
    assert world.distributed and not world.writes_files
    assert World().writes_files and not World().distributed
    with pytest.raises(ParameterError, match="WORLD_SIZE must be an integer"):
        environment_world({"WORLD_SIZE": "two"})
    with pytest.raises(ParameterError, match="RANK=2"):
        environment_world({"RANK": "2", "WORLD_SIZE": "2"})


def test_shards_of_an_epoch_are_disjoint_equal_and_cover_all_but_the_remainder():
    indices = list(range(100, 123))  # 23 crops among 3 ranks: 2 left out per epoch
    for epoch in (1, 2):
        parts = [shard(indices, rank, 3, epoch, seed=0) for rank in range(3)]
        assert [len(part) for part in parts] == [7, 7, 7]
        together = [k for part in parts for k in part]
        assert len(set(together)) == 21 and set(together) <= set(indices)
        assert parts == [shard(indices, rank, 3, epoch, seed=0) for rank in range(3)]
    even = [shard(range(10), rank, 2, 1, seed=0) for rank in range(2)]
    assert sorted(even[0] + even[1]) == list(range(10))
    assert shard(indices, 0, 3, 1, seed=0) != shard(indices, 0, 3, 2, seed=0)
    assert shard(indices, 0, 3, 1, seed=0) != shard(indices, 0, 3, 1, seed=1)
    left_out = {
        frozenset(set(indices) - {k for r in range(3) for k in shard(indices, r, 3, epoch, 0)})
        for epoch in (1, 2, 3)
    }
    assert len(left_out) > 1
    with pytest.raises(ParameterError, match="rank"):
        shard(indices, 3, 3, 1, seed=0)


def test_the_sampler_deals_this_ranks_shard_of_each_epoch():
    sampler = EpochShards(10, World(rank=1, local_rank=1, size=2), seed=5)
    sampler.set_epoch(4)
    assert len(sampler) == 5 and list(sampler) == shard(range(10), 1, 2, 4, 5)
    assert distributed.rank_batch_size(16, World(1, 1, 2)) == 8
    assert distributed.rank_batch_size(16, World(0, 0, 3)) == 6
    with pytest.raises(ParameterError, match="cannot be shared among 4 processes"):
        EpochShards(3, World(rank=0, local_rank=0, size=4), seed=0)


def test_alone_every_collective_leaves_its_input_as_it_is():
    with distributed.process_group(World()) as world:
        assert world == World()
        assert not torch.distributed.is_initialized()
        assert distributed.sum_over_ranks([1.5, 2]) == [1.5, 2]
        assert distributed.broadcast_object({"a": 1}) == {"a": 1}
        assert distributed.gather_objects(7) == [7]
        distributed.require_same([1, 2], "songs")
        distributed.barrier()
        with distributed.local_rank_first():
            pass
        model = nn.Linear(3, 2)
        assert distributed.wrap(model, torch.device("cpu")) is model
    assert distributed.rank_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


class MeanRows(nn.Module):
    """Logits from the mean of each crop's rows: enough to compare two ways of scoring."""

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.head = nn.Linear(rows, 2)

    def forward(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"mood": self.head(inputs["mel"].mean(dim=(1, 3)))}


def test_alone_scoring_is_song_probabilities(tmp_path):
    mood = Task("mood", ("a", "b"))
    songs = []
    for k in range(3):
        np.save(tmp_path / f"{k}.npy", np.random.default_rng(k).normal(size=(8, 25)))
        songs.append({"mel": tmp_path / f"{k}.npy"})
    torch.manual_seed(0)
    model = MeanRows(8)
    options = {"input_kind": "crop", "crop_frames": 10, "device": torch.device("cpu")}
    np.testing.assert_array_equal(
        song_probabilities_across_ranks(model, songs, [mood], **options)["mood"],
        song_probabilities(model, songs, [mood], **options)["mood"],
    )


@pytest.mark.parametrize("bf16", [True, False], ids=["bf16-gpu", "no-bf16-gpu"])
def test_training_and_scoring_run_on_the_device_present(tmp_path, monkeypatch, bf16):
    """On the CPU: float32, as always. On a GPU: mixed precision, bfloat16 or (where the GPU
    has no bfloat16) float16 with a gradient scaler; weights stay float32 either way."""
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16)
    device = pick_device()
    expected = {"cpu": None, "cuda": torch.bfloat16 if bf16 else torch.float16}[device.type]
    assert autocast_dtype(device) == expected
    mood = Task("mood", ("a", "b"))
    rng = np.random.default_rng(0)
    songs = []
    for k in range(8):
        mel = rng.normal(-60.0, 5.0, size=(16, 60)).astype(np.float32)
        mel[: 4 if k % 2 else 12] += 40.0
        np.save(tmp_path / f"{k}.npy", mel)
        songs.append(
            SongExample({"mel": tmp_path / f"{k}.npy"}, {"mood": mood.target(["ab"[k % 2]])})
        )
    torch.manual_seed(0)
    model = create("shortchunk", {"mood": 2}, {"mel": 16})
    config = TrainConfig(crops_per_song=4, batch_size=8, learning_rate=1e-3, epochs=2)
    result = fit(
        model, [mood], songs[:6], songs[6:], input_kind="crop", crop_frames=20,
        config=config, device=device, progress=False,
    )  # fmt: skip
    assert all(np.isfinite(list(row.values())).all() for row in result.history)
    assert all(t.device.type == "cpu" for t in result.best_state.values())
    assert all(p.dtype == torch.float32 for p in model.parameters())
    probs = song_probabilities(
        model, [s.view_paths for s in songs], [mood], input_kind="crop", crop_frames=20
    )["mood"]
    assert probs.dtype == np.float64
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)


@pytest.fixture(scope="module")
def demo_songs(mood_library) -> Path:
    """20 demo songs of 8 s, mood from their folders: 15 to train (of which about 4 watch
    the early stopping), 5 held out and scored."""
    return mood_library("ddp", songs_per_class=10, duration_s=8.0, seed=0) / "songs.csv"


def train_command(songs: Path, run: Path, cache: Path) -> list[str]:
    return module_args(
        "train", songs, "--task", "mood", "-o", run, "--model", "shortchunk",
        "--epochs", EPOCHS, "--patience", EPOCHS, "--seed", 0, "--crop", 2, "--cache", cache,
    )  # fmt: skip


def start_quietly(command: list[str], cwd: Path) -> subprocess.Popen:
    """Start on the CPU (gloo) even on a machine with one GPU, which two ranks cannot share."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finished(*processes: subprocess.Popen) -> list[subprocess.CompletedProcess]:
    """Wait for each process, its output captured; a hang fails after 300 s, killing them."""
    done = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=300)
            done.append(
                subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
            )
    finally:
        for process in processes:
            process.kill()
    return done


@pytest.mark.slow  # torchrun with two processes, and one process, training a network
def test_two_processes_train_a_model_as_good_as_one_process(demo_songs, tmp_path):
    ddp_run, single_run = tmp_path / "ddp", tmp_path / "single"
    # at once, each with a cache of its own: each process has one thread (OMP_NUM_THREADS)
    command = train_command(demo_songs, ddp_run, tmp_path / "ddp-cache")
    ddp = start_quietly([str(TORCHRUN), "--standalone", "--nproc_per_node=2", *command], tmp_path)
    command = train_command(demo_songs, single_run, tmp_path / "single-cache")
    single = start_quietly([sys.executable, *command], tmp_path)
    ddp, single = finished(ddp, single)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert single.returncode == 0, single.stderr[-3000:]

    assert {path.name for path in ddp_run.iterdir()} == RUN_FILES
    with open(ddp_run / "history.csv", newline="", encoding="utf-8") as handle:
        history = list(csv.DictReader(handle))
    epoch_lines = [line for line in ddp.stdout.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == len(history) == EPOCHS  # one process shows progress
    ddp_metrics = json.loads((ddp_run / "metrics.json").read_text(encoding="utf-8"))
    single_metrics = json.loads((single_run / "metrics.json").read_text(encoding="utf-8"))
    assert ddp_metrics["songs"] == single_metrics["songs"]
    assert ddp_metrics["songs"]["scored"] == 5
    ddp_accuracy = ddp_metrics["tasks"]["mood"]["accuracy"]
    single_accuracy = single_metrics["tasks"]["mood"]["accuracy"]
    assert min(ddp_accuracy, single_accuracy) >= MIN_ACCURACY
    assert abs(ddp_accuracy - single_accuracy) <= ACCURACY_TOLERANCE
    state = torch.load(ddp_run / "model.pt", weights_only=True)
    assert not any(name.startswith("module.") for name in state)  # not DDP's wrapper's names

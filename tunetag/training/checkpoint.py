"""Pick up an interrupted `train` where it stopped (``tunetag train --resume``).

After every epoch the run folder gets ``checkpoint.pt``: each finished fold's scores and the
state of the fit in progress (weights, optimizer, every random generator), written
atomically, so a kill at any moment leaves the last whole epoch. Resuming restores exactly
that state, so the finished run is the one an uninterrupted run would have made. The file
is keyed by the settings, songs and splits; it is removed once the run folder is written.
Under torchrun every process keeps its own file (their random generators differ).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tunetag import __version__
from tunetag.errors import ParameterError
from tunetag.files.atomic import atomic_open
from tunetag.runtime import distributed


def checkpoint_key(config_json: str, songs: Sequence[Mapping[str, Any]], splits) -> str:
    """A hash of what makes a run: its settings, each song's cached views and targets, and
    the splits. A checkpoint made under another key is not resumed."""
    data = {
        "version": __version__,
        "config": config_json,
        "songs": songs,
        "splits": [[np.asarray(part).tolist() for part in split] for split in splits],
    }
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TrainingCheckpoint:
    """The checkpoint file of one run folder (one per process under torchrun).

    Holds ``stages``: name (``"fold 1"``, ..., ``"final"``) -> what that finished stage
    left, and ``epoch``: the state of the stage in progress after its last whole epoch.
    """

    def __init__(self, run_dir: str | Path, key: str, *, resume: bool) -> None:
        world = distributed.active_world()
        name = f"checkpoint-rank{world.rank}.pt" if world.distributed else "checkpoint.pt"
        self.path = Path(run_dir) / name
        self.key = key
        self.data: dict[str, Any] = {"key": key, "stages": {}, "epoch": None}
        if resume:
            self.data = self._load() or self.data

    @property
    def resumed(self) -> bool:
        """Whether anything was found to resume from."""
        return bool(self.data["stages"]) or self.data["epoch"] is not None

    def finished(self, stage: str) -> dict[str, Any] | None:
        """What a finished stage left, or None when it has still to run."""
        return self.data["stages"].get(stage)

    def finish(self, stage: str, result: dict[str, Any]) -> None:
        """Record a finished stage; the epoch state it was resuming from is dropped."""
        self.data["stages"][stage] = result
        self.data["epoch"] = None
        self._save()

    def epoch_state(self, stage: str) -> dict[str, Any] | None:
        """The state after the last whole epoch of ``stage``, if that stage was in progress."""
        found = self.data["epoch"]
        return found["state"] if found is not None and found["stage"] == stage else None

    def save_epoch(self, stage: str, state: dict[str, Any]) -> None:
        """Record the state after a whole epoch of ``stage``."""
        self.data["epoch"] = {"stage": stage, "state": state}
        self._save()

    def for_stage(self, stage: str) -> StageCheckpoint:
        """The view of this checkpoint that `tunetag.training.loop.fit` reads and writes."""
        return StageCheckpoint(self, stage)

    def remove(self) -> None:
        """Drop the file: the run folder is whole."""
        self.path.unlink(missing_ok=True)

    def _save(self) -> None:
        with atomic_open(self.path, "wb", durable=False) as handle:
            torch.save(self.data, handle)

    def _load(self) -> dict[str, Any] | None:
        if not self.path.is_file():
            return None
        try:
            data = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the same to a person
            raise ParameterError(
                f"{self.path}: cannot be resumed ({type(exc).__name__}); "
                "train without --resume to start again"
            ) from exc
        if not isinstance(data, dict) or data.get("key") != self.key:
            raise ParameterError(
                f"{self.path}: made with other settings, songs or labels (or another version "
                "of tunetag); train without --resume to start again"
            )
        return data


class StageCheckpoint:
    """One stage of a `TrainingCheckpoint`: where `fit` saves and finds its epoch state."""

    def __init__(self, checkpoint: TrainingCheckpoint, stage: str) -> None:
        self.checkpoint = checkpoint
        self.stage = stage

    def load(self) -> dict[str, Any] | None:
        return self.checkpoint.epoch_state(self.stage)

    def save(self, state: dict[str, Any]) -> None:
        self.checkpoint.save_epoch(self.stage, state)


def random_state(device: torch.device) -> dict[str, torch.Tensor]:
    """The global generators a training step draws from (dropout, the loader's seed)."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_random_state(state: Mapping[str, torch.Tensor], device: torch.device) -> None:
    """Put back what `random_state` saved (a GPU's state only on a GPU: a run stopped on
    one may go on on the CPU, no longer bit for bit)."""
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)

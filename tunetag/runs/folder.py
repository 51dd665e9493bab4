"""A run folder is the unit of a trained model: everything needed to predict, and its report."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from tunetag import __version__, models
from tunetag.config import FeatureConfig, RunConfig
from tunetag.errors import ParameterError
from tunetag.features.views import view_rows
from tunetag.files.atomic import atomic_open, atomic_write_text
from tunetag.library.playlists import safe_names
from tunetag.library.predictions import (
    PredictedSong,
    PredictionTable,
    read_predictions,
    write_predictions,
)
from tunetag.library.songtable import cell_labels
from tunetag.library.tasks import Task

VERSION_KEY = "tunetag_version"  # in config.json: which version trained the model
TRUTH_PREFIX = "label:"  # `label:<task>` columns of scored-songs.csv: the true label(s)


class RunFolder:
    """The files of one trained model, by name.

    ``config.json`` (features and training settings), ``labels.json`` (classes per task),
    ``model.pt`` (state_dict only), ``history.csv``, ``metrics.json``, ``curves.png``,
    ``confusion-<task>.png``, ``scored-songs.csv`` (each scored song's probabilities from the
    model that never saw it, beside its true labels) and ``report.html``, which shows them
    all. Every file is written atomically.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def labels_path(self) -> Path:
        return self.path / "labels.json"

    @property
    def model_path(self) -> Path:
        return self.path / "model.pt"

    @property
    def history_path(self) -> Path:
        return self.path / "history.csv"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.json"

    @property
    def curves_path(self) -> Path:
        return self.path / "curves.png"

    @property
    def learning_curve_path(self) -> Path:
        """The learning curve: score against labelled songs, per task."""
        return self.path / "learning-curve.png"

    @property
    def scored_songs_path(self) -> Path:
        return self.path / "scored-songs.csv"

    def confusion_path(self, task: str) -> Path:
        """The confusion-matrix picture of one task (its name made safe for a file name)."""
        return self.path / f"confusion-{safe_names([task])[0]}.png"

    def save_config(self, config: RunConfig) -> None:
        """``config.json``: the settings, and the version of tunetag that trained the model."""
        data = {**config.to_dict(), VERSION_KEY: __version__}
        atomic_write_text(self.config_path, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def load_config(self) -> RunConfig:
        """The settings the model was trained with.

        Raises
        ------
        ParameterError
            If this is no run folder, or its config cannot be read by this version.
        """
        data = self._json(self.config_path)
        made_by = data.pop(VERSION_KEY, None) if isinstance(data, dict) else None
        try:
            return RunConfig.from_dict(data)
        except (ParameterError, AttributeError, ValueError) as exc:
            raise self._other_version(self.config_path, made_by, exc) from exc

    def save_tasks(self, tasks: Sequence[Task]) -> None:
        """``labels.json``: per task its classes (in the order of the model's outputs) and
        whether it is multi-label."""
        data = {task.name: task.to_dict() for task in tasks}
        atomic_write_text(self.labels_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def load_tasks(self) -> list[Task]:
        """The tasks the model was trained on, in the order of its heads."""
        data = self._json(self.labels_path)
        try:
            return [Task.from_dict(name, found) for name, found in data.items()]
        except (AttributeError, KeyError, TypeError) as exc:
            raise self._other_version(self.labels_path, None, exc) from exc

    def save_model(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        with atomic_open(self.model_path, "wb") as handle:
            torch.save(dict(state_dict), handle)

    def load_model(self, device: torch.device | None = None) -> torch.nn.Module:
        """Rebuild the network from config and labels, load its weights, in eval mode."""
        config = self.load_config()
        tasks = self.load_tasks()
        self._require(self.model_path)
        model = models.create(
            config.train.model,
            {task.name: task.n_outputs for task in tasks},
            view_rows=model_view_rows(config.features),
        )
        try:  # weights only: a model file is data, never code to run
            state = torch.load(self.model_path, map_location=device or "cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a foreign file
            made_by = self._json(self.config_path).get(VERSION_KEY)
            raise self._other_version(self.model_path, made_by, exc) from exc
        return model.to(device or "cpu").eval()

    def load_for_scoring(
        self, device: torch.device | None = None
    ) -> tuple[torch.nn.Module, FeatureConfig]:
        """The model and the features a song needs to be scored by it: the run's own,
        cut to the views the model reads where it reads fewer (``auto`` that chose the
        probe of one view), so scoring never computes views whose weights are all zero.
        The logits are the full model's."""
        model, features = self.load_model(device), self.load_config().features
        views_read = getattr(model, "views_read", None)
        views = views_read() if views_read else features.views
        if not views or tuple(views) == tuple(features.views):
            return model, features
        return model.reading_only(views).to(device or "cpu"), replace(features, views=views)

    def run_id(self) -> str:
        """``<folder name>@<12 hex of model.pt's sha256>``: which weights made a prediction.

        Written beside every prediction and tag, so a tag can be traced to the model that
        chose it even after the folder is renamed or retrained.
        """
        self._require(self.model_path)
        digest = hashlib.sha256(self.model_path.read_bytes()).hexdigest()
        return f"{self.path.name}@{digest[:12]}"

    def save_history(self, history: Sequence[Mapping[str, float]]) -> None:
        """One row per epoch, as `training.fit` records it."""
        columns = list(history[0]) if history else ["epoch"]
        with atomic_open(self.history_path, "w") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(history)

    def save_metrics(self, metrics: Mapping[str, Any], path: Path | None = None) -> None:
        text = json.dumps(metrics, indent=2, ensure_ascii=False) + "\n"
        atomic_write_text(path or self.metrics_path, text)

    def load_metrics(self) -> dict[str, Any]:
        self._require(self.metrics_path)
        return json.loads(self.metrics_path.read_text(encoding="utf-8"))

    def save_scored_songs(
        self,
        tasks: Sequence[Task],
        songs: Sequence[PredictedSong],
        truth: Sequence[Mapping[str, str]],
    ) -> Path:
        """``scored-songs.csv``: a predictions file of the songs scored in training, plus a
        ``label:<task>`` column per task with the song's true label(s).

        Parameters
        ----------
        tasks : sequence of Task
            The run's tasks, in the order of its heads.
        songs : sequence of PredictedSong
            Each scored song, with the probabilities of the model that did not see it.
        truth : sequence of mapping of str to str
            Per song, task -> its labels joined by ``;`` ("" when unlabelled for the task).
        """
        truth_columns = {
            TRUTH_PREFIX + task.name: [labels.get(task.name, "") for labels in truth]
            for task in tasks
        }
        path = self.scored_songs_path
        write_predictions(
            path, {task.name: list(task.classes) for task in tasks}, songs, truth_columns
        )
        return path

    def load_scored_songs(self) -> tuple[PredictionTable, list[dict[str, tuple[str, ...]]]]:
        """The songs scored in training and, per song, task -> its true labels (empty when
        unlabelled for the task).

        Raises
        ------
        ParameterError
            When the run has no ``scored-songs.csv`` (it was trained before runs kept one).
        """
        path = self.scored_songs_path
        if not path.is_file():
            raise ParameterError(
                f"{self.path}: no {path.name} (trained before runs kept per-song scores)"
            )
        table = read_predictions(path)
        with open(path, encoding="utf-8-sig", newline="") as handle:
            truth = [
                {task: cell_labels(row.get(TRUTH_PREFIX + task) or "") for task in table.tasks}
                for row in csv.DictReader(handle)
            ]
        return table, truth

    def _require(self, path: Path) -> None:
        if not self.path.exists():
            raise ParameterError(f"{self.path}: no such run folder")
        if not self.path.is_dir():
            raise ParameterError(f"{self.path}: a file, not a run folder")
        if not path.is_file():
            raise ParameterError(f"{self.path}: not a run folder ({path.name} is missing)")

    def _json(self, path: Path) -> Any:
        """A JSON file of the run; ParameterError when it is missing or not JSON."""
        self._require(path)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ParameterError(f"{path}: not JSON ({exc}); the run folder is damaged") from exc

    @staticmethod
    def _other_version(path: Path, made_by: str | None, exc: Exception) -> ParameterError:
        """The one-line error for a file this version cannot use, and who made it."""
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        made = f"made by tunetag {made_by}" if made_by else "made by another version of tunetag"
        return ParameterError(
            f"{path}: cannot be used by tunetag {__version__} ({made}, or damaged; {reason}); "
            "train the model again with this version"
        )


def model_view_rows(features: FeatureConfig) -> dict[str, int]:
    """View name -> rows, in the run's view order: what `models.create` needs."""
    return {view: view_rows(view, features) for view in features.views}

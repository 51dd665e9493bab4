"""A run folder + audio files -> per-song class probabilities, with the run's own features."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tunetag import models
from tunetag.config import default_cache_dir
from tunetag.errors import AudioDecodeError, ParameterError
from tunetag.features.extract import extract_files
from tunetag.library.scan import find_audio
from tunetag.library.songtable import LABEL_SEPARATOR, SongTable
from tunetag.library.tags import read_tags
from tunetag.predictions import PredictedSong, write_predictions
from tunetag.runfolder import RunFolder
from tunetag.training.datasets import crop_frames
from tunetag.training.loop import pick_device, predict_songs
from tunetag.training.tasks import Task

MULTILABEL_THRESHOLD = 0.5  # a multi-label song gets every label at least this probable


@dataclass
class SongPredictions:
    """Probabilities for the songs that decoded; the reasons for those that did not."""

    paths: list[Path]  # songs scored, in input order
    tasks: list[Task]  # the run's tasks; their classes are the columns of `probabilities`
    probabilities: dict[str, np.ndarray]  # task name -> (n_songs, n_outputs)
    errors: dict[Path, str]  # songs skipped -> reason

    def predicted(self, task: Task) -> list[str]:
        """Each song's class (single-label) or its labels joined by ``;`` (multi-label)."""
        probs = self.probabilities[task.name]
        if task.multilabel:
            return [
                LABEL_SEPARATOR.join(
                    c for c, p in zip(task.classes, row, strict=True) if p >= MULTILABEL_THRESHOLD
                )
                for row in probs
            ]
        return [task.classes[k] for k in probs.argmax(axis=1)]


def score_songs(
    run_dir: str | Path,
    paths: list[Path],
    *,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> SongPredictions:
    """Score audio files with a trained run, averaging over every crop of each song."""
    run = RunFolder(run_dir)
    config = run.load_config()
    tasks = run.load_tasks()
    report = extract_files(
        paths,
        config.features,
        Path(cache_dir) if cache_dir else default_cache_dir(),
        executor=executor,
        progress=progress,
    )
    model = run.load_model(pick_device())
    scored = [path for path in paths if path in report.ok]
    if not scored:
        raise AudioDecodeError(f"none of the {len(paths)} songs could be read; nothing to score")
    probabilities = predict_songs(
        model,
        [report.ok[path] for path in scored],
        tasks,
        input_kind=models.model_class(config.train.model).input_kind,
        crop_frames=crop_frames(config.train.crop_s, config.features.frames_per_second()),
        device=next(model.parameters()).device,
        progress=progress,
    )
    return SongPredictions(scored, tasks, probabilities, dict(report.errors))


def collect_audio(inputs: list[str | Path]) -> list[Path]:
    """Audio files named by ``inputs``: files, folders (searched recursively) or song CSVs."""
    found: list[Path] = []
    for item in map(Path, inputs):
        if item.suffix.lower() == ".csv":
            table = SongTable.read(item)
            found.extend(table.audio_path(row) for row in table.rows)
        elif item.is_dir():
            found.extend(find_audio(item))
        elif item.exists():
            found.append(item)
        else:
            raise ParameterError(f"{item}: no such file or folder")
    unique = list(dict.fromkeys(path.resolve() for path in found))
    if not unique:
        raise ParameterError(f"no audio files found in {', '.join(map(str, inputs))}")
    return unique


def predict(
    run_dir: str | Path,
    inputs: list[str | Path],
    output_csv: str | Path = "predictions.csv",
    *,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> SongPredictions:
    """Classify songs and write ``output_csv`` (see `tunetag.predictions` for its columns).

    Decoding runs in parallel and is cached per song, so a run that was interrupted starts
    again where it stopped and writes the same file.
    """
    run = RunFolder(run_dir)
    result = score_songs(
        run_dir, collect_audio(inputs), cache_dir=cache_dir, executor=executor, progress=progress
    )
    run_id = run.run_id()
    predicted = {task.name: result.predicted(task) for task in result.tasks}
    songs = []
    for k, path in enumerate(result.paths):
        tags = read_tags(path)
        song = PredictedSong(
            path,
            artist=tags["artist"],
            title=tags["title"],
            duration_s=float(tags["duration_s"]) if tags["duration_s"] else None,
            run=run_id,
        )
        for task in result.tasks:
            probs = result.probabilities[task.name][k]
            song.predicted[task.name] = predicted[task.name][k]
            song.probability[task.name] = predicted_probability(task, probs)
            song.probabilities[task.name] = dict(zip(task.classes, map(float, probs), strict=True))
        songs.append(song)
    write_predictions(output_csv, {task.name: list(task.classes) for task in result.tasks}, songs)
    return result


def predicted_probability(task: Task, probs: np.ndarray) -> float | None:
    """How sure the prediction is: the top class's probability, or for a multi-label task
    the least probable label given (None when none reached the threshold)."""
    if not task.multilabel:
        return float(probs.max())
    given = probs[probs >= MULTILABEL_THRESHOLD]
    return float(given.min()) if given.size else None

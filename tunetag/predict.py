"""A run folder + audio files -> per-song class probabilities, with the run's own features."""

from __future__ import annotations

import csv
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tunetag import models
from tunetag.atomic import atomic_open
from tunetag.config import default_cache_dir
from tunetag.errors import AudioDecodeError, ParameterError
from tunetag.features.extract import extract_files
from tunetag.library.scan import find_audio
from tunetag.library.songtable import SongTable
from tunetag.runfolder import RunFolder
from tunetag.training.datasets import crop_frames
from tunetag.training.loop import pick_device, predict_songs


@dataclass
class SongPredictions:
    """Probabilities for the songs that decoded; the reasons for those that did not."""

    paths: list[Path]  # songs scored, in input order
    classes: dict[str, list[str]]  # task -> class names, columns of `probabilities`
    probabilities: dict[str, np.ndarray]  # task -> (n_songs, n_classes)
    errors: dict[Path, str]  # songs skipped -> reason

    def predicted(self, task: str) -> list[str]:
        """The most probable class of each song for ``task``."""
        return [self.classes[task][k] for k in self.probabilities[task].argmax(axis=1)]


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
    classes = run.load_labels()
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
        [report.ok[path]["mel"] for path in scored],
        list(classes),
        input_kind=models.model_class(config.train.model).input_kind,
        crop_frames=crop_frames(config.train.crop_s, config.features.frames_per_second()),
        device=next(model.parameters()).device,
        progress=progress,
    )
    return SongPredictions(scored, classes, probabilities, dict(report.errors))


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
    """Classify songs and write ``output_csv``: path, class and class probabilities per task.

    Columns: ``path`` (relative to the CSV's folder), then for each task ``<task>`` (the
    predicted class) and ``<task>:<class>`` (its probability, 0-1) for every class.
    """
    output_csv = Path(output_csv)
    result = score_songs(
        run_dir, collect_audio(inputs), cache_dir=cache_dir, executor=executor, progress=progress
    )
    table = SongTable.new(output_csv)
    header = ["path"]
    for task, names in result.classes.items():
        header += [task] + [f"{task}:{name}" for name in names]
    with atomic_open(output_csv, "w") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for k, path in enumerate(result.paths):
            row = [table.relative_path(path)]
            for task in result.classes:
                probs = result.probabilities[task][k]
                row += [result.classes[task][int(probs.argmax())]] + [f"{p:.4f}" for p in probs]
            writer.writerow(row)
    return result

"""A run folder + audio files -> per-song class probabilities, with the run's own features."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from tunetag import models
from tunetag.config import default_cache_dir
from tunetag.errors import AudioDecodeError, ParameterError
from tunetag.features.extract import stream_extract
from tunetag.library.metadata import read_tags
from tunetag.library.predictions import PredictedSong, prediction_writer
from tunetag.library.scan import find_audio
from tunetag.library.songtable import LABEL_SEPARATOR, SongTable
from tunetag.library.tasks import Task
from tunetag.models.folding import fold_batch_norms
from tunetag.runs.folder import RunFolder
from tunetag.runtime.malloc import reuse_freed_blocks
from tunetag.training.datasets import crop_frames
from tunetag.training.loop import pick_device, song_scorer

MULTILABEL_THRESHOLD = 0.5  # a multi-label song gets every label at least this probable
CPU_SCORING_BATCH = 8  # crops per forward on a CPU: the largest tensors stay below 32 MiB,
# which `tunetag.runtime.malloc` keeps for reuse (the short-chunk CNN's first block: 17 MB)


@dataclass
class SongPredictions:
    """Probabilities for the songs that decoded; the reasons for those that did not."""

    paths: list[Path]  # songs scored, in input order
    tasks: list[Task]  # the run's tasks; their classes are the columns of `probabilities`
    probabilities: dict[str, np.ndarray]  # task name -> (n_songs, n_outputs)
    errors: dict[Path, str]  # songs skipped -> reason

    def predicted(self, task: Task) -> list[str]:
        """Each song's class (single-label) or its labels joined by ``;`` (multi-label)."""
        return [predicted_label(task, row) for row in self.probabilities[task.name]]


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
    found: dict[Path, dict[str, np.ndarray]] = {}
    errors: dict[Path, str] = {}
    with tqdm(total=len(paths), desc="score", unit="song", disable=not progress) as bar:
        for path, probabilities, reason in stream_scores(run, paths, cache_dir, executor):
            if probabilities is None:
                errors[path] = reason
            else:
                found[path] = probabilities
            bar.update()
    scored = [path for path in dict.fromkeys(paths) if path in found]
    if not scored:
        raise AudioDecodeError(f"none of the {len(paths)} songs could be read; nothing to score")
    tasks = run.load_tasks()
    probabilities = {
        task.name: np.stack([found[path][task.name] for path in scored]) for task in tasks
    }
    errors = {path: errors[path] for path in dict.fromkeys(paths) if path in errors}
    return SongPredictions(scored, tasks, probabilities, errors)


def stream_scores(
    run: RunFolder,
    paths: list[Path],
    cache_dir: str | Path | None,
    executor: Executor | None,
) -> Iterator[tuple[Path, dict[str, np.ndarray] | None, str | None]]:
    """Each song's probabilities (task -> (n_outputs,)) or the reason it has none, as soon
    as its features are cached: scoring here overlaps the workers' decoding, and nothing
    grows with the number of songs. Order: as `stream_extract` gives them.

    Songs are scored on a thread of their own, whose memory glibc keeps apart from the
    main thread's (see `tunetag.runtime.malloc`). While the local process pool computes a song's
    views it keeps every core busy, so that song is scored on one torch thread: a second
    would only compete with the decoders (on 2 cores: 15.9 s against 17.5 s for 41 songs).
    """
    reuse_freed_blocks()
    config = run.load_config()
    model = fold_batch_norms(run.load_model(pick_device()))
    device = next(model.parameters()).device
    scoring = {
        "input_kind": models.model_class(config.train.model).input_kind,
        "crop_frames": crop_frames(config.train.crop_s, config.features.frames_per_second()),
        "device": device,
    }
    if device.type == "cpu":
        scoring["batch_size"] = CPU_SCORING_BATCH
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    all_threads = torch.get_num_threads()

    def score(views: dict[str, Path], threads: int) -> dict[str, np.ndarray]:
        torch.set_num_threads(threads)
        return score_views(views)

    try:
        with (
            song_scorer(model, run.load_tasks(), **scoring) as score_views,
            ThreadPoolExecutor(1, thread_name_prefix="tunetag-score") as scorer,
        ):
            for outcome in stream_extract(paths, config.features, cache, executor):
                if outcome.views is None:
                    yield outcome.path, None, outcome.reason
                    continue
                threads = 1 if outcome.computed and executor is None else all_threads
                yield outcome.path, scorer.submit(score, outcome.views, threads).result(), None
    finally:
        torch.set_num_threads(all_threads)


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
) -> PredictSummary:
    """Classify songs and write ``output_csv`` (see `tunetag.library.predictions` for its columns).

    Songs stream through: each is scored as soon as its features are cached and its row
    written, in input order, so memory does not grow with the library. Features are cached
    per song, so a run that was stopped starts again where it stopped and writes the same
    file; the file is replaced only when the run completes.
    """
    run = RunFolder(run_dir)
    paths = collect_audio(inputs)
    tasks = run.load_tasks()
    run_id = run.run_id()
    summary = PredictSummary(Path(output_csv), 0, {})
    rows = _InputOrder(paths)
    columns = {task.name: list(task.classes) for task in tasks}
    with (
        prediction_writer(output_csv, columns) as write,
        tqdm(total=len(paths), desc="predict", unit="song", disable=not progress) as bar,
    ):
        for path, probabilities, reason in stream_scores(run, paths, cache_dir, executor):
            if probabilities is None:
                summary.errors[path] = reason
                rows.put(path, None)
            else:
                rows.put(path, _predicted_song(path, run_id, tasks, probabilities))
                summary.scored += 1
            for song in rows.ready():
                write(song)
            bar.update()
        if not summary.scored:
            raise AudioDecodeError(
                f"none of the {len(paths)} songs could be read; nothing to score"
            )
    return summary


@dataclass
class PredictSummary:
    """What `predict` wrote: the file, how many songs it classified, the songs it skipped."""

    csv_path: Path
    scored: int
    errors: dict[Path, str]  # song skipped -> reason


class _InputOrder:
    """Rows that arrive in any order, released in the order of ``paths`` (a skipped song
    is put as None): only the rows waiting on a slower song are held."""

    def __init__(self, paths: list[Path]) -> None:
        self._position = {path: k for k, path in enumerate(paths)}
        self._waiting: dict[int, PredictedSong | None] = {}
        self._next = 0

    def put(self, path: Path, song: PredictedSong | None) -> None:
        self._waiting[self._position[path]] = song

    def ready(self) -> Iterator[PredictedSong]:
        while self._next in self._waiting:
            song = self._waiting.pop(self._next)
            self._next += 1
            if song is not None:
                yield song


def _predicted_song(
    path: Path, run_id: str, tasks: list[Task], probabilities: dict[str, np.ndarray]
) -> PredictedSong:
    tags = read_tags(path)
    song = PredictedSong(
        path,
        artist=tags["artist"],
        title=tags["title"],
        duration_s=float(tags["duration_s"]) if tags["duration_s"] else None,
        run=run_id,
    )
    for task in tasks:
        probs = probabilities[task.name]
        song.predicted[task.name] = predicted_label(task, probs)
        song.probability[task.name] = predicted_probability(task, probs)
        song.probabilities[task.name] = dict(zip(task.classes, map(float, probs), strict=True))
    return song


def predicted_label(task: Task, probs: np.ndarray) -> str:
    """The class (single-label) or the labels joined by ``;`` (multi-label) of one song."""
    if task.multilabel:
        return LABEL_SEPARATOR.join(
            c for c, p in zip(task.classes, probs, strict=True) if p >= MULTILABEL_THRESHOLD
        )
    return task.classes[int(probs.argmax())]


def predicted_probability(task: Task, probs: np.ndarray) -> float | None:
    """How sure the prediction is: the top class's probability, or for a multi-label task
    the least probable label given (None when none reached the threshold)."""
    if not task.multilabel:
        return float(probs.max())
    given = probs[probs >= MULTILABEL_THRESHOLD]
    return float(given.min()) if given.size else None

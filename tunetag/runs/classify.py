"""A trained run applied to audio files: each song's class probabilities, streamed as its
features are cached, and the predicted row of a song, built here for predict and training
alike (see `tunetag.library.predictions` for its columns)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from tunetag import models
from tunetag.config import default_cache_dir
from tunetag.errors import AudioDecodeError
from tunetag.features.extract import stream_extract
from tunetag.library.metadata import read_metadata
from tunetag.library.predictions import PredictedSong
from tunetag.library.songtable import LABEL_SEPARATOR
from tunetag.library.tasks import Task
from tunetag.models.folding import fold_batch_norms
from tunetag.models.inputs import crop_frames
from tunetag.runs.explain import Explanation, explanation_function
from tunetag.runs.folder import RunFolder
from tunetag.runs.probabilities import pick_device, probability_function
from tunetag.runtime.malloc import reuse_freed_blocks
from tunetag.runtime.progress import progress_bar

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


def classify_songs(
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
    with progress_bar(total=len(paths), desc="score", unit="song", disable=not progress) as bar:
        for song in stream_probabilities(run, paths, cache_dir, executor):
            if song.probabilities is None:
                errors[song.path] = song.reason
            else:
                found[song.path] = song.probabilities
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


class ScoredSong(NamedTuple):
    """One song through `stream_probabilities`: its probabilities (task -> (n_outputs,)) or
    the reason it has none, and with ``explain`` which of its seconds made the call and the
    file's tags that placed them (`read_metadata`: read once, for the caller too)."""

    path: Path
    probabilities: dict[str, np.ndarray] | None
    reason: str | None
    explanation: Explanation | None = None
    tags: dict | None = None


def stream_probabilities(
    run: RunFolder,
    paths: list[Path],
    cache_dir: str | Path | None,
    executor: Executor | None,
    *,
    explain: bool = False,
) -> Iterator[ScoredSong]:
    """Each song scored as soon as its features are cached: scoring here overlaps the
    workers' decoding, and nothing grows with the number of songs. Order: as
    `stream_extract` gives them. With ``explain``, each song's `Explanation` as well
    (its length read from the file's tags, to place the window's seconds). Only the views
    the model reads are computed (`RunFolder.load_for_scoring`).

    Songs are scored on a thread of their own, whose memory glibc keeps apart from the
    main thread's (see `tunetag.runtime.malloc`). While the local process pool computes a song's
    views it keeps every core busy, so that song is scored on one torch thread: a second
    would only compete with the decoders (on 2 cores: 15.9 s against 17.5 s for 41 songs).
    """
    reuse_freed_blocks()
    config = run.load_config()
    model, features = run.load_for_scoring(pick_device())
    model = fold_batch_norms(model)
    device = next(model.parameters()).device
    scoring = {
        "input_kind": models.model_class(config.train.model).input_kind,
        "crop_frames": crop_frames(config.train.crop_s, features.frames_per_second()),
        "device": device,
    }
    tasks = run.load_tasks()
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    all_threads = torch.get_num_threads()
    explaining = (
        explanation_function(model, tasks, features, **scoring)
        if explain
        else contextlib.nullcontext()
    )
    if device.type == "cpu":
        scoring["batch_size"] = CPU_SCORING_BATCH

    def score(path: Path, views: dict[str, Path], threads: int) -> ScoredSong:
        torch.set_num_threads(threads)
        probabilities = score_views(views)
        if not explain:
            return ScoredSong(path, probabilities, None)
        tags = read_metadata(path)
        explanation = explain_views(views, _duration(tags))
        return ScoredSong(path, probabilities, None, explanation, tags)

    try:
        with (
            probability_function(model, tasks, **scoring) as score_views,
            explaining as explain_views,
            ThreadPoolExecutor(1, thread_name_prefix="tunetag-score") as scorer,
        ):
            for outcome in stream_extract(paths, features, cache, executor):
                if outcome.views is None:
                    yield ScoredSong(outcome.path, None, outcome.reason)
                    continue
                threads = 1 if outcome.computed and executor is None else all_threads
                yield scorer.submit(score, outcome.path, outcome.views, threads).result()
    finally:
        torch.set_num_threads(all_threads)


def explain_songs(
    run: RunFolder, paths: list[Path], cache_dir: str | Path | None
) -> dict[Path, Explanation]:
    """Which seconds made the run's call on each song (songs that cannot be read are left
    out): what a report draws under the songs it lists."""
    found = {}
    for song in stream_probabilities(run, paths, cache_dir, None, explain=True):
        if song.explanation is not None:
            found[song.path] = song.explanation
    return found


def _duration(tags: dict) -> float | None:
    """The song's length from its tags (`read_metadata`), None when they do not say."""
    length = tags["duration_s"]
    return float(length) if length else None


def predicted_song(
    path: Path,
    tasks: list[Task],
    probabilities: Mapping[str, np.ndarray],
    *,
    artist: str,
    title: str,
    duration_s: float | None,
    run: str,
) -> PredictedSong:
    """A song's predicted row: per task its class or labels, how sure, every probability.
    A song whose tags hold no title is named by its file name, as its playlists name it."""
    title = title or path.stem
    song = PredictedSong(path, artist=artist, title=title, duration_s=duration_s, run=run)
    for task in tasks:
        probs = probabilities[task.name]
        song.predicted[task.name] = predicted_label(task, probs)
        song.probability[task.name] = predicted_probability(task, probs)
        song.probabilities[task.name] = dict(zip(task.classes, map(float, probs), strict=True))
    return song


def telling_seconds(
    explanation: Explanation, tasks: Sequence[Task], probabilities: Mapping[str, np.ndarray]
) -> list[str]:
    """Per task, ``start-end`` (seconds in the file) of the stretch that argued most for the
    predicted class (multi-label: the most probable label given; "" when none is)."""
    cells = []
    for task in tasks:
        probs = probabilities[task.name]
        best = int(np.argmax(probs))
        if task.multilabel and probs[best] < MULTILABEL_THRESHOLD:
            cells.append("")
            continue
        k = explanation.most_telling(task.name, best)
        start = explanation.starts_s[k]
        cells.append(f"{start:.1f}-{start + explanation.lengths_s[k]:.1f}")
    return cells


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

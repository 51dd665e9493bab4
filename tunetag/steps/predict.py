"""A run folder + audio files -> a CSV of each song's predicted classes, in input order."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from tunetag.errors import AudioDecodeError
from tunetag.library.metadata import read_metadata
from tunetag.library.predictions import PredictedSong, prediction_writer
from tunetag.library.scan import collect_audio
from tunetag.library.why import WHY_SUFFIX, WhyStrips
from tunetag.runs.classify import (
    ScoredSong,
    predicted_song,
    stream_probabilities,
    telling_seconds,
)
from tunetag.runs.folder import RunFolder
from tunetag.runtime.progress import progress_bar


def predict(
    run_dir: str | Path,
    inputs: list[str | Path],
    output_csv: str | Path = "predictions.csv",
    *,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    explain: bool = False,
    progress: bool = True,
) -> PredictSummary:
    """Classify songs and write ``output_csv`` (see `tunetag.library.predictions` for its columns).

    Songs stream through: each is scored as soon as its features are cached and its row
    written, in input order, so memory does not grow with the library. Features are cached
    per song, so a run that was stopped starts again where it stopped and writes the same
    file; the file is replaced only when the run completes.

    With ``explain``, a ``<task>_why`` column per task holds the seconds of the song that
    argued most for its predicted class (``start-end``, in the file), and `why_path` of the
    CSV every song's pushes per 3 s, from which the predictions report draws its strips.
    """
    run = RunFolder(run_dir)
    paths = collect_audio(inputs)
    tasks = run.load_tasks()
    run_id = run.run_id()
    summary = PredictSummary(Path(output_csv), 0, {})
    rows = _InputOrder(paths)
    columns = {task.name: list(task.classes) for task in tasks}
    why_columns = [task.name + WHY_SUFFIX for task in tasks] if explain else []
    strips = WhyStrips(Path(output_csv))
    songs = stream_probabilities(run, paths, cache_dir, executor, explain=explain)
    with (
        prediction_writer(output_csv, columns, why_columns) as write,
        progress_bar(total=len(paths), desc="predict", unit="song", disable=not progress) as bar,
    ):
        for scored in songs:
            if scored.probabilities is None:
                summary.errors[scored.path] = scored.reason
                rows.put(scored.path, None)
            else:
                song = _predicted_song(scored, run_id, tasks)
                why = []
                if scored.explanation is not None:
                    why = telling_seconds(scored.explanation, tasks, scored.probabilities)
                    strips.add(scored.path, scored.explanation.as_json())
                rows.put(scored.path, (song, why))
                summary.scored += 1
            for song, why in rows.ready():
                write(song, why)
            bar.update()
        if not summary.scored:
            raise AudioDecodeError(
                f"none of the {len(paths)} songs could be read; nothing to score"
            )
        if explain:
            strips.write()
    return summary


@dataclass
class PredictSummary:
    """What `predict` wrote: the file, how many songs it classified, the songs it skipped."""

    csv_path: Path
    scored: int
    errors: dict[Path, str]  # song skipped -> reason

    def __repr__(self) -> str:
        """A count of the skipped songs, not every reason (those are in ``errors``)."""
        return (
            f"PredictSummary(csv_path={str(self.csv_path)!r}, scored={self.scored}, "
            f"skipped={len(self.errors)})"
        )


class _InputOrder:
    """Rows that arrive in any order, released in the order of ``paths`` (a skipped song
    is put as None): only the rows waiting on a slower song are held."""

    def __init__(self, paths: list[Path]) -> None:
        self._position = {path: k for k, path in enumerate(paths)}
        self._waiting: dict[int, tuple[PredictedSong, list[str]] | None] = {}
        self._next = 0

    def put(self, path: Path, song: tuple[PredictedSong, list[str]] | None) -> None:
        self._waiting[self._position[path]] = song

    def ready(self) -> Iterator[tuple[PredictedSong, list[str]]]:
        while self._next in self._waiting:
            song = self._waiting.pop(self._next)
            self._next += 1
            if song is not None:
                yield song


def _predicted_song(scored: ScoredSong, run_id: str, tasks) -> PredictedSong:
    """The row of a song scored by predict, with the artist, title and length in its file
    (its tags as scoring read them, where it did)."""
    tags = scored.tags if scored.tags is not None else read_metadata(scored.path)
    duration = float(tags["duration_s"]) if tags["duration_s"] else None
    return predicted_song(
        scored.path,
        tasks,
        scored.probabilities,
        artist=tags["artist"],
        title=tags["title"],
        duration_s=duration,
        run=run_id,
    )

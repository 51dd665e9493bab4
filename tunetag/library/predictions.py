"""The predictions file: what `predict` writes and `tag`, `playlists` and `report` read.

One row per song: where it is, what its tags say it is, which run scored it, and per task
the predicted class, its probability and the probability of every class.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tunetag.errors import LabelFileError, ParameterError
from tunetag.files.atomic import atomic_open
from tunetag.library.songtable import SongTable

SONG_COLUMNS = ("path", "artist", "title", "duration_s", "run")
PROBABILITY_SUFFIX = "_probability"  # `<task>_probability`: how sure the predicted class is


@dataclass
class PredictedSong:
    """One row of a predictions file.

    Attributes
    ----------
    path : Path
        The audio file, absolute.
    artist, title : str
        From its tags ("" when unknown).
    duration_s : float or None
        Length in seconds, None when unknown.
    run : str
        The run id (see `RunFolder.run_id`).
    predicted : dict of str to str
        Task -> the predicted class; for a multi-label task its labels joined by ``;``.
    probability : dict of str to float or None
        Task -> probability of the predicted class (multi-label: the least probable label
        given; None when no label reached the threshold).
    probabilities : dict of str to dict of str to float
        Task -> class -> probability, 0-1.
    """

    path: Path
    artist: str = ""
    title: str = ""
    duration_s: float | None = None
    run: str = ""
    predicted: dict[str, str] = field(default_factory=dict)
    probability: dict[str, float | None] = field(default_factory=dict)
    probabilities: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class PredictionTable:
    """A predictions file read back: its tasks (with their classes, in order) and songs."""

    csv_path: Path
    tasks: dict[str, list[str]]  # task -> classes, in the file's column order
    songs: list[PredictedSong]


def write_predictions(
    csv_path: str | os.PathLike,
    tasks: dict[str, list[str]],
    songs: Sequence[PredictedSong],
    extra: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """Write a predictions file atomically; paths become relative to its folder.

    Parameters
    ----------
    csv_path : path-like
        The file to write.
    tasks : dict of str to list of str
        Task -> its classes, in the order of the probability columns.
    songs : sequence of PredictedSong
    extra : mapping of str to sequence of str, optional
        More columns after the tasks' (a run's true labels, say): name -> one cell per song.
    """
    extra = extra or {}
    uneven = [name for name, cells in extra.items() if len(cells) != len(songs)]
    if uneven:
        raise ParameterError(f"columns {uneven} need one cell per song ({len(songs)})")
    with prediction_writer(csv_path, tasks, list(extra)) as write:
        for k, song in enumerate(songs):
            write(song, [cells[k] for cells in extra.values()])
    return Path(csv_path)


@contextmanager
def prediction_writer(
    csv_path: str | os.PathLike, tasks: dict[str, list[str]], extra: Sequence[str] = ()
) -> Iterator[Callable[[PredictedSong, Sequence[str]], None]]:
    """Write a predictions file a row at a time; it replaces ``csv_path`` whole, and only
    when the block ends without an error (a stopped run leaves the old file as it was).

    Parameters
    ----------
    csv_path, tasks
        As in `write_predictions`.
    extra : sequence of str
        Names of more columns after the tasks'; each call then passes one cell per name.

    Yields
    ------
    callable
        ``write(song, extra_cells=())``: append one song's row.
    """
    csv_path = Path(csv_path)
    locator = SongTable.new(csv_path)
    header = list(SONG_COLUMNS)
    for task, classes in tasks.items():
        header += [task, task + PROBABILITY_SUFFIX] + [f"{task}:{c}" for c in classes]
    header += list(extra)
    with atomic_open(csv_path, "w") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)

        def write(song: PredictedSong, extra_cells: Sequence[str] = ()) -> None:
            row = [
                locator.relative_path(song.path),
                song.artist,
                song.title,
                "" if song.duration_s is None else f"{song.duration_s:.3f}",
                song.run,
            ]
            for task, classes in tasks.items():
                sure = song.probability.get(task)
                row += [song.predicted[task], "" if sure is None else f"{sure:.4f}"]
                row += [f"{song.probabilities[task][c]:.4f}" for c in classes]
            writer.writerow(row + list(extra_cells))

        yield write


def read_predictions(csv_path: str | os.PathLike) -> PredictionTable:
    """Read a predictions file written by `write_predictions` (``tunetag predict``).

    Raises
    ------
    LabelFileError
        When the file is missing, a folder or not UTF-8 text (not a predictions CSV), lacks
        a song column, has no task, or holds a probability that is not a number from 0 to 1
        (the line is named).
    """
    csv_path = Path(csv_path)
    try:
        with open(csv_path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            tasks = _tasks_of(csv_path, columns)
            locator = SongTable.new(csv_path)
            songs = [_song(csv_path, reader.line_num, row, tasks, locator) for row in reader]
    except FileNotFoundError as exc:
        raise LabelFileError(f"{csv_path}: file not found") from exc
    except IsADirectoryError as exc:
        raise LabelFileError(f"{csv_path}: a folder, not a predictions CSV") from exc
    except UnicodeDecodeError as exc:
        raise LabelFileError(
            f"{csv_path}: not a predictions CSV (not UTF-8 text at byte {exc.start}; "
            "make one with tunetag predict)"
        ) from exc
    except csv.Error as exc:
        raise LabelFileError(f"{csv_path}: not a predictions CSV ({exc})") from exc
    return PredictionTable(csv_path, tasks, songs)


def _tasks_of(csv_path: Path, columns: list[str]) -> dict[str, list[str]]:
    missing = [name for name in SONG_COLUMNS if name not in columns]
    if missing:
        raise LabelFileError(
            f"{csv_path}: not a predictions file (no {', '.join(missing)} column; "
            "make one with tunetag predict)"
        )
    tasks = {}
    for at, name in enumerate(columns):
        if at + 1 < len(columns) and columns[at + 1] == name + PROBABILITY_SUFFIX:
            tasks[name] = _classes_after(name, columns[at + 2 :])
    if not tasks:
        raise LabelFileError(f"{csv_path}: no task columns (<task>, <task>_probability)")
    return tasks


def _classes_after(task: str, columns: list[str]) -> list[str]:
    """The classes of ``task``: the ``<task>:<class>`` columns right after its own two.

    Read by position, as the writer puts them, so that no other column is taken for a class
    whatever the names: a task called ``label`` beside the ``label:<task>`` columns of true
    labels, or a task whose name holds a colon.
    """
    classes = []
    for at, column in enumerate(columns):
        starts_a_task = at + 1 < len(columns) and columns[at + 1] == column + PROBABILITY_SUFFIX
        if starts_a_task or not column.startswith(task + ":"):
            break
        classes.append(column[len(task) + 1 :])
    return classes


def _song(
    csv_path: Path, line: int, row: dict, tasks: dict[str, list[str]], locator: SongTable
) -> PredictedSong:
    def number(column: str) -> float | None:
        text = (row.get(column) or "").strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not 0.0 <= value <= 1.0:
            raise LabelFileError(f"{csv_path}: line {line}: {column} is {text!r}, not 0-1")
        return value

    if not (row.get("path") or "").strip():
        raise LabelFileError(f"{csv_path}: line {line}: empty path cell")
    duration = (row.get("duration_s") or "").strip()
    return PredictedSong(
        path=locator.audio_path(row),
        artist=row.get("artist") or "",
        title=row.get("title") or "",
        duration_s=float(duration) if _is_number(duration) else None,
        run=row.get("run") or "",
        predicted={task: row.get(task) or "" for task in tasks},
        probability={task: number(task + PROBABILITY_SUFFIX) for task in tasks},
        probabilities={
            task: {c: number(f"{task}:{c}") or 0.0 for c in classes}
            for task, classes in tasks.items()
        },
    )


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False

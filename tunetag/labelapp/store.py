"""The labels a person gives on the page: held in memory, saved to the song CSV at once.

Every change is written with an atomic replace before the page hears back, so killing the
server at any moment loses at most the label being typed. A CSV edited by someone else while
the page is open (a spreadsheet, a rescan, a second labelling page) is read again before the
next save, so their edit survives too: each save reads, changes and writes the file under
its lock (`tunetag.files.lock.locked`), which ``scan`` takes too.
"""

from __future__ import annotations

import os
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tunetag.errors import LabelFileError, ParameterError
from tunetag.files.lock import locked
from tunetag.library.songtable import (
    LABEL_SEPARATOR,
    SongTable,
    cell_labels,
    label_key,
    path_key,
)

KEY_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")  # one row of keys per task
MAX_LABEL_CHARS = 80  # longer text is a paste gone wrong, not a class name


@dataclass
class LabelTask:
    """One label column being labelled on the page.

    Attributes
    ----------
    name : str
        The CSV column, such as ``"mood"``.
    multi_label : bool
        Whether a song may hold several of its classes (cells joined by ``;``).
    classes : list of str
        The classes offered, in the order shown; a new label typed on the page is appended.
    keys : dict of str to str
        Class -> the keyboard key that gives it.
    """

    name: str
    multi_label: bool = False
    classes: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)

    def spelling_of(self, label: str) -> str | None:
        """The class a person meant by ``label``, ignoring case and spaces, if offered."""
        wanted = label_key(label)
        return next((c for c in self.classes if label_key(c) == wanted), None)


def parse_task(spec: str) -> tuple[str, list[str]]:
    """Read a ``--task`` option: ``"mood"`` or ``"mood=mellow,not mellow"``.

    Returns
    -------
    (str, list of str)
        The column name and the classes to offer before any song holds them.
    """
    name, _, classes = spec.partition("=")
    name = name.strip()
    if not name or name == "path":
        raise ParameterError(f"--task needs a label column name such as 'mood', got {spec!r}")
    return name, [clean_label(c) for c in classes.split(",") if c.strip()]


def clean_label(text: str) -> str:
    """A label as typed, stripped; refused when it cannot be one cell of the CSV.

    Raises
    ------
    ParameterError
        For an empty label, one holding ``;`` (the multi-label separator), a control
        character, or more than `MAX_LABEL_CHARS` characters.
    """
    label = text.strip()
    if not label:
        raise ParameterError("a label cannot be empty")
    if LABEL_SEPARATOR in label:
        raise ParameterError(f"a label cannot hold {LABEL_SEPARATOR!r}: {label!r}")
    if any(unicodedata.category(ch).startswith("C") for ch in label):
        raise ParameterError(f"a label cannot hold control characters: {label!r}")
    if len(label) > MAX_LABEL_CHARS:
        raise ParameterError(f"a label has at most {MAX_LABEL_CHARS} characters, got {len(label)}")
    return label


@dataclass(frozen=True)
class _Change:
    song_id: int
    task: str
    before: str  # the cell before the change, restored by undo


class LabelStore:
    """The song CSV while a person labels it; safe to call from several threads.

    Songs are numbered by their row in the CSV when the store opened it (the song id); the
    numbering stays fixed even if the file is edited elsewhere meanwhile.

    Parameters
    ----------
    csv_path : path-like
        The song CSV (as written by ``tunetag scan``).
    tasks : list of (str, list of str)
        Label columns with the classes to offer before any song holds them (see
        `parse_task`). A column the CSV lacks is added on the first save.
    multi_label : set of str
        Columns where a song may hold several labels; a column whose cells already hold
        ``;`` is multi-label anyway.

    Raises
    ------
    LabelFileError
        If the CSV cannot be read (see `SongTable.read`).
    ParameterError
        If no task is given or one is given twice.
    """

    def __init__(
        self,
        csv_path: str | os.PathLike,
        tasks: list[tuple[str, list[str]]],
        multi_label: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        names = [name for name, _ in tasks]
        if not names:
            raise ParameterError("give at least one --task to label, such as 'mood'")
        if len(set(names)) != len(names):
            raise ParameterError(f"each task once, got {names}")
        self._lock = threading.RLock()
        self._seen = _file_bytes(Path(csv_path))  # read first: a write in between shows later
        self._table = SongTable.read(csv_path, check_files=False)
        self._song_keys = [path_key(self._table.audio_path(row)) for row in self._table.rows]
        self._rows_by_key = dict(zip(self._song_keys, self._table.rows, strict=True))
        self._undo: list[_Change] = []
        self.tasks = [
            LabelTask(name, name in multi_label or self._table.is_multilabel(name))
            for name in names
        ]
        for task, (_, offered) in zip(self.tasks, tasks, strict=True):
            for label in offered:
                self._offer(task, label)
        self._offer_found_classes()

    @property
    def csv_path(self) -> Path:
        """The CSV being labelled."""
        return self._table.csv_path

    def __len__(self) -> int:
        return len(self._song_keys)

    def task(self, name: str) -> LabelTask:
        """The task of that column; ParameterError if it is not being labelled."""
        found = next((task for task in self.tasks if task.name == name), None)
        if found is None:
            raise ParameterError(
                f"unknown task {name!r}; labelling: {', '.join(t.name for t in self.tasks)}"
            )
        return found

    def row(self, song_id: int) -> dict[str, str]:
        """A copy of a song's CSV row (all cells strings)."""
        with self._lock:
            return dict(self._row(song_id))

    def audio_path(self, song_id: int) -> Path:
        """The song's audio file: the only paths the page can ever reach."""
        with self._lock:
            return self._table.audio_path(self._row(song_id))

    def labels(self, song_id: int) -> dict[str, list[str]]:
        """The song's labels per task (an empty list where it has none)."""
        with self._lock:
            row = self._row(song_id)
            return {task.name: list(cell_labels(row.get(task.name, ""))) for task in self.tasks}

    def is_complete(self, song_id: int) -> bool:
        """Whether the song has a label in every task."""
        return all(self.labels(song_id).values())

    def progress(self) -> dict[str, dict]:
        """Per task, songs per class and songs without a label, so balance shows."""
        with self._lock:
            found = {task.name: Counter() for task in self.tasks}
            unlabelled = Counter()
            for song_id in self._present_ids():
                for task, labels in self.labels(song_id).items():
                    found[task].update(labels)
                    unlabelled[task] += not labels
            return {
                task.name: {
                    "classes": {c: found[task.name][c] for c in task.classes},
                    "unlabelled": unlabelled[task.name],
                }
                for task in self.tasks
            }

    def complete_count(self) -> int:
        """How many songs have a label in every task."""
        with self._lock:
            return sum(self.is_complete(song_id) for song_id in self._present_ids())

    @property
    def can_undo(self) -> bool:
        """Whether a change of this session is left to undo."""
        return bool(self._undo)

    def set_labels(self, song_id: int, task_name: str, labels: list[str]) -> None:
        """Give a song its labels for one task and save the CSV before returning.

        A label not yet offered becomes a new class; one spelled like an offered class but
        for case or spaces is taken as that class.

        Parameters
        ----------
        song_id : int
            The song (its row when the store opened the CSV).
        task_name : str
            The label column.
        labels : list of str
            Every label the song has in that task; empty to clear it. One at most for a
            single-label task.

        Raises
        ------
        ParameterError
            For an unknown song or task, a bad label (see `clean_label`) or several labels
            in a single-label task.
        LabelFileError
            If the CSV cannot be written; the change is then not kept.
        """
        task = self.task(task_name)
        wanted = [clean_label(label) for label in labels]
        if not task.multi_label and len(wanted) > 1:
            raise ParameterError(f"{task.name!r} takes one label per song, got {wanted}")
        with self._lock, locked(self.csv_path):
            self._reload_if_changed()
            row = self._row(song_id)
            spelled: dict[str, str] = {}  # one spelling per label, the offered one if any
            for label in wanted:
                spelled.setdefault(label_key(label), task.spelling_of(label) or label)
            cell = LABEL_SEPARATOR.join(spelled.values())
            before = row.get(task.name, "")
            if cell == before:
                return
            self._save_cell(song_id, task.name, cell)
            self._undo.append(_Change(song_id, task.name, before))
            for label in spelled.values():
                self._offer(task, label)

    def undo(self) -> int:
        """Take back the last change of this session, save, and return its song id.

        Raises
        ------
        ParameterError
            When nothing is left to undo.
        LabelFileError
            If the CSV cannot be written; the change then stays undoable.
        """
        with self._lock, locked(self.csv_path):
            if not self._undo:
                raise ParameterError("nothing to undo")
            change = self._undo[-1]
            self._reload_if_changed()
            self._save_cell(change.song_id, change.task, change.before)
            self._undo.pop()
            return change.song_id

    def _present_ids(self) -> list[int]:
        """Songs still in the CSV (an edit elsewhere may have removed some)."""
        return [i for i, key in enumerate(self._song_keys) if key in self._rows_by_key]

    def _row(self, song_id: int) -> dict[str, str]:
        if not isinstance(song_id, int) or not 0 <= song_id < len(self._song_keys):
            raise ParameterError(f"no song {song_id!r}; songs are 0 to {len(self) - 1}")
        row = self._rows_by_key.get(self._song_keys[song_id])
        if row is None:
            raise LabelFileError(
                f"{self.csv_path}: song {song_id} is no longer in the file (edited elsewhere)"
            )
        return row

    def _save_cell(self, song_id: int, column: str, cell: str) -> None:
        """Change one cell and write the CSV; put the cell back if writing fails."""
        row = self._row(song_id)
        if column not in self._table.columns:
            self._table.columns.append(column)
        before = row.get(column, "")
        row[column] = cell
        try:
            self._table.write()
        except OSError as exc:
            row[column] = before
            raise LabelFileError(
                f"{self.csv_path}: cannot save ({exc.strerror or exc}); label not kept"
            ) from exc
        self._seen = _file_bytes(self.csv_path)

    def _reload_if_changed(self) -> None:
        """Read the CSV again if someone else wrote it since this store last did."""
        now = _file_bytes(self.csv_path)
        if now == self._seen:
            return
        table = SongTable.read(self.csv_path, check_files=False)
        self._table = table
        self._rows_by_key = {path_key(table.audio_path(row)): row for row in table.rows}
        self._seen = now
        self._offer_found_classes()

    def _offer_found_classes(self) -> None:
        for task in self.tasks:
            found = {
                label for row in self._table.rows for label in cell_labels(row.get(task.name, ""))
            }
            for label in sorted(found, key=str.casefold):
                self._offer(task, label)

    def _offer(self, task: LabelTask, label: str) -> None:
        """Add a class to a task, keyed from the task's own row of keys while one is free."""
        if task.spelling_of(label) is not None:
            return
        task.classes.append(label)
        row = self.tasks.index(task) % len(KEY_ROWS)
        pool = "".join(KEY_ROWS[row:] + KEY_ROWS[:row])
        taken = {key for other in self.tasks for key in other.keys.values()}
        free = next((key for key in pool if key not in taken), None)
        if free is not None:
            task.keys[label] = free


def _file_bytes(path: Path) -> bytes | None:
    """The file as it stands, to tell a write by someone else apart. Its bytes, not its
    inode, time and size: an atomic write may reuse the inode just freed, in the same clock
    tick, at the same size (one label swapped for another of equal length)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None

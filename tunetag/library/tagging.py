"""The `tunetag tag` step: put predictions into the files' own tags, and take them out again.

A dry run (the default) only shows what would change. With ``write=True`` every change is
first recorded in an undo log (one JSON line per file, on disk before the file is touched),
then written; `undo_tags` puts back what the log says each file held. A bad file is reported
as ``error: <file>: <reason>`` and skipped; the run goes on.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tunetag.errors import ParameterError, TagWriteError, TunetagError
from tunetag.library.fields import FIELD_NAME, check_writable, read_fields, write_fields
from tunetag.library.predictions import PredictedSong, read_predictions
from tunetag.runtime.progress import progress_bar, progress_write

RUN_FIELD = "TUNETAG_RUN"  # the run id of the model that made the prediction
UNDO_LOG_PATTERN = "tunetag-undo-{stamp}.jsonl"  # default log name, beside the predictions

Change = dict[str, tuple[str | None, str | None]]  # field -> (value before, value after)


@dataclass
class TagReport:
    """What a `tag` or `undo_tags` run did (or, in a dry run, would do).

    Attributes
    ----------
    mode : str
        ``"dry run"``, ``"write"`` or ``"undo"``.
    changes : dict of Path to dict of str to (str or None, str or None)
        File -> field -> (value before, value after), None for a field the file lacks; only
        the fields that differ. In a dry run, the changes that would be made.
    unchanged : int
        Files that already held every value (undo: files already back as they were).
    skipped : dict of Path to str
        File -> why it was left alone (missing, read-only, unreadable tags, changed since).
    below_min_prob : int
        Predictions (one song, one task) left out because their probability was below
        ``min_prob``.
    undo_log : Path or None
        The undo log written (``"write"`` with at least one change) or read (``"undo"``).
    """

    mode: str
    changes: dict[Path, Change] = field(default_factory=dict)
    unchanged: int = 0
    skipped: dict[Path, str] = field(default_factory=dict)
    below_min_prob: int = 0
    undo_log: Path | None = None

    @property
    def changed(self) -> int:
        """Files changed (in a dry run: files that would change)."""
        return len(self.changes)

    def __repr__(self) -> str:
        """The counts, not each file's changes (those are in ``changes``)."""
        undo_log = None if self.undo_log is None else str(self.undo_log)
        return (
            f"TagReport(mode={self.mode!r}, changed={self.changed}, unchanged={self.unchanged}, "
            f"skipped={len(self.skipped)}, below_min_prob={self.below_min_prob}, "
            f"undo_log={undo_log!r})"
        )

    def summary(self) -> str:
        """One line for the person: the counts, and what to do next."""
        counts = f"{self.unchanged} unchanged, {len(self.skipped)} skipped"
        if self.mode == "undo":
            return f"{_files(self.changed)} restored, {counts} (undo log {self.undo_log})"
        below = self.below_min_prob
        counts += f", {below} prediction{'' if below == 1 else 's'} below the minimum probability"
        if self.mode == "dry run":
            return (
                f"dry run: {_files(self.changed)} would change, {counts}; "
                "nothing written (add --write to write these tags)"
            )
        undo = f"; undo with: tunetag tag --undo {self.undo_log}" if self.undo_log else ""
        return f"{_files(self.changed)} tagged, {counts}{undo}"


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def task_field(task: str, genre: bool = False) -> str:
    """The tag field a task's predicted class goes into.

    Parameters
    ----------
    task : str
        The task (a label column of the song CSV).
    genre : bool
        Whether the person asked for the file's own genre field to be written.

    Returns
    -------
    str
        ``"mood"`` for the task ``mood``, ``"genre"`` for ``genre`` when ``genre`` is true,
        else ``"TUNETAG_<TASK>"`` (upper-cased, every character but A-Z and 0-9 as ``_``),
        so that a person's own genre is never overwritten unless asked.
    """
    key = task.strip().lower()
    if key == "mood":
        return "mood"
    if key == "genre" and genre:
        return "genre"
    return "TUNETAG_" + _field_word(task)


def probability_field(task: str) -> str:
    """The tag field for the probability of a task's predicted class: ``TUNETAG_<TASK>_P``."""
    return f"TUNETAG_{_field_word(task)}_P"


def tag(
    predictions_csv: str | os.PathLike,
    *,
    write: bool = False,
    genre: bool = False,
    min_prob: float = 0.0,
    undo_log: str | os.PathLike | None = None,
    progress: bool = True,
) -> TagReport:
    """Write each song's predictions into its file's tags (the `tunetag tag` step).

    Per song and task: the predicted class goes into `task_field` (mood into the format's
    mood field; genre into the genre field only with ``genre=True``), its probability
    (4 decimals) into `probability_field`, and the run id into ``TUNETAG_RUN``. Only fields
    whose value differs from the file's are changed. Each file that changes is printed as
    ``<path>: mood '' -> 'mellow', TUNETAG_MOOD_P '' -> '0.9123'`` on stdout, then a
    summary line; a file that cannot be tagged (missing, read-only, unreadable) is printed
    as ``error: <path>: <reason>`` on stderr and skipped.

    Parameters
    ----------
    predictions_csv : path-like
        A predictions file (``tunetag predict``).
    write : bool
        Write the tags. Without it this is a dry run: no file is touched, no log written.
    genre : bool
        Write a ``genre`` task into the file's genre field (else into ``TUNETAG_GENRE``).
    min_prob : float
        Probability (0-1) below which a song's prediction for a task is left out.
    undo_log : path-like, optional
        With ``write``: the undo log to append to; by default
        ``tunetag-undo-<YYYYmmdd-HHMMSS>.jsonl`` beside ``predictions_csv``. It is created
        only when a file changes.
    progress : bool
        Show a progress bar over songs on stderr.

    Returns
    -------
    TagReport

    Raises
    ------
    ParameterError
        If ``min_prob`` is not in 0-1, or two tasks would share one tag field.
    LabelFileError
        If the predictions file cannot be read.
    TagWriteError
        If the undo log cannot be written: the run stops before the song whose change it
        could not record.
    """
    if not 0.0 <= min_prob <= 1.0:
        raise ParameterError(f"min_prob must be a probability from 0 to 1, got {min_prob}")
    table = read_predictions(predictions_csv)
    _check_distinct_fields(list(table.tasks), genre)
    report = TagReport(mode="write" if write else "dry run")
    log = None
    if write:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        default_log = table.csv_path.parent / UNDO_LOG_PATTERN.format(stamp=stamp)
        log = _UndoLog(Path(undo_log) if undo_log is not None else default_log)
    try:
        for song in progress_bar(table.songs, desc="tag", unit="song", disable=not progress):
            plan = _plan(song, genre, min_prob, report)
            if not plan:
                continue
            try:
                current = read_fields(song.path, plan)
                change = {f: (current[f], v) for f, v in plan.items() if current[f] != v}
                if change:
                    check_writable(song.path)
            except TunetagError as exc:
                _skip(report, song.path, exc)
                continue
            if not change:
                report.unchanged += 1
                continue
            if log is not None:
                log.append(song.path, change)
                try:
                    write_fields(song.path, {f: new for f, (_, new) in change.items()})
                except TunetagError as exc:
                    _skip(report, song.path, exc)
                    continue
            _record(report, song.path, change)
    finally:
        if log is not None:
            report.undo_log = log.close()
    print(report.summary())
    return report


def undo_tags(log_path: str | os.PathLike, *, progress: bool = True) -> TagReport:
    """Restore the tags an undo log recorded (the `tunetag tag --undo LOG` step).

    The log is read whole first; then, last entry first, each file gets back the values it
    held before it was tagged (a field it lacked is removed again), but only while it still
    holds what was written: a file changed since is reported
    (``error: <path>: changed since it was tagged; left as it is``) and left alone. A file
    already back as it was (or never written, after an error) counts as unchanged.

    Parameters
    ----------
    log_path : path-like
        An undo log written by `tag` with ``write=True``.
    progress : bool
        Show a progress bar over the log's entries on stderr.

    Returns
    -------
    TagReport

    Raises
    ------
    TagWriteError
        If the log is missing or holds a line that is not an undo record (then nothing is
        restored). A last line cut short by a crash is ignored: its file was not touched.
    """
    log_path = Path(log_path)
    entries = _read_log(log_path)
    report = TagReport(mode="undo", undo_log=log_path)
    for path, before, after in progress_bar(
        entries[::-1], desc="undo", unit="song", disable=not progress
    ):
        try:
            current = read_fields(path, after)
            if current == before:
                report.unchanged += 1
                continue
            if current != after:
                raise TagWriteError(f"{path}: changed since it was tagged; left as it is")
            write_fields(path, before)
        except TunetagError as exc:
            _skip(report, path, exc)
            continue
        _record(report, path, {f: (after[f], before[f]) for f in after})
    print(report.summary())
    return report


def _field_word(task: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", task.upper())


def _check_distinct_fields(tasks: list[str], genre: bool) -> None:
    """Refuse tasks whose names would write one tag field twice (``a b`` and ``a_b``)."""
    fields = {RUN_FIELD: "the run id"}
    for task in tasks:
        for name in (task_field(task, genre), probability_field(task)):
            if name in fields:
                raise ParameterError(
                    f"task {task!r} would be written to the tag field {name}, which holds "
                    f"{fields[name]}; rename the task"
                )
            fields[name] = f"task {task!r}"


def _plan(song: PredictedSong, genre: bool, min_prob: float, report: TagReport) -> dict:
    """Field -> value for one song: every task sure enough, then the run id."""
    plan: dict[str, str] = {}
    for task, predicted in song.predicted.items():
        if not predicted:
            continue
        sure = song.probability.get(task)
        if (sure if sure is not None else 0.0) < min_prob:
            report.below_min_prob += 1
            continue
        plan[task_field(task, genre)] = predicted
        if sure is not None:
            plan[probability_field(task)] = f"{sure:.4f}"
    if plan and song.run:
        plan[RUN_FIELD] = song.run
    return plan


def _record(report: TagReport, path: Path, change: Change) -> None:
    """Keep a file's change (merged with an earlier one for the same file) and print it."""
    merged = report.changes.setdefault(path, {})
    for name, (old, new) in change.items():
        merged[name] = (merged[name][0] if name in merged else old, new)
    shown = ", ".join(
        f"{name} {old or ''!r} -> {new or ''!r}" for name, (old, new) in change.items()
    )
    progress_write(f"{path}: {shown}")


def _skip(report: TagReport, path: Path, exc: TunetagError) -> None:
    message = " ".join(str(exc).split())
    prefix = f"{path}: "
    reason = message[len(prefix) :] if message.startswith(prefix) else message
    report.skipped[path] = reason
    progress_write(f"error: {path}: {reason}", file=sys.stderr)


class _UndoLog:
    """The JSON-lines undo log, opened (for appending) only when the first file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def append(self, audio_path: Path, change: Change) -> None:
        """Record a file's values before and after, on disk, before the file is touched."""
        record = {
            "path": str(Path(os.path.abspath(audio_path))),
            "before": {name: old for name, (old, _) in change.items()},
            "after": {name: new for name, (_, new) in change.items()},
        }
        try:
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _drop_cut_short_line(self.path)
                self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            self._handle.write(json.dumps(record) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            reason = exc.strerror or exc
            raise TagWriteError(f"{self.path}: cannot write the undo log ({reason})") from exc

    def close(self) -> Path | None:
        """Close the log; the path of the log if anything was recorded."""
        if self._handle is None:
            return None
        self._handle.close()
        return self.path


def _drop_cut_short_line(log_path: Path) -> None:
    """Cut off a last line that a killed run left without its newline, before appending.

    The record was being written when the run died, so its file was never touched; left
    in place, the next record would be glued to it and the log would not read back.
    """
    try:
        with open(log_path, "rb+") as handle:
            data = handle.read()
            whole = data.rfind(b"\n") + 1
            if whole < len(data):
                handle.truncate(whole)
    except FileNotFoundError:
        return


def _read_log(log_path: Path) -> list[tuple[Path, dict, dict]]:
    """The entries of an undo log, each checked: (file, values before, values after)."""
    try:
        text = log_path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TagWriteError(f"{log_path}: file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TagWriteError(f"{log_path}: cannot read the undo log ({exc})") from exc
    lines = text.split("\n")
    complete, cut_short = lines[:-1], lines[-1]  # a crash mid-append leaves no final newline
    entries = []
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        entry = _log_entry(line)
        if entry is None:
            raise TagWriteError(
                f"{log_path}: line {number} is not an undo record; nothing restored"
            )
        entries.append(entry)
    if not entries and not cut_short.strip():
        raise TagWriteError(f"{log_path}: no undo records in it")
    return entries


def _log_entry(line: str) -> tuple[Path, dict, dict] | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, Mapping) or not isinstance(record.get("path"), str):
        return None
    before, after = record.get("before"), record.get("after")
    if not (isinstance(before, Mapping) and isinstance(after, Mapping)):
        return None
    if set(before) != set(after) or not all(FIELD_NAME.fullmatch(name) for name in after):
        return None
    values = [*before.values(), *after.values()]
    if not all(value is None or isinstance(value, str) for value in values):
        return None
    return Path(record["path"]), dict(before), dict(after)

"""The song CSV: one row per audio file, its tags and the person's labels.

The CSV is the person's work, so it is read strictly (a bad file is an error that names the
line, never a silent guess) and written atomically (a crash never leaves half a file). Paths
in the ``path`` column are relative to the CSV's folder, so a library and its CSV can move
together.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tunetag.errors import LabelFileError, ParameterError
from tunetag.files.atomic import atomic_open

COLUMNS = ("path", "artist", "title", "album", "genre", "mood", "duration_s")
MISSING_FILES_SHOWN = 5  # how many missing files a LabelFileError lists by name


def path_key(path: str | os.PathLike) -> str:
    """One spelling per file, for telling whether two paths name the same song.

    Absolute and normalised (``a/../b`` is ``b``), and case-folded where the OS ignores case.
    """
    return os.path.normcase(os.path.abspath(path))


LABEL_SEPARATOR = ";"  # between the labels of one cell of a multi-label column


def cell_labels(cell: str) -> tuple[str, ...]:
    """The labels in one cell: split on ``;``, stripped, empty pieces and repeats dropped."""
    return tuple(dict.fromkeys(p.strip() for p in cell.split(LABEL_SEPARATOR) if p.strip()))


def label_key(label: str) -> str:
    """Labels that a person would read as the same word map to the same key."""
    return "".join(label.split()).casefold()


@dataclass
class SongTable:
    """The rows of a song CSV, every cell a string ("" means empty or unlabelled).

    Attributes
    ----------
    csv_path : Path
        Where the table is read from and written to; relative ``path`` cells start here.
    columns : list of str
        Column names in file order; ``"path"`` is always one of them.
    rows : list of dict
        One ``{column: cell}`` dictionary per song.
    """

    csv_path: Path
    columns: list[str] = field(default_factory=lambda: list(COLUMNS))
    rows: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.csv_path = Path(self.csv_path)
        self.columns = list(self.columns)
        if "path" not in self.columns:
            raise ParameterError(f"a song table needs a 'path' column, got {self.columns}")
        if len(set(self.columns)) != len(self.columns):
            raise ParameterError(f"column names must be unique, got {self.columns}")

    @classmethod
    def new(cls, csv_path: str | os.PathLike, columns: tuple[str, ...] = COLUMNS) -> SongTable:
        """An empty table that will be written to ``csv_path``.

        Parameters
        ----------
        csv_path : path-like
            The CSV file the table belongs to (need not exist yet).
        columns : tuple of str
            Column names in order; must include ``"path"``.
        """
        return cls(Path(csv_path), list(columns), [])

    @classmethod
    def read(cls, csv_path: str | os.PathLike, check_files: bool = True) -> SongTable:
        """Read and validate a song CSV.

        Blank lines and rows whose every cell is empty are skipped; short rows are padded
        with empty cells and empty cells past the last column are dropped.

        Parameters
        ----------
        csv_path : path-like
            A UTF-8 CSV (a byte-order mark is allowed) whose header names a ``path`` column.
        check_files : bool
            If True, every row's audio file must exist.

        Returns
        -------
        SongTable

        Raises
        ------
        LabelFileError
            If the file is missing or not UTF-8 CSV, has no ``path`` column, an empty path
            cell, the same song twice, or (with ``check_files``) paths that do not exist.
        """
        csv_path = Path(csv_path)
        try:
            with open(csv_path, encoding="utf-8-sig", newline="") as handle:
                table = cls._parse(csv_path, csv.reader(handle))
        except FileNotFoundError as exc:
            raise LabelFileError(f"{csv_path}: file not found") from exc
        except UnicodeDecodeError as exc:
            raise LabelFileError(
                f"{csv_path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV"
            ) from exc
        except OSError as exc:
            raise LabelFileError(f"{csv_path}: cannot read ({exc.strerror or exc})") from exc
        if check_files:
            table._check_files_exist()
        return table

    @classmethod
    def _parse(cls, csv_path: Path, reader) -> SongTable:
        try:
            header = next(reader, None)
            if header is None:
                raise LabelFileError(f"{csv_path}: empty file, expected a header row")
            columns = [name.strip() for name in header]
            cls._check_header(csv_path, columns)
            table = cls(csv_path, columns, [])
            first_line: dict[str, int] = {}
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                table._add_parsed_row(cells, reader.line_num, first_line)
        except csv.Error as exc:
            raise LabelFileError(f"{csv_path}: line {reader.line_num}: {exc}") from exc
        return table

    @staticmethod
    def _check_header(csv_path: Path, columns: list[str]) -> None:
        if "path" not in columns:
            raise LabelFileError(
                f"{csv_path}: no 'path' column (line 1 has: {', '.join(columns) or 'nothing'})"
            )
        for number, name in enumerate(columns, start=1):
            if not name:
                raise LabelFileError(f"{csv_path}: line 1: column {number} has no name")
            if columns.index(name) != number - 1:
                raise LabelFileError(f"{csv_path}: line 1: column {name!r} appears twice")

    def _add_parsed_row(self, cells: list[str], line: int, first_line: dict[str, int]) -> None:
        width = len(self.columns)
        if any(cell.strip() for cell in cells[width:]):
            raise LabelFileError(
                f"{self.csv_path}: line {line}: {len(cells)} cells but the header names "
                f"{width} columns"
            )
        cells = (cells + [""] * width)[:width]
        row = dict(zip(self.columns, cells, strict=True))
        if not row["path"].strip():
            raise LabelFileError(f"{self.csv_path}: line {line}: empty 'path' cell")
        key = path_key(self.audio_path(row))
        if key in first_line:
            raise LabelFileError(
                f"{self.csv_path}: line {line}: {row['path']!r} is listed twice "
                f"(first on line {first_line[key]})"
            )
        first_line[key] = line
        self.rows.append(row)

    def _check_files_exist(self) -> None:
        missing = [row["path"] for row in self.rows if not self.audio_path(row).exists()]
        if missing:
            shown = ", ".join(repr(path) for path in missing[:MISSING_FILES_SHOWN])
            more = ", ..." if len(missing) > MISSING_FILES_SHOWN else ""
            raise LabelFileError(
                f"{self.csv_path}: {len(missing)} song file(s) not found: {shown}{more}"
            )

    def write(self, csv_path: str | os.PathLike | None = None) -> Path:
        """Write the table atomically; the old file stays whole if anything fails.

        Parameters
        ----------
        csv_path : path-like, optional
            Where to write; defaults to ``self.csv_path``. Writing to another folder rewrites
            relative ``path`` cells in that copy so they still name the same files.

        Returns
        -------
        Path
            The file written.
        """
        target = self.csv_path if csv_path is None else Path(csv_path)
        rows = self.rows
        if path_key(target.parent) != path_key(self.csv_path.parent):
            copy = SongTable(target, self.columns)
            rows = [self._rebased(row, copy) for row in self.rows]
        with atomic_open(target, "w") as handle:
            writer = csv.DictWriter(handle, fieldnames=self.columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
        return target

    def _rebased(self, row: dict[str, str], other: SongTable) -> dict[str, str]:
        if Path(row["path"]).is_absolute():
            return row
        return {**row, "path": other.relative_path(self.audio_path(row))}

    def audio_path(self, row: dict[str, str]) -> Path:
        """The absolute path of a row's audio file.

        Parameters
        ----------
        row : dict
            One of ``self.rows`` (or any mapping with a ``path`` cell).
        """
        return Path(os.path.abspath(self.csv_path.parent / row["path"]))

    def relative_path(self, audio_path: str | os.PathLike) -> str:
        """The ``path`` cell for a file: POSIX style, relative to the CSV's folder.

        The path stays absolute only where no relative one exists (another Windows drive).

        Parameters
        ----------
        audio_path : path-like
            The audio file, absolute or relative to the working directory.
        """
        absolute = os.path.abspath(audio_path)
        try:
            return Path(os.path.relpath(absolute, os.path.abspath(self.csv_path.parent))).as_posix()
        except ValueError:
            return Path(absolute).as_posix()

    def labels(self, task: str) -> dict[int, str]:
        """The labelled songs of a single-label column.

        Parameters
        ----------
        task : str
            A label column, such as ``"mood"`` or ``"genre"``.

        Returns
        -------
        dict of int to str
            Row index -> label (stripped) for every row whose ``task`` cell is not empty.

        Raises
        ------
        LabelFileError
            If the column is missing, one label is spelled two ways (case or spaces), fewer
            than two classes are present, or a cell holds several labels (see `label_sets`).
        """
        sets = self.label_sets(task)
        several = next((i for i, found in sets.items() if len(found) > 1), None)
        if several is not None:
            raise LabelFileError(
                f"{self.csv_path}: column {task!r} holds several labels in one cell "
                f"({self.rows[several][task]!r}, {self.rows[several]['path']}): "
                "it is a multi-label task"
            )
        return {i: found[0] for i, found in sets.items()}

    def is_multilabel(self, task: str) -> bool:
        """Whether any cell of ``task`` holds several labels separated by ``;``."""
        return any(LABEL_SEPARATOR in row.get(task, "") for row in self.rows)

    def label_sets(self, task: str) -> dict[int, tuple[str, ...]]:
        """The labels of every labelled song, for single- and multi-label columns alike.

        A cell may hold several labels separated by ``;`` (``mellow;sad``); each is
        stripped, and empty pieces are dropped.

        Returns
        -------
        dict of int to tuple of str
            Row index -> its labels, for every row with at least one.

        Raises
        ------
        LabelFileError
            If the column is missing, one label is spelled two ways (case or spaces), or
            fewer than two distinct labels are present.
        """
        if task not in self.columns:
            raise LabelFileError(
                f"{self.csv_path}: no label column {task!r} (columns: {', '.join(self.columns)})"
            )
        sets: dict[int, tuple[str, ...]] = {}
        first_spelling: dict[str, tuple[str, int]] = {}
        for index, row in enumerate(self.rows):
            found = cell_labels(row[task])
            for label in found:
                spelling, first = first_spelling.setdefault(label_key(label), (label, index))
                if spelling != label:
                    raise LabelFileError(
                        f"{self.csv_path}: column {task!r} spells one label two ways: "
                        f"{self.rows[first][task]!r} ({self.rows[first]['path']}) and "
                        f"{row[task]!r} ({row['path']}); use one spelling"
                    )
            if found:
                sets[index] = found
        classes = sorted({label for found in sets.values() for label in found})
        if len(classes) < 2:
            raise LabelFileError(
                f"{self.csv_path}: column {task!r} needs at least two classes, found "
                f"{len(classes)} {classes} among {len(sets)} labelled songs"
            )
        return sets

    def classes(self, task: str) -> list[str]:
        """The distinct labels of a label column, sorted; validated as in `label_sets`."""
        return sorted({label for found in self.label_sets(task).values() for label in found})

    def groups(self, column: str = "artist") -> list[str]:
        """Per row, the key that keeps related songs on one side of a train/validation split.

        Cells are compared ignoring case and repeated spaces. An empty cell gets a key of its
        own, so songs by unknown artists are not lumped into one group.

        Parameters
        ----------
        column : str
            The column whose values never straddle a split, usually ``"artist"``.

        Raises
        ------
        LabelFileError
            If the column is missing.
        """
        if column not in self.columns:
            raise LabelFileError(
                f"{self.csv_path}: no column {column!r} to group songs by "
                f"(columns: {', '.join(self.columns)})"
            )
        return [label_key(row[column]) or f"__song__:{row['path']}" for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, str]]:
        return iter(self.rows)

"""Turn a music folder into the song CSV, or bring an existing CSV up to date.

A rescan never loses the person's work: every row, label and extra column of the existing
CSV is kept, only new files are added, and a filled cell is never overwritten.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tunetag.errors import ParameterError
from tunetag.files.lock import locked
from tunetag.library.metadata import read_metadata
from tunetag.library.songtable import COLUMNS, SongTable, path_key
from tunetag.runtime.progress import progress_bar, progress_write

AUDIO_EXTENSIONS = (
    ".mp3",
    ".flac",
    ".ogg",
    ".opus",
    ".m4a",
    ".aac",
    ".mp4",
    ".wav",
    ".aiff",
    ".aif",
)
TAG_COLUMNS = tuple(column for column in COLUMNS if column != "path")


def find_audio(music_dir: str | os.PathLike) -> list[Path]:
    """Every audio file under a folder, sorted.

    Extensions are matched ignoring case (see ``AUDIO_EXTENSIONS``). Hidden files and folders
    (names starting with ".") are skipped. Symlinked folders are followed, each real folder
    once, so a link loop cannot recurse forever. A file whose path is not valid UTF-8 is
    left out with an ``error:`` line on stderr (the CSVs tunetag writes are UTF-8 text and
    could not name it), and so is a folder that cannot be listed.

    Parameters
    ----------
    music_dir : path-like
        The folder to search.

    Returns
    -------
    list of Path
        The files, each as ``music_dir`` joined with its path inside it.
    """
    found = []
    seen_dirs: set[tuple[int, int]] = set()
    for folder, dirnames, filenames in os.walk(music_dir, followlinks=True, onerror=_unlistable):
        identity = _dir_identity(folder)
        if identity in seen_dirs:
            dirnames.clear()
            continue
        seen_dirs.add(identity)
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        for name in filenames:
            path = Path(folder, name)
            if (
                not name.startswith(".")
                and path.suffix.lower() in AUDIO_EXTENSIONS
                and path.is_file()
                and _utf8_name(path)
            ):
                found.append(path)
    return sorted(found)


def _unlistable(error: OSError) -> None:
    """A folder that cannot be listed (no permission, gone meanwhile): say so in one line,
    since its songs are left out."""
    reason = error.strerror or str(error)
    progress_write(
        f"error: {error.filename}: cannot list the folder ({reason}); its songs are left out",
        sys.stderr,
    )


def _utf8_name(path: Path) -> bool:
    """Whether ``path`` is UTF-8; if not, say so in one line, its bytes escaped."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        progress_write(
            f"error: {shown}: the name is not UTF-8; rename the file to use it", sys.stderr
        )
        return False
    return True


def _dir_identity(folder: str) -> tuple[int, int]:
    stat = os.stat(folder)
    return stat.st_dev, stat.st_ino


@dataclass
class ScanReport:
    """What a scan did.

    Attributes
    ----------
    table : SongTable
        The table as written.
    added : int
        Rows added for files not yet in the CSV.
    kept : int
        Rows carried over from the existing CSV (all of them; ``kept + added == len(table)``).
    missing : int
        Kept rows whose audio file no longer exists (their labels are kept too).
    """

    table: SongTable
    added: int
    kept: int
    missing: int

    def __repr__(self) -> str:
        """The counts, not the table: a library's rows would fill the screen."""
        return (
            f"ScanReport(csv_path={str(self.table.csv_path)!r}, songs={len(self.table)}, "
            f"added={self.added}, kept={self.kept}, missing={self.missing})"
        )


def scan(
    music_dir: str | os.PathLike,
    csv_path: str | os.PathLike,
    label_from_folder: str | None = None,
    progress: bool = True,
) -> ScanReport:
    """Write (or update) the song CSV for every audio file under ``music_dir``.

    Parameters
    ----------
    music_dir : path-like
        The folder of music, searched recursively (see `find_audio`).
    csv_path : path-like
        The song CSV. If it exists its rows and columns are kept; new files are added and
        empty cells are filled from tags, but no filled cell is overwritten.
    label_from_folder : str, optional
        A column to fill from folder names: a song's label is the name of the first folder
        below ``music_dir`` on its path (``Music/mellow/x.mp3`` and
        ``Music/mellow/album/y.mp3`` -> ``mellow``); a file directly in ``music_dir`` gets
        none. Only empty cells are filled, before tags are read, so the folder beats a
        file's own tag for the same column; the column is created if missing.
    progress : bool
        Show a progress bar over the files.

    Returns
    -------
    ScanReport

    Raises
    ------
    ParameterError
        If ``music_dir`` is not a folder, holds no audio file (then no CSV is written) or
        ``label_from_folder`` is not a label column name.
    LabelFileError
        If the existing CSV cannot be read.
    """
    music_dir = Path(music_dir)
    if not music_dir.is_dir():
        raise ParameterError(f"{music_dir}: not a folder")
    if label_from_folder is not None and label_from_folder.strip() in ("", "path"):
        raise ParameterError(
            f"label_from_folder must name a label column, got {label_from_folder!r}"
        )
    csv_path = Path(csv_path)
    audio_paths = find_audio(music_dir)
    if not audio_paths:  # a wrong folder, not an empty library: nothing is written
        raise ParameterError(f"{music_dir}: no audio files found ({', '.join(AUDIO_EXTENSIONS)})")
    before = _read_if_present(csv_path)
    known = {path_key(before.audio_path(row)): row for row in before.rows} if before else {}
    found: list[tuple[Path, list[dict[str, str]]]] = []  # each file, the cells to fill in order
    for audio_path in progress_bar(audio_paths, desc="scan", unit="song", disable=not progress):
        fills = []
        if label_from_folder is not None:
            fills.append({label_from_folder: _top_folder(audio_path, music_dir)})
        row = known.get(path_key(audio_path))
        if row is None or any(not row.get(column, "").strip() for column in TAG_COLUMNS):
            fills.append(read_metadata(audio_path))
        found.append((audio_path, fills))
    with locked(csv_path):  # read again: a labelling page may have saved meanwhile
        table = _read_if_present(csv_path)
        kept = len(table) if table is not None else 0
        table = _with_scan_columns(table or SongTable.new(csv_path), label_from_folder)
        rows_by_file = {path_key(table.audio_path(row)): row for row in table.rows}
        for audio_path, fills in found:
            row = rows_by_file.get(path_key(audio_path))
            if row is None:
                row = dict.fromkeys(table.columns, "")
                row["path"] = table.relative_path(audio_path)
                table.rows.append(row)
            for values in fills:
                _fill_empty(row, values)
        missing = sum(not table.audio_path(row).exists() for row in table.rows[:kept])
        table.write()
    return ScanReport(table=table, added=len(table) - kept, kept=kept, missing=missing)


def _read_if_present(csv_path: Path) -> SongTable | None:
    """The song CSV, or None when there is none yet."""
    return SongTable.read(csv_path, check_files=False) if csv_path.exists() else None


def _with_scan_columns(table: SongTable, label_from_folder: str | None) -> SongTable:
    """The table with ``COLUMNS`` first, then its other columns, then the folder label column."""
    extra = [column for column in table.columns if column not in COLUMNS]
    if label_from_folder is not None and label_from_folder not in (*COLUMNS, *extra):
        extra.append(label_from_folder)
    table.columns = [*COLUMNS, *extra]
    for row in table.rows:
        for column in table.columns:
            row.setdefault(column, "")
    return table


def _fill_empty(row: dict[str, str], values: dict[str, str]) -> None:
    for column, value in values.items():
        if not row[column].strip() and value:
            row[column] = value


def _top_folder(audio_path: Path, music_dir: Path) -> str:
    """The first folder below ``music_dir`` on the file's path; "" for a file directly in it."""
    parts = audio_path.relative_to(music_dir).parts
    return parts[0] if len(parts) > 1 else ""


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

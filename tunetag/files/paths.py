"""The paths a command is given, checked before any work starts.

A command that finds out at its end that it cannot write its output has wasted the work
(and shown a traceback); one that reads a folder as a CSV fails deep in a reader. Every
command calls these on its paths first, so each such mistake is one line naming the path.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tunetag.errors import ParameterError


def input_file(path: str | os.PathLike, what: str) -> Path:
    """A file to read, such as a song CSV; a folder in its place is refused.

    A missing file is left to the reader, which says what it is missing for.

    Parameters
    ----------
    path : path-like
        The file given.
    what : str
        What it should be, in the person's words ("a song CSV", "an undo log").
    """
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"{path}: a folder, not {what}")
    return path


def output_file(path: str | os.PathLike) -> Path:
    """A file a command will write: not a folder, in a folder that exists or can be made
    and that can be written in. Nothing is created."""
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"{path}: a folder; give the name of a file to write")
    _writable(path.parent, path)
    return path


def output_folder(path: str | os.PathLike) -> Path:
    """A folder a command will write files in: not a file, and it or the folder it will be
    made in can be written in. Nothing is created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(f"{path}: a file; give a folder (new, or one to write in)")
    _writable(path, path)
    return path


def _writable(folder: Path, given: Path) -> None:
    """Refuse ``given`` unless the nearest existing folder at or above ``folder`` takes a new
    file: a trial file is made and removed (``os.access`` answers yes to root everywhere)."""
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ParameterError(f"{given}: cannot write a file in {existing} (a file, not a folder)")
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".tunetag-probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ParameterError(f"{given}: cannot write a file in {existing} ({reason})") from exc

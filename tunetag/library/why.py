"""Beside a predictions CSV, which seconds of each song made each call (``predict
--explain``): ``<csv stem>.why.json``, read by the predictions report to draw its strips.

Its JSON: ``{"songs": {path relative to the CSV's folder: {"starts_s": [...],
"lengths_s": [...], "pushes": {task: [[push per class] per stretch]}}}}``, a push being the
change in the class's log-odds the stretch makes (see `tunetag.runs.explain`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tunetag.errors import LabelFileError
from tunetag.files.atomic import atomic_write_text

WHY_SUFFIX = "_why"  # `<task>_why`: the seconds that argued most for the predicted class


def why_path(csv_path: str | os.PathLike) -> Path:
    """Where the strips of a predictions CSV are kept."""
    csv_path = Path(csv_path)
    return csv_path.with_name(csv_path.stem + ".why.json")


class WhyStrips:
    """Songs' explanations gathered while predicting, written once the CSV is complete."""

    def __init__(self, csv_path: Path) -> None:
        self.path = why_path(csv_path)
        self._folder = Path(os.path.abspath(csv_path)).parent
        self._songs: dict[str, dict] = {}

    def add(self, song: Path, strips: dict) -> None:
        """``strips``: an explanation's plain form (`Explanation.as_json`)."""
        self._songs[_relative(song, self._folder)] = strips

    def write(self) -> None:
        atomic_write_text(self.path, json.dumps({"songs": self._songs}, separators=(",", ":")))


def read_why(csv_path: str | os.PathLike) -> dict[Path, dict]:
    """Absolute song path -> its strips; empty when the CSV was predicted without them."""
    path = why_path(csv_path)
    if not path.is_file():
        return {}
    try:
        songs = json.loads(path.read_text(encoding="utf-8"))["songs"]
    except (ValueError, KeyError, TypeError) as exc:
        raise LabelFileError(f"{path}: not tunetag's strips of seconds ({exc})") from exc
    folder = Path(os.path.abspath(path)).parent
    return {Path(os.path.normpath(folder / name)): strips for name, strips in songs.items()}


def _relative(song: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(os.path.abspath(song), folder)).as_posix()
    except ValueError:  # another drive: keep it absolute
        return Path(os.path.abspath(song)).as_posix()

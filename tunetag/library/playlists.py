"""Playlists: one extended M3U8 file per task and class, so a player can play what was found.

Each playlist lists the songs predicted to be in one class, most probable first, with paths
relative to the playlist's own folder so the music and the playlists can move together.
`write_playlist` also writes the lists of songs like others (`tunetag.steps.similar`).
"""

from __future__ import annotations

import math
import os
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from tunetag.errors import ParameterError
from tunetag.files.atomic import atomic_open
from tunetag.library.predictions import PredictedSong, read_predictions
from tunetag.library.songtable import cell_labels

PLAYLIST_SUFFIX = ".m3u8"
NAME_BYTES = 200  # longest file-name stem in UTF-8 bytes (file systems allow 255 with suffix)
# Names Windows keeps for devices, whatever the extension ("CON.m3u8" cannot be opened there).
WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in [*"0123456789", "¹", "²", "³"]]
)


def playlists(
    predictions_csv: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    min_prob: float = 0.0,
    limit: int | None = None,
    tasks: Sequence[str] | None = None,
) -> list[Path]:
    """Write ``<out_dir>/<task>/<class>.m3u8`` for every task and class of a predictions file.

    A song is in a class's playlist when its predicted class is that class (for a multi-label
    task: when the class is one of its predicted labels). Songs are ordered by their
    probability for the class, highest first, ties by path. A class with no song still gets
    a playlist holding only the header, so the person sees the class exists and a playlist of
    an earlier run never keeps songs that are no longer predicted. Playlists of classes that
    are gone are left alone. Task and class names are made safe for file names on every OS;
    the ``#PLAYLIST:`` line keeps the real names. Songs whose audio file is missing are left
    out, reported as ``error: <file>: file not found`` on stderr and counted in a summary.

    Parameters
    ----------
    predictions_csv : path-like
        A predictions file written by ``tunetag predict``.
    out_dir : path-like
        Folder for the playlists; created if missing.
    min_prob : float
        Leave out songs whose probability for the class is below this, 0-1.
    limit : int or None
        Keep at most this many songs per playlist (the most probable); None keeps all.
    tasks : sequence of str or None
        Tasks to write playlists for; None or empty writes every task in the file.

    Returns
    -------
    list of Path
        The playlists written, by task then class in the file's order.

    Raises
    ------
    ParameterError
        When ``min_prob`` is not 0-1, ``limit`` is below 1, a task is not in the file or
        ``out_dir`` is a file.
    LabelFileError
        When the predictions file cannot be read.
    """
    if not 0.0 <= min_prob <= 1.0:
        raise ParameterError(f"min_prob must be from 0 to 1, not {min_prob}")
    if limit is not None and limit < 1:
        raise ParameterError(f"limit must be at least 1, not {limit}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ParameterError(f"{out_dir}: not a folder (playlists are written into a folder)")
    table = read_predictions(predictions_csv)
    chosen = list(dict.fromkeys([tasks] if isinstance(tasks, str) else tasks or table.tasks))
    unknown = [task for task in chosen if task not in table.tasks]
    if unknown:
        raise ParameterError(
            f"no task {', '.join(unknown)} in {table.csv_path} (it has {', '.join(table.tasks)})"
        )

    present = []
    for song in table.songs:
        reason = _unlistable(song.path)
        if reason:
            print(f"error: {song.path}: {reason}", file=sys.stderr)
        else:
            present.append(song)
    left_out = len(table.songs) - len(present)

    written = []
    for task, folder in zip(chosen, safe_names(chosen), strict=True):
        classes = _classes_of(task, table.tasks[task], table.songs)
        for name, stem in zip(classes, safe_names(classes), strict=True):
            path = out_dir / folder / (stem + PLAYLIST_SUFFIX)
            songs = _members(task, name, present, min_prob)[:limit]
            write_playlist(path, f"{task}: {name}", songs)
            written.append(path)
    if left_out:
        print(f"{left_out} song(s) left out of the playlists (see above)", file=sys.stderr)
    return written


class PlaylistSong(Protocol):
    """What a playlist line needs of a song (a `PredictedSong`, or a library's song)."""

    path: Path
    artist: str
    title: str
    duration_s: float | None


def safe_names(names: Iterable[str]) -> list[str]:
    """File-name stems for ``names``, usable on every OS and distinct ignoring case.

    Letters, digits, space and ``-_.`` are kept, anything else becomes ``_``; leading and
    trailing dots and spaces go, Windows device names (``CON``, ``COM1``...) get ``_``, long
    names are cut to `NAME_BYTES` bytes of UTF-8, nothing left becomes ``_``, and a name
    already taken (ignoring case) gets ``_2``, ``_3``, ... in order.

    Parameters
    ----------
    names : iterable of str
        Task or class names, in the order that decides which one keeps the plain name.
    """
    stems: list[str] = []
    taken: set[str] = set()
    for name in names:
        stem = _safe_stem(name) or "_"
        unique, number = stem, 2
        while unique.casefold() in taken:
            suffix = f"_{number}"
            unique = _cut(stem, NAME_BYTES - len(suffix)) + suffix
            number += 1
        taken.add(unique.casefold())
        stems.append(unique)
    return stems


def _unlistable(audio_path: Path) -> str | None:
    """Why a song cannot be in a playlist, or None when it can."""
    if not audio_path.is_file():
        return "file not found"
    if len(str(audio_path).splitlines()) > 1:
        return "a line break in the path cannot be written to M3U"
    return None


def _safe_stem(name: str) -> str:
    name = unicodedata.normalize("NFC", name)
    kept = "".join(c if c.isalnum() or c in " -_." else "_" for c in name)
    stem = _cut(kept.strip(" ."), NAME_BYTES).rstrip(" .")
    head, dot, rest = stem.partition(".")
    if head.rstrip(" ").upper() in WINDOWS_DEVICES:
        return f"{head}_{dot}{rest}"
    return stem


def _cut(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a character."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def _classes_of(task: str, classes: list[str], songs: list[PredictedSong]) -> list[str]:
    """The task's classes, then any predicted label that has no probability column."""
    found = dict.fromkeys(classes)
    for song in songs:
        found.update(dict.fromkeys(cell_labels(song.predicted.get(task, ""))))
    return list(found)


def _members(
    task: str, name: str, songs: list[PredictedSong], min_prob: float
) -> list[PredictedSong]:
    """Songs predicted to be in class ``name`` with at least ``min_prob``, most probable first."""

    def probability(song: PredictedSong) -> float:
        fallback = song.probability.get(task) or 0.0
        return song.probabilities.get(task, {}).get(name, fallback)

    chosen = [
        song
        for song in songs
        if name in cell_labels(song.predicted.get(task, "")) and probability(song) >= min_prob
    ]
    return sorted(chosen, key=lambda song: (-probability(song), song.path.as_posix()))


def write_playlist(path: Path, title: str, songs: Sequence[PlaylistSong]) -> None:
    """Write an extended M3U8 of ``songs`` in order, atomically: ``#EXTINF`` with whole
    seconds and "artist - title", then the path relative to the playlist's folder."""
    folder = os.path.realpath(path.parent)
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(title)}"]
    for song in songs:
        lines.append(f"#EXTINF:{_seconds(song.duration_s)},{_display_name(song)}")
        lines.append(_location(song.path, folder))
    with atomic_open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def _seconds(duration_s: float | None) -> int:
    """Whole seconds for ``#EXTINF``; -1 means unknown in M3U."""
    if duration_s is None or not math.isfinite(duration_s) or duration_s < 0:
        return -1
    return round(duration_s)


def _display_name(song: PlaylistSong) -> str:
    title = _one_line(song.title) or _one_line(song.path.stem)
    artist = _one_line(song.artist)
    return f"{artist} - {title}" if artist else title


def _one_line(text: str) -> str:
    return " ".join(text.splitlines()).strip()


def _location(audio_path: Path, folder: str) -> str:
    """The song's path relative to the playlist's folder, POSIX style.

    Both sides are resolved through symbolic links, so ``..`` steps lead to the same file
    whether a player resolves them by name or on disk. The path stays absolute only where no
    relative one exists (another Windows drive). A path starting with ``#`` gets ``./`` so a
    player does not read it as a comment.
    """
    real = os.path.realpath(audio_path)
    try:
        location = Path(os.path.relpath(real, folder)).as_posix()
    except ValueError:
        return Path(real).as_posix()
    return "./" + location if location.startswith("#") else location

"""Read and write a few named tag fields in any supported audio file, never half-written.

Field names are abstract so that callers need not know the tag formats:

- ``mood``: ID3 ``TMOO`` (v2.4) or ``TXXX:MOOD`` (v2.3) in MP3, WAV and AIFF; the Vorbis
  comment ``MOOD`` in FLAC, Ogg Vorbis and Opus; ``----:com.apple.iTunes:MOOD`` in MP4/M4A.
- ``genre``: ``TCON``; ``GENRE``; ``©gen``.
- ``TUNETAG_<NAME>``: ``TXXX:TUNETAG_<NAME>``; ``TUNETAG_<NAME>``;
  ``----:com.apple.iTunes:TUNETAG_<NAME>`` (UTF-8).

An ID3 tag is saved in the version the file already has (v2.3 or v2.4; a v2.2 tag, which
mutagen cannot write, becomes v2.3); a file with no ID3 tag gets v2.4. A field holding several
values reads as them joined by ``"\\0"``, and a value with ``"\\0"`` in it is written as several
values, so that what is read can be written back as it was.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import mutagen
from mutagen import MutagenError
from mutagen.flac import FLAC
from mutagen.id3 import ID3, TCON, TMOO, TXXX, Encoding
from mutagen.mp4 import MP4FreeForm, MP4Tags
from mutagen.ogg import OggFileType

from tunetag.errors import ParameterError, TagWriteError

FIELD_NAME = re.compile(r"mood|genre|TUNETAG_[A-Z0-9_]+")
SEPARATOR = "\0"  # joins the values of a field that holds several
MP4_FREEFORM = "----:com.apple.iTunes:"


def read_fields(path: str | os.PathLike, names: Iterable[str]) -> dict[str, str | None]:
    """The current values of some fields of an audio file.

    Parameters
    ----------
    path : path-like
        An MP3, WAV, AIFF, FLAC, Ogg Vorbis, Opus or MP4/M4A file.
    names : iterable of str
        Field names: ``"mood"``, ``"genre"`` or ``"TUNETAG_<NAME>"`` (upper-case ASCII letters,
        digits and ``_``).

    Returns
    -------
    dict of str to str or None
        Field -> its value (several values joined by ``"\\0"``), None where the file lacks it.

    Raises
    ------
    ParameterError
        For a field name that is not one of the above.
    TagWriteError
        ``<path>: <reason>`` when the file is missing, not a tag format we write, or
        unparseable.
    """
    names = _checked_names(names)
    audio = _open(Path(path), Path(path))
    tags, kind, id3_version = _tags_of(audio, Path(path))
    return {name: _get(tags, _key(kind, name, id3_version)) for name in names}


def check_writable(path: str | os.PathLike) -> Path:
    """Refuse a file whose tags must not be written; return the real file behind any link.

    A file with no write permission bit is read-only for tunetag even where the operating
    system would let this user write it (root): the person marked it so.

    Parameters
    ----------
    path : path-like
        The audio file (a symbolic link is followed).

    Returns
    -------
    Path
        The file itself, symbolic links resolved.

    Raises
    ------
    TagWriteError
        ``<path>: file not found``, ``<path>: not a file`` or
        ``<path>: read-only file; not changed``.
    """
    real = Path(os.path.realpath(path))
    try:
        mode = real.stat().st_mode
    except FileNotFoundError as exc:
        raise TagWriteError(f"{path}: file not found") from exc
    except OSError as exc:
        raise TagWriteError(f"{path}: {exc.strerror or exc}") from exc
    if not real.is_file():
        raise TagWriteError(f"{path}: not a file")
    if mode & 0o222 == 0:
        raise TagWriteError(f"{path}: read-only file; not changed")
    return real


def write_fields(path: str | os.PathLike, values: Mapping[str, str | None]) -> None:
    """Set (or, with None, remove) some fields of an audio file, all or none of them.

    The tags are written into a copy of the file in the same folder, which is flushed to disk
    and then renamed over the original, so a crash or an error at any point leaves the
    original file as it was. The copy keeps the original's permission bits (and its owner
    where this user may set it); a symbolic link stays a link to the changed file. Only tag
    data changes: mutagen moves the audio frames but never alters them.

    Parameters
    ----------
    path : path-like
        The audio file (see `read_fields` for the formats).
    values : mapping of str to str or None
        Field name -> new value (``"\\0"`` separates several values), None to remove it.

    Raises
    ------
    ParameterError
        For a field name that is not ``mood``, ``genre`` or ``TUNETAG_<NAME>``.
    TagWriteError
        ``<path>: <reason>`` when the file is missing, read-only (no write permission bit),
        not a tag format we write, unparseable, or cannot be written (disk full, folder not
        writable).
    """
    _checked_names(values)
    path = Path(path)
    real = check_writable(path)
    audio_class = type(_open(real, path))
    stat = real.stat()
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    except OSError as exc:
        raise TagWriteError(f"{path}: cannot write in its folder ({exc.strerror or exc})") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copy2(real, tmp)
        copy = _open(tmp, path, audio_class)
        tags, kind, id3_version = _tags_of(copy, path)
        for name, value in values.items():
            _set(tags, _key(kind, name, id3_version), kind, value)
        if kind == "id3":
            copy.save(v2_version=id3_version)
        else:
            copy.save()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, stat.st_mode & 0o7777)
        _keep_owner(tmp, stat)
        os.replace(tmp, real)
    except (MutagenError, OSError, ValueError) as exc:
        raise TagWriteError(f"{path}: tags not written ({_reason(exc)})") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _checked_names(names: Iterable[str]) -> list[str]:
    names = list(names)
    bad = [name for name in names if not FIELD_NAME.fullmatch(name)]
    if bad:
        raise ParameterError(
            f"unknown tag fields {bad}; a field is mood, genre or TUNETAG_<NAME> "
            "(upper-case letters, digits, _)"
        )
    return names


def _open(real: Path, shown: Path, audio_class: type | None = None):
    """The file parsed by mutagen (as ``audio_class`` where given, else by its content)."""
    if not real.exists():
        raise TagWriteError(f"{shown}: file not found")
    if not real.is_file():
        raise TagWriteError(f"{shown}: not a file")
    try:
        audio = audio_class(real) if audio_class is not None else mutagen.File(real)
    except (MutagenError, OSError) as exc:
        raise TagWriteError(f"{shown}: cannot read its tags ({_reason(exc)})") from exc
    if audio is None:
        raise TagWriteError(f"{shown}: not an audio format whose tags tunetag writes")
    return audio


def _tags_of(audio, shown: Path) -> tuple[object, str, int]:
    """The file's tag container (created, in memory only, when it has none), its kind
    (``id3``, ``vorbis`` or ``mp4``) and the ID3 major version to save with (0 if not ID3).
    """
    if audio.tags is None:
        try:
            audio.add_tags()
        except (MutagenError, NotImplementedError) as exc:
            raise TagWriteError(
                f"{shown}: {type(audio).__name__} files hold no tags tunetag writes"
            ) from exc
    tags = audio.tags
    if isinstance(tags, ID3):
        return tags, "id3", 3 if tags.version[:2] in ((2, 2), (2, 3)) else 4
    if isinstance(audio, (FLAC, OggFileType)):
        return tags, "vorbis", 0
    if isinstance(tags, MP4Tags):
        return tags, "mp4", 0
    raise TagWriteError(f"{shown}: {type(audio).__name__} tags are not written by tunetag")


def _key(kind: str, name: str, id3_version: int) -> str:
    """The format's own key for an abstract field name."""
    if kind == "id3":
        if name == "mood":
            return "TMOO" if id3_version >= 4 else "TXXX:MOOD"
        return "TCON" if name == "genre" else f"TXXX:{name}"
    if kind == "vorbis":
        return name.upper()
    if name == "genre":
        return "\xa9gen"
    return MP4_FREEFORM + name.upper()


def _get(tags, key: str) -> str | None:
    if isinstance(tags, ID3):
        frame = tags.get(key)
        values = None if frame is None else [str(text) for text in frame.text]
    elif isinstance(tags, MP4Tags):
        raw = tags.get(key)
        values = None if raw is None else [_mp4_text(value) for value in raw]
    else:
        values = tags.get(key)
    return None if not values else SEPARATOR.join(values)


def _mp4_text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _set(tags, key: str, kind: str, value: str | None) -> None:
    if kind == "id3":
        tags.delall(key)
    elif key in tags:
        del tags[key]
    if value is None:
        return
    values = value.split(SEPARATOR)
    if kind == "id3":
        if key == "TMOO":
            tags.add(TMOO(encoding=Encoding.UTF8, text=values))
        elif key == "TCON":
            tags.add(TCON(encoding=Encoding.UTF8, text=values))
        else:
            tags.add(TXXX(encoding=Encoding.UTF8, desc=key.split(":", 1)[1], text=values))
    elif kind == "mp4" and key.startswith(MP4_FREEFORM):
        tags[key] = [MP4FreeForm(text.encode("utf-8")) for text in values]
    else:
        tags[key] = values


def _keep_owner(tmp: Path, stat: os.stat_result) -> None:
    """Give the copy the original's owner and group where this user may (root); else leave it."""
    if hasattr(os, "chown"):
        with contextlib.suppress(OSError):
            os.chown(tmp, stat.st_uid, stat.st_gid)


def _reason(exc: BaseException) -> str:
    """One line saying what went wrong, without the temporary file's name."""
    if isinstance(exc, MutagenError) and exc.args and isinstance(exc.args[0], OSError):
        exc = exc.args[0]  # mutagen wraps the operating system's errors
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return " ".join((text or type(exc).__name__).split())

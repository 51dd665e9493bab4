"""Read the tags a song file already carries, so the CSV starts with what the person has."""

from __future__ import annotations

import os

import mutagen
from mutagen import MutagenError
from mutagen.easyid3 import EasyID3
from mutagen.easymp4 import EasyMP4Tags
from mutagen.id3 import ID3

TAG_KEYS = ("title", "artist", "album", "genre", "mood")

# ID3 frames for files whose ID3 tag mutagen has no easy interface for (WAV, AIFF).
ID3_FRAMES = {"title": "TIT2", "artist": "TPE1", "album": "TALB", "genre": "TCON", "mood": "TMOO"}


def _id3_mood(id3: ID3, key: str) -> list[str]:
    """EasyID3 getter: ``TMOO`` (ID3v2.4), else ``TXXX:MOOD`` (ID3v2.3 has no mood frame)."""
    frame = id3.get("TMOO")
    if frame is None:
        frame = id3.get("TXXX:MOOD")
    if frame is None:
        raise KeyError(key)
    return list(frame.text)


EasyID3.RegisterTextKey("mood", "TMOO")
EasyID3.RegisterKey("mood", getter=_id3_mood)
EasyMP4Tags.RegisterFreeformKey("mood", "MOOD")


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The title, artist, album, genre, mood and duration a file's tags hold.

    Mood comes from the Vorbis/FLAC comment ``MOOD``, the ID3 frame ``TMOO`` (MP3, AIFF,
    WAV; else ``TXXX:MOOD``, where ID3v2.3 files hold it) or the MP4 freeform atom
    ``----:com.apple.iTunes:MOOD``. A file mutagen cannot parse gives empty strings rather
    than an error: whether it is usable audio is the decoder's call, and it reports that
    with the reason.

    Parameters
    ----------
    path : path-like
        An audio file.

    Returns
    -------
    dict of str to str
        Keys ``title``, ``artist``, ``album``, ``genre``, ``mood`` (the first value where a
        tag holds several; ``""`` if absent) and ``duration_s`` (seconds with three decimals,
        ``""`` if unknown).
    """
    found = dict.fromkeys((*TAG_KEYS, "duration_s"), "")
    try:
        audio = mutagen.File(path, easy=True)
    except (MutagenError, OSError):
        return found
    if audio is None:
        return found
    length = getattr(audio.info, "length", None)
    if length and length > 0:
        found["duration_s"] = f"{length:.3f}"
    if audio.tags is not None:
        for key in TAG_KEYS:
            found[key] = _first_value(audio.tags, key)
    return found


def _first_value(tags, key: str) -> str:
    """The first text value of ``key`` in any of mutagen's tag containers, or ``""``."""
    if isinstance(tags, ID3):
        frame = tags.get(ID3_FRAMES[key])
        if frame is None and key == "mood":
            frame = tags.get("TXXX:MOOD")
        if frame is None:
            return ""
        values = frame.genres if key == "genre" else frame.text
    else:
        values = tags.get(key)
    if values is None:
        return ""
    if isinstance(values, (list, tuple)):
        if not values:
            return ""
        values = values[0]
    return str(values).split("\0")[0].strip()

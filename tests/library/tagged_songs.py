"""Tiny tagged songs of every format tunetag tags, made at test time (shared by the tag tests)."""

from __future__ import annotations

from pathlib import Path

import av
import mutagen
import numpy as np
import pytest
import soundfile as sf
from mutagen.id3 import ID3, TCON, TIT2
from mutagen.mp4 import MP4
from signals import sine

HAS_MP3 = "MP3" in sf.available_formats()
FORMATS = [
    pytest.param(kind, marks=pytest.mark.skipif(not HAS_MP3, reason="libsndfile without MP3"))
    if kind.startswith("mp3")
    else kind
    for kind in ("mp3-v23", "mp3-v24", "flac", "ogg", "opus", "m4a", "wav")
]


def _tone(sr: int) -> np.ndarray:
    """Half a second of 440 Hz."""
    return sine(0.5, sr, 440.0, amplitude=0.4)


def make_song(folder: Path, kind: str, name: str | None = None, genre: str = "Jazz") -> Path:
    """A half-second tone of ``kind`` (``mp3-v23``, ``mp3-v24``, ``flac``, ``ogg``, ``opus``,
    ``m4a``, ``wav``) titled "Tone" and with the person's own ``genre``; the WAV is untagged.
    """
    suffix = kind.split("-")[0]
    path = folder / (name or f"song-{kind}.{suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == "m4a":
        with av.open(str(path), "w", format="ipod") as container:
            stream = container.add_stream("aac", rate=22050, layout="mono")
            frame = av.AudioFrame.from_ndarray(_tone(22050)[None], format="flt", layout="mono")
            frame.sample_rate, frame.pts = 22050, 0
            for packet in [*stream.encode(frame), *stream.encode(None)]:
                container.mux(packet)
        tags = MP4(path)
        tags["\xa9nam"], tags["\xa9gen"] = ["Tone"], [genre]
        tags.save()
    elif suffix == "opus":
        sf.write(path, _tone(48000), 48000, format="OGG", subtype="OPUS")
    elif suffix == "mp3":
        sf.write(path, _tone(22050), 22050, format="MP3")
        tags = ID3()
        tags.add(TIT2(encoding=3, text="Tone"))
        tags.add(TCON(encoding=3, text=genre))
        tags.save(path, v2_version=3 if kind == "mp3-v23" else 4)
    else:
        sf.write(path, _tone(22050), 22050)
    if suffix in ("flac", "ogg", "opus"):
        tags = mutagen.File(path)
        tags["TITLE"], tags["GENRE"] = "Tone", genre
        tags.save()
    return path

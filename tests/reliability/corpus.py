"""A music folder of everything a real library may hold that is not a clean song.

Every file is generated here, small and fast: `make_corpus` writes it and says what each
entry is and what tunetag must do with it. ``good`` entries are music (odd, but music:
silence, DC offset, clipping, 8 kHz mono, 96 kHz 6-channel, two hours, odd UTF-8 names) and must
come through every command; ``bad`` entries are no usable audio and must be reported in one
line naming the file; ``either`` entries (a cut-off file, garbage after a valid start) may
decode as far as they go or be reported, but never crash, hang or leave a NaN.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soundfile as sf
from PIL import Image
from signals import sine

SR = 22050
GOOD, BAD, EITHER = "good", "bad", "either"


@dataclass(frozen=True)
class Entry:
    """One file of the corpus: its path, what it is, and what must become of it."""

    path: Path
    what: str
    expect: str  # GOOD, BAD or EITHER


def music(duration_s: float, sr: int = SR, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A few seconds of chords with a beat: enough for every view to have something to see."""
    rng = np.random.default_rng(seed)
    y = sum(sine(duration_s, sr, hz, amplitude=0.15) for hz in (220.0, 277.2, 329.6))
    beat = sine(duration_s, sr, 2.0, amplitude=1.0) > 0  # a loud quarter second, a soft one
    y = y * (0.6 + 0.4 * beat) + 0.02 * rng.standard_normal(len(y))
    y = y.astype(np.float32)
    return y if channels == 1 else np.repeat(y[:, None], channels, axis=1)


def make_corpus(root: Path) -> list[Entry]:
    """Write the corpus under ``root / "music"``; return its entries (symlinks included)."""
    folder = root / "music"
    folder.mkdir(parents=True)
    entries: list[Entry] = []

    def add(name: str | bytes, what: str, expect: str) -> Path:
        path = Path(os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(name))))
        entries.append(Entry(path, what, expect))
        return path

    clean = music(8.0)
    for suffix in ("mp3", "flac", "ogg", "m4a", "wav"):
        add(f"empty.{suffix}", f"a zero-byte .{suffix}", BAD).write_bytes(b"")
    for suffix in ("mp3", "flac", "ogg", "m4a"):
        whole = _encoded(clean, SR, suffix)
        add(f"truncated.{suffix}", f"a .{suffix} cut at 40 %", EITHER).write_bytes(
            whole[: int(0.4 * len(whole))]
        )
    add("text.mp3", "a text file named .mp3", BAD).write_text("not audio\n" * 50)
    add("picture.flac", "a PNG image named .flac", BAD).write_bytes(_png())
    whole = _encoded(clean, SR, "flac")
    garbage = np.random.default_rng(1).bytes(len(whole) - 2048)
    add("garbage.flac", "a valid FLAC header, then random bytes", EITHER).write_bytes(
        whole[:2048] + garbage
    )
    add("silence.wav", "8 s of digital silence", GOOD).write_bytes(
        _wav(np.zeros(8 * SR, np.float32), SR)
    )
    add("dc-offset.wav", "music on a 0.4 DC offset", GOOD).write_bytes(_wav(clean * 0.5 + 0.4, SR))
    add("clipped.wav", "music driven 20 dB into clipping", GOOD).write_bytes(
        _wav(np.clip(clean * 10, -1, 1), SR)
    )
    nan = clean.copy()
    nan[SR : SR + 100] = np.nan
    add("nan.wav", "a float WAV holding NaN", BAD).write_bytes(_wav(nan, SR, "FLOAT"))
    inf = clean.copy()
    inf[2 * SR] = np.inf
    add("inf.wav", "a float WAV holding infinity", BAD).write_bytes(_wav(inf, SR, "FLOAT"))
    add("8k-mono.wav", "8 kHz mono", GOOD).write_bytes(_wav(music(8.0, 8000), 8000))
    add("96k-6ch.flac", "96 kHz, 6 channels", GOOD).write_bytes(
        _encoded(music(4.0, 96000, channels=6), 96000, "flac")
    )
    _two_hours(add("two-hours.wav", "a two-hour WAV (silence, sparse on disk)", GOOD))
    add("short.ogg", "0.3 s", BAD).write_bytes(_encoded(music(0.3), SR, "ogg"))
    for name in ("with space.ogg", "quotes 'single' \"double\".ogg", "new\nline.ogg"):
        add(name, f"a name with {name.split('.')[0]!r}", GOOD).write_bytes(
            _encoded(clean, SR, "ogg")
        )
    add(b"latin1-\xe9t\xe9.ogg", "a name that is not UTF-8", BAD).write_bytes(
        _encoded(clean, SR, "ogg")
    )
    (folder / "loop").symlink_to(folder, target_is_directory=True)  # a folder inside itself
    add("dangling.mp3", "a symlink to nothing", BAD).symlink_to(folder / "gone.mp3")
    add("folder.ogg", "a folder named like audio", BAD).mkdir()
    os.mkfifo(add("pipe.mp3", "a named pipe (reading it would wait forever)", BAD))
    return entries


def _encoded(y: np.ndarray, sr: int, suffix: str) -> bytes:
    """``y`` encoded as a ``suffix`` file, in memory."""
    if suffix == "m4a":
        return _aac(y, sr)
    formats = {
        "mp3": ("MP3", "MPEG_LAYER_III"),
        "flac": ("FLAC", "PCM_16"),
        "ogg": ("OGG", "VORBIS"),
    }
    file_format, subtype = formats[suffix]
    buffer = io.BytesIO()
    sf.write(buffer, y, sr, format=file_format, subtype=subtype)
    return buffer.getvalue()


def _aac(y: np.ndarray, sr: int) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=sr)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(y[None, :], format="fltp", layout="mono")
        frame.sample_rate = sr
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return buffer.getvalue()


def _wav(y: np.ndarray, sr: int, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, y, sr, format="WAV", subtype=subtype)
    return buffer.getvalue()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _two_hours(path: Path, sr: int = 8000) -> None:
    """A 16-bit mono WAV header for two hours, and a sparse file of zeros behind it."""
    data_bytes = 2 * 3600 * sr * 2
    header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sr, 2 * sr, 2, 16)
    header += b"data" + struct.pack("<I", data_bytes)
    with open(path, "wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + data_bytes)

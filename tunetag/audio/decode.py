"""Turn any audio file into mono float32 samples at one sample rate.

libsndfile (through soundfile) reads WAV, FLAC, OGG, AIFF and, in recent versions, MP3 quickly
and exactly; FFmpeg (through PyAV) reads the rest (M4A/AAC, Opus, MP3 on old libsndfile).
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import soundfile as sf
import soxr

from tunetag.audio.window import analysis_window, window_bounds
from tunetag.config import MAX_SAMPLE_MAGNITUDE, AudioConfig
from tunetag.errors import AudioDecodeError, ParameterError


def decode(
    path: str | os.PathLike, sr: int, offset_s: float = 0.0, duration_s: float | None = None
) -> np.ndarray:
    """Read an audio file, or one stretch of it, as mono float32 samples at ``sr`` Hz.

    Every view is computed from the same kind of signal whatever the file held: channels
    are averaged and the rate is converted with soxr (high quality) only when it differs.
    Only the stretch is decoded: libsndfile seeks to ``offset_s``, and FFmpeg seeks a
    little before it and places the decoded frames by their timestamps.

    Parameters
    ----------
    path : path-like
        The audio file (WAV, FLAC, OGG, AIFF, MP3, M4A/AAC, Opus, ...).
    sr : int
        Sample rate of the result in Hz.
    offset_s : float
        Where to start, in seconds from the start of the file.
    duration_s : float, optional
        How many seconds to read; to the end of the file by default.

    Returns
    -------
    np.ndarray, shape (samples,), float32
        The song (or stretch), about ``duration_s * sr`` samples long.

    Raises
    ------
    AudioDecodeError
        ``<path>: <reason>`` when the file is missing, empty, not audio, has no audio stream,
        holds no samples or holds non-finite samples.
    """
    path = _checked_file(path, sr)
    return _decode(path, _soundfile_info(path), sr, offset_s, duration_s)


def _checked_file(path: str | os.PathLike, sr: int) -> Path:
    """``path`` as a Path, once the rate is valid and the file exists, is not empty and
    may be read."""
    if int(sr) != sr or sr <= 0:
        raise ParameterError(f"sr must be a positive whole number of Hz, got {sr}")
    path = Path(path)
    if not path.exists():
        raise AudioDecodeError(f"{path}: file not found")
    if not path.is_file():
        raise AudioDecodeError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise AudioDecodeError(f"{path}: empty file (0 bytes)")
    try:  # the decoders would only say it is not audio
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise AudioDecodeError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return path


def _decode(path: Path, info, sr: int, offset_s: float, duration_s: float | None) -> np.ndarray:
    """`decode` of a checked file whose libsndfile header ``info`` (None: unreadable) is
    read already."""
    channels, sr_in = _read(path, info, offset_s, duration_s)
    if channels.shape[1] == 0:
        raise AudioDecodeError(f"{path}: no audio samples")
    y = channels[0] if len(channels) == 1 else _downmix(channels)
    peak = float(np.max(np.abs(y)))  # NaN when any sample is
    if not np.isfinite(peak):
        raise AudioDecodeError(f"{path}: non-finite samples (NaN or infinity)")
    if peak > MAX_SAMPLE_MAGNITUDE:
        raise AudioDecodeError(f"{path}: samples reach {peak:.3g}, far past full scale (1.0)")
    if sr_in != sr:
        y = soxr.resample(y, sr_in, int(sr), quality="HQ")
    return np.ascontiguousarray(y, dtype=np.float32)


def load_window(path: str | os.PathLike, audio: AudioConfig) -> np.ndarray:
    """Decode a song and return the stretch of it that is analysed.

    Parameters
    ----------
    path : path-like
        The audio file.
    audio : AudioConfig
        Sample rate (Hz), window length and position (seconds), shortest usable song
        (seconds).

    Returns
    -------
    np.ndarray, shape (samples,), float32
        At most ``audio.window_s * audio.sample_rate`` samples at ``audio.sample_rate`` Hz.

    Raises
    ------
    AudioDecodeError
        As `decode`, or ``<path>: too short (0.42 s < 1.0 s)`` for songs shorter than
        ``audio.min_duration_s``.
    """
    path = _checked_file(path, audio.sample_rate)
    info = _soundfile_info(path)
    start_s, length_s = 0.0, None
    total_s = _ffmpeg_duration_s(path) if info is None else _header_duration_s(info)
    if total_s is not None:  # the length is known: read the window alone
        start_s, end_s = window_bounds(total_s, audio.window_s, audio.window_position)
        length_s = end_s - start_s
    y = _decode(path, info, audio.sample_rate, start_s, length_s)
    duration_s = len(y) / audio.sample_rate
    if duration_s < audio.min_duration_s:
        raise AudioDecodeError(f"{path}: too short ({duration_s:.2f} s < {audio.min_duration_s} s)")
    return analysis_window(y, audio.sample_rate, audio.window_s, audio.window_position)


def _downmix(channels: np.ndarray) -> np.ndarray:
    """The average of the channels (a matrix product: ten times faster than ``mean``)."""
    weights = np.full(len(channels), 1.0 / len(channels), dtype=np.float32)
    return weights @ channels


def _read(path: Path, info, offset_s: float, duration_s: float | None) -> tuple[np.ndarray, int]:
    """Samples as (channels, samples) float32 and the file's rate, by the faster decoder.

    libsndfile first, except for Ogg Vorbis, which FFmpeg decodes about 1.3x faster than
    libvorbis (measured on real soundtracks); FFmpeg reads what libsndfile cannot (``info``
    None: libsndfile could not read the header).
    """
    if info is None:
        return _read_pyav(path, offset_s, duration_s)
    if info.subtype in _FFMPEG_FASTER:
        read = _read_pyav_checked(path, info, offset_s, duration_s)
        if read is not None:
            return read
    try:
        return _read_soundfile(path, offset_s, duration_s)
    except (sf.SoundFileError, RuntimeError):
        return _read_pyav(path, offset_s, duration_s)


def _read_pyav_checked(
    path: Path, info, offset_s: float, duration_s: float | None
) -> tuple[np.ndarray, int] | None:
    """FFmpeg's reading cut to the length libsndfile gives, or None where it fell short.

    The Ogg header's last granule position says exactly how many samples the song holds;
    FFmpeg ignores it on songs that fit in one Ogg page (a second or so) and returns up to a
    few hundred samples too many or too few.
    """
    try:
        channels, sr_in = _read_pyav(path, offset_s, duration_s)
    except AudioDecodeError:
        return None  # libsndfile may still read what FFmpeg refused
    start = int(round(offset_s * info.samplerate))
    expected = max(0, info.frames - start)
    if duration_s is not None:
        expected = min(expected, int(round(duration_s * info.samplerate)))
    if sr_in != info.samplerate or channels.shape[1] < expected:
        return None
    return channels[:, :expected], sr_in


# libsndfile subtypes FFmpeg decodes faster than libsndfile does
_FFMPEG_FASTER = frozenset({"VORBIS"})

# seconds decoded before a seek target and thrown away: decoders of transform codecs
# (Vorbis, AAC, MP3) need the previous frame to rebuild the first one exactly
_PREROLL_S = 1.0

_PLANAR_FLOAT = "fltp"  # FFmpeg's planar float32: one array per channel


def _soundfile_info(path: Path):
    """libsndfile's reading of the file's header, or None where it cannot read the file."""
    try:
        return sf.info(str(path))
    except (sf.SoundFileError, RuntimeError, OSError):
        return None


def _header_duration_s(info) -> float | None:
    """The song's length in seconds from libsndfile's header."""
    return info.frames / info.samplerate if info.samplerate > 0 else None


def _ffmpeg_duration_s(path: Path) -> float | None:
    """The audio stream's (else the container's) length as FFmpeg's demuxer reports it."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / av.time_base
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return None
    return None


def _read_soundfile(
    path: Path, offset_s: float = 0.0, duration_s: float | None = None
) -> tuple[np.ndarray, int]:
    """Samples as (channels, samples) float32 and the file's rate in Hz, via libsndfile."""
    with sf.SoundFile(str(path)) as handle:
        sr_in = int(handle.samplerate)
        start = int(round(offset_s * sr_in))
        if start:
            handle.seek(start)
        frames = -1 if duration_s is None else int(round(duration_s * sr_in))
        data = handle.read(frames, dtype="float32", always_2d=True)
    return data.T, sr_in


def _read_pyav(
    path: Path, offset_s: float = 0.0, duration_s: float | None = None
) -> tuple[np.ndarray, int]:
    """Samples as (channels, samples) float32 and the stream's rate in Hz, via FFmpeg.

    A stretch from ``offset_s`` seeks to ``_PREROLL_S`` before it and places each decoded
    frame by its timestamp, so it equals the same stretch cut from the whole song; where
    timestamps are missing or the seek overshoots, the song is decoded from the start.
    Packets FFmpeg cannot decode (a damaged frame in an otherwise good MP3) are skipped.
    """
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise AudioDecodeError(f"{path}: not a readable audio file") from exc
    with container:
        if not container.streams.audio:
            raise AudioDecodeError(f"{path}: no audio stream")
        stream = container.streams.audio[0]
        sr_in = stream.rate
        if not sr_in:
            raise AudioDecodeError(f"{path}: no audio samples")
        start = int(round(offset_s * sr_in))
        stop = None if duration_s is None else start + int(round(duration_s * sr_in))
        decoded = None
        if offset_s > _PREROLL_S:
            container.seek(int((offset_s - _PREROLL_S) * av.time_base))
            decoded = _decode_from(path, container, stream, stop, placed=True)
            if decoded is not None and decoded[1] > start:
                decoded = None  # the seek landed past the stretch
            if decoded is None:
                container.seek(0)
        if decoded is None:
            decoded = _decode_from(path, container, stream, stop, placed=False)
    channels, first = decoded
    return channels[:, start - first : None if stop is None else stop - first], int(sr_in)


def _decode_from(
    path: Path, container, stream, stop: int | None, *, placed: bool
) -> tuple[np.ndarray, int] | None:
    """Decode from where the container stands to sample ``stop`` (the end if None).

    Returns the samples as (channels, samples) and the song's sample number of the first,
    read from its timestamp when ``placed`` (None where it has none) and 0 otherwise.
    Frames already in planar float (what the Vorbis, MP3, AAC and Opus decoders give) are
    taken as they are, each channel's plane copied straight into one growing array: a
    conversion or an array per frame, then joined, cost more than the decoding itself
    (a 130 s window has some 9 000 frames).
    """
    planar = av.AudioResampler(format=_PLANAR_FLOAT)
    samples = _SampleBuffer()
    first = None
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.InvalidDataError:
                continue
            for frame in frames:
                if first is None:
                    first = _sample_number(frame, stream) if placed else 0
                    if first is None:
                        return None
                for out in (
                    [frame] if frame.format.name == _PLANAR_FLOAT else planar.resample(frame)
                ):
                    samples.add(out)
            if stop is not None and first is not None and first + samples.count >= stop:
                break
        else:
            for out in planar.resample(None):
                samples.add(out)
    except (av.FFmpegError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        raise AudioDecodeError(f"{path}: decoding failed ({reason})") from exc
    if not samples.count:
        raise AudioDecodeError(f"{path}: no audio samples")
    return samples.array(), first


class _SampleBuffer:
    """Planar float32 frames copied one after another into a (channels, samples) array that
    doubles when full; the first frame sets the channels."""

    def __init__(self) -> None:
        self.data = np.empty((0, 0), dtype=np.float32)
        self.count = 0

    def add(self, frame) -> None:
        """Append one planar float frame (its planes may hold padding past its samples)."""
        n, planes = frame.samples, frame.planes
        if not self.count:
            self.data = np.empty((len(planes), max(n, 1 << 16)), dtype=np.float32)
        elif len(planes) != len(self.data):
            raise ValueError(f"a frame of {len(planes)} channels after {len(self.data)}")
        if self.count + n > self.data.shape[1]:
            grown = np.empty((len(self.data), 2 * (self.count + n)), dtype=np.float32)
            grown[:, : self.count] = self.data[:, : self.count]
            self.data = grown
        for channel, plane in zip(self.data, planes, strict=True):
            channel[self.count : self.count + n] = np.frombuffer(plane, np.float32, n)
        self.count += n

    def array(self) -> np.ndarray:
        """The samples so far, (channels, samples)."""
        return self.data[:, : self.count]


def _sample_number(frame, stream) -> int | None:
    """The frame's first sample counted from the stream's first, from its timestamp."""
    if frame.pts is None or frame.time_base is None:
        return None
    origin = stream.start_time if stream.start_time is not None else 0
    seconds = (frame.pts - origin * stream.time_base / frame.time_base) * frame.time_base
    return int(round(seconds * stream.rate))

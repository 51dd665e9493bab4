"""A small synthesised music library to try tunetag on, since nothing may be downloaded.

Songs are built from chords, plucks, distorted power chords, bass and drums so that moods
differ the way real ones do: *mellow* songs are slow, soft, dark and sustained, over major
and major-seventh chords, with little percussion; *not mellow* songs are fast, loud, bright
and percussive, over minor or power chords. Every song varies its key, tempo, instruments,
level and stereo image at random, and about one in four takes one trait (level, timbre or
rhythm) from the other mood, so the classes overlap a little. Genres cross moods (folk and
electronic occur in both), and every artist keeps to one mood and one genre, so
artist-grouped splits are meaningful.

Layout::

    root/mellow/<artist> - <title>.flac|.ogg|.wav
    root/not mellow/<artist> - <title>.flac|.ogg|.wav

The folder is the mood label; TITLE, ARTIST, ALBUM, GENRE and TRACKNUMBER are tags in the
file (Vorbis comments in FLAC and Ogg, an ID3 chunk in WAV).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mutagen.flac import FLAC
from mutagen.id3 import TALB, TCON, TIT2, TPE1, TRCK
from mutagen.ogg import OggPage
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE
from scipy.signal import butter, fftconvolve, sosfilt

from tunetag.audio.encode import write_audio
from tunetag.errors import ParameterError
from tunetag.files.atomic import atomic_write_bytes
from tunetag.runtime.progress import progress_bar

MOODS = ("mellow", "not mellow")
GENRES_BY_MOOD = {
    "mellow": ("ambient", "folk", "electronic"),
    "not mellow": ("rock", "electronic", "folk"),
}
FORMATS = ("flac", "ogg", "wav")
_TRAITS = ("level", "timbre", "rhythm")  # what a borderline song takes from the other mood
_CEILING = 0.9  # peak level the soft limiter approaches; lossy coding may overshoot a bit
_OGG_SERIAL = 0x7475  # Ogg logical stream number, fixed so that files are byte-identical
_TABLE_SIZE = 4096  # samples per period in a sustained tone's wavetable (a power of 2)

_ADJECTIVES = (
    "Amber", "Quiet", "Northern", "Velvet", "Electric", "Paper", "Iron", "Hollow",
    "Silver", "Crimson", "Distant", "Neon",
)  # fmt: skip
_NOUNS = (
    "Harbour", "Lanterns", "Pines", "Static", "Foxes", "Orchard", "Engines", "Tides",
    "Sparrows", "Circuit", "Meadow", "Avenue",
)  # fmt: skip
_TITLE_WORDS = (
    "Morning", "Rain", "Glass", "River", "Fire", "Window", "Winter", "Road", "Light",
    "Shadow", "Signal", "Garden", "Motor", "Ocean", "Dust", "Echo", "Summer", "Wire",
)  # fmt: skip

# Chord shapes in semitones above the chord root.
_SHAPES = {
    "maj": (0, 4, 7),
    "maj7": (0, 4, 7, 11),
    "add9": (0, 4, 7, 14),
    "min": (0, 3, 7),
    "min7": (0, 3, 7, 10),
    "power": (0, 7, 12),
}
# Progressions as (semitones above the key, shape), one chord per bar.
_MELLOW_PROGRESSIONS = (
    ((0, "maj7"), (5, "maj7"), (9, "min7"), (7, "maj")),
    ((0, "add9"), (7, "maj"), (5, "maj7"), (0, "maj7")),
    ((0, "maj7"), (2, "min7"), (5, "maj7"), (7, "add9")),
)
_TENSE_PROGRESSIONS = (
    ((0, "min"), (8, "maj"), (10, "maj"), (0, "min")),
    ((0, "min7"), (5, "min"), (8, "maj"), (7, "min")),
    ((0, "min"), (3, "maj"), (10, "maj"), (5, "min")),
)
_POWER_PROGRESSIONS = (
    ((0, "power"), (5, "power"), (3, "power"), (10, "power")),
    ((0, "power"), (10, "power"), (8, "power"), (7, "power")),
)


@dataclass(frozen=True)
class _SongPlan:
    """Everything about one demo song except its samples."""

    mood: str
    genre: str
    artist: str
    album: str
    title: str
    track: int
    fmt: str
    channels: int
    sr: int
    seed: np.random.SeedSequence

    def filename(self) -> str:
        return f"{self.artist} - {self.title}.{self.fmt}"


# --- signal building blocks -------------------------------------------------------------


def _midi_hz(note: float) -> float:
    """Frequency in Hz of a MIDI note number (69 is A4, 440 Hz)."""
    return 440.0 * 2.0 ** ((note - 69) / 12)


def _filter(y: np.ndarray, sr: int, cutoff_hz: float, kind: str) -> np.ndarray:
    """Second-order Butterworth low- or high-pass along time (axis 0), clamped below Nyquist."""
    cutoff = min(cutoff_hz, 0.45 * sr)
    return sosfilt(butter(2, cutoff, btype=kind, fs=sr, output="sos"), y, axis=0)


def _unit(y: np.ndarray) -> np.ndarray:
    """``y`` scaled to an RMS of 1, so layers are mixed by explicit gains."""
    return y / (np.sqrt(np.mean(y**2)) + 1e-12)


def _harmonic_limit(freq_hz: float, sr: float, n_harmonics: int) -> int:
    """How many of ``n_harmonics`` stay below 0.45 of the sample rate, so nothing aliases."""
    return min(n_harmonics, max(1, int(0.45 * sr / freq_hz)))


def _periodic_tone(freq_hz: float, t: np.ndarray, n_harmonics: int, rolloff: float):
    """Harmonics of amplitude ``1 / h**rolloff``, read from a one-period wavetable (fast)."""
    sr = 1.0 / (t[1] - t[0])
    phase = np.arange(_TABLE_SIZE) / _TABLE_SIZE
    table = sum(
        np.sin(2 * np.pi * h * phase) / h**rolloff
        for h in range(1, _harmonic_limit(freq_hz, sr, n_harmonics) + 1)
    )
    return table[(freq_hz * _TABLE_SIZE * t).astype(np.int64) & (_TABLE_SIZE - 1)]


def _decaying_tone(freq_hz: float, t: np.ndarray, rolloff: float, decays: list[np.ndarray]):
    """Harmonics of amplitude ``1 / h**rolloff``, the h-th shaped by ``decays[h - 1]``.

    ``sin(h x)`` comes from the Chebyshev recurrence, so each harmonic costs a multiply-add.
    """
    sr = 1.0 / (t[1] - t[0])
    x = 2 * np.pi * freq_hz * t
    two_cos = 2 * np.cos(x)
    previous, current = np.zeros_like(t), np.sin(x)
    y = np.zeros_like(t)
    for h in range(1, _harmonic_limit(freq_hz, sr, len(decays)) + 1):
        y += current * decays[h - 1] / h**rolloff
        previous, current = current, two_cos * current - previous
    return y


def _saw(freq_hz: float, t: np.ndarray, detune_cents: float = 0.0) -> np.ndarray:
    """A naive (bright, slightly aliased) sawtooth in [-1, 1]."""
    f = freq_hz * 2 ** (detune_cents / 1200)
    return 2.0 * np.mod(f * t, 1.0) - 1.0


def _place(one_shot: np.ndarray, times_s: np.ndarray, gains: np.ndarray, n: int, sr: int):
    """An ``n``-sample track holding ``one_shot`` at each time (seconds), scaled by its gain."""
    track = np.zeros(n)
    for start, gain in zip(np.round(times_s * sr).astype(int), gains, strict=True):
        if 0 <= start < n:
            stop = min(n, start + one_shot.size)
            track[start:stop] += gain * one_shot[: stop - start]
    return track


def _sequence(events: list[tuple[float, float, float]], make: Callable, n: int, sr: int):
    """Render (time_s, midi_note, gain) events, making each distinct note's one-shot once."""
    track = np.zeros(n)
    if not events:
        return track
    times, notes, gains = (np.array(column) for column in zip(*events, strict=True))
    for note in np.unique(notes):
        chosen = notes == note
        track += _place(make(note), times[chosen], gains[chosen], n, sr)
    return track


# --- instruments ------------------------------------------------------------------------


class _Song:
    """The musical frame of one song (tempo, key, chords) and its instruments."""

    def __init__(self, rng: np.random.Generator, sr: int, duration_s: float, bpm: float):
        self.rng = rng
        self.sr = sr
        self.n = int(round(duration_s * sr))
        self.t = np.arange(self.n) / sr
        self.beat_s = 60.0 / bpm
        self.bar_s = 4 * self.beat_s
        self.n_bars = math.ceil(duration_s / self.bar_s)

    def chords(self, progressions, key: int) -> list[tuple[float, list[int]]]:
        """(bar start in seconds, midi notes) for every bar, cycling one progression."""
        progression = progressions[self.rng.integers(len(progressions))]
        bars = []
        for bar in range(self.n_bars):
            offset, shape = progression[bar % len(progression)]
            bars.append((bar * self.bar_s, [key + offset + step for step in _SHAPES[shape]]))
        return bars

    def pad(self, bars, attack_s: float, n_harmonics: int, cutoff_hz: float) -> np.ndarray:
        """Sustained chords that swell in over ``attack_s`` seconds and ring into the next bar."""
        local = self.t[: int((self.bar_s + 0.5 * attack_s) * self.sr)]
        envelope = np.minimum(1.0, local / attack_s) * np.minimum(1.0, (local[-1] - local) / 0.3)
        chords: dict[tuple[int, ...], np.ndarray] = {}
        y = np.zeros(self.n)
        for start, notes in bars:
            if tuple(notes) not in chords:
                segment = np.zeros_like(local)
                for note in notes:
                    for cents in (-6.0, 6.0):
                        freq = _midi_hz(note + 12 + cents / 100)
                        segment += _periodic_tone(freq, local, n_harmonics, rolloff=2.0)
                chords[tuple(notes)] = envelope * segment / len(notes)
            first = int(start * self.sr)
            stop = min(self.n, first + local.size)
            y[first:stop] += chords[tuple(notes)][: stop - first]
        return _filter(y, self.sr, cutoff_hz, "low")

    def pluck(
        self, bars, step_beats: float, n_harmonics: int, decay_per_s: float, attack_s: float
    ) -> np.ndarray:
        """Arpeggiated chord tones, like a picked guitar or a soft synth arpeggio."""
        events = []
        steps = int(round(4 / step_beats))
        for start, notes in bars:
            tones = sorted(notes) + [max(notes) + 12]
            for step in range(steps):
                note = tones[(step * 2 + step // 2) % len(tones)]
                gain = 0.8 + 0.2 * self.rng.random()
                events.append((start + step * step_beats * self.beat_s, note, gain))
        length = self.t[: int(1.5 * self.sr)]
        envelope = np.minimum(1.0, length / attack_s) * np.exp(-length * decay_per_s * 0.5)
        decays = [np.exp(-length * decay_per_s * h**0.6) for h in range(1, n_harmonics + 1)]

        def make(note):
            return envelope * _decaying_tone(_midi_hz(note), length, 1.0, decays)

        return _sequence(events, make, self.n, self.sr)

    def power_chords(self, bars, drive: float, cutoff_hz: float) -> np.ndarray:
        """Eighth-note distorted saw chords with sharp attacks, like an overdriven guitar."""
        events = []
        for start, notes in bars:
            for step in range(8):
                for note in notes:
                    gain = (1.0 if step % 2 == 0 else 0.75) * (0.9 + 0.1 * self.rng.random())
                    events.append((start + step * self.beat_s / 2, note + 12, gain))
        length = self.t[: int(self.beat_s / 2 * self.sr)]
        env = np.minimum(1.0, length / 0.003) * np.exp(-length / (self.beat_s * 0.6))

        def make(note):
            return env * (_saw(_midi_hz(note), length, -8) + _saw(_midi_hz(note), length, 8))

        y = _sequence(events, make, self.n, self.sr)
        y = np.tanh(drive * y / (np.abs(y).max() + 1e-9))
        return _filter(y, self.sr, cutoff_hz, "low")

    def stabs(self, bars, cutoff_hz: float) -> np.ndarray:
        """Off-beat bright saw chords, like a dance-music synth."""
        events = []
        for start, notes in bars:
            for beat in range(4):
                for note in notes:
                    events.append((start + (beat + 0.5) * self.beat_s, note + 12, 1.0))
        length = self.t[: int(0.35 * self.beat_s * self.sr)]
        env = np.minimum(1.0, length / 0.002) * np.exp(-length / (0.12 * self.beat_s))

        def make(note):
            return env * (_saw(_midi_hz(note), length, -10) + _saw(_midi_hz(note), length, 10))

        return _filter(_sequence(events, make, self.n, self.sr), self.sr, cutoff_hz, "low")

    def bass(self, bars, notes_per_bar: int, attack_s: float, n_harmonics: int) -> np.ndarray:
        """The chord root an octave down, on every ``4 / notes_per_bar`` beats."""
        events = []
        for start, notes in bars:
            for step in range(notes_per_bar):
                events.append((start + step * self.bar_s / notes_per_bar, min(notes) - 12, 1.0))
        length = self.t[: int(self.bar_s / notes_per_bar * self.sr)]
        env = np.minimum(1.0, length / attack_s) * np.minimum(1.0, (length[-1] - length) / 0.02)

        def make(note):
            return env * _periodic_tone(_midi_hz(note), length, n_harmonics, rolloff=1.5)

        return _sequence(events, make, self.n, self.sr)

    def drums(self, pattern: dict[str, tuple[float, ...]], swing_s: float) -> np.ndarray:
        """Kick, snare and hi-hat one-shots at the given beats of every bar (gains per hit)."""
        makers = {"kick": self._kick, "snare": self._snare, "hat": self._hat}
        y = np.zeros(self.n)
        for voice, beats in pattern.items():
            if not beats:
                continue
            bar_starts = np.arange(self.n_bars) * self.bar_s
            times = (bar_starts[:, None] + np.array(beats)[None, :] * self.beat_s).ravel()
            times = times + self.rng.normal(0.0, swing_s, times.size)
            gains = 0.85 + 0.15 * self.rng.random(times.size)
            y += _place(makers[voice](), times, gains, self.n, self.sr)
        return y

    def _kick(self) -> np.ndarray:
        t = self.t[: int(0.35 * self.sr)]
        freq = 48.0 + 110.0 * np.exp(-t / 0.035)
        body = np.sin(2 * np.pi * np.cumsum(freq) / self.sr) * np.exp(-t / 0.12)
        click = self.rng.standard_normal(t.size) * np.exp(-t / 0.002) * 0.5
        return body + click

    def _snare(self) -> np.ndarray:
        t = self.t[: int(0.25 * self.sr)]
        noise = _filter(self.rng.standard_normal(t.size), self.sr, 1200.0, "high")
        body = np.sin(2 * np.pi * 185 * t) * np.exp(-t / 0.04)
        return 0.8 * noise * np.exp(-t / 0.07) + 0.6 * body

    def _hat(self) -> np.ndarray:
        t = self.t[: int(0.08 * self.sr)]
        noise = _filter(self.rng.standard_normal(t.size), self.sr, 7000.0, "high")
        return 0.5 * noise * np.exp(-t / 0.018)

    def reverb_tail(self, y: np.ndarray, decay_s: float) -> np.ndarray:
        """The reverberation of ``y`` in a random room that decays 60 dB in ``decay_s`` seconds.

        Convolution with exponentially decaying low-passed noise; scaled to the RMS of ``y``.
        """
        t = self.t[: int(decay_s * self.sr)]
        impulse = self.rng.standard_normal(t.size) * np.exp(-t * 6.9 / decay_s)
        impulse = _filter(impulse, self.sr, 4000.0, "low")
        tail = fftconvolve(y.astype(np.float32), impulse.astype(np.float32))[: y.size]
        return tail * np.sqrt(np.mean(y**2) / (np.mean(tail**2) + 1e-12))


def _mellow_layers(song: _Song, genre: str, borrowed: str | None) -> dict[str, np.ndarray]:
    """Slow, soft, dark, sustained layers over major-seventh chords (unit RMS times a gain).

    ``borrowed`` is the trait taken from the other mood: "timbre" makes it bright, "rhythm"
    adds a drum kit.
    """
    rng = song.rng
    key = int(rng.integers(45, 57))
    bars = song.chords(_MELLOW_PROGRESSIONS, key)
    bright = borrowed == "timbre"
    harmonics = 8 if bright else int(rng.integers(2, 4))
    cutoff = (6000.0 if bright else 1400.0) + 1200.0 * rng.random()
    pad = _unit(song.pad(bars, 0.4 + 1.2 * rng.random(), harmonics, cutoff))
    layers = {"pad": pad}
    if genre == "folk":
        layers["pad"] = 0.5 * pad
        layers["pluck"] = 0.9 * _unit(song.pluck(bars, 1.0, harmonics + 2, 3.0, 0.01))
    elif genre == "electronic":
        layers["pluck"] = 0.5 * _unit(song.pluck(bars, 0.5, harmonics, 5.0, 0.03))
        pattern = {"kick": (0.0, 2.5), "hat": (1.0, 3.0)}
        layers["drums"] = 0.3 * _unit(song.drums(pattern, 0.004))
    if genre != "ambient" or rng.random() < 0.5:
        layers["bass"] = 0.6 * _unit(song.bass(bars, 1, 0.15, 2))
    if rng.random() < 0.3:
        layers["shaker"] = 0.05 * _unit(song.drums({"hat": (0.0, 1.0, 2.0, 3.0)}, 0.01))
    if borrowed == "rhythm":
        pattern = {"kick": (0.0, 2.0), "snare": (1.0, 3.0), "hat": tuple(np.arange(8) / 2)}
        layers["drums"] = 0.7 * _unit(song.drums(pattern, 0.004))
    return layers


def _tense_layers(song: _Song, genre: str, borrowed: str | None) -> dict[str, np.ndarray]:
    """Fast, bright, percussive layers over minor or power chords (unit RMS times a gain).

    ``borrowed`` is the trait taken from the other mood: "rhythm" leaves only a soft kick.
    """
    rng = song.rng
    key = int(rng.integers(40, 52))
    hats = tuple(np.arange(8) / 2) if rng.random() < 0.6 else tuple(np.arange(16) / 4)
    if genre == "rock":
        bars = song.chords(_POWER_PROGRESSIONS, key)
        drive, cutoff = 3.0 + 4.0 * rng.random(), 5000 + 3000 * rng.random()
        layers = {
            "guitar": _unit(song.power_chords(bars, drive, cutoff)),
            "bass": 0.7 * _unit(song.bass(bars, 8, 0.005, 6)),
        }
        pattern = {"kick": (0.0, 1.5, 2.0), "snare": (1.0, 3.0), "hat": hats}
    elif genre == "electronic":
        bars = song.chords(_TENSE_PROGRESSIONS, key)
        layers = {
            "stabs": 0.8 * _unit(song.stabs(bars, 6000 + 4000 * rng.random())),
            "arp": 0.5 * _unit(song.pluck(bars, 0.25, 10, 8.0, 0.002)),
            "bass": 0.8 * _unit(song.bass(bars, 8, 0.003, 8)),
        }
        pattern = {"kick": (0.0, 1.0, 2.0, 3.0), "snare": (1.0, 3.0), "hat": hats[1::2]}
    else:
        bars = song.chords(_TENSE_PROGRESSIONS, key)
        layers = {
            "strum": _unit(song.pluck(bars, 0.5, 12, 4.0, 0.002)),
            "bass": 0.7 * _unit(song.bass(bars, 4, 0.005, 5)),
        }
        pattern = {"kick": (0.0, 2.0), "snare": (1.0, 3.0), "hat": hats}
    if borrowed == "rhythm":
        pattern = {"kick": (0.0, 2.0)}
    layers["drums"] = (0.3 if borrowed == "rhythm" else 0.9) * _unit(song.drums(pattern, 0.003))
    return layers


def synthesise_song(
    mood: str, genre: str, duration_s: float, sr: int, rng: np.random.Generator, channels: int = 1
) -> np.ndarray:
    """Make one demo song of the given mood and genre.

    Parameters
    ----------
    mood : {"mellow", "not mellow"}
        Mellow: 60-85 BPM, soft, slow attacks, dark timbre, major chords, little percussion.
        Not mellow: 120-170 BPM, loud, sharp attacks, bright and distorted timbre, minor or
        power chords, a full drum kit.
    genre : str
        One of ``GENRES_BY_MOOD[mood]``; picks the instruments.
    duration_s : float
        Length in seconds (at least 1.0).
    sr : int
        Sample rate in Hz (8000-192000).
    rng : np.random.Generator
        Source of every random choice (key, tempo, mix, level, pan), so a seed fixes the song.
    channels : {1, 2}
        Mono or stereo; in stereo every instrument sits at its own random pan position.

    Returns
    -------
    np.ndarray of float32, shape (samples, channels)
        Soft-limited to peaks below 0.9.
    """
    if mood not in MOODS:
        raise ParameterError(f"mood must be one of {MOODS}, got {mood!r}")
    if genre not in GENRES_BY_MOOD[mood]:
        raise ParameterError(f"genre for {mood!r} must be one of {GENRES_BY_MOOD[mood]}")
    if channels not in (1, 2):
        raise ParameterError(f"channels must be 1 or 2, got {channels}")
    if duration_s < 1.0:
        raise ParameterError(f"duration_s must be at least 1.0 s, got {duration_s}")
    if not 8000 <= sr <= 192000:
        raise ParameterError(f"sr must be 8000-192000 Hz, got {sr}")
    mellow = mood == "mellow"
    # One song in four takes one trait (level, timbre or rhythm) from the other mood.
    borrowed = str(rng.choice(_TRAITS)) if rng.random() < 0.25 else None
    bpm = rng.uniform(60, 85) if mellow else rng.uniform(120, 170)
    song = _Song(rng, sr, duration_s, bpm)
    layers = (_mellow_layers if mellow else _tense_layers)(song, genre, borrowed)

    mix = np.zeros((song.n, channels))
    for name in sorted(layers):
        pan = 0.5 if name in ("bass", "drums") else rng.uniform(0.2, 0.8)
        pan_gains = (1.0,) if channels == 1 else (np.sqrt(2 * (1 - pan)), np.sqrt(2 * pan))
        level = rng.uniform(0.6, 1.0) if name not in ("pad", "bass") else 1.0
        for channel, pan_gain in enumerate(pan_gains):
            mix[:, channel] += level * pan_gain * layers[name]
    if mellow:
        tail = song.reverb_tail(mix.mean(axis=1), rng.uniform(1.2, 2.5))
        spread = int(0.011 * sr)  # the right channel's echo comes later: a wider room
        for channel in range(channels):
            shifted = np.roll(tail, channel * spread)
            shifted[: channel * spread] = 0.0
            mix[:, channel] = 0.7 * mix[:, channel] + 0.3 * shifted
    elif borrowed == "timbre":
        mix = _filter(mix, sr, rng.uniform(2500, 3500), "low")

    fade = np.minimum(1.0, np.minimum(song.t, song.t[-1] - song.t) / 0.5)
    mix *= fade[:, None]
    if mellow:
        level_db = rng.uniform(-30, -19) + (8.0 if borrowed == "level" else 0.0)
    else:
        level_db = rng.uniform(-20, -10) - (8.0 if borrowed == "level" else 0.0)
    mix *= 10 ** (level_db / 20) / (np.sqrt(np.mean(mix**2)) + 1e-12)
    mix = _CEILING * np.tanh(mix / _CEILING)  # soft limiting: loud songs get a little squashed
    return mix.astype(np.float32)


# --- the library ------------------------------------------------------------------------


def _artist_sizes(n_songs: int, rng: np.random.Generator) -> list[int]:
    """Split ``n_songs`` (at least 2) among artists of 2-4 songs each, about 3 on average."""
    n_artists = max(1, n_songs // 2) if n_songs <= 6 else math.ceil(n_songs / 3)
    sizes = [2] * n_artists
    for _ in range(n_songs - 2 * n_artists):
        open_artists = [index for index, size in enumerate(sizes) if size < 4]
        sizes[open_artists[rng.integers(len(open_artists))]] += 1
    return sizes


def _balanced(choices: tuple, n: int, rng: np.random.Generator):
    """``n`` picks that use every choice about equally often, in random order."""
    return iter(choices[i % len(choices)] for i in rng.permutation(n))


def _plan_library(songs_per_class: int, sr: int, seed: int) -> list[_SongPlan]:
    """Decide every song's artist, genre, title, format, channels and rate up front."""
    rng = np.random.default_rng(seed)
    adjectives = [_ADJECTIVES[i] for i in rng.permutation(len(_ADJECTIVES))]
    nouns = [_NOUNS[i] for i in rng.permutation(len(_NOUNS))]
    n_words = len(adjectives)  # == len(nouns); the first n_words artists share no word
    names = [
        f"{adjectives[i % n_words]} {nouns[(i + i // n_words) % n_words]}"
        for i in range(n_words**2)
    ]
    titles = [f"{a} {b}" for a in _TITLE_WORDS for b in _TITLE_WORDS if a != b]
    titles = [titles[i] for i in rng.permutation(len(titles))]
    seeds = iter(np.random.SeedSequence(seed).spawn(2 * songs_per_class))
    plans: list[_SongPlan] = []
    artist_index = 0
    for mood in MOODS:
        genres = list(GENRES_BY_MOOD[mood])
        formats = _balanced(FORMATS, songs_per_class, rng)
        channels = _balanced((1, 2), songs_per_class, rng)
        rates = _balanced((sr, 2 * sr), songs_per_class, rng)
        for position, size in enumerate(_artist_sizes(songs_per_class, rng)):
            lap, name_index = divmod(artist_index, len(names))
            artist = names[name_index] + (f" {lap + 1}" if lap else "")
            genre = genres[position % len(genres)]
            album = f"{titles[-1 - artist_index % len(titles)]} Sessions"
            artist_index += 1
            for track in range(1, size + 1):
                song_index = len(plans)
                title = titles[song_index % len(titles)] + (
                    f" {song_index // len(titles) + 1}" if song_index >= len(titles) else ""
                )
                plans.append(
                    _SongPlan(
                        mood=mood,
                        genre=genre,
                        artist=artist,
                        album=album,
                        title=title,
                        track=track,
                        fmt=next(formats),
                        channels=next(channels),
                        sr=next(rates),
                        seed=next(seeds),
                    )
                )
    return plans


def _encode(samples: np.ndarray, plan: _SongPlan) -> bytes:
    """The file's bytes: audio in ``plan.fmt`` with its tags written in."""
    buffer = io.BytesIO()
    if plan.fmt == "ogg":
        write_audio(buffer, samples, plan.sr, "OGG", "VORBIS")
    elif plan.fmt == "flac":
        write_audio(buffer, samples, plan.sr, "FLAC", "PCM_16")
    else:
        write_audio(buffer, samples, plan.sr, "WAV", "PCM_16")
    buffer.seek(0)
    if plan.fmt == "wav":
        tagged = WAVE(buffer)
        tagged.add_tags()
        for frame in (
            TIT2(encoding=3, text=plan.title),
            TPE1(encoding=3, text=plan.artist),
            TALB(encoding=3, text=plan.album),
            TCON(encoding=3, text=plan.genre),
            TRCK(encoding=3, text=str(plan.track)),
        ):
            tagged.tags.add(frame)
    else:
        tagged = (OggVorbis if plan.fmt == "ogg" else FLAC)(buffer)
        tagged["title"] = plan.title
        tagged["artist"] = plan.artist
        tagged["album"] = plan.album
        tagged["genre"] = plan.genre
        tagged["tracknumber"] = str(plan.track)
    buffer.seek(0)
    tagged.save(buffer)
    if plan.fmt == "ogg":
        return _with_fixed_serial(buffer.getvalue())
    return buffer.getvalue()


def _with_fixed_serial(ogg: bytes) -> bytes:
    """The Ogg stream with libsndfile's random serial number replaced by a fixed one.

    Without this, the same seed would give the same samples but different bytes.
    """
    source = io.BytesIO(ogg)
    pages = []
    while source.tell() < len(ogg):
        page = OggPage(source)
        page.serial = _OGG_SERIAL
        pages.append(page.write())
    return b"".join(pages)


def make_demo_library(
    root: Path,
    songs_per_class: int = 12,
    duration_s: float = 20.0,
    sr: int = 22050,
    seed: int = 0,
    progress: bool = True,
) -> list[Path]:
    """Synthesise a small tagged library of mellow and not-mellow songs under ``root``.

    ``tunetag scan root --label-from-folder mood`` reads the mood from the folder; genre,
    artist, album, title and track number are tags. Files already there with the same names
    are replaced; nothing else in ``root`` is touched.

    Parameters
    ----------
    root : Path
        Folder to write into; created if missing.
    songs_per_class : int
        Songs per mood (at least 2). Artists get 2-4 songs each: 4 or more songs give at
        least 2 artists per mood, 6 or more at least 3.
    duration_s : float
        Length of every song in seconds (at least 1.0).
    sr : int
        Sample rate in Hz of about half the songs; the rest are written at twice this rate
        (22050 and 44100 Hz by default), so decoding has to resample.
    seed : int
        Fixes every choice and every sample: the same seed gives the same songs.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    list of Path
        The files written, mellow songs first.
    """
    if songs_per_class < 2:
        raise ParameterError(f"songs_per_class must be at least 2, got {songs_per_class}")
    if duration_s < 1.0:
        raise ParameterError(f"duration_s must be at least 1.0 s, got {duration_s}")
    if not 8000 <= sr <= 96000:
        raise ParameterError(f"sr must be 8000-96000 Hz, got {sr}")
    root = Path(root)
    paths = []
    plans = _plan_library(songs_per_class, sr, seed)
    for plan in progress_bar(plans, desc="demo library", unit="song", disable=not progress):
        rng = np.random.default_rng(plan.seed)
        samples = synthesise_song(plan.mood, plan.genre, duration_s, plan.sr, rng, plan.channels)
        path = root / plan.mood / plan.filename()
        atomic_write_bytes(path, _encode(samples, plan))
        paths.append(path)
    return paths

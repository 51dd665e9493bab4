"""Every tunable setting, with its default, in one place.

A run folder saves its ``RunConfig`` as ``config.json``; ``predict`` reads it back, so a model
is never applied to features made differently from those it was trained on.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunetag.errors import ParameterError, SettingError

WINDOW_POSITIONS = ("centre", "start")
MAX_SAMPLE_MAGNITUDE = 1e4  # |sample| past this (80 dB over full scale) is not audio
EVERY_PATCH = "all"  # FeatureConfig.patches_per_window for every patch, whatever a model's own


@dataclass(frozen=True)
class AudioConfig:
    """How a file becomes the samples we analyse."""

    sample_rate: int = 22050  # Hz; every song is downmixed to mono and resampled to this
    window_s: float = 130.0  # seconds analysed per song (the proposal's 130 s)
    window_position: str = "centre"  # where the window sits: "centre" of the song or "start"
    min_duration_s: float = 1.0  # songs shorter than this are rejected as unusable

    def __post_init__(self) -> None:
        if not 8000 <= self.sample_rate <= 192000:
            raise SettingError("sample_rate", f"must be 8000-192000 Hz, got {self.sample_rate}")
        if self.window_s <= 0:
            raise SettingError("window_s", f"must be positive, got {self.window_s}")
        if self.window_position not in WINDOW_POSITIONS:
            raise SettingError(
                "window_position",
                f"must be one of {WINDOW_POSITIONS}, got {self.window_position!r}",
            )


MEL_SCALES = ("db", "logc")  # how mel power is compressed (see `MelConfig.scale`)


@dataclass(frozen=True)
class MelConfig:
    """The log-mel spectrogram: librosa's parameters, in samples and Hz."""

    n_fft: int = 2048  # samples per FFT frame (93 ms at 22050 Hz)
    hop_length: int = 512  # samples between frames (23 ms at 22050 Hz)
    n_mels: int = 128  # mel bands
    fmin: float = 0.0  # Hz, lowest band edge
    fmax: float | None = None  # Hz, highest band edge; None means sample_rate / 2
    top_db: float = 80.0  # dB below the peak where the log-mel is floored ("db" scale)
    scale: str = "db"  # "db": dB re full scale; "logc": log10(1 + 10000 x), musicnn's input

    def __post_init__(self) -> None:
        for name in ("n_fft", "hop_length", "n_mels"):
            if getattr(self, name) <= 0:
                raise SettingError(name, f"must be positive, got {getattr(self, name)}")
        if self.scale not in MEL_SCALES:
            raise ParameterError(
                f"unknown mel scale {self.scale!r}; known scales: {', '.join(MEL_SCALES)}"
            )


@dataclass(frozen=True)
class ChromaConfig:
    """The chromagram: energy per pitch class, on the mel's frame grid (n_fft, hop_length)."""

    n_chroma: int = 12  # pitch classes (rows)
    tuning: float | None = 0.0  # deviation from A440 in fractions of a bin; None estimates it


@dataclass(frozen=True)
class TempogramConfig:
    """The tempogram: local autocorrelation of onset strength, on the mel's frame grid.

    Half librosa's default window: lags up to 4.5 s still cover every tempo above 13 BPM,
    and a CNN branch over 192 rows costs half what 384 would.
    """

    win_length: int = 192  # onset frames per autocorrelation window (rows; 4.5 s at 22050/512)


@dataclass(frozen=True)
class WaveformConfig:
    """The waveform view: the proposal's waveform picture as a frame-rate amplitude envelope."""

    floor_db: float = -80.0  # dB re full scale; quieter frames are clipped to this


DEFAULT_TAGGER = "MSD_musicnn"  # its 50 tags include mood words: Mellow, chill, sad, happy
MUSICNN_EMBEDDING_UNITS = 200  # musicnn's penultimate dense layer: the embedding's rows


@dataclass(frozen=True)
class MusicnnConfig:
    """The pretrained tagger's embedding view: one 200-value column per 3 s of the window."""

    tagger: str = DEFAULT_TAGGER  # MSD_musicnn (Million Song Dataset) or MTT_musicnn


@dataclass(frozen=True)
class FeatureConfig:
    """Everything that decides the cached arrays: decoding, window and views.

    Every frame-based view shares the mel's ``n_fft`` and ``hop_length``, so their frames
    line up and a crop takes the same seconds of every view. The ``musicnn`` view has one
    column per 3 s instead, so only models that summarise a whole song read it.
    """

    audio: AudioConfig = field(default_factory=AudioConfig)
    mel: MelConfig = field(default_factory=MelConfig)
    chroma: ChromaConfig = field(default_factory=ChromaConfig)
    tempogram: TempogramConfig = field(default_factory=TempogramConfig)
    waveform: WaveformConfig = field(default_factory=WaveformConfig)
    musicnn: MusicnnConfig = field(default_factory=MusicnnConfig)
    views: tuple[str, ...] = ("mel",)  # which views are computed, cached and fed to a model
    # 3 s patches per window the per-patch views (musicnn-*, descriptors) read, evenly
    # spaced (a tagger costs 40 ms a patch on one core); EVERY_PATCH: all of them; None: the
    # model's own choice (`auto`'s), every patch for a model without one; see `patches_read`
    patches_per_window: int | str | None = None

    def __post_init__(self) -> None:
        wanted = self.patches_per_window
        if wanted in (None, EVERY_PATCH):
            return
        if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 1:
            raise SettingError(
                "patches_per_window", f"must be 1 or more, {EVERY_PATCH!r} or None, got {wanted!r}"
            )

    @property
    def patches_read(self) -> int | None:
        """The patches a window's per-patch views read; None for every one."""
        wanted = self.patches_per_window
        return None if wanted in (None, EVERY_PATCH) else int(wanted)

    def frames_per_second(self) -> float:
        """Frame rate of the frame-based views, in frames per second."""
        return self.audio.sample_rate / self.mel.hop_length


# What the pretrained musicnn taggers were trained on: 16 kHz, 512-point FFT, hop 256 (187
# frames in 3 s), 96 mel bands, log10(1 + 10000 x); the 130 s window as every other view.
MUSICNN_FEATURES = FeatureConfig(
    audio=AudioConfig(sample_rate=16000),
    mel=MelConfig(n_fft=512, hop_length=256, n_mels=96, scale="logc"),
    views=("mel",),
)


@dataclass(frozen=True)
class TrainConfig:
    """How a network is trained and validated."""

    model: str = "auto"  # registered model name (`tunetag.models.available()`); auto chooses
    tasks: tuple[str, ...] = ("mood",)  # CSV label columns, one head each
    crop_s: float = 3.0  # seconds per training crop for crop-based models
    crops_per_song: int = 8  # random crops drawn from each training song per epoch
    batch_size: int | None = (
        None  # examples per step; None: the model's own (`seed`: 8, as proposed)
    )
    epochs: int = 40  # most passes over the training songs
    patience: int = 8  # epochs without a better validation loss before stopping early
    learning_rate: float | None = None  # AdamW step size; None: the model's own default
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    val_fraction: float = 0.25  # share of songs (whole artists) held out for validation
    folds: int | None = (
        None  # k of artist-grouped stratified k-fold; 1: one split; None: the model's
    )
    time_budget_s: float | None = None  # seconds `auto` may spend choosing; None: no limit
    augment_gain_db: float = 0.0  # random gain of up to +-this many dB per crop; 0 is off
    augment_time_masks: int = 1  # SpecAugment masks across time per crop; 0 is off
    augment_freq_masks: int = 1  # SpecAugment masks across rows (bands, bins) per crop; 0 is off
    augment_mask_fraction: float = 0.1  # widest mask, as a share of the crop's frames or rows
    mixup_alpha: float = 0.0  # mixup of crops and targets with Beta(alpha, alpha); 0 is off
    group_by: str = "artist"  # CSV column whose values never straddle the split
    seed: int = 0  # random seed for the split, crops and initialisation

    def __post_init__(self) -> None:
        if not self.tasks:
            raise SettingError("tasks", "must name at least one label column")
        twice = sorted({task for task in self.tasks if self.tasks.count(task) > 1})
        if twice:
            raise SettingError("tasks", f"names {', '.join(map(repr, twice))} more than once")
        if self.folds is not None and self.folds < 1:
            raise SettingError("folds", f"must be 1 (one split) or more, got {self.folds}")
        for name in ("augment_gain_db", "mixup_alpha", "augment_time_masks", "augment_freq_masks"):
            if getattr(self, name) < 0:
                raise SettingError(name, f"must be 0 (off) or more, got {getattr(self, name)}")
        if not 0 < self.augment_mask_fraction < 1:
            raise SettingError(
                "augment_mask_fraction", f"must be in (0, 1), got {self.augment_mask_fraction}"
            )
        if not 0 < self.val_fraction < 1:
            raise SettingError("val_fraction", f"must be in (0, 1), got {self.val_fraction}")
        for name in ("crop_s", "crops_per_song", "epochs", "patience"):
            if getattr(self, name) <= 0:
                raise SettingError(name, f"must be positive, got {getattr(self, name)}")
        for name in ("batch_size", "time_budget_s", "learning_rate"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise SettingError(name, f"must be positive, got {getattr(self, name)}")


@dataclass(frozen=True)
class RunConfig:
    """What a run folder's ``config.json`` holds: the features and the training."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (tuples become lists)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """The config as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Rebuild a config saved by `to_dict`; unknown keys are an error."""
        try:
            feats = data["features"]
            features = FeatureConfig(
                audio=AudioConfig(**feats["audio"]),
                mel=MelConfig(**feats["mel"]),
                chroma=ChromaConfig(**feats["chroma"]),
                tempogram=TempogramConfig(**feats["tempogram"]),
                waveform=WaveformConfig(**feats["waveform"]),
                musicnn=MusicnnConfig(**feats.get("musicnn", {})),  # runs before it had none
                views=tuple(feats["views"]),
                patches_per_window=feats.get("patches_per_window"),  # runs before it had none
            )
            train = dict(data["train"])
            train["tasks"] = tuple(train["tasks"])
            return cls(features=features, train=TrainConfig(**train))
        except (KeyError, TypeError) as exc:
            raise ParameterError(f"config does not match this version of tunetag: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        """Parse `to_json` output."""
        return cls.from_dict(json.loads(text))


def default_cache_dir() -> Path:
    """Where cached views live unless told otherwise: ``$TUNETAG_CACHE`` or ~/.cache/tunetag.

    Keys are content-addressed, so one cache safely serves every CSV and every run.
    """
    env = os.environ.get("TUNETAG_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tunetag"

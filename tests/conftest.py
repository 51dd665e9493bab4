"""Fixtures shared by every test folder: short generated audio, never downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
from signals import sine

from tunetag.demo.library import make_demo_library
from tunetag.library.scan import scan


@pytest.fixture(autouse=True)
def private_feature_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test's default feature cache out of the user's home folder."""
    cache = tmp_path / "default-cache"
    monkeypatch.setenv("TUNETAG_CACHE", str(cache))
    return cache


@pytest.fixture
def write_audio(tmp_path: Path):
    """Factory: write a sine file and return its path (format from the suffix)."""

    def _write(
        name: str,
        duration_s: float = 2.0,
        sr: int = 22050,
        channels: int = 1,
        freq_hz: float = 440.0,
        folder: Path | None = None,
    ) -> Path:
        path = (folder or tmp_path) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, sine(duration_s, sr, freq_hz, channels=channels), sr)
        return path

    return _write


@pytest.fixture(scope="session")
def mood_library(tmp_path_factory):
    """Factory: a demo library in mood folders and its song CSV, mood from the folders;
    returns the folder holding ``music/`` and ``songs.csv``."""

    def _make(name: str, songs_per_class: int, duration_s: float, seed: int) -> Path:
        root = tmp_path_factory.mktemp(name)
        make_demo_library(
            root / "music", songs_per_class=songs_per_class, duration_s=duration_s, seed=seed,
            progress=False,
        )  # fmt: skip
        scan(root / "music", root / "songs.csv", label_from_folder="mood", progress=False)
        return root

    return _make

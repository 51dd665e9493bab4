"""Fixtures shared by every test folder: short generated audio, never downloaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import soundfile as sf
from signals import sine

from tunetag.demo.library import make_demo_library
from tunetag.features.librosa_import import librosa_loaded
from tunetag.library.scan import scan

# Files of other owners that take minutes, marked slow here until they carry
# ``pytestmark = pytest.mark.slow`` themselves: `make check` leaves them out.
SLOW_FILES = {"test_end_to_end.py"}  # the whole pipeline through the command line


def pytest_configure(config: pytest.Config) -> None:
    """Import librosa under tunetag's machine-wide lock before any test module imports it
    plainly: the test processes (pytest-xdist) would otherwise compile numba's cache at the
    same time on a fresh install, and a torn cache segfaults (`librosa_loaded`)."""
    librosa_loaded()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


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


def _files(root: Path, *names: str) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` (or under its ``names``): relative path -> (size, mtime)."""
    tops = [root / name for name in names] if names else [root]
    found = {}
    for top in tops:
        for path in top.rglob("*") if top.is_dir() else [top]:
            if path.is_file():
                stat = path.stat()
                found[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


@pytest.fixture(scope="session")
def mood_library(tmp_path_factory):
    """Factory: a demo library in mood folders and its song CSV, mood from the folders;
    returns the folder holding ``music/`` and ``songs.csv``.

    Each library (songs per class, duration, seed) is built once a session and shared by
    every test that asks for the same one (``name`` names the folder it is first built in).
    So a test reads it and writes its runs and caches in a folder of its own; to change a
    song or the CSV it changes a copy (``copy_library``). The session ends in an error if
    a shared library's music or CSV changed."""
    built: dict[tuple[int, float, int], tuple[Path, dict]] = {}

    def _make(name: str, songs_per_class: int, duration_s: float, seed: int) -> Path:
        key = (songs_per_class, float(duration_s), seed)
        if key not in built:
            root = tmp_path_factory.mktemp(name)
            make_demo_library(
                root / "music", songs_per_class=songs_per_class, duration_s=duration_s,
                seed=seed, progress=False,
            )  # fmt: skip
            scan(root / "music", root / "songs.csv", label_from_folder="mood", progress=False)
            built[key] = root, _files(root, "music", "songs.csv")
        return built[key][0]

    yield _make
    for root, files in built.values():
        assert _files(root, "music", "songs.csv") == files, f"a test changed {root}"


@pytest.fixture(scope="session")
def copy_library():
    """Function: copy a library's ``music/`` and ``songs.csv`` into the folder ``to`` (its
    paths are relative, so the copy's CSV names the copy's songs); returns ``to``."""

    def _copy(root: Path, to: Path) -> Path:
        shutil.copytree(root / "music", to / "music", symlinks=True)
        shutil.copy2(root / "songs.csv", to / "songs.csv")
        return to

    return _copy


@pytest.fixture(scope="session")
def small_library(mood_library) -> Path:
    """Eight 6 s demo songs, four of each mood (seed 2): what `logreg_run` learnt."""
    return mood_library("small", songs_per_class=4, duration_s=6.0, seed=2)


@pytest.fixture(scope="session")
def logreg_run(small_library, tmp_path_factory):
    """A logistic-regression run (one split) on the mood of `small_library`, trained once a
    session and shared (a `RunFolder`): read it, never write into it; the session ends in an
    error if its files changed."""
    from tunetag.config import RunConfig, TrainConfig  # only for the tests that use it:
    from tunetag.steps.train import train  # importing torch takes seconds

    folder = tmp_path_factory.mktemp("logreg")
    config = RunConfig(train=TrainConfig(model="logreg", tasks=("mood",)))
    run = train(
        small_library / "songs.csv", folder / "run", config, cache_dir=folder / "cache",
        progress=False,
    )  # fmt: skip
    files = _files(run.path)
    yield run
    assert _files(run.path) == files, f"a test changed {run.path}"


@pytest.fixture(scope="session")
def link_library():
    """Function: like ``copy_library``, but each song in ``to/music`` is a symbolic link to
    the shared library's file. The feature cache keys a song by its resolved path, size and
    mtime, so every linked copy of one library shares one cache's arrays (``shared_cache``);
    a test that changes a song's bytes replaces its link first (``path.unlink()``)."""

    def _link(root: Path, to: Path) -> Path:
        for song in sorted((root / "music").rglob("*")):
            link = to / "music" / song.relative_to(root / "music")
            if song.is_dir():
                link.mkdir(parents=True, exist_ok=True)
            else:
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(song)
        shutil.copy2(root / "songs.csv", to / "songs.csv")
        return to

    return _link


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One feature cache folder for the session: the tests that prepare the same (linked)
    songs under the same settings compute their views once and read them after."""
    return tmp_path_factory.mktemp("shared-cache")


@pytest.fixture(scope="session")
def http():
    """An HTTP client for tests that send many requests: ``httpx2.post`` and the like build
    a client, TLS context included (some 20 ms), for every call; this one is built once. It
    keeps no connection alive, so each request goes on a connection of its own, as theirs."""
    import httpx2

    with httpx2.Client(limits=httpx2.Limits(max_keepalive_connections=0)) as client:
        yield client

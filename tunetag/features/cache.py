"""The on-disk cache of views: one .npy file per song and view, content-addressed.

A key hashes the file's identity (resolved path, size, modification time), the decode
settings and the settings that decide the view's array (`View.settings`: for a frame view
the frame grid, the mel's settings, and its own; ``musicnn-msd`` its tagger, ``descriptors``
their fixed analysis), so a changed setting or an edited file can never reuse a stale array,
while changing one view's settings or the list of views leaves the other views' arrays in
place.

A file whose tags were written, or that was moved or copied, has a new identity but the same
audio. Before computing a song's missing views, extraction calls `FeatureCache.adopt`: it
names the audio by its fingerprint (`tunetag.audio.fingerprint`) and, where that audio was
cached under another identity, links the new identity to it (``songs/file/``), so the song
keeps its arrays; otherwise it records the identity as the audio's (``songs/audio/``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from tunetag.audio.fingerprint import audio_fingerprint
from tunetag.config import FeatureConfig
from tunetag.errors import AudioDecodeError, ParameterError
from tunetag.features.views import VIEWS
from tunetag.files.atomic import atomic_open

# bump when a cached array changes (2: mel in dBFS, 3: window read alone, 4: float32 STFT,
# Ogg Vorbis through FFmpeg, the mel's scale in the key)
CACHE_FORMAT_VERSION = 4


class FeatureCache:
    """Views of songs stored under ``root / view / key[:2] / key.npy``.

    Parameters
    ----------
    root : path-like
        Folder of the cache; created on the first save.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def key(self, audio_path: str | os.PathLike, features: FeatureConfig, view: str) -> str:
        """The sha256 hex digest naming one view of one song under one set of settings.

        The key covers ``features.audio`` and what `View.settings` says decides the view:
        by default ``features.mel`` (the frame grid: n_fft and hop_length) and the view's own
        settings (``features.chroma`` for ``"chroma"``, ...), as every key before that field
        was; a view at a fixed analysis names that instead (``"descriptors"``) and one of a
        fixed network its tagger (``"musicnn-msd"``). Other views' settings and
        ``features.views`` are left out on purpose: adding a view or retuning one keeps the
        others' keys.

        Raises
        ------
        ParameterError
            When ``view`` is not one of `tunetag.features.views.view_names`.
        AudioDecodeError
            ``<path>: file not found`` when the audio file is missing or unreadable.
        """
        if view not in VIEWS:
            raise ParameterError(f"unknown view {view!r}; known views: {', '.join(VIEWS)}")
        identity = {
            "format": CACHE_FORMAT_VERSION,
            **self._song_identity(audio_path),
            "audio": dataclasses.asdict(features.audio),
            "view": view,
            **_view_settings(view, features),
        }
        text = json.dumps(identity, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _song_identity(self, audio_path: str | os.PathLike) -> dict[str, object]:
        """The identity the song's keys are made of: the file's own (resolved path, size,
        modification time), or the one `adopt` linked it to.

        Raises
        ------
        AudioDecodeError
            ``<path>: file not found`` when the audio file is missing or unreadable.
        """
        identity = _file_identity(audio_path)
        return _read_identity(self._link_path(identity)) or identity

    def adopt(self, audio_path: str | os.PathLike) -> bool:
        """Give the file the arrays cached for the same audio under another identity (before
        its tags were written, or at another path); True when it was linked to them.

        Otherwise the file's identity is recorded as its audio's, for the copies to come. A
        file FFmpeg cannot read is left as it is. The fingerprint demuxes the whole file, so
        this is for songs about to be computed, not for every lookup.

        Raises
        ------
        AudioDecodeError
            ``<path>: file not found`` when the audio file is missing or unreadable.
        """
        identity = _file_identity(audio_path)
        link = self._link_path(identity)
        if _read_identity(link) is not None:
            return False
        try:
            fingerprint = audio_fingerprint(audio_path)
        except AudioDecodeError:
            return False
        record = self.root / "songs" / "audio" / fingerprint[:2] / f"{fingerprint}.json"
        known = _read_identity(record)
        if known is None:
            _write_identity(record, identity)
            return False
        if known == identity:
            return False
        _write_identity(link, known)
        return True

    def _link_path(self, identity: dict[str, object]) -> Path:
        name = hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()
        return self.root / "songs" / "file" / name[:2] / f"{name}.json"

    def path_for(self, audio_path: str | os.PathLike, features: FeatureConfig, view: str) -> Path:
        """Where the view of this song under these settings is (or would be) stored."""
        key = self.key(audio_path, features, view)
        return self.root / view / key[:2] / f"{key}.npy"

    def load(
        self, audio_path: str | os.PathLike, features: FeatureConfig, view: str
    ) -> np.ndarray | None:
        """The cached view, memory-mapped read-only, or None when missing or unreadable.

        Raises
        ------
        AudioDecodeError
            When the audio file itself is missing (see `key`).
        """
        try:
            return np.load(self.path_for(audio_path, features, view), mmap_mode="r")
        except (OSError, ValueError, EOFError):
            return None

    def save(
        self,
        audio_path: str | os.PathLike,
        features: FeatureConfig,
        view: str,
        array: np.ndarray,
    ) -> Path:
        """Store a view atomically and return the path of its .npy file.

        Not fsynced: a file a power cut tore reads as missing (`load` gives None) and is
        computed again, and the flush would cost every song a disk round trip.
        """
        path = self.path_for(audio_path, features, view)
        with atomic_open(path, "wb", durable=False) as handle:
            np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        return path


def _file_identity(audio_path: str | os.PathLike) -> dict[str, object]:
    """The file's resolved path, size and modification time: what its keys name."""
    path = Path(audio_path)
    try:
        resolved = path.resolve()
        stat = resolved.stat()
    except FileNotFoundError as exc:
        raise AudioDecodeError(f"{path}: file not found") from exc
    except OSError as exc:
        raise AudioDecodeError(f"{path}: {exc.strerror or 'cannot read file'}") from exc
    return {"path": str(resolved), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _read_identity(path: Path) -> dict[str, object] | None:
    """An identity stored by `FeatureCache.adopt`, or None when missing or unreadable."""
    try:
        identity = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(identity, dict) or set(identity) != {"path", "size", "mtime_ns"}:
        return None
    return identity


def _write_identity(path: Path, identity: dict[str, object]) -> None:
    with atomic_open(path, "w", durable=False) as handle:
        json.dump(identity, handle, sort_keys=True)


def _view_settings(view: str, features: FeatureConfig) -> dict[str, object]:
    """The key's entries that decide the view; for a view without `View.settings` the same
    entries as before that field existed, so the arrays already cached keep their keys."""
    settings = VIEWS[view].settings
    if settings is None:
        return {
            "mel": dataclasses.asdict(features.mel),
            "settings": dataclasses.asdict(getattr(features, view)),
        }
    return {"settings": settings(features)}

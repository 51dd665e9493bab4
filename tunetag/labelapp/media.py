"""What the page plays and shows for a song: audio a browser can play, and its spectrogram."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from tunetag.audio.decode import decode, load_window
from tunetag.audio.encode import write_audio
from tunetag.config import FeatureConfig
from tunetag.errors import AudioDecodeError
from tunetag.features.cache import FeatureCache
from tunetag.features.image import seed_image
from tunetag.features.views import compute_view
from tunetag.files.atomic import atomic_open

BROWSER_TYPES = {  # extensions every current browser plays -> the media type sent with them
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".aac": "audio/aac",
    ".webm": "audio/webm",
}
LISTEN_RATE = 44100  # Hz of a transcode: full bandwidth for listening
IMAGE_SIZE = (256, 1024)  # height, width in pixels of the page's spectrogram

_transcoding = threading.Lock()  # one transcode at a time: they are CPU-heavy and rare


def playable_audio(path: Path, cache_dir: Path) -> tuple[Path, str, str | None]:
    """The file to send for a song: itself when a browser plays it, else an Ogg Vorbis copy.

    The copy (mono, 44.1 kHz) is made once and kept in ``cache_dir / "listen"``, named by the
    file's path, size and modification time, so seeking in it works like in any file.

    Parameters
    ----------
    path : Path
        The song's audio file.
    cache_dir : Path
        tunetag's cache folder.

    Returns
    -------
    (Path, str, str or None)
        The file to send, its media type, and a note for the page when it is a transcode.

    Raises
    ------
    AudioDecodeError
        If the file is missing or cannot be decoded.
    """
    if not path.is_file():
        raise AudioDecodeError(f"{path}: file not found")
    media_type = BROWSER_TYPES.get(path.suffix.lower())
    if media_type is not None:
        return path, media_type, None
    copy = cache_dir / "listen" / f"{_file_identity(path)}.ogg"
    with _transcoding:
        if not copy.exists():
            samples = decode(path, LISTEN_RATE)
            with atomic_open(copy, "wb") as handle:
                write_audio(handle, samples, LISTEN_RATE, "OGG", "VORBIS")
    return copy, "audio/ogg", f"transcoded from {path.suffix.lower()} for the browser"


def spectrogram_png(path: Path, features: FeatureConfig, cache: FeatureCache) -> bytes:
    """The mel-spectrogram of a song's analysis window as a PNG, low bands at the bottom.

    The mel view comes from the feature cache when ``tunetag extract`` has made it, and is
    stored there when it has not, so labelling also warms the cache for training.

    Raises
    ------
    AudioDecodeError
        If the song cannot be decoded or is too short.
    """
    log_mel = cache.load(path, features, "mel")
    if log_mel is None and cache.adopt(path):
        log_mel = cache.load(path, features, "mel")
    if log_mel is None:
        log_mel = compute_view("mel", load_window(path, features.audio), features)
        cache.save(path, features, "mel", log_mel)
    picture = seed_image(np.asarray(log_mel), *IMAGE_SIZE)
    buffer = io.BytesIO()
    Image.fromarray(picture[..., :3]).save(buffer, format="PNG")
    return buffer.getvalue()


def _file_identity(path: Path) -> str:
    stat = path.stat()
    text = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

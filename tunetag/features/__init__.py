"""Views of a song (pure array functions), the proposal's PNG, the cache, parallel extraction.

The PNG functions load matplotlib on first use only, so extraction workers that draw no
pictures never import it.
"""

from importlib import import_module

from tunetag.features.cache import FeatureCache
from tunetag.features.extract import (
    ExtractReport,
    SongOutcome,
    extract,
    extract_files,
    stream_extract,
)
from tunetag.features.views import (
    FRAME_VIEWS,
    VIEWS,
    SongSamples,
    View,
    chromagram,
    compute_view,
    compute_views,
    mel_spectrogram,
    patch_views,
    register_view,
    tempogram,
    view_names,
    view_rows,
    waveform_envelope,
)

__all__ = [
    "FRAME_VIEWS",
    "VIEWS",
    "ExtractReport",
    "FeatureCache",
    "SongOutcome",
    "SongSamples",
    "View",
    "chromagram",
    "compute_view",
    "compute_views",
    "extract",
    "extract_files",
    "mel_spectrogram",
    "patch_views",
    "register_view",
    "seed_image",
    "stream_extract",
    "tempogram",
    "view_names",
    "view_rows",
    "waveform_envelope",
    "write_png",
]


def __getattr__(name: str):
    if name in ("seed_image", "write_png"):
        return getattr(import_module("tunetag.features.image"), name)
    raise AttributeError(f"module 'tunetag.features' has no attribute {name!r}")

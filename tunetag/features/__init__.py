"""Views of a song (pure array functions), the proposal's PNG, the cache, parallel extraction."""

from tunetag.features.cache import FeatureCache
from tunetag.features.extract import ExtractReport, extract, extract_files
from tunetag.features.image import seed_image, write_png
from tunetag.features.views import (
    VIEW_NAMES,
    chromagram,
    compute_view,
    compute_views,
    mel_spectrogram,
    tempogram,
    view_rows,
    waveform_envelope,
)

__all__ = [
    "VIEW_NAMES",
    "ExtractReport",
    "FeatureCache",
    "chromagram",
    "compute_view",
    "compute_views",
    "extract",
    "extract_files",
    "mel_spectrogram",
    "seed_image",
    "tempogram",
    "view_rows",
    "waveform_envelope",
    "write_png",
]

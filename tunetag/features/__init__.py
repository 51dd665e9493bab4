"""Views of a song (pure array functions), the proposal's PNG, the cache, parallel extraction."""

from tunetag.features.cache import FeatureCache
from tunetag.features.extract import ExtractReport, extract_files
from tunetag.features.image import seed_image, write_png
from tunetag.features.views import VIEW_NAMES, compute_view, mel_spectrogram

__all__ = [
    "VIEW_NAMES",
    "ExtractReport",
    "FeatureCache",
    "compute_view",
    "extract_files",
    "mel_spectrogram",
    "seed_image",
    "write_png",
]

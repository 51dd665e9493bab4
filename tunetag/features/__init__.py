"""Views of a song (pure array functions), the proposal's PNG, the cache, parallel extraction.

Names load from their modules on first use: importing `tunetag.features.views` alone (as
`tunetag.pretrained` does to add its view, on every ``import tunetag``) then costs no
decoder, and extraction workers that draw no pictures never import matplotlib.
"""

from importlib import import_module

_NAMES = {
    "FeatureCache": "tunetag.features.cache",
    "ExtractReport": "tunetag.features.extract",
    "SongOutcome": "tunetag.features.extract",
    "extract": "tunetag.features.extract",
    "extract_files": "tunetag.features.extract",
    "stream_extract": "tunetag.features.extract",
    "seed_image": "tunetag.features.image",
    "write_png": "tunetag.features.image",
    **dict.fromkeys(
        (
            "FRAME_VIEWS",
            "VIEWS",
            "SongSamples",
            "View",
            "chromagram",
            "compute_view",
            "compute_views",
            "mel_spectrogram",
            "patch_views",
            "register_view",
            "tempogram",
            "view_names",
            "view_rows",
            "waveform_envelope",
        ),
        "tunetag.features.views",
    ),
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'tunetag.features' has no attribute {name!r}")

"""tunetag: learn how a person hears their own music, then tag the rest of their library.

Each step of the pipeline is one function here and one subcommand of the `tunetag` CLI:
`scan`, `label`, `extract`, `train`, `evaluate`, `predict`, `tag`, `playlists`, `compare`,
`report` and `tagger_scores`. They are imported on first use, so that a CLI step loads
only what it needs. Importing the package adds the pretrained tagger's ``musicnn`` view to
the table of views (`tunetag.features.views.register_view`; numpy and soxr, no network), so
every process that computes views knows it, extraction workers on a Dask cluster included.
"""

from importlib import import_module

__version__ = "0.1.0"  # before the imports below: the run folder records it

from tunetag.config import AudioConfig, FeatureConfig, MelConfig, RunConfig, TrainConfig
from tunetag.errors import (
    AudioDecodeError,
    LabelFileError,
    ParameterError,
    TagWriteError,
    TunetagError,
)
from tunetag.pretrained import embedding  # noqa: F401  (adds the musicnn view to the views)

_STEPS = {
    "scan": "tunetag.library.scan",
    "label": "tunetag.labelapp.server",
    "extract": "tunetag.features.extract",
    "train": "tunetag.steps.train",
    "evaluate": "tunetag.steps.evaluate",
    "predict": "tunetag.steps.predict",
    "tag": "tunetag.library.tagging",
    "undo_tags": "tunetag.library.tagging",
    "playlists": "tunetag.library.playlists",
    "compare": "tunetag.evaluation.compare",
    "report": "tunetag.evaluation.report",
    "tagger_scores": "tunetag.pretrained.scores",
}

__all__ = [
    *_STEPS,
    "AudioConfig",
    "AudioDecodeError",
    "FeatureConfig",
    "LabelFileError",
    "MelConfig",
    "ParameterError",
    "RunConfig",
    "TagWriteError",
    "TrainConfig",
    "TunetagError",
]


def __getattr__(name: str):
    if name in _STEPS:
        return getattr(import_module(_STEPS[name]), name)
    raise AttributeError(f"module 'tunetag' has no attribute {name!r}")

"""tunetag: learn how a person hears their own music, then tag the rest of their library.

Each step of the pipeline is one function here and one subcommand of the `tunetag` CLI:
`scan`, `label`, `extract`, `train`, `evaluate`, `predict`, `tag` (and `undo_tags`, which
`tunetag tag --undo` runs), `playlists`, `similar` (and `like_playlist` and `path_playlist`,
which `tunetag playlists --like` and `--path` run), `compare`, `report` and `tagger_scores`.
Each is imported on first use, so that a CLI step loads only what it needs; `dir` and `help` list
them all, and no submodule of the same name can take a step's place. Importing the package
adds the pretrained tagger's ``musicnn`` view to the table of views
(`tunetag.features.views.register_view`; numpy and soxr, no network), so every process that
computes views knows it, extraction workers on a Dask cluster included.
"""

import sys
from importlib import import_module
from types import ModuleType

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
    "similar": "tunetag.steps.similar",
    "like_playlist": "tunetag.steps.similar",
    "path_playlist": "tunetag.steps.similar",
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


class _Package(ModuleType):
    """The `tunetag` module itself: its steps load on first use and stay its attributes.

    Python binds an imported submodule to the attribute of the same name on its package,
    which would hide the step of that name (``tunetag.predict`` turning into a module, not
    callable). So a module never replaces a step here (the import warns, with an
    ImportWarning, and keeps the step), and `dir`, hence `help`, lists the steps before
    any is loaded.
    """

    def __getattr__(self, name: str):
        if name not in _STEPS:
            raise AttributeError(f"module 'tunetag' has no attribute {name!r}")
        step = getattr(import_module(_STEPS[name]), name)
        self.__dict__[name] = step  # loaded once: later look-ups are plain attributes
        return step

    def __setattr__(self, name: str, value) -> None:
        if name in _STEPS and isinstance(value, ModuleType):
            raise AttributeError(
                f"tunetag.{name} is a step: module {value.__name__} may not replace it"
            )
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *_STEPS})


sys.modules[__name__].__class__ = _Package

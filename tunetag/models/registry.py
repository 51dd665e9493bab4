"""Networks by name, as timm does: a decorator registers a class, `create` builds one.

A new model is one file with a ``@register_model("name")`` class and one import line in
``tunetag/models/__init__.py``. Every model class has the class attributes ``input_kind``
(``"image"``: the proposal's RGBA picture of the first view, key ``"image"``; ``"crop"``:
crops of every view, keyed by view name, each (batch, 1, rows, frames); ``"patch"``: one
column (one 3 s patch) of every per-patch view, keyed by view name, each (batch, rows);
``"summary"``: per-song statistics of every view, key ``"summary"``), ``default_batch_size`` and
``default_learning_rate``, is built as ``cls(tasks=..., view_rows=...)`` and returns from
``forward(inputs)`` (a dict of tensors) a dict task -> logits of shape (batch, n_outputs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from torch import nn

from tunetag.config import FeatureConfig
from tunetag.errors import ParameterError
from tunetag.features.views import patch_views

INPUT_KINDS = ("image", "crop", "patch", "summary")

_MODELS: dict[str, type[nn.Module]] = {}


def register_model(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator that makes a network available to `create` as ``name``.

    Parameters
    ----------
    name : str
        The registry name (what ``TrainConfig.model`` holds); must not be taken yet.

    Raises
    ------
    ParameterError
        If ``name`` is already registered or the class lacks a valid ``input_kind``.
    """

    def decorator(cls: type[nn.Module]) -> type[nn.Module]:
        if name in _MODELS:
            raise ParameterError(f"model name {name!r} is already registered")
        if getattr(cls, "input_kind", None) not in INPUT_KINDS:
            raise ParameterError(f"model {name!r}: input_kind must be one of {INPUT_KINDS}")
        _MODELS[name] = cls
        return cls

    return decorator


def available() -> list[str]:
    """The registered model names, sorted."""
    return sorted(_MODELS)


def model_class(name: str) -> type[nn.Module]:
    """The class registered as ``name`` (to read ``input_kind`` and defaults before building).

    Raises
    ------
    ParameterError
        If no model is registered under ``name``; the message lists the available ones.
    """
    try:
        return _MODELS[name]
    except KeyError:
        raise ParameterError(
            f"unknown model {name!r}; available: {', '.join(available())}"
        ) from None


def create(name: str, tasks: Mapping[str, int], view_rows: Mapping[str, int]) -> nn.Module:
    """Build the network registered as ``name`` with one output head per task.

    Parameters
    ----------
    name : str
        A registered model name (see `available`).
    tasks : mapping of str to int
        Task name (a CSV label column) -> outputs: classes of a single-label task, labels of
        a multi-label one.
    view_rows : mapping of str to int
        View name -> rows of its array (mel bands, pitch classes, lags...), in the order the
        run uses them; single-view models take the first.

    Returns
    -------
    torch.nn.Module
        A freshly initialised network whose ``forward`` returns task -> logits.

    Raises
    ------
    ParameterError
        For an unknown name, no task, a task without a name or with no output, no view, or
        a view with no rows. Any other task name works (`tunetag.models.heads.TaskHeads`).
    """
    cls = model_class(name)
    if not tasks:
        raise ParameterError(f"model {name!r}: at least one task is needed")
    for task, n_outputs in tasks.items():
        if not task:
            raise ParameterError(f"model {name!r}: a task needs a name")
        if n_outputs < 1:
            raise ParameterError(f"task {task!r} needs at least 1 output, got {n_outputs}")
    if not view_rows or any(rows <= 0 for rows in view_rows.values()):
        raise ParameterError(f"model {name!r}: every view needs rows, got {dict(view_rows)}")
    return cls(tasks=dict(tasks), view_rows=dict(view_rows))


def run_features(name: str, features: FeatureConfig) -> FeatureConfig:
    """The features a run of model ``name`` reads.

    A model with its own ``features`` class attribute (the pretrained musicnn models: their
    decoding rate, mel and views) reads those, keeping the run's window, tagger and patches;
    the others read ``features``. Models of crops and pictures read frame views only, models
    of patches per-patch views only.

    Parameters
    ----------
    name : str
        A registered model name.
    features : FeatureConfig
        The features asked for. For a model with its own, the sample rate, mel and views
        must be the defaults (``FeatureConfig()``) or the model's own, as a saved run has:
        anything else would be ignored, so it is refused.

    Returns
    -------
    FeatureConfig
        The features the run reads, as its saved config says.

    Raises
    ------
    ParameterError
        For an unknown name; a model with its own features asked for other ones; a crop or
        picture model asked to read a per-patch view, a patch model a frame view.
    """
    cls = model_class(name)
    own = getattr(cls, "features", None)
    if own is not None:
        _refuse_other_features(name, own, features)
        window = {
            "window_s": features.audio.window_s,
            "window_position": features.audio.window_position,
            "min_duration_s": features.audio.min_duration_s,
        }
        patches = features.patches_per_window or own.patches_per_window
        features = dataclasses.replace(
            own,
            audio=dataclasses.replace(own.audio, **window),
            musicnn=features.musicnn,
            patches_per_window=patches,
        )
    per_patch = patch_views(features.views)
    framed = [view for view in features.views if view not in per_patch]
    if cls.input_kind == "patch" and framed:
        raise ParameterError(
            f"model {name!r} reads 3 s patches of per-patch views; the {framed[0]} view has "
            "one column per frame"
        )
    if per_patch and cls.input_kind in ("image", "crop"):
        raise ParameterError(
            f"model {name!r} reads crops of frame views; the {per_patch[0]} view has one "
            "column per 3 s, for models of whole songs or of patches (logreg, musicnn-probe)"
        )
    return features


def _refuse_other_features(name: str, own: FeatureConfig, features: FeatureConfig) -> None:
    """A model with features of its own (a pretrained network's, auto's views) reads them:
    refuse other features, not ignore them."""

    def decided(config: FeatureConfig) -> tuple:
        return config.audio.sample_rate, config.mel, tuple(config.views)

    if decided(features) not in (decided(FeatureConfig()), decided(own)):
        raise ParameterError(
            f"model {name!r} reads features of its own ({own.audio.sample_rate} Hz, views "
            f"{', '.join(own.views)}): leave the sample "
            "rate, mel and views at their defaults (leave out --sample-rate, --n-mels and "
            "--views)"
        )


def has_own_features(name: str) -> bool:
    """Whether model ``name`` reads its own features whatever the run's (see `run_features`)."""
    return getattr(model_class(name), "features", None) is not None

"""Networks by name, as timm does: a decorator registers a class, `create` builds one.

A new model is one file with a ``@register_model("name")`` class and one import line in
``tunetag/models/__init__.py``. Every model class has the class attributes ``input_kind``
(``"image"``: the proposal's RGBA picture; ``"crop"``: log-mel crops), ``default_batch_size``
and ``default_learning_rate``, is built as ``cls(tasks=..., n_mels=...)`` and returns from
``forward(x)`` a dict task -> logits of shape (batch, n_classes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from torch import nn

from tunetag.errors import ParameterError

INPUT_KINDS = ("image", "crop")

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


def create(name: str, tasks: Mapping[str, int], n_mels: int) -> nn.Module:
    """Build the network registered as ``name`` with one output head per task.

    Parameters
    ----------
    name : str
        A registered model name (see `available`).
    tasks : mapping of str to int
        Task name (a CSV label column) -> number of classes (at least 2).
    n_mels : int
        Mel bands of the log-mel input; models fed with pictures ignore it.

    Returns
    -------
    torch.nn.Module
        A freshly initialised network whose ``forward`` returns task -> logits.

    Raises
    ------
    ParameterError
        For an unknown name, no task, fewer than 2 classes, a task name that cannot name a
        network head, or a non-positive ``n_mels``.
    """
    cls = model_class(name)
    if not tasks:
        raise ParameterError(f"model {name!r}: at least one task is needed")
    for task, n_classes in tasks.items():
        if not task or "." in task or hasattr(nn.ModuleDict, task):
            raise ParameterError(f"task name {task!r} cannot name a network head; rename it")
        if n_classes < 2:
            raise ParameterError(f"task {task!r} needs at least 2 classes, got {n_classes}")
    if n_mels <= 0:
        raise ParameterError(f"n_mels must be positive, got {n_mels}")
    return cls(tasks=dict(tasks), n_mels=n_mels)

"""The pretrained musicnn taggers: where their weights lie, their tags, and loading them.

The weights ship inside the ``musicnn`` package (ISC licence), installed without its own
dependencies (``pip install --no-deps musicnn``): its code needs TensorFlow 1-style APIs
and is never imported here. Its folder is found on the import path, the checkpoints are
read by `tunetag.pretrained.tfcheckpoint` and the tag names are read from its configuration
file as data.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path

from torch import nn

from tunetag.config import DEFAULT_TAGGER
from tunetag.errors import ParameterError
from tunetag.pretrained.networks import Musicnn, Vgg
from tunetag.pretrained.tfcheckpoint import CheckpointError, read_checkpoint

TAGGERS = ("MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg")  # MSD: Million Song Dataset
INSTALL_COMMAND = "pip install --no-deps musicnn==0.1.0"


def weights_folder() -> Path:
    """The installed ``musicnn`` package's folder, found without importing it.

    Raises
    ------
    CheckpointError
        When the package is not installed; the message names the command that installs it.
    """
    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError(
            f"the pretrained taggers need the weights in the musicnn package: {INSTALL_COMMAND}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def tag_names(tagger: str) -> tuple[str, ...]:
    """The 50 tags of ``tagger``, in the order of its outputs.

    Raises
    ------
    ParameterError
        For a name not in `TAGGERS`.
    CheckpointError
        When the package is missing or its configuration holds no such list.
    """
    _check_tagger(tagger)
    variable = f"{tagger.split('_')[0]}_LABELS"
    path = weights_folder() / "configuration.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError) as exc:
        raise CheckpointError(f"{path}: cannot read the tag names ({exc})") from exc
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == variable for target in node.targets
        ):
            return tuple(str(tag) for tag in ast.literal_eval(node.value))
    raise CheckpointError(f"{path}: no {variable} list of tag names")


@functools.lru_cache(maxsize=4)
def load_tagger(tagger: str = DEFAULT_TAGGER) -> nn.Module:
    """The pretrained network ``tagger`` with its weights, in evaluation mode.

    Cached: a process loads each tagger once. Callers that train must copy it.

    Raises
    ------
    ParameterError
        For a name not in `TAGGERS`.
    CheckpointError
        When the package is missing or a checkpoint file is damaged.
    """
    _check_tagger(tagger)
    network = Musicnn() if tagger.endswith("musicnn") else Vgg()
    network.load_tf_weights(read_checkpoint(f"{weights_folder() / tagger}/"))
    return network.eval()


def _check_tagger(tagger: str) -> None:
    if tagger not in TAGGERS:
        raise ParameterError(f"unknown tagger {tagger!r}; known taggers: {', '.join(TAGGERS)}")

"""Networks by name: ``create("shortchunk", {"mood": 2}, view_rows={"mel": 128})``.

Importing this package registers every model; see `available` for the names.
"""

from tunetag.models import (  # noqa: F401  (registers them)
    auto,
    logreg,
    multiview,
    musicnn_finetune,
    musicnn_probe,
    seed,
    shortchunk,
)
from tunetag.models.registry import (
    available,
    create,
    has_own_features,
    model_class,
    register_model,
    run_features,
)

__all__ = [
    "available",
    "create",
    "has_own_features",
    "model_class",
    "register_model",
    "run_features",
]

"""Networks by name: ``create("shortchunk", {"mood": 2}, view_rows={"mel": 128})``.

Importing this package registers every model; see `available` for the names.
"""

from tunetag.models import logreg, multiview, seed, shortchunk  # noqa: F401  (registers them)
from tunetag.models.registry import available, create, model_class, register_model

__all__ = ["available", "create", "model_class", "register_model"]

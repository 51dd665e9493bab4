"""Networks by name: ``create("shortchunk", {"mood": 2}, n_mels=128)``.

Importing this package registers every model; see `available` for the names.
"""

from tunetag.models import seed, shortchunk  # noqa: F401  (registers the models)
from tunetag.models.registry import available, create, model_class, register_model

__all__ = ["available", "create", "model_class", "register_model"]

"""The pretrained musicnn taggers in one place: the TensorFlow checkpoint reader, the
networks and their loading, tag names, the embedding view and the tags' scores of a song.

Importing this package adds the ``musicnn`` view to `tunetag.features.views`; the networks
and PyTorch load only when a song is first embedded or scored.
"""

from tunetag.pretrained import embedding  # noqa: F401  (registers the musicnn view)

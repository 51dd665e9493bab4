"""A linear probe on the pretrained musicnn tagger's embedding: few labels, much learnt.

Networks trained from scratch on a few hundred songs memorise them; a network trained on a
large tagged collection (the Million Song Dataset's 50 tags by default) already tells
songs apart, so a linear classifier of its averaged embedding is the strong small-data
baseline (frozen embedding, head trained on the person's labels).
"""

from __future__ import annotations

import dataclasses

from tunetag.config import MUSICNN_FEATURES
from tunetag.models.logreg import LogisticRegressionBaseline
from tunetag.models.registry import register_model


@register_model("musicnn-probe")
class MusicnnProbe(LogisticRegressionBaseline):
    """Logistic regression of a song's musicnn embedding (frozen; nothing to download).

    Input ``inputs["summary"]``: the mean and standard deviation over the window's 3 s
    patches of each of the 200 units of the ``musicnn`` view (the pretrained tagger's
    penultimate layer; ``FeatureConfig.musicnn.tagger`` picks MSD or MTT), standardised,
    then a class-balanced logistic regression per task fitted by scikit-learn, as
    `LogisticRegressionBaseline`: its C chosen by an inner cross-validation of the training
    songs, since a 200-unit embedding of a few hundred songs overfits at C = 1. The songs
    are decoded at 16 kHz, the tagger's rate.
    """

    features = dataclasses.replace(MUSICNN_FEATURES, views=("musicnn",))

"""The pretrained musicnn tagger's embedding of a song, as a view.

A network trained on a large tagged collection has already learnt what tells songs apart;
its 200-unit penultimate layer, averaged over a song, is what a small classifier trained on
a few hundred labels reads best (see the ``musicnn-probe`` model). Computed once per song
and cached like the other views, so every fold and every run reuses it.

Unlike the other views it has one column per 3 s patch, not per frame. The network and
PyTorch load on the first song a process computes, so extraction workers that compute
other views never import them.
"""

from __future__ import annotations

import numpy as np
import soxr

from tunetag.config import DEFAULT_TAGGER, MUSICNN_EMBEDDING_UNITS, MUSICNN_FEATURES, FeatureConfig
from tunetag.errors import ParameterError
from tunetag.features.views import SongSamples, View, compute_view, register_view


def musicnn_embedding(*, y: np.ndarray, sr: int, tagger: str = DEFAULT_TAGGER) -> np.ndarray:
    """The penultimate layer of a musicnn tagger for every 3 s patch of ``y``.

    Parameters
    ----------
    y : np.ndarray, shape (samples,)
        Mono float samples, full scale at +-1.
    sr : int
        Sample rate of ``y`` in Hz; resampled to 16 kHz (soxr, high quality) if different.
    tagger : str
        ``"MSD_musicnn"`` or ``"MTT_musicnn"`` (the vgg taggers have no embedding layer).

    Returns
    -------
    np.ndarray, shape (200, patches), float32
        One column per 3 s patch without overlap (a song shorter than 3 s is repeated to
        fill one), computed on one thread: songs are the parallel unit.

    Raises
    ------
    ParameterError
        For a tagger without an embedding.
    CheckpointError
        When the musicnn package (its weights) is not installed.
    """
    import torch

    from tunetag.pretrained.networks import PATCH_BATCH, cut_patches
    from tunetag.pretrained.taggers import load_tagger

    if not tagger.endswith("musicnn"):
        raise ParameterError(f"the musicnn view needs a musicnn tagger, not {tagger!r}")
    rate = MUSICNN_FEATURES.audio.sample_rate
    if sr != rate:
        y = soxr.resample(y, sr, rate, quality="HQ").astype(np.float32)
    mel = compute_view("mel", y, MUSICNN_FEATURES)
    patches = torch.from_numpy(cut_patches(mel))
    network = load_tagger(tagger)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            parts = [network.embed(network.pooled(batch)) for batch in patches.split(PATCH_BATCH)]
    finally:
        torch.set_num_threads(threads)
    return torch.cat(parts).T.contiguous().numpy().astype(np.float32)


def _musicnn_view(song: SongSamples, features: FeatureConfig) -> np.ndarray:
    return musicnn_embedding(y=song.y, sr=song.sr, tagger=features.musicnn.tagger)


def _embedding_rows(features: FeatureConfig) -> int:
    return MUSICNN_EMBEDDING_UNITS


register_view("musicnn", View(_musicnn_view, _embedding_rows, per_patch=True))

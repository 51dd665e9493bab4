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

from tunetag.errors import ParameterError

MUSICNN_SR = 16000  # Hz the taggers were trained at
EMBEDDING_ROWS = 200  # units of musicnn's penultimate layer
BATCH_PATCHES = 64  # patches per forward pass


def musicnn_embedding(*, y: np.ndarray, sr: int, tagger: str = "MSD_musicnn") -> np.ndarray:
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

    from tunetag.features.views import mel_spectrogram
    from tunetag.models.musicnn import cut_patches
    from tunetag.pretrained import load_tagger

    if not tagger.endswith("musicnn"):
        raise ParameterError(f"the musicnn view needs a musicnn tagger, not {tagger!r}")
    if sr != MUSICNN_SR:
        y = soxr.resample(y, sr, MUSICNN_SR, quality="HQ").astype(np.float32)
    mel = mel_spectrogram(y=y, sr=MUSICNN_SR, n_fft=512, hop_length=256, n_mels=96, scale="logc")
    patches = torch.from_numpy(cut_patches(mel))
    network = load_tagger(tagger)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            parts = [network.embed(network.pooled(batch)) for batch in patches.split(BATCH_PATCHES)]
    finally:
        torch.set_num_threads(threads)
    return torch.cat(parts).T.contiguous().numpy().astype(np.float32)

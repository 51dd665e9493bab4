"""The pretrained musicnn taggers' layers of a song, as views.

A network trained on a large tagged collection has already learnt what tells songs apart;
its 200-unit penultimate layer, averaged over a song, is what a small classifier trained on
a few hundred labels reads best (see the ``musicnn-probe`` model). Computed once per song
and cached like the other views, so every fold and every run reuses it.

- ``musicnn``: the embedding of the tagger ``features.musicnn.tagger`` names.
- ``musicnn-msd``, ``musicnn-mtt``: the embedding of MSD_musicnn, of MTT_musicnn, whatever
  ``features.musicnn`` says, so both can be read side by side; keyed by their tagger.
- ``musicnn-msd-pooled``, ``musicnn-mtt-pooled``: the layer under the embedding, 1506 max
  and mean over time of the front and mid ends' features (`Musicnn.pooled`).

These four run their tagger on every 3 s patch of the window, or on
`FeatureConfig.patches_per_window` of them, evenly spaced: a tagger costs about 40 ms a patch
on one core, and a song's mean embedding needs far fewer than a 130 s window's 43.

Unlike the frame views they have one column per 3 s patch. The network and PyTorch load on
the first song a process computes, so extraction workers that compute other views never
import them; the 16 kHz mel and each tagger's forward pass are shared by all of these views
of one song (`SongSamples.shared`), so a tagger runs once per song.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import cast

import numpy as np
import soxr

from tunetag.config import DEFAULT_TAGGER, MUSICNN_EMBEDDING_UNITS, MUSICNN_FEATURES, FeatureConfig
from tunetag.errors import ParameterError
from tunetag.features.patches import spread_patches, with_patches
from tunetag.features.views import SongSamples, View, compute_view, register_view

POOLED_UNITS = 1506  # max and mean over time of musicnn's 753 front- and mid-end features


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
    return _embedding(musicnn_pooled(y=y, sr=sr, tagger=tagger), tagger)


def musicnn_pooled(*, y: np.ndarray, sr: int, tagger: str = DEFAULT_TAGGER) -> np.ndarray:
    """The pooled layer under the embedding for every 3 s patch of ``y``.

    Parameters and errors as `musicnn_embedding`.

    Returns
    -------
    np.ndarray, shape (1506, patches), float32
        Row ``2 k`` is the largest value over the patch's frames of feature ``k`` of the
        front and mid ends, row ``2 k + 1`` its mean; the patches as `musicnn_embedding`'s.
    """
    _check_musicnn(tagger)
    return _pooled(_musicnn_mel(y, sr), tagger)


def _musicnn_mel(y: np.ndarray, sr: int) -> np.ndarray:
    """The 96-band log-compressed mel at 16 kHz that every musicnn tagger reads."""
    rate = MUSICNN_FEATURES.audio.sample_rate
    if sr != rate:
        y = soxr.resample(y, sr, rate, quality="HQ").astype(np.float32)
    return compute_view("mel", y, MUSICNN_FEATURES)


def _pooled(mel: np.ndarray, tagger: str, patches_wanted: int | None = None) -> np.ndarray:
    """``network.pooled`` of the patches of ``mel``, on one thread, as (1506, patches):
    every patch, or ``patches_wanted`` of them evenly spaced from the first to the last.

    One patch a pass: its activations (9 MB) stay in the CPU's caches, where 43 patches at
    once (390 MB) wait on memory; a 130 s song then costs 1.9 s of one core, not 4.3 s.
    """
    import torch

    from tunetag.pretrained.networks import cut_patches
    from tunetag.pretrained.taggers import load_tagger

    every = cut_patches(mel)
    chosen = spread_patches(len(every), patches_wanted)
    patches = torch.from_numpy(every if chosen is None else every[chosen])
    network = load_tagger(tagger)
    with _one_thread(), torch.no_grad():
        parts = [network.pooled(patch) for patch in patches.split(1)]
    return torch.cat(parts).T.contiguous().numpy()


def _embedding(pooled: np.ndarray, tagger: str) -> np.ndarray:
    """``network.embed`` of (1506, patches) pooled features, as (200, patches)."""
    import torch

    from tunetag.pretrained.taggers import load_tagger

    with _one_thread(), torch.no_grad():
        embedded = load_tagger(tagger).embed(torch.from_numpy(np.ascontiguousarray(pooled.T)))
    return embedded.T.contiguous().numpy()


@contextmanager
def _one_thread() -> Iterator[None]:
    """torch on one thread for a while: songs are the parallel unit, and the arrays are then
    the same bit for bit whatever the machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _check_musicnn(tagger: str) -> None:
    if not tagger.endswith("musicnn"):
        raise ParameterError(f"the musicnn view needs a musicnn tagger, not {tagger!r}")


def _song_pooled(song: SongSamples, tagger: str, patches: int | None = None) -> np.ndarray:
    """`musicnn_pooled` of the song (of ``patches`` of its patches), run once per tagger
    whichever views ask for it."""
    _check_musicnn(tagger)

    def pooled() -> np.ndarray:
        mel = cast(np.ndarray, song.shared("musicnn-mel", lambda: _musicnn_mel(song.y, song.sr)))
        return _pooled(mel, tagger, patches)

    return cast(np.ndarray, song.shared(("musicnn-pooled", tagger, patches), pooled))


def _song_embedding(song: SongSamples, tagger: str, patches: int | None = None) -> np.ndarray:
    embedding = song.shared(
        ("musicnn-embedding", tagger, patches),
        lambda: _embedding(_song_pooled(song, tagger, patches), tagger),
    )
    return cast(np.ndarray, embedding)


def _musicnn_view(song: SongSamples, features: FeatureConfig) -> np.ndarray:
    return _song_embedding(song, features.musicnn.tagger)


def _embedding_rows(features: FeatureConfig) -> int:
    return MUSICNN_EMBEDDING_UNITS


def _pooled_rows(features: FeatureConfig) -> int:
    return POOLED_UNITS


def _of_tagger(
    tagger: str,
    layer: Callable[[SongSamples, str, int | None], np.ndarray],
    rows: Callable[[FeatureConfig], int],
) -> View:
    """A view of one fixed tagger's layer, keyed by that tagger (and the patches it runs on
    when not every one: `FeatureConfig.patches_per_window`), whatever features.musicnn."""

    def compute(song: SongSamples, features: FeatureConfig) -> np.ndarray:
        return layer(song, tagger, features.patches_read)

    def settings(features: FeatureConfig) -> dict[str, str | int]:
        return with_patches({"tagger": tagger}, features.patches_read)

    return View(compute, rows, per_patch=True, settings=settings)


register_view("musicnn", View(_musicnn_view, _embedding_rows, per_patch=True))
register_view("musicnn-msd", _of_tagger("MSD_musicnn", _song_embedding, _embedding_rows))
register_view("musicnn-msd-pooled", _of_tagger("MSD_musicnn", _song_pooled, _pooled_rows))
register_view("musicnn-mtt", _of_tagger("MTT_musicnn", _song_embedding, _embedding_rows))
register_view("musicnn-mtt-pooled", _of_tagger("MTT_musicnn", _song_pooled, _pooled_rows))

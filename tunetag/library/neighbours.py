"""The songs nearest a point in an embedding, by cosine distance: exact search in numpy.

A library of 100 000 songs and 800 values a song is 320 MB of float32, and one query is
one matrix-vector product over it (about 30 ms on 2 cores, see ``benchmarks/similar.py``),
so no approximate index is needed. Rows are made unit length once (`unit_rows`); a cosine
distance is then ``1 - dot``. What may come back is decided by a `Picker`: seeds and songs
already taken never, at most so many songs per artist, and never two recordings of the
same song (near-duplicates: a cosine distance below `DUPLICATE_DISTANCE` in the space of
the songs' own views).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from tunetag.errors import ParameterError

# Cosine distance under which two songs are one recording twice, in the standardised
# pretrained summaries: a real song and its lossless copy were 0.0 apart, cut 0.5 s later
# 0.023, 3 dB quieter with faint noise 0.028; the closest two files of the mood, source and
# composer sets (420 songs) 0.054 (two tracks of one game), the next 0.10.
DUPLICATE_DISTANCE = 0.03
QUERY_CHUNK = 256  # queries scored at once by `nearest_rows`: (songs x 256) floats at most
FIRST_CANDIDATES = 256  # songs sorted at first by a `Picker`; all of them if those run out


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, float32 (a row of zeros stays zeros: distance 1 to all).

    Parameters
    ----------
    x : ndarray, shape (n, d)
        Embeddings, one row per song.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ParameterError(f"embeddings must be (songs, values), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ParameterError("embeddings contain NaN or infinite values")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def standardised_unit_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each column of ``x`` standardised over the rows (a constant column: scale 1), then
    each row scaled to unit length, in place, `QUERY_CHUNK` rows at a time: a library of
    100 000 songs costs its float32 matrix once, not three float64 copies of it.

    Parameters
    ----------
    x : ndarray of float32, shape (n, d)
        Embeddings, one row per song; overwritten with the result.

    Returns
    -------
    unit, mean, scale : ndarray
        The unit rows (``x`` itself), and the float64 (d,) mean and scale used, to place
        songs outside ``x`` alike (`unit_rows` of ``(row - mean) / scale``).
    """
    if x.dtype != np.float32 or x.ndim != 2 or not len(x):
        raise ParameterError(f"embeddings must be float32 (songs, values), got {x.dtype} {x.shape}")
    chunks = [slice(start, start + QUERY_CHUNK) for start in range(0, len(x), QUERY_CHUNK)]
    mean = sum(x[rows].sum(axis=0, dtype=np.float64) for rows in chunks) / len(x)
    squares = sum(((x[rows] - mean) ** 2).sum(axis=0) for rows in chunks)
    scale = np.sqrt(squares / len(x))
    scale[scale == 0] = 1.0
    for rows in chunks:
        x[rows] = unit_rows((x[rows] - mean) / scale)
    return x, mean, scale


def cosine_distances(unit: np.ndarray, query: np.ndarray) -> np.ndarray:
    """(n,) cosine distance, 0 to 2, of every unit row to ``query`` (any length, not zero)."""
    query = np.asarray(query, dtype=np.float32)
    norm = float(np.linalg.norm(query))
    if not norm:
        raise ParameterError("the query is a vector of zeros: it has no direction")
    return 1.0 - unit @ (query / norm)


def nearest_rows(unit: np.ndarray, k: int) -> np.ndarray:
    """(n, k) indices of every row's k nearest other rows, nearest first (exact search,
    `QUERY_CHUNK` rows at a time so memory stays linear in the songs)."""
    n = len(unit)
    if not 0 < k < n:
        raise ParameterError(f"k must be from 1 to {n - 1} for {n} songs, got {k}")
    found = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, QUERY_CHUNK):
        stop = min(start + QUERY_CHUNK, n)
        similarity = unit[start:stop] @ unit.T
        similarity[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # itself
        top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(similarity, top, axis=1), axis=1, kind="stable")
        found[start:stop] = np.take_along_axis(top, order, axis=1)
    return found


class Picker:
    """Takes songs nearest first, never one it must leave out; remembers what it took.

    Parameters
    ----------
    duplicates : ndarray, shape (n, e)
        Unit rows (`unit_rows`) of the space near-duplicates are told in: the standardised
        summaries of the songs' views, not a layer that puts every song of a class together.
    artists : sequence of str
        Each song's artist; "" for unknown (such songs are never capped).
    per_artist : int or None
        At most this many songs of one artist are taken; None: no cap.
    left_out : sequence of int
        Songs never taken (the seeds); their near-duplicates are never taken either.
    extra : ndarray, shape (m, e), optional
        Unit rows of seeds that are not library songs, whose near-duplicates are left out.
    """

    def __init__(
        self,
        duplicates: np.ndarray,
        artists: Sequence[str],
        per_artist: int | None,
        left_out: Sequence[int] = (),
        extra: np.ndarray | None = None,
    ) -> None:
        if per_artist is not None and per_artist < 1:
            raise ParameterError(f"per_artist must be at least 1, got {per_artist}")
        if len(artists) != len(duplicates):
            raise ParameterError(f"{len(artists)} artists for {len(duplicates)} songs")
        self.duplicates = duplicates
        self.artists = artists  # spelt as given: only the songs looked at are compared
        self.per_artist = per_artist
        self.taken: list[int] = []
        self._blocked = np.zeros(len(duplicates), dtype=bool)
        self._blocked[list(left_out)] = True
        kept = [duplicates[list(left_out)]] + ([extra] if extra is not None else [])
        self._kept = np.concatenate(kept).astype(np.float32)  # rows a duplicate would repeat
        self._counts: dict[str, int] = {}

    def take(self, distances: np.ndarray, count: int) -> list[int]:
        """Up to ``count`` songs, by increasing ``distances`` (n,), that may be taken; a
        song at an infinite distance never is."""
        chosen: list[int] = []
        for song in _by_distance(distances, FIRST_CANDIDATES + count):
            if len(chosen) == count or not np.isfinite(distances[song]):
                break
            if self._blocked[song] or self._capped(song) or self._duplicate(song):
                continue
            chosen.append(song)
            self._add(song)
        return chosen

    def _artist(self, song: int) -> str:
        return self.artists[song].strip().casefold()

    def _capped(self, song: int) -> bool:
        artist = self._artist(song)
        return (
            bool(artist)
            and self.per_artist is not None
            and (self._counts.get(artist, 0) >= self.per_artist)
        )

    def _duplicate(self, song: int) -> bool:
        if not len(self._kept):
            return False
        return bool((1.0 - self._kept @ self.duplicates[song]).min() < DUPLICATE_DISTANCE)

    def _add(self, song: int) -> None:
        self.taken.append(song)
        self._blocked[song] = True
        self._kept = np.concatenate([self._kept, self.duplicates[song][None]])
        artist = self._artist(song)
        if artist:
            self._counts[artist] = self._counts.get(artist, 0) + 1


def _by_distance(distances: np.ndarray, first: int) -> Iterator[int]:
    """Song indices by increasing distance (ties by index): the ``first`` nearest sorted
    alone, the rest only if those run out, so a query of a large library sorts little."""
    n = len(distances)
    if first < n:
        head = np.argpartition(distances, first)[:first]
        head = head[np.lexsort((head, distances[head]))]
        yield from head.tolist()
        rest = np.setdiff1d(np.arange(n), head, assume_unique=True)
        yield from rest[np.lexsort((rest, distances[rest]))].tolist()
    else:
        yield from np.lexsort((np.arange(n), distances)).tolist()

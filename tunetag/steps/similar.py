"""More like this: the library's songs nearest some seed songs, and playlists made of them.

Songs are placed by one of two embeddings, both from the feature cache (a second run
decodes only the songs added since):

- by default, the pretrained taggers' view of a song: the mean and standard deviation over
  its 3 s patches of ``musicnn-msd`` and ``musicnn-mtt`` (`PRETRAINED_FEATURES`: the views
  and patches the labelling page's live model and ``auto`` read, so a library labelled or
  trained on is already cached), standardised over the library so that no unit of the 800
  outweighs the others for its scale alone;
- with a run, the run's own layer that knows the person's categories
  (`tunetag.runs.layer`, which says what that layer is for each kind of model).

Distances are cosine distances (`tunetag.library.neighbours`). Near-duplicates are told in
the standardised summaries of the views the songs were embedded from, never in a run's
layer, where every song of one class may sit at the same point.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tunetag.config import FeatureConfig, default_cache_dir
from tunetag.errors import AudioDecodeError, ParameterError
from tunetag.features.extract import stream_extract
from tunetag.files.atomic import atomic_open
from tunetag.library.metadata import read_metadata
from tunetag.library.neighbours import (
    Picker,
    cosine_distances,
    standardised_unit_rows,
    unit_rows,
)
from tunetag.library.playlists import write_playlist
from tunetag.library.scan import find_audio
from tunetag.library.songtable import SongTable, path_key
from tunetag.models.auto import AutoProbe
from tunetag.models.inputs import load_views, summary_statistics
from tunetag.runs.folder import RunFolder
from tunetag.runs.layer import layer_function
from tunetag.runtime.progress import progress_bar

PRETRAINED_FEATURES: FeatureConfig = dataclasses.replace(
    AutoProbe.features, views=("musicnn-msd", "musicnn-mtt")
)
SONGS = 20  # songs a list holds unless told
PER_ARTIST = 2  # songs of one artist a list holds unless told: variety, yet an artist's best
UNLIKED_WEIGHT = 0.5  # how far the unliked seeds' mean pushes a playlist's query away


@dataclass(frozen=True)
class LibrarySong:
    """A song of the library: its file and what a list or playlist line shows of it."""

    path: Path
    artist: str = ""
    title: str = ""
    duration_s: float | None = None


@dataclass
class SimilarSongs:
    """What a search found.

    Attributes
    ----------
    songs : list of LibrarySong
        The songs found, in order (nearest first; for a path, from the start to the end).
    distances : list of float
        Each song's cosine distance (0 to 2) to the query (for a path: to its step's point).
    compared : int
        Library songs that could be read and were compared.
    errors : dict of Path to str
        Library songs that could not be read, and why (each told on stderr when found).
    """

    songs: list[LibrarySong]
    distances: list[float]
    compared: int
    errors: dict[Path, str]

    def __repr__(self) -> str:
        """The counts, not the songs: a long list would fill the screen."""
        return (
            f"SimilarSongs(found={len(self.songs)}, compared={self.compared}, "
            f"skipped={len(self.errors)})"
        )


@dataclass
class _Space:
    """The library embedded: unit rows to search and to tell duplicates in, and the seeds'."""

    songs: list[LibrarySong]
    search: np.ndarray  # (n, d) unit rows
    duplicates: np.ndarray  # (n, e) unit rows
    seeds: dict[Path, tuple[int | None, np.ndarray, np.ndarray]]  # index, search, duplicate
    errors: dict[Path, str]

    def picker(self, per_artist: int | None, seeds: Sequence[Path]) -> Picker:
        """A `Picker` that leaves out ``seeds`` (and their near-duplicates)."""
        inside = [self.seeds[seed][0] for seed in seeds if self.seeds[seed][0] is not None]
        outside = [self.seeds[seed][2] for seed in seeds if self.seeds[seed][0] is None]
        extra = np.stack(outside) if outside else None
        artists = [song.artist for song in self.songs]
        return Picker(self.duplicates, artists, per_artist, left_out=inside, extra=extra)

    def mean_of(self, seeds: Sequence[Path]) -> np.ndarray:
        return np.mean([self.seeds[seed][1] for seed in seeds], axis=0)


def similar(
    seeds: Sequence[str | os.PathLike],
    library: str | os.PathLike,
    *,
    n: int = SONGS,
    run: str | os.PathLike | None = None,
    per_artist: int | None = PER_ARTIST,
    output: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> SimilarSongs:
    """The ``n`` songs of ``library`` nearest the seeds, nearest first (`tunetag similar`).

    Several seeds are one query: the mean of their unit embeddings, so the list holds what
    the seeds share. The minimum over seeds was the other choice; it lists each seed's own
    neighbours in turn (one odd seed fills half the list) and never the songs between
    them, and costs a pass over the library per seed. Seeds are left out of the list, and so
    are their near-duplicates; at most ``per_artist`` songs of one artist are listed.

    Parameters
    ----------
    seeds : sequence of path-like
        Audio files, in the library or not.
    library : path-like
        A song CSV (its ``artist`` column, else each file's tags, names the artist) or a
        folder of music, searched as ``tunetag scan`` searches it.
    n : int
        Songs to list.
    run : path-like, optional
        A run folder: place songs by its layer (`tunetag.runs.layer`) instead of the
        pretrained embedding.
    per_artist : int or None
        At most this many songs of one artist; None: no cap.
    output : path-like, optional
        Also write a CSV ``path,distance`` here (atomically).
    cache_dir, executor, progress
        Feature cache [default: `default_cache_dir`], where songs are decoded (see
        `tunetag.features.extract.stream_extract`) and whether a bar shows the songs embedded.

    Raises
    ------
    ParameterError
        For no seed, a seed that is not a file, ``n`` below 1, or a library that is neither
        a song CSV nor a folder of music.
    AudioDecodeError
        When a seed cannot be read, or no song of the library can.
    """
    _check_count(n)
    chosen = _seed_paths(seeds, "a seed")
    space = _embed(library, chosen, run, cache_dir, executor, progress)
    distances = cosine_distances(space.search, _direction(space.mean_of(chosen)))
    found = space.picker(per_artist, chosen).take(distances, n)
    result = _result(space, found, distances[found].tolist())
    if output is not None:
        _write_distances(Path(output), result)
    return result


def like_playlist(
    like: Sequence[str | os.PathLike],
    library: str | os.PathLike,
    output: str | os.PathLike,
    *,
    unlike: Sequence[str | os.PathLike] = (),
    n: int = SONGS,
    run: str | os.PathLike | None = None,
    per_artist: int | None = PER_ARTIST,
    cache_dir: str | os.PathLike | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> SimilarSongs:
    """Write an M3U8 of the liked seeds, then ``n`` songs near them and away from the
    unliked ones (`tunetag playlists --like ... --unlike ...`).

    The query moves from the liked seeds' mean away from the unliked seeds' mean (the
    Rocchio query of relevance feedback: liked - `UNLIKED_WEIGHT` x unliked), and a song
    nearer the unliked seeds' mean than the liked seeds' is never listed, however near
    the query. Arguments as in `similar`; ``output`` is the playlist file. The returned
    songs are the ones found, without the liked seeds.
    """
    _check_count(n)
    liked = _seed_paths(like, "a liked song")
    unliked = _seed_paths(unlike, "an unliked song") if unlike else []
    space = _embed(library, [*liked, *unliked], run, cache_dir, executor, progress)
    liked_mean = space.mean_of(liked)
    query = _direction(liked_mean)
    if unliked:
        unliked_mean = space.mean_of(unliked)
        query = _direction(query - UNLIKED_WEIGHT * _direction(unliked_mean))
    distances = cosine_distances(space.search, query)
    if unliked:
        nearer_unliked = cosine_distances(space.search, unliked_mean) < cosine_distances(
            space.search, liked_mean
        )
        distances[nearer_unliked] = np.inf
    found = space.picker(per_artist, [*liked, *unliked]).take(distances, n)
    result = _result(space, found, distances[found].tolist())
    title = "like " + ", ".join(seed.name for seed in liked)
    write_playlist(Path(output), title, [_seed_song(space, seed) for seed in liked] + result.songs)
    return result


def path_playlist(
    start: str | os.PathLike,
    end: str | os.PathLike,
    library: str | os.PathLike,
    output: str | os.PathLike,
    *,
    n: int = SONGS,
    run: str | os.PathLike | None = None,
    per_artist: int | None = PER_ARTIST,
    cache_dir: str | os.PathLike | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> SimilarSongs:
    """Write an M3U8 of ``n`` songs walking from ``start`` to ``end`` in small steps
    (`tunetag playlists --path A B`).

    Between the two songs' unit embeddings, ``n - 2`` points are spread evenly along the
    straight line; each step is the song nearest its point not yet in the list (and no
    near-duplicate of one, at most ``per_artist`` per artist). A shortest path in the
    k-nearest-neighbour graph was the other choice: its steps are each short, but it goes
    where the graph's edges happen to lead, may take any number of steps, and needs the
    graph of the whole library (a pass over it per song); the line makes steps of even size
    between two moods, in the length asked, at one pass per step. The list is ``start``, the
    steps, then ``end``; arguments as in `like_playlist`.
    """
    if n < 2:
        raise ParameterError(f"a path holds its two ends: n must be at least 2, got {n}")
    ends = _seed_paths([start, end], "an end of the path")
    if path_key(ends[0]) == path_key(ends[1]):
        raise ParameterError(f"{ends[0]}: a path needs two different songs")
    space = _embed(library, ends, run, cache_dir, executor, progress)
    a, b = (_direction(space.seeds[seed][1]) for seed in ends)
    picker = space.picker(per_artist, ends)
    found, distances = [], []
    for step in range(1, n - 1):
        t = step / (n - 1)
        point = _direction((1 - t) * a + t * b)
        near = cosine_distances(space.search, point)
        taken = picker.take(near, 1)
        found += taken
        distances += near[taken].tolist()
    result = _result(space, found, distances)
    title = f"from {ends[0].name} to {ends[1].name}"
    songs = [_seed_song(space, ends[0]), *result.songs, _seed_song(space, ends[1])]
    write_playlist(Path(output), title, songs)
    return result


def library_songs(library: str | os.PathLike, progress: bool = True) -> list[LibrarySong]:
    """The songs of a song CSV or a folder of music, with artist, title and length.

    A CSV's cells are read first and a song's own tags (`read_metadata`) fill what its row
    lacks; a folder's songs are those ``tunetag scan`` finds (`find_audio`), tags read
    under a bar as scan reads them.
    """
    library = Path(library)
    if library.is_dir():
        found = find_audio(library)
        bar = progress_bar(found, desc="scan", unit="song", disable=not progress)
        return [_tagged(path, {}) for path in bar]
    if library.suffix.lower() != ".csv":
        raise ParameterError(f"{library}: not a song CSV or a folder of music")
    table = SongTable.read(library, check_files=False)
    return [_tagged(table.audio_path(row), row) for row in table.rows]


def _tagged(path: Path, row: dict[str, str]) -> LibrarySong:
    """A song from its CSV row, its tags filling the cells the row lacks."""
    cells = {key: row.get(key, "").strip() for key in ("artist", "title", "duration_s")}
    if not (cells["artist"] and cells["duration_s"]) and path.is_file():
        tags = read_metadata(path)
        cells = {key: cells[key] or tags[key] for key in cells}
    try:
        duration = float(cells["duration_s"]) if cells["duration_s"] else None
    except ValueError:
        duration = None
    return LibrarySong(path, cells["artist"], cells["title"], duration)


def _embed(
    library: str | os.PathLike,
    seeds: Sequence[Path],
    run: str | os.PathLike | None,
    cache_dir: str | os.PathLike | None,
    executor: Executor | None,
    progress: bool,
) -> _Space:
    """Every readable song of the library and every seed embedded, in unit rows."""
    features, layer = PRETRAINED_FEATURES, None
    if run is not None:
        features, layer = layer_function(RunFolder(run))
    songs = library_songs(library, progress)
    if not songs:
        raise ParameterError(f"{library}: no songs in the library")
    song_of = {path_key(song.path): song for song in songs}
    outside = [seed for seed in seeds if path_key(seed) not in song_of]
    paths = [song.path for song in songs] + outside
    x, kept, layers, errors = None, [], [], {}
    seed_rows: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}  # seeds outside
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    outcomes = stream_extract(paths, features, cache, executor)
    with progress_bar(total=len(paths), desc="embed", unit="song", disable=not progress) as bar:
        for outcome in outcomes:
            bar.update()
            if outcome.views is None:
                errors[outcome.path] = outcome.reason
                continue
            summary = summary_statistics(load_views(outcome.views))
            own = layer(outcome.views) if layer is not None else None
            key = path_key(outcome.path)
            if key not in song_of:
                seed_rows[key] = summary, own
                continue
            if x is None:  # one float32 matrix, filled as songs come
                x = np.empty((len(songs), summary.size), dtype=np.float32)
            x[len(kept)] = summary
            kept.append(song_of[key])
            layers.append(own)
    failed = {path_key(path) for path in errors}
    for seed in seeds:
        if path_key(seed) in failed:
            raise AudioDecodeError(f"{seed}: cannot be read, so no song can be found near it")
    if not kept:
        raise AudioDecodeError(f"none of the {len(songs)} songs of {library} could be read")
    duplicates, mean, scale = standardised_unit_rows(x[: len(kept)])
    search = duplicates if layer is None else unit_rows(np.stack(layers))
    row_of = {path_key(song.path): k for k, song in enumerate(kept)}
    found_seeds = {}
    for seed in seeds:
        index = row_of.get(path_key(seed))
        if index is not None:
            found_seeds[seed] = (index, search[index], duplicates[index])
        else:
            summary, own = seed_rows[path_key(seed)]
            standard = unit_rows(((summary - mean) / scale)[None])[0]
            own = standard if layer is None else unit_rows(own[None])[0]
            found_seeds[seed] = (None, own, standard)
    return _Space(kept, search, duplicates, found_seeds, errors)


def _seed_paths(seeds: Sequence[str | os.PathLike], what: str) -> list[Path]:
    """The seeds as paths, each an existing file, once each."""
    if isinstance(seeds, str | os.PathLike):
        seeds = [seeds]
    paths = list(dict.fromkeys(Path(seed) for seed in seeds))
    if not paths:
        raise ParameterError(f"give {what} to start from")
    for path in paths:
        if not path.is_file():
            raise ParameterError(f"{path}: no such file ({what})")
    return paths


def _check_count(n: int) -> None:
    if n < 1:
        raise ParameterError(f"n must be at least 1, got {n}")


def _direction(vector: np.ndarray) -> np.ndarray:
    """``vector`` at unit length; refused when the seeds cancel out."""
    norm = float(np.linalg.norm(vector))
    if norm < 1e-6:
        raise ParameterError("the seeds point in opposite directions: their mean is no song")
    return (vector / norm).astype(np.float32)


def _result(space: _Space, found: list[int], distances: list[float]) -> SimilarSongs:
    songs = [space.songs[k] for k in found]
    return SimilarSongs(songs, [max(d, 0.0) for d in distances], len(space.songs), space.errors)


def _seed_song(space: _Space, seed: Path) -> LibrarySong:
    index = space.seeds[seed][0]
    return space.songs[index] if index is not None else _tagged(seed, {})


def _write_distances(path: Path, result: SimilarSongs) -> None:
    """``path,distance`` per song, nearest first, written atomically."""
    with atomic_open(path, "w") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "distance"])
        for song, distance in zip(result.songs, result.distances, strict=True):
            writer.writerow([str(song.path), f"{distance:.6f}" if math.isfinite(distance) else ""])

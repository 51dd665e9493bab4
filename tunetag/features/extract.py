"""Compute and cache the views of many songs in parallel.

Where the work runs is a parameter: any `concurrent.futures.Executor` (a local process pool by
default, a thread pool, a Dask cluster through ``Client.get_executor()``). A worker decodes one
song and writes its views to the cache itself, so only paths travel back.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_limits

from tunetag.audio.decode import load_window
from tunetag.config import FeatureConfig, default_cache_dir
from tunetag.errors import ParameterError, TunetagError
from tunetag.features.cache import FeatureCache
from tunetag.features.views import VIEWS, compute_views
from tunetag.library.songtable import SongTable
from tunetag.runtime.executors import local_pool
from tunetag.runtime.progress import progress_bar, progress_write
from tunetag.runtime.timelimit import time_limit

SONG_TIME_LIMIT_S = 120.0  # seconds one song may take to decode and analyse (about 1 s)


@dataclass
class ExtractReport:
    """What `extract_files` did, song by song.

    Attributes
    ----------
    ok : dict[Path, dict[str, Path]]
        Audio path -> view name -> cached .npy file, for every song that has all its views.
    errors : dict[Path, str]
        Audio path -> one-line reason, for every song that failed.
    computed : int
        Songs whose views a worker decoded this time.
    cached : int
        Songs whose views all came from the cache, without decoding (pictures asked for
        may have been drawn from them now).
    """

    ok: dict[Path, dict[str, Path]] = field(default_factory=dict)
    errors: dict[Path, str] = field(default_factory=dict)
    computed: int = 0
    cached: int = 0

    def __repr__(self) -> str:
        """The counts, not a cache path per song (the failures' reasons are in ``errors``)."""
        return (
            f"ExtractReport(songs_ok={len(self.ok)}, songs_failed={len(self.errors)}, "
            f"computed={self.computed}, cached={self.cached})"
        )


def extract_files(
    paths: Sequence[Path],
    features: FeatureConfig,
    cache_dir: Path,
    executor: Executor | None = None,
    png_dir: Path | None = None,
    progress: bool = True,
    time_limit_s: float | None = SONG_TIME_LIMIT_S,
) -> ExtractReport:
    """Make sure every view in ``features.views`` of every song is in the cache.

    Songs whose views (and pictures, with ``png_dir``) are all present are counted as cached
    without decoding. The rest go to ``executor``; one bad file never stops the run: its
    reason is printed at once as ``error: <path>: <reason>`` on stderr and kept in the report.

    Parameters
    ----------
    paths : sequence of Path
        Audio files; duplicates are done once.
    features : FeatureConfig
        Decode settings (sample rate in Hz, window in seconds), view parameters and the
        names of the views to compute.
    cache_dir : Path
        Root folder of the `FeatureCache`.
    executor : concurrent.futures.Executor, optional
        Where songs are processed; it is left running. By default a process pool with one
        worker per CPU (at most one per song, the platform's start method: scripts need the
        ``if __name__ == "__main__":`` guard where that is spawn) is created and shut down
        here (none when only the last song needs computing: it runs in this process).
    png_dir : Path, optional
        Also draw each view as the proposal's 1600x400 picture, at
        ``png_dir / view / <stem>-<key[:8]>.png``.
    progress : bool
        Show a progress bar over songs on stderr.
    time_limit_s : float or None
        Seconds one song's decode and views may take before they are stopped and the song
        reported (`tunetag.runtime.timelimit.time_limit`; not on a Dask worker's threads); None:
        no limit.

    Returns
    -------
    ExtractReport
        Cached paths per song and view, reasons per failed song, and the counts.
    """
    songs = list(dict.fromkeys(Path(path) for path in paths))
    report = ExtractReport()
    with progress_bar(total=len(songs), desc="extract", unit="song", disable=not progress) as bar:
        for outcome in stream_extract(songs, features, cache_dir, executor, png_dir, time_limit_s):
            if outcome.views is None:
                report.errors[outcome.path] = outcome.reason
            else:
                report.ok[outcome.path] = outcome.views
                report.computed += outcome.computed
                report.cached += not outcome.computed
            bar.update()
    report.ok = {path: report.ok[path] for path in songs if path in report.ok}
    report.errors = {path: report.errors[path] for path in songs if path in report.errors}
    return report


def stream_extract(
    paths: Iterable[Path],
    features: FeatureConfig,
    cache_dir: Path,
    executor: Executor | None = None,
    png_dir: Path | None = None,
    time_limit_s: float | None = SONG_TIME_LIMIT_S,
) -> Iterator[SongOutcome]:
    """`extract_files` one song at a time: each outcome as soon as it is known.

    Cached songs come as they are looked up, computed ones in the order they were given (a
    song a worker finished early waits for those before it). At most `MAX_IN_FLIGHT` songs
    wait on the executor at once, so memory stays flat however large the library; a failed
    song's reason is printed as it is found. Arguments as in `extract_files`; closing the
    generator early cancels the songs not yet started.
    """
    unknown = [view for view in features.views if view not in VIEWS]
    if unknown:
        raise ParameterError(f"unknown views {unknown}; known views: {', '.join(VIEWS)}")
    cache = FeatureCache(cache_dir)
    songs = list(dict.fromkeys(Path(path) for path in paths))
    job = _Job(features, cache.root.absolute(), png_dir and png_dir.absolute(), time_limit_s)
    workers = _Workers(executor, job)
    try:
        for k, path in enumerate(songs):
            try:
                missing, pictures_missing = _plan(cache, path, features, png_dir)
            except TunetagError as exc:
                yield _failed(path, _reason(exc, path))
                continue
            if not (missing or pictures_missing):
                yield SongOutcome(path, _cached_views(cache, path, features), None, False)
            elif workers.pool is None and k == len(songs) - 1:
                yield _outcome(path, _extract_song(path, missing, job))
            else:
                workers.submit(path, missing)
                while workers.full():
                    yield workers.next_done()
        while workers.pending:
            yield workers.next_done()
    finally:
        workers.close()


def extract(
    csv_path: str | os.PathLike,
    features: FeatureConfig | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    png_dir: str | os.PathLike | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> ExtractReport:
    """Cache the views of every song in a song CSV (the `tunetag extract` step).

    Parameters
    ----------
    csv_path : path
        The song CSV; it is validated (columns, duplicates, files that exist) first.
    features : FeatureConfig, optional
        Decode and view settings; the defaults otherwise.
    cache_dir : path, optional
        Feature cache root (default: `default_cache_dir`).
    png_dir, executor, progress
        As in `extract_files`.
    """
    table = SongTable.read(csv_path)
    return extract_files(
        [table.audio_path(row) for row in table.rows],
        features or FeatureConfig(),
        Path(cache_dir) if cache_dir else default_cache_dir(),
        executor=executor,
        png_dir=Path(png_dir) if png_dir else None,
        progress=progress,
    )


SHARED_CACHE_WAIT_S = 10.0  # seconds a worker's first stored file may take to show here
MAX_IN_FLIGHT = 1024  # songs submitted to the executor and not yet collected
_Outcome = tuple[dict[str, Path] | None, str | None, bool]  # views, reason, computed


@dataclass(frozen=True)
class _Job:
    """What every song of one extraction shares; sent to the worker with each song.

    Paths are absolute: a worker (on a Dask cluster) may run in another folder.
    """

    features: FeatureConfig
    cache_root: Path
    png_dir: Path | None
    time_limit_s: float | None


@dataclass(frozen=True)
class SongOutcome:
    """One song of `stream_extract`: its cached views, or the reason it has none."""

    path: Path
    views: dict[str, Path] | None  # view name -> cached .npy file; None when it failed
    reason: str | None  # one line, without the path; None when it succeeded
    computed: bool  # views decoded this time; False when served from the cache (pictures too)


class _Workers:
    """The songs on an executor: at most `MAX_IN_FLIGHT` at a time, collected in the order
    they were submitted. Without an executor a process pool (one worker per CPU) is started at the
    first song and shut down by `close`.

    The first song a worker stores is looked for here: a worker that wrote to its own disk
    (a cache folder that is not shared) stops the run at once, not at training.
    """

    def __init__(self, executor: Executor | None, job: _Job) -> None:
        self.pool = executor
        self._own_pool = executor is None
        self._job = job
        self.pending: dict[Future, Path] = {}
        self._seen_here = False

    def submit(self, path: Path, missing: tuple[str, ...]) -> None:
        if self.pool is None:
            self.pool = local_pool(os.cpu_count() or 1)
        future = self.pool.submit(_extract_song, path.absolute(), missing, self._job)
        self.pending[future] = path

    def full(self) -> bool:
        return len(self.pending) >= MAX_IN_FLIGHT

    def next_done(self) -> SongOutcome:
        """Wait for the song submitted first and return its outcome. Taking any finished
        one instead let a song wait behind hundreds of later ones, and `predict`, which
        writes rows in input order, held them all meanwhile."""
        future = next(iter(self.pending))  # the oldest: songs come back in the order given
        path = self.pending.pop(future)
        try:
            views, reason, computed = future.result()
        except Exception as exc:  # the worker itself died (killed, out of memory)
            views, reason, computed = None, _one_line(f"{type(exc).__name__}: {exc}"), False
        if views and not self._seen_here:
            stored = next(iter(views.values()))
            if not _appears(stored, SHARED_CACHE_WAIT_S):
                raise ParameterError(
                    f"{stored}: a worker stored it where this machine cannot see it; the "
                    "cache (--cache) must be a folder every worker shares at the same path"
                )
            self._seen_here = True
        return _outcome(path, (views, reason, computed))

    def close(self) -> None:
        """Cancel the songs not started; shut down the pool if it is ours."""
        for future in self.pending:
            future.cancel()
        if self._own_pool and self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _appears(path: Path, wait_s: float) -> bool:
    """Whether ``path`` exists here, waiting up to ``wait_s`` for a network file system
    (NFS caches a name it looked up and did not find for some seconds)."""
    deadline = time.monotonic() + wait_s
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _plan(
    cache: FeatureCache, path: Path, features: FeatureConfig, png_dir: Path | None
) -> tuple[tuple[str, ...], bool]:
    """The views of a song not yet cached, and whether any of its pictures is missing."""
    missing = tuple(v for v in features.views if cache.load(path, features, v) is None)
    pictures_missing = png_dir is not None and not all(
        _png_path(png_dir, cache, path, features, v).exists() for v in features.views
    )
    return missing, pictures_missing


def _extract_song(path: Path, missing: tuple[str, ...], job: _Job) -> _Outcome:
    """Worker: compute, cache and draw one song; return its cached paths or a reason, and
    whether any view was computed.

    A song whose audio the cache holds under another identity (its tags written since, or
    the file moved) is linked to those arrays first (`FeatureCache.adopt`), and only what
    they lack is computed.

    Every exception is turned into a one-line reason here, so nothing unpicklable travels.
    BLAS and OpenMP run on one thread (songs are the parallel unit), which also makes the
    arrays the same bit for bit whatever the machine's core count or the executor (a Dask
    worker limits its BLAS to one thread too). OpenMP must: a worker forked from a process
    that already ran torch's OpenMP threads hangs at its first parallel torch operation
    (the musicnn view), as GNU OpenMP's threads do not survive a fork.
    """
    try:
        with threadpool_limits(limits=1), time_limit(job.time_limit_s, str(path)):
            cache = FeatureCache(job.cache_root)
            if missing and cache.adopt(path):
                missing = tuple(v for v in missing if cache.load(path, job.features, v) is None)
            return _compute_song(path, job, cache, missing), None, bool(missing)
    except TunetagError as exc:
        return None, _reason(exc, path), False
    except Exception as exc:
        return None, _one_line(f"{type(exc).__name__}: {exc}"), False


def _compute_song(
    path: Path, job: _Job, cache: FeatureCache, missing: tuple[str, ...]
) -> dict[str, Path]:
    """Decode once, compute the missing views together (one STFT), cache and draw them."""
    features, png_dir = job.features, job.png_dir
    arrays = compute_views(missing, load_window(path, features.audio), features) if missing else {}
    for view, array in arrays.items():
        cache.save(path, features, view, array)
    if png_dir is not None:
        # matplotlib only where pictures are asked for: workers import what they use
        from tunetag.features.image import seed_image, write_png

        for view in features.views:
            png = _png_path(png_dir, cache, path, features, view)
            if not png.exists():
                array = arrays[view] if view in arrays else cache.load(path, features, view)
                write_png(png, seed_image(array))
    return _cached_views(cache, path, features)


def _png_path(
    png_dir: Path, cache: FeatureCache, path: Path, features: FeatureConfig, view: str
) -> Path:
    """``png_dir / view / <stem>-<key[:8]>.png``: readable, and unique per song and setting."""
    return Path(png_dir) / view / f"{path.stem}-{cache.key(path, features, view)[:8]}.png"


def _cached_views(cache: FeatureCache, path: Path, features: FeatureConfig) -> dict[str, Path]:
    return {view: cache.path_for(path, features, view) for view in features.views}


def _outcome(path: Path, outcome: _Outcome) -> SongOutcome:
    views, reason, computed = outcome
    if views is None:
        return _failed(path, reason or "unknown error")
    return SongOutcome(path, views, None, computed)


def _failed(path: Path, reason: str) -> SongOutcome:
    progress_write(f"error: {path}: {reason}", file=sys.stderr)
    return SongOutcome(path, None, reason, False)


def _reason(exc: TunetagError, path: Path) -> str:
    """The reason of a tunetag error, without the ``<path>: `` its message starts with."""
    message = _one_line(str(exc))
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def _one_line(text: str) -> str:
    return " ".join(text.split())

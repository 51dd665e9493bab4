"""Compute and cache the views of many songs in parallel.

Where the work runs is a parameter: any `concurrent.futures.Executor` (a local process pool by
default, a thread pool, a Dask cluster through ``Client.get_executor()``). A worker decodes one
song and writes its views to the cache itself, so only paths travel back.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_limits
from tqdm import tqdm

from tunetag.audio.decode import load_window
from tunetag.config import FeatureConfig, default_cache_dir
from tunetag.errors import ParameterError, TunetagError
from tunetag.features.cache import FeatureCache
from tunetag.features.views import VIEW_NAMES, compute_views
from tunetag.library.songtable import SongTable


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
        Songs that a worker decoded (or drew) this time.
    cached : int
        Songs served entirely from the cache, without decoding.
    """

    ok: dict[Path, dict[str, Path]] = field(default_factory=dict)
    errors: dict[Path, str] = field(default_factory=dict)
    computed: int = 0
    cached: int = 0


def extract_files(
    paths: Sequence[Path],
    features: FeatureConfig,
    cache_dir: Path,
    executor: Executor | None = None,
    png_dir: Path | None = None,
    progress: bool = True,
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
        here; one song or none runs in this process.
    png_dir : Path, optional
        Also draw each view as the proposal's 1600x400 picture, at
        ``png_dir / view / <stem>-<key[:8]>.png``.
    progress : bool
        Show a progress bar over songs on stderr.

    Returns
    -------
    ExtractReport
        Cached paths per song and view, reasons per failed song, and the counts.
    """
    unknown = [view for view in features.views if view not in VIEW_NAMES]
    if unknown:
        raise ParameterError(f"unknown views {unknown}; known views: {', '.join(VIEW_NAMES)}")
    cache = FeatureCache(cache_dir)
    songs = list(dict.fromkeys(Path(path) for path in paths))
    report = ExtractReport()
    with tqdm(total=len(songs), desc="extract", unit="song", disable=not progress) as bar:
        todo = _serve_from_cache(songs, cache, features, png_dir, report, bar)
        if executor is not None:
            _run_on(executor, todo, features, cache, png_dir, report, bar)
        elif len(todo) > 1:
            pool = ProcessPoolExecutor(max_workers=min(os.cpu_count() or 1, len(todo)))
            try:
                _run_on(pool, todo, features, cache, png_dir, report, bar)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        else:
            for path, missing in todo:
                _record(report, path, _extract_song(path, features, cache.root, missing, png_dir))
                bar.update()

    report.ok = {path: report.ok[path] for path in songs if path in report.ok}
    report.errors = {path: report.errors[path] for path in songs if path in report.errors}
    return report


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
_Outcome = tuple[dict[str, Path] | None, str | None]
_Todo = list[tuple[Path, tuple[str, ...]]]


def _serve_from_cache(
    songs: list[Path],
    cache: FeatureCache,
    features: FeatureConfig,
    png_dir: Path | None,
    report: ExtractReport,
    bar: tqdm,
) -> _Todo:
    """Record the songs the cache already holds; return the others with their missing views."""
    todo: _Todo = []
    for path in songs:
        try:
            missing, pictures_missing = _plan(cache, path, features, png_dir)
        except TunetagError as exc:
            _record_error(report, path, _reason(exc, path))
            bar.update()
            continue
        if missing or pictures_missing:
            todo.append((path, missing))
        else:
            report.ok[path] = {v: cache.path_for(path, features, v) for v in features.views}
            report.cached += 1
            bar.update()
    return todo


def _run_on(
    executor: Executor,
    todo: _Todo,
    features: FeatureConfig,
    cache: FeatureCache,
    png_dir: Path | None,
    report: ExtractReport,
    bar: tqdm,
) -> None:
    """Submit every song to ``executor`` and record each outcome as it arrives.

    Paths travel absolute: a worker (on a Dask cluster) may run in another folder. The
    first song a worker stores is looked for here: a worker that wrote to its own disk
    (a cache folder that is not shared) stops the run at once, not at training.
    """
    cache_root = cache.root.absolute()
    pictures = None if png_dir is None else png_dir.absolute()
    futures = {
        executor.submit(
            _extract_song, path.absolute(), features, cache_root, missing, pictures
        ): path
        for path, missing in todo
    }
    seen_here = False
    for future in as_completed(futures):
        path = futures[future]
        try:
            outcome = future.result()
        except Exception as exc:  # the worker itself died (killed, out of memory)
            outcome = (None, _one_line(f"{type(exc).__name__}: {exc}"))
        if outcome[0] and not seen_here:
            stored = next(iter(outcome[0].values()))
            if not _appears(stored, SHARED_CACHE_WAIT_S):
                for pending in futures:
                    pending.cancel()
                raise ParameterError(
                    f"{stored}: a worker stored it where this machine cannot see it; the "
                    "cache (--cache) must be a folder every worker shares at the same path"
                )
            seen_here = True
        _record(report, path, outcome)
        bar.update()


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


def _extract_song(
    path: Path,
    features: FeatureConfig,
    cache_root: Path,
    missing: tuple[str, ...],
    png_dir: Path | None,
) -> _Outcome:
    """Worker: compute, cache and draw one song; return its cached paths or a reason.

    Every exception is turned into a one-line reason here, so nothing unpicklable travels.
    BLAS runs on one thread (songs are the parallel unit), which also makes the arrays the
    same bit for bit whatever the machine's core count or the executor (a Dask worker
    limits its BLAS to one thread too).
    """
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            cache = FeatureCache(cache_root)
            return _compute_song(path, features, cache, missing, png_dir), None
    except TunetagError as exc:
        return None, _reason(exc, path)
    except Exception as exc:
        return None, _one_line(f"{type(exc).__name__}: {exc}")


def _compute_song(
    path: Path,
    features: FeatureConfig,
    cache: FeatureCache,
    missing: tuple[str, ...],
    png_dir: Path | None,
) -> dict[str, Path]:
    """Decode once, compute the missing views together (one STFT), cache and draw them."""
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
    return {view: cache.path_for(path, features, view) for view in features.views}


def _png_path(
    png_dir: Path, cache: FeatureCache, path: Path, features: FeatureConfig, view: str
) -> Path:
    """``png_dir / view / <stem>-<key[:8]>.png``: readable, and unique per song and setting."""
    return Path(png_dir) / view / f"{path.stem}-{cache.key(path, features, view)[:8]}.png"


def _record(report: ExtractReport, path: Path, outcome: _Outcome) -> None:
    paths, reason = outcome
    if paths is None:
        _record_error(report, path, reason or "unknown error")
    else:
        report.ok[path] = paths
        report.computed += 1


def _record_error(report: ExtractReport, path: Path, reason: str) -> None:
    report.errors[path] = reason
    tqdm.write(f"error: {path}: {reason}", file=sys.stderr)


def _reason(exc: TunetagError, path: Path) -> str:
    """The reason of a tunetag error, without the ``<path>: `` its message starts with."""
    message = _one_line(str(exc))
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def _one_line(text: str) -> str:
    return " ".join(text.split())

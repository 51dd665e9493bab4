"""One labelling session: the CSV being labelled, the queue, and what the page shows per song."""

from __future__ import annotations

import contextlib
import math
import secrets
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tunetag.audio.window import window_bounds
from tunetag.config import FeatureConfig, default_cache_dir
from tunetag.errors import ParameterError, TunetagError
from tunetag.features.cache import FeatureCache
from tunetag.labelapp.media import BROWSER_TYPES, spectrogram_png
from tunetag.labelapp.queue import TEACH, label_queue
from tunetag.labelapp.store import LabelStore, parse_task
from tunetag.library.metadata import read_metadata

if TYPE_CHECKING:
    from tunetag.labelapp.guesses import ModelGuesses
    from tunetag.labelapp.keep import Keeper
    from tunetag.labelapp.live import LiveLearner

PREFETCHED_SONGS = 2  # spectrograms made ahead of the person, so the next song shows at once


@dataclass
class LabelSession:
    """Everything the page's server needs; built by `open_session`.

    Attributes
    ----------
    store : LabelStore
        The CSV and its labels.
    queue : list of int
        Song ids in the order the page offers them.
    order : str
        How the queue was ordered (see `tunetag.labelapp.queue.ORDERS`).
    features : FeatureConfig
        Settings of the spectrogram shown (a run's own settings when a run is given).
    cache_dir : Path
        tunetag's cache: spectrograms and transcoded audio.
    token : str
        The secret every request must carry.
    guesses : ModelGuesses, optional
        A trained run's probabilities per song.
    run : str, optional
        The run folder the guesses come from, as given.
    present : list of int
        The songs whose files exist (the queue's songs).
    live : LiveLearner, optional
        The model learning while the person labels; its guesses replace a run's.
    keeper : Keeper, optional
        Writes the live model as a run folder when asked.
    seed : int
        Seed of the shuffle and teach orders.
    """

    store: LabelStore
    queue: list[int]
    order: str
    features: FeatureConfig
    cache_dir: Path
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    guesses: ModelGuesses | None = None
    run: str | None = None
    present: list[int] = field(default_factory=list)
    live: LiveLearner | None = None
    keeper: Keeper | None = None
    seed: int = 0
    _prefetch: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="tunetag-prefetch")
    )

    @property
    def feature_cache(self) -> FeatureCache:
        """The cache that holds the spectrograms' mel views."""
        return FeatureCache(self.cache_dir)

    def state(self) -> dict:
        """The page's view of the whole session: tasks and keys, queue, progress."""
        store = self.store
        return {
            "csv": store.csv_path.name,
            "order": self.order,
            "run": self.run,
            "tasks": [
                {
                    "name": task.name,
                    "multi_label": task.multi_label,
                    "classes": list(task.classes),
                    "keys": dict(task.keys),
                }
                for task in store.tasks
            ],
            "queue": self.current_queue(),
            "total": len(store),
            "complete": store.complete_count(),
            "progress": store.progress(),
            "can_undo": store.can_undo,
            "live": self.live_summary(),
            "keep": self.keeper.status() if self.keeper else None,
        }

    def live_summary(self) -> dict | None:
        """The live model's state for the page, each doubted label with its song's title;
        None when the page does not learn."""
        if self.live is None:
            return None
        summary = self.live.state.summary()
        for doubt in summary["doubts"]:
            row = self.store.row(doubt["song"])
            doubt["title"] = row.get("title") or Path(row["path"]).stem
        return summary

    def current_queue(self) -> list[int]:
        """The queue in the order's newest form: the teach and uncertain orders follow the
        live model's latest fit (the first queue, before any, stays as it was)."""
        if self.live is None or self.live.state.version == 0:
            return list(self.queue)
        if self.order not in (TEACH, "uncertain"):
            return list(self.queue)
        state = self.live.state
        uncertainty = state.uncertainty or (self.guesses.uncertainty if self.guesses else {})
        return label_queue(
            self.present,
            self.store.is_complete,
            self.order,
            seed=self.seed,
            uncertainty=uncertainty,
            teaching=state.teaching,
        )

    def labels_changed(self) -> None:
        """Tell the live model a label was saved or undone (it refits in the background)."""
        if self.live is not None:
            self.live.labels_changed()

    def guess(self, song_id: int) -> dict | None:
        """The newest guess per task: the live model's where it has fitted the task, else
        the run's."""
        found = dict(self.guesses.probabilities.get(song_id, {})) if self.guesses else {}
        if self.live is not None:
            found |= self.live.state.guesses.get(song_id, {})
        return found or None

    def why(self, song_id: int) -> dict | None:
        """Which 3 s of the song argued for each class in the live model's newest fit, for
        the strip under its spectrogram (`LiveLearner.explain`, seconds in the file); None
        before the song is prepared and a task fitted."""
        if self.live is None:
            return None
        duration_s = _duration_s(self.store.row(song_id), self.store.audio_path(song_id))
        version = self.live.state.version
        found = self.live.explain(song_id, duration_s)
        if found is None:
            return None
        classes = {task.name: list(task.classes) for task in self.store.tasks}
        return {"version": version, "classes": classes, **found.as_json()}

    def song(self, song_id: int) -> dict:
        """What the page shows of one song; starts making the next songs' spectrograms."""
        row = self.store.row(song_id)
        path = self.store.audio_path(song_id)
        duration_s = _duration_s(row, path)
        start_s, end_s = window_bounds(
            duration_s, self.features.audio.window_s, self.features.audio.window_position
        )
        self._prefetch_after(song_id)
        query = f"?token={self.token}"
        return {
            "id": song_id,
            "path": row["path"],
            "title": row.get("title", ""),
            "artist": row.get("artist", ""),
            "album": row.get("album", ""),
            "duration_s": round(duration_s, 3),
            "window": {"start_s": round(start_s, 3), "end_s": round(end_s, 3)},
            "labels": self.store.labels(song_id),
            "guess": self.guess(song_id),
            "audio_url": f"/audio/{song_id}{query}",
            "image_url": f"/image/{song_id}{query}",
            "audio_note": _audio_note(path),
        }

    def spectrogram(self, song_id: int) -> bytes:
        """The PNG of a song's analysed window."""
        return spectrogram_png(self.store.audio_path(song_id), self.features, self.feature_cache)

    def start_learning(self) -> None:
        """Start preparing songs and fitting the live model (when the page is served)."""
        if self.live is not None:
            self.live.start()

    def close(self) -> None:
        """Stop making spectrograms ahead, and the live model."""
        self._prefetch.shutdown(wait=False, cancel_futures=True)
        if self.live is not None:
            self.live.close()

    def _prefetch_after(self, song_id: int) -> None:
        queue = self.current_queue()  # the songs the person will see next, as of now
        if song_id not in queue:
            return
        start = queue.index(song_id) + 1
        for upcoming in queue[start : start + PREFETCHED_SONGS]:
            self._prefetch.submit(self._warm, upcoming)

    def _warm(self, song_id: int) -> None:
        with contextlib.suppress(TunetagError):  # the page reports it when the song is shown
            self.spectrogram(song_id)


def open_session(
    csv_path: str | Path,
    tasks: list[str],
    *,
    multi_label: set[str] | frozenset[str] = frozenset(),
    order: str | None = None,
    run: str | Path | None = None,
    learn: bool = True,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> tuple[LabelSession, dict[int, str]]:
    """Read the CSV, score the songs with a run if one is given, and order the queue.

    Parameters
    ----------
    csv_path : path-like
        The song CSV to label.
    tasks : list of str
        Label columns, each ``"mood"`` or ``"mood=mellow,not mellow"`` (classes offered
        before any song holds them).
    multi_label : set of str
        Columns where a song may hold several labels.
    order : {"file", "shuffle", "uncertain", "teach"}, optional
        See `tunetag.labelapp.queue.label_queue`; ``"uncertain"`` needs ``run`` or
        ``learn``, ``"teach"`` needs ``learn`` [default: teach when learning, else file].
    run : path-like, optional
        A trained run: its guesses are shown (until the live model has its own) and its
        spectrogram settings used.
    learn : bool
        Learn while the person labels (`tunetag.labelapp.live.LiveLearner`, started when
        the page is served) and offer to keep the model as a run folder.
    seed : int
        Seed of the ``"shuffle"`` and ``"teach"`` orders and of the live model's folds.
    cache_dir : path-like, optional
        tunetag's cache [default: $TUNETAG_CACHE or ~/.cache/tunetag].
    executor, progress
        Where and how visibly a run scores the songs (see `tunetag.runs.classify.classify_songs`);
        the executor also prepares the live model's songs.

    Returns
    -------
    (LabelSession, dict of int to str)
        The session, and the songs left out of the queue -> why (their files are missing).
    """
    order = order or (TEACH if learn else "file")
    if not learn and order == TEACH:
        raise ParameterError("the 'teach' order follows the live model: leave --no-learn out")
    if not learn and order == "uncertain" and run is None:
        raise ParameterError("the 'uncertain' order needs a trained run (--run RUN) or learning")
    store = LabelStore(csv_path, [parse_task(spec) for spec in tasks], multi_label)
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    skipped = {
        song_id: f"{store.audio_path(song_id)}: file not found"
        for song_id in range(len(store))
        if not store.audio_path(song_id).is_file()
    }
    present = [song_id for song_id in range(len(store)) if song_id not in skipped]
    features, guesses = FeatureConfig(), None
    if run is not None:
        from tunetag.labelapp.guesses import guess_songs  # loads torch: only with a run
        from tunetag.runs.folder import RunFolder

        features = RunFolder(run).load_config().features
        songs = {song_id: store.audio_path(song_id) for song_id in present}
        if songs:  # labelled songs too: where the model doubts a label is worth a second listen
            guesses = guess_songs(run, songs, cache_dir=cache, executor=executor, progress=progress)
    queue = label_queue(
        present,
        store.is_complete,
        order,
        seed=seed,
        uncertainty=guesses.uncertainty if guesses else {},
        teaching=[],
    )
    session = LabelSession(
        store,
        queue,
        order,
        features,
        cache,
        guesses=guesses,
        run=None if run is None else str(run),
        present=present,
        seed=seed,
    )
    if learn:
        from tunetag.labelapp.keep import Keeper  # loads torch and scikit-learn: only to learn
        from tunetag.labelapp.live import LiveLearner

        session.live = LiveLearner(store, present, cache, executor=executor, seed=seed)
        session.keeper = Keeper(store.csv_path, cache, seed)
    return session, skipped


def _duration_s(row: dict[str, str], path: Path) -> float:
    """The song's length from the CSV, else from its tags; 0 when neither knows."""
    seconds = _seconds(row.get("duration_s", ""))
    if seconds is None and path.is_file():
        seconds = _seconds(read_metadata(path)["duration_s"])
    return seconds or 0.0


def _seconds(text: str) -> float | None:
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _audio_note(path: Path) -> str | None:
    if not path.is_file():
        return "file not found"
    if path.suffix.lower() not in BROWSER_TYPES:
        return f"transcoded from {path.suffix.lower()} for the browser"
    return None

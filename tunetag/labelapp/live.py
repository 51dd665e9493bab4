"""The page's model, learning in the background while the person labels.

Two threads, so that no keypress or save ever waits on them: one prepares every song's
features for the live model (the ``auto`` model's views, cached as ``tunetag extract``
caches them, in a process pool), the other refits the live model (`learner.fit_task`)
whenever labels or prepared songs changed since its last fit. Labels that arrive during a
fit are taken by the next one. What the page reads is an immutable `LiveState`, replaced
whole after each fit.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from tunetag.config import FeatureConfig
from tunetag.errors import TunetagError
from tunetag.evaluation.learning import MORE_LABELS, gain_of_more_labels, gain_per_doubling
from tunetag.features.extract import stream_extract
from tunetag.features.views import view_rows
from tunetag.labelapp.guesses import task_uncertainty
from tunetag.labelapp.learner import TaskFit, doubted_labels, fit_task, principal_directions
from tunetag.labelapp.queue import spread_points, teaching_order
from tunetag.labelapp.store import LabelStore
from tunetag.models.auto import AutoProbe
from tunetag.models.inputs import load_views, summary_statistics, view_balance
from tunetag.models.logreg import standardise
from tunetag.runs.explain import (
    PATCH_S,
    Explanation,
    log_odds,
    pushes_of,
    stretches_left_out,
    window_start,
)

LIVE_FEATURES: FeatureConfig = AutoProbe.features  # what `auto` reads, at its predict patches
WAKE_EVERY_S = 2.0  # while songs are being prepared, refit at most this often for them
NEW_DIRECTIONS_AT = 1.25  # the main directions are found again once the songs grow by this
CURVE_FROM_SONGS = 10  # curve points with fewer labelled songs say little of the slope
SHOWN_DOUBTS = 20  # doubted labels offered for a second listen


@functools.cache
def live_view_balance() -> np.ndarray:
    """`view_balance` of the live summaries: the directions and the fits weigh each of
    `LIVE_FEATURES`' views alike (on the real sets' replays, the live model's score with
    every pool song labelled rose on every set; README, *The page learns while you label*)."""
    return view_balance({view: view_rows(view, LIVE_FEATURES) for view in LIVE_FEATURES.views})


@dataclass(frozen=True)
class _Explainer:
    """What one fit needs to score a song anew: the standardisation, directions and fits."""

    mean: np.ndarray
    scale: np.ndarray
    directions: np.ndarray
    fits: dict[str, TaskFit]


@dataclass(frozen=True)
class LiveState:
    """What the live model knows now; replaced whole after each fit.

    Attributes
    ----------
    version : int
        Fits done so far (0: none yet).
    prepared, failed, total : int
        Songs whose features are ready, that could not be read, and in all.
    tasks : dict
        Task -> ``{"songs", "score", "interval", "scored_classes", "seen_classes", "c",
        "curve": [[songs, score, low, high], ...], "gain_per_doubling",
        "gain_more_labels", "more_labels"}``; ``score`` is the mean over inner folds of the
        balanced accuracy of songs held out of the fit, over the ``scored_classes`` of the
        ``seen_classes`` that have two songs or more (None until two classes have two songs
        each and there are ten such songs).
    guesses : dict
        Song id -> task -> class -> probability, for every prepared song.
    uncertainty : dict
        Song id -> the mean over fitted tasks of how unsure the model is (0 .. 1).
    teaching : list of int
        Unlabelled prepared song ids, the most teaching first (`teaching_order`).
    doubts : list of dict
        ``{"song", "task", "label", "given", "probability"}``: labels the held-out model
        finds unlikely (a class given, or in a multi-label task left out), most doubted
        first; ``probability`` is how likely the model finds the label as it stands.
    fit_seconds : float
        How long the last fit took.
    error : str
        Why preparing or fitting stopped ("" while all is well); the page says it.
    """

    version: int = 0
    prepared: int = 0
    failed: int = 0
    total: int = 0
    tasks: dict = field(default_factory=dict)
    guesses: dict = field(default_factory=dict)
    uncertainty: dict = field(default_factory=dict)
    teaching: list = field(default_factory=list)
    doubts: list = field(default_factory=list)
    fit_seconds: float = 0.0
    error: str = ""

    def summary(self) -> dict:
        """The state as the page's JSON reads it (guesses are sent per song)."""
        return {
            "version": self.version,
            "prepared": self.prepared,
            "failed": self.failed,
            "total": self.total,
            "tasks": self.tasks,
            "doubts": [dict(doubt) for doubt in self.doubts],
            "fit_seconds": round(self.fit_seconds, 3),
            "error": self.error,
        }


class LiveLearner:
    """Prepares the songs and refits the live model in the background.

    Parameters
    ----------
    store : LabelStore
        The labels, read afresh at every fit.
    song_ids : sequence of int
        The songs to prepare (those whose files exist).
    cache_dir : Path
        tunetag's feature cache.
    executor : Executor, optional
        Where songs are decoded (see `tunetag.features.extract.stream_extract`).
    seed : int
        Seed of the inner folds and of the teaching order's draws.
    """

    def __init__(
        self,
        store: LabelStore,
        song_ids: Sequence[int],
        cache_dir: Path,
        *,
        executor: Executor | None = None,
        seed: int = 0,
    ) -> None:
        self.store = store
        self.song_ids = list(song_ids)
        self.cache_dir = cache_dir
        self.executor = executor
        self.seed = seed
        self.state = LiveState(total=len(self.song_ids))
        self._summaries: dict[int, np.ndarray] = {}
        self._views: dict[int, dict[str, Path]] = {}  # each prepared song's cached views
        self._explainer: _Explainer | None = None  # the newest fit, whole, for `explain`
        self._failed = 0
        self._error = ""  # why preparing stopped: said in every later state
        self._curves: dict[str, dict[int, list[float]]] = {}
        self._directions: np.ndarray | None = None  # (d, k), of `_directions_songs` songs
        self._directions_songs = 0
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._prepare, name="tunetag-live-prepare", daemon=True),
            threading.Thread(target=self._refit, name="tunetag-live-fit", daemon=True),
        ]

    def start(self) -> LiveLearner:
        """Start preparing and fitting; returns at once."""
        for thread in self._threads:
            thread.start()
        return self

    def labels_changed(self) -> None:
        """Ask for a refit (after a label is saved or undone); never waits."""
        self._wake.set()

    def wait_for(self, version: int, timeout_s: float) -> bool:
        """Wait until a fit newer than ``version`` is published (for tests and scripts)."""
        deadline = time.monotonic() + timeout_s
        while self.state.version <= version and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.state.version > version

    def explain(self, song_id: int, duration_s: float | None) -> Explanation | None:
        """Which of the song's 3 s stretches argued for each class in the newest fit
        (`tunetag.runs.explain`: each stretch's patch left out of the song's statistics);
        None before the song is prepared or a task fitted."""
        explainer, views = self._explainer, self._views.get(song_id)
        if explainer is None or not explainer.fits or views is None:
            return None
        arrays = load_views(views)
        starts, rows = stretches_left_out(arrays, LIVE_FEATURES, duration_s)
        x = np.stack([summary_statistics(arrays), *map(summary_statistics, rows)])
        z = (x - explainer.mean) / explainer.scale @ explainer.directions
        pushes = {}
        for name, fit in explainer.fits.items():
            odds = log_odds(fit.logits_of(z), fit.multi_label)
            pushes[name] = pushes_of(odds[0], odds[1:])
        begins = starts + window_start(LIVE_FEATURES, duration_s)
        return Explanation(begins, np.full(len(starts), PATCH_S), pushes)

    def close(self) -> None:
        """Stop both threads (a fit under way finishes first)."""
        self._closed.set()
        self._wake.set()

    def _prepare(self) -> None:
        """Cache and summarise every song's views, waking the fitter now and then. Should
        preparing itself fail (the cache cannot be written, say), the page is told why."""
        try:
            self._prepare_songs()
        except Exception as exc:  # noqa: BLE001 - a background thread: told, never lost
            self._stopped(f"preparing the songs stopped: {exc}", lasting=True)
        finally:
            self._wake.set()

    def _prepare_songs(self) -> None:
        ids = {self.store.audio_path(song_id): song_id for song_id in self.song_ids}
        last_wake = time.monotonic()
        outcomes = stream_extract(list(ids), LIVE_FEATURES, self.cache_dir, self.executor)
        try:
            for outcome in outcomes:
                if self._closed.is_set():
                    return
                if outcome.views is None:
                    self._failed += 1
                else:
                    try:
                        summary = summary_statistics(load_views(outcome.views))
                    except (OSError, ValueError, TunetagError):
                        self._failed += 1
                        continue
                    with self._lock:
                        self._summaries[ids[outcome.path]] = summary
                        self._views[ids[outcome.path]] = outcome.views
                if time.monotonic() - last_wake > WAKE_EVERY_S:
                    last_wake = time.monotonic()
                    self._wake.set()
        finally:
            outcomes.close()

    def _refit(self) -> None:
        """Fit whenever woken, until closed; a failed fit is told on the page and leaves the
        last guesses in place (the next label tries again)."""
        while True:
            self._wake.wait()
            if self._closed.is_set():
                return
            self._wake.clear()
            started = time.monotonic()
            try:
                state = self._fit()
            except Exception as exc:  # noqa: BLE001 - a background thread: told, never lost
                self._stopped(f"the live model could not be fitted: {exc}", lasting=False)
                continue
            self.state = replace(state, fit_seconds=time.monotonic() - started)

    def _stopped(self, why: str, lasting: bool) -> None:
        """Print why preparing or fitting stopped and publish it (a new version, so the
        page shows it); a ``lasting`` reason stays in every later state, a failed fit's
        until the next fit succeeds."""
        print(f"error: {why}", flush=True)
        if lasting:
            self._error = why
        self.state = replace(self.state, version=self.state.version + 1, error=why)

    def _fit(self) -> LiveState:
        """One fit of every task on the labelled prepared songs, and what follows from it."""
        with self._lock:
            ids = list(self._summaries)
            x = np.stack([self._summaries[song_id] for song_id in ids]) if ids else None
        base = LiveState(
            version=self.state.version + 1,
            prepared=len(ids),
            failed=self._failed,
            total=len(self.song_ids),
            error=self._error,
        )
        if x is None:
            return base
        # standardised over every prepared song, as auto standardises (no label is read),
        # each view then given the same share of the variance, as auto's probe of all views
        standardised, mean, scale = standardise("live model", x, x.shape[1])
        balance = live_view_balance()
        z = self._coordinates(standardised * balance)
        labels = [self.store.labels(song_id) for song_id in ids]
        fits = {}
        for task in self.store.tasks:
            task_labels = [song[task.name] for song in labels]
            fit = fit_task(z, task_labels, list(task.classes), task.multi_label, self.seed)
            if fit is not None:
                fits[task.name] = fit
        labelled = np.array([any(song.values()) for song in labels])
        self._explainer = _Explainer(mean, scale / balance, self._directions, fits)
        uncertainty = _uncertainty(fits)
        # the k-means++ draws get a fresh seed per label count: one seed for every fit would
        # draw at the same quantile each time, always favouring the same end of the CSV
        draws = self.seed + int(labelled.sum())
        order = teaching_order(spread_points(z, self.seed), labelled, uncertainty, draws)
        return replace(
            base,
            tasks={name: self._task_summary(name, fit) for name, fit in fits.items()},
            guesses=_guesses(ids, fits),
            uncertainty={}
            if uncertainty is None
            else dict(zip(ids, uncertainty.tolist(), strict=True)),
            teaching=[ids[row] for row in order],
            doubts=_doubts(ids, fits, labels)[:SHOWN_DOUBTS],
        )

    def _coordinates(self, z: np.ndarray) -> np.ndarray:
        """Songs on the library's main directions, found again only when the prepared songs
        grew by a quarter or all are prepared (finding them costs seconds on a large
        library; songs prepared since are placed on the directions found before)."""
        songs = len(z)
        done = songs + self._failed >= len(self.song_ids)
        stale = songs >= NEW_DIRECTIONS_AT * self._directions_songs or (
            done and songs != self._directions_songs
        )
        if self._directions is None or stale:
            self._directions, self._directions_songs = principal_directions(z), songs
        return z @ self._directions

    def _task_summary(self, name: str, fit: TaskFit) -> dict:
        """A task's score, its interval, and the curve of scores against labelled songs."""
        songs = len(fit.labelled)
        curve = self._curves.setdefault(name, {})
        if fit.score is not None:
            curve[songs] = [fit.score, *(fit.interval or [fit.score, fit.score])]
        else:
            curve.pop(songs, None)
        points = [[n, *curve[n]] for n in sorted(curve)]
        usable = [(n, score) for n, score, *_ in points if n >= CURVE_FROM_SONGS]
        slope = gain_per_doubling([n for n, _ in usable], [score for _, score in usable])
        return {
            "songs": songs,
            "score": fit.score,
            "interval": fit.interval,
            "scored_classes": fit.scored_classes,
            "seen_classes": fit.seen_classes,
            "c": fit.c,
            "curve": points,
            "gain_per_doubling": slope,
            "more_labels": MORE_LABELS,
            "gain_more_labels": None if slope is None else gain_of_more_labels(slope, songs),
        }


def _uncertainty(fits: dict[str, TaskFit]) -> np.ndarray | None:
    """Each song's mean uncertainty over the tasks with a model of two classes or more."""
    found = []
    for fit in fits.values():
        held = fit.probabilities if fit.multi_label else _seen_columns(fit.probabilities)
        if held.shape[1] > 1:
            found.append(task_uncertainty(fit.multi_label, held))
    return np.mean(found, axis=0) if found else None


def _seen_columns(probabilities: np.ndarray) -> np.ndarray:
    """The columns of the classes a single-label model was fitted on (others are all 0)."""
    return probabilities[:, probabilities.max(axis=0) > 0]


def _guesses(ids: list[int], fits: dict[str, TaskFit]) -> dict:
    """Song id -> task -> class -> probability (4 decimals, as the run's guesses); a
    labelled song's from a model that never saw its label (`TaskFit.guesses`)."""
    found: dict[int, dict] = {song_id: {} for song_id in ids}
    for name, fit in fits.items():
        for song_id, row in zip(ids, fit.guesses().round(4).tolist(), strict=True):
            found[song_id][name] = dict(zip(fit.classes, row, strict=True))
    return found


def _doubts(ids: list[int], fits: dict[str, TaskFit], labels: list[dict]) -> list[dict]:
    """Every task's doubted labels as the page lists them, most doubted first."""
    found = []
    for name, fit in fits.items():
        task_labels = [song[name] for song in labels]
        for row, label, given, p in doubted_labels(fit, task_labels):
            found.append(
                {"song": ids[row], "task": name, "label": label, "given": given, "probability": p}
            )
    return sorted(found, key=lambda doubt: doubt["probability"])

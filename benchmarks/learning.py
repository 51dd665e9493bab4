"""What tunetag learns from real labelled recordings, against two plain baselines.

For the synthesised demo library and each real set of ``benchmarks/real_sets.py`` (labelled
by something outside the audio: the game a track comes from, its title's words, its
composer tag), k-fold cross-validated balanced accuracy in the artist-grouped, stratified
folds of tunetag's train step (`tunetag.training.splits.grouped_stratified_folds`,
stratified by the first task, grouped by the ``artist`` column, which each set fills with
its group), repeated with the fold seeds 0, 1 and 2 (``--repeats``; tunetag's own
``--random-seed``): one draw of five folds of a hundred songs moves a model's score by
several hundredths, so the figure is the mean of the repeats, for:

- **plain**, the plain recipe: the penultimate layers (200 units) of MTT_musicnn and of
  MSD_musicnn, each averaged over the 3 s patches of the song's window, concatenated (400
  values); StandardScaler; ``LogisticRegression(class_weight="balanced")``, default C. The
  embeddings are `tunetag.pretrained.embedding.musicnn_embedding` of the window that
  `tunetag.audio.decode.load_window` decodes (22050 Hz, resampled to 16 kHz by the
  function); where tunetag has the ``musicnn-msd`` and ``musicnn-mtt`` views (which compute
  exactly that), they are read from its feature cache, so the ``auto`` model's views and
  this baseline are computed once.
- **hand**, hand-made features: mean and standard deviation over the frames of 20 MFCCs,
  spectral centroid, bandwidth, roll-off, zero-crossing rate, RMS, 12 chroma (STFT) and
  onset strength, and one tempo estimate (77 values), librosa's defaults at 22050 Hz on the
  same window; the same scaler and regression.
- tunetag's models through `tunetag.steps.train.train` with ``folds`` folds: by default
  every registered model that needs no network training (``logreg``, ``musicnn-probe``,
  ``auto`` and any new summary model); ``--shortchunk`` adds ``shortchunk`` (about 15 min
  per 5 folds of 90 songs on 2 cores), ``--models`` names them.

Balanced accuracy is pooled over the songs (each scored once per repeat by a model that
never saw it or its group, as ``metrics.json``'s ``pooled``), then averaged over the
repeats; the 95 % interval is over the folds of every repeat: the mean of the folds'
balanced accuracies +- t(0.975, k - 1) x their standard deviation / sqrt(k).
Seconds per fold: baselines, the fit and scoring of one fold (features excluded, given per
song apart); tunetag, the whole ``train`` call on a warm cache divided by folds + 1 (the
final refit on every song, and writing the run folder with its plots, are in it).

Features are cached: tunetag's in ``<data>/cache`` (``--cache``), the baselines' per song
under ``<data>/cache/baselines`` and per set in ``<data>/<set>/baselines-<N>s.npz``, so a rerun
only trains. ``--window`` sets the seconds analysed per song for every model and baseline
alike (tunetag's default 130; on 2 shared cores the real sets were run at 30).
Every model and baseline of a set is scored in the same folds, so ``auto`` is paired with
each fold by fold (`paired_differences`), and each real set's line says whether the aims are
met: ``auto`` at or above the better baseline + 0.05, and never below another model by more
than the folds' noise (`target_lines`).
Writes ``benchmarks/results/learning.json`` and ``learning.md``, keeping the rows of the sets,
windows and models not run this time from the last file of as many folds.
Usage: ``python benchmarks/learning.py [--sets demo,source,mood,mood-wide,composer] [--models
logreg,musicnn-probe,auto] [--shortchunk] [--folds 5] [--repeats 3] [--window 130]
[--data /work/bench-data]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from machine import machine_info

DATA = Path("/work/bench-data")
SETS = ("demo", "source", "mood", "mood-wide", "composer")
SLOW_MODELS = ("shortchunk", "multiview", "seed", "musicnn-finetune")  # networks trained
DEMO_TASKS = ("mood", "genre")
HAND_SR = 22050  # Hz, librosa's default rate
PLAIN_TAGGERS = ("MTT_musicnn", "MSD_musicnn")
BASELINES = ("plain", "hand")
SEEDS = (0, 1, 2)  # split seeds (TrainConfig.seed) of the repeats: one draw of folds is noisy


class _Steps:
    """Prints each step with the seconds since the benchmark started."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.0f} s] {text}", flush=True)


def main() -> None:
    """Build what is missing, cross-validate every model on every set, write the tables."""
    from tunetag import models as registry

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--models", help="tunetag models [default: every one without a network]")
    parser.add_argument("--shortchunk", action="store_true", help="add shortchunk (slow)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--repeats", type=int, default=len(SEEDS), help="cross-validations, fold seeds 0, 1..."
    )
    parser.add_argument("--window", type=float, default=130.0, help="seconds analysed per song")
    parser.add_argument("--epochs", type=int, help="most epochs of a network [tunetag's]")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, help="tunetag feature cache [<data>/cache]")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    # tunetag's inner cross-validation of a set with many small classes says this per fit
    warnings.filterwarnings("ignore", "The number of unique classes is greater than 50%")
    names = args.models.split(",") if args.models else [
        name for name in registry.available() if name not in SLOW_MODELS]  # fmt: skip
    if args.shortchunk and "shortchunk" not in names:
        names.append("shortchunk")
    unknown = sorted(set(names) - set(registry.available()))
    if unknown:
        parser.error(f"unknown models {unknown}; available: {', '.join(registry.available())}")
    cache = args.cache or args.data / "cache"
    step = _Steps()
    results = {
        "machine": machine_info(),
        "folds": args.folds,
        "repeats": args.repeats,
        "models": names,
        "sets": {},
    }
    previous = args.out / "learning.json"
    for name in args.sets.split(","):
        step(f"{name}: song CSV")
        csv_path, tasks, about = prepare_set(name, args.data)
        found = {**about, "tasks": list(tasks), "models": {}}
        step(f"{name}: baseline features ({len(about['classes'])} classes)")
        songs = baseline_features(csv_path, args.window, cache, args.data / name)
        found["feature_s_per_song"] = songs.seconds_per_song
        seeds = range(args.repeats)
        for baseline in BASELINES:
            found["models"][baseline] = repeated(
                cross_validate_baseline(songs, tasks, set_folds(songs, tasks, args.folds, seed),
                                        baseline)
                for seed in seeds
            )  # fmt: skip
            print(_lines(name, baseline, found["models"][baseline]), flush=True)
        for model in names:
            step(f"{name}: tunetag train --model {model} --folds {args.folds}, {args.repeats}x")
            found["models"][model] = repeated(
                cross_validate_tunetag(csv_path, tasks, model, args.folds, args.window,
                                       args.epochs, cache, args.data, seed)
                for seed in seeds
            )  # fmt: skip
            print(_lines(name, model, found["models"][model]), flush=True)
        results["sets"][f"{name}@{args.window:g}s"] = found | {"set": name, "window_s": args.window}
    results["machine"]["load_after"] = os.getloadavg()
    results["total_s"] = time.perf_counter() - step.started
    args.out.mkdir(parents=True, exist_ok=True)
    results = _merged(previous, results)
    previous.write_text(json.dumps(results, indent=1) + "\n")
    (args.out / "learning.md").write_text(markdown(results))
    print(table(results))
    print(f"\nwrote {previous} and {args.out / 'learning.md'}")


def _merged(previous: Path, results: dict) -> dict:
    """Sets, windows and models not run this time are kept from the last file of as many
    folds."""
    if not previous.exists():
        return results
    old = json.loads(previous.read_text())
    if old.get("folds") != results["folds"]:
        return results
    for key, found in old.get("sets", {}).items():
        if "@" not in key:  # not a file of this format
            continue
        fresh = results["sets"].setdefault(key, found)
        for model, scores in found["models"].items():  # models not run again are kept
            fresh["models"].setdefault(model, scores)
    results["sets"] = dict(sorted(results["sets"].items(), key=lambda item: _order(item[0])))
    return results


def _order(key: str) -> tuple:
    name, window = key.split("@")
    return (SETS.index(name) if name in SETS else len(SETS), name, float(window.rstrip("s")))


def prepare_set(name: str, data: Path) -> tuple[Path, tuple[str, ...], dict]:
    """The set's song CSV (made if missing), its tasks and what its labels.json says."""
    from tunetag.library.songtable import SongTable

    root = data / name
    csv_path = root / "songs.csv"
    if name == "demo":
        if not csv_path.exists():
            from tunetag.demo.library import make_demo_library
            from tunetag.library.scan import scan

            make_demo_library(root / "music", songs_per_class=24, seed=0, progress=False)
            scan(root / "music", csv_path, label_from_folder="mood", progress=False)
        table = SongTable.read(csv_path)
        return csv_path, DEMO_TASKS, {
            "rule": "synthesised demo library (tunetag.demo.library, 24 songs per mood, seed "
            "0): mood from its folder, genre from its tag; group: the artist",
            "songs": len(table.rows),
            "classes": {task: _counts(table, task) for task in DEMO_TASKS},
            "minutes": sum(float(row["duration_s"] or 0) for row in table.rows) / 60,
        }  # fmt: skip
    if not csv_path.exists():
        script = Path(__file__).parent / "real_sets.py"
        subprocess.run([sys.executable, str(script), "--data", str(data)], check=True)
    about = json.loads((root / "labels.json").read_text())
    return csv_path, (about["task"],), about


def _counts(table, task: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in table.rows:
        if row.get(task, "").strip():
            counts[row[task]] = counts.get(row[task], 0) + 1
    return dict(sorted(counts.items()))


class Songs:
    """The labelled songs whose baseline features could be made, in the CSV's order."""

    def __init__(self, table, rows: list[int], plain: np.ndarray, hand: np.ndarray, seconds):
        self.table = table
        self.rows = rows
        self.features = {"plain": plain, "hand": hand}
        self.seconds_per_song = seconds

    def labels(self, task: str) -> list[str]:
        return [self.table.rows[i].get(task, "").strip() for i in self.rows]


def baseline_features(csv_path: Path, window_s: float, cache: Path, set_dir: Path) -> Songs:
    """Both baselines' features of every labelled song: from ``baselines.npz`` when it holds
    them for this window, else from the per-song cache, else computed."""
    from tunetag.library.songtable import SongTable

    table = SongTable.read(csv_path)
    rows = list(range(len(table.rows)))
    paths = [table.audio_path(table.rows[i]) for i in rows]
    npz = set_dir / f"baselines-{window_s:g}s.npz"
    if npz.exists():
        stored = np.load(npz, allow_pickle=False)
        same = float(stored["window_s"]) == window_s and list(stored["paths"]) == [
            str(p) for p in paths
        ]
        if same and stored["ok"].all():
            seconds = json.loads(str(stored["seconds"]))
            return Songs(table, rows, stored["plain"], stored["hand"], seconds)
    started = time.perf_counter()
    plain = _plain_features(paths, window_s, cache)
    plain_s = (time.perf_counter() - started) / len(paths)
    started = time.perf_counter()
    hand = _hand_features(paths, window_s, cache / "baselines")
    hand_s = (time.perf_counter() - started) / len(paths)
    ok = np.array([p in plain and p in hand for p in paths])
    seconds = {"plain": plain_s, "hand": hand_s, "note": "wall seconds per song, cold or warm"}
    plain_x = np.stack([plain.get(p, np.zeros(400, np.float32)) for p in paths])
    hand_x = np.stack([hand.get(p, np.zeros(77, np.float32)) for p in paths])
    np.savez(
        npz, paths=np.array([str(p) for p in paths]), ok=ok, plain=plain_x, hand=hand_x,
        window_s=window_s, seconds=json.dumps(seconds),
    )  # fmt: skip
    kept = [i for i, good in zip(rows, ok, strict=True) if good]
    index = [k for k, good in enumerate(ok) if good]
    return Songs(table, kept, plain_x[index], hand_x[index], seconds)


def _plain_features(paths: list[Path], window_s: float, cache: Path) -> dict[Path, np.ndarray]:
    """MTT then MSD embedding, each averaged over the window's patches: 400 values a song."""
    from tunetag.config import AudioConfig, FeatureConfig
    from tunetag.features.views import view_names

    views = ("musicnn-mtt", "musicnn-msd")
    if set(views) <= set(view_names()):
        from tunetag.features.extract import extract_files

        features = FeatureConfig(audio=AudioConfig(window_s=window_s), views=views)
        report = extract_files(
            paths, features, cache, progress=sys.stderr.isatty()
        )  # errors: one line each
        return {
            path: np.concatenate([np.load(found[view]).mean(axis=1) for view in views])
            for path, found in report.ok.items()
        }
    return _per_song(paths, window_s, cache / "baselines", "plain", _plain_song)


def _plain_song(path: Path, window_s: float) -> np.ndarray:
    """The plain recipe's 400 values of one song, computed directly."""
    from tunetag.audio.decode import load_window
    from tunetag.config import AudioConfig
    from tunetag.pretrained.embedding import musicnn_embedding

    y = load_window(path, AudioConfig(window_s=window_s))
    parts = [
        musicnn_embedding(y=y, sr=22050, tagger=tagger).mean(axis=1) for tagger in PLAIN_TAGGERS
    ]
    return np.concatenate(parts).astype(np.float32)


def _hand_features(paths: list[Path], window_s: float, root: Path) -> dict[Path, np.ndarray]:
    return _per_song(paths, window_s, root, "hand", _hand_song)


def _hand_song(path: Path, window_s: float) -> np.ndarray:
    """77 hand-made values of one song's window: frame means and deviations, and a tempo."""
    import librosa

    from tunetag.audio.decode import load_window
    from tunetag.config import AudioConfig

    y = load_window(path, AudioConfig(sample_rate=HAND_SR, window_s=window_s))
    sr = HAND_SR
    onset = librosa.onset.onset_strength(y=y, sr=sr)
    frames = [
        librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20),
        librosa.feature.spectral_centroid(y=y, sr=sr),
        librosa.feature.spectral_bandwidth(y=y, sr=sr),
        librosa.feature.spectral_rolloff(y=y, sr=sr),
        librosa.feature.zero_crossing_rate(y),
        librosa.feature.rms(y=y),
        librosa.feature.chroma_stft(y=y, sr=sr),
        onset[np.newaxis],
    ]
    means = [block.mean(axis=1) for block in frames]
    stds = [block.std(axis=1) for block in frames]
    tempo = np.atleast_1d(librosa.feature.tempo(onset_envelope=onset, sr=sr))[:1]
    return np.concatenate([*means, *stds, tempo]).astype(np.float32)


def _per_song(paths, window_s: float, root: Path, kind: str, compute) -> dict[Path, np.ndarray]:
    """``compute(path, window_s)`` of every song, cached by file identity and window; a song
    that fails is said in one line and left out."""
    root = root / kind
    root.mkdir(parents=True, exist_ok=True)
    found, missing = {}, []
    for path in paths:
        cached = root / f"{_song_key(path, window_s)}.npy"
        if cached.exists():
            found[path] = np.load(cached)
        else:
            missing.append(path)
    if not missing:
        return found
    workers = max(1, min(os.cpu_count() or 1, len(missing)))
    with ProcessPoolExecutor(workers) as pool:
        futures = {path: pool.submit(_guarded, compute, path, window_s) for path in missing}
        for k, (path, future) in enumerate(futures.items(), start=1):
            value, error = future.result()
            if error:
                print(f"error: {path}: {error}", file=sys.stderr, flush=True)
                continue
            np.save(root / f"{_song_key(path, window_s)}.npy", value)
            found[path] = value
            if k % 25 == 0 or k == len(missing):
                print(f"  {kind}: {k}/{len(missing)} songs", flush=True)
    return found


def _guarded(compute, path: Path, window_s: float):
    """(value, None), or (None, the reason in one line) when the song cannot be used."""
    try:
        return compute(path, window_s), None
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the benchmark
        return None, " ".join(f"{type(exc).__name__}: {exc}".split())


def _song_key(path: Path, window_s: float) -> str:
    resolved = Path(path).resolve()
    stat = resolved.stat()
    text = f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}|{window_s}"
    return hashlib.sha256(text.encode()).hexdigest()


def set_folds(songs: Songs, tasks: tuple[str, ...], n_folds: int, seed: int) -> list:
    """The train step's folds: stratified by the first task, grouped as its ``artist``."""
    from tunetag.training.splits import grouped_stratified_folds

    groups = songs.table.groups("artist")
    return grouped_stratified_folds(
        songs.labels(tasks[0]), [groups[i] for i in songs.rows], n_folds, seed
    )


def repeated(runs) -> dict:
    """Per task, the cross-validations of several fold seeds as one: the balanced accuracy
    is the mean of the repeats' pooled ones (each listed under ``repeats``), the interval
    over every fold of every repeat (folds of different repeats share songs: it shows the
    spread, it is not a tighter bound), seconds and choices of every repeat."""
    runs = list(runs)
    found = {}
    for task, first in runs[0].items():
        each = [run[task] for run in runs]
        folds = [score for run in each for score in run["fold_balanced_accuracy"]]
        mean, half = float(np.mean(folds)), _half_width(folds)
        found[task] = first | {
            "balanced_accuracy": float(np.mean([run["balanced_accuracy"] for run in each])),
            "accuracy": float(np.mean([run["accuracy"] for run in each])),
            "repeats": [run["balanced_accuracy"] for run in each],
            "fold_balanced_accuracy": folds,
            "fold_mean": mean,
            "interval_95": [max(0.0, mean - half), min(1.0, mean + half)],
            "seconds_per_fold": float(np.mean([run["seconds_per_fold"] for run in each])),
        }
        chosen = [pick for run in each for pick in run.get("chosen_per_fold", [])]
        if chosen:
            found[task]["chosen_per_fold"] = chosen
    return found


def cross_validate_baseline(songs: Songs, tasks: tuple[str, ...], folds: list, kind: str) -> dict:
    """StandardScaler and a class-balanced logistic regression (default C) per fold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = songs.features[kind]
    found = {}
    for task in tasks:
        labels = np.array(songs.labels(task))
        classes = sorted(set(labels) - {""})
        index = {name: k for k, name in enumerate(classes)}
        probabilities = np.full((len(labels), len(classes)), np.nan)
        fold_scores, seconds = [], []
        for train_idx, test_idx in folds:
            train_idx = train_idx[labels[train_idx] != ""]
            test_idx = test_idx[labels[test_idx] != ""]
            started = time.perf_counter()
            model = make_pipeline(
                StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=5000)
            )
            model.fit(x[train_idx], labels[train_idx])
            columns = [index[name] for name in model.classes_]
            probabilities[np.ix_(test_idx, columns)] = model.predict_proba(x[test_idx])
            seconds.append(time.perf_counter() - started)
            fold_scores.append(_scores(labels[test_idx], probabilities[test_idx], classes, index))
        scored = ~np.isnan(probabilities).all(axis=1) & (labels != "")
        probabilities = np.nan_to_num(probabilities[scored])
        pooled = _scores(labels[scored], probabilities, classes, index)
        found[task] = _summary(pooled, [f["balanced_accuracy"] for f in fold_scores], seconds)
    return found


def _scores(labels, probabilities, classes, index) -> dict:
    from tunetag.evaluation.metrics import classification_metrics

    truth = np.array([index[name] for name in labels])
    return classification_metrics(truth, np.nan_to_num(probabilities), classes)


def _summary(pooled: dict, folds: list[float], seconds: list[float] | float) -> dict:
    """Pooled balanced accuracy, the folds' values, their t interval and seconds per fold."""
    mean, half = float(np.mean(folds)), _half_width(folds)
    per_fold = float(np.mean(seconds)) if isinstance(seconds, list) else seconds
    return {
        "songs": pooled["n_songs"],
        "balanced_accuracy": pooled["balanced_accuracy"],
        "accuracy": pooled["accuracy"],
        "chance_accuracy": pooled["chance_accuracy"],
        "fold_balanced_accuracy": folds,
        "fold_mean": mean,
        "interval_95": [max(0.0, mean - half), min(1.0, mean + half)],
        "seconds_per_fold": per_fold,
    }


def cross_validate_tunetag(
    csv_path: Path,
    tasks: tuple[str, ...],
    model: str,
    folds: int,
    window_s: float,
    epochs: int | None,
    cache: Path,
    data: Path,
    seed: int,
) -> dict:
    """Extract (timed apart), then ``train`` with k folds of split seed ``seed``; read its
    metrics.json."""
    import dataclasses

    from tunetag import models
    from tunetag.config import AudioConfig, FeatureConfig, RunConfig, TrainConfig
    from tunetag.features.extract import extract
    from tunetag.steps.train import train

    features = models.run_features(model, FeatureConfig(audio=AudioConfig(window_s=window_s)))
    started = time.perf_counter()
    extract(csv_path, features, cache_dir=cache, progress=sys.stderr.isatty())
    extract_s = time.perf_counter() - started
    settings = TrainConfig(model=model, folds=folds, tasks=tasks, seed=seed)
    if epochs:
        settings = dataclasses.replace(settings, epochs=epochs)
    run_dir = csv_path.parent / "runs" / f"{model}-seed{seed}"
    started = time.perf_counter()
    train(csv_path, run_dir, RunConfig(features=features, train=settings), cache_dir=cache,
          progress=False)  # fmt: skip
    train_s = time.perf_counter() - started
    metrics = json.loads((run_dir / "metrics.json").read_text())
    selection = metrics.get("selection") or {}
    found = {}
    for task in tasks:
        entry = metrics["tasks"][task]
        pooled = entry.get("pooled", entry)
        summary = entry.get("summary", {})
        folds_ba = summary.get("balanced_accuracy", {}).get("folds", [pooled["balanced_accuracy"]])
        found[task] = _summary(pooled, folds_ba, train_s / (len(folds_ba) + 1)) | {
            "wilson_interval_95_of_accuracy": entry.get("interval_95"),
            "extract_s": extract_s,
            "train_s": train_s,
            "run": str(run_dir),
        }
        chosen = [fold.get(task, {}).get("chosen") for fold in selection.get("folds", [])]
        if any(chosen):  # a model that picks its input per task (auto) says what it picked
            found[task]["chosen_per_fold"] = chosen
    return found


def _half_width(values) -> float:
    """Half the 95 % t interval of the values' mean: t(0.975, k - 1) x sd / sqrt(k); 0 for
    one value."""
    from scipy.stats import t

    k = len(values)
    return float(t.ppf(0.975, k - 1) * np.std(values, ddof=1) / math.sqrt(k)) if k > 1 else 0.0


def paired_differences(found: dict, task: str, model: str = "auto") -> dict[str, dict]:
    """``model``'s balanced accuracy minus each other model's on one set and task, fold by
    fold: every model and baseline is cross-validated in the same folds (the train step's
    `grouped_stratified_folds` of the same seeds), so the difference is paired, and the
    folds' noise that moves both scores together cancels. Per other model: the difference
    of the pooled scores, and the mean of the folds' differences over every repeat with its
    95 % t interval (folds of different repeats share songs: it shows the spread, not a
    tighter bound). An interval holding 0 says the folds cannot tell the two apart. Rows
    kept from a file of an earlier format (no ``repeats``) were run apart and are left out."""
    models = found["models"]
    mine = models.get(model, {}).get(task)
    if mine is None or "repeats" not in mine:
        return {}
    differences = {}
    for other, by_task in models.items():
        theirs = by_task.get(task)
        if other == model or theirs is None or "repeats" not in theirs:
            continue  # rows of an earlier format, run apart, are not paired
        if len(mine["fold_balanced_accuracy"]) != len(theirs["fold_balanced_accuracy"]):
            continue  # other repeats or folds: not the same splits
        folds = np.subtract(mine["fold_balanced_accuracy"], theirs["fold_balanced_accuracy"])
        if len(folds) < 2:
            continue
        mean, half = float(folds.mean()), _half_width(folds)
        differences[other] = {
            "pooled": mine["balanced_accuracy"] - theirs["balanced_accuracy"],
            "fold_mean": mean,
            "interval_95": [mean - half, mean + half],
            "folds": len(folds),
        }
    return differences


TARGET_MARGIN = 0.05  # the aim: auto at or above the best baseline + 0.05 on every real set


def target_lines(results: dict) -> list[str]:
    """Per real set and task, ``auto`` against the better baseline (the aim: + 0.05 or more)
    and against each other model (the aim: never below it by more than the folds' noise,
    that is never a paired interval wholly under 0)."""
    lines = []
    for name, found in results["sets"].items():
        if found["set"] == "demo":
            continue
        for task in found["tasks"]:
            paired = paired_differences(found, task)
            baselines = {b: paired[b] for b in BASELINES if b in paired}
            if not baselines:
                continue
            best = min(baselines, key=lambda b: baselines[b]["pooled"])
            margin = baselines[best]
            below = [other for other, d in paired.items() if d["interval_95"][1] < 0]
            lines.append(
                f"{name} {task}: auto minus the better baseline ({best}) {margin['pooled']:+.3f} "
                f"(folds {margin['interval_95'][0]:+.3f} to {margin['interval_95'][1]:+.3f}): "
                f"the aim of +{TARGET_MARGIN:.2f} "
                f"{'met' if margin['pooled'] >= TARGET_MARGIN else 'not met'}"
                "; below another model by more than the folds' noise: "
                + (", ".join(below) if below else "none")
            )
    return lines


def _lines(name: str, model: str, found: dict) -> str:
    return "\n".join(
        f"  {name:9s} {task:9s} {model:14s} balanced accuracy {r['balanced_accuracy']:.3f} "
        f"(folds {r['interval_95'][0]:.3f}-{r['interval_95'][1]:.3f}), "
        f"{r['seconds_per_fold']:.2f} s per fold"
        for task, r in found.items()
    )


def _rows(results: dict) -> list[tuple]:
    rows = []
    for name, found in results["sets"].items():
        for model, by_task in found["models"].items():
            for task, r in by_task.items():
                classes = found["classes"][task] if found["set"] == "demo" else found["classes"]
                rows.append((
                    name, task, found["songs"], len(classes), model, r["balanced_accuracy"],
                    r["interval_95"], r["seconds_per_fold"], r.get("repeats", []),
                ))  # fmt: skip
    return rows


HEADER = (
    "set", "task", "songs", "classes", "model", "bal. acc.", "95% interval (folds)", "s/fold",
    "each repeat",
)  # fmt: skip


def table(results: dict) -> str:
    """One plain-text line per set, task and model."""
    lines = [
        f"{results['folds']} folds; set@seconds analysed per song",
        "{:13s} {:9s} {:>5s} {:>7s} {:14s} {:>9s} {:>21s} {:>8s}  {}".format(*HEADER),
    ]
    for name, task, songs, classes, model, score, interval, seconds, each in _rows(results):
        lines.append(
            f"{name:13s} {task:9s} {songs:5d} {classes:7d} {model:14s} {score:9.3f} "
            f"{interval[0]:10.3f} - {interval[1]:.3f} {seconds:8.2f}  {_each(each)}"
        )
    return "\n".join(lines + target_lines(results))


def _each(repeats: list[float]) -> str:
    return " / ".join(f"{score:.3f}" for score in repeats) if len(repeats) > 1 else "-"


def markdown(results: dict) -> str:
    """The table as markdown, with how each set was labelled and what the numbers mean."""
    lines = [
        "# Learning on real recordings (`benchmarks/learning.py`)",
        "",
        f"{results['folds']}-fold cross-validation in tunetag's artist-grouped stratified "
        "folds, repeated with the fold seeds 0, 1, 2 where *each repeat* lists three values "
        "(else seed 0 alone, a row of an earlier run): bal. acc. is the mean of the repeats' "
        "pooled ones, and the interval is over the folds of every repeat; "
        "set@N s: N seconds analysed per song (the centred window); "
        f"{results['machine']['cores']} CPU cores, shared. Balanced accuracy pooled over the "
        "songs (each scored once); interval: mean of the folds' balanced accuracies +- "
        "t(0.975, k-1) x sd / sqrt(k). Seconds per fold: baselines, fit and scoring (features "
        "apart); tunetag, the whole train call on a warm cache / (folds + 1).",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    for name, task, songs, classes, model, score, interval, seconds, each in _rows(results):
        lines.append(
            f"| {name} | {task} | {songs} | {classes} | {model} | {score:.3f} | "
            f"{interval[0]:.3f}-{interval[1]:.3f} | {seconds:.2f} | {_each(each)} |"
        )
    picks = []
    for name, found in results["sets"].items():
        for model, by_task in found["models"].items():
            for task, r in by_task.items():
                if r.get("chosen_per_fold"):
                    counts: dict[str, int] = {}
                    for pick in r["chosen_per_fold"]:
                        counts[pick] = counts.get(pick, 0) + 1
                    shown = ", ".join(f"{pick} x{n}" for pick, n in sorted(counts.items()))
                    picks.append(f"- {name} {task}, {model}: {shown}")
    if picks:
        lines += ["", "What a model that picks its input chose in the folds:", "", *picks]
    lines += _paired_markdown(results)
    lines += ["", "## Sets", ""]
    for name, found in results["sets"].items():
        classes = found["classes"]
        shown = (
            "; ".join(f"{t}: {dict(c)}" for t, c in classes.items())
            if found["set"] == "demo"
            else ", ".join(f"{label} {n}" for label, n in classes.items())
        )
        lines.append(
            f"- **{name}** ({found['songs']} songs, {found['minutes']:.0f} min): "
            f"{found['rule']}. Classes: {shown}."
        )
        per_song = found.get("feature_s_per_song", {})
        if per_song:
            lines.append(
                f"  Baseline features: plain {per_song['plain']:.2f} s, hand "
                f"{per_song['hand']:.2f} s per song (wall, this run; 0 when cached)."
            )
    return "\n".join(lines) + "\n"


def _paired_markdown(results: dict) -> list[str]:
    """``auto`` minus every other model, paired fold by fold, and the aims of the issue."""
    rows = [
        f"| {name} | {task} | {other} | {d['pooled']:+.3f} | {d['fold_mean']:+.3f} "
        f"({d['interval_95'][0]:+.3f} to {d['interval_95'][1]:+.3f}, {d['folds']} folds) |"
        for name, found in results["sets"].items()
        for task in found["tasks"]
        for other, d in paired_differences(found, task).items()
    ]
    if not rows:
        return []
    return [
        "",
        "## `auto` paired with each other model",
        "",
        "Every model and baseline of a set is cross-validated in the same folds, so `auto`'s "
        "balanced accuracy minus another's is paired fold by fold: the difference of the "
        "pooled scores, and the mean of the folds' differences with its 95 % t interval "
        "(folds of different repeats share songs: it shows the spread). An interval holding 0 "
        "says the folds cannot tell the two apart.",
        "",
        "| set | task | `auto` minus | pooled | folds' mean (95 % interval) |",
        "|---|---|---|---|---|",
        *rows,
        "",
        *(f"- {line}" for line in target_lines(results)),
    ]


if __name__ == "__main__":
    main()

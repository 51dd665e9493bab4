"""Do `tunetag similar`'s neighbours share a song's label, and how fast is one query?

**Neighbours.** On a labelled song CSV (one single-label column, ``--task``; songs with an
empty cell left out), each song's ``--k`` nearest other songs by cosine distance, and the
share of them with the song's label, averaged over songs, in three embeddings:

- **pretrained**: what `tunetag similar` uses by default, the mean and standard deviation
  over 12 patches of ``musicnn-msd`` and ``musicnn-mtt`` (800 values), standardised over
  the set (`tunetag.steps.similar.PRETRAINED_FEATURES`);
- **descriptors**: the hand features, the same summaries of the ``descriptors`` view (154
  values), standardised over the set;
- **auto layer**: what `tunetag similar --run` uses for an ``auto`` run (its class
  log-probabilities, `tunetag.runs.layer.summary_layer`), **cross-fitted**: the songs are
  split in ``--folds`` folds (grouped by the ``artist`` column and stratified, sklearn's
  `StratifiedGroupKFold`, when that column holds several values; else stratified); for each
  fold an ``auto`` model is fitted on the other folds' songs (summaries of all three views
  at the 12 patches, no fit on every patch as `tunetag train` does) and every song is
  placed by it; the fold's songs then find their neighbours among all songs. So a song's
  own label never shaped the layer that finds its neighbours (its neighbours' labels did:
  that is how a run is used on new songs). A layer fitted on every label and scored on the
  same songs would flatter it; that figure is not made.

Each is measured twice: neighbours among all other songs, and among other artists' songs
only (the ``artist`` column; same-artist songs often share a label for that reason alone).
**Chance** is the share a random other song shares, sum over classes of n_c (n_c - 1) /
(n (n - 1)) (among other artists: the same over songs of other artists).

**Query time**: one `tunetag similar` search (`cosine_distances` to one query and a
`Picker` taking 20 songs, at most 2 per artist of n / 10 random artists, near-duplicates
checked) over 1 000, 10 000 and 100 000 songs of 800 random values (float32 unit rows,
as the pretrained embedding is), median and worst of ``--queries`` queries after one
warm-up, on the cores the machine has (``machine_info``).

Writes ``<out>/similar-<name>.json`` and ``.md``; the last line printed gives the shares.

Usage: ``python benchmarks/similar.py [SONGS.csv --task COL] [--cache DIR] [--k 10]
[--folds 5] [--queries 20] [--sizes 1000,10000,100000] [--out benchmarks/results]
[--name NAME]``; without a CSV, the demo library (`tunetag.demo.library`, 24 songs per
mood, seed 0) is built under ``<cache>/active-demo`` (as ``benchmarks/active.py`` builds
it) and its ``mood`` used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from active import demo_csv
from machine import machine_info

GROUP_COLUMN = "artist"
DEMO_TASK = "mood"
SEED = 0
DIMENSIONS = 800  # values a song of the pretrained embedding has: the synthetic vectors'
LISTED = 20  # songs a timed query lists
ARTIST_SHARE = 10  # synthetic songs per artist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, help="song CSV [the demo library]")
    parser.add_argument("--task", help="single-label column [mood for the demo]")
    parser.add_argument("--cache", type=Path, help="tunetag feature cache [tunetag's default]")
    parser.add_argument("--k", type=int, default=10, help="neighbours per song")
    parser.add_argument("--folds", type=int, default=5, help="folds of the cross-fitted layer")
    parser.add_argument("--queries", type=int, default=20, help="timed queries per size")
    parser.add_argument("--sizes", default="1000,10000,100000", help="songs of the timed queries")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--name", help="name of the files [the CSV's folder]")
    args = parser.parse_args()
    from tunetag.config import default_cache_dir

    cache = args.cache or default_cache_dir()
    csv_path, task = args.csv, args.task
    if csv_path is None:
        csv_path, task = demo_csv(cache / "active-demo"), DEMO_TASK
    elif task is None:
        parser.error("--task is needed with a CSV")
    name = args.name or csv_path.resolve().parent.name
    name = "demo" if name == "active-demo" else name
    info = machine_info()
    started = time.perf_counter()
    x, y, classes, groups, views = prepare(csv_path, task, cache)
    results = {
        "set": name,
        "csv": str(csv_path),
        "task": task,
        "songs": len(y),
        "classes": len(classes),
        "k": args.k,
        "groups": None if groups is None else len(set(groups.tolist())),
        "chance": chance(y, None),
        "chance_other_artists": chance(y, groups),
        "embeddings": {},
        "machine": info,
    }
    pretrained = np.concatenate([views["musicnn-msd"], views["musicnn-mtt"]])
    for label, columns in (("pretrained", pretrained), ("descriptors", views["descriptors"])):
        unit = standardised_units(x[:, columns])
        results["embeddings"][label] = {
            "values": int(unit.shape[1]),
            "share": neighbour_share(unit, y, args.k, None, None),
            "share_other_artists": neighbour_share(unit, y, args.k, groups, None),
        }
        progress(f"{name}: {label} done")
    layer, chosen, fit_s = cross_fitted_layer(x, y, classes, groups, task, args.folds, views)
    results["embeddings"]["auto layer (cross-fitted)"] = {
        "values": int(layer["unit"].shape[-1]),
        "share": neighbour_share(layer["unit"], y, args.k, None, layer["fold"]),
        "share_other_artists": neighbour_share(layer["unit"], y, args.k, groups, layer["fold"]),
        "folds": args.folds,
        "chosen": chosen,
        "fit_seconds": fit_s,
    }
    progress(f"{name}: auto layer done")
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    results["query_ms"] = query_times(sizes, args.queries)
    results["seconds"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"similar-{name}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    stem.with_suffix(".md").write_text(table(results))
    print(table(results))
    print(f"wrote {stem}.json and .md")
    shares = ", ".join(
        f"{label} {found['share']:.3f}" for label, found in results["embeddings"].items()
    )
    print(f"{name}: neighbours sharing the label: {shares}; chance {results['chance']:.3f}")


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def prepare(csv_path: Path, task: str, cache: Path):
    """Summaries (songs, d) of the ``auto`` views at 12 patches, class indices, classes,
    groups (None without several artists) and each view's columns."""
    from tunetag.features.extract import extract_files
    from tunetag.library.songtable import SongTable
    from tunetag.models.auto import AutoProbe
    from tunetag.models.inputs import load_views, summary_statistics
    from tunetag.runs.folder import model_view_rows

    table = SongTable.read(csv_path)
    labelled = [row for row in table.rows if row.get(task, "").strip()]
    if not labelled:
        raise SystemExit(f"error: {csv_path}: no song labelled in {task!r}")
    paths = [table.audio_path(row) for row in labelled]
    features = AutoProbe.features
    report = extract_files(paths, features, cache, progress=sys.stderr.isatty())
    rows = [(path, row) for path, row in zip(paths, labelled, strict=True) if path in report.ok]
    x = np.stack([summary_statistics(load_views(report.ok[path])) for path, _ in rows])
    classes = sorted({row[task].strip() for _, row in rows})
    y = np.array([classes.index(row[task].strip()) for _, row in rows])
    groups = np.array([row.get(GROUP_COLUMN, "").strip() for _, row in rows])
    if len(set(groups.tolist())) < 2:
        groups = None
    views, start = {}, 0
    for view, count in model_view_rows(features).items():
        views[view] = np.arange(start, start + 2 * count)
        start += 2 * count
    return x, y, classes, groups, views


def standardised_units(x: np.ndarray) -> np.ndarray:
    from tunetag.library.neighbours import unit_rows
    from tunetag.models.logreg import standardise

    return unit_rows(standardise("similar", x, x.shape[1])[0])


def neighbour_share(unit, y, k, groups, folds) -> float:
    """Mean over songs of the share of its k nearest others with its label; among other
    artists' songs only with ``groups``. With ``folds`` (a fold per song) each fold's songs
    are placed by their own fold's layer: ``unit`` is then (folds, n, d)."""
    shares = []
    for song in range(len(y)):
        space = unit if folds is None else unit[folds[song]]
        similarity = space @ space[song]
        similarity[song] = -np.inf
        if groups is not None:
            similarity[groups == groups[song]] = -np.inf
        allowed = int(np.isfinite(similarity).sum())
        top = np.argsort(-similarity, kind="stable")[: min(k, allowed)]
        shares.append(float((y[top] == y[song]).mean()))
    return round(float(np.mean(shares)), 4)


def chance(y, groups) -> float:
    """The share of a random other song (of another artist with ``groups``) with the label."""
    shares = []
    for song in range(len(y)):
        others = np.ones(len(y), dtype=bool)
        others[song] = False
        if groups is not None:
            others &= groups != groups[song]
        shares.append(float((y[others] == y[song]).mean()))
    return round(float(np.mean(shares)), 4)


def cross_fitted_layer(x, y, classes, groups, task, n_folds, views):
    """The ``auto`` layer of every song by each fold's model: ``{"unit": (folds, n, d),
    "fold": (n,)}``, what each fold's model chose and the seconds of the fits."""
    import torch

    from tunetag.library.neighbours import unit_rows
    from tunetag.library.tasks import Task
    from tunetag.models.auto import AutoProbe
    from tunetag.runs.layer import summary_layer

    rows = {view: len(columns) // 2 for view, columns in views.items()}
    spec = Task(task, tuple(classes))
    units, fold_of, chosen = [], np.empty(len(y), dtype=int), []
    started = time.perf_counter()
    for fold, (train, test) in enumerate(folds_of(y, groups, n_folds)):
        torch.manual_seed(SEED)
        model = AutoProbe({task: len(classes)}, rows)
        targets = np.full((len(y), len(classes)), np.nan)
        targets[train] = np.eye(len(classes))[y[train]]
        model.fit_summaries(x[train], {task: targets[train]}, {task: False}, seed=SEED)
        units.append(unit_rows(summary_layer(model, [spec], x)))
        fold_of[test] = fold
        chosen.append(model.selection[task].get("chosen"))
        progress(f"fold {fold + 1}/{n_folds}: {chosen[-1]}")
    fit_s = round(time.perf_counter() - started, 1)
    return {"unit": np.stack(units), "fold": fold_of}, chosen, fit_s


def folds_of(y, groups, n_folds):
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    with warnings.catch_warnings():  # a class with fewer songs than folds
        warnings.simplefilter("ignore", UserWarning)
        if groups is None:
            splitter = StratifiedKFold(n_folds, shuffle=True, random_state=SEED)
            return list(splitter.split(np.zeros(len(y)), y))
        splitter = StratifiedGroupKFold(n_folds, shuffle=True, random_state=SEED)
        return list(splitter.split(np.zeros(len(y)), y, groups))


def query_times(sizes, queries) -> dict:
    """Milliseconds of one search over ``size`` random songs: median and worst."""
    from tunetag.library.neighbours import Picker, cosine_distances, unit_rows

    rng = np.random.default_rng(SEED)
    found = {}
    for size in sizes:
        unit = unit_rows(rng.standard_normal((size, DIMENSIONS), dtype=np.float32))
        artists = [f"artist {k}" for k in rng.integers(0, max(size // ARTIST_SHARE, 1), size)]
        times = []
        for query in range(queries + 1):
            seed = int(rng.integers(size))
            began = time.perf_counter()
            distances = cosine_distances(unit, unit[seed])
            Picker(unit, artists, 2, left_out=[seed]).take(distances, LISTED)
            if query:  # the first warms the caches
                times.append((time.perf_counter() - began) * 1000)
        found[str(size)] = {
            "median": round(float(np.median(times)), 1),
            "max": round(float(np.max(times)), 1),
            "matrix_mb": round(unit.nbytes / 2**20, 1),
        }
        progress(f"{size} songs: {found[str(size)]['median']} ms a query")
        del unit
    return found


def table(results: dict) -> str:
    lines = [
        f"# Neighbours and query time: {results['set']}",
        "",
        f"{results['songs']} songs, {results['classes']} classes of `{results['task']}`, "
        f"{results['k']} nearest neighbours of each song; chance "
        f"{results['chance']:.3f} (among other artists {results['chance_other_artists']:.3f}).",
        "",
        "| embedding | values | share of neighbours with the song's label | among other "
        "artists only |",
        "|---|---|---|---|",
    ]
    for label, found in results["embeddings"].items():
        lines.append(
            f"| {label} | {found['values']} | {found['share']:.3f} | "
            f"{found['share_other_artists']:.3f} |"
        )
    auto = results["embeddings"]["auto layer (cross-fitted)"]
    lines += [
        "",
        f"auto chose per fold: {', '.join(auto['chosen'])} ({auto['fit_seconds']} s of fits).",
        "",
        "| songs (random, 800 values) | median ms a query | worst ms | matrix MB |",
        "|---|---|---|---|",
    ]
    for size, found in results["query_ms"].items():
        lines.append(
            f"| {int(size):,} | {found['median']} | {found['max']} | {found['matrix_mb']} |"
        )
    machine = results["machine"]
    lines += [
        "",
        f"Measured on {machine['cores']} cores at commit {machine['git']} "
        f"(changed since: {', '.join(machine['tunetag_files_changed_since_commit']) or 'none'}), "
        f"{results['seconds']} s in all.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

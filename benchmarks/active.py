"""How many labels the labelling page's live model needs, by the order songs come up in.

Replays labelling on a labelled song CSV: the CSV's own labels of one single-label task
(``--task``; songs with an empty cell are left out) are given one song at a time, in each
of four orders, and the live model is refitted as the page would refit it:

- **file**: the CSV's order (a CSV that ``tunetag scan`` wrote from class folders lists
  one class after another, so this order holds one class for a long while);
- **random**: a shuffle seeded by the repeat;
- **uncertain**: next, the unlabelled song the current live model is least sure of
  (`tunetag.labelapp.guesses.task_uncertainty` of its probabilities over the classes it
  was fitted on, as the page's ``live._uncertainty``); while no model of two classes
  exists yet, the random order's next song;
- **teach**: the first song of `tunetag.labelapp.queue.teaching_order` over the unlabelled
  pool songs, recomputed after every label as the page recomputes it after every fit, with
  the page's seeding of its draws: ``seed + labels so far`` (the repeat's seed; the page
  adds the number of labelled songs to its session seed at each fit). Without a model of
  two classes, a k-means++ draw over `spread_points` (each song drawn with probability
  proportional to its squared distance to the nearest labelled song; the very first
  uniformly at random); with one, the song the live model is least sure of (as uncertain,
  the farthest from the labelled songs on a tie).

Inputs are the page's: `tunetag.labelapp.live.LIVE_FEATURES` views from tunetag's feature
cache (``--cache``; made if missing), `summary_statistics` per song, standardised over
every song of the set (pool and held-out alike, no label read: the page standardises over
the whole library), each view given the same share of the variance (`live_view_balance`),
then the songs' coordinates on the set's main directions
(`tunetag.labelapp.learner.principal_directions`, at most ``LIVE_DIMENSIONS``, as the
page's ``live._coordinates`` once every song is prepared). The live model is
`tunetag.labelapp.learner.fit_task` (class-balanced logistic regression, C by inner folds)
seeded by the repeat; `spread_points` projects the same coordinates.

Per repeat (``--repeats``, seeds 0, 1...): a held-out split seeded by the repeat. When the
CSV has an ``artist`` column holding more than one value (the sets fill it with the game or
the piece; the demo with its artists), the split is **grouped** as well as stratified:
sklearn's `StratifiedGroupKFold` with ``round(1 / --test-share)`` folds, shuffled by the
repeat's seed, its first fold held out, so the songs of one group are all in the pool or
all held out (the held-out share is then about 1 / folds, and the pool's size varies a
little between repeats). Otherwise a stratified `train_test_split` of ``--test-share``.
Every order gets the same split. If the held-out songs of a repeat lack a class, the
balanced accuracy is over the classes they hold (sklearn's ``balanced_accuracy_score``
does so); a class the pool lacks is never guessed and scores 0 recall. Either is recorded
per repeat (``held_out_lacks`` / ``pool_lacks``) and said in the ``.md``. The **ceiling**
is the held-out balanced accuracy of `fit_task` on every pool song. For each order, songs
of the pool are labelled one at a time; the model-driven orders (uncertain, teach) refit
after every label, as the page does when a person waits for it. Every ``--step`` labels
(and at the whole pool) the model fitted on the labelled pool songs guesses the held-out
songs (argmax over the task's classes: a class no labelled song holds yet is never
guessed) and its balanced accuracy (sklearn) is recorded.

**Labels to 95 %**: the first recorded label count whose score is >= 0.95 x the repeat's
ceiling; a repeat that gets there only with the whole pool labelled (where every order
scores the ceiling itself) never got there: it counts as the pool size in the mean and is
flagged ``*``. The figure is the mean over repeats, ``never`` when no repeat got there.
**Mean score**: the mean of a repeat's recorded scores (the area under the curve over the
label counts, divided by their number), averaged over repeats. Seconds: wall time of an
order's replay in a repeat, fits included (2 shared CPU cores).

Writes ``<out>/active-<name>.json``, ``.md`` and ``.png`` (mean curve over repeats, at the
label counts every repeat's pool reaches, with a band of +- one standard deviation, the mean
ceiling and its 95 %). The last line printed is ``labels to 95%: file N, random N,
uncertain N, teach N``.

``--orders`` (comma-separated, default all four) replays only those orders: when
``<out>/active-<name>.json`` holds a run of the same set, task, seeds and splits (the same
pools, held-out songs and ceilings), their entries are replaced there and the other
orders' kept; otherwise the files hold only the orders replayed.

Usage: ``python benchmarks/active.py [SONGS.csv --task COL] [--cache DIR] [--repeats 5]
[--step N] [--test-share 0.3] [--orders file,random,uncertain,teach]
[--out benchmarks/results] [--name NAME]``; without a CSV,
the synthesised demo library (`tunetag.demo.library`, 24 songs per mood, seed 0) is built
under ``<cache>/active-demo`` and its task ``mood`` replayed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from machine import machine_info

ORDERS = ("file", "random", "uncertain", "teach")  # the page's orders, in the last line
MODEL_DRIVEN = ("uncertain", "teach")  # refitted after every label
SHARE = 0.95  # of the ceiling
DEMO_SONGS_PER_CLASS = 24
DEMO_TASK = "mood"
SMALL_SET = 60  # songs: up to this many, a score every 2 labels, else every 5
GROUP_COLUMN = "artist"  # songs sharing it are all in the pool or all held out


class _Steps:
    """Prints each step on stderr with the seconds since the benchmark started."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.0f} s] {text}", file=sys.stderr, flush=True)


def main() -> None:
    """Replay every order on every repeat, print the table, write the files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, help="song CSV [the demo library]")
    parser.add_argument("--task", help="single-label column [mood for the demo]")
    parser.add_argument("--cache", type=Path, help="tunetag feature cache [tunetag's default]")
    parser.add_argument("--repeats", type=int, default=5, help="splits, seeds 0, 1...")
    parser.add_argument("--step", type=int, help="score every N labels [2, or 5 over 60 songs]")
    parser.add_argument("--test-share", type=float, default=0.3, help="songs held out")
    parser.add_argument("--orders", default=",".join(ORDERS),
                        help="comma-separated orders to replay [all four]")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--name", help="name of the files [the CSV's folder]")
    args = parser.parse_args()
    orders = [order.strip() for order in args.orders.split(",") if order.strip()]
    unknown = [order for order in orders if order not in ORDERS]
    if unknown or not orders:
        parser.error(f"--orders takes some of {','.join(ORDERS)}, got {args.orders!r}")
    orders = [order for order in ORDERS if order in orders]  # the usual order, once each
    from tunetag.config import default_cache_dir

    cache = args.cache or default_cache_dir()
    step = _Steps()
    csv_path, task = args.csv, args.task
    if csv_path is None:
        if task not in (None, DEMO_TASK):
            parser.error(f"the demo library has one task to replay here: {DEMO_TASK}")
        step(f"demo library under {cache / 'active-demo'}")
        csv_path, task = demo_csv(cache / "active-demo"), DEMO_TASK
    elif task is None:
        parser.error("--task is needed with a CSV")
    name = args.name or csv_path.resolve().parent.name
    if name == "active-demo":
        name = "demo"

    step(f"{name}: features of {csv_path} (task {task})")
    z, y, classes, groups, kept = prepare(csv_path, task, cache)
    if len(classes) < 2:
        parser.error(f"{task} has {len(classes)} class; two or more are needed")
    every = args.step or (5 if len(y) > SMALL_SET else 2)
    counts = {c: int((y == k).sum()) for k, c in enumerate(classes)}
    split = split_kind(groups, args.test_share)
    step(f"{name}: {len(y)} songs, {len(classes)} classes, {kept['d']} summary values a song "
         f"on {z.shape[1]} main directions; "
         f"score every {every} labels, {args.repeats} repeats; {split}; orders "
         f"{', '.join(orders)}")  # fmt: skip

    results = {
        "machine": machine_info(),
        "csv": str(csv_path),
        "name": name,
        "task": task,
        "songs": len(y),
        "songs_left_out": kept["left_out"],
        "classes": counts,
        "groups": None if groups is None else len(set(groups)),
        "summary_values_per_song": kept["d"],
        "coordinates_per_song": int(z.shape[1]),
        "step": every,
        "test_share": args.test_share,
        "split": split,
        "repeats": args.repeats,
        "share_of_ceiling": SHARE,
        "refit": "after every label (uncertain, teach); at every scored count (file, random)",
        "teach_seed": "teaching_order(points, labelled, uncertainty, seed + labels so far), "
        "its first song, as the page's live._fit seeds it",
        "runs": [],
    }
    for seed in range(args.repeats):
        results["runs"].append(
            one_repeat(z, y, classes, groups, args.test_share, every, seed, step, orders)
        )
    results["machine"]["load_after"] = os.getloadavg()

    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"active-{name}"
    if len(orders) < len(ORDERS):
        merged = merge_into(stem.with_suffix(".json"), results, orders)
        kept = f"the other orders kept from {stem}.json"
        step(f"{name}: " + (kept if merged else f"the files hold {', '.join(orders)} only"))
    results["orders_run"] = [order for order in ORDERS if order in results["runs"][0]["orders"]]
    results["total_s"] = sum(
        run["ceiling_s"] + sum(entry["seconds"] for entry in run["orders"].values())
        for run in results["runs"]
    )
    results["orders"] = summarise(results["runs"])
    stem.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    stem.with_suffix(".md").write_text(markdown(results))
    plot(results, stem.with_suffix(".png"))
    print(table(results))
    print(f"\nwrote {stem}.json, .md and .png")
    print(last_line(results))


def demo_csv(root: Path) -> Path:
    """The demo library's song CSV under ``root``, synthesised and scanned if missing."""
    csv_path = root / "songs.csv"
    if not csv_path.exists():
        from tunetag.demo.library import make_demo_library
        from tunetag.library.scan import scan

        make_demo_library(root / "music", songs_per_class=DEMO_SONGS_PER_CLASS, seed=0,
                          progress=sys.stderr.isatty())  # fmt: skip
        scan(root / "music", csv_path, label_from_folder=DEMO_TASK, progress=False)
    return csv_path


def prepare(csv_path: Path, task: str, cache: Path):
    """The page's coordinates (songs, k) of the songs labelled in ``task`` whose features
    could be made (standardised summaries on their main directions), their class index,
    the classes (sorted), each song's group (its `GROUP_COLUMN` cell; None without that
    column or with one value in it) and what was left out, with the summary's length."""
    from tunetag.features.extract import extract_files
    from tunetag.labelapp.learner import principal_directions
    from tunetag.labelapp.live import LIVE_FEATURES, live_view_balance
    from tunetag.library.songtable import SongTable
    from tunetag.models.inputs import load_views, summary_statistics
    from tunetag.models.logreg import standardise

    table = SongTable.read(csv_path)
    if table.rows and task not in table.rows[0]:
        raise SystemExit(f"error: {csv_path} has no column {task!r}")
    labelled = [row for row in table.rows if row.get(task, "").strip()]
    paths = [table.audio_path(row) for row in labelled]
    report = extract_files(paths, LIVE_FEATURES, cache, progress=sys.stderr.isatty())
    songs = [(path, row[task].strip(), row.get(GROUP_COLUMN, "").strip())
             for path, row in zip(paths, labelled, strict=True) if path in report.ok]  # fmt: skip
    x = np.stack([summary_statistics(load_views(report.ok[path])) for path, _, _ in songs])
    classes = sorted({label for _, label, _ in songs})
    y = np.array([classes.index(label) for _, label, _ in songs])
    groups = np.array([group for _, _, group in songs])
    if len(set(groups.tolist())) < 2:
        groups = None
    left_out = {"empty_cell": len(table.rows) - len(labelled), "no_features": len(report.errors)}
    z = standardise("active", x, x.shape[1])[0] * live_view_balance()
    return z @ principal_directions(z), y, classes, groups, {"left_out": left_out, "d": x.shape[1]}


def split_kind(groups, test_share: float) -> str:
    """How the songs are split, in words."""
    if groups is None:
        return f"stratified, {test_share:g} held out (no {GROUP_COLUMN} groups)"
    folds = _folds(groups, test_share)
    return (f"grouped by {GROUP_COLUMN} and stratified: StratifiedGroupKFold, {folds} folds "
            f"shuffled by the seed, the first held out")  # fmt: skip


def _folds(groups, test_share: float) -> int:
    return max(2, min(round(1 / test_share), len(set(groups.tolist()))))


def split(y, groups, test_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The pool and the held-out rows, each in the CSV's order (see `split_kind`)."""
    if groups is None:
        from sklearn.model_selection import train_test_split

        rows = np.arange(len(y))
        pool, test = train_test_split(rows, test_size=test_share, stratify=y, random_state=seed)
    else:
        from sklearn.model_selection import StratifiedGroupKFold

        folds = StratifiedGroupKFold(_folds(groups, test_share), shuffle=True, random_state=seed)
        with warnings.catch_warnings():  # a class with fewer songs than folds: said per repeat
            warnings.simplefilter("ignore", UserWarning)
            pool, test = next(folds.split(np.zeros(len(y)), y, groups))
        assert not set(groups[pool]) & set(groups[test])
    return np.sort(pool), np.sort(test)


def one_repeat(z, y, classes, groups, test_share, every, seed, step, orders) -> dict:
    """One split: the ceiling, then each order's curve and its labels to 95 %."""
    from tunetag.labelapp.queue import spread_points

    started = time.perf_counter()
    pool, test = split(y, groups, test_share, seed)
    ceiling = score(fit(z, y, classes, pool, seed), y, test)
    points = spread_points(z, seed)[pool]  # projected over every song, as the page does
    found = {
        "seed": seed,
        "pool": len(pool),
        "held_out": len(test),
        "held_out_lacks": [c for k, c in enumerate(classes) if not (y[test] == k).any()],
        "pool_lacks": [c for k, c in enumerate(classes) if not (y[pool] == k).any()],
        "ceiling": ceiling,
        "ceiling_s": time.perf_counter() - started,
        "orders": {},
    }
    sides = (("held-out songs", "held_out_lacks"), ("pool", "pool_lacks"))
    lacks = "".join(f"; {side} lack {', '.join(found[key])}" for side, key in sides if found[key])
    step(f"repeat {seed + 1}: {len(pool)} songs to label, {len(test)} held out, "
         f"ceiling {ceiling:.3f}{lacks}")  # fmt: skip
    for order in orders:
        started = time.perf_counter()
        curve, fits, picked = replay(order, z, y, classes, pool, test, points, every, seed)
        seconds = time.perf_counter() - started
        reached = labels_to_share(curve, ceiling, len(pool))
        found["orders"][order] = {
            "curve": curve,
            "labels_to_95": reached,
            "fits": fits,
            "seconds": seconds,
            "first_labels": [int(k) for k in picked[:10]],
        }
        shown = "never" if reached is None else str(reached)
        step(f"repeat {seed + 1} {order:9s}: labels to 95 % {shown:>5s}, mean score "
             f"{np.mean([s for _, s in curve]):.3f}, {fits} fits, {seconds:.0f} s")  # fmt: skip
    return found


def replay(order, z, y, classes, pool, test, points, every, seed):
    """Label the pool one song at a time in ``order``: ([[labels, held-out score], ...] at
    every ``every`` labels and the whole pool, fits made, the pool rows in label order)."""
    from tunetag.labelapp.live import _uncertainty
    from tunetag.labelapp.queue import teaching_order

    n = len(pool)
    shuffled = np.random.default_rng(seed).permutation(n)
    labelled = np.zeros(n, dtype=bool)
    picked: list[int] = []
    curve, fits, model = [], 0, None
    for count in range(1, n + 1):
        if order == "file":
            k = count - 1
        elif order == "random":
            k = int(shuffled[count - 1])
        else:
            unsure = None if model is None else _uncertainty({"task": model})
            unsure = None if unsure is None else unsure[pool]
            if order == "teach":  # the page: seed + the labelled songs at this fit
                k = teaching_order(points, labelled, unsure, seed + int(labelled.sum()))[0]
            elif unsure is None:
                k = next(int(j) for j in shuffled if not labelled[j])
            else:
                k = int(np.flatnonzero(~labelled)[np.argmax(unsure[~labelled])])
        labelled[k] = True
        picked.append(int(pool[k]))
        scored = count % every == 0 or count == n
        if order in MODEL_DRIVEN or scored:
            model = fit(z, y, classes, pool[labelled], seed)
            fits += 1
        if scored:
            curve.append([count, score(model, y, test)])
    return curve, fits, picked


def fit(z, y, classes, rows, seed):
    """The live model (`fit_task`) on the songs ``rows``, labelled with their own class."""
    from tunetag.labelapp.learner import fit_task

    given = set(int(r) for r in rows)
    labels = [[classes[y[k]]] if k in given else [] for k in range(len(y))]
    return fit_task(z, labels, classes, False, seed)


def score(model, y, test) -> float:
    """Balanced accuracy of the model's argmax guesses on the held-out songs, over the
    classes they hold (sklearn drops a guessed class no held-out song holds, with a
    warning, silenced here: `one_repeat` records such classes)."""
    from sklearn.metrics import balanced_accuracy_score

    guesses = model.probabilities[test].argmax(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(y[test], guesses))


def labels_to_share(curve, ceiling: float, pool: int) -> int | None:
    """The first label count scoring >= `SHARE` x ceiling before the whole pool, or None."""
    for count, value in curve:
        if count < pool and value >= SHARE * ceiling:
            return count
    return None


def merge_into(path: Path, results: dict, replayed: list[str]) -> bool:
    """Put the other orders of the run stored at ``path`` into ``results``' runs, when it
    is a run of the same set, task, settings and splits; whether it was."""
    if not path.exists():
        return False
    stored = json.loads(path.read_text())
    same = ("csv", "task", "songs", "classes", "step", "test_share", "split", "repeats")
    if any(stored.get(key) != results[key] for key in same):
        return False
    splits = ("seed", "pool", "held_out", "ceiling")
    for old, new in zip(stored["runs"], results["runs"], strict=True):
        if any(old.get(key) != new[key] for key in splits):
            return False
    for old, new in zip(stored["runs"], results["runs"], strict=True):
        kept = {order: entry for order, entry in old["orders"].items() if order in ORDERS}
        new["orders"] = {order: new["orders"].get(order, kept.get(order)) for order in ORDERS
                         if order in new["orders"] or order in kept}  # fmt: skip
    results["orders_rerun"] = {
        "replayed": [order for order in ORDERS if order in replayed],
        "others_kept_from": {key: stored.get(key) for key in ("machine", "orders_rerun")},
    }
    return True


def summarise(runs: list[dict]) -> dict:
    """Per order: labels to 95 % per repeat, their mean (never-reached as the pool size),
    the mean score (a repeat's mean over its curve, averaged over repeats), the mean curve
    at the counts every repeat recorded, seconds and fits."""
    found = {}
    for order in runs[0]["orders"]:
        each = [run["orders"][order] for run in runs]
        reached = [entry["labels_to_95"] for entry in each]
        counted = [
            r if r is not None else run["pool"] for r, run in zip(reached, runs, strict=True)
        ]
        shared = sorted(set.intersection(*(set(c for c, _ in e["curve"]) for e in each)))
        curves = np.array([[s for c, s in e["curve"] if c in shared] for e in each])
        found[order] = {
            "labels_to_95": reached,
            "labels_to_95_mean": None
            if all(r is None for r in reached)
            else float(np.mean(counted)),
            "never_reached": sum(r is None for r in reached),
            "mean_score": float(np.mean([np.mean([s for _, s in e["curve"]]) for e in each])),
            "labels": shared,
            "curve_mean": curves.mean(axis=0).tolist(),
            "curve_sd": curves.std(axis=0).tolist(),
            "seconds": float(np.mean([entry["seconds"] for entry in each])),
            "fits": float(np.mean([entry["fits"] for entry in each])),
        }
    return found


def _figure(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}"


def _each(results: dict, order: str) -> str:
    runs = results["runs"]
    return " / ".join(
        f"{run['pool']}*" if r is None else str(r)
        for r, run in zip(results["orders"][order]["labels_to_95"], runs, strict=True)
    )


def last_line(results: dict) -> str:
    orders = results["orders"]
    parts = [f"{order} {_figure(orders[order]['labels_to_95_mean'])}" for order in ORDERS
             if order in orders]  # fmt: skip
    return "labels to 95%: " + ", ".join(parts)


def target(results: dict) -> str | None:
    """Whether teach needs at most half the labels of the file order, and fewer than random
    and uncertain (on the means); None without all four orders."""
    orders = results["orders"]
    if any(order not in orders for order in ORDERS):
        return None
    mean = {order: orders[order]["labels_to_95_mean"] for order in ORDERS}
    pool = float(np.mean([run["pool"] for run in results["runs"]]))  # never: the pool size
    mean = {order: pool if m is None else m for order, m in mean.items()}
    half = mean["teach"] <= mean["file"] / 2
    fewer = mean["teach"] < mean["random"] and mean["teach"] < mean["uncertain"]
    return (f"teach target (at most half the file order's labels, fewer than random and "
            f"uncertain): {'met' if half and fewer else 'not met'} (half of file: "
            f"{'yes' if half else 'no'}; fewer than random and uncertain: "
            f"{'yes' if fewer else 'no'})")  # fmt: skip


def paired_differences(results: dict) -> list[str]:
    """Teach's labels to 95 % minus each other order's, repeat by repeat (every order labels
    the same pool and is scored on the same held-out songs in a repeat, so the difference
    is paired): the mean and its 95 % t-interval over the repeats. An interval holding 0
    says the repeats cannot tell the two orders apart."""
    from scipy import stats

    orders = results["orders"]
    if "teach" not in orders or len(results["runs"]) < 2:
        return []
    pools = [run["pool"] for run in results["runs"]]

    def counted(order: str) -> np.ndarray:
        reached = orders[order]["labels_to_95"]
        return np.array([p if r is None else r for r, p in zip(reached, pools, strict=True)])

    lines = []
    for order in (o for o in ORDERS if o in orders and o != "teach"):
        d = counted("teach") - counted(order)
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        lines.append(f"teach minus {order}: {d.mean():+.1f} labels (95 % interval "
                     f"{d.mean() - half:+.1f} to {d.mean() + half:+.1f} over {len(d)} "
                     "paired repeats)")  # fmt: skip
    return lines


def _ceilings(results: dict) -> str:
    values = [run["ceiling"] for run in results["runs"]]
    return f"{np.mean(values):.3f} (" + " / ".join(f"{v:.3f}" for v in values) + ")"


def _sizes(results: dict, key: str) -> str:
    values = sorted({run[key] for run in results["runs"]})
    return str(values[0]) if len(values) == 1 else f"{values[0]}-{values[-1]}"


def _lacking(results: dict) -> list[str]:
    found = []
    for run in results["runs"]:
        for side, key in (("held-out songs", "held_out_lacks"), ("pool", "pool_lacks")):
            if run.get(key):
                found.append(f"seed {run['seed']}: the {side} lack {', '.join(run[key])}")
    return found


HEADER = ("order", "labels to 95% (mean)", "each repeat", "mean score", "fits", "s per repeat")


def table(results: dict) -> str:
    """The orders as plain text, under the set's ceiling."""
    lines = [
        f"{results['name']}, task {results['task']}: {results['songs']} songs, "
        f"{len(results['classes'])} classes; {_sizes(results, 'pool')} to label, "
        f"{_sizes(results, 'held_out')} held out ({results['split']}); {results['repeats']} "
        f"repeats; score every {results['step']} labels",
        f"ceiling (every pool song labelled), held-out balanced accuracy: {_ceilings(results)}",
        "* a repeat that reached 95 % of its ceiling only with every song labelled (counted "
        "as the pool size)",
        "{:15s} {:>20s}  {:30s} {:>10s} {:>6s} {:>12s}".format(*HEADER),
    ]
    for order in results["orders"]:
        found = results["orders"][order]
        lines.append(
            f"{order:15s} {_figure(found['labels_to_95_mean']):>20s}  {_each(results, order):30s} "
            f"{found['mean_score']:10.3f} {found['fits']:6.0f} {found['seconds']:12.0f}"
        )
    lines += _lacking(results)
    if target(results):
        lines.append(target(results))
    return "\n".join(lines + paired_differences(results))


def markdown(results: dict) -> str:
    """The table as markdown, with what the numbers mean."""
    classes = ", ".join(f"{c} {n}" for c, n in results["classes"].items())
    if results["groups"] is None:
        held = (f"holds out a stratified {results['test_share']:g} of the songs "
                f"({_sizes(results, 'held_out')})")  # fmt: skip
    else:
        folds = _folds(np.arange(results["groups"]), results["test_share"])
        held = (
            f"holds out the songs of one fold of {folds} grouped by the `{GROUP_COLUMN}` column "
            f"({results['groups']} groups) and stratified by class (sklearn "
            f"`StratifiedGroupKFold`, shuffled by the seed): no {GROUP_COLUMN} has songs both "
            f"in the pool and held out ({_sizes(results, 'held_out')} songs held out)"
        )
    lacking = _lacking(results)
    lacks = (
        "In no repeat do the held-out songs or the pool lack a class. "
        if not lacking
        else "Balanced accuracy is over the classes the held-out songs hold; "
        + "; ".join(lacking)
        + ". "
    )
    lines = [
        f"# Labels the live model needs, by order (`benchmarks/active.py`): {results['name']}",
        "",
        f"Task **{results['task']}** of `{results['csv']}`: {results['songs']} songs, "
        f"{len(results['classes'])} classes ({classes}). "
        f"Each repeat (seeds 0-{results['repeats'] - 1}) {held} and labels the other "
        f"{_sizes(results, 'pool')} one at a time from the CSV's labels; the live model "
        "(`fit_task`) is refitted after every label in the uncertain and teach orders (teach: "
        "the first song of `teaching_order` drawn with the seed + the labels so far, as the "
        f"page draws it); its held-out balanced accuracy is recorded every {results['step']} "
        f"labels. {lacks}"
        f"Ceiling (every pool song labelled): {_ceilings(results)}. "
        f"Labels to 95 %: the first count scoring >= {SHARE} x the repeat's ceiling; `*`: only "
        "with every song labelled, counted as the pool size; mean score: the mean of a "
        "repeat's recorded scores, averaged over repeats. "
        f"{results['machine']['cores']} CPU cores, shared; {results['total_s']:.0f} s in all.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    for order in results["orders"]:
        found = results["orders"][order]
        lines.append(
            f"| {order} | {_figure(found['labels_to_95_mean'])} | {_each(results, order)} | "
            f"{found['mean_score']:.3f} | {found['fits']:.0f} | {found['seconds']:.0f} |"
        )
    if target(results):
        lines += ["", target(results) + "."]
    if paired_differences(results):
        lines += ["", *(f"- {line}" for line in paired_differences(results))]
    if "orders_rerun" in results:
        lines += ["", "Some orders were replayed apart from the others on the same splits "
                  "(`--orders`); see the JSON's `orders_rerun`."]  # fmt: skip
    lines += ["", f"`{last_line(results)}`", "", f"![curves](active-{results['name']}.png)"]
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path) -> None:
    """Mean held-out balanced accuracy against labels, per order, with a +- sd band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5), dpi=100)
    for order in results["orders"]:
        found = results["orders"][order]
        x = np.array(found["labels"])
        mean, sd = np.array(found["curve_mean"]), np.array(found["curve_sd"])
        axes.plot(x, mean, label=f"{order} (95 % at {_figure(found['labels_to_95_mean'])})")
        axes.fill_between(x, np.clip(mean - sd, 0, 1), np.clip(mean + sd, 0, 1), alpha=0.15)
    ceiling = float(np.mean([run["ceiling"] for run in results["runs"]]))
    axes.axhline(ceiling, color="black", linewidth=0.8, label=f"ceiling {ceiling:.3f}")
    axes.axhline(SHARE * ceiling, color="black", linewidth=0.8, linestyle="--",
                 label=f"{SHARE:.0%} of it")  # fmt: skip
    axes.axhline(1 / len(results["classes"]), color="grey", linewidth=0.6, linestyle=":",
                 label="chance")  # fmt: skip
    axes.set_xlabel("songs labelled")
    axes.set_ylabel("held-out balanced accuracy")
    grouped = "" if results["groups"] is None else f", split grouped by {GROUP_COLUMN}"
    axes.set_title(f"{results['name']}, {results['task']}: mean of {results['repeats']} "
                   f"repeats{grouped}, band +- 1 sd (within 0-1)", fontsize=10)  # fmt: skip
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


if __name__ == "__main__":
    main()

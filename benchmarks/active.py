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
- **teach**: the first song of `tunetag.labelapp.queue.teaching_order` (k-means++ spread
  over `spread_points` without a model of two classes, uncertainty x distance to the
  nearest labelled song with one), recomputed after every label with the repeat's seed,
  as the page recomputes it after every fit with its one seed;
- **teach-reseeded** (a diagnostic, not an order of the page; ``--no-reseeded`` leaves it
  out): the same with the seed ``repeat x 10000 + labels so far``. The page's k-means++
  draw, reseeded alike at every refit, takes the same uniform number each time, so while no
  model of two classes exists its pick falls at the same share of the cumulative weights
  over the songs in library order, again and again: on a CSV sorted by class folder it
  keeps picking in one class's stretch. This order shows what fresh draws would give.

Inputs are the page's: `tunetag.labelapp.live.LIVE_FEATURES` views from tunetag's feature
cache (``--cache``; made if missing), `summary_statistics` per song, standardised over
every song of the set (pool and held-out alike, no label read: the page standardises over
the whole library). The live model is `tunetag.labelapp.learner.fit_task` (class-balanced
logistic regression, C by inner folds) seeded by the repeat.

Per repeat (``--repeats``, seeds 0, 1...): a stratified split (``--test-share`` held out,
seeded by the repeat; songs are not grouped by artist or piece, so a held-out song may
share its game or album with pool songs: every order gets the same split, the comparison
is fair, the ceiling is not an estimate of unseen-artist accuracy). The **ceiling** is the
held-out balanced accuracy of `fit_task` on every pool song. For each order, songs of the
pool are labelled one at a time; the model-driven orders (uncertain, teach) refit after
every label, as the page does when a person waits for it. Every ``--step`` labels (and at
the whole pool) the model fitted on the labelled pool songs guesses the held-out songs
(argmax over the task's classes: a class no labelled song holds yet is never guessed) and
its balanced accuracy (sklearn) is recorded.

**Labels to 95 %**: the first recorded label count whose score is >= 0.95 x the repeat's
ceiling; a repeat that gets there only with the whole pool labelled (where every order
scores the ceiling itself) never got there: it counts as the pool size in the mean and is
flagged ``*``. The figure is the mean over repeats, ``never`` when no repeat got there.
**Mean score**: the mean of the recorded scores (the area under the curve over the label
counts, divided by their number). Seconds: wall time of an order's replay in a repeat,
fits included (2 shared CPU cores).

Writes ``<out>/active-<name>.json``, ``.md`` and ``.png`` (mean curve over repeats with a
band of +- one standard deviation, the mean ceiling and its 95 %). The last line printed is
``labels to 95%: file N, random N, uncertain N, teach N``.

Usage: ``python benchmarks/active.py [SONGS.csv --task COL] [--cache DIR] [--repeats 5]
[--step N] [--test-share 0.3] [--out benchmarks/results] [--name NAME]``; without a CSV,
the synthesised demo library (`tunetag.demo.library`, 24 songs per mood, seed 0) is built
under ``<cache>/active-demo`` and its task ``mood`` replayed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ORDERS = ("file", "random", "uncertain", "teach")  # the page's orders, in the last line
RESEEDED = "teach-reseeded"  # a diagnostic: teach with fresh k-means++ draws at each refit
MODEL_DRIVEN = ("uncertain", "teach", RESEEDED)
SHARE = 0.95  # of the ceiling
DEMO_SONGS_PER_CLASS = 24
DEMO_TASK = "mood"
SMALL_SET = 60  # songs: up to this many, a score every 2 labels, else every 5


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
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--name", help="name of the files [the CSV's folder]")
    parser.add_argument("--no-reseeded", action="store_true", help=f"leave out {RESEEDED}")
    args = parser.parse_args()
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
    z, y, classes, kept = prepare(csv_path, task, cache)
    if len(classes) < 2:
        parser.error(f"{task} has {len(classes)} class; two or more are needed")
    every = args.step or (5 if len(y) > SMALL_SET else 2)
    counts = {c: int((y == k).sum()) for k, c in enumerate(classes)}
    step(f"{name}: {len(y)} songs, {len(classes)} classes, {z.shape[1]} values a song; "
         f"score every {every} labels, {args.repeats} repeats")  # fmt: skip

    results = {
        "machine": _machine(),
        "csv": str(csv_path),
        "name": name,
        "task": task,
        "songs": len(y),
        "songs_left_out": kept["left_out"],
        "classes": counts,
        "values_per_song": int(z.shape[1]),
        "step": every,
        "test_share": args.test_share,
        "repeats": args.repeats,
        "share_of_ceiling": SHARE,
        "refit": "after every label (uncertain, teach); at every scored count (file, random)",
        "teach_workaround": "teaching_order raises ValueError with <= PICKED_APART unlabelled "
        "songs; its first pick is then made by its own helpers (first_to_teach)",
        "runs": [],
    }
    orders = ORDERS if args.no_reseeded else (*ORDERS, RESEEDED)
    results["orders_run"] = list(orders)
    started = time.perf_counter()
    for seed in range(args.repeats):
        results["runs"].append(
            one_repeat(z, y, classes, args.test_share, every, seed, step, orders)
        )
    results["total_s"] = time.perf_counter() - started
    results["machine"]["load_after"] = os.getloadavg()
    results["orders"] = summarise(results["runs"])

    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"active-{name}"
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


def prepare(csv_path: Path, task: str, cache: Path) -> tuple[np.ndarray, np.ndarray, list, dict]:
    """The page's standardised summaries (songs, d) of the songs labelled in ``task`` whose
    features could be made, their class index, the classes (sorted) and what was left out."""
    from tunetag.features.extract import extract_files
    from tunetag.labelapp.live import LIVE_FEATURES, _standardised
    from tunetag.library.songtable import SongTable
    from tunetag.models.inputs import load_views, summary_statistics

    table = SongTable.read(csv_path)
    if table.rows and task not in table.rows[0]:
        raise SystemExit(f"error: {csv_path} has no column {task!r}")
    labelled = [row for row in table.rows if row.get(task, "").strip()]
    paths = [table.audio_path(row) for row in labelled]
    report = extract_files(paths, LIVE_FEATURES, cache, progress=sys.stderr.isatty())
    songs = [(path, row[task].strip()) for path, row in zip(paths, labelled, strict=True)
             if path in report.ok]  # fmt: skip
    x = np.stack([summary_statistics(load_views(report.ok[path])) for path, _ in songs])
    classes = sorted({label for _, label in songs})
    y = np.array([classes.index(label) for _, label in songs])
    left_out = {"empty_cell": len(table.rows) - len(labelled), "no_features": len(report.errors)}
    return _standardised(x), y, classes, {"left_out": left_out}


def one_repeat(z, y, classes, test_share, every, seed, step, orders) -> dict:
    """One split: the ceiling, then each order's curve and its labels to 95 %."""
    from sklearn.model_selection import train_test_split

    from tunetag.labelapp.queue import spread_points

    rows = np.arange(len(y))
    pool, test = train_test_split(rows, test_size=test_share, stratify=y, random_state=seed)
    pool, test = np.sort(pool), np.sort(test)  # the pool in the CSV's order
    ceiling = score(fit(z, y, classes, pool, seed), y, test)
    points = spread_points(z, seed)[pool]  # projected over every song, as the page does
    found = {"seed": seed, "pool": len(pool), "held_out": len(test), "ceiling": ceiling,
             "orders": {}}  # fmt: skip
    step(f"repeat {seed + 1}: {len(pool)} songs to label, {len(test)} held out, "
         f"ceiling {ceiling:.3f}")  # fmt: skip
    for order in orders:
        started, before = time.perf_counter(), FALLBACKS["teach"]
        curve, fits, picked = replay(order, z, y, classes, pool, test, points, every, seed)
        seconds = time.perf_counter() - started
        reached = labels_to_share(curve, ceiling, len(pool))
        found["orders"][order] = {
            "curve": curve,
            "labels_to_95": reached,
            "fits": fits,
            "seconds": seconds,
            "first_labels": [int(k) for k in picked[:10]],
            "picks_by_workaround": FALLBACKS["teach"] - before,
        }
        shown = "never" if reached is None else str(reached)
        step(f"repeat {seed + 1} {order:9s}: labels to 95 % {shown:>5s}, mean score "
             f"{np.mean([s for _, s in curve]):.3f}, {fits} fits, {seconds:.0f} s")  # fmt: skip
    return found


def replay(order, z, y, classes, pool, test, points, every, seed):
    """Label the pool one song at a time in ``order``: ([[labels, held-out score], ...] at
    every ``every`` labels and the whole pool, fits made, the pool rows in label order)."""
    from tunetag.labelapp.live import _uncertainty

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
            unsure = None if model is None else _uncertainty({"task": model}, len(y))
            unsure = None if unsure is None else unsure[pool]
            if order == "teach":
                k = first_to_teach(points, labelled, unsure, seed)
            elif order == RESEEDED:
                k = first_to_teach(points, labelled, unsure, seed * 10_000 + count)
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


def first_to_teach(points, labelled, unsure, seed) -> int:
    """The first song of `teaching_order`. With `PICKED_APART` unlabelled songs or fewer,
    ``teaching_order`` fails (its scoring of the songs left after the picks is given none);
    its first pick is then made here by its own helpers, as its first step makes it."""
    from tunetag.labelapp import queue

    try:
        return queue.teaching_order(points, labelled, unsure, seed)[0]
    except ValueError:
        if (~labelled).sum() > queue.PICKED_APART:
            raise
    FALLBACKS["teach"] += 1
    candidates = np.flatnonzero(~labelled)
    nearest = queue._squared_distance_to(points[candidates], points[labelled])
    worth = None if unsure is None else np.asarray(unsure, dtype=float)[candidates]
    left = np.ones(candidates.size, dtype=bool)
    return int(candidates[queue._next_pick(nearest, worth, left, np.random.default_rng(seed))])


FALLBACKS = {"teach": 0}  # first picks made by `first_to_teach` itself


def fit(z, y, classes, rows, seed):
    """The live model (`fit_task`) on the songs ``rows``, labelled with their own class."""
    from tunetag.labelapp.learner import fit_task

    given = set(int(r) for r in rows)
    labels = [[classes[y[k]]] if k in given else [] for k in range(len(y))]
    return fit_task(z, labels, classes, False, seed)


def score(model, y, test) -> float:
    """Balanced accuracy of the model's argmax guesses on the held-out songs."""
    from sklearn.metrics import balanced_accuracy_score

    guesses = model.probabilities[test].argmax(axis=1)
    return float(balanced_accuracy_score(y[test], guesses))


def labels_to_share(curve, ceiling: float, pool: int) -> int | None:
    """The first label count scoring >= `SHARE` x ceiling before the whole pool, or None."""
    for count, value in curve:
        if count < pool and value >= SHARE * ceiling:
            return count
    return None


def summarise(runs: list[dict]) -> dict:
    """Per order: labels to 95 % per repeat, their mean (never-reached as the pool size),
    the mean score, seconds and fits."""
    found = {}
    for order in runs[0]["orders"]:
        each = [run["orders"][order] for run in runs]
        reached = [entry["labels_to_95"] for entry in each]
        counted = [
            r if r is not None else run["pool"] for r, run in zip(reached, runs, strict=True)
        ]
        curves = np.array([[s for _, s in entry["curve"]] for entry in each])
        found[order] = {
            "labels_to_95": reached,
            "labels_to_95_mean": None
            if all(r is None for r in reached)
            else float(np.mean(counted)),
            "never_reached": sum(r is None for r in reached),
            "mean_score": float(curves.mean()),
            "labels": [c for c, _ in each[0]["curve"]],
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
    parts = [f"{order} {_figure(orders[order]['labels_to_95_mean'])}" for order in ORDERS]
    return "labels to 95%: " + ", ".join(parts)


def _ceilings(results: dict) -> str:
    values = [run["ceiling"] for run in results["runs"]]
    return f"{np.mean(values):.3f} (" + " / ".join(f"{v:.3f}" for v in values) + ")"


HEADER = ("order", "labels to 95% (mean)", "each repeat", "mean score", "fits", "s per repeat")


def table(results: dict) -> str:
    """The orders as plain text, under the set's ceiling."""
    runs = results["runs"]
    lines = [
        f"{results['name']}, task {results['task']}: {results['songs']} songs, "
        f"{len(results['classes'])} classes; {runs[0]['pool']} to label, {runs[0]['held_out']} "
        f"held out; {results['repeats']} repeats; score every {results['step']} labels",
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
    return "\n".join(lines)


def markdown(results: dict) -> str:
    """The table as markdown, with what the numbers mean."""
    runs = results["runs"]
    classes = ", ".join(f"{c} {n}" for c, n in results["classes"].items())
    lines = [
        f"# Labels the live model needs, by order (`benchmarks/active.py`): {results['name']}",
        "",
        f"Task **{results['task']}** of `{results['csv']}`: {results['songs']} songs, "
        f"{len(results['classes'])} classes ({classes}). "
        f"Each repeat (seeds 0-{results['repeats'] - 1}) holds out a stratified "
        f"{results['test_share']:g} of the songs ({runs[0]['held_out']}) and labels the other "
        f"{runs[0]['pool']} one at a time from the CSV's labels; the live model "
        "(`fit_task`) is refitted after every label in the uncertain and teach orders; its "
        f"held-out balanced accuracy is recorded every {results['step']} labels. "
        f"Ceiling (every pool song labelled): {_ceilings(results)}. "
        f"Labels to 95 %: the first count scoring >= {SHARE} x the repeat's ceiling; `*`: only "
        "with every song labelled, counted as the pool size; mean score: the mean of the "
        f"recorded scores. {results['machine']['cores']} CPU cores, shared; "
        f"{results['total_s']:.0f} s in all.",
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
    if RESEEDED in results["orders"]:
        lines += ["", f"{RESEEDED} is a diagnostic, not an order of the page: teach with the "
                  "k-means++ draws seeded afresh at every refit (the page reseeds them alike "
                  "at every fit; see the script's docstring)."]  # fmt: skip
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
    axes.set_title(f"{results['name']}, {results['task']}: mean of {results['repeats']} "
                   "repeats, band +- 1 sd (within 0-1)")  # fmt: skip
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _machine() -> dict:
    import sklearn

    here = Path(__file__).parent
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True,
                          text=True).stdout.strip()  # fmt: skip
    changed = subprocess.run(["git", "status", "--porcelain", "--", "tunetag"], cwd=here,
                             capture_output=True, text=True).stdout.split("\n")  # fmt: skip
    return {
        "git": head,
        "tunetag_files_changed_since_commit": sorted(line[3:] for line in changed if line),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "load_before": os.getloadavg(),
    }


if __name__ == "__main__":
    main()

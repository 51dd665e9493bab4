"""`make demo`: the whole job, end to end, on a synthesised library (nothing is downloaded).

Generates a labelled library and a second, unseen one; then scan -> extract -> train (the
default `auto`, which picks per task among probes of pretrained embeddings and hand-crafted
descriptors by nested cross-validation; the logistic baseline `logreg`; our `shortchunk`
and the proposal's `seed`) -> compare -> evaluate on the unseen songs -> predict them with
the `auto` run. Each step prints the `tunetag` command that
does the same, the options of each model's training budget included.

By default the networks train on a budget, so that a first run shows the whole job in a few
minutes on two CPU cores: `shortchunk` for 12 epochs, `seed` (328 million parameters) for
one, which shows it working but not what it learns. ``--full`` (`make demo-full`) trains
them as `tunetag train` does by default (`shortchunk` up to 40 epochs, stopping early) and
`seed` for 8 epochs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tunetag.config import RunConfig, TrainConfig
from tunetag.demo.library import make_demo_library
from tunetag.evaluation.compare import compare, format_comparison
from tunetag.features.extract import extract
from tunetag.library.scan import scan
from tunetag.steps.evaluate import evaluate
from tunetag.steps.predict import predict
from tunetag.steps.train import train

MODELS = ("auto", "logreg", "shortchunk", "seed")
PREDICTING = "auto"  # the run that predicts the new music and guesses on the label page
TASKS = ("mood", "genre")

# Per model, the `TrainConfig` settings that differ from `tunetag train`'s defaults; each
# one is also a `tunetag train` option (`--` and the name with dashes), printed with it.
QUICK_BUDGET: dict[str, dict[str, int]] = {
    "auto": {},
    "logreg": {},
    "shortchunk": {"epochs": 12},
    "seed": {"epochs": 1},
}
FULL_SEED_EPOCHS = 8
FULL_BUDGET: dict[str, dict[str, int]] = {
    "auto": {},
    "logreg": {},
    "shortchunk": {},
    "seed": {"epochs": FULL_SEED_EPOCHS},
}


def budget(full: bool = False, seed_epochs: int | None = None) -> dict[str, dict[str, int]]:
    """Each model's training settings that differ from the defaults: the quick demo's, or
    with ``full`` the full one's; ``seed_epochs`` (if given) replaces `seed`'s epochs."""
    chosen = {
        model: dict(settings) for model, settings in (FULL_BUDGET if full else QUICK_BUDGET).items()
    }
    if seed_epochs is not None:
        if seed_epochs <= 0:
            raise ValueError(f"seed_epochs must be positive, got {seed_epochs}")
        chosen["seed"]["epochs"] = seed_epochs
    return chosen


def train_config(model: str, settings: Mapping[str, int]) -> TrainConfig:
    """The training settings of ``model`` in the demo: both tasks, ``settings`` over the
    defaults."""
    return TrainConfig(model=model, tasks=TASKS, **settings)


def train_options(settings: Mapping[str, int]) -> str:
    """``settings`` as `tunetag train` options, e.g. ``--epochs 1``."""
    return "".join(f" --{name.replace('_', '-')} {value}" for name, value in settings.items())


def budget_notes(settings: Mapping[str, Mapping[str, int]]) -> dict[str, str]:
    """What the demo says of each model whose budget cuts its training short."""
    notes = {}
    epochs = settings["shortchunk"].get("epochs", TrainConfig.epochs)
    if epochs < TrainConfig.epochs:
        notes["shortchunk"] = (
            f"shortchunk: {epochs} epochs on a budget (trained fully, it goes on for up to "
            f"{TrainConfig.epochs}, stopping when the validation loss stops improving)"
        )
    epochs = settings["seed"].get("epochs", TrainConfig.epochs)
    if epochs < FULL_SEED_EPOCHS:
        notes["seed"] = (
            f"seed: {_epochs(epochs)} on a budget to show it working, not what it learns (the "
            "proposal's CNN has 328 million parameters); its full training "
            f"({FULL_SEED_EPOCHS} epochs) is `make demo-full`"
        )
    return notes


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def _step(command: str) -> None:
    print(f"\n$ {command}", flush=True)


def run_demo(
    root: Path, songs_per_class: int = 24, settings: Mapping[str, Mapping[str, int]] | None = None
) -> dict[str, dict]:
    """Run every step into ``root``, training each model with its ``settings`` (default: the
    quick `budget`); return the unseen-song metrics of each model."""
    settings = budget() if settings is None else settings
    cache = root / "cache"
    started = time.perf_counter()
    took: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        took[name] = took.get(name, 0.0) + now - clock
        clock = now

    notes = budget_notes(settings)
    if notes:
        budgets = ", ".join(f"{model} {_epochs(settings[model]['epochs'])}" for model in notes)
        print(f"A quick demo: {budgets}, on a budget; `make demo-full` trains them fully.")

    _step(f"# synthesising the demo libraries in {root}")
    make_demo_library(root / "music", songs_per_class=songs_per_class, seed=0)
    make_demo_library(root / "new-music", songs_per_class=max(4, songs_per_class // 2), seed=1)
    lap("synthesise")

    songs_csv, new_csv = root / "songs.csv", root / "new-songs.csv"
    _step(f"tunetag scan {root / 'music'} -o {songs_csv} --label-from-folder mood")
    scan(root / "music", songs_csv, label_from_folder="mood")
    _step(f"tunetag scan {root / 'new-music'} -o {new_csv} --label-from-folder mood")
    scan(root / "new-music", new_csv, label_from_folder="mood")

    _step(f"tunetag extract {songs_csv} --png {root / 'png'} --cache {cache}")
    extract(songs_csv, cache_dir=cache, png_dir=root / "png")
    lap("scan and extract")

    scores = {}
    tasks = " ".join(f"--task {task}" for task in TASKS)
    for model in MODELS:
        run_dir = root / "runs" / model
        options = train_options(settings[model])
        if model in notes:
            _step(f"# {notes[model]}")
        _step(
            f"tunetag train {songs_csv} {tasks} --model {model}{options} -o {run_dir} "
            f"--cache {cache}"
        )
        config = RunConfig(train=train_config(model, settings[model]))
        train(songs_csv, run_dir, config, cache_dir=cache)
        _step(f"tunetag evaluate {run_dir} {new_csv} --cache {cache}")
        scores[model] = evaluate(run_dir, new_csv, cache_dir=cache)
        lap(f"{model} (train, evaluate)")

    runs = [root / "runs" / model for model in MODELS]
    _step(f"tunetag compare {' '.join(map(str, runs))} --plot {root / 'compare.png'}")
    print(format_comparison(compare(runs, root / "compare.png")))

    predictions = root / "predictions.csv"
    chosen = root / "runs" / PREDICTING
    _step(f"tunetag predict {chosen} {root / 'new-music'} -o {predictions} --cache {cache}")
    predict(chosen, [root / "new-music"], predictions, cache_dir=cache)
    lap("compare, predict")

    steps = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in took.items())
    print(f"\nDemo finished in {time.perf_counter() - started:.0f} s: {steps}.")
    print("Accuracy on unseen songs:")
    for model, metrics in scores.items():
        for task, found in metrics["tasks"].items():
            print(
                f"  {model:10s} {task:6s} accuracy {found['accuracy']:.2f}  "
                f"balanced {found['balanced_accuracy']:.2f}  ({found['n_songs']} songs)"
            )
    for note in notes.values():
        print(f"  {note}")
    print(f"Run folders (model, curves.png, confusion-*.png, metrics.json): {root / 'runs'}")
    print(f"Predictions: {predictions}\nMel-spectrogram images: {root / 'png'}")
    print(
        f"Label by ear, with the {PREDICTING} run's guesses, least sure first:\n"
        f"  tunetag label {root / 'songs.csv'} --run {chosen} --order uncertain --open"
    )
    return scores


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The demo's command line (``argv``; default: the process's)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder for the demo's music, runs and output")
    parser.add_argument("--songs-per-class", type=int, default=24, help="labelled songs per mood")
    parser.add_argument(
        "--full",
        action="store_true",
        help=f"train fully (`make demo-full`): shortchunk up to {TrainConfig.epochs} epochs, "
        f"seed {FULL_SEED_EPOCHS}; without it shortchunk trains "
        f"{QUICK_BUDGET['shortchunk']['epochs']} epochs and seed "
        f"{QUICK_BUDGET['seed']['epochs']}, on a budget",
    )
    parser.add_argument(
        "--seed-epochs",
        type=int,
        default=None,
        help="epochs for the seed model [default: the budget's]",
    )
    args = parser.parse_args(argv)
    if args.seed_epochs is not None and args.seed_epochs <= 0:
        parser.error(f"--seed-epochs must be positive, got {args.seed_epochs}")
    if args.songs_per_class <= 0:
        parser.error(f"--songs-per-class must be positive, got {args.songs_per_class}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    run_demo(args.root, args.songs_per_class, budget(args.full, args.seed_epochs))


if __name__ == "__main__":
    main()

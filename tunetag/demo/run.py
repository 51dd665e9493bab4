"""`make demo`: the whole job, end to end, on a synthesised library (nothing is downloaded).

Generates a labelled library and a second, unseen one; then scan -> extract -> train (the
logistic baseline `logreg`, our `shortchunk` and the proposal's `seed`) -> compare ->
evaluate on the unseen songs -> predict them. Each step prints the `tunetag` command that
does the same.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tunetag.config import RunConfig, TrainConfig
from tunetag.demo.library import make_demo_library
from tunetag.evaluation.compare import compare, format_comparison
from tunetag.features.extract import extract
from tunetag.library.scan import scan
from tunetag.steps.evaluate import evaluate
from tunetag.steps.predict import predict
from tunetag.steps.train import train


def _step(command: str) -> None:
    print(f"\n$ {command}", flush=True)


def run_demo(root: Path, songs_per_class: int, seed_epochs: int) -> dict[str, dict]:
    """Run every step into ``root``; return the unseen-song metrics of each model."""
    cache = root / "cache"
    started = time.perf_counter()
    _step(f"# synthesising the demo libraries in {root}")
    make_demo_library(root / "music", songs_per_class=songs_per_class, seed=0)
    make_demo_library(root / "new-music", songs_per_class=max(4, songs_per_class // 2), seed=1)

    songs_csv, new_csv = root / "songs.csv", root / "new-songs.csv"
    _step(f"tunetag scan {root / 'music'} -o {songs_csv} --label-from-folder mood")
    scan(root / "music", songs_csv, label_from_folder="mood")
    scan(root / "new-music", new_csv, label_from_folder="mood")

    _step(f"tunetag extract {songs_csv} --png {root / 'png'} --cache {cache}")
    extract(songs_csv, cache_dir=cache, png_dir=root / "png")

    scores = {}
    models = (("logreg", 1), ("shortchunk", TrainConfig.epochs), ("seed", seed_epochs))
    for model, epochs in models:
        run_dir = root / "runs" / model
        _step(f"tunetag train {songs_csv} --task mood --task genre --model {model} -o {run_dir}")
        config = RunConfig(train=TrainConfig(model=model, tasks=("mood", "genre"), epochs=epochs))
        train(songs_csv, run_dir, config, cache_dir=cache)
        _step(f"tunetag evaluate {run_dir} {new_csv}")
        scores[model] = evaluate(run_dir, new_csv, cache_dir=cache)

    runs = [root / "runs" / model for model, _ in models]
    _step(f"tunetag compare {' '.join(map(str, runs))} --plot {root / 'compare.png'}")
    print(format_comparison(compare(runs, root / "compare.png")))

    predictions = root / "predictions.csv"
    _step(f"tunetag predict {root / 'runs' / 'shortchunk'} {root / 'new-music'} -o {predictions}")
    predict(root / "runs" / "shortchunk", [root / "new-music"], predictions, cache_dir=cache)

    print(f"\nDemo finished in {time.perf_counter() - started:.0f} s. Accuracy on unseen songs:")
    for model, metrics in scores.items():
        for task, found in metrics["tasks"].items():
            print(
                f"  {model:10s} {task:6s} accuracy {found['accuracy']:.2f}  "
                f"balanced {found['balanced_accuracy']:.2f}  ({found['n_songs']} songs)"
            )
    print(f"Run folders (model, curves.png, confusion-*.png, metrics.json): {root / 'runs'}")
    print(f"Predictions: {predictions}\nMel-spectrogram images: {root / 'png'}")
    print(
        "Label by ear, with the shortchunk run's guesses, least sure first:\n"
        f"  tunetag label {root / 'songs.csv'} --run {root / 'runs' / 'shortchunk'} "
        "--order uncertain --open"
    )
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder for the demo's music, runs and output")
    parser.add_argument("--songs-per-class", type=int, default=24, help="labelled songs per mood")
    parser.add_argument("--seed-epochs", type=int, default=8, help="epochs for the seed model")
    args = parser.parse_args()
    run_demo(args.root, args.songs_per_class, args.seed_epochs)


if __name__ == "__main__":
    main()

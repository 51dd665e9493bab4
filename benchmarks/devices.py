"""Training on the GPU against the CPU: the same runs, timed on each device (issue 6).

A synthesised demo library (32 songs of 40 s, mood and genre) is made and its four views
extracted once; then each model trains for the same epochs on one split, once with CUDA
(bfloat16 mixed precision, as `tunetag train` does on a GPU) and once on the CPU alone
(``CUDA_VISIBLE_DEVICES=""``), each in a fresh process. Without a GPU only the CPU rows
are measured. Seconds are wall time of `tunetag.train`, imports excluded; the accuracies
show the two devices learn alike (32 songs: a check, not a score).

Usage: ``python benchmarks/devices.py [--models shortchunk,multiview,seed] [--epochs 10]
[--out benchmarks/results]``; writes ``devices.json`` there and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ALL_VIEWS = ("mel", "chroma", "tempogram", "waveform")
SONGS_PER_CLASS = 16
SONG_S = 40.0


def main() -> None:
    """Prepare the library, then train every model on every device in a child process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="shortchunk,multiview,seed")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--train", nargs=3, help=argparse.SUPPRESS)  # child: root model epochs
    args = parser.parse_args()
    if args.train:
        root, model, epochs = args.train
        print(json.dumps(_train(Path(root), model, int(epochs))))
        return
    import torch

    devices = ["cuda", "cpu"] if torch.cuda.is_available() else ["cpu"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="tunetag-devices-") as tmp:
        extract_s = _prepare(Path(tmp))
        for model in args.models.split(","):
            for device in devices:
                rows.append(_child(Path(tmp), model, args.epochs, device))
                print(_line(rows[-1]), flush=True)
    results = {
        "gpu": torch.cuda.get_device_name(0) if "cuda" in devices else None,
        "cpu_cores": os.cpu_count(),
        "torch": torch.__version__,
        "songs": 2 * SONGS_PER_CLASS,
        "song_s": SONG_S,
        "extract_s": extract_s,
        "epochs": args.epochs,
        "runs": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "devices.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"extracting {results['songs']} songs x 4 views took {extract_s:.1f} s")


def _prepare(root: Path) -> float:
    """The demo library, its song CSV and its four views in the cache; extraction seconds."""
    from tunetag.config import FeatureConfig
    from tunetag.demo.library import make_demo_library
    from tunetag.features.extract import extract
    from tunetag.library.scan import scan

    make_demo_library(root / "music", SONGS_PER_CLASS, SONG_S, seed=0, progress=False)
    scan(root / "music", root / "songs.csv", label_from_folder="mood", progress=False)
    started = time.perf_counter()
    extract(
        root / "songs.csv",
        FeatureConfig(views=ALL_VIEWS),
        cache_dir=root / "cache",
        progress=False,
    )
    return time.perf_counter() - started


def _child(root: Path, model: str, epochs: int, device: str) -> dict:
    """One training run in a fresh process; the CPU run sees no GPU."""
    env = dict(os.environ)
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    command = [sys.executable, __file__, "--train", str(root), model, str(epochs)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def _train(root: Path, model: str, epochs: int) -> dict:
    import torch

    from tunetag.config import FeatureConfig, RunConfig, TrainConfig
    from tunetag.steps.train import train

    views = ALL_VIEWS if model == "multiview" else ("mel",)
    config = RunConfig(
        features=FeatureConfig(views=views),
        train=TrainConfig(model=model, tasks=("mood", "genre"), epochs=epochs, patience=epochs),
    )
    cuda = torch.cuda.is_available()
    run_dir = root / f"run-{model}-{'cuda' if cuda else 'cpu'}"
    started = time.perf_counter()
    run = train(root / "songs.csv", run_dir, config, cache_dir=root / "cache", progress=False)
    seconds = time.perf_counter() - started
    metrics = json.loads((Path(run.path) / "metrics.json").read_text())
    return {
        "model": model,
        "device": torch.cuda.get_device_name(0) if cuda else f"cpu ({os.cpu_count()} cores)",
        "seconds": seconds,
        "accuracy": {
            task: round(found["accuracy"], 3)
            for task, found in metrics["tasks"].items()
            if "accuracy" in found
        },
    }


def _line(row: dict) -> str:
    return f"{row['model']:10s} {row['device']:28s} {row['seconds']:7.1f} s  {row['accuracy']}"


if __name__ == "__main__":
    main()

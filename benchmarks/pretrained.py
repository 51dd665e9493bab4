"""Few labels: the pretrained musicnn models against the from-scratch ones (issue 7).

Cross-validated (artist-grouped, stratified folds) on two small labelled libraries, in one
run, with one protocol per library for every model:

- **demo**: the synthesised demo library, 48 songs (24 per mood, 4 genres crossing the
  moods, 16 artists); tasks ``mood`` and ``genre``.
- **real**: 49 recorded tracks from Debian packages, ``wesnoth-1.16-music`` (41, orchestral)
  and ``fretsonfire-songs-sectoid`` / ``-muldjord`` (8, rock); tasks ``source`` (the
  package) and ``mood``, labelled by title for 31 of the wesnoth tracks (`MOODS` below).
  Read where the packages are installed, or else where ``benchmarks/real_sets.py`` unpacks
  them (``/work/bench-data/pkgs/<package>/``); skipped when neither holds them.

Models: ``musicnn-probe``, ``musicnn-finetune``, our ``shortchunk`` and the
proposal's ``seed``. Crop models train for at most ``--epochs`` (``seed`` for
``--seed-epochs``: about 50 s an epoch on 2 CPU cores). Printed and written to
``benchmarks/results/pretrained.json``: per library, task and model the accuracy and
balanced accuracy (mean +- std over folds, as `tunetag compare`), and the seconds per fold
(the whole ``train`` call, extraction excluded, divided by the folds plus the final refit).

Usage: ``python benchmarks/pretrained.py [--folds 5] [--epochs 12] [--seed-epochs 5]
[--models musicnn-probe,musicnn-finetune,shortchunk,seed] [--libraries demo,real]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

WESNOTH = Path("/usr/share/games/wesnoth/1.16/data/core/music")
FRETSONFIRE = Path("/usr/share/games/fretsonfire/data/songs")
UNPACKED = Path("/work/bench-data/pkgs")  # benchmarks/real_sets.py's dpkg -x of each package
MODELS = ("musicnn-probe", "musicnn-finetune", "shortchunk", "seed")
# wesnoth tracks labelled by their titles: battle music against calm or sorrowful pieces
MOODS = {
    "tense": [
        "battle-epic",
        "battle",
        "breaking_the_chains",
        "casualties_of_war",
        "frantic",
        "frantic-old",
        "siege_of_laurelmor",
        "the_city_falls",
        "the_dangerous_symphony",
        "vengeful",
        "weight_of_revenge",
        "northerners",
        "suspense",
        "knalgan_theme",
        "loyalists",
        "legends_of_the_north",
    ],
    "mellow": [
        "elf-land",
        "elvish-theme",
        "love_theme",
        "silvan_sanctuary",
        "wanderer",
        "traveling_minstrels",
        "knolls",
        "journeys_end",
        "sad",
        "silence",
        "nunc_dimittis",
        "transience",
        "defeat",
        "defeat2",
        "the_king_is_dead",
    ],
}


def main() -> None:
    """Build the libraries, extract once, train every model with k folds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed-epochs", type=int, default=5)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--libraries", default="demo,real")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    results: dict = {"folds": args.folds, "cores": os.cpu_count(), "libraries": {}}
    with tempfile.TemporaryDirectory(prefix="tunetag-pretrained-") as tmp:
        for library, csv_path, tasks in installed_libraries(args.libraries, Path(tmp)):
            runs = {}
            for model in args.models.split(","):
                epochs = args.seed_epochs if model == "seed" else args.epochs
                runs[model] = cross_validate(csv_path, tasks, model, args.folds, epochs, tmp)
                print(_line(library, model, runs[model]), flush=True)
            results["libraries"][library] = {"tasks": list(tasks), "runs": runs}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pretrained.json").write_text(json.dumps(results, indent=1) + "\n")
    print(_table(results))


def installed_libraries(names: str, tmp: Path) -> Iterator[tuple[str, Path, tuple[str, ...]]]:
    """Each library of the comma-separated ``names`` that can be made here: its name, song
    CSV and tasks; a line says which are skipped."""
    for name in names.split(","):
        made = make_library(name, tmp / name)
        if made is None:
            print(f"{name}: its Debian packages are not installed; skipped")
            continue
        yield name, *made


def make_library(name: str, root: Path) -> tuple[Path, tuple[str, ...]] | None:
    """The song CSV of a library and its tasks; None where its music is not installed."""
    from tunetag.demo.library import make_demo_library
    from tunetag.library.scan import scan
    from tunetag.library.songtable import SongTable

    csv_path = root / "songs.csv"
    if name == "demo":
        make_demo_library(root / "music", songs_per_class=24, seed=0, progress=False)
        scan(root / "music", csv_path, label_from_folder="mood", progress=False)
        return csv_path, ("mood", "genre")
    wesnoth, fretsonfire = [WESNOTH], [FRETSONFIRE]
    if not (WESNOTH.is_dir() and FRETSONFIRE.is_dir()):
        wesnoth = [UNPACKED / "wesnoth-1.16-music" / str(WESNOTH).lstrip("/")]
        fretsonfire = [
            UNPACKED / f"fretsonfire-songs-{band}" / str(FRETSONFIRE).lstrip("/")
            for band in ("muldjord", "sectoid")
        ]
        if not all(folder.is_dir() for folder in wesnoth + fretsonfire):
            return None
    music = root / "music"
    music.mkdir(parents=True)
    for track in sorted(t for folder in wesnoth for t in folder.glob("*.ogg")):
        os.symlink(track, music / f"wesnoth-{track.name}")
    for song in sorted(s for folder in fretsonfire for s in folder.glob("*/*/song.ogg")):
        os.symlink(song, music / f"fof-{song.parent.parent.name}-{song.parent.name}.ogg")
    scan(music, csv_path, progress=False)
    table = SongTable.read(csv_path)
    table.columns += [column for column in ("source",) if column not in table.columns]
    mood_of = {title: mood for mood, titles in MOODS.items() for title in titles}
    for row in table.rows:
        stem = Path(row["path"]).stem
        wesnoth = stem.startswith("wesnoth-")
        row["source"] = "wesnoth" if wesnoth else "fretsonfire"
        # folds keep an artist's songs together: the fretsonfire bands, each wesnoth track
        row["artist"] = stem if wesnoth else stem.split("-")[1]
        row["mood"] = mood_of.get(stem.removeprefix("wesnoth-"), "") if wesnoth else ""
    table.write()
    return csv_path, ("source", "mood")


def cross_validate(
    csv_path: Path, tasks: tuple[str, ...], model: str, folds: int, epochs: int, tmp: str
) -> dict:
    """Extract (timed apart), then train with k folds; scores and seconds per fold."""
    from tunetag import models
    from tunetag.config import FeatureConfig, RunConfig, TrainConfig
    from tunetag.evaluation.compare import compare
    from tunetag.features.extract import extract
    from tunetag.steps.train import train

    features = models.run_features(model, FeatureConfig())
    cache = Path(tmp) / "cache"
    started = time.perf_counter()
    extract(csv_path, features, cache_dir=cache, progress=False)
    extract_s = time.perf_counter() - started
    config = RunConfig(
        features=features,
        train=TrainConfig(
            model=model, tasks=tasks, folds=folds, epochs=epochs, patience=max(2, epochs // 3),
            crops_per_song=4,
        ),
    )  # fmt: skip
    run_dir = csv_path.parent / f"run-{model}"
    started = time.perf_counter()
    train(csv_path, run_dir, config, cache_dir=cache, progress=False)
    train_s = time.perf_counter() - started
    return {
        "extract_s": extract_s,
        "train_s": train_s,
        "seconds_per_fold": train_s / (folds + 1),
        "epochs": epochs,
        "scores": {
            f"{row['task']} {row['metric']}": {"mean": row["mean"], "std": row["std"]}
            for row in compare([run_dir])
        },
    }


def _line(library: str, model: str, run: dict) -> str:
    scores = ", ".join(
        f"{key} {found['mean']:.3f}" for key, found in run["scores"].items() if "bal" not in key
    )
    return f"{library:5s} {model:17s} {run['seconds_per_fold']:7.1f} s per fold  {scores}"


def _table(results: dict) -> str:
    """Per library: a row per task and metric, a column per model; then seconds per fold."""
    lines = []
    for library, found in results["libraries"].items():
        runs = found["runs"]
        names = list(runs)
        lines += ["", f"{library} ({results['folds']} folds)", "metric".ljust(28) + "".join(
            f"{name:>20s}" for name in names)]  # fmt: skip
        for key in next(iter(runs.values()))["scores"]:
            cells = "".join(
                f"{runs[n]['scores'][key]['mean']:>11.3f} +- {runs[n]['scores'][key]['std']:.3f}"
                for n in names
            )
            lines.append(f"{key:28s}{cells}")
        lines.append("seconds per fold".ljust(28) + "".join(
            f"{runs[n]['seconds_per_fold']:>20.1f}" for n in names))  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()

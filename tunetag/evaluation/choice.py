"""What a choosing model chose, in words and tables: ``auto``'s input per task, ``logreg``'s C.

``metrics.json`` keeps the model's own ``selection`` for the saved model (fitted on every
song) and for each outer fold. The saved model's says what predicts the library; the folds'
say how steady that choice is, since each fold chose on its own training songs only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence


def chosen(entry: Mapping) -> str:
    """The choice of one task (of each label, joined, for a multi-label task)."""
    if "labels" in entry:
        return ", ".join(dict.fromkeys(_label_choice(label) for label in entry["labels"]))
    return _label_choice(entry)


def choice_sentence(entry: Mapping) -> str:
    """One task's choice, its inner score and any note, as a sentence."""
    if "labels" in entry:
        return "Per label: " + "; ".join(
            f"{k + 1}: {choice_sentence(label)}" for k, label in enumerate(entry["labels"])
        )
    text = f"{_label_choice(entry)}"
    if isinstance(entry.get("C"), float | int):
        text += f" (C = {entry['C']:.3g})"
    if entry.get("balanced_accuracy") is not None:
        loss = entry.get("log_loss")
        text += f", inner log loss {loss:.3f}" if loss is not None else ""
        text += (
            f", inner balanced accuracy {entry['balanced_accuracy']:.3f} over "
            f"{entry.get('inner_folds')} folds of {entry.get('songs')} songs"
        )
    if entry.get("note"):
        text += f" ({entry['note']})"
    return text + "."


def candidate_scores(entry: Mapping) -> list[tuple[str, float, float, float]]:
    """Every candidate of a single-label task's choice, the chosen criterion's best first:
    ``(name, log loss, balanced accuracy, its std)`` over the inner folds (none for a
    multi-label task or a fallback)."""
    found = [
        (
            name,
            float(scores.get("log_loss", float("nan"))),
            float(scores["balanced_accuracy"]),
            float(scores["std"]),
        )
        for name, scores in entry.get("candidates", {}).items()
    ]
    return sorted(found, key=lambda row: (row[1], -row[2]))


def fold_choices(folds: Sequence[Mapping], task: str) -> Counter:
    """How often each choice was made across the outer folds, for ``task``."""
    return Counter(chosen(fold[task]) for fold in folds if task in fold)


def _label_choice(entry: Mapping) -> str:
    """What one task (or label) chose: a candidate, a C, or, where a fold's songs held one
    class only, that class's frequency (no C: nothing was fitted)."""
    if entry.get("chosen"):
        return str(entry["chosen"])
    c = entry.get("C")
    return f"C = {c:.3g}" if isinstance(c, float | int) else "class frequency, no fit"

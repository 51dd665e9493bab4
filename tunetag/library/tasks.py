"""What a model learns: one task per label column, single-label or multi-label."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunetag.library.songtable import SongTable


@dataclass(frozen=True)
class Task:
    """One label column: its classes (or labels) and whether a song may have several.

    A single-label task has a softmax head and one class per song; a multi-label task
    (cells like ``mellow;sad``) has a sigmoid per label.
    """

    name: str
    classes: tuple[str, ...]
    multilabel: bool = False

    @property
    def n_outputs(self) -> int:
        """Logits of the task's head: one per class or label."""
        return len(self.classes)

    def target(self, labels: Sequence[str] | None) -> np.ndarray:
        """A song's labels as a float32 (n_outputs,) target: one-hot, multi-hot, or NaN
        everywhere when the song is unlabelled for this task."""
        if not labels:
            return np.full(self.n_outputs, np.nan, dtype=np.float32)
        target = np.zeros(self.n_outputs, dtype=np.float32)
        target[[self.classes.index(label) for label in labels]] = 1.0
        return target

    def to_dict(self) -> dict:
        return {"classes": list(self.classes), "multi_label": self.multilabel}

    @classmethod
    def from_dict(cls, name: str, data: dict) -> Task:
        return cls(name, tuple(data["classes"]), bool(data["multi_label"]))


def tasks_from_table(table: SongTable, names: Sequence[str]) -> list[Task]:
    """The tasks named by ``names`` as the song table defines them (validated there)."""
    return [Task(name, tuple(table.classes(name)), table.is_multilabel(name)) for name in names]

"""Tables of songs with a player each, so a person can hear why a model chose what it did.

A run's report lists, per task, the scored songs the model got wrong and those it was least
sure about; a predictions report lists per class its most and least confident songs. Audio
is linked by a path relative to the page, so a page and the music can move together.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path

from tunetag.evaluation.htmlpage import card, escape
from tunetag.evaluation.whystrip import WHY_LEGEND, strip_key, why_caption, why_strip
from tunetag.library.predictions import PredictedSong
from tunetag.library.songtable import cell_labels
from tunetag.library.tasks import Task

RUN_ROWS = 20  # songs shown in each table of a run's report
CLASS_ROWS = 10  # most (and least) confident songs shown per class of a predictions report
KEPT_MODEL_NOTE = (  # a k-fold run's strips: its kept model was refitted on every song
    "The strips are what the run's kept model (trained on every song, these included) hears; "
    "the guesses in the table are those of fold models that never saw the song."
)
SPLIT_MODEL_NOTE = (  # a one-split run's strips: its kept model scored these songs
    "The strips are what the run's model, which scored these songs without training on them, "
    "hears in them."
)
RUN_TABLES = {  # a run's table of each kind: its title, and what it says when empty
    "got-wrong": ("Got wrong", "None: every one was right."),
    "least-sure": ("Least sure", "No song to show."),
}
RUN_HEAD = (
    "<tr><th></th><th>song</th><th>true label</th><th>predicted</th><th>probability</th></tr>"
)


def audio_player(path: Path, page_dir: Path) -> str:
    """An ``<audio>`` element that plays ``path`` from a page saved in ``page_dir``.

    The source is the path relative to the page's folder, percent-encoded for a URL (a
    ``file:`` URL where no relative path exists, as across Windows drives). ``preload="none"``
    keeps a page of many songs from loading any until it is played.
    """
    try:
        url = urllib.parse.quote(Path(os.path.relpath(path, page_dir)).as_posix())
    except ValueError:
        url = Path(os.path.abspath(path)).as_uri()
    return f'<audio controls preload="none" src="{escape(url)}"></audio>'


def song_name(song: PredictedSong) -> str:
    """``artist - title`` from its tags, the title alone, or else the file name."""
    if song.title:
        return f"{song.artist} - {song.title}" if song.artist else song.title
    return song.path.name


def song_row(song: PredictedSong, page_dir: Path, *figures: str, strip: str = "") -> str:
    """One song's row of a table: its player, its name, then ``figures`` (text), one cell
    each. The name's cell holds what is shown of the song itself, so anything drawn of it
    (``strip``, HTML: its why strip) goes there, under its name."""
    cells = "".join(f"<td>{escape(figure)}</td>" for figure in figures)
    return (
        f"<tr><td>{audio_player(song.path, page_dir)}</td>"
        f"<td class='song'>{escape(song_name(song))}{strip}</td>{cells}</tr>"
    )


def song_strip(
    song: PredictedSong,
    task: str,
    classes: Sequence[str],
    chosen: str,
    strips: Mapping[str, dict],
) -> str:
    """The why strip of ``song`` for class ``chosen`` of ``task`` (``classes``: the
    pushes' columns), or nothing where ``strips`` (an explanation's plain form by
    `strip_key` of a song's path) has none for it."""
    found = strips.get(strip_key(song.path))
    return why_strip(found, task, classes, chosen, why_caption(chosen)) if found else ""


def listed_in_run_tables(
    task: Task, songs: Sequence[PredictedSong], truth: Sequence[dict[str, tuple[str, ...]]]
) -> list[int]:
    """Indices of the songs the run's tables of ``task`` show, each once."""
    return list(
        dict.fromkeys(k for _, chosen in _run_lists(task, songs, truth) for k in chosen[:RUN_ROWS])
    )


def got_wrong(
    task: Task, songs: Sequence[PredictedSong], truth: Sequence[dict[str, tuple[str, ...]]]
) -> list[int]:
    """Indices of the songs labelled for ``task`` whose prediction differs from their label.

    Single-label: the predicted class is not the label, most probable wrong class first.
    Multi-label: the predicted labels (those at the threshold) are not the true ones, the
    song with the largest error on one label (``|truth - p|``) first.
    """
    wrong = [
        k
        for k, song in enumerate(songs)
        if truth[k][task.name]
        and set(cell_labels(song.predicted[task.name])) != set(truth[k][task.name])
    ]
    return sorted(wrong, key=lambda k: -_error(task, songs[k], truth[k][task.name]))


def least_sure(
    task: Task, songs: Sequence[PredictedSong], truth: Sequence[dict[str, tuple[str, ...]]]
) -> list[int]:
    """Indices of the songs labelled for ``task``, least sure first.

    Uncertainty is 1 - the top class's probability (single-label) or, for a multi-label
    task, the mean over labels of ``1 - |2p - 1|`` (1 when every label is at 0.5).
    """
    labelled = [k for k in range(len(songs)) if truth[k][task.name]]
    return sorted(labelled, key=lambda k: -uncertainty(task, songs[k]))


def uncertainty(task: Task, song: PredictedSong) -> float:
    """How unsure the model is of ``song`` for ``task``, 0 (certain) to 1."""
    probs = song.probabilities[task.name].values()
    if task.multilabel:
        return sum(1.0 - abs(2.0 * p - 1.0) for p in probs) / max(len(probs), 1)
    return 1.0 - max(probs, default=0.0)


def run_tables(
    task: Task,
    songs: Sequence[PredictedSong],
    truth: Sequence[dict[str, tuple[str, ...]]],
    page_dir: Path,
    strips: Mapping[str, dict] | None = None,
    folds: int = 1,
) -> str:
    """HTML: the "Got wrong" and "Least sure" tables of one task of a run's report; with
    ``strips`` (see `song_strip`), each song's why strip for its most probable class, said
    to come from a model that saw the song where the run has ``folds`` > 1."""
    strips = strips or {}
    labelled = sum(1 for found in truth if found[task.name])
    parts = []
    for kind, chosen in _run_lists(task, songs, truth):
        title, none = RUN_TABLES[kind]
        shown = chosen[:RUN_ROWS]
        count = f"{len(chosen)} of {labelled}" if kind == "got-wrong" else f"{labelled}"
        more = f"; the first {len(shown)} shown" if len(shown) < len(chosen) else ""
        parts.append(
            f"<h3>{title} <span class='note'>({count} scored songs labelled for "
            f"{escape(task.name)}{more})</span></h3>"
        )
        if not shown:
            parts.append(f"<p class='note'>{none}</p>")
            continue
        rows = "".join(
            song_row(
                songs[k],
                page_dir,
                "; ".join(truth[k][task.name]),
                "; ".join(cell_labels(songs[k].predicted[task.name])) or "(none)",
                _probability_cell(task, songs[k], truth[k][task.name], kind),
                strip=song_strip(
                    songs[k], task.name, task.classes, _most_probable(task, songs[k]), strips
                ),
            )
            for k in shown
        )
        source = KEPT_MODEL_NOTE if folds > 1 else SPLIT_MODEL_NOTE
        parts.append(_why_note([songs[k] for k in shown], strips, source))
        parts.append(
            f"<table class='songs {kind}' data-task='{escape(task.name)}'>{RUN_HEAD}{rows}</table>"
        )
    return "".join(parts)


def class_tables(
    task: str,
    classes: Sequence[str],
    songs: Sequence[PredictedSong],
    page_dir: Path,
    strips: Mapping[str, dict] | None = None,
) -> list[str]:
    """HTML cards: per class, its most and least confident songs among those predicted as it.

    Confidence is the class's probability. The least confident table leaves out the songs
    already in the most confident one, so a class of few songs shows each once. With
    ``strips`` (see `song_strip`), each song's why strip for the class.
    """
    strips = strips or {}
    parts = []
    for name in classes:
        members = [song for song in songs if name in cell_labels(song.predicted[task])]
        members.sort(key=lambda song: -song.probabilities[task].get(name, 0.0))
        most = members[:CLASS_ROWS]
        least = members[len(most) :][::-1][:CLASS_ROWS]
        tables = []
        for kind, title, chosen in (
            ("most-confident", "Most confident", most),
            ("least-confident", "Least confident", least),
        ):
            if not chosen:
                continue
            rows = "".join(
                song_row(
                    song,
                    page_dir,
                    f"{song.probabilities[task].get(name, 0.0):.3f}",
                    strip=song_strip(song, task, classes, name, strips),
                )
                for song in chosen
            )
            tables.append(
                f"<table class='songs {kind}' data-task='{escape(task)}' "
                f"data-class='{escape(name)}'>"
                f"<caption>{title}</caption>"
                f"<tr><th></th><th>song</th><th>probability</th></tr>{rows}</table>"
            )
        heading = f"<h3>{escape(name)} <span class='note'>({len(members)} songs)</span></h3>"
        parts.append(card(heading, _why_note(most + least, strips), *tables))
    return parts


def _why_note(shown: Sequence[PredictedSong], strips: Mapping[str, dict], more: str = "") -> str:
    """How to read the strips (and ``more``), where any of the ``shown`` songs has one."""
    if not any(strip_key(song.path) in strips for song in shown):
        return ""
    return f"<p class='note'>{escape(f'{WHY_LEGEND} {more}'.strip())}</p>"


def _run_lists(
    task: Task, songs: Sequence[PredictedSong], truth: Sequence[dict[str, tuple[str, ...]]]
) -> list[tuple[str, list[int]]]:
    """Each kind of a run's table with every song it would list, in order."""
    return [
        ("got-wrong", got_wrong(task, songs, truth)),
        ("least-sure", least_sure(task, songs, truth)),
    ]


def _most_probable(task: Task, song: PredictedSong) -> str:
    """The class the song's row gives the highest probability: whose strip a run shows."""
    probs = song.probabilities[task.name]
    return max(probs, key=probs.get) if probs else ""


def _error(task: Task, song: PredictedSong, labels: tuple[str, ...]) -> float:
    """The probability of the wrong class, or the largest ``|truth - p|`` of a label."""
    probs = song.probabilities[task.name]
    if not task.multilabel:
        return probs.get(song.predicted[task.name], 0.0)
    return max((abs((c in labels) - p) for c, p in probs.items()), default=0.0)


def _probability_cell(task: Task, song: PredictedSong, labels: tuple[str, ...], kind: str) -> str:
    """The predicted class's probability; for a multi-label task the probability of each
    label it got wrong (got-wrong table) or of every label (least-sure table)."""
    probs = song.probabilities[task.name]
    if not task.multilabel:
        return f"{probs.get(song.predicted[task.name], 0.0):.3f}"
    predicted = set(cell_labels(song.predicted[task.name]))
    shown = [c for c in probs if kind == "least-sure" or (c in labels) != (c in predicted)]
    return ", ".join(f"{c} {probs[c]:.3f}" for c in shown)

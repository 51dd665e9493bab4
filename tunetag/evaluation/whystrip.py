"""The "why" strip of a song in a report: which of its seconds pushed it to a class, drawn
under its name, so a person can click the seconds that argued and hear them.

A strip is drawn from an explanation's plain form (`tunetag.runs.explain.Explanation.as_json`
or a ``.why.json`` of ``predict --explain``): one segment per stretch, placed by its seconds
between the first stretch's start and the last one's end, warm where the stretch argued for
the class and blue where it argued against it, the stronger the further its push (the change
in the class's log-odds without that stretch) from nothing, relative to the song's largest;
grey where it made no change (a class the model never gives, or always).
The page's script (`strip_script`) plays the row's player from a clicked segment's start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from importlib import resources

from tunetag.evaluation.htmlpage import escape

FAINTEST = 0.12  # the opacity of a push of nothing: every segment stays visible and clickable
WHY_LEGEND = (
    "Under each song, which of its seconds pushed it to the class: the brighter, the more "
    "they argued for it; blue, against it; grey, no change. A click plays from there."
)


def why_strip(strips: Mapping, task: str, classes: Sequence[str], chosen: str, caption: str) -> str:
    """HTML: the strip of the pushes for class ``chosen`` of ``task`` (one of ``classes``,
    the explanation's columns), with its seconds at both ends and ``caption`` (text)
    between them; empty where the explanation has no such task or class."""
    pushes = strips.get("pushes", {}).get(task)
    if not pushes or chosen not in classes:
        return ""
    column = list(classes).index(chosen)
    values = [row[column] for row in pushes if column < len(row)]
    starts, lengths = strips["starts_s"], strips["lengths_s"]
    if len(values) != len(starts) or not starts:
        return ""
    begin = min(starts)
    span = max(s + n for s, n in zip(starts, lengths, strict=True)) - begin or 1.0
    largest = max(abs(v) for v in values) or 1.0
    segments = "".join(
        _segment(start, _shown_length(k, starts, lengths), push, chosen, begin, span, largest)
        for k, (start, push) in enumerate(zip(starts, values, strict=True))
    )
    return (
        f"<div class='why' data-task='{escape(task)}' data-class='{escape(chosen)}'>"
        f"<div class='why-strip'>{segments}</div>"
        f"<div class='why-axis small muted'><span>{_clock(begin)}</span>"
        f"<span>{escape(caption)}</span><span>{_clock(begin + span)}</span></div></div>"
    )


def why_caption(chosen: str) -> str:
    """What a strip of class ``chosen`` shows; `WHY_LEGEND`, once a table, says how."""
    return f"why {chosen}"


def strip_key(path: str | os.PathLike) -> str:
    """A song's path as strips are looked up by: absolute, links resolved, so that a CSV's
    path and a strip file's name of one song meet however each was written."""
    return os.path.realpath(path)


def strip_script() -> str:
    """The page's script that plays a row's player from a clicked segment's start."""
    return (
        resources.files("tunetag.evaluation").joinpath("static", "whystrip.js").read_text("utf-8")
    )


def _segment(
    start: float, length: float, push: float, chosen: str, begin: float, span: float, largest: float
) -> str:
    """One stretch's segment: where it lies on the strip, its side and its strength."""
    side = "for" if push > 0 else "against" if push < 0 else "none"
    strength = FAINTEST + (1 - FAINTEST) * abs(push) / largest
    title = f"{_clock(start)}-{_clock(start + length)}: {push:+.2f} for {chosen}"
    return (
        f"<span class='why-seg {side}' data-start='{start:g}' data-push='{push:g}' "
        f"title='{escape(title)}' style='left: {100 * (start - begin) / span:.2f}%; "
        f"width: {100 * length / span:.2f}%; opacity: {strength:.2f}'></span>"
    )


def _shown_length(k: int, starts: Sequence[float], lengths: Sequence[float]) -> float:
    """How much of the axis stretch ``k`` covers: its length, or up to the next stretch's
    start where stretches overlap (a crop model's crops), so no segment hides another."""
    if k + 1 < len(starts):
        return max(min(lengths[k], starts[k + 1] - starts[k]), 0.0)
    return lengths[k]


def _clock(seconds: float) -> str:
    """``m:ss`` of a time in the file."""
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"

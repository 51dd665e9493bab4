"""Progress bars a person watches, plain lines in a log.

tqdm redraws its bar in place, with a carriage return, several times a second: on a
terminal that is one line that moves, but in a file (``tunetag tag ... 2> log``, a CI job)
every redraw is a line of its own. So every step's progress comes from `progress_bar`: tqdm's
bar where stderr is a terminal, and where it is not, a plain line ("tag: 120/400 songs,
0:42") at most every `LOG_INTERVAL_S` seconds and at the end.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import IO, Any

from tqdm import tqdm

LOG_INTERVAL_S = 30.0  # seconds between two lines of progress in a log
LOG_FORMAT = "{desc}: {n_fmt}/{total_fmt} {unit}, {elapsed}"  # unit: the plural


def progress_bar(
    iterable: Iterable | None = None,
    *,
    desc: str,
    total: int | None = None,
    unit: str = "song",
    leave: bool = True,
    disable: bool = False,
    file: IO[str] | None = None,
) -> tqdm:
    """A tqdm bar over ``iterable`` (or of ``total`` steps, advanced with ``update``), drawn
    on ``file`` (stderr); as plain lines when that is not a terminal (see the module)."""
    out = sys.stderr if file is None else file
    if disable or _is_terminal(out):
        return tqdm(
            iterable, desc=desc, total=total, unit=unit, leave=leave, disable=disable, file=out
        )
    return tqdm(
        iterable,
        desc=desc,
        total=total,
        unit=unit + ("es" if unit.endswith(("ch", "sh", "s", "x")) else "s"),
        leave=True,  # in a log the last line stays: it says how far the step got
        file=_Lines(out),
        mininterval=LOG_INTERVAL_S,
        maxinterval=LOG_INTERVAL_S,
        bar_format=LOG_FORMAT,
    )


def _is_terminal(out: IO[str]) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class _Lines:
    """A stream for tqdm that turns each in-place redraw into one line of text."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.last = ""

    def write(self, text: str) -> Any:
        line = text.replace("\r", "").strip()
        if line and line != self.last:  # tqdm redraws the same text on close
            self.out.write(line + "\n")
            self.last = line

    def flush(self) -> None:
        self.out.flush()


def progress_write(text: str, file: IO[str] | None = None) -> None:
    """Print a line (an error, a change) without breaking a bar being drawn."""
    tqdm.write(text, file=sys.stdout if file is None else file)

"""tunetag's look for HTML pages: the one stylesheet the labelling page and the reports share,
and a self-contained page around it, so that a report reads like the page a person labels on.
"""

from __future__ import annotations

import datetime
import html
from importlib import resources
from pathlib import Path


def stylesheet() -> str:
    """The shared stylesheet (``tunetag/evaluation/static/tunetag.css``): the labelling page
    serves it, the reports inline it."""
    return (
        resources.files("tunetag.evaluation").joinpath("static", "tunetag.css").read_text("utf-8")
    )


def page(title: str, parts: list[str], script: str = "") -> str:
    """A report page: the stylesheet inline, nothing fetched, so it opens from disk
    anywhere. ``parts`` are its header, cards and sections, in order; ``script`` (inline
    JavaScript, none by default) is what a page that plays from its strips needs."""
    tag = f"<script>{script}</script>" if script else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{stylesheet()}</style>{tag}</head>"
        f"<body class='report'><div class='page'>{''.join(parts)}</div></body></html>\n"
    )


def header(title: str, subtitle: str, line: str) -> str:
    """The page's header, as the labelling page's: a title, a muted subtitle beside it and
    one muted line under it (``line`` is HTML)."""
    return (
        f"<header class='top'><h1>{escape(title)} <span class='subtitle'>{escape(subtitle)}"
        f"</span></h1><p class='muted'>{line}</p></header>"
    )


def card(*parts: str, kind: str = "") -> str:
    """``parts`` in one card; ``kind`` names it for the stylesheet."""
    classes = f"card {kind}".strip()
    return f"<div class='{classes}'>{''.join(parts)}</div>"


def written_at(path: Path) -> str:
    """When ``path`` was last written, to the minute in local time: when a run finished
    training or a library was predicted."""
    stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime)
    return stamp.strftime("%Y-%m-%d %H:%M")


def escape(text) -> str:
    """``text`` safe inside an element or a quoted attribute."""
    return html.escape(str(text), quote=True)

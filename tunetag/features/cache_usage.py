"""What the feature cache holds, per view, and taking out the views no run reads any more.

The cache keeps one folder per view (``<root>/<view>/``), so what a view costs on disk and
evicting it are both one folder. A library predicted with a model of embeddings leaves
tens of kilobytes a song; the 128-band log-mel of a 130 s window is 2.9 MB a song, worth
evicting once no run reads it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tunetag.errors import ParameterError


@dataclass(frozen=True)
class ViewUsage:
    """One view's arrays in the cache: how many and how many bytes."""

    view: str
    files: int
    bytes: int


def cache_usage(root: str | Path) -> list[ViewUsage]:
    """Every view folder of the cache at ``root`` that holds arrays, largest first (other
    folders, such as the labelling page's ``listen`` copies, are not views)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        arrays = [path for path in folder.glob("*/*.npy") if path.is_file()]
        if arrays:
            size = sum(path.stat().st_size for path in arrays)
            found.append(ViewUsage(folder.name, len(arrays), size))
    return sorted(found, key=lambda usage: -usage.bytes)


def evict_views(root: str | Path, views: list[str]) -> list[ViewUsage]:
    """Delete every cached array of ``views`` (any song, any settings); what was freed.

    Only view folders are removed, and only inside ``root``: a name that is not a plain
    folder name (``..``, a path) is refused. A view with nothing cached frees nothing.

    Raises
    ------
    ParameterError
        For a view name that is not a plain folder name.
    """
    root = Path(root)
    bad = [view for view in views if not view or Path(view).name != view or view in (".", "..")]
    if bad:
        raise ParameterError(f"not view names: {', '.join(map(repr, bad))}")
    by_view = {usage.view: usage for usage in cache_usage(root)}
    freed = []
    for view in views:
        if view in by_view:
            shutil.rmtree(root / view)
            freed.append(by_view[view])
    return freed

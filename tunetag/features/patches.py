"""Which 3 s patches of a window a view reads when `FeatureConfig.patches_per_window` says
fewer than all: one rule, so the taggers' views and the descriptors read the same seconds."""

from __future__ import annotations

import numpy as np


def spread_patches(count: int, wanted: int | None) -> np.ndarray | None:
    """Indices of ``wanted`` of ``count`` patches, evenly spaced from the first to the last;
    None when every patch is read (``wanted`` None or at least ``count``)."""
    if wanted is None or wanted >= count:
        return None
    return np.linspace(0, count - 1, wanted).round().astype(int)


def with_patches(settings: dict, wanted: int | None) -> dict:
    """A view's cache-key settings, naming the patches only when not every one is read (so
    the keys made before patches could be chosen stay as they were)."""
    return settings if wanted is None else {**settings, "patches": wanted}

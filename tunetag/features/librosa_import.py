"""Import librosa's numba-compiled modules one process at a time.

Importing ``librosa.core`` and ``librosa.util`` compiles about a dozen numba ufuncs
(``cache=True``) and writes them to numba's cache beside librosa. Two processes doing
that at once (extract or Dask workers on a fresh install) can leave a torn cache that
segfaults every later import of librosa in that environment (numba issues #4807 and
#10128, both open). The first import in each process therefore holds an exclusive lock
on one file in the temp folder, so the cache is written whole before anyone reads it.
Later calls in the same process cost nothing.
"""

from __future__ import annotations

import functools
import importlib
import tempfile
from pathlib import Path
from types import ModuleType

from tunetag.files.lock import exclusive

# The modules whose import compiles (or loads from numba's cache) a cached ufunc.
NUMBA_MODULES = ("librosa.core.audio", "librosa.core.pitch", "librosa.util.utils")


def lock_path() -> Path:
    """The file whose lock every tunetag process on this machine takes to import librosa."""
    return Path(tempfile.gettempdir()) / "tunetag-librosa-import.lock"


@functools.cache
def librosa_loaded() -> ModuleType:
    """``librosa``, with its numba-compiled modules imported under the machine-wide lock."""
    with exclusive(lock_path()):
        for name in NUMBA_MODULES:
            importlib.import_module(name)
    return importlib.import_module("librosa")

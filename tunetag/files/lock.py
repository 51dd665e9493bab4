"""One process at a time: exclusive locks on a file, shared by every tunetag process.

A file that is replaced by an atomic rename gets a new inode at every write, so its own
lock would not hold across writes. `locked` therefore locks the folder that holds it (an
``flock`` on the directory), which leaves nothing beside the user's file; where a file
system refuses to lock a folder, it falls back to a small hidden file beside it
(``.songs.csv.lock`` for ``songs.csv``), left in place: removing it would let two
processes hold locks on two different files of that name.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def lock_file_for(path: str | os.PathLike) -> Path:
    """The lock file that guards ``path``: a hidden file beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


@contextmanager
def exclusive(lock_path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if missing) for the body.

    Waits while another process holds it; released when the body ends, and by the kernel
    when the process dies, so a killed process never leaves it held.
    """
    fd = os.open(lock_path, os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def locked(path: str | os.PathLike) -> Iterator[None]:
    """Hold the lock of ``path`` for a read, change and write of it: its folder's, else
    that of `lock_file_for` (see the module's docstring)."""
    folder = Path(path).parent
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # a file system that cannot lock a folder (some network ones)
            with exclusive(lock_file_for(path)):
                yield
            return
        yield
    finally:
        os.close(fd)  # closing releases the lock

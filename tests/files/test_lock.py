"""The lock a read, change and write of a user's file holds: nothing left beside the file."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys

import pytest

from tunetag.files.lock import locked

HOLD = """
import sys
from tunetag.files.lock import locked
with locked(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_locking_a_csv_leaves_no_file_beside_it(tmp_path):
    csv_path = tmp_path / "songs.csv"
    csv_path.write_text("path\n", encoding="utf-8")
    with locked(csv_path):
        csv_path.write_text("path\nsong.flac\n", encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["songs.csv"]


def test_another_process_cannot_take_the_lock_while_it_is_held(tmp_path):
    csv_path = tmp_path / "songs.csv"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(csv_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            holder.communicate("\n", timeout=60)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free once the holder let go
        finally:
            os.close(fd)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert holder.returncode == 0

"""Atomic writes: all or nothing, with the permissions a person expects."""

from __future__ import annotations

import os

import pytest

from tunetag.files.atomic import atomic_open, atomic_write_text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "songs.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half")
        raise RuntimeError("crash")
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["songs.csv"]


def test_new_files_follow_the_umask_and_old_files_keep_their_mode(tmp_path):
    old_umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "new.json", "{}")
        kept = tmp_path / "kept.csv"
        kept.write_text("x", encoding="utf-8")
        kept.chmod(0o640)
        atomic_write_text(kept, "y")
    finally:
        os.umask(old_umask)
    assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o644
    assert kept.stat().st_mode & 0o777 == 0o640
    assert kept.read_text(encoding="utf-8") == "y"


@pytest.mark.parametrize("durable", [True, False])
def test_only_durable_writes_wait_for_the_disk(tmp_path, monkeypatch, durable):
    synced = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    with atomic_open(tmp_path / "view.npy", "wb", durable=durable) as handle:
        handle.write(b"data")
    assert (tmp_path / "view.npy").read_bytes() == b"data"
    assert len(synced) == (1 if durable else 0)

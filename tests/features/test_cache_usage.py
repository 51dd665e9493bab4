"""`tunetag cache`: what the cache holds per view, and evicting the views no run reads."""

import numpy as np
import pytest
from commands import run_tunetag

from tunetag.errors import ParameterError
from tunetag.features.cache_usage import cache_usage, evict_views


def fill(root, view, songs, values):
    for k in range(songs):
        path = root / view / f"{k:02d}" / f"{k:02d}{view}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.zeros(values, dtype=np.float32))


def test_usage_is_per_view_largest_first_and_other_folders_are_not_views(tmp_path):
    fill(tmp_path, "mel", 3, 1000)
    fill(tmp_path, "musicnn-msd", 2, 10)
    (tmp_path / "listen").mkdir()
    (tmp_path / "listen" / "song.ogg").write_bytes(b"OggS")
    usage = cache_usage(tmp_path)
    assert [(u.view, u.files) for u in usage] == [("mel", 3), ("musicnn-msd", 2)]
    assert usage[0].bytes == sum(p.stat().st_size for p in (tmp_path / "mel").glob("*/*.npy"))
    assert cache_usage(tmp_path / "missing") == []


def test_evicting_takes_out_only_the_views_named(tmp_path):
    fill(tmp_path, "mel", 3, 1000)
    fill(tmp_path, "descriptors", 3, 10)
    (tmp_path / "listen").mkdir()
    freed = evict_views(tmp_path, ["mel", "chroma", "listen"])
    assert [u.view for u in freed] == ["mel"]
    assert not (tmp_path / "mel").exists() and (tmp_path / "descriptors").is_dir()
    assert (tmp_path / "listen").is_dir()  # not a view: never evicted
    with pytest.raises(ParameterError, match="not view names"):
        evict_views(tmp_path, ["../descriptors"])
    assert (tmp_path / "descriptors").is_dir()


def test_the_command_shows_and_evicts_keeping_what_a_run_reads(tmp_path, logreg_run):
    cache = tmp_path / "cache"
    fill(cache, "mel", 2, 1000)
    fill(cache, "chroma", 2, 100)
    shown = run_tunetag("cache", "--cache", cache)
    assert shown.returncode == 0, shown.stderr
    assert "mel" in shown.stdout and "chroma" in shown.stdout and "2 views" in shown.stdout
    kept = run_tunetag("cache", "--cache", cache, "--keep-run", logreg_run.path)
    assert kept.returncode == 0, kept.stderr
    assert "evicted chroma: 2 songs" in kept.stdout  # the logreg run reads the mel only
    assert (cache / "mel").is_dir() and not (cache / "chroma").exists()
    bad = run_tunetag("cache", "--cache", cache, "--evict", "..")
    assert bad.returncode != 0 and "not view names" in bad.stderr
    assert (cache / "mel").is_dir()

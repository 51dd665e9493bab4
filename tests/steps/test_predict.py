"""predict streams songs: rows in input order whatever order they finish in, and the old
file kept whole when a run stops part-way."""

from __future__ import annotations

import csv
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import tunetag.steps.predict as predict_module
from tunetag.library.scan import collect_audio
from tunetag.steps.predict import predict


@pytest.fixture(scope="module")
def trained(small_library, logreg_run):
    """Eight 6 s demo songs and a logistic-regression run on their mood (both shared)."""
    return {"root": small_library, "run": logreg_run.path}


class _LastFirstPool(ThreadPoolExecutor):
    """Runs every song at once, each submitted one waiting longer than the next, so they
    finish in the reverse of the order they were given; records that order."""

    def __init__(self, songs: int) -> None:
        super().__init__(songs)
        self.songs = songs
        self.submitted = 0
        self.finished: list[Path] = []
        self._lock = threading.Lock()

    def submit(self, fn, path, *args, **kwargs):
        delay = 0.25 * (self.songs - self.submitted)
        self.submitted += 1

        def slowed():
            time.sleep(delay)
            outcome = fn(path, *args, **kwargs)
            with self._lock:
                self.finished.append(path)
            return outcome

        return super().submit(slowed)


def _paths(csv_path: Path) -> list[str]:
    with open(csv_path, newline="", encoding="utf-8") as handle:
        return [row["path"] for row in csv.DictReader(handle)]


def test_rows_come_in_input_order_whatever_order_songs_finish_in(trained, tmp_path):
    music = trained["root"] / "music"
    in_order = predict(
        trained["run"], [music], tmp_path / "here.csv", cache_dir=tmp_path / "c1", progress=False
    )
    with _LastFirstPool(8) as pool:
        reversed_run = predict(
            trained["run"],
            [music],
            tmp_path / "there.csv",
            cache_dir=tmp_path / "c2",
            executor=pool,
            progress=False,
        )
    assert in_order.scored == reversed_run.scored == 8
    assert pool.finished == list(reversed(collect_audio([music])))
    assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()
    assert _paths(tmp_path / "here.csv") == sorted(_paths(tmp_path / "here.csv"))


def test_a_run_stopped_part_way_leaves_the_old_file_whole(trained, tmp_path, monkeypatch):
    output = tmp_path / "predictions.csv"
    output.write_text("path,mood\nold.ogg,mellow\n", encoding="utf-8")
    real_read_tags = predict_module.read_metadata
    calls = []

    def stopped_on_the_third_song(path):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_read_tags(path)

    monkeypatch.setattr(predict_module, "read_metadata", stopped_on_the_third_song)
    with pytest.raises(KeyboardInterrupt):
        predict(trained["run"], [trained["root"] / "music"], output, progress=False)
    assert output.read_text(encoding="utf-8") == "path,mood\nold.ogg,mellow\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default-cache", "predictions.csv"]

"""Kill -9 at random moments: `extract`, `train`, `predict`, `tag --write` and the label
server are killed while they work, started again, and must end with what an uninterrupted
run gives, no file half-written and no audio file damaged."""

from __future__ import annotations

import random
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
import numpy as np
import pytest
import torch
from commands import run_tunetag, start_tunetag

from tunetag.audio.decode import decode
from tunetag.labelapp.app import TOKEN_HEADER
from tunetag.library.fields import read_fields
from tunetag.library.songtable import SongTable

# kills real commands over and over, trains twice: minutes; `make check` leaves it out
pytestmark = pytest.mark.slow

KILLS = 3  # kills per command before the run that is let finish
TRAIN_ARGS = ["--model", "shortchunk", "--folds", "2", "--epochs", "3", "--patience", "3",
              "--crop", "2", "--crops-per-song", "2", "--augment-gain", "3",
              "--mixup", "0.2"]  # fmt: skip
TAG_FIELDS = ["mood", "TUNETAG_MOOD_P", "TUNETAG_RUN"]


def finish(*args) -> subprocess.CompletedProcess:
    """Run ``tunetag ARGS`` to its end; it must succeed."""
    done = run_tunetag(*args, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def library(mood_library, copy_library, tmp_path_factory):
    """16 short songs in mood folders, their CSV, a warm cache and a trained run (in a copy
    of the shared library: the tests write predictions beside the songs). The run is
    `tunetag train` with TRAIN_ARGS run once, uninterrupted: the run the killed training
    must give, and the model the killed predictions use."""
    shared = mood_library("killed", songs_per_class=8, duration_s=12.0, seed=7)
    root = copy_library(shared, tmp_path_factory.mktemp("killed"))
    songs = root / "songs.csv"
    finish("train", songs, "--cache", root / "cache", *TRAIN_ARGS, "-o", root / "run")
    return {"root": root, "songs": songs, "cache": root / "cache", "run": root / "run"}


def kill_while_working(
    args: list, started: Callable[[], bool], rng: random.Random, *, wait_s: float = 2.0
) -> bool:
    """Start ``tunetag ARGS``, wait until ``started()`` says its work has begun, then kill -9 it
    after a random part of ``wait_s``. Whether it was killed before it finished."""
    process = start_tunetag(*args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not started() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, wait_s))
        killed = process.poll() is None
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    return killed


def grows(count: Callable[[], int]) -> Callable[[], bool]:
    """Whether ``count()`` is above what it is now: the command has written something."""
    now = count()
    return lambda: count() > now


def npy_files(cache: Path) -> Callable[[], int]:
    return lambda: len(list(cache.rglob("*.npy")))


def arrays(cache: Path) -> dict[str, np.ndarray]:
    """Every cached view by its name under the cache; each must load whole."""
    return {
        str(path.relative_to(cache)): np.load(path)
        for path in sorted(cache.rglob("*.npy"))
        if not path.name.startswith(".")
    }


def test_extract_killed_and_run_again_fills_the_same_cache(library, tmp_path):
    views = ["--views", "mel,chroma,tempogram,waveform"]
    whole = tmp_path / "whole"
    finish("extract", library["songs"], "--cache", whole, *views)
    cache = tmp_path / "killed"
    rng = random.Random(1)
    for _ in range(KILLS):
        args = ["extract", library["songs"], "--cache", cache, *views]
        kill_while_working(args, grows(npy_files(cache)), rng)
        found = arrays(cache)  # each file there loads whole
        assert all(np.isfinite(array).all() for array in found.values())
    finish("extract", library["songs"], "--cache", cache, *views)
    expected, found = arrays(whole), arrays(cache)
    assert list(found) == list(expected)
    assert all(np.array_equal(found[name], expected[name]) for name in expected)


def test_train_killed_and_resumed_gives_the_uninterrupted_run(library, tmp_path):
    whole = library["run"]  # the same command, uninterrupted
    train_args = [library["songs"], "--cache", library["cache"], *TRAIN_ARGS]
    out = tmp_path / "killed"
    checkpoint = out / "checkpoint.pt"
    rng = random.Random(2)
    killed_after_a_checkpoint, finished = 0, False
    for _ in range(KILLS):
        seen = checkpoint.stat().st_mtime_ns if checkpoint.exists() else None
        args = ["train", *train_args, "-o", out, "--resume"]
        new_checkpoint = lambda seen=seen: (  # noqa: E731
            checkpoint.exists() and checkpoint.stat().st_mtime_ns != seen
        )
        if not kill_while_working(args, new_checkpoint, rng, wait_s=0.2):
            finished = True  # before the kill: an epoch takes well under a second here
            break
        assert not (out / "model.pt").exists()
        killed_after_a_checkpoint += checkpoint.exists()
    assert killed_after_a_checkpoint, "no kill came after a checkpoint"
    if not finished:
        done = finish("train", *train_args, "-o", out, "--resume")
        assert "resuming from" in done.stdout
    assert not checkpoint.exists()
    for name in ("metrics.json", "history.csv", "labels.json"):
        assert (out / name).read_text() == (whole / name).read_text(), name
    found = torch.load(out / "model.pt", weights_only=True)
    for key, value in torch.load(whole / "model.pt", weights_only=True).items():
        assert torch.equal(found[key], value), key


def test_predict_killed_leaves_no_half_csv_and_run_again_writes_the_same(library, tmp_path):
    whole = tmp_path / "whole.csv"
    music = library["root"] / "music"
    finish("predict", library["run"], music, "-o", whole, "--cache", tmp_path / "c1")
    out = tmp_path / "killed.csv"
    cache = tmp_path / "c2"
    rng = random.Random(3)
    for _ in range(KILLS):
        args = ["predict", library["run"], music, "-o", out, "--cache", cache]
        kill_while_working(args, grows(npy_files(cache)), rng)
        if out.exists():  # only a finished run leaves it, whole
            assert out.read_bytes() == whole.read_bytes()
        left = {p.name for p in tmp_path.iterdir()} - {"whole.csv", "killed.csv", "c1", "c2"}
        assert all(re.fullmatch(r"\.killed\.csv\.\w+\.tmp", name) for name in left), left
    finish("predict", library["run"], music, "-o", out, "--cache", cache)
    assert out.read_bytes() == whole.read_bytes()


def _copy_music(library, to: Path) -> tuple[Path, list[Path]]:
    """A copy of the music and a predictions file for it (paths relative to the CSV)."""
    shutil.copytree(library["root"] / "music", to / "music")
    shutil.copy(library["root"] / "predictions.csv", to / "predictions.csv")
    return to / "predictions.csv", sorted((to / "music").rglob("*.*"))


def test_tag_write_killed_damages_nothing_and_undo_restores_every_file(library, tmp_path):
    predictions = library["root"] / "predictions.csv"
    if not predictions.exists():
        finish("predict", library["run"], library["root"] / "music", "-o", predictions,
               "--cache", library["cache"])  # fmt: skip
    whole_csv, whole_files = _copy_music(library, tmp_path / "whole")
    finish("tag", whole_csv, "--write")
    expected = {p.relative_to(tmp_path / "whole"): read_fields(p, TAG_FIELDS) for p in whole_files}

    csv_path, files = _copy_music(library, tmp_path / "killed")
    samples = {p: decode(p, 22050) for p in files}
    originals = {p: read_fields(p, TAG_FIELDS) for p in files}
    logs = lambda: sorted(csv_path.parent.glob("tunetag-undo-*.jsonl"))  # noqa: E731
    rng = random.Random(4)
    for _ in range(KILLS):
        args = ["tag", csv_path, "--write"]
        kill_while_working(args, grows(lambda: len(logs())), rng, wait_s=0.3)
        for path in files:  # every file whole, its audio untouched
            np.testing.assert_array_equal(decode(path, 22050), samples[path])
        # the next run's log gets a name of its own (one per second): wait for the next second
        time.sleep(1.01 - time.time() % 1)
    finish("tag", csv_path, "--write")
    found = {p.relative_to(tmp_path / "killed"): read_fields(p, TAG_FIELDS) for p in files}
    assert found == expected

    for log in reversed(logs()):  # undo, newest first, gives back every file as it was
        finish("tag", "--undo", log)
    assert {p: read_fields(p, TAG_FIELDS) for p in files} == originals


def _start_label_server(csv_path: Path, cache: Path) -> tuple[subprocess.Popen, str, str]:
    args = ["label", csv_path, "--task", "mood=mellow,not mellow", "--cache", cache]
    process = start_tunetag(*args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(10):
        line = process.stdout.readline()
        if line.startswith("open "):
            url = line.split()[1]
            return process, url.split("/?")[0], url.split("token=")[1]
    process.kill()
    raise AssertionError("the label server printed no URL")


def test_the_label_server_killed_while_saving_keeps_every_answered_label(library, tmp_path, http):
    """Labels are sent one after another while a timer kills the server at a random
    moment; each restart goes on from the first label not answered."""
    csv_path = tmp_path / "songs.csv"
    table = SongTable.read(library["songs"])
    for row in table.rows:
        row["path"] = str(table.audio_path(row))
        row["mood"] = ""
    table.write(csv_path)
    wanted = {k: ("mellow", "not mellow")[k % 3 == 0] for k in range(len(table))}
    answered: dict[int, str] = {}
    rng = random.Random(5)
    for round_ in range(KILLS + 1):
        process, base, token = _start_label_server(csv_path, tmp_path / "cache")
        killer = threading.Timer(rng.uniform(0.05, 0.6), process.send_signal, [signal.SIGKILL])
        if round_ < KILLS:
            killer.start()
        try:
            for song_id, mood in wanted.items():
                if song_id in answered:
                    continue
                try:
                    response = http.post(
                        f"{base}/api/songs/{song_id}/labels",
                        json={"task": "mood", "labels": [mood]},
                        headers={TOKEN_HEADER: token},
                        timeout=30,
                    )
                except httpx2.TransportError:
                    break  # killed: this label may or may not have been saved
                assert response.status_code == 200
                answered[song_id] = mood
        finally:
            killer.cancel()
            process.kill()
            process.wait()
        rows = SongTable.read(csv_path).rows  # whole after every kill
        assert [row["path"] for row in rows] == [row["path"] for row in table.rows]
        assert {k: rows[k]["mood"] for k in answered} == answered
        assert all(row["mood"] in ("", wanted[k]) for k, row in enumerate(rows))
    assert answered == wanted
    assert {k: row["mood"] for k, row in enumerate(SongTable.read(csv_path).rows)} == wanted

"""The corpus of bad input (corpus.py) through every command (scan, extract, train, predict,
tag, and the label page): each bad file is one line naming it, the good ones all come
through, nothing hangs, crashes or leaves a NaN."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from commands import run_tunetag
from corpus import BAD, GOOD, make_corpus
from starlette.testclient import TestClient

from tunetag.audio.decode import decode
from tunetag.labelapp.app import TOKEN_HEADER, create_app
from tunetag.labelapp.session import open_session
from tunetag.library.fields import read_fields
from tunetag.library.songtable import SongTable

# every command in its own process over the whole corpus: `make check` leaves it out
pytestmark = pytest.mark.slow

ERROR_LINE = re.compile(r"^error: (.+?): (.+)$")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    return {"root": root, "entries": make_corpus(root)}


def _tunetag(*args) -> subprocess.CompletedProcess:
    """The real command; the corpus's names that are not UTF-8 shown escaped."""
    return run_tunetag(*args, errors="backslashreplace")


def _errors(stderr: str) -> dict[str, str]:
    """File -> reason, from the ``error: <file>: <reason>`` lines."""
    found = {}
    for line in stderr.splitlines():
        match = ERROR_LINE.match(line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


def _listed(songs) -> set:
    table = SongTable.read(songs, check_files=False)
    return {table.audio_path(row) for row in table.rows}


def _shown(path) -> str:
    return os.fsencode(path).decode("utf-8", "backslashreplace")


@pytest.fixture(scope="module")
def scanned(corpus):
    """The corpus scanned once (``songs.csv``): the song list every later command is given,
    and the scan's own outcome for the test of it."""
    songs = corpus["root"] / "songs.csv"
    return {"songs": songs, "done": _tunetag("scan", corpus["root"] / "music", "-o", songs)}


def test_scan_lists_every_audio_file_once_and_names_the_unlistable(corpus, scanned):
    songs, done = scanned["songs"], scanned["done"]
    assert done.returncode == 0, done.stderr[-2000:]
    listed = {path.name for path in _listed(songs)}
    regular = {
        e.path.name for e in corpus["entries"] if e.path.is_file() and not e.path.is_symlink()
    }
    latin1 = next(e.path for e in corpus["entries"] if "UTF-8" in e.what)
    assert listed == regular - {latin1.name}  # each once: the folder loop was not followed
    assert list(_errors(done.stderr)) == [_shown(latin1)]
    assert "not UTF-8" in _errors(done.stderr)[_shown(latin1)]


def test_extract_caches_the_good_and_names_each_bad_file_in_one_line(corpus, scanned, tmp_path):
    songs = scanned["songs"]
    assert scanned["done"].returncode == 0, scanned["done"].stderr[-2000:]
    cache = tmp_path / "cache"  # its own: every array in it is one this command wrote
    done = _tunetag("extract", songs, "--cache", cache, "--views", "mel,chroma,tempogram,waveform")
    assert done.returncode == 0, done.stderr[-2000:]
    errors = _errors(done.stderr)
    listed = _listed(songs)
    for entry in corpus["entries"]:
        if entry.path not in listed:
            continue
        reported = str(entry.path) in errors
        if entry.expect == GOOD:
            assert not reported, f"{entry.what}: {errors.get(str(entry.path))}"
        elif entry.expect == BAD:
            assert reported, f"{entry.what} was not reported"
    assert all("\n" not in reason and reason for reason in errors.values())
    arrays = list(cache.rglob("*.npy"))
    good = sum(e.expect == GOOD and e.path in listed for e in corpus["entries"])
    assert len(arrays) >= 4 * good
    assert all(np.isfinite(np.load(array)).all() for array in arrays)


@pytest.fixture(scope="module")
def through_training(corpus, scanned):
    """The corpus labelled (mood alternating, bad files included), a run trained on it and
    its predictions for the whole folder: each command run once, for the tests below."""
    root = corpus["root"]
    assert scanned["done"].returncode == 0, scanned["done"].stderr[-2000:]
    table = SongTable.read(scanned["songs"], check_files=False)
    for k, row in enumerate(table.rows):
        row["mood"] = ("mellow", "not mellow")[k % 2]
    labelled = table.write(root / "labelled.csv")
    cache = root / "cache"
    trained = _tunetag(
        "train", labelled, "-o", root / "run", "--model", "logreg", "--folds", "2",
        "--cache", cache,
    )  # fmt: skip
    predicted = _tunetag(
        "predict", root / "run", root / "music", "-o", root / "predictions.csv", "--cache", cache
    )
    return {"labelled": labelled, "trained": trained, "predicted": predicted, "cache": cache}


def _assert_bad_ones_named(done, entries, listed) -> None:
    """Each bad file that was given is named in one line, no good one is, no traceback."""
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    errors = _errors(done.stderr)
    for entry in entries:
        shown = _shown(entry.path)
        if entry.path in listed and entry.expect == BAD:
            assert shown in errors, f"{entry.what} was not reported"
        if entry.expect == GOOD:
            assert shown not in errors, f"{entry.what}: {errors.get(shown)}"


def _finite_numbers(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite_numbers(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite_numbers(v) for v in value)
    return True


def test_train_names_each_bad_file_and_writes_no_nan(corpus, through_training):
    listed = _listed(through_training["labelled"])
    _assert_bad_ones_named(through_training["trained"], corpus["entries"], listed)
    run = corpus["root"] / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["songs"]["used"] >= sum(e.expect == GOOD for e in corpus["entries"])
    assert _finite_numbers(metrics)
    weights = torch.load(run / "model.pt", weights_only=True)
    assert all(torch.isfinite(tensor).all() for tensor in weights.values())


def test_predict_names_each_bad_file_and_writes_no_nan(corpus, through_training):
    folder_songs = {e.path for e in corpus["entries"] if e.path.is_file()}
    _assert_bad_ones_named(through_training["predicted"], corpus["entries"], folder_songs)
    with open(corpus["root"] / "predictions.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    good = {e.path.name for e in corpus["entries"] if e.expect == GOOD}
    assert good <= {Path(row["path"]).name for row in rows}
    for row in rows:
        for column, cell in row.items():
            if column.startswith("mood:"):
                assert math.isfinite(float(cell)), (row["path"], column, cell)


def test_tag_write_tags_every_good_file_and_damages_none(corpus, through_training, tmp_path):
    # tagging writes into the files, so it works on a corpus of its own, made alike, beside a
    # copy of the predictions for the shared one (their paths are relative to the CSV)
    entries = make_corpus(tmp_path)
    predictions = Path(shutil.copy(corpus["root"] / "predictions.csv", tmp_path))
    with open(predictions, newline="", encoding="utf-8") as handle:
        predicted = {Path(row["path"]).name: row["mood"] for row in csv.DictReader(handle)}
    before = {
        e.path: decode(e.path, 22050) for e in entries if e.expect == GOOD
        and e.path.stat().st_size < 10_000_000
    }  # fmt: skip
    done = _tunetag("tag", predictions, "--write")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    errors = _errors(done.stderr)
    assert all("\n" not in reason for reason in errors.values())
    for path, samples in before.items():
        assert str(path) not in errors or "not supported" in errors[str(path)]
        np.testing.assert_array_equal(decode(path, 22050), samples)
        if str(path) not in errors:  # tagged with what was predicted for it
            assert read_fields(path, ["mood"]) == {"mood": predicted[path.name]}


def test_the_label_page_answers_every_song_without_a_server_error(corpus, through_training):
    session, _ = open_session(
        through_training["labelled"], ["mood"], cache_dir=through_training["cache"], progress=False
    )
    try:
        with TestClient(create_app(session), base_url="http://127.0.0.1") as client:
            client.headers[TOKEN_HEADER] = session.token
            for song_id in range(len(session.store)):
                for route in (f"/api/songs/{song_id}", f"/image/{song_id}", f"/audio/{song_id}"):
                    response = client.get(route)
                    assert response.status_code in (200, 404, 422), (route, response.text)
                    if response.status_code != 200:
                        assert "\n" not in response.json()["error"]
    finally:
        session.close()

"""scan -> extract -> train -> evaluate -> predict through the real `tunetag` entry point."""

from __future__ import annotations

import csv
import importlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tunetag.cli import app
from tunetag.demo.library import make_demo_library

runner = CliRunner()
SONGS = 12  # labelled songs of the library trained on, six of each mood, and a broken file
UNSEEN = 12  # songs of another library, evaluated and predicted
DURATION_S = 6.0


def invoke(*args: str) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.output


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> dict[str, Path]:
    """One tiny library, trained on once; the tests below read what it left."""
    root = tmp_path_factory.mktemp("e2e")
    cache = root / "cache"
    for folder, songs, seed in (("music", SONGS, 0), ("unseen", UNSEEN, 1)):
        make_demo_library(
            root / folder, songs_per_class=songs // 2, duration_s=DURATION_S, seed=seed,
            progress=False,
        )  # fmt: skip
    (root / "music" / "mellow" / "broken.mp3").write_text("not audio at all", encoding="utf-8")
    songs, unseen = root / "songs.csv", root / "unseen.csv"
    invoke("scan", root / "music", "-o", songs, "--label-from-folder", "mood")
    invoke("scan", root / "unseen", "-o", unseen, "--label-from-folder", "mood")
    invoke("extract", songs, "--cache", cache, "--png", root / "png", "--workers", 2)
    run = root / "run"
    invoke("train", songs, "--task", "mood", "-o", run, "--cache", cache)  # the default: auto
    invoke("evaluate", run, unseen, "-o", root / "eval", "--cache", cache)
    invoke("predict", run, root / "unseen", "-o", root / "predictions.csv", "--cache", cache)
    return {"root": root, "songs": songs, "unseen": unseen, "run": run, "cache": cache}


def test_scan_labels_every_song_from_its_folder(pipeline):
    with open(pipeline["songs"], newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == SONGS + 1
    assert {row["mood"] for row in rows} == {"mellow", "not mellow"}
    assert sum(1 for row in rows if row["genre"] and row["artist"]) == SONGS


def test_extract_writes_the_proposals_images(pipeline):
    from PIL import Image

    pngs = sorted((pipeline["root"] / "png").rglob("*.png"))
    assert len(pngs) == SONGS
    with Image.open(pngs[0]) as image:
        assert image.size == (1600, 400) and image.mode == "RGBA"


def test_run_folder_is_complete(pipeline):
    run = pipeline["run"]
    for name in ("config.json", "labels.json", "model.pt", "history.csv", "metrics.json"):
        assert (run / name).is_file(), name
    for name in ("curves.png", "confusion-mood.png"):
        assert (run / name).stat().st_size > 1000, name
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "<h2>mood" in page and "src='confusion-mood.png'" in page and "src='curves.png'" in page
    assert json.loads((run / "labels.json").read_text()) == {
        "mood": {"classes": ["mellow", "not mellow"], "multi_label": False}
    }
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["model"] == "auto" and config["train"]["folds"] == 5
    assert config["features"]["views"] == ["musicnn-msd", "musicnn-mtt", "descriptors"]
    metrics = json.loads((run / "metrics.json").read_text())
    songs = metrics["songs"]
    assert (songs["labelled"], songs["used"], songs["skipped"]) == (SONGS + 1, SONGS, 1)
    assert songs["scored"] == SONGS  # five folds: every song scored by a model that never saw it
    assert metrics["selection"]["model"]["mood"]["chosen"]
    assert (run / "learning-curve.png").stat().st_size > 1000
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "Chosen for the saved model: " in page and "Chosen in the outer folds" in page


def test_model_beats_chance_on_unseen_songs(pipeline):
    metrics = json.loads((pipeline["root"] / "eval" / "metrics.json").read_text())
    mood = metrics["tasks"]["mood"]
    assert mood["n_songs"] == UNSEEN
    assert mood["accuracy"] >= 0.75 > mood["chance_accuracy"]
    assert (pipeline["root"] / "eval" / "confusion-mood.png").is_file()


def test_predictions_cover_every_song_with_probabilities(pipeline):
    with open(pipeline["root"] / "predictions.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == UNSEEN
    probs = np.array([[float(r["mood:mellow"]), float(r["mood:not mellow"])] for r in rows])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    assert all(r["mood"] in ("mellow", "not mellow") for r in rows)
    assert all((pipeline["root"] / r["path"]).is_file() for r in rows)
    top = [float(r["mood_probability"]) for r in rows]
    np.testing.assert_allclose(top, probs.max(axis=1), atol=1e-4)
    assert all(r["artist"] and r["title"] and float(r["duration_s"]) == DURATION_S for r in rows)
    assert len({r["run"] for r in rows}) == 1 and rows[0]["run"].startswith("run@")


def test_predict_again_decodes_nothing_and_writes_the_same_file(pipeline, monkeypatch):
    """A predict that was stopped part-way resumes from the feature cache."""
    extraction = importlib.import_module("tunetag.features.extract")  # the module, not the step

    def no_decoding(*args, **kwargs):
        raise AssertionError("a cached song was decoded again")

    monkeypatch.setattr(extraction, "load_window", no_decoding)
    again = pipeline["root"] / "predictions-again.csv"
    invoke("predict", pipeline["run"], pipeline["root"] / "unseen", "-o", again,
           "--cache", pipeline["cache"], "--workers", 1)  # fmt: skip
    first = (pipeline["root"] / "predictions.csv").read_text(encoding="utf-8")
    assert again.read_text(encoding="utf-8") == first


def test_second_extract_is_served_from_the_cache(pipeline):
    output = invoke("extract", pipeline["songs"], "--cache", pipeline["cache"])
    assert f"{SONGS} songs ready" in output and f"{SONGS} from the cache" in output
    assert "1 skipped" in output


def test_playlists_hold_every_predicted_song_most_probable_first(pipeline):
    out = pipeline["root"] / "playlists"
    output = invoke("playlists", pipeline["root"] / "predictions.csv", "-o", out)
    assert "2 playlists" in output
    with open(pipeline["root"] / "predictions.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    listed = 0
    for mood in ("mellow", "not mellow"):
        lines = (out / "mood" / f"{mood}.m3u8").read_text(encoding="utf-8").splitlines()
        assert lines[0] == "#EXTM3U"
        paths = [line for line in lines if not line.startswith("#")]
        assert all((out / "mood" / path).resolve().is_file() for path in paths)
        chosen = [r for r in rows if r["mood"] == mood]
        expected = sorted(
            (-float(r[f"mood:{mood}"]), (pipeline["root"] / r["path"]).resolve()) for r in chosen
        )  # most probable first, ties by path
        assert [(out / "mood" / p).resolve() for p in paths] == [path for _, path in expected]
        listed += len(paths)
    assert listed == len(rows)


def test_tag_dry_run_write_and_undo_through_the_cli(pipeline, tmp_path):
    """On copies of the unseen songs, so the library the other tests read stays as it was."""
    from tunetag.audio.decode import decode
    from tunetag.library.fields import read_fields
    from tunetag.library.metadata import read_metadata

    shutil.copytree(pipeline["root"] / "unseen", tmp_path / "unseen")
    predictions = tmp_path / "predictions.csv"
    shutil.copy(pipeline["root"] / "predictions.csv", predictions)
    with open(predictions, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    songs = [tmp_path / row["path"] for row in rows]
    before = {song: song.read_bytes() for song in songs}
    audio = decode(songs[0], 22050)

    assert "would change" in invoke("tag", predictions)
    assert all(song.read_bytes() == before[song] for song in songs)
    assert not list(tmp_path.glob("tunetag-undo-*.jsonl"))

    invoke("tag", predictions, "--write")
    (log,) = tmp_path.glob("tunetag-undo-*.jsonl")
    for song, row in zip(songs, rows, strict=True):
        assert read_metadata(song)["mood"] == row["mood"]
        assert read_fields(song, ["TUNETAG_RUN"]) == {"TUNETAG_RUN": row["run"]}
    np.testing.assert_array_equal(decode(songs[0], 22050), audio)

    invoke("tag", "--undo", log)
    assert all(read_metadata(song)["mood"] == "" for song in songs)
    assert all(read_fields(song, ["TUNETAG_RUN"])["TUNETAG_RUN"] is None for song in songs)

    result = runner.invoke(app, ["tag"])
    assert result.exit_code == 1 and "--undo" in result.output

"""A predicted song's row, and the views a run computes to score a song."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from tunetag.config import AudioConfig, RunConfig, TrainConfig
from tunetag.features.cache_usage import cache_usage
from tunetag.features.extract import extract_files
from tunetag.library.tasks import Task
from tunetag.models.auto import AutoProbe
from tunetag.models.inputs import load_views, song_inputs
from tunetag.runs.classify import predicted_song, stream_probabilities
from tunetag.runs.folder import RunFolder, model_view_rows

MOOD = Task("mood", ("mellow", "not mellow"))


def test_a_song_without_a_title_tag_is_named_by_its_file_name():
    common = {"artist": "", "duration_s": None, "run": "r"}
    probabilities = {"mood": np.array([0.8, 0.2])}
    untitled = predicted_song(
        Path("/m/03 Night Drive.flac"), [MOOD], probabilities, title="", **common
    )
    titled = predicted_song(Path("/m/03.flac"), [MOOD], probabilities, title="Night", **common)
    assert (untitled.title, titled.title) == ("03 Night Drive", "Night")
    assert untitled.predicted == {"mood": "mellow"}


def test_a_model_that_reads_one_view_has_only_that_view_computed_and_scores_as_a_whole(
    write_audio, tmp_path
):
    """auto that chose the descriptors' probe never runs the taggers to score a song, and
    gives the probabilities the whole model gives from every view."""
    features = replace(AutoProbe.features, audio=AudioConfig(window_s=10.0))
    rows = model_view_rows(features)
    model = AutoProbe({"mood": 2}, rows)
    columns = model.view_columns["descriptors"]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2 * sum(rows.values()))).astype(np.float32)
    y = np.arange(60) % 2
    x[:, columns.start : columns.start + 5] += 3.0 * y[:, None]
    mood = {"mood": np.eye(2, dtype=np.float32)[y]}
    model.fit_summaries(x, mood, {"mood": False}, candidates=["probe:descriptors"])
    folder = RunFolder(tmp_path / "run")
    folder.save_config(RunConfig(features=features, train=TrainConfig(model="auto")))
    folder.save_tasks([MOOD])
    folder.save_model(model.state_dict())
    songs = [write_audio(f"song{k}.wav", duration_s=8.0, freq_hz=220.0 * (k + 1)) for k in (0, 1)]

    scored = list(stream_probabilities(folder, songs, tmp_path / "cache", None))

    assert [usage.view for usage in cache_usage(tmp_path / "cache")] == ["descriptors"]
    every_view = extract_files(songs, features, tmp_path / "all", progress=False).ok
    with torch.no_grad():
        for song in scored:
            summary = song_inputs(load_views(every_view[song.path]), "summary", 0)
            whole = torch.softmax(model(summary)["mood"], dim=1)[0].numpy()
            np.testing.assert_allclose(song.probabilities["mood"], whole, atol=1e-5)

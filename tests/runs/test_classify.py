"""A predicted song's row."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tunetag.library.tasks import Task
from tunetag.runs.classify import predicted_song

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

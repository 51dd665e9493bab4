"""Which seconds made a run's call (`tunetag.runs.explain`, ``predict --explain``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from signals import half_and_half
from torch import nn

from tunetag.config import FeatureConfig
from tunetag.library.tasks import Task
from tunetag.library.why import read_why, why_path
from tunetag.runs.explain import PATCH_S, explanation_function

MOOD = Task("mood", ("mellow", "not mellow"))
FEATURES = FeatureConfig()
PER_SECOND = FEATURES.frames_per_second()


class Loudness(nn.Module):
    """Logits of one task from the mean of the first row of its input: loud -> class 1."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, inputs):
        x = inputs[self.key].flatten(1)
        level = x.mean(dim=1) if self.key != "summary" else x[:, 0]
        return {"mood": torch.stack([-level, level], dim=1) * self.scale}


def _mel_with_loud_stretch(tmp_path: Path, loud_from_s: float, loud_to_s: float) -> dict:
    """A 12 s 'mel' view, quiet but for one stretch, saved as the cache would."""
    frames = int(12 * PER_SECOND)
    mel = np.zeros((4, frames), dtype=np.float32)
    mel[:, int(loud_from_s * PER_SECOND) : int(loud_to_s * PER_SECOND)] = 3.0
    path = tmp_path / "mel.npy"
    np.save(path, mel)
    return {"mel": path}


def _explain(model, kind: str, views: dict, duration_s=None, crop_frames=0):
    with explanation_function(
        model,
        [MOOD],
        FEATURES,
        input_kind=kind,
        crop_frames=crop_frames,
        device=torch.device("cpu"),
    ) as explain:
        return explain(views, duration_s)


@pytest.mark.parametrize("kind", ["crop", "summary", "image"])
def test_the_loud_stretch_is_what_argued_for_loud(tmp_path, kind):
    views = _mel_with_loud_stretch(tmp_path, 6.0, 9.0)
    key = {"crop": "mel", "summary": "summary", "image": "image"}[kind]
    crop = round(PATCH_S * PER_SECOND) if kind == "crop" else 0
    found = _explain(Loudness(key), kind, views, crop_frames=crop)
    loud = found.pushes["mood"][:, 1]
    telling = found.most_telling("mood", 1)
    assert found.starts_s[telling] <= 7.5 < found.starts_s[telling] + found.lengths_s[telling]
    assert loud[telling] > 0
    # no other stretch argued for loud (the picture's pixels blur a frame at its edges)
    assert (np.delete(loud, telling) <= 0.01 * loud[telling]).all()
    assert found.most_telling("mood", 0) != telling


def test_stretches_are_placed_in_the_file_by_the_window(tmp_path):
    """A 200 s song analysed in its centre 130 s: the window starts at 35 s."""
    np.save(tmp_path / "mel.npy", np.zeros((2, int(130 * PER_SECOND)), dtype=np.float32))
    found = _explain(Loudness("summary"), "summary", {"mel": tmp_path / "mel.npy"}, 200.0)
    assert found.starts_s[0] == pytest.approx(35.0)
    assert found.starts_s[-1] < 35.0 + 130.0


def test_a_run_reading_twelve_patches_explains_those_twelve(tmp_path):
    """A per-patch view of 12 columns read from a 130 s window: stretches spread over it."""
    np.save(tmp_path / "d.npy", np.zeros((3, 12), dtype=np.float32))
    found = _explain(Loudness("summary"), "summary", {"descriptors": tmp_path / "d.npy"}, 130.0)
    assert len(found.starts_s) == 12
    assert found.starts_s[0] == pytest.approx(0.0)
    assert found.starts_s[-1] == pytest.approx(42 * PATCH_S)  # the last of 43 patches


def test_a_song_half_mellow_half_lively_is_explained_by_the_right_half(logreg_run, tmp_path):
    import tunetag

    songs = [
        half_and_half(tmp_path / "mellow-then-lively.flac", "mellow", "not mellow", 5),
        half_and_half(tmp_path / "lively-then-mellow.flac", "not mellow", "mellow", 6),
    ]
    out = tmp_path / "predictions.csv"
    tunetag.predict(logreg_run.path, songs, out, explain=True, progress=False)
    strips = read_why(out)
    assert set(strips) == set(songs)
    classes = list(logreg_run.load_tasks()[0].classes)
    for song, mellow_first in zip(songs, (True, False), strict=True):
        strip = strips[song]
        starts = np.array(strip["starts_s"])
        pushes = np.array(strip["pushes"]["mood"])
        first = starts < 6.0
        for label, in_first in (("mellow", mellow_first), ("not mellow", not mellow_first)):
            push = pushes[:, classes.index(label)]
            ahead = push[first].mean() > push[~first].mean()
            assert ahead == in_first, (song.name, label, push)
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        start, end = (float(x) for x in row["mood_why"].split("-"))
        assert end - start == pytest.approx(PATCH_S)
        assert 0.0 <= start < 12.0


def test_predict_without_explain_writes_no_strips(logreg_run, small_library, tmp_path):
    import tunetag

    out = tmp_path / "predictions.csv"
    song = next((small_library / "music").rglob("*.flac"))
    tunetag.predict(logreg_run.path, [song], out, progress=False)
    assert not why_path(out).exists()
    with open(out, newline="") as handle:
        assert "mood_why" not in next(csv.reader(handle))


def test_unreadable_strips_are_told_by_file(tmp_path):
    out = tmp_path / "predictions.csv"
    why_path(out).write_text("{not json")
    from tunetag.errors import LabelFileError

    with pytest.raises(LabelFileError, match="predictions.why.json"):
        read_why(out)
    why_path(out).write_text(json.dumps({"songs": {}}))
    assert read_why(out) == {}


def test_a_patch_model_is_explained_patch_by_patch(tmp_path):
    descriptors = np.zeros((3, 4), dtype=np.float32)
    descriptors[:, 2] = 3.0
    np.save(tmp_path / "d.npy", descriptors)
    found = _explain(Loudness("descriptors"), "patch", {"descriptors": tmp_path / "d.npy"})
    assert found.starts_s.tolist() == [0.0, 3.0, 6.0, 9.0]
    assert found.most_telling("mood", 1) == 2
    assert (np.delete(found.pushes["mood"][:, 1], 2) < 0).all()


def test_a_report_can_explain_the_songs_it_lists_and_skips_the_unreadable(
    logreg_run, small_library, tmp_path
):
    from tunetag.runs.classify import explain_songs

    songs = sorted((small_library / "music").rglob("*.flac"))[:2]
    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"not audio")
    found = explain_songs(logreg_run, [*songs, broken], tmp_path / "cache")
    assert set(found) == set(songs)
    for explanation in found.values():
        assert explanation.pushes["mood"].shape == (len(explanation.starts_s), 2)


@pytest.mark.parametrize("kind", ["crop", "summary"])
def test_a_song_called_beyond_doubt_is_still_explained(tmp_path, kind):
    """Probabilities round to 1 long before the log-odds stop growing: pushes come from the
    logits, so a sure call still says which seconds argued against it."""
    frames = int(12 * PER_SECOND)
    mel = np.full((4, frames), 3.0, dtype=np.float32)  # loud, and less so at 6-9 s
    mel[:, int(6.0 * PER_SECOND) : int(9.0 * PER_SECOND)] = 1.0  # quieter, still loud
    np.save(tmp_path / "mel.npy", mel)
    model = Loudness({"crop": "mel", "summary": "summary"}[kind])
    with torch.no_grad():
        model.scale.fill_(200.0)  # logits of +-200 or more: p(loud) = 1.0 in float64
    crop = round(PATCH_S * PER_SECOND) if kind == "crop" else 0
    found = _explain(model, kind, {"mel": tmp_path / "mel.npy"}, crop_frames=crop)
    loud = found.pushes["mood"][:, 1]
    assert np.isfinite(loud).all()
    quiet = found.most_telling("mood", 0)
    assert found.starts_s[quiet] == pytest.approx(6.0, abs=0.1)
    assert loud[quiet] < -1.0  # the quiet seconds argued against loud, though p stayed 1


def test_predict_with_explain_reads_each_file_tags_once(logreg_run, small_library, tmp_path,
                                                         monkeypatch):  # fmt: skip
    """The tags that place a song's seconds also fill its row: one read of the file each."""
    import tunetag
    from tunetag.library import metadata
    from tunetag.runs import classify
    from tunetag.steps import predict as predict_step

    reads = []

    def counted(path):
        reads.append(Path(path))
        return metadata.read_metadata(path)

    monkeypatch.setattr(classify, "read_metadata", counted)
    monkeypatch.setattr(predict_step, "read_metadata", counted)
    songs = sorted((small_library / "music").rglob("*.flac"))[:3]
    out = tmp_path / "predictions.csv"
    tunetag.predict(logreg_run.path, songs, out, explain=True, progress=False)
    assert sorted(reads) == sorted(songs)
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 and all(float(row["duration_s"]) > 0 for row in rows)

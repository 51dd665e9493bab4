"""The why strips of the reports: under each listed song, which seconds pushed it to its
class, one segment per stretch at its seconds, warm for and blue against; a click plays the
row's player from there."""

from __future__ import annotations

import html
import re
import shutil
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from tunetag.cli import app
from tunetag.evaluation.report import report, run_report
from tunetag.evaluation.whystrip import why_strip
from tunetag.library.predictions import PredictedSong, write_predictions
from tunetag.library.why import WhyStrips
from tunetag.runs.folder import RunFolder

CLASSES = ["mellow", "not mellow"]


class Strips(HTMLParser):
    """Per song row (its audio source): the class its strip is drawn for and its segments,
    each (start in seconds, side, push, left in percent)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "audio":
            self.rows.append({"src": attrs["src"], "class": None, "segments": []})
        elif tag == "div" and attrs.get("class") == "why":
            self.rows[-1]["class"] = attrs["data-class"]
        elif tag == "span" and "why-seg" in (attrs.get("class") or ""):
            left = float(re.search(r"left: ([\d.]+)%", attrs["style"]).group(1))
            side = attrs["class"].split()[1]
            segment = (float(attrs["data-start"]), side, float(attrs["data-push"]), left)
            self.rows[-1]["segments"].append(segment)


def strips_of(k: int) -> dict:
    """Song k's strips: four 3 s stretches from 30 s, the second of which changes nothing."""
    pushes = [[1.5 - k, -1.0], [0.0, 0.0], [-0.25, 0.25], [-2.0, 2.0]]
    return {
        "starts_s": [30.0, 33.0, 36.0, 39.0],
        "lengths_s": [3.0] * 4,
        "pushes": {"mood": pushes},
    }


def predicted(tmp_path, explained: bool):
    """Three songs called mellow, one not mellow; with ``explained`` a ``.why.json`` as
    ``predict --explain`` writes it, for every song but the last."""
    songs = []
    for k in range(4):
        path = tmp_path / "music" / f"song {k}.wav"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"RIFF")
        mellow = 0.9 - 0.25 * k
        songs.append(
            PredictedSong(
                path,
                title=f"song {k}",
                run="logreg@0123456789ab",
                predicted={"mood": "mellow" if mellow > 0.5 else "not mellow"},
                probability={"mood": max(mellow, 1 - mellow)},
                probabilities={"mood": {"mellow": mellow, "not mellow": 1 - mellow}},
            )
        )
    out = tmp_path / "out" / "predictions.csv"
    write_predictions(out, {"mood": CLASSES}, songs)
    if explained:
        why = WhyStrips(out)
        for k, song in enumerate(songs[:3]):
            why.add(song.path, strips_of(k))
        why.write()
    return out


def test_the_predictions_report_draws_each_listed_songs_strip_for_its_class(tmp_path):
    page = report(predicted(tmp_path, explained=True)).read_text(encoding="utf-8")
    rows = {row["src"]: row for row in Strips(page).rows}
    assert len(rows) == 4
    for k in range(3):
        row = rows[f"../music/song%20{k}.wav"]
        column = CLASSES.index(row["class"])
        assert row["class"] == ("mellow" if k < 2 else "not mellow")  # its predicted class
        pushes = [push[column] for push in strips_of(k)["pushes"]["mood"]]
        assert [start for start, *_ in row["segments"]] == [30.0, 33.0, 36.0, 39.0]
        assert [left for *_, left in row["segments"]] == [0.0, 25.0, 50.0, 75.0]
        assert [push for _, _, push, _ in row["segments"]] == pushes
        sides = ["for" if push > 0 else "against" if push < 0 else "none" for push in pushes]
        assert [side for _, side, *_ in row["segments"]] == sides
    assert rows["../music/song%203.wav"]["segments"] == []  # predicted without its strip
    assert "<span>why mellow</span>" in page and "0:30" in page and "0:42" in page
    assert page.count("the brighter, the more they argued for it") == 2  # once per class
    assert page.count("<script>") == 1 and "http" not in page


def test_the_predictions_report_without_strips_is_as_before(tmp_path):
    page = report(predicted(tmp_path, explained=False)).read_text(encoding="utf-8")
    rows = Strips(page).rows
    assert len(rows) == 4 and all(row["class"] is None and not row["segments"] for row in rows)
    assert "<script" not in page


def test_overlapping_crops_are_drawn_up_to_the_next_ones_start():
    strips = {"starts_s": [0.0, 5.0], "lengths_s": [10.0, 10.0], "pushes": {"mood": [[1], [-1]]}}
    drawn = why_strip(strips, "mood", ["mellow"], "mellow", "why")
    widths = re.findall(r"width: ([\d.]+)%", drawn)
    assert widths == ["33.33", "66.67"]  # 0-5 s and 5-15 s of the 15 s covered
    assert why_strip(strips, "mood", ["mellow"], "calm", "why") == ""
    assert why_strip(strips, "tags", ["mellow"], "mellow", "why") == ""


@pytest.fixture
def run_copy(logreg_run, tmp_path) -> RunFolder:
    """`logreg_run` copied, so its report can be written; its songs named by absolute
    paths, which the copy's scored songs keep."""
    copy = RunFolder(shutil.copytree(logreg_run.path, tmp_path / "run"))
    table, truth = logreg_run.load_scored_songs()
    joined = [{task: ";".join(labels) for task, labels in found.items()} for found in truth]
    copy.save_scored_songs(copy.load_tasks(), table.songs, joined)
    return copy


def test_the_run_report_draws_the_kept_models_strip_under_every_listed_song(
    run_copy, logreg_run, tmp_path
):
    cache = logreg_run.path.parent / "cache"
    result = CliRunner().invoke(app, ["report", str(run_copy.path), "--cache", str(cache)])
    assert result.exit_code == 0, result.output
    page = (run_copy.path / "report.html").read_text(encoding="utf-8")
    rows = Strips(page).rows
    table, _ = run_copy.load_scored_songs()
    assert len(rows) >= len(table.songs)  # eight songs, all labelled: every one is least sure
    for row in rows:
        assert row["class"] in CLASSES and len(row["segments"]) >= 2
        starts = [start for start, *_ in row["segments"]]
        assert starts == sorted(starts) and starts[0] >= 0
    best = {
        max(song.probabilities["mood"], key=song.probabilities["mood"].get) for song in table.songs
    }
    assert {row["class"] for row in rows} == best
    one_split = "the run's model, which scored these songs without training on them"
    assert one_split in html.unescape(page)  # one split: its kept model scored them
    assert "<script>" in page


def test_a_k_fold_runs_strips_are_said_to_come_from_the_model_that_saw_the_songs(
    run_copy, logreg_run
):
    metrics = run_copy.load_metrics()
    run_copy.save_metrics({**metrics, "folds": 5})
    page = run_report(run_copy.path, cache_dir=logreg_run.path.parent / "cache")
    text = html.unescape(page.read_text(encoding="utf-8"))
    assert "the run's kept model (trained on every song, these included)" in text
    assert "fold models that never saw the song" in text


def test_the_run_report_writes_without_the_strip_of_a_song_that_is_gone(
    run_copy, logreg_run, tmp_path
):
    table, truth = run_copy.load_scored_songs()
    table.songs[0].path = tmp_path / "gone.wav"
    joined = [{task: ";".join(labels) for task, labels in found.items()} for found in truth]
    run_copy.save_scored_songs(run_copy.load_tasks(), table.songs, joined)
    page = run_report(run_copy.path, cache_dir=logreg_run.path.parent / "cache")
    rows = Strips(page.read_text(encoding="utf-8")).rows
    gone = [row for row in rows if row["src"].endswith("gone.wav")]
    assert gone and all(row["segments"] == [] for row in gone)
    assert all(row["segments"] for row in rows if not row["src"].endswith("gone.wav"))

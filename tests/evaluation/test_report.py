"""The HTML reports: a run folder's scores, plots and song tables, for both task kinds and
both protocols, and a predictions file's class balance and confident songs per class."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest
from typer.testing import CliRunner

from tunetag.cli import app
from tunetag.config import FeatureConfig, RunConfig, TrainConfig
from tunetag.errors import LabelFileError, ParameterError
from tunetag.evaluation.htmlpage import stylesheet
from tunetag.evaluation.report import report
from tunetag.library.predictions import PredictedSong, write_predictions
from tunetag.library.songtable import SongTable
from tunetag.library.tasks import Task
from tunetag.runs.folder import RunFolder
from tunetag.steps.train import train

MOOD = Task("mood", ("mellow", "not <mellow>"))
TAGS = Task("tags", ("calm", "vocal"), multilabel=True)
SINGLE = {
    "n_songs": 10,
    "accuracy": 0.8,
    "balanced_accuracy": 0.75,
    "chance_accuracy": 0.6,
    "interval_95": [0.49, 0.943],
    "per_class": {
        "mellow": {"precision": 1.0, "recall": 0.5, "f1": 0.667, "support": 4},
        "not <mellow>": {"precision": 0.75, "recall": 1.0, "f1": 0.857, "support": 6},
    },
    "confusion": [[2, 2], [0, 6]],
}
MULTI = {
    "n_songs": 9,
    "macro_roc_auc": 0.9,
    "macro_pr_auc": 0.85,
    "hamming_accuracy": 0.8,
    "per_label": {
        "calm": {
            "roc_auc": 0.9,
            "pr_auc": 0.85,
            "precision": 1,
            "recall": 1,
            "f1": 1,
            "support": 4,
        },
        "vocal": {
            "roc_auc": None,
            "pr_auc": None,
            "precision": 0,
            "recall": 0,
            "f1": 0,
            "support": 0,
        },
    },
}


def make_run(path, folds: int) -> RunFolder:
    run = RunFolder(path)
    run.save_config(RunConfig(train=TrainConfig(model="multiview", tasks=("mood", "tags"))))
    run.save_tasks([MOOD, TAGS])
    songs = {"labelled": 11, "used": 10, "skipped": 1, "scored": 10}
    if folds > 1:
        summary = {"accuracy": {"mean": 0.79, "std": 0.05, "folds": [0.74, 0.84]}}
        tasks = {
            "mood": {"pooled": SINGLE, "summary": summary, "interval_95": [0.49, 0.943]},
            "tags": {"pooled": MULTI, "summary": {}, "interval_95": None},
        }
    else:
        tasks = {"mood": SINGLE, "tags": MULTI}
    run.save_metrics({"model": "multiview", "folds": folds, "songs": songs, "tasks": tasks})
    return run


@pytest.mark.parametrize("folds", [1, 5])
def test_report_shows_scores_per_task_and_class(tmp_path, folds):
    run = make_run(tmp_path / "run", folds)
    page = report(run.path).read_text(encoding="utf-8")
    assert "<h2>mood <span class='note'>(single-label)" in page
    assert "<h2>tags <span class='note'>(multi-label)" in page
    assert "not &lt;mellow&gt;" in page and "not <mellow>" not in page
    assert "0.800" in page and "0.490 - 0.943" in page
    assert "macro roc auc</td><td>0.900" in page and "n/a" in page
    assert ("5-fold cross-validation" in page) == (folds == 5)
    assert ("0.790 &plusmn; 0.050" in page) == (folds == 5)
    assert json.loads(run.config_path.read_text())["train"]["model"] == "multiview"


def test_report_of_a_folder_that_is_no_run(tmp_path):
    with pytest.raises(ParameterError, match="not a run folder"):
        report(tmp_path)
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 1 and result.output.startswith("error: ")


def test_report_command_writes_the_page(tmp_path):
    run = make_run(tmp_path / "run", 1)
    result = CliRunner().invoke(app, ["report", str(run.path)])
    assert result.exit_code == 0
    assert (run.path / "report.html").is_file()


TITLE = """Say "hi" <b>&</b> it's"""  # a title the page must escape
ODD_NAME = "Café «1» #2 & 50% ünï.wav"  # a file name a URL must percent-encode


@pytest.fixture(scope="module")
def trained(mood_library, copy_library, tmp_path_factory):
    """A logreg run over 3 folds (every song scored) on mood (three songs mislabelled) and a
    multi-label `tags` task; one song has a title to escape, another a file name with #, %
    and non-ASCII letters."""
    shared = mood_library("trained", songs_per_class=6, duration_s=8.0, seed=3)
    root = copy_library(shared, tmp_path_factory.mktemp("report"))  # its files change here
    songs = root / "songs.csv"
    table = SongTable.read(songs)
    table.columns.append("tags")
    for k, row in enumerate(table.rows):
        energy = "calm" if (k % 4) else "energetic"  # not the mood: some songs are missed
        row["tags"] = "" if k == 0 else f"{energy};{'vocal' if k % 3 else 'instrumental'}"
        if k in (0, 5, 7):  # mislabelled, so that the model gets them wrong
            row["mood"] = "not mellow" if row["mood"] == "mellow" else "mellow"
    table.rows[2]["title"] = TITLE
    odd = table.audio_path(table.rows[3]).with_name(ODD_NAME)
    table.audio_path(table.rows[3]).rename(odd)
    table.rows[3]["path"] = table.relative_path(odd)
    table.write()
    config = RunConfig(
        features=FeatureConfig(views=("mel", "chroma")),
        train=TrainConfig(model="logreg", tasks=("mood", "tags"), folds=3),
    )
    run = train(songs, root / "runs" / "logreg", config, cache_dir=root / "cache", progress=False)
    return {"run": run, "table": SongTable.read(songs), "odd": odd}


class SongTables(HTMLParser):
    """The song tables of a page: per (class, task[, class name]) its rows, each the audio
    source and the text of every cell; and the text of every heading."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: dict[tuple[str, ...], list[dict]] = {}
        self.headings: list[str] = []
        self._table = self._row = self._heading = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "songs" in (attrs.get("class") or ""):
            key = (attrs["class"].split()[1], attrs["data-task"])
            key += (attrs["data-class"],) if "data-class" in attrs else ()
            self._table = self.tables.setdefault(key, [])
        elif tag == "tr" and self._table is not None:
            self._row = {"src": None, "cells": []}
        elif tag == "td" and self._row is not None:
            self._row["cells"].append("")
        elif tag == "audio" and self._row is not None:
            assert attrs.get("controls") == "" or "controls" in attrs
            assert attrs["preload"] == "none"
            self._row["src"] = attrs["src"]
        elif tag in ("h2", "h3"):
            self._heading = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "tr" and self._row is not None:
            if self._row["cells"]:
                self._table.append(self._row)
            self._row = None
        elif tag in ("h2", "h3") and self._heading is not None:
            self.headings.append(self._heading)
            self._heading = None

    def handle_data(self, data):
        if self._row is not None and self._row["cells"]:
            self._row["cells"][-1] += data
        if self._heading is not None:
            self._heading += data


def song_file(page, src: str):
    """The file an audio source names, resolved from the page's folder."""
    return (page.parent / unquote(src)).resolve()


def test_run_report_lists_the_songs_it_got_wrong_and_least_sure(trained):
    run = trained["run"]
    page = run.path / "report.html"  # written by train
    found = SongTables(page.read_text(encoding="utf-8"))
    with open(run.scored_songs_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12
    files = {trained["table"].audio_path(row).resolve() for row in trained["table"].rows}

    def labels(cell):
        return set(filter(None, cell.split(";")))

    for task in ("mood", "tags"):
        labelled = [row for row in rows if row["label:" + task]]
        wrong = [row for row in labelled if labels(row[task]) != labels(row["label:" + task])]
        count = f"{len(wrong)} of {len(labelled)} scored songs labelled for {task}"
        assert f"Got wrong ({count})" in found.headings
        shown = found.tables.get(("got-wrong", task), [])
        assert len(shown) == min(len(wrong), 20)
        assert {song_file(page, r["src"]) for r in shown} == {
            (run.path / row["path"]).resolve() for row in wrong
        }
        sure = found.tables[("least-sure", task)]
        assert len(sure) == len(labelled) == (12 if task == "mood" else 11)
        assert {song_file(page, r["src"]) for r in sure} <= files
        assert all(song_file(page, r["src"]).is_file() for r in shown + sure)
    assert found.tables.get(("got-wrong", "tags")), "the fixture's tags are made to be missed"

    mood_wrong = [float(r["cells"][-1]) for r in found.tables[("got-wrong", "mood")]]
    assert len(mood_wrong) >= 2 and mood_wrong == sorted(mood_wrong, reverse=True)
    assert all(r["cells"][2] != r["cells"][3] for r in found.tables[("got-wrong", "mood")])
    mood_sure = [float(r["cells"][-1]) for r in found.tables[("least-sure", "mood")]]
    assert mood_sure == sorted(mood_sure)
    srcs = [r["src"] for r in found.tables[("least-sure", "mood")]]
    odd = [src for src in srcs if unquote(src).endswith(ODD_NAME)]
    assert len(odd) == 1 and song_file(page, odd[0]) == trained["odd"].resolve()
    assert " " not in odd[0] and "#" not in odd[0] and "%25" in odd[0]


def test_run_report_escapes_titles(trained):
    text = (trained["run"].path / "report.html").read_text(encoding="utf-8")
    assert "Say &quot;hi&quot; &lt;b&gt;&amp;&lt;/b&gt; it&#x27;s" in text
    assert TITLE not in text and "<b>" not in text


def test_a_run_without_scored_songs_gets_a_note_instead_of_song_tables(tmp_path):
    run = make_run(tmp_path / "run", 1)
    text = report(run.path).read_text(encoding="utf-8")
    assert "No song tables" in text and "scored-songs.csv" in text
    assert "<audio" not in text and "0.800" in text


def predicted_library(tmp_path):
    """25 songs with non-ASCII names in a folder beside the predictions file's: 23 called
    `mellow` with falling probability, 2 `not mellow`; multi-label tags, song 24 with none."""
    songs = []
    for k in range(25):
        path = tmp_path / "música" / f"Ærø {k:02d} – ½ #{k}.wav"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"RIFF")
        mellow = 0.99 - 0.02 * k if k < 23 else 0.2 - 0.05 * (k - 23)
        tags = {"calm": mellow, "vocal": 0.7 if k % 2 else 0.2}
        given = [c for c, p in tags.items() if p >= 0.5]
        songs.append(
            PredictedSong(
                path,
                artist="Björk" if k % 2 else "",
                title=f"Jóga <{k}>" if k % 2 else "",
                run="logreg@0123456789ab",
                predicted={"mood": "mellow" if k < 23 else "not mellow", "tags": ";".join(given)},
                probability={"mood": max(mellow, 1 - mellow), "tags": None},
                probabilities={
                    "mood": {"mellow": mellow, "not mellow": 1 - mellow},
                    "tags": tags,
                },
            )
        )
    out = tmp_path / "out" / "library predictions.csv"
    tasks = {"mood": ["mellow", "not mellow"], "tags": ["calm", "vocal"]}
    write_predictions(out, tasks, songs)
    return out, songs


def test_predictions_report_shows_balance_and_confident_songs_per_class(tmp_path):
    out, songs = predicted_library(tmp_path)
    page = report(out)
    assert page == out.with_name("library predictions-report.html")
    text = page.read_text(encoding="utf-8")
    assert "http" not in text and "<script" not in text and "<link" not in text
    balance = re.search(r"<table class='balance' data-task='mood'>(.*?)</table>", text).group(1)
    assert "<td>mellow</td><td>23</td><td>92.0%</td>" in balance
    assert "<td>not mellow</td><td>2</td><td>8.0%</td>" in balance and "width: 92.0%" in balance
    tags = re.search(r"<table class='balance' data-task='tags'>(.*?)</table>", text).group(1)
    assert "<td>(no label)</td><td>1</td><td>4.0%</td>" in tags
    assert "<td>calm</td><td>23</td>" in tags and "<td>vocal</td><td>12</td>" in tags

    found = SongTables(text)
    most = found.tables[("most-confident", "mood", "mellow")]
    least = found.tables[("least-confident", "mood", "mellow")]
    assert [float(r["cells"][-1]) for r in most] == pytest.approx(
        [0.99 - 0.02 * k for k in range(10)]
    )
    assert [float(r["cells"][-1]) for r in least] == pytest.approx(
        [0.99 - 0.02 * k for k in range(22, 12, -1)]
    )
    assert len(found.tables[("most-confident", "mood", "not mellow")]) == 2
    assert ("least-confident", "mood", "not mellow") not in found.tables
    for rows in found.tables.values():
        for row in rows:
            assert song_file(page, row["src"]).is_file()
    assert song_file(page, most[0]["src"]) == songs[0].path.resolve()
    assert most[0]["cells"][1] == "Ærø 00 – ½ #0.wav" and most[1]["cells"][1] == "Björk - Jóga <1>"
    assert "Jóga &lt;1&gt;" in text


def test_report_command_on_a_predictions_file(tmp_path):
    out, _ = predicted_library(tmp_path)
    result = CliRunner().invoke(app, ["report", str(out)])
    assert result.exit_code == 0
    assert out.with_name("library predictions-report.html").is_file()


def test_report_of_nothing_or_no_predictions_file(tmp_path):
    with pytest.raises(ParameterError, match="no such run folder or predictions file"):
        report(tmp_path / "typo")
    with pytest.raises(LabelFileError, match="not a predictions file"):
        report(make_run(tmp_path / "run", 1).config_path)


class Fetched(HTMLParser):
    """What a page would load: its stylesheets inline, and the URL of every element that
    fetches one (link, script, img, audio, source, iframe)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.styles: list[str] = []
        self.urls: list[tuple[str, str]] = []
        self._style = False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._style = tag == "style"
        if tag == "style":
            self.styles.append("")
        for name in ("src", "href"):
            if tag in ("link", "script", "img", "audio", "source", "iframe") and name in attrs:
                self.urls.append((tag, attrs[name]))

    def handle_endtag(self, tag):
        self._style = False

    def handle_data(self, data):
        if self._style:
            self.styles[-1] += data


@pytest.mark.parametrize("kind", ["run", "predictions"])
def test_reports_inline_the_shared_stylesheet_and_fetch_nothing(trained, tmp_path, kind):
    page = trained["run"].path / "report.html"
    if kind == "predictions":
        page = report(predicted_library(tmp_path)[0])
    found = Fetched(page.read_text(encoding="utf-8"))
    assert found.styles == [stylesheet()]
    assert "http" not in stylesheet() and "@import" not in stylesheet()
    tags = {tag for tag, _ in found.urls}
    assert tags == ({"audio", "img"} if kind == "run" else {"audio"})
    for _, url in found.urls:
        assert not urlsplit(url).scheme and not urlsplit(url).netloc, url
        assert (page.parent / unquote(url)).is_file(), url


@pytest.mark.parametrize("folds", [1, 5])
def test_the_headline_score_of_each_task_is_a_card(tmp_path, folds):
    run = make_run(tmp_path / "run", folds)
    metrics = run.load_metrics()
    if folds > 1:
        mood = metrics["tasks"]["mood"]
        mood["summary"]["balanced_accuracy"] = {"mean": 0.71, "std": 0.04, "folds": [0.67, 0.75]}
        mood["fold_interval_95"] = {"metric": "balanced_accuracy", "interval": [0.35, 1.0]}
        run.save_metrics(metrics)
    text = report(run.path).read_text(encoding="utf-8")
    cards = re.findall(r"<div class='card score'><h3>(\w+)</h3>(.*?)</p></div>", text)
    assert [name for name, _ in cards] == ["mood", "tags"]
    mood, tags = (card for _, card in cards)
    if folds > 1:
        assert "0.710<small>balanced accuracy, mean of 2 folds" in mood
        assert "&plusmn; 0.040 · 95 % interval 0.350 - 1.000 · 10 songs" in mood
    else:
        assert "0.750<small>balanced accuracy</small>" in mood and "10 songs" in mood
    assert "0.900<small>macro roc auc</small>" in tags and "9 songs" in tags

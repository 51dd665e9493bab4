"""The zero-shot baseline: a tags CSV's scores set beside a run, class by class."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from tunetag.cli import app
from tunetag.config import RunConfig, TrainConfig
from tunetag.errors import LabelFileError, ParameterError
from tunetag.evaluation.zeroshot import read_tag_scores, zero_shot
from tunetag.steps.train import train

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(mood_library, tmp_path_factory):
    """A 2-fold logreg run on the mood of eight demo songs (every song scored)."""
    root = mood_library("zeroshot", songs_per_class=4, duration_s=6.0, seed=5)
    songs = root / "songs.csv"
    work = tmp_path_factory.mktemp("zeroshot")
    config = RunConfig(train=TrainConfig(model="logreg", tasks=("mood",), folds=2))
    run = train(songs, work / "run", config, cache_dir=work / "cache", progress=False)
    table, truth = run.load_scored_songs()
    return {"root": root, "run": run, "table": table, "truth": truth}


def _tags_csv(trained, path, mellow_of) -> None:
    """A tags CSV over the run's songs: ``Mellow`` from ``mellow_of(is_mellow)``, ``sad`` its
    complement and ``rock`` noise."""
    noise = np.random.default_rng(0)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "top", "rock", "Mellow", "sad"])
        for song, labels in zip(trained["table"].songs, trained["truth"], strict=True):
            mellow = mellow_of("mellow" in labels["mood"])
            writer.writerow([str(song.path), "rock", noise.random(), mellow, 1 - mellow])


def _run_roc_auc(trained) -> float:
    is_mellow = ["mellow" in labels["mood"] for labels in trained["truth"]]
    probs = [song.probabilities["mood"]["mellow"] for song in trained["table"].songs]
    return float(roc_auc_score(is_mellow, probs))


def test_a_class_meets_the_tag_of_its_name_on_the_same_songs(trained, tmp_path):
    _tags_csv(trained, tmp_path / "tags.csv", lambda mellow: 0.8 if mellow else 0.1)
    (mood,) = zero_shot(trained["run"].path, tmp_path / "tags.csv")
    assert mood.task == "mood" and mood.songs == 8
    (mellow,) = mood.classes  # "not mellow" has no tag of its name
    assert (mellow.label, mellow.tag, mellow.songs, mellow.positives) == ("mellow", "Mellow", 8, 4)
    assert mellow.tag_roc_auc == 1.0
    assert mellow.run_roc_auc == pytest.approx(_run_roc_auc(trained))
    assert mood.tag_accuracy is None  # not every class has a tag


def test_naming_a_tag_for_every_class_gives_accuracies(trained, tmp_path):
    _tags_csv(trained, tmp_path / "tags.csv", lambda mellow: 0.2 if mellow else 0.7)  # wrong way
    (mood,) = zero_shot(trained["run"].path, tmp_path / "tags.csv", {"not mellow": "SAD"})
    assert [(c.label, c.tag) for c in mood.classes] == [("mellow", "Mellow"), ("not mellow", "sad")]
    assert [c.tag_roc_auc for c in mood.classes] == [0.0, 0.0]
    assert mood.tag_accuracy == 0.0
    metrics = json.loads(trained["run"].metrics_path.read_text(encoding="utf-8"))
    assert mood.run_accuracy == pytest.approx(metrics["tasks"]["mood"]["pooled"]["accuracy"])


def test_bad_tags_files_and_mappings_are_one_line_errors(trained, tmp_path):
    _tags_csv(trained, tmp_path / "tags.csv", lambda mellow: float(mellow))
    with pytest.raises(ParameterError, match="no tag 'calm' for class 'mellow'"):
        zero_shot(trained["run"].path, tmp_path / "tags.csv", {"mellow": "calm"})
    (tmp_path / "other.csv").write_text("path,top,Mellow\n/elsewhere/a.ogg,Mellow,0.5\n")
    with pytest.raises(ParameterError, match="none of the run's scored songs"):
        zero_shot(trained["run"].path, tmp_path / "other.csv")
    (tmp_path / "songs.csv").write_text("path,mood\na.ogg,mellow\n")
    with pytest.raises(LabelFileError, match="not a tags CSV"):
        read_tag_scores(tmp_path / "songs.csv")
    (tmp_path / "broken.csv").write_text("path,top,Mellow\na.ogg,Mellow,lots\n")
    with pytest.raises(LabelFileError, match="line 2"):
        read_tag_scores(tmp_path / "broken.csv")


def test_the_report_shows_the_baseline_beside_the_run(trained, tmp_path):
    _tags_csv(trained, tmp_path / "tags.csv", lambda mellow: 0.8 if mellow else 0.1)
    run = str(trained["run"].path)
    tags = str(tmp_path / "tags.csv")
    done = runner.invoke(app, ["report", run, "--tags", tags, "--tag-for", "not mellow=sad"])
    assert done.exit_code == 0, done.output
    page = (trained["run"].path / "report.html").read_text(encoding="utf-8")
    assert "Zero-shot baseline" in page and "<td>Mellow</td>" in page and "<td>sad</td>" in page
    assert "accuracy, the most probable matched tag" in page
    refused = runner.invoke(app, ["report", run, "--tags", tags, "--tag-for", "calm"])
    assert refused.exit_code != 0 and "write CLASS=TAG" in refused.output

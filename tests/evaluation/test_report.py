"""The HTML report shows what a run folder holds, for both task kinds and both protocols."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tunetag.cli import app
from tunetag.config import RunConfig, TrainConfig
from tunetag.errors import ParameterError
from tunetag.evaluation.report import report
from tunetag.runfolder import RunFolder
from tunetag.training.tasks import Task

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

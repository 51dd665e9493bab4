"""The CLI: a person's mistake is one line and exit code 1, no traceback; old names still work."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from tunetag.cli import app
from tunetag.errors import ParameterError

runner = CliRunner()


def test_train_on_a_csv_without_the_task_column_fails_cleanly(tmp_path, write_audio):
    write_audio("a.wav")
    csv_path = tmp_path / "songs.csv"
    csv_path.write_text("path,artist\na.wav,x\n", encoding="utf-8")
    before = csv_path.read_bytes()
    result = runner.invoke(app, ["train", str(csv_path), "-o", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "mood" in result.output
    assert csv_path.read_bytes() == before
    assert not (tmp_path / "run").exists()


def test_unknown_model_is_named_with_the_known_ones(tmp_path, write_audio):
    write_audio("a.wav")
    write_audio("b.wav")
    csv_path = tmp_path / "songs.csv"
    csv_path.write_text("path,artist,mood\na.wav,x,mellow\nb.wav,y,loud\n", encoding="utf-8")
    result = runner.invoke(
        app, ["train", str(csv_path), "-o", str(tmp_path / "run"), "--model", "nope"]
    )
    assert result.exit_code == 1
    assert "nope" in result.output and "shortchunk" in result.output


def test_predict_with_a_folder_that_is_not_a_run(tmp_path, write_audio):
    song = write_audio("a.wav")
    result = runner.invoke(app, ["predict", str(tmp_path), str(song)])
    assert result.exit_code == 1
    assert "not a run folder" in result.output


def test_models_lists_seed_and_shortchunk():
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    assert "seed" in result.output and "shortchunk" in result.output


@pytest.mark.parametrize(
    ("order", "needs"), [("uncertain", "--run"), ("teach", "leave --no-learn out")]
)
def test_label_in_a_model_order_without_a_model_says_what_it_needs(
    tmp_path, write_audio, order, needs
):
    write_audio("a.wav")
    csv_path = tmp_path / "songs.csv"
    csv_path.write_text("path,artist,mood\na.wav,x,\n", encoding="utf-8")
    before = csv_path.read_bytes()
    result = runner.invoke(app, ["label", str(csv_path), "--order", order, "--no-learn"])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and needs in result.output
    assert csv_path.read_bytes() == before


def test_label_a_csv_that_does_not_exist(tmp_path):
    result = runner.invoke(app, ["label", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1
    assert "nope.csv: file not found" in result.output


def test_label_a_task_named_path_is_refused(tmp_path, write_audio):
    write_audio("a.wav")
    csv_path = tmp_path / "songs.csv"
    csv_path.write_text("path,artist,mood\na.wav,x,\n", encoding="utf-8")
    result = runner.invoke(app, ["label", str(csv_path), "--task", "path"])
    assert result.exit_code == 1
    assert "--task" in result.output


@pytest.fixture
def trained_config(monkeypatch):
    """The config `train` is handed, kept; the step stops there with an error of its own."""
    handed = []

    def fake_train(csv_path, out_dir, config, **kwargs):
        handed.append(config)
        raise ParameterError("stopped by the test")

    monkeypatch.setattr("tunetag.steps.train.train", fake_train)
    return handed


@pytest.mark.parametrize(
    ("options", "seed"), [([], 0), (["--random-seed", "7"], 7), (["--seed", "7"], 7)]
)
def test_random_seed_reaches_the_training_config(tmp_path, trained_config, options, seed):
    result = runner.invoke(app, ["train", "songs.csv", "-o", str(tmp_path / "run"), *options])
    assert result.output == "error: stopped by the test\n"
    assert trained_config[0].train.seed == seed


def test_random_seed_and_its_old_name_together_are_refused(tmp_path, trained_config):
    result = runner.invoke(
        app, ["train", "s.csv", "-o", str(tmp_path), "--random-seed", "1", "--seed", "2"]
    )
    assert result.exit_code == 1
    assert result.output == "error: give --random-seed alone; --seed is its old name\n"
    assert not trained_config


@pytest.mark.parametrize("command", ["train", "label"])
def test_help_names_random_seed_and_hides_the_old_seed(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--random-seed" in result.output and "Seeds" in result.output
    assert not re.search(r"(?<![\w-])--seed\b", result.output)


@pytest.mark.parametrize(("options", "seed"), [(["--random-seed", "3"], 3), (["--seed", "3"], 3)])
def test_label_shuffles_with_the_random_seed(monkeypatch, options, seed):
    handed = {}
    monkeypatch.setattr("tunetag.labelapp.label", lambda *args, **kwargs: handed.update(kwargs))
    result = runner.invoke(app, ["label", "songs.csv", "--order", "shuffle", *options])
    assert result.exit_code == 0, result.output
    assert handed["seed"] == seed and handed["order"] == "shuffle"


@pytest.fixture
def scored(monkeypatch):
    """`tagger_scores` replaced: the calls it gets, and an answer of one song tagged."""
    calls = []

    def fake_tagger_scores(inputs, output, **kwargs):
        calls.append((inputs, output, kwargs))
        if kwargs["tagger"] == "nope":
            raise ParameterError("unknown tagger 'nope'")
        return SimpleNamespace(paths=[Path("a.wav")], errors=[])

    monkeypatch.setattr("tunetag.pretrained.scores.tagger_scores", fake_tagger_scores)
    return calls


@pytest.mark.parametrize("options", [[], ["--tagger", "nope"]])
def test_tags_is_the_old_name_of_tagger_scores(scored, options):
    new = runner.invoke(app, ["tagger-scores", "a.wav", "-o", "scores.csv", *options])
    old = runner.invoke(app, ["tags", "a.wav", "-o", "scores.csv", *options])
    assert (old.exit_code, old.output) == (new.exit_code, new.output)
    assert scored[0] == scored[1]
    if options:
        assert new.exit_code == 1 and new.output == "error: unknown tagger 'nope'\n"
    else:
        assert new.exit_code == 0 and new.output.startswith("scores.csv: 1 songs tagged by")


def test_help_lists_tagger_scores_and_hides_tags():
    commands = runner.invoke(app, ["--help"]).output
    assert "tagger-scores" in commands
    assert not re.search(r"^\s+tags\s", commands, flags=re.MULTILINE)


@pytest.mark.parametrize(
    ("options", "patches", "budget", "folds"),
    [
        ([], None, None, None),
        (["--patches", "8", "--time-budget", "60", "--folds", "3"], 8, 60, 3),
        (["--patches", "ALL"], "all", None, None),
    ],
)
def test_patches_time_budget_and_folds_reach_the_config(
    tmp_path, trained_config, options, patches, budget, folds
):
    result = runner.invoke(app, ["train", "songs.csv", "-o", str(tmp_path / "run"), *options])
    assert result.output == "error: stopped by the test\n"
    config = trained_config[0]
    assert config.train.model == "auto" and config.features.patches_per_window == patches
    assert (config.train.time_budget_s, config.train.folds) == (budget, folds)


@pytest.mark.parametrize("patches", ["0", "-2", "some"])
def test_patches_other_than_a_count_or_all_are_refused(tmp_path, patches):
    result = runner.invoke(
        app, ["train", "songs.csv", "-o", str(tmp_path / "run"), "--patches", patches]
    )
    assert result.exit_code == 1
    assert result.output == (
        f"error: --patches takes a count of 1 or more or 'all', got {patches!r}\n"
    )

"""`make demo`'s script: its options, the budget each model trains on, and that every
`tunetag train` command it prints makes the settings it trains with (no demo is run: the
steps are stand-ins)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tunetag.steps.train
from tunetag.cli import app
from tunetag.config import RunConfig, TrainConfig
from tunetag.demo import run


def test_the_quick_budget_is_the_default_and_says_so() -> None:
    args = run.parse_args(["somewhere"])
    assert args.root == Path("somewhere") and not args.full and args.seed_epochs is None
    settings = run.budget(args.full, args.seed_epochs)
    assert settings == {
        "auto": {},
        "logreg": {},
        "shortchunk": {"epochs": 12},
        "seed": {"epochs": 1},
    }
    notes = run.budget_notes(settings)
    assert notes["seed"].startswith("seed: 1 epoch on a budget to show it working")
    assert "`make demo-full`" in notes["seed"]
    assert notes["shortchunk"].startswith("shortchunk: 12 epochs on a budget")


def test_full_trains_with_the_defaults_and_seed_for_8_epochs() -> None:
    args = run.parse_args(["demo", "--full"])
    settings = run.budget(args.full, args.seed_epochs)
    assert settings == {"auto": {}, "logreg": {}, "shortchunk": {}, "seed": {"epochs": 8}}
    assert run.budget_notes(settings) == {}
    assert run.train_config("shortchunk", settings["shortchunk"]).epochs == TrainConfig.epochs


def test_seed_epochs_replaces_the_budgets_seed_epochs() -> None:
    args = run.parse_args(["demo", "--full", "--seed-epochs", "3"])
    assert args.full and args.seed_epochs == 3
    assert run.budget(args.full, args.seed_epochs)["seed"] == {"epochs": 3}
    assert run.budget(seed_epochs=2)["seed"] == {"epochs": 2}
    assert "seed: 2 epochs on a budget" in run.budget_notes(run.budget(seed_epochs=2))["seed"]
    assert "seed" not in run.budget_notes(run.budget(seed_epochs=8))


@pytest.mark.parametrize(
    "argv", [["demo", "--seed-epochs", "0"], ["demo", "--songs-per-class", "-1"]]
)
def test_nonsense_options_are_refused(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit):
        run.parse_args(argv)
    assert "must be positive" in capsys.readouterr().err


def test_train_options_are_the_settings_as_train_options() -> None:
    assert run.train_options({}) == ""
    assert run.train_options({"epochs": 1, "crops_per_song": 4}) == (
        " --epochs 1 --crops-per-song 4"
    )


class _StopTrainingError(Exception):
    """Ends a `tunetag train` command once its settings are known."""


@pytest.mark.parametrize("options", [[], ["--full"], ["--seed-epochs", "2"]])
def test_each_printed_train_command_makes_the_settings_the_demo_trains_with(
    options: list[str], tmp_path: Path, monkeypatch, capsys
) -> None:
    trained: dict[Path, RunConfig] = {}

    def fake_train(csv_path, out_dir, config, **kwargs):
        trained[Path(out_dir)] = config

    metrics = {
        "tasks": {t: {"accuracy": 1.0, "balanced_accuracy": 1.0, "n_songs": 2} for t in run.TASKS}
    }
    for name in ("make_demo_library", "scan", "extract", "predict"):
        monkeypatch.setattr(run, name, lambda *a, **k: None)
    monkeypatch.setattr(run, "train", fake_train)
    monkeypatch.setattr(run, "evaluate", lambda *a, **k: metrics)
    monkeypatch.setattr(run, "compare", lambda *a, **k: [])
    monkeypatch.setattr(run, "format_comparison", lambda rows: "(comparison)")

    run.main([str(tmp_path / "demo"), *options])
    printed = capsys.readouterr().out
    assert "Demo finished in" in printed
    assert set(trained) == {tmp_path / "demo" / "runs" / model for model in run.MODELS}
    commands = [line[2:] for line in printed.splitlines() if line.startswith("$ tunetag train ")]
    assert len(commands) == len(run.MODELS)
    seed_epochs = trained[tmp_path / "demo" / "runs" / "seed"].train.epochs
    assert seed_epochs == {"--full": 8, "--seed-epochs": 2}.get(options[0] if options else "", 1)
    assert any(f" --model seed --epochs {seed_epochs} " in command for command in commands)
    if options == ["--full"]:
        assert "on a budget" not in printed
    else:
        assert "A quick demo: shortchunk 12 epochs, seed " in printed
        assert "its full training (8 epochs) is `make demo-full`" in printed

    def cli_train(csv_path, out_dir, config, **kwargs):
        raise _StopTrainingError(Path(out_dir), config)

    monkeypatch.setattr(tunetag.steps.train, "train", cli_train)
    for command in commands:
        result = CliRunner().invoke(app, shlex.split(command)[1:])
        assert isinstance(result.exception, _StopTrainingError), (command, result.output)
        out_dir, config = result.exception.args
        assert config.train == trained[out_dir].train, command
        assert config.features == trained[out_dir].features, command

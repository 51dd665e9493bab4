"""What the command says to a person: its version, help in words rather than typer's
notation, and summaries that say where files went and how far a figure can be trusted."""

from __future__ import annotations

import re

import click
import pytest
import typer
from commands import run_tunetag
from typer.testing import CliRunner

from tunetag import __version__
from tunetag.cli import app
from tunetag.features.views import VIEWS

runner = CliRunner()
GROUP = typer.main.get_command(app)
CONTEXT = click.Context(GROUP, info_name="tunetag")
# typer's own notation, which means nothing to a person: {csv_path}, <list[str]>, <int range>
NOTATION = re.compile(r"\{\w+\}|<(?:int|float|str|bool|path|list|Path)\b[^>]*>")


def test_version_is_one_line_and_exit_0():
    done = run_tunetag("--version", timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"tunetag {__version__}\n"


@pytest.mark.parametrize("name", sorted(GROUP.commands))
def test_help_has_no_typer_notation_and_one_default_per_option(name):
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0
    assert not NOTATION.findall(result.output), result.output
    command = GROUP.commands[name]
    context = click.Context(command, info_name=name, parent=CONTEXT)
    for param in command.params:
        record = param.get_help_record(context)
        assert record is None or record[1].count("default:") <= 1, (name, record)


def test_the_list_of_commands_cuts_no_description():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    listing = result.output[result.output.index("Commands:") :].splitlines()[1:]
    assert len(listing) == len([c for c in GROUP.commands.values() if not c.hidden])
    assert not [line for line in listing if line.rstrip().endswith("...")]


@pytest.mark.parametrize("name", ["extract", "train"])
def test_views_help_names_every_view(name):
    (views,) = [p for p in GROUP.commands[name].params if "--views" in p.opts]
    assert not [view for view in VIEWS if view not in views.help]


def test_models_gives_each_whole_first_paragraph_and_marks_default_and_slow_ones():
    from tunetag import models
    from tunetag.config import TrainConfig

    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    lines = dict(line.split(None, 1) for line in result.output.splitlines())
    assert sorted(lines) == models.available()
    for name, text in lines.items():
        first = models.model_class(name).__doc__.strip().split("\n\n")[0]
        assert text.startswith(" ".join(first.replace("``", "").split())), name
        assert "`" not in text
        assert ("[the default" in text) == (name == TrainConfig.model), text
        assert ("slow on a CPU" in text) == (name == "seed"), text


def _cache_of(logreg_run):
    """The fixture's feature cache: every view these tests ask for is in it already."""
    return str(logreg_run.path.parent / "cache")


def test_train_on_one_split_of_few_songs_shows_the_interval_and_says_not_to_trust_it(
    tmp_path, small_library, logreg_run
):
    result = runner.invoke(
        app,
        ["train", str(small_library / "songs.csv"), "-o", str(tmp_path / "run"),
         "--model", "logreg", "--folds", "1", "--cache", _cache_of(logreg_run)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "(1 split)" in result.output and "1 folds" not in result.output
    scored = logreg_run.load_metrics()["tasks"]["mood"]["n_songs"]
    assert re.search(
        r"mood: \d+ songs, accuracy [\d.]+ \(95% interval [\d.]+-[\d.]+\)", result.output
    )
    assert f"warning: {scored} scored songs are too few to trust" in result.output


def test_evaluate_says_where_it_wrote_and_warns_of_songs_the_model_learned(
    tmp_path, small_library, logreg_run
):
    out = tmp_path / "eval"
    args = ["evaluate", str(logreg_run.path), "--cache", _cache_of(logreg_run), "-o", str(out)]
    result = runner.invoke(app, [*args, str(small_library / "songs.csv")])
    assert result.exit_code == 0, result.output
    assert f"written to {out}" in result.output and (out / "metrics.json").is_file()
    assert "was trained on" in result.output and "flatter" in result.output
    # the songs the run held out, and only them: the model never learned one
    held_out = tmp_path / "held-out.csv"
    table, truth = logreg_run.load_scored_songs()
    rows = [
        f"{song.path},{song.artist},{labels['mood'][0]}"
        for song, labels in zip(table.songs, truth, strict=True)
    ]
    held_out.write_text("path,artist,mood\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = runner.invoke(app, [*args, str(held_out)])
    assert result.exit_code == 0, result.output
    assert "flatter" not in result.output


def test_extract_counts_songs_from_the_cache_and_says_where_the_pictures_went(
    tmp_path, small_library, logreg_run
):
    png = tmp_path / "pictures"
    result = runner.invoke(
        app,
        ["extract", str(small_library / "songs.csv"), "--png", str(png),
         "--cache", _cache_of(logreg_run)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "8 songs ready (0 computed, 8 from the cache)" in result.output
    assert f"pictures: {png / 'mel'}" in result.output
    assert len(list((png / "mel").glob("*.png"))) == 8


def test_evaluate_warns_on_any_song_a_k_fold_run_scored(tmp_path, small_library, logreg_run):
    """A k-fold run's saved model is retrained on every song it scored: all of them flatter."""
    train = ["train", str(small_library / "songs.csv"), "-o", str(tmp_path / "run")]
    cache = ["--cache", _cache_of(logreg_run)]
    done = runner.invoke(app, [*train, "--model", "logreg", "--folds", "2", *cache])
    assert done.exit_code == 0 and "(2 folds)" in done.output, done.output
    result = runner.invoke(
        app, ["evaluate", str(tmp_path / "run"), str(small_library / "songs.csv"), *cache]
    )
    assert result.exit_code == 0, result.output
    assert "trained on 8 of these songs" in result.output
    assert f"written to {tmp_path / 'run' / 'eval-songs'}" in result.output


def test_the_patches_default_told_is_autos_own():
    from tunetag.models.auto import AutoProbe

    shown = " ".join(runner.invoke(app, ["train", "--help"]).output.split())
    assert f"{AutoProbe.features.patches_per_window} for auto" in shown

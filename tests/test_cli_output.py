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

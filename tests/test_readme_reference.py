"""The README's command reference and `--help` name the same options, so neither drifts."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import typer

from tunetag.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
GROUP = typer.main.get_command(app)
CONTEXT = click.Context(GROUP)
COMMANDS = [
    name for name in GROUP.list_commands(CONTEXT) if not GROUP.get_command(CONTEXT, name).hidden
]


def reference_rows(command: str) -> list[str]:
    """The rows of the README's command reference that show ``tunetag <command>``."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Command reference") :]
    section = section[: section.index("\n## ", 1)]
    rows = [
        line
        for line in section.splitlines()
        if re.match(rf"\| `tunetag {re.escape(command)}[ `]", line)
    ]
    return rows


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_a_command_is_in_its_reference_row(command):
    rows = reference_rows(command)
    assert rows, f"no row for `tunetag {command}` in the README's command reference"
    shown = set(re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", " ".join(rows)))
    options = [
        param.opts
        for param in GROUP.get_command(CONTEXT, command).params
        if param.param_type_name == "option" and not param.hidden and param.name != "help"
    ]
    missing = [opts[-1] for opts in options if not shown & set(opts)]
    assert not missing, f"`tunetag {command}` options missing from the README: {missing}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_in_a_reference_row_exists(command):
    known = {
        opt
        for param in GROUP.get_command(CONTEXT, command).params
        for opt in (*param.opts, *param.secondary_opts)
    }
    usages = " ".join(row.split("` |")[0] for row in reference_rows(command))
    shown = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", usages))
    assert shown <= known, f"`tunetag {command}`: the README names {sorted(shown - known)}"

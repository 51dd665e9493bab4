"""`python -m tunetag` is the `tunetag` command."""

from tunetag.cli import app

app(prog_name="tunetag")

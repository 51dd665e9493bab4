"""The real `tunetag` command in a process of its own, as a person runs it: one way for every
test (imported by basename: ``from commands import run_tunetag``).

A crash or a hang in the command cannot hide in the test's own process, and a test that
kills the command kills only it.
"""

from __future__ import annotations

import subprocess
import sys


def module_args(*args) -> list[str]:
    """``-m tunetag ARGS``, every argument a string: what a Python (or torchrun) is given."""
    return ["-m", "tunetag", *map(str, args)]


def tunetag_args(*args) -> list[str]:
    """``python -m tunetag ARGS`` with this test run's Python."""
    return [sys.executable, *module_args(*args)]


def run_tunetag(*args, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Run the command to its end, its output captured as text; a hang fails at ``timeout``.
    Other keywords go to `subprocess.run` (``cwd``, ``errors``, ``preexec_fn``...)."""
    return subprocess.run(
        tunetag_args(*args), capture_output=True, text=True, timeout=timeout, **kwargs
    )


def start_tunetag(*args, **kwargs) -> subprocess.Popen:
    """Start the command and return at once; keywords go to `subprocess.Popen`."""
    return subprocess.Popen(tunetag_args(*args), **kwargs)


def fresh_python(code: str, timeout: float = 120) -> str:
    """What ``code`` prints, run in a fresh interpreter (so nothing imported before counts);
    a non-zero exit fails the test with its stderr."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return done.stdout

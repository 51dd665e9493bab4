"""Keep what the page learnt: a run folder written by ``tunetag train`` itself.

The live model is a quick probe; what a person keeps should be the real thing, scored
honestly: so the page runs the very command a person would type (the ``auto`` model, on
the features the page already prepared, its outer folds reporting the score), as a child
process that the page's threads never wait on. The command is printed, so it can be run
again by hand.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from tunetag.labelapp.live import LIVE_FEATURES

RUNS_FOLDER = "runs"  # kept runs go to <the CSV's folder>/runs/<csv stem>-<time>


class Keeper:
    """Runs ``tunetag train`` on the CSV being labelled, one run at a time.

    Parameters
    ----------
    csv_path : Path
        The CSV being labelled.
    cache_dir : Path
        tunetag's feature cache (the page's, so nothing is computed twice).
    seed : int
        The run's ``--random-seed``.
    """

    def __init__(self, csv_path: Path, cache_dir: Path, seed: int) -> None:
        self.csv_path = Path(csv_path)
        self.cache_dir = Path(cache_dir)
        self.seed = seed
        self._lock = threading.Lock()
        self._status: dict = {"state": "idle", "command": None, "run": None, "message": ""}

    def status(self) -> dict:
        """``{"state": idle|running|done|failed, "command", "run", "message"}``."""
        with self._lock:
            return dict(self._status)

    def start(self, tasks: Sequence[str]) -> dict:
        """Start writing a run folder of ``tasks`` (those with two classes labelled: train
        refuses a task of one), unless one is being written; the status after."""
        with self._lock:
            if self._status["state"] == "running":
                return dict(self._status)
            run = self._new_run_folder()
            command = self.command(run, tasks)
            shown = shlex.join(["tunetag", *command[3:]])
            self._status = {"state": "running", "command": shown, "run": str(run), "message": ""}
        print(f"keeping the model: {shown}", flush=True)
        threading.Thread(target=self._train, args=(command, run), daemon=True).start()
        return self.status()

    def command(self, run: Path, tasks: Sequence[str]) -> list[str]:
        """The train command for a run folder, as this interpreter runs it."""
        command = [sys.executable, "-m", "tunetag", "train", str(self.csv_path), "-o", str(run)]
        for task in tasks:
            command += ["--task", task]
        command += ["--model", "auto", "--patches", str(LIVE_FEATURES.patches_per_window)]
        return command + ["--cache", str(self.cache_dir), "--random-seed", str(self.seed)]

    def _train(self, command: list[str], run: Path) -> None:
        """Run the command; keep its last line of output as the status message."""
        last = ""
        try:
            with subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
            ) as child:
                for line in child.stdout:
                    if line.strip():
                        last = line.strip()
                        with self._lock:
                            self._status["message"] = last
                code = child.wait()
        except OSError as exc:
            code, last = -1, f"cannot start tunetag train ({exc})"
        state = "done" if code == 0 else "failed"
        with self._lock:
            self._status |= {"state": state, "message": last}
        print(
            f"{'kept the model in' if code == 0 else 'error: keeping failed:'} {run}"
            + ("" if code == 0 else f": {last}"),
            flush=True,
        )

    def _new_run_folder(self) -> Path:
        """A run folder beside the CSV that does not exist yet."""
        folder = self.csv_path.parent / RUNS_FOLDER
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run = folder / f"{self.csv_path.stem}-{stamp}"
        k = 2
        while run.exists():
            run, k = folder / f"{self.csv_path.stem}-{stamp}-{k}", k + 1
        return run

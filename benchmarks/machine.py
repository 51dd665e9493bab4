"""What a benchmark's figures were measured with: the commit, tunetag's files changed since
it (figures of uncommitted code say so), the machine and the libraries that decide them."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def machine_info() -> dict:
    """The commit, changed tunetag files, cores, Python, torch and scikit-learn, and the load
    average before the run (a busy machine runs slower)."""
    import sklearn
    import torch

    here = Path(__file__).parent
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--", ":(top)tunetag"],
        cwd=here,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    return {
        "git": head,
        "tunetag_files_changed_since_commit": sorted(line[3:] for line in changed if line),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "load_before": os.getloadavg(),
    }

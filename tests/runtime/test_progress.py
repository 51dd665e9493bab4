"""Progress: a bar on a terminal, plain lines in a log."""

from __future__ import annotations

import io
import re

from commands import run_tunetag

from tunetag.runtime.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_in_a_log_progress_is_plain_lines_ending_with_how_far_it_got():
    log = io.StringIO()
    for _ in progress_bar(range(5), desc="tag", file=log):
        pass
    with progress_bar(desc="extract", total=3, file=log) as bar:
        bar.update(3)
    assert "\r" not in log.getvalue()
    lines = log.getvalue().splitlines()
    assert [re.sub(r"\d\d:\d\d$", "T", line) for line in lines] == [
        "tag: 0/5 songs, T",
        "tag: 5/5 songs, T",
        "extract: 0/3 songs, T",
        "extract: 3/3 songs, T",
    ]
    batches = io.StringIO()
    for _ in progress_bar(range(2), desc="epoch 1/3", unit="batch", file=batches):
        pass
    assert batches.getvalue().splitlines()[-1].startswith("epoch 1/3: 2/2 batches, ")


def test_on_a_terminal_it_is_tqdm_s_bar_drawn_in_place():
    screen = Terminal()
    for _ in progress_bar(range(5), desc="tag", file=screen):
        pass
    assert "\r" in screen.getvalue() and "100%" in screen.getvalue()


def test_a_command_writing_to_a_file_logs_lines_not_redraws(small_library, tmp_path):
    done = run_tunetag("scan", small_library / "music", "-o", tmp_path / "songs.csv")
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr
    assert re.fullmatch(r"scan: 8/8 songs, \d\d:\d\d", done.stderr.splitlines()[-1])

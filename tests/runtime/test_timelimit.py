"""The time limit of one song's work: raises in the main thread, steps aside elsewhere."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from tunetag.errors import AudioDecodeError
from tunetag.runtime.timelimit import time_limit


def test_a_body_past_the_limit_is_stopped_and_the_timer_is_put_back():
    started = time.monotonic()
    stopped = pytest.raises(AudioDecodeError, match=r"^song.ogg: still decoding after 0.2 s")
    with stopped, time_limit(0.2, "song.ogg"):
        while True:
            time.sleep(0.01)
    assert time.monotonic() - started < 2
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)


def test_a_body_within_the_limit_runs_to_its_end():
    with time_limit(5, "song.ogg"):
        time.sleep(0.05)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_outside_the_main_thread_there_is_no_limit():
    finished = []

    def body():
        with time_limit(0.05, "song.ogg"):
            time.sleep(0.2)
        finished.append(True)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert finished == [True]

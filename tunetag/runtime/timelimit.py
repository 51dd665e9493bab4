"""Stop one song's work when it runs too long, so a pathological file cannot stall a run.

A song's decode and views take about a second; a file that makes a decoder loop (a broken
stream it keeps resyncing on, a header that lies about its length) must not hold a worker
for ever. The limit is a timer signal (``SIGALRM``) whose handler raises: it stops Python
code between two decoded frames or blocks, not a single C call that never returns.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tunetag.errors import AudioDecodeError


@contextmanager
def time_limit(seconds: float | None, what: str) -> Iterator[None]:
    """Raise `AudioDecodeError` naming ``what`` if the body runs longer than ``seconds``.

    Only the main thread of a process can take signals: elsewhere (a Dask worker's task
    thread), and with ``seconds`` None, the body runs without a limit. A handler that is
    already set (the caller's own) is left alone.

    Parameters
    ----------
    seconds : float or None
        The longest the body may run, in seconds.
    what : str
        How the error names what was stopped, such as the file's path.
    """
    usable = (
        seconds is not None
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)
    )
    if not usable:
        yield
        return

    def stop(signum, frame):
        raise AudioDecodeError(f"{what}: still decoding after {seconds:g} s; stopped")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

"""Where decoding runs: a local process pool, the caller's default, or a Dask cluster.

Extraction and prediction take any `concurrent.futures.Executor`; this module opens the one a
command asks for and closes what it opened. A Dask cluster is reached through
``distributed.Client(address).get_executor()``; its workers decode songs and write their views
to the feature cache themselves, so the cache (and the music) must be folders every worker
reaches at the same path. ``distributed`` is imported only when a cluster is asked for, so
tunetag works without it.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from tunetag.errors import ParameterError

CONNECT_TIMEOUT_S = 10.0  # how long to wait for a Dask scheduler, and for its first worker
INSTALL_DASK = "pip install 'tunetag[dask]'"
PR_SET_PDEATHSIG = 1  # prctl option, from linux/prctl.h


@contextmanager
def open_executor(
    workers: int | None = None,
    dask_address: str | None = None,
    *,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
) -> Iterator[Executor | None]:
    """Open the executor that songs are decoded on, and close it on the way out.

    Parameters
    ----------
    workers : int, optional
        Local worker processes; a process pool of this size is opened.
    dask_address : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); its cluster's executor is used.
    connect_timeout_s : float
        Seconds to wait for the scheduler to answer, and then for at least one worker.

    Yields
    ------
    concurrent.futures.Executor or None
        The executor, or None when neither is given: the caller's default (in
        `tunetag.features.extract.extract_files`, a process pool over every core).

    Raises
    ------
    ParameterError
        When both are given; when ``distributed`` is not installed (naming the install
        command); when the scheduler cannot be reached in time, or has no worker.
    """
    if workers is not None and dask_address is not None:
        raise ParameterError("give a number of local workers or a Dask address, not both")
    if dask_address is not None:
        with _dask_executor(dask_address, connect_timeout_s) as executor:
            yield executor
    elif workers is not None:
        if workers < 1:
            raise ParameterError(f"workers must be at least 1, got {workers}")
        pool = local_pool(workers)
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    else:
        yield None


def local_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers end with this process, however it ends.

    A pool worker waits on a queue whose writing end it holds itself, so when the process
    that started it is killed (kill -9, out of memory) it would wait, and hold its memory,
    forever. On Linux each worker asks the kernel for SIGKILL when its parent goes
    (``PR_SET_PDEATHSIG``; strictly, when the thread that started it ends: start the pool
    from a thread that outlives it). Elsewhere the pool is a plain one.
    """
    return ProcessPoolExecutor(
        max_workers=workers, initializer=_end_with_parent, initargs=(os.getpid(),)
    )


def _end_with_parent(parent_pid: int) -> None:
    """Worker initializer of `local_pool`."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent went before the request was made
        os._exit(1)


@contextmanager
def _dask_executor(address: str, timeout_s: float) -> Iterator[Executor]:
    """A connected Dask client's executor; pending songs are cancelled if the caller fails."""
    try:
        import distributed
    except ImportError:
        raise ParameterError(
            f"running on a Dask cluster needs the distributed package: {INSTALL_DASK}"
        ) from None
    client = _connect(distributed, address, timeout_s)
    try:
        # pure=False: a song is decoded every time it is asked for; the cache, not Dask's
        # memory of an earlier identical task, decides what is already done.
        executor = client.get_executor(pure=False)
        try:
            yield executor
        except BaseException:
            executor.shutdown(wait=False)
            raise
        executor.shutdown(wait=True)
    finally:
        client.close()


def _connect(distributed, address: str, timeout_s: float):
    """A `distributed.Client` on ``address`` with at least one worker, or a one-line error."""
    failure = None
    try:
        client = distributed.Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, ValueError, TypeError) as exc:
        failure = " ".join(str(exc).split()) or type(exc).__name__
    if failure is not None:
        # Out of the except block nothing refers to the half-built Client any more; it closes
        # itself when collected, so collect it now, while no other Dask event loop is starting
        # (a collection in the middle of such a start deadlocks distributed).
        gc.collect()
        raise ParameterError(f"cannot reach a Dask scheduler at {address}: {failure}")
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except (OSError, TimeoutError):
        client.close()
        raise ParameterError(
            f"the Dask scheduler at {address} has no worker after {timeout_s:g} s; "
            f"start one with `dask worker {address}`"
        ) from None
    return client

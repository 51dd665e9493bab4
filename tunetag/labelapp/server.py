"""Serve the labelling page on 127.0.0.1 at a free port, until the person stops it."""

from __future__ import annotations

import socket
import threading
import time
import webbrowser
from concurrent.futures import Executor
from pathlib import Path

import uvicorn

from tunetag.errors import ParameterError
from tunetag.labelapp.app import create_app
from tunetag.labelapp.session import LabelSession, open_session

HOST = "127.0.0.1"  # never reachable from another machine
MAX_PORT = 65535  # the largest TCP port
STARTUP_TIMEOUT_S = 10.0


class LabelServer:
    """A uvicorn server for one session, on a socket bound before it starts.

    Binding first gives the port (a free one when ``port`` is 0) before anything is served,
    so the URL can be printed and tests can connect without guessing.

    Parameters
    ----------
    session : LabelSession
        What to serve.
    port : int
        TCP port on 127.0.0.1; 0 picks a free one.
    """

    def __init__(self, session: LabelSession, port: int = 0) -> None:
        _check_port(port)
        self.session = session
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._socket.bind((HOST, port))
        except OSError as exc:
            self._socket.close()
            raise ParameterError(
                f"cannot serve on {HOST}:{port} ({exc.strerror}); leave --port out for a free one"
            ) from exc
        # listening at once: a request sent as soon as the URL is printed waits in the
        # backlog until uvicorn serves, instead of being refused
        self._socket.listen(128)
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            create_app(session), log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address, token included."""
        return f"http://{HOST}:{self.port}/?token={self.session.token}"

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl+C (or `stop` from another thread)."""
        self.session.start_learning()
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self.session.close()
            self._socket.close()

    def start(self) -> LabelServer:
        """Serve from a background thread; return once requests are answered."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self._server.started:
            raise RuntimeError("the labelling server did not start")
        return self

    def stop(self) -> None:
        """Stop a server started with `start` and wait for it."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STARTUP_TIMEOUT_S)

    def __enter__(self) -> LabelServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def label(
    csv_path: str | Path,
    tasks: list[str] | None = None,
    *,
    multi_label: set[str] | frozenset[str] = frozenset(),
    order: str | None = None,
    run: str | Path | None = None,
    learn: bool = True,
    seed: int = 0,
    port: int = 0,
    open_browser: bool = False,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> None:
    """Open the listening and labelling page for a song CSV and serve it until Ctrl+C.

    Every label is saved to the CSV the moment it is given. The page's address (with its
    secret token) is printed, and opened in the browser with ``open_browser``.

    Parameters
    ----------
    csv_path : path-like
        The song CSV (from ``tunetag scan``).
    tasks : list of str, optional
        Label columns, each ``"mood"`` or ``"mood=mellow,not mellow"`` to offer classes no
        song holds yet [default: mood and genre].
    multi_label : set of str
        Columns where a song may hold several labels.
    order : {"file", "shuffle", "uncertain", "teach"}, optional
        The order of the unlabelled songs: ``"teach"`` (the songs the live model learns most
        from first) by default when learning, else ``"file"``; ``"uncertain"`` (least sure
        first) needs ``run`` or learning.
    run : path-like, optional
        A trained run whose guesses are shown beside each song (until the live model has
        its own).
    learn : bool
        Learn while labelling: the page prepares every song, refits after each label, shows
        the live score, and keeps the model as a run folder on request.
    seed : int
        Seed of the ``"shuffle"`` and ``"teach"`` orders.
    port : int
        Port on 127.0.0.1; 0 picks a free one.
    open_browser : bool
        Open the page in the default browser.
    cache_dir, executor, progress
        As in `tunetag.runs.classify.classify_songs` (used when ``run`` is given).
    """
    _check_port(port)  # told before a run guesses every song
    session, skipped = open_session(
        csv_path,
        tasks or ["mood", "genre"],
        multi_label=multi_label,
        order=order,
        run=run,
        learn=learn,
        seed=seed,
        cache_dir=cache_dir,
        executor=executor,
        progress=progress,
    )
    for reason in skipped.values():
        print(f"error: {reason} (left out of the queue)")
    server = LabelServer(session, port)
    left = sum(not session.store.is_complete(song_id) for song_id in session.queue)
    print(f"labelling {session.store.csv_path}: {left} of {len(session.store)} songs to label")
    print(f"open {server.url}")
    print("every label is saved at once; stop with Ctrl+C")
    if learn:
        print(
            f"learning as you label ({session.order} order): press K on the page to keep the model"
        )
    if open_browser:
        webbrowser.open(server.url)
    server.serve_forever()


def _check_port(port: int) -> None:
    """A port outside TCP's range is a mistake to tell, not an OverflowError of bind."""
    if not 0 <= port <= MAX_PORT:
        raise ParameterError(f"port must be 0 (a free one) to {MAX_PORT}, got {port}")

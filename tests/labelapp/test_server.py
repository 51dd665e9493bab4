"""The labelling server for real: on a socket, under concurrent saves, killed mid-save."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from commands import start_tunetag

from tunetag.errors import ParameterError
from tunetag.labelapp.app import TOKEN_HEADER
from tunetag.labelapp.server import LabelServer
from tunetag.labelapp.session import open_session
from tunetag.library.songtable import SongTable

SONGS = 24
MOODS = ("mellow", "not mellow")


@pytest.fixture
def songs_csv(tmp_path, write_audio) -> Path:
    """A CSV of 24 short songs, none labelled."""
    table = SongTable.new(tmp_path / "songs.csv")
    for k in range(SONGS):
        write_audio(f"song{k:02d}.wav", duration_s=0.5, folder=tmp_path / "music")
        table.rows.append({**dict.fromkeys(table.columns, ""), "path": f"music/song{k:02d}.wav"})
    table.write()
    return tmp_path / "songs.csv"


@pytest.fixture
def server(songs_csv, tmp_path):
    session, _ = open_session(
        songs_csv, ["mood"], learn=False, cache_dir=tmp_path / "cache", progress=False
    )
    with LabelServer(session) as running:
        yield running


def raw_get(port: int, target: str) -> bytes:
    """Send a request line exactly as written: no client tidies up its '..' segments."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_the_server_listens_on_loopback_at_a_free_port(server):
    assert server.url.startswith(f"http://127.0.0.1:{server.port}/?token=")
    assert server.port != 0
    response = httpx2.get(server.url)
    assert response.status_code == 200
    assert "<html" in response.text.lower()


@pytest.mark.parametrize(
    "target",
    [
        "/audio/../../../../etc/passwd",
        "/../secret.txt",
        "/audio/0/../../secret.txt",
        "/app.js/../../secret.txt",
        "/audio/%2e%2e/%2e%2e/secret.txt",
        "/audio/..\\..\\secret.txt",
    ],
)
def test_literal_dot_dot_paths_reach_nothing(server, songs_csv, target):
    (songs_csv.parent / "secret.txt").write_text("TOP SECRET", encoding="utf-8")
    token = server.session.token
    reply = raw_get(server.port, f"{target}?token={token}")
    status = int(reply.split(b" ", 2)[1])
    assert status in (400, 404)
    assert b"TOP SECRET" not in reply
    assert b"root:" not in reply


def test_concurrent_saves_all_reach_the_csv(server, songs_csv):
    base = f"http://127.0.0.1:{server.port}"

    def save(song_id: int) -> int:
        mood = MOODS[song_id % 2]
        response = httpx2.post(
            f"{base}/api/songs/{song_id}/labels",
            json={"task": "mood", "labels": [mood]},
            headers={TOKEN_HEADER: server.session.token},
            timeout=30,
        )
        return response.status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(save, range(SONGS)))
    assert statuses == [200] * SONGS
    rows = SongTable.read(songs_csv).rows
    assert [row["mood"] for row in rows] == [MOODS[k % 2] for k in range(SONGS)]


def test_a_port_in_use_is_a_clear_error(server, songs_csv, tmp_path):
    session, _ = open_session(
        songs_csv, ["mood"], learn=False, cache_dir=tmp_path / "cache", progress=False
    )
    with pytest.raises(ParameterError, match=f"cannot serve on 127.0.0.1:{server.port}"):
        LabelServer(session, server.port)
    session.close()


SAVE_FOREVER = """
import sys
from tunetag.labelapp.store import LabelStore
sys.stdin.readline()  # imported: the CSV is opened once the test says go
store = LabelStore(sys.argv[1], [("mood", ["mellow", "not mellow"])])
print("ready", flush=True)
k = 0
while True:
    store.set_labels(k % len(store), "mood", [("mellow", "not mellow")[(k // len(store)) % 2]])
    k += 1
"""


def test_killing_the_server_mid_save_leaves_a_whole_csv(songs_csv):
    """SIGKILL at random moments while labels are saved as fast as possible."""
    rng = random.Random(0)
    # the six savers import together (one after another, each would wait out its own
    # import), and each opens the CSV once the one before it has been killed
    savers = [
        subprocess.Popen(
            [sys.executable, "-c", SAVE_FOREVER, str(songs_csv)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    try:
        for saver in savers:
            saver.stdin.write("go\n")
            saver.stdin.flush()
            assert saver.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.05, 0.4))
            os.kill(saver.pid, signal.SIGKILL)
            saver.wait()
            table = SongTable.read(songs_csv)
            assert len(table) == SONGS
            assert {row["mood"] for row in table.rows} <= {"", *MOODS}
            assert [row["path"] for row in table.rows] == [
                f"music/song{k:02d}.wav" for k in range(SONGS)
            ]
    finally:
        for saver in savers:
            saver.kill()
            saver.wait()
    assert any(row["mood"] for row in SongTable.read(songs_csv).rows)


def test_the_label_command_serves_until_interrupted(songs_csv, tmp_path):
    process = start_tunetag(
        "label", songs_csv, "--task", "mood=mellow,not mellow", "--cache", tmp_path / "cache",
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        url = next(line.split()[1] for line in lines if line.startswith("open "))
        token = url.split("token=")[1]
        base = url.split("/?")[0]
        assert "24 of 24 songs to label" in lines[0]
        response = httpx2.post(
            f"{base}/api/songs/3/labels",
            json={"task": "mood", "labels": ["mellow"]},
            headers={TOKEN_HEADER: token},
        )
        assert response.status_code == 200
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "every label given is in the CSV" in output
    assert SongTable.read(songs_csv).rows[3]["mood"] == "mellow"

"""The labelling server on a real socket against what a hostile page or a broken client may
send: generated request lines with path traversal in every encoding, random bytes, wrong
tokens, huge and lying bodies, huge headers. After each it has changed nothing, shown
nothing outside the CSV's songs, and still answers."""

from __future__ import annotations

import re
import socket

import httpx2
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from signals import sine

from tunetag.labelapp.app import MAX_BODY_BYTES, TOKEN_HEADER
from tunetag.labelapp.server import LabelServer
from tunetag.labelapp.session import open_session
from tunetag.library.songtable import SongTable

SECRET = "TOP SECRET: not a song"
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ROUTES = [
    "/",
    "/app.js",
    "/style.css",
    "/api/state",
    "/api/songs/",
    "/api/undo",
    "/audio/",
    "/image/",
]
SEGMENTS = [
    "..", ".", "%2e%2e", "%2E%2E", "%252e%252e", ".%2e", "%c0%ae%c0%ae", "%ef%bc%8e%ef%bc%8e",
    "..%2f", "..%5c", "..\\", "%2f", "%5c", "/", "//", "%00", "%0d%0a", ";", "~",
    "secret.txt", "etc/passwd", "etc%2fpasswd", "songs.csv", "music", "song0.wav",
    "0", "1", "-1", "3", "99999999999999999999999", "0x1", "1e3", " ", "%20", "?", "#",
]  # fmt: skip
SERVED = ("/", "/app.js", "/style.css", "/api/state")  # the only answers that are not a song
METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A server for a CSV of three short songs, a secret file beside them."""
    root = tmp_path_factory.mktemp("attacked")
    (root / "music").mkdir()
    table = SongTable.new(root / "songs.csv")
    for k in range(3):
        sf.write(root / "music" / f"song{k}.wav", sine(1.0, 22050, 440.0, amplitude=0.2), 22050)
        table.rows.append({**dict.fromkeys(table.columns, ""), "path": f"music/song{k}.wav"})
    table.write()
    (root / "secret.txt").write_text(SECRET, encoding="utf-8")
    session, _ = open_session(
        root / "songs.csv",
        ["mood=mellow,not mellow"],
        learn=False,
        cache_dir=root / "cache",
        progress=False,
    )
    with LabelServer(session) as server:
        yield {
            "server": server,
            "csv": root / "songs.csv",
            "before": (root / "songs.csv").read_bytes(),
        }
    session.close()


def raw(port: int, data: bytes) -> bytes:
    """Send bytes exactly as given, end the sending side, and read whatever comes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        try:
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close on a request it refuses before reading it all
        chunks = []
        try:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks)


def assert_untouched(served, reply: bytes) -> None:
    assert SECRET.encode() not in reply
    assert b"root:x:" not in reply
    assert served["csv"].read_bytes() == served["before"]


def assert_alive(served) -> None:
    server = served["server"]
    response = httpx2.get(
        f"http://127.0.0.1:{server.port}/api/state",
        headers={TOKEN_HEADER: server.session.token},
        timeout=10,
    )
    assert response.status_code == 200


def status_of(reply: bytes) -> int | None:
    """The status code of the first response, None when the server closed without one."""
    if not reply:
        return None
    return int(reply.split(b" ", 2)[1])


@FUZZ
@given(
    method=st.sampled_from(METHODS),
    route=st.sampled_from(ROUTES),
    segments=st.lists(st.sampled_from(SEGMENTS), max_size=6),
    with_token=st.booleans(),
)
def test_generated_paths_reach_nothing_outside_the_songs(
    served, method, route, segments, with_token
):
    token = served["server"].session.token
    target = route + "/".join(segments)
    query = f"?token={token}" if with_token else ""
    request = f"{method} {target}{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    reply = raw(served["server"].port, (request + "Content-Length: 0\r\n\r\n").encode())
    status = status_of(reply)
    assert status is None or status in (200, 206, 400, 403, 404, 405, 409, 422)
    if status == 200:
        path = target.split("?")[0].split("#")[0]
        assert path in SERVED or re.fullmatch(r"/(api/songs|audio|image)/[012]", path), path
    assert_untouched(served, reply)


@FUZZ
@given(data=st.binary(max_size=3000))
def test_random_bytes_are_refused_and_the_server_stays_up(served, data):
    reply = raw(served["server"].port, data)
    assert status_of(reply) in (None, 400, 403, 404, 405, 431)
    assert_untouched(served, reply)


@pytest.mark.slow  # 150 refused requests take seconds
@FUZZ
@given(token=st.text(max_size=200))
def test_any_wrong_token_is_refused(served, http, token):
    server = served["server"]
    if token == server.session.token:
        return
    for name, value in ((TOKEN_HEADER, token), ("Cookie", f"token={token}")):
        try:
            headers = {name: value}
            response = http.post(
                f"http://127.0.0.1:{server.port}/api/songs/0/labels",
                json={"task": "mood", "labels": ["mellow"]},
                headers=headers,
                timeout=10,
            )
        except (UnicodeEncodeError, httpx2.LocalProtocolError):
            continue  # not a header any client can send
        assert response.status_code == 403
    assert_untouched(served, b"")


def _post_head(token: str, extra: str) -> bytes:
    return (
        "POST /api/songs/0/labels HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"{TOKEN_HEADER}: {token}\r\nContent-Type: application/json\r\n{extra}\r\n"
    ).encode()


def test_huge_and_lying_bodies_are_refused_without_reading_them(served):
    server = served["server"]
    token = server.session.token
    declared = _post_head(token, "Content-Length: 1000000000\r\nConnection: close\r\n")
    assert status_of(raw(server.port, declared)) == 400
    chunk = b"x" * 65536
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(160)) + b"0\r\n\r\n"
    reply = raw(server.port, _post_head(token, "Transfer-Encoding: chunked\r\n") + chunked)
    assert status_of(reply) == 400 and f"at most {MAX_BODY_BYTES}".encode() in reply
    short = _post_head(token, "Content-Length: 5\r\nConnection: close\r\n")
    reply = raw(server.port, short + b'{"task": "mood", "labels": ["mellow"]}')
    assert status_of(reply) == 400
    huge_header = _post_head(token, f"X-Padding: {'a' * 200_000}\r\nContent-Length: 0\r\n")
    assert status_of(raw(server.port, huge_header)) in (None, 400, 431)
    assert_untouched(served, reply)
    assert_alive(served)


def test_after_every_attack_a_real_label_still_saves(served):
    """Runs last in this file: the fuzzing above left a server that works."""
    server = served["server"]
    assert_alive(served)
    response = httpx2.post(
        f"http://127.0.0.1:{server.port}/api/songs/1/labels",
        json={"task": "mood", "labels": ["mellow"]},
        headers={TOKEN_HEADER: server.session.token},
        timeout=10,
    )
    assert response.status_code == 200
    assert SongTable.read(served["csv"]).rows[1]["mood"] == "mellow"

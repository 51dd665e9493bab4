"""The labelling page's HTTP interface: token, paths a request can reach, ranges, saves."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import soundfile as sf
from starlette.testclient import TestClient

from tunetag.evaluation.htmlpage import stylesheet
from tunetag.labelapp.app import TOKEN_HEADER, create_app
from tunetag.labelapp.live import LiveState
from tunetag.labelapp.session import open_session
from tunetag.library.songtable import SongTable

SECRET = "TOP SECRET: not a song"


@pytest.fixture
def library(tmp_path, write_audio):
    """Three songs (one in a format browsers cannot play), a CSV, and a file beside them."""
    music = tmp_path / "music"
    write_audio("calm.flac", duration_s=2.0, folder=music)
    write_audio("loud.wav", duration_s=2.0, freq_hz=880.0, folder=music)
    write_audio("old.aiff", duration_s=1.5, freq_hz=330.0, folder=music)
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    table = SongTable.new(tmp_path / "songs.csv")
    for name, genre in (("calm.flac", "ambient"), ("loud.wav", "rock"), ("old.aiff", "")):
        table.rows.append({**dict.fromkeys(table.columns, ""), "path": f"music/{name}"})
        table.rows[-1]["genre"] = genre
    table.rows[0]["duration_s"] = "300"  # as scan would record it for a 5 minute song
    table.write()
    return tmp_path


@pytest.fixture
def session(library):
    found, skipped = open_session(
        library / "songs.csv",
        ["mood=mellow,not mellow", "genre"],
        cache_dir=library / "cache",
        progress=False,
    )
    assert skipped == {}
    yield found
    found.close()


@pytest.fixture
def client(session):
    with TestClient(create_app(session), base_url="http://127.0.0.1") as found:
        found.headers[TOKEN_HEADER] = session.token
        yield found


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


ROUTES = [
    "/", "/app.js", "/style.css", "/api/state", "/api/songs/0", "/api/live", "/audio/0", "/image/0",
    "/api/songs/0/why",
]  # fmt: skip


@pytest.mark.parametrize("route", ROUTES)
def test_requests_without_the_token_are_refused(session, route):
    with TestClient(create_app(session), base_url="http://127.0.0.1") as bare:
        response = bare.get(route)
    assert response.status_code == 403
    assert "token" in response.json()["error"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_wrong_token_is_refused(session, route):
    with TestClient(create_app(session), base_url="http://127.0.0.1") as bare:
        last = "y" if session.token.endswith("x") else "x"  # never the token itself
        response = bare.get(route, headers={TOKEN_HEADER: session.token[:-1] + last})
        assert response.status_code == 403
        assert bare.get(route, params={"token": ""}).status_code == 403


def test_a_save_without_the_token_changes_nothing(session, library):
    before = (library / "songs.csv").read_bytes()
    with TestClient(create_app(session), base_url="http://127.0.0.1") as bare:
        response = bare.post("/api/songs/0/labels", json={"task": "mood", "labels": ["mellow"]})
    assert response.status_code == 403
    assert (library / "songs.csv").read_bytes() == before


def test_the_token_in_the_url_opens_the_page_with_it_filled_in(session):
    with TestClient(create_app(session), base_url="http://127.0.0.1") as bare:
        page = bare.get("/", params={"token": session.token})
        script = bare.get("/app.js", params={"token": session.token})
    assert page.status_code == 200
    assert "__TOKEN__" not in page.text
    assert f"app.js?token={session.token}" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert script.headers["content-type"].startswith("text/javascript")


def test_the_page_links_the_stylesheet_it_shares_with_the_reports_before_its_own(client):
    page = client.get("/").text
    assert page.index("/tunetag.css?token=") < page.index("/style.css?token=")
    shared, own = client.get("/tunetag.css"), client.get("/style.css")
    assert shared.status_code == 200 and shared.headers["content-type"].startswith("text/css")
    assert shared.text == stylesheet()
    assert "--magma-orange:" in shared.text and "--magma-orange:" not in own.text
    del client.headers[TOKEN_HEADER]
    assert client.get("/tunetag.css").status_code == 403


def test_a_foreign_host_name_is_refused(client):
    """A page on another site cannot reach the server by rebinding its own name to 127.0.0.1."""
    response = client.get("/api/state", headers={"Host": "evil.example:80"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "route",
    [
        "/audio/..%2fsecret.txt",
        "/audio/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/audio/%252e%252e%252fsecret.txt",
        "/audio/..%5csecret.txt",
        "/audio/%2Fetc%2Fpasswd",
        "/audio//etc/passwd",
        "/image/..%2F..%2Fsecret.txt",
        "/api/songs/..%2fsecret.txt",
        "/app.js/..%2fsecret.txt",
        "/static/..%2f..%2fsecret.txt",
        "/secret.txt",
        "/audio/-1",
        "/audio/3",
        "/audio/99999999999999999999",
        "/audio/0x1",
        "/audio/1.0",
        "/image/3",
    ],
)
def test_no_request_reaches_a_file_outside_the_csv(client, route):
    response = client.get(route)
    assert response.status_code in (400, 404)
    assert response.json()["error"]
    assert SECRET not in response.text
    assert "root:" not in response.text


def test_an_absolute_path_in_a_label_request_is_only_a_label_cell(client, library):
    """Text from a request is never a path: '/etc/passwd' as a label is refused or stored."""
    response = client.post("/api/songs/0/labels", json={"task": "mood", "labels": ["../x;y"]})
    assert response.status_code == 400
    assert "';'" in response.json()["error"]


def test_audio_answers_byte_ranges(client, library):
    whole = (library / "music" / "calm.flac").read_bytes()
    part = client.get("/audio/0", headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.content == whole[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(whole)}"
    assert part.headers["content-type"] == "audio/flac"
    tail = client.get("/audio/0", headers={"Range": "bytes=-64"})
    assert tail.content == whole[-64:]
    full = client.get("/audio/0")
    assert full.status_code == 200
    assert full.content == whole
    assert full.headers["accept-ranges"] == "bytes"


def test_a_range_past_the_end_is_refused(client, library):
    size = (library / "music" / "loud.wav").stat().st_size
    assert client.get("/audio/1", headers={"Range": f"bytes={size + 10}-"}).status_code == 416


def test_a_format_browsers_cannot_play_is_sent_as_ogg_with_ranges(client):
    song = client.get("/api/songs/2").json()
    assert song["audio_note"] == "transcoded from .aiff for the browser"
    whole = client.get("/audio/2")
    assert whole.headers["content-type"] == "audio/ogg"
    samples, sr = sf.read(io.BytesIO(whole.content))
    assert samples.shape[0] / sr == pytest.approx(1.5, abs=0.05)
    part = client.get("/audio/2", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.content == whole.content[:100]


def test_the_spectrogram_is_a_png(client):
    response = client.get("/image/1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_a_song_tells_the_page_where_the_analysed_window_is(client):
    song = client.get("/api/songs/0").json()
    assert song["title"] == ""
    assert song["path"] == "music/calm.flac"
    assert song["window"] == {"start_s": 85.0, "end_s": 215.0}  # the centred 130 s of 300 s
    assert song["labels"] == {"mood": [], "genre": ["ambient"]}
    assert song["guess"] is None
    assert song["audio_url"].startswith("/audio/0?token=")


def test_state_lists_tasks_keys_queue_and_progress(client):
    state = client.get("/api/state").json()
    assert [task["name"] for task in state["tasks"]] == ["mood", "genre"]
    assert state["tasks"][0]["keys"] == {"mellow": "1", "not mellow": "2"}
    assert state["tasks"][1]["keys"] == {"ambient": "q", "rock": "w"}
    assert state["queue"] == [0, 1, 2]
    assert state["total"] == 3
    assert state["complete"] == 0
    assert state["progress"]["genre"] == {"classes": {"ambient": 1, "rock": 1}, "unlabelled": 1}
    assert state["can_undo"] is False


def test_a_label_is_in_the_csv_when_the_reply_comes(client, library):
    response = client.post("/api/songs/1/labels", json={"task": "mood", "labels": ["not mellow"]})
    assert response.status_code == 200
    body = response.json()
    assert body["song"]["labels"]["mood"] == ["not mellow"]
    assert body["state"]["progress"]["mood"]["classes"]["not mellow"] == 1
    assert body["state"]["complete"] == 1
    assert body["state"]["can_undo"] is True
    assert csv_rows(library / "songs.csv")[1]["mood"] == "not mellow"


def test_a_new_class_typed_on_the_page_gets_a_key(client, library):
    response = client.post("/api/songs/2/labels", json={"task": "genre", "labels": ["folk"]})
    genre = response.json()["state"]["tasks"][1]
    assert genre["classes"] == ["ambient", "rock", "folk"]
    assert genre["keys"]["folk"] == "e"
    assert csv_rows(library / "songs.csv")[2]["genre"] == "folk"


def test_undo_puts_the_last_label_back_in_the_csv(client, library):
    assert client.post("/api/undo").status_code == 409
    client.post("/api/songs/0/labels", json={"task": "genre", "labels": ["rock"]})
    response = client.post("/api/undo")
    assert response.status_code == 200
    assert response.json()["song"]["id"] == 0
    assert response.json()["song"]["labels"]["genre"] == ["ambient"]
    assert csv_rows(library / "songs.csv")[0]["genre"] == "ambient"
    assert client.post("/api/undo").status_code == 409


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"task": "mood", "labels": "mellow"}', "labels"),
        (b'{"task": "mood"}', "labels"),
        (b'{"task": 3, "labels": []}', "task"),
        (b'{"task": "tempo", "labels": ["fast"]}', "unknown task"),
        (b'{"task": "mood", "labels": ["mellow", "not mellow"]}', "one label"),
        (b'{"task": "mood", "labels": ["   "]}', "empty"),
        (b'{"task": "mood", "labels": ["' + b"x" * 20000 + b'"]}', "at most"),
    ],
)
def test_a_bad_save_request_is_refused_and_changes_nothing(client, library, body, message):
    before = (library / "songs.csv").read_bytes()
    response = client.post(
        "/api/songs/0/labels", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert (library / "songs.csv").read_bytes() == before


def test_a_save_for_a_song_that_does_not_exist_is_refused(client):
    response = client.post("/api/songs/7/labels", json={"task": "mood", "labels": ["mellow"]})
    assert response.status_code == 400
    assert "no song 7" in response.json()["error"]


def test_a_song_whose_file_went_missing_says_so(client, library):
    (library / "music" / "loud.wav").unlink()
    assert client.get("/api/songs/1").json()["audio_note"] == "file not found"
    response = client.get("/audio/1")
    assert response.status_code == 422
    assert "loud.wav: file not found" in response.json()["error"]
    assert client.get("/image/1").status_code == 422


def test_songs_whose_files_are_gone_are_left_out_of_the_queue(library):
    (library / "music" / "calm.flac").unlink()
    session, skipped = open_session(
        library / "songs.csv", ["mood"], cache_dir=library / "cache", progress=False
    )
    assert list(skipped) == [0]
    assert skipped[0].endswith("calm.flac: file not found")
    assert session.queue == [1, 2]
    session.close()


def test_the_live_model_is_read_and_kept_only_once_there_is_something_to_keep(client, library):
    found = client.get("/api/live").json()
    assert found["live"]["version"] == 0 and found["keep"]["state"] == "idle"
    assert client.get("/api/state").json()["live"]["total"] == 3

    refused = client.post("/api/keep")

    assert (
        refused.status_code == 409 and "label songs of two classes first" in refused.json()["error"]
    )
    assert not (library / "runs").exists()
    assert client.get("/api/songs/0/why").json() == {"why": None}  # no fit yet
    assert "no song 7" in client.get("/api/songs/7/why").json()["error"]


def test_a_page_that_does_not_learn_says_so(library):
    session, _ = open_session(
        library / "songs.csv", ["mood"], learn=False, cache_dir=library / "cache", progress=False
    )
    with TestClient(create_app(session), base_url="http://127.0.0.1") as client:
        client.headers[TOKEN_HEADER] = session.token
        assert client.get("/api/state").json()["live"] is None
        for method, route in (
            ("get", "/api/live"),
            ("post", "/api/keep"),
            ("get", "/api/songs/0/why"),
        ):
            response = getattr(client, method)(route)
            assert response.status_code == 409 and "--no-learn" in response.json()["error"]


def test_keep_trains_only_the_tasks_with_two_classes_labelled(client, session, monkeypatch):
    """tunetag train refuses a task of one class: a genre labelled once must not stop mood
    from being kept."""
    session.live.state = LiveState(
        version=3, tasks={"mood": {"seen_classes": 2}, "genre": {"seen_classes": 1}}
    )
    started = []
    monkeypatch.setattr(session.keeper, "start", lambda tasks: started.append(tasks) or {})

    assert client.post("/api/keep").status_code == 200
    assert started == [["mood"]]

"""The labelling page in a real headless Chromium: play a song, label three by keyboard."""

from __future__ import annotations

import pytest
from browser_page import shown_song, wait_for_song, wait_until
from playwright.sync_api import expect

from tunetag.labelapp.server import LabelServer
from tunetag.labelapp.session import open_session
from tunetag.library.songtable import SongTable

# drives Chromium: `make check` leaves it out
pytestmark = pytest.mark.slow


def serve(tmp_path, write_audio, tasks: list[str], multi_label: set[str] = frozenset()):
    """Five unlabelled 4 s songs in three formats, served as `tunetag label` would."""
    table = SongTable.new(tmp_path / "songs.csv")
    for k, name in enumerate(["a.ogg", "b.flac", "c.wav", "d.flac", "e.ogg"]):
        write_audio(name, duration_s=4.0, freq_hz=220.0 * (k + 1), folder=tmp_path / "music")
        table.rows.append({**dict.fromkeys(table.columns, ""), "path": f"music/{name}"})
        table.rows[-1]["title"] = f"Song {name[0].upper()}"
    table.write()
    session, _ = open_session(
        table.csv_path,
        tasks,
        multi_label=multi_label,
        learn=False,
        cache_dir=tmp_path / "cache",
        progress=False,
    )
    return LabelServer(session)


@pytest.fixture
def server(tmp_path, write_audio):
    with serve(tmp_path, write_audio, ["mood=mellow,not mellow", "genre=ambient,rock,folk"]) as up:
        yield up


@pytest.fixture
def multi_label_server(tmp_path, write_audio):
    with serve(tmp_path, write_audio, ["tags=calm,vocal"], {"tags"}) as up:
        yield up


def test_a_person_plays_a_song_and_labels_three_by_keyboard(open_page, server):
    page, errors = open_page(server.url)
    page.wait_for_selector('#song[data-song-id="0"]')
    wait_until(page, "() => document.getElementById('spectrogram').naturalWidth > 0")
    assert page.inner_text("#position").replace(" ", "") == "1/5"
    expect(page.locator("#live")).to_be_hidden()  # --no-learn: the page as it was
    expect(page.locator("#keep-key")).to_be_hidden()

    page.keyboard.press("Space")
    wait_until(
        page,
        "() => { const p = document.getElementById('player');"
        " return !p.paused && p.currentTime > 0.3; }",
    )

    for song, keys in (("0", "1q"), ("1", "2w"), ("2", "1e")):
        assert shown_song(page) == song
        for key in keys:
            page.keyboard.press(key)
        expect(page.locator("#song")).not_to_have_attribute("data-song-id", song)
    wait_for_song(page, "3")
    expect(page.locator("#status")).to_contain_text("saved")

    rows = SongTable.read(server.session.store.csv_path).rows
    assert [(row["mood"], row["genre"]) for row in rows] == [
        ("mellow", "ambient"),
        ("not mellow", "rock"),
        ("mellow", "folk"),
        ("", ""),
        ("", ""),
    ]
    expect(page.locator("#progress .overall-count")).to_have_text("3 / 5 songs labelled")
    page.keyboard.press("k")  # keeps a model only where the page learns
    expect(page.locator("#status")).to_contain_text("saved")
    assert errors == []


def test_undo_and_a_new_class_typed_on_the_page_reach_the_csv(open_page, server):
    page, _ = open_page(server.url)
    page.wait_for_selector('#song[data-song-id="0"]')
    page.keyboard.press("2")
    page.wait_for_selector('button.label[data-class="not mellow"][aria-pressed="true"]')
    page.fill('input.new-class[data-task="genre"]', "chamber")
    page.press('input.new-class[data-task="genre"]', "Enter")
    wait_for_song(page, "1")
    assert SongTable.read(server.session.store.csv_path).rows[0]["genre"] == "chamber"
    assert page.locator('button.label[data-task="genre"][data-class="chamber"]').count() == 1

    page.keyboard.press("Backspace")
    wait_for_song(page, "0")
    page.wait_for_selector('button.label[data-class="chamber"][aria-pressed="false"]')
    row = SongTable.read(server.session.store.csv_path).rows[0]
    assert (row["mood"], row["genre"]) == ("not mellow", "")


def test_keys_toggle_labels_of_a_multi_label_task(open_page, multi_label_server):
    page, _ = open_page(multi_label_server.url)
    page.wait_for_selector('#song[data-song-id="0"]')
    csv_path = multi_label_server.session.store.csv_path
    page.keyboard.press("1")
    page.keyboard.press("2")
    page.wait_for_selector('button.label[data-class="vocal"][aria-pressed="true"]')
    expect(page.locator("#status")).to_contain_text("saved tags = calm, vocal")
    assert SongTable.read(csv_path).rows[0]["tags"] == "calm;vocal"
    page.keyboard.press("1")
    page.wait_for_selector('button.label[data-class="calm"][aria-pressed="false"]')
    page.fill('input.new-class[data-task="tags"]', "sad")
    page.press('input.new-class[data-task="tags"]', "Enter")
    expect(page.locator("#status")).to_contain_text("saved tags = vocal, sad")
    assert shown_song(page) == "0"  # several labels may follow: no moving on by itself
    assert SongTable.read(csv_path).rows[0]["tags"] == "vocal;sad"


# the page's own drawing, fed a made-up explanation of the song's two stretches
DRAW_WHY = """(guess) => {
    app.song.guess = guess;
    app.why = {songId: app.song.id, why: {version: 1, starts_s: [0, 3], lengths_s: [3, 3],
        classes: {tags: ["calm", "vocal"]}, pushes: {tags: [[0.5, -0.2], [-0.1, 0.4]]}}};
    renderWhy();
    return [...document.querySelectorAll("#why .why")].map((strip) => strip.dataset.class);
}"""


def test_a_multi_label_song_has_a_why_strip_for_each_label_it_holds(open_page, multi_label_server):
    page, errors = open_page(multi_label_server.url)
    page.wait_for_selector('#song[data-song-id="0"]')
    guessed = {"tags": {"calm": 0.9, "vocal": 0.7}}
    assert page.evaluate(DRAW_WHY, {}) == []  # neither labelled nor guessed: no strip
    assert page.evaluate(DRAW_WHY, guessed) == ["calm", "vocal"]  # every label past a half
    assert page.evaluate(DRAW_WHY, {"tags": {"calm": 0.2, "vocal": 0.4}}) == ["vocal"]

    page.keyboard.press("2")
    expect(page.locator("#status")).to_contain_text("saved tags = vocal")
    assert page.evaluate(DRAW_WHY, guessed) == ["vocal"]  # the person's labels come first
    page.keyboard.press("1")
    expect(page.locator("#status")).to_contain_text("saved tags = vocal, calm")
    assert page.evaluate(DRAW_WHY, {}) == ["vocal", "calm"]
    assert errors == []

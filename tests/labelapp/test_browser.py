"""The labelling page in a real headless Chromium: play a song, label three by keyboard."""

from __future__ import annotations

import contextlib
import os
import shutil
import time

import pytest
from playwright.sync_api import expect, sync_playwright

from tunetag.labelapp.server import LabelServer
from tunetag.labelapp.session import open_session
from tunetag.library.songtable import SongTable

# drives Chromium: `make check` leaves it out
pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = [  # as root, in a sandbox, with no network: what headless Chromium needs
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str | None:
    """Debian's Chromium (installed by `make browser`), or the one $TUNETAG_CHROMIUM names."""
    named = os.environ.get("TUNETAG_CHROMIUM")
    return named or shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def chromium():
    """A headless Chromium (the test is skipped on a machine without one)."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium on this machine: `make browser` installs Debian's chromium")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def browser():
    with chromium() as launched:
        yield launched


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


def shown_song(page) -> str:
    return page.get_attribute("#song", "data-song-id")


def wait_until(page, function: str, timeout_s: float = 10.0) -> None:
    """Poll a JS function from outside the page: its CSP forbids the eval that
    `page.wait_for_function` relies on, and that refusal is worth keeping."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(function):
        assert time.monotonic() < deadline, f"timed out waiting for {function}"
        time.sleep(0.05)


def wait_for_song(page, song_id: str) -> None:
    expect(page.locator("#song")).to_have_attribute("data-song-id", song_id)


def test_a_person_plays_a_song_and_labels_three_by_keyboard(browser, server):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url)
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


def test_undo_and_a_new_class_typed_on_the_page_reach_the_csv(browser, server):
    page = browser.new_page()
    page.goto(server.url)
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


def test_keys_toggle_labels_of_a_multi_label_task(browser, multi_label_server):
    page = browser.new_page()
    page.goto(multi_label_server.url)
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

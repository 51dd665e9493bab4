"""The why strips in a real headless Chromium: once the live model has fitted, the labelling
page draws the shown song's seconds that argued for its guess under the spectrogram, on its
time axis, and a click on one plays the song from that stretch; a click on a strip of the
predictions report plays its row from there.

Set ``TUNETAG_SCREENSHOTS`` to a folder to have the page saved there as ``label-why.png``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_page import shown_song, wait_until
from playwright.sync_api import expect

from tunetag.evaluation.report import report
from tunetag.labelapp.server import LabelServer
from tunetag.labelapp.session import open_session
from tunetag.library.predictions import PredictedSong, write_predictions
from tunetag.library.songtable import SongTable
from tunetag.library.why import WhyStrips

# drives Chromium: `make check` leaves it out
pytestmark = pytest.mark.slow

KEYS = {"mellow": "1", "not mellow": "2"}  # the keys of "mood=mellow,not mellow"


@pytest.fixture
def server(tmp_path, mood_library, link_library, shared_cache):
    """The page of the live demo library (linked) with every mood blanked; the moods put
    aside (the songs' views shared with test_live_page, which serves the same library)."""
    shared = mood_library("live", songs_per_class=8, duration_s=6.0, seed=3)
    table = SongTable.read(link_library(shared, tmp_path / "library") / "songs.csv")
    truth = [row["mood"] for row in table.rows]
    for row in table.rows:
        row["mood"] = ""
    table.write()
    session, _ = open_session(
        table.csv_path, ["mood=mellow,not mellow"], cache_dir=shared_cache, progress=False
    )
    with LabelServer(session) as up:
        yield up, truth


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def test_the_strip_under_the_spectrogram_plays_the_seconds_it_argues_with(open_page, server):
    server, truth = server
    session = server.session
    page, errors = open_page(server.url, viewport={"width": 1100, "height": 1200})
    wait_until(page, "() => document.getElementById('song').dataset.songId !== ''")
    expect(page.locator("#why")).to_be_hidden()  # no model yet: no strip

    # label by keyboard until the live model has fitted and the shown song has its strip
    for _ in range(len(truth) - 1):
        song = int(shown_song(page))
        page.keyboard.press(KEYS[truth[song]])
        expect(page.locator("#song")).not_to_have_attribute("data-song-id", str(song))
        if session.why(int(shown_song(page))) is not None:
            break
    song = int(shown_song(page))
    expect(page.locator("#why .why-seg").first).to_be_visible(timeout=30_000)
    wait_until(page, "() => Number.isFinite(document.getElementById('player').duration)")

    # one segment per stretch, at its seconds on the spectrogram's axis, by its push's sign
    why = page.evaluate("() => app.why.why")
    window = session.song(song)["window"]
    guess = session.guess(song)["mood"]
    best = max(guess, key=guess.get)
    expect(page.locator("#why .why")).to_have_attribute("data-class", best)
    expect(page.locator("#why .why-caption")).to_contain_text(f"why {best}: the brighter")
    column = why["classes"]["mood"].index(best)
    segments = page.locator("#why .why-seg")
    expect(segments).to_have_count(len(why["starts_s"]))
    image = box(page, "#spectrogram")
    span = window["end_s"] - window["start_s"]
    for k, start in enumerate(why["starts_s"]):
        segment = segments.nth(k)
        push = why["pushes"]["mood"][k][column]
        assert float(segment.get_attribute("data-start")) == start
        side = "for" if push > 0 else "against" if push < 0 else "none"
        assert segment.get_attribute("class") == f"why-seg {side}"
        assert f"for {best}" in segment.get_attribute("title")
        left = (start - window["start_s"]) / span * image["width"] + image["x"]
        assert segment.bounding_box()["x"] == pytest.approx(left, abs=2)
        assert segment.bounding_box()["y"] > image["y"] + image["height"]  # under it

    # a click on the last stretch plays from its start
    last = segments.nth(len(why["starts_s"]) - 1)
    start = float(last.get_attribute("data-start"))
    assert start > page.evaluate("() => document.getElementById('player').currentTime")
    last.click()
    wait_until(page, "() => !document.getElementById('player').paused")
    played = page.evaluate("() => document.getElementById('player').currentTime")
    assert start <= played < start + why["lengths_s"][-1] + 1
    assert shown_song(page) == str(song)  # the strip never labels or moves on

    if os.environ.get("TUNETAG_SCREENSHOTS"):
        folder = Path(os.environ["TUNETAG_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=folder / "label-why.png", full_page=True)
    page.keyboard.press(KEYS[truth[song]])  # the keys still label
    expect(page.locator("#song")).not_to_have_attribute("data-song-id", str(song))
    assert errors == []


def test_a_click_on_a_reports_strip_plays_its_row_from_there(open_page, small_library, tmp_path):
    table = SongTable.read(small_library / "songs.csv")
    out = tmp_path / "predictions.csv"
    why = WhyStrips(out)
    songs = []
    for row in table.rows[:2]:
        path = table.audio_path(row)
        p = {"mellow": 0.8, "not mellow": 0.2}
        songs.append(
            PredictedSong(
                path,
                title=row["title"],
                predicted={"mood": "mellow"},
                probability={"mood": 0.8},
                probabilities={"mood": p},
            )
        )
        why.add(path, {"starts_s": [0.0, 3.0], "lengths_s": [3.0, 3.0],
                       "pushes": {"mood": [[0.5, -0.5], [-0.5, 0.5]]}})  # fmt: skip
    write_predictions(out, {"mood": ["mellow", "not mellow"]}, songs)
    why.write()
    page, errors = open_page(report(out).as_uri())
    rows = page.locator("table.songs tr:has(audio)")
    expect(rows).to_have_count(2)
    rows.nth(1).locator(".why-seg[data-start='3']").click()
    player = "document.querySelectorAll('table.songs tr audio')"
    wait_until(page, f"() => !{player}[1].paused")
    assert 3.0 <= page.evaluate(f"() => {player}[1].currentTime") < 6.0
    assert page.evaluate(f"() => {player}[0].paused")  # only the row clicked plays
    assert errors == []

"""The labelling page in a real headless Chromium: launching it, opening a page, and waiting
on what the page shows (imported by basename: ``from browser_page import shown_song``).

The fixtures that use it (``browser``, ``open_page``) are in this folder's conftest.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time

import pytest
from playwright.sync_api import expect, sync_playwright

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

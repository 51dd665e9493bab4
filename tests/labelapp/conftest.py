"""Fixtures of the tests that drive the labelling page in a real headless Chromium."""

from __future__ import annotations

import pytest
from browser_page import chromium


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for a test module: each test opens its pages in a context of
    their own (``open_page``), so no cookie, storage or page state passes between tests."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def open_page(browser):
    """Function: ``open_page(url, fake_clock=False, **options)`` opens ``url`` in a new page
    of a new browser context (``options`` go to `Browser.new_page`: ``viewport``...) and
    returns the page and the list its uncaught script errors are appended to; the test's
    pages close after it. With ``fake_clock`` the page's timers run on Playwright's clock,
    which flows as time does until the test fast-forwards it (``page.clock``)."""
    opened = []

    def _open(url: str, fake_clock: bool = False, **options):
        page = browser.new_page(**options)
        opened.append(page)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        if fake_clock:
            page.clock.install()
        page.goto(url)
        return page, errors

    yield _open
    for page in opened:
        page.context.close()

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
    """Function: ``open_page(url, **options)`` opens ``url`` in a new page of a new browser
    context (``options`` go to `Browser.new_page`: ``viewport``...) and returns the page and
    the list its uncaught script errors are appended to; the test's pages close after it."""
    opened = []

    def _open(url: str, **options):
        page = browser.new_page(**options)
        opened.append(page)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        return page, errors

    yield _open
    for page in opened:
        page.context.close()

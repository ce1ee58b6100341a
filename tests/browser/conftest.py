"""Fixtures for the browser tests: one real JupyterLab and one headless Chromium per session,
a fresh browser context per test, its console errors collected, a screenshot when it fails.

Every test module here sets `pytestmark = pytest.mark.browser` (deselect: -m 'not browser').
A missing Chromium FAILS these tests with the way to install it; it never skips them, so CI
cannot go green without them. The machinery is in labserver.py (shared with the benchmark).
"""

import os

import pytest

import labserver
from labserver import LabServer, chromium_missing_message, launch_chromium, new_page, screenshot_if_failed


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # keep each phase's report on the item, so the page fixture knows at teardown if the test failed
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def lab():
    try:
        server = LabServer().start()
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(labserver.CHROMIUM):
        pytest.fail(chromium_missing_message(), pytrace=False)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()


@pytest.fixture
def page(request, browser, lab):
    lab.delete_all_sessions()
    pg = new_page(browser)
    yield pg
    screenshot_if_failed(request, pg)
    pg.context.close()
    lab.delete_all_sessions()

"""Fixtures for the browser tests: one real JupyterLab and one headless Chromium per session,
a fresh browser context per test, its console errors collected, a screenshot when it fails.

Every test module here sets `pytestmark = pytest.mark.browser` (deselect with -m 'not browser'). A missing Chromium FAILS
these tests with the way to install it; it never skips them, so CI cannot go green without them.
"""

import os
import re

import pytest

import labserver
from labserver import REPO, LabServer, chromium_missing_message, launch_chromium

ARTIFACTS = REPO / "test-artifacts"

# Console messages that are not the course's fault, each with why it is harmless. Anything
# else logged as an error by the page fails the test.
# (pattern, why) pairs. None is needed with JupyterLab 4.6 and Chromium 156: every notebook of
# the course runs with an empty console. Add one only with the reason it is not the course's fault.
HARMLESS_CONSOLE: list[tuple[str, str]] = []


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


class ConsoleLog:
    """What went wrong in the page: console errors, uncaught page errors, and kernel errors.

    Kernel errors are the iopub `error` messages on the kernel's websocket. A cell's error also
    lands in its output (the tests check those there), but an exception in a widget's callback
    (a button's on_click) has no cell to show in: JupyterLab only puts it in its log console, and
    the learner just sees a click do nothing. Reading the websocket is the way to catch those."""

    _ERROR_MSG = re.compile(r'"msg_type":\s*"error"')
    _ENAME = re.compile(r'"ename":\s*"((?:[^"\\]|\\.)*)"')
    _EVALUE = re.compile(r'"evalue":\s*"((?:[^"\\]|\\.)*)"')

    def __init__(self):
        self.errors = []
        self.kernel_errors = []

    def on_console(self, msg):
        if msg.type == "error":
            self.errors.append(f"console.error: {msg.text}")

    def on_pageerror(self, exc):
        self.errors.append(f"pageerror: {exc}")

    def on_websocket(self, ws):
        ws.on("framereceived", self.on_frame)

    def on_frame(self, payload):
        text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
        # cheap test first: most frames are status, stream and comm messages
        if '"error"' not in text or not self._ERROR_MSG.search(text):
            return
        ename, evalue = self._ENAME.search(text), self._EVALUE.search(text)
        self.kernel_errors.append(f"{ename.group(1) if ename else '?'}: "
                                  f"{evalue.group(1)[:500] if evalue else '?'}")

    def unexpected(self, since: int = 0):
        return [e for e in self.errors[since:] if not any(re.search(p, e) for p, _why in HARMLESS_CONSOLE)]


def new_page(browser):
    """A page in a fresh browser context (no shared storage), its console errors collected."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    log = ConsoleLog()
    pg.on("console", log.on_console)
    pg.on("pageerror", log.on_pageerror)
    pg.on("websocket", log.on_websocket)
    pg.console_log = log
    return pg


def screenshot_if_failed(request, pg):
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            pg.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        except Exception as err:             # a crashed page cannot be photographed; say so
            print(f"screenshot failed: {err}")


@pytest.fixture
def page(request, browser, lab):
    lab.delete_all_sessions()
    pg = new_page(browser)
    yield pg
    screenshot_if_failed(request, pg)
    pg.context.close()
    lab.delete_all_sessions()

"""A real `jupyter lab` server and a real headless Chromium, for the browser tests and the benchmark.

Design note: nothing here is a stand-in. The server is the same JupyterLab a learner starts, with
private config/data/runtime dirs (so no user setting or extension on this machine leaks in), on a
free loopback port, serving a temporary COPY of notebooks/ and exercises/ (running a notebook saves
nothing into the repository). Chromium is Debian's /usr/bin/chromium driven by Python Playwright;
`playwright install` would download a browser build, which this network refuses.
Used by tests/browser/conftest.py and benchmarks/bench_notebooks.py.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"          # screenshots of failed tests (git-ignored)
CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium keeps dialling Google's hosts, which this closed network
# refuses many at a time; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
START_TIMEOUT_S = 90


def chromium_missing_message() -> str:
    return (f"headless Chromium is needed for the browser tests and {CHROMIUM} is missing. "
            "Install it with `make browser-deps` (as root: apt-get update && apt-get install -y chromium), "
            "or deselect these tests with `-m 'not browser'`.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """`with LabServer() as lab:` starts JupyterLab on a copy of the course; `lab.url(path)`."""

    def __init__(self, env_extra: dict | None = None, source: Path = REPO):
        self.source = Path(source)
        self.tmp = Path(tempfile.mkdtemp(prefix="labkit-browser-"))
        self.root = self.tmp / "course"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.tmp / "jupyter-lab.log"
        self.answers_path = self.tmp / "answers.json"     # what Question widgets record, never ~/.labkit
        self.proc = None
        self.env_extra = env_extra or {}
        self.workspaces = 0

    # ---- lifecycle --------------------------------------------------------------------
    def start(self):
        for part in ("notebooks", "exercises"):
            shutil.copytree(self.source / part, self.root / part,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        env = {**os.environ,
               "JUPYTER_CONFIG_DIR": str(self.tmp / "config"),
               "JUPYTER_DATA_DIR": str(self.tmp / "data"),
               "JUPYTER_RUNTIME_DIR": str(self.tmp / "runtime"),
               # what `labkit lab` sets, so a notebook's check() finds the copied exercises
               "LABKIT_EXERCISES": str(self.root / "exercises"),
               "LABKIT_ANSWERS": str(self.answers_path),
               **self.env_extra}
        env.pop("JUPYTERLAB_SETTINGS_DIR", None)
        env.pop("JUPYTERLAB_WORKSPACES_DIR", None)
        self._configure(env)
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={self.port}", "--ServerApp.port_retries=0",   # fail, not wander to another port
               "--IdentityProvider.token=", "--ServerApp.password=",
               f"--ServerApp.root_dir={self.root}",
               "--LabApp.expose_app_in_browser=True",                 # window.jupyterapp for the tests
               "--ServerApp.disable_check_xsrf=True"]                  # plain REST calls from the tests
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode} while starting:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status", timeout=2)
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)          # polling interval, not an assertion
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer /api/status in {START_TIMEOUT_S} s:\n{self.log_tail()}")

    def _configure(self, env):
        # The news pop-up ("receive official Jupyter news?") otherwise covers part of every screenshot.
        subprocess.run([sys.executable, "-m", "jupyter", "labextension", "disable",
                        "@jupyterlab/apputils-extension:announcements"],
                       env=env, check=True, capture_output=True, timeout=120)
        # Render every cell, not only those scrolled into view (JupyterLab 4's default windowing):
        # the tests must see every output and every widget view, as a learner scrolling through would.
        settings = Path(env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                for s in self.sessions():      # the server would shut them down too; be explicit
                    self.delete_session(s["id"])
            except (OSError, urllib.error.URLError):
                pass
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc is not None:
            self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    # ---- REST -------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base + path

    def api(self, method: str, path: str, timeout: float = 10):
        req = urllib.request.Request(self.url(path), method=method)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def sessions(self) -> list:
        return self.api("GET", "/api/sessions")

    def delete_session(self, sid: str):
        try:
            self.api("DELETE", f"/api/sessions/{sid}", timeout=30)
        except urllib.error.HTTPError as e:
            if e.code != 404:          # already gone is fine
                raise

    def delete_all_sessions(self):
        """JupyterLab reuses a notebook's kernel session across page loads: start each test afresh."""
        for s in self.sessions():
            self.delete_session(s["id"])
        deadline = time.monotonic() + 30
        while self.sessions() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not self.sessions(), f"kernel sessions still running: {self.sessions()}"


# ---- the page: what went wrong in it, and a picture when a test fails ------------------------

# Console messages that are not the course's fault, as (pattern, why) pairs; any other error the
# page logs fails the test. None is needed with JupyterLab 4.6 and Chromium 156: every notebook
# of the course runs with an empty console. Add one only with the reason it is harmless.
HARMLESS_CONSOLE: list[tuple[str, str]] = []


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


def launch_chromium(playwright):
    if not os.path.exists(CHROMIUM):
        raise FileNotFoundError(chromium_missing_message())
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


# ---- driving a notebook in the page (JupyterLab's own app object, exposed above) ----------

NOTEBOOK_READY_JS = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  if (!w || !w.content || !w.sessionContext || !w.content.model) return false;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle'
         && w.content.widgets.length > 0;
}"""

# Run every cell; the command's promise resolves when the last cell has finished (or execution
# stopped at an error), which is recorded on window for wait_for_function.
RUN_ALL_JS = """() => {
  window.__labkitRun = {done: false, result: null, error: null};
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    r => { window.__labkitRun.done = true; window.__labkitRun.result = r; },
    e => { window.__labkitRun.done = true; window.__labkitRun.error = String(e); });
}"""

# Finished: the command resolved and the kernel is idle. Whether every cell ran is for the
# test to assert: after an error JupyterLab drops the queued cells, and they never get a count.
RUN_FINISHED_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(window.__labkitRun && window.__labkitRun.done && k && k.status === 'idle');
}"""

# What every cell produced, from the notebook model (not the DOM), with its tags.
CELLS_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  return w.content.widgets.filter(c => c.model.type === 'code').map((c, i) => ({
    index: w.content.widgets.indexOf(c),
    source: c.model.sharedModel.getSource(),
    tags: c.model.getMetadata('tags') || [],
    executionCount: c.model.executionCount,
    outputs: c.model.outputs.toJSON(),
  }));
}"""


def open_notebook(page, lab: LabServer, relpath: str, timeout_s: float = 90):
    """Open a notebook alone in a new workspace and wait for its kernel; returns a locator of its
    panel. A fresh workspace, because the default one restores the tabs of earlier tests (and
    starts their kernels again)."""
    lab.workspaces += 1
    page.goto(lab.url(f"/lab/workspaces/t{lab.workspaces}/tree/{relpath}"))
    page.wait_for_function(NOTEBOOK_READY_JS, timeout=timeout_s * 1000, polling=100)
    panel_id = page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
    return page.locator(f"[id='{panel_id}']")


def run_all(page, timeout_s: float = 240):
    page.evaluate(RUN_ALL_JS)
    page.wait_for_function(RUN_FINISHED_JS, timeout=timeout_s * 1000, polling=100)
    return page.evaluate("() => window.__labkitRun")

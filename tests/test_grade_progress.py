"""A simulator check says how far its search is while it runs (issue 13): check(progress=...) in a
notebook, `labkit grade` on a terminal. The lines are display only: the verdict is the same with
them or without, and whatever reaches the pipe is shown printable and cut short."""

import os
import shutil
import threading
from pathlib import Path

import IPython
import pytest

import labkit.grading
from labkit.errors import LabkitError
from labkit.grading.grader import progress_shower
from labkit.grading.runner import _show_progress

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fix_a(tmp_path, monkeypatch):
    shutil.copy(ROOT / "solutions" / "fix_a_sim.py", tmp_path / "fix_a_sim.py")
    monkeypatch.setenv("LABKIT_GRADE_SCALES", "1")    # one writer and two, on the header kstat alone: fast
    return tmp_path


def test_a_sim_check_shows_its_search_and_gives_the_graders_verdict(fix_a):
    lines = []
    shown = labkit.grading.check("fix_a_sim", submission=fix_a, progress=lines.append)
    assert shown.status == "pass" and shown.score == shown.points == 15
    # the last line of each run is always sent, with the count of executions the verdict names
    # (the runs may be parts that run at the same time: in either order)
    finals = [ln for ln in lines if ln.startswith("explored ")]
    assert sorted(f.split(":")[0] for f in finals) == ["explored 1 kstats, 1 writer", "explored 1 kstats, 2 writers"]
    counts = [int(f.split()[-2]) for f in finals]
    assert all("every schedule" in f for f in finals)
    assert f"all {sum(counts)} schedules end well" in shown.lines[0].text
    assert all(ln.startswith("exploring ") for ln in lines if ln not in finals)


class _Terminal:
    """A stderr that is a terminal, or the cell output of a notebook: what it was written."""

    def __init__(self, tty: bool) -> None:
        self.tty, self.text = tty, ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_check_shows_its_search_by_default_on_a_terminal_and_in_a_notebook(fix_a, monkeypatch):
    # A learner calls check("fix_a_sim") with no arguments: someone is waiting for it there.
    for tty, shell in ((True, None), (False, type("ZMQInteractiveShell", (), {})())):
        err = _Terminal(tty)
        monkeypatch.setattr("sys.stderr", err)
        monkeypatch.setattr(IPython, "get_ipython", lambda shell=shell: shell)
        assert labkit.grading.check("fix_a_sim", submission=fix_a).score == 15
        assert err.text.startswith("\r") and "explor" in err.text and "\n" not in err.text
        assert err.text.endswith("\r")            # wiped: the verdict starts on a clean line
    # Elsewhere (a script whose stderr is a file or a pipe, a plain IPython) nothing is written.
    err = _Terminal(False)
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert labkit.grading.check("fix_a_sim", submission=fix_a).score == 15
    assert err.text == ""


def test_progress_true_writes_one_line_over_itself_and_wipes_it(capsys):
    show = progress_shower(True)
    show("exploring 3 kstats, 1 writer: 5 executions so far")
    show("explored 3 kstats, 1 writer: every schedule, 12 executions")
    err = capsys.readouterr().err
    assert err.startswith("\r") and "\n" not in err
    assert err.rsplit("\r", 1)[-1].startswith("explored 3 kstats, 1 writer: every schedule")
    show.end()                                     # the verdict then starts on a clean line
    assert capsys.readouterr().err == "\r" + " " * 78 + "\r"
    quiet = progress_shower(True)
    quiet.end()                                    # nothing shown: nothing to wipe
    assert capsys.readouterr().err == ""


def test_progress_must_be_a_flag_or_a_function():
    assert progress_shower(None) is None and progress_shower(False) is None
    with pytest.raises(LabkitError, match="progress must be True, False, None or a function"):
        progress_shower("yes")


def test_what_a_worker_writes_on_the_progress_pipe_is_shown_printable_and_short():
    r, w = os.pipe()
    got = []
    t = threading.Thread(target=_show_progress, args=(r, got.append))
    t.start()
    os.write(w, b"\x1b[2Jcleared?\x07\n" + b"x" * 10_000 + b"\n\n ok \n")
    os.close(w)
    t.join(10)
    assert got[0] == "[2Jcleared?"                    # escape and bell characters dropped
    assert all(len(line) <= 200 for line in got) and got[-1] == " ok "


def test_a_display_that_fails_does_not_stop_the_lines():
    r, w = os.pipe()
    seen = []

    def show(text):
        seen.append(text)
        raise RuntimeError("the notebook went away")
    t = threading.Thread(target=_show_progress, args=(r, show))
    t.start()
    os.write(w, b"one\ntwo\n")
    os.close(w)
    t.join(10)
    assert seen == ["one", "two"]

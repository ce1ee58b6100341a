"""The grader's machinery: authoring, answer checks, isolation, hidden checks, report formats."""

import json
import re
import shutil
from pathlib import Path

import pytest

from labkit.cli import main as cli
from labkit.errors import LabkitError
from labkit.grading import EXERCISES
from labkit.grading.authoring import author, strip_solutions
from labkit.grading.exercises import CHECKS
from labkit.grading.grader import grade
from labkit.grading.hidden import load_hidden
from labkit.grading.model import Report
from labkit.grading.runner import Job, run_job, run_jobs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "grading"


def run(name, submission):
    return run_job(Job(CHECKS.get(name), Path(submission)))


@pytest.fixture
def answers_only(tmp_path):
    """The solutions' answer files alone: the other checks find nothing and finish at once."""
    for f in ("decode_panic.py", "why_fix_b_races.py"):
        shutil.copy(ROOT / "solutions" / f, tmp_path / f)
    return tmp_path


# -- authoring ----------------------------------------------------------------------------------

def test_exercises_are_up_to_date(capsys):
    assert cli(["author", "--check"]) == 0, capsys.readouterr().out


def test_author_check_names_stale_missing_and_extra_files(tmp_path, capsys):
    ex = tmp_path / "exercises"
    shutil.copytree(ROOT / "exercises", ex)
    (ex / "decode_panic.py").write_text("# edited by hand\n")
    (ex / "why_fix_b_races.py").unlink()
    (ex / "notes.txt").write_text("mine")
    code = cli(["author", "--check", "--exercises", str(ex), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and not out["ok"]
    assert out["stale"] == ["decode_panic.py"]
    assert out["missing"] == ["why_fix_b_races.py"]
    assert out["extra"] == ["notes.txt"]
    assert cli(["author", "--exercises", str(ex)]) == 0
    capsys.readouterr()
    assert author(ROOT / "solutions", ex, check=True).stale == []


def test_python_stub_keeps_signature_and_docstring():
    src = 'def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n'
    out = strip_solutions(src, "ex.py")
    assert out == ('def f(x):\n    """Doc."""\n'
                   '    raise NotImplementedError("ex.py: f() is not implemented yet")\n')


def test_c_stub_fails_clearly():
    src = "int\nf(int x)\n{\n\t/* BEGIN SOLUTION */\n\treturn (x);\n\t/* END SOLUTION */\n}\n"
    out = strip_solutions(src, "ex.c")
    assert "return (x)" not in out
    assert '\tlk_assert_failed("f: not implemented yet", __FILE__, __LINE__);\n\treturn (0);' in out


@pytest.mark.parametrize("src, message", [
    ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("x = 1\n### END SOLUTION\n", "without a BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n", "inside the one opened on line 1"),
])
def test_bad_markers_are_named(src, message):
    with pytest.raises(LabkitError, match=message):
        strip_solutions(src, "bad.py")


# -- answer checks ------------------------------------------------------------------------------

def test_exercise_names_are_listed():
    assert {"decode_panic", "why_fix_b_races"} <= set(EXERCISES)


@pytest.mark.parametrize("name", ["decode_panic", "why_fix_b_races"])
def test_answers_solution_full_exercise_zero(name):
    good = run(name, ROOT / "solutions")
    assert good.status == "pass" and good.score == good.points, good
    stub = run(name, ROOT / "exercises")
    assert stub.score == 0 and stub.lines and all(ln.kind == "MISSING" for ln in stub.lines), stub
    assert "not implemented yet" in str(stub)


def test_wrong_answers_get_hints_not_answers():
    r = run("decode_panic", DATA / "answers_wrong")
    text = str(r)
    assert r.status == "partial" and r.score == 5, text  # 13 points, 5 right (one as "0xd")
    assert "under reading A the faulting byte is kbuf+0x100028 itself" in text
    assert "that is 0x4b01; the stack shows 0x4b02" in text
    assert "that is kstat32_t" in text
    assert "returned 2; expected a pair of whole numbers" in text
    assert re.search(r"decode_panic.py line \d+: missing_frame\(\) raised KeyError: 'oops'", text)
    assert "KSTAT_IOC_READ" not in text and "5698" not in text.split("headers the first pass")[0]
    why = run("why_fix_b_races", DATA / "answers_wrong")
    assert why.score == 2 and "that was the bug" in str(why)


def test_missing_file_is_reported(tmp_path):
    r = run("decode_panic", tmp_path)
    assert r.status == "missing" and "decode_panic.py: file not found" in str(r)


# -- isolation ----------------------------------------------------------------------------------

def test_each_misbehaving_check_costs_only_itself(tmp_path):
    hostile = DATA / "hostile" / "hostile.py"
    checks = list(load_hidden(hostile))
    results = {r.name: r for r in run_jobs([Job(c, tmp_path, str(hostile)) for c in checks])}
    assert results["segfaults"].status == "crash" and "SIGSEGV" in str(results["segfaults"])
    assert results["loops_forever"].status == "timeout"
    assert "did not finish within 3 s" in str(results["loops_forever"])
    assert results["exits"].status == "error" and "about to leave" in str(results["exits"])
    assert results["eats_memory"].status == "fail" and "out of memory" in str(results["eats_memory"])
    assert results["passes_after_all"].status == "pass"
    # (that a forked or double-forked child dies with its check: tests/test_grading_threats.py)
    assert results["forks_a_sleeper"].status == "timeout"


# -- hidden checks and report formats -----------------------------------------------------------

def test_hidden_checks_show_only_name_points_verdict(answers_only):
    report = grade(answers_only, hidden=DATA / "hidden")
    hidden = {r.name: r for r in report.results if r.hidden}
    assert hidden["hidden_sizeof"].score == 2 and hidden["hidden_always_fails"].score == 0
    assert hidden["hidden_partial"].score == 1 and hidden["hidden_partial"].status == "partial"
    for text in (str(report), json.dumps(report.to_json()), json.dumps(report.to_gradescope())):
        assert "SECRET" not in text
        assert "A check that always fails" in text and "hidden check failed" in text


def test_gradescope_format(capsys, answers_only):
    assert cli(["grade", str(answers_only), "--format", "gradescope"]) == 0
    gs = json.loads(capsys.readouterr().out)
    names = [t["name"].split(":")[0] for t in gs["tests"]]
    assert names == list(EXERCISES)
    assert gs["score"] == sum(t["score"] for t in gs["tests"]) == 18
    for t in gs["tests"]:
        assert set(t) >= {"name", "score", "max_score", "output", "visibility"}


def test_text_report_totals():
    r = Report("x", [run("why_fix_b_races", DATA / "answers_wrong")])
    assert str(r).splitlines()[-1] == "Score: 2/5"


def test_grade_bad_input_is_a_clear_error(tmp_path, capsys):
    assert cli(["grade", str(tmp_path / "nope")]) == 2
    assert "submission folder" in capsys.readouterr().err
    assert cli(["grade", "--many", str(tmp_path)]) == 2
    assert "no submission folders" in capsys.readouterr().err


# -- from a notebook ----------------------------------------------------------------------------

def test_check_from_a_notebook_gives_the_graders_verdict(answers_only, monkeypatch):
    import labkit.grading
    monkeypatch.setenv("LABKIT_EXERCISES", str(answers_only))
    r = labkit.grading.check("decode_panic")
    assert r.status == "pass" and r.score == 13
    assert repr(r).startswith("decode_panic: Decode the panic stack and the mdb output ... 13/13")
    assert repr(r) == str(run("decode_panic", answers_only))
    with pytest.raises(LabkitError, match="unknown check 'fix_c'"):
        labkit.grading.check("fix_c")


def test_check_finds_exercises_above_the_notebook(tmp_path, monkeypatch):
    import labkit.grading
    (tmp_path / "exercises").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.delenv("LABKIT_EXERCISES", raising=False)
    monkeypatch.chdir(tmp_path / "notebooks")
    r = labkit.grading.check("why_fix_b_races")
    assert r.status == "missing" and str(tmp_path / "exercises") in str(r)


def test_json_flag_and_output_file(answers_only, tmp_path, capsys):
    out = tmp_path / "results" / "results.json"
    assert cli(["grade", str(answers_only), "--format", "gradescope", "--output", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Score: 18/78, bonus 0/5"
    assert json.loads(out.read_text())["score"] == 18
    assert json.loads(out.read_text())["output"].endswith(": 18/78, bonus 0/5")
    assert cli(["grade", str(answers_only), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["score"] == 18 and data["max_score"] == 78 and data["seed"] == 0


@pytest.mark.parametrize("reading, index, ok", [("A", 5699, True), ("B", 5698, True), ("b", 5698, True),
                                                ("A", 5698, False), ("B", 5699, False)])
def test_decode_panic_accepts_either_reading_named(tmp_path, reading, index, ok):
    # notebook 2 argues both readings of kbuf+0x100028: the header index is checked under the one named
    src = (ROOT / "solutions" / "decode_panic.py").read_text()
    src += f"\n\ndef fault_reading():\n    return {reading!r}\n\n\ndef header_index():\n    return {index}\n"
    (tmp_path / "decode_panic.py").write_text(src)
    r = run("decode_panic", tmp_path)
    assert (r.score == r.points) is ok, str(r)
    assert f"(reading {reading.upper()})" in str(r)


@pytest.mark.parametrize("reading", ["C", 5, None])
def test_decode_panic_without_a_reading_says_to_name_one(tmp_path, reading):
    src = (ROOT / "solutions" / "decode_panic.py").read_text()
    src += f"\n\ndef fault_reading():\n    return {reading!r}\n"
    (tmp_path / "decode_panic.py").write_text(src)
    r = run("decode_panic", tmp_path)
    assert r.score == r.points - 1, str(r)
    assert "say which reading you used in fault_reading() ('A' or 'B')" in str(r)


def test_the_bonus_is_shown_apart_from_the_total_never_over_the_maximum():
    from labkit.grading.model import CheckResult
    report = Report("sub", [CheckResult("a", "A", 78, 78, "pass"), CheckResult("b", "B", 5, 5, "pass", bonus=True)])
    assert str(report).splitlines()[-1] == "Score: 78/78, bonus 5/5"
    res = report.to_gradescope()
    assert res["output"].endswith(": 78/78, bonus 5/5")
    # Gradescope's format: a total, and each test's score within its max_score; the total exceeds
    # the assignment's maximum only by the bonus earned
    assert res["score"] == 83 and all(0 <= t["score"] <= t["max_score"] for t in res["tests"])
    data = report.to_json()
    assert (data["score"], data["max_score"], data["bonus_score"], data["bonus_max"]) == (83, 78, 5, 5)
    assert data["score"] - data["bonus_score"] <= data["max_score"]
    half = Report("sub", [CheckResult("a", "A", 10, 2.5, "partial")])
    assert str(half).splitlines()[-1] == "Score: 2.5/10"   # no bonus check: no bonus part


def test_a_file_saved_with_a_byte_order_mark_or_not_in_utf8(tmp_path):
    # Notepad saves UTF-8 with a byte-order mark, which Python drops when it runs a file: a right
    # answer saved so scored 0/5 ("invalid non-printable character U+FEFF"). A file in another
    # encoding is told to be saved as UTF-8, whatever the grader's locale.
    text = (ROOT / "solutions" / "why_fix_b_races.py").read_text()
    (tmp_path / "why_fix_b_races.py").write_bytes(b"\xef\xbb\xbf" + text.encode())
    r = run("why_fix_b_races", tmp_path)
    assert r.score == r.points, str(r)
    (tmp_path / "why_fix_b_races.py").write_bytes(text.encode("utf-16"))
    r = run("why_fix_b_races", tmp_path)
    assert r.score == 0 and "why_fix_b_races.py: cannot be read as text: byte 0 is not UTF-8 (save the file as UTF-8" in str(r), str(r)

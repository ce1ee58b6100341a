"""The grader's threat model (labkit/grading/threat_model.py), line by line, against hostile
submissions: each attack loses exactly the points of the check it attacks, with the reason.

A test of guarantee X is named test_X_...; test_every_guarantee_is_tested fails if one has none.
The sandbox tests run as root here (PID namespace, cgroup, own uid); test_not_root_* run a check as
an unprivileged user to show the fallback (subreaper, memory watcher) too."""

import json
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path

import pytest

from labkit.answer_values import AnswerError, normalise, shown
from labkit.grading import sandbox, submission_copy, threat_model
from labkit.grading.base import Ctx
from labkit.grading.exercises import CHECKS
from labkit.grading.grader import grade
from labkit.grading.hidden import load_hidden
from labkit.grading.model import ManyReport, Report
from labkit.grading.runner import Job, judge_report, run_job, run_jobs
from labkit.learner_code import LearnerCodeError, load

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "grading"
ROOT_MODE = sandbox.has_pid_namespaces()
needs_root = pytest.mark.skipif(not ROOT_MODE, reason="the root sandbox needs root and PID namespaces")


def run(name, submission):
    return run_job(Job(CHECKS.get(name), Path(submission)))


def one_file(tmp_path, src: Path, name: str) -> Path:
    shutil.copy(src, tmp_path / name)
    return tmp_path


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setenv("LABKIT_GRADE_SCALES", "small")


def _alive(marker: str) -> list[int]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                    out.append(int(pid))
            except OSError:
                pass
    return out


def report_of(*results) -> Report:
    return Report("sub", list(results))


def _in_cgroups_of(prefix: str) -> set[int]:
    """Processes in a cgroup whose name starts with `prefix` (root mode: one per check)."""
    out = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if prefix in Path(f"/proc/{pid}/cgroup").read_text():
                    out.add(int(pid))
            except OSError:
                pass
    return out


@pytest.fixture(autouse=True)
def no_process_left_behind():
    """Every test here ends with no process of its own left: no child of this process (the
    non-root sandbox, fork servers, builds) and nothing in one of its checks' cgroups
    (runner names them labkit-grade-<this pid>-N), a setsid daemon included; but this process's
    shared fork server itself, which stays for the next test's checks (its children may not)."""
    from labkit.grading import forkserver
    before = sandbox.tree(os.getpid())
    yield
    from labkit.native import _zygote
    _zygote.stop()   # the stress runs' server lives as long as its caller: a test that ran race() ends it
    left: set[int] = set()
    for _ in range(100):
        server = {forkserver._shared._proc.pid} if forkserver._shared is not None else set()
        left = (sandbox.tree(os.getpid()) - before - server) | _in_cgroups_of(f"labkit-grade-{os.getpid()}-")
        if not left:
            return
        time.sleep(0.1)
    cmds = {p: Path(f"/proc/{p}/cmdline").read_bytes()[:120] for p in left if Path(f"/proc/{p}").exists()}
    pytest.fail(f"the test left processes behind: {cmds}")


def test_every_guarantee_is_tested():
    names = [n for n in globals() if n.startswith("test_")]
    for g in threat_model.GUARANTEES:
        assert any(n.startswith(f"test_{g.id}_") for n in names), f"no test of {g.id}"


# -- it cannot raise any score ---------------------------------------------------------------------

def test_score_forged_file_result_json_and_exit_earn_nothing(tmp_path):
    r = run("fix_a_sim", one_file(tmp_path, DATA / "hostile_sim" / "writes_result.py", "fix_a_sim.py"))
    assert r.score == 0 and r.points == 15 and "import" in str(r), str(r)


def test_score_exit_code_and_output_decide_nothing():
    check = CHECKS.get("fix_a_sim")
    for raw, code in [(b"", 0), (b"not json", 0), (json.dumps({"kind": "observed", "check": "other",
                                                                "data": {}}).encode(), 0)]:
        r = judge_report(check, raw, code, False, 10, False, "")
        assert r.score == 0 and r.status == "error", str(r)


def test_score_clamped_to_the_checks_points():
    check = load_hidden(DATA / "hidden" / "instructor.py").get("hidden_sizeof")
    forged = {"kind": "parts", "check": check.name, "parts": [[True, 1000.0, False]], "lines": []}
    r = judge_report(check, json.dumps(forged).encode(), 0, False, 10, False, "")
    assert r.score == 0 and r.status == "error", str(r)  # a part above the check's points is refused
    ok = {"kind": "parts", "check": check.name, "parts": [[True, check.points, False]] * 5, "lines": []}
    r = judge_report(check, json.dumps(ok).encode(), 0, False, 10, False, "")
    assert r.score == check.points, str(r)  # many parts add up to at most the check's points
    ctx = Ctx(CHECKS.get("find_schedule"))
    ctx.part(True, 1e9)
    assert ctx.finish().score == 10


def test_score_clamped_report_total_never_exceeds_the_maximum(tmp_path):
    one_file(tmp_path, DATA / "hostile_sim" / "writes_result.py", "fix_a_sim.py")
    report = grade(tmp_path)
    assert 0 <= report.score <= report.max_score


def test_judge_not_patchable_patching_the_judge_is_refused(tmp_path):
    r = run("fix_a_sim", one_file(tmp_path, DATA / "hostile_sim" / "patches_judge.py", "fix_a_sim.py"))
    assert r.score == 0 and "importing labkit.grading.sim_checks is not allowed" not in str(r)
    assert "import" in str(r) and "line 2" in str(r), str(r)


@pytest.mark.parametrize("case, words", [
    ("dunder_escape", "starts with '_'"),
    ("patches_kernel", "assigning .e_owner is not allowed"),
])
def test_judge_not_patchable_no_dunders_no_kernel_patches(tmp_path, case, words):
    r = run("fix_a_sim", one_file(tmp_path, DATA / "hostile_sim" / f"{case}.py", "fix_a_sim.py"))
    assert r.score == 0 and words in str(r), str(r)


@pytest.mark.parametrize("src, words", [
    ("import os\n", "import (only `from ... import` is allowed)"),
    ("def f():\n    try:\n        pass\n    except Exception:\n        pass\n", "try/except"),
    ("x = (1).__class__\n", "starts with '_'"),
    ("def f(g):\n    return g.gi_frame\n", "not one an exercise may use"),
    ("def f():\n    yield 1\n", "yield"),
    ("class A:\n    pass\n", "a class"),
    ("x = open\n", None),  # a name the builtins do not have: NameError while loading
])
def test_judge_not_patchable_allow_list(tmp_path, src, words):
    p = tmp_path / "fix.py"
    p.write_text(src)
    with pytest.raises(LearnerCodeError) as e:
        load(p, allowed_modules=("labkit.kernel.api",))
    assert "fix.py" in str(e.value) and (words is None or words in str(e.value)), str(e.value)


def test_judge_not_patchable_ks_flags_of_the_kstat_class(tmp_path, small):
    # ks_flags is not a guarded field (it is a scheduling point of its own), so its stores were
    # plain: `kstat_t.ks_flags = 0` replaced the kernel's property on the class, for every kstat.
    from labkit.kernel import fields
    from labkit.kernel.kstat import Kstat
    src = DATA / "hostile_sim" / "patches_kstat_class.py"
    flags = Kstat.__dict__["ks_flags"]
    try:
        with pytest.raises(LearnerCodeError, match="line 6: .*storing ks_flags on the class Kstat: only a kstat's"):
            load(src, allowed_modules=("labkit.kernel.api",), field_access=fields)
    finally:
        patched = Kstat.__dict__["ks_flags"] is not flags
        Kstat.ks_flags = flags     # (put back for the other tests, whatever happened)
    assert not patched
    r = run("fix_a_sim", one_file(tmp_path, src, "fix_a_sim.py"))
    assert r.score == 0 and "storing ks_flags on the class Kstat" in str(r) and str(r).count("BAD") == 1, str(r)
    p = tmp_path / "fix.py"
    for body, words in [("    f = kstat_rele\n    f.ks_flags = 1\n", "on function"),
                        ("    ksp.ks_flags = 'x'\n", "storing str in ks_flags"),
                        ("    kstat_t.ks_flags |= 1\n", "on the class Kstat")]:
        p.write_text("from labkit.kernel.api import *\n\ndef kstat_install(ksp):\n" + body)
        with pytest.raises(TypeError, match=words):
            load(p, allowed_modules=("labkit.kernel.api",), field_access=fields).kstat_install(Kstat(0, 9, "m", 0, "n", "c", 0, 0))
    assert Kstat.__dict__["ks_flags"] is flags


@pytest.mark.parametrize("src", ["x = 1" + "+1" * 30000, "x = " + "-" * 30000 + "1",
                                 "def f():\n    return 1" + "+1" * 3000])
def test_a_file_too_deep_to_parse_is_refused_in_words(tmp_path, src):
    # Python's parser or the loader's own walk gave up with RecursionError or MemoryError, which
    # the worker reported as "your code recursed too deeply" or "ran out of memory" (none had run).
    (tmp_path / "decode_panic.py").write_text(src + "\n")
    r = run("decode_panic", tmp_path)
    assert r.score == 0 and str(r).count("BAD") == 1, str(r)
    assert "decode_panic.py: it is nested too deeply to be read" in str(r), str(r)


def test_answers_plain_an_int_that_equals_everything_scores_nothing(tmp_path):
    r = run("decode_panic", one_file(tmp_path, DATA / "hostile_answers" / "any_int.py", "decode_panic.py"))
    assert r.score == 0 and "a class is not allowed" in str(r), str(r)


def test_output_bounded_a_huge_int_answer_costs_only_its_question(tmp_path):
    # str() of a 5000-digit int raises in Python 3.11: once, that took the whole check down
    src = (ROOT / "solutions" / "decode_panic.py").read_text()
    start = src.index("def sizeof_kstat_t():")
    end = src.index("\n\n\ndef ", start)
    (tmp_path / "decode_panic.py").write_text(src[:start] + "def sizeof_kstat_t():\n    return 10 ** 5000" + src[end:])
    r = run("decode_panic", tmp_path)
    assert r.score == r.points - 1 and "a whole number of 16610 bits" in str(r), str(r)
    with pytest.raises(AnswerError, match="at most 128 bits"):
        normalise("int", 1 << 200)
    assert shown((1 << 200, 2)) == "an object of type tuple"


def test_answers_plain_normaliser_tests_exact_types():
    class Any(int):
        def __eq__(self, other):
            return True
    with pytest.raises(AnswerError):
        normalise("int", Any(5))
    assert [normalise("int", v) for v in ("0x1642", "5698", "05698", 5698, " 5_698 ")] == [5698] * 5
    assert normalise("pair", ("2", 0)) == (2, 0) and normalise("name", " kstat_install() ") == "KSTAT_INSTALL"
    with pytest.raises(AnswerError):
        normalise("bool", 1)


def test_no_builtin_fixes_python_import_is_refused_and_said_why(tmp_path):
    r = run("fix_a_sim", one_file(tmp_path, DATA / "hostile_sim" / "imports_fix_a.py", "fix_a_sim.py"))
    assert r.score == 0 and "labkit's built-in fixes" in str(r) and "earn nothing" in str(r), str(r)


# -- each exercise is the fix it names -------------------------------------------------------------

def _swapped_sim(tmp_path, name: str) -> Path:
    """fix_a_sim.py made of fix B (the buggy install, a counting first pass), or fix_b_sim.py made
    of fix A (the locked install beside the buggy first pass): the other exercise's fix."""
    sol_a = (ROOT / "solutions" / "fix_a_sim.py").read_text()
    sol_b = (ROOT / "solutions" / "fix_b_sim.py").read_text()
    locked_install = sol_a[sol_a.rindex("def kstat_install"):]
    counting = sol_b[sol_b.rindex("def header_kstat_update"):]
    head = "from labkit.kernel.api import *  # noqa: F401,F403\n\n\n"
    if name == "fix_a_sim.py":
        src = head + ("def kstat_install(ksp):\n    ksp.ks_flags &= ~KSTAT_FLAG_INVALID\n"
                      "    kstat_rele(ksp)\n\n\n") + counting
    else:
        buggy_count = counting.replace("if kstat_zone_find(ksp, zoneid):",
                                       "if kstat_zone_find(ksp, zoneid) and "
                                       "(ksp.ks_flags & KSTAT_FLAG_INVALID) == 0:")
        assert buggy_count != counting
        src = head + buggy_count + "\n\n" + locked_install
    (tmp_path / name).write_text(src)
    return tmp_path


@pytest.mark.parametrize("check, filename, other", [
    ("fix_a_sim", "fix_a_sim.py", "header_kstat_update()"),
    ("fix_b_sim", "fix_b_sim.py", "kstat_install()"),
])
def test_one_fix_per_exercise_sim_file_of_the_other_fix_earns_nothing(tmp_path, small, check, filename, other):
    # Each of these passes every schedule (it is a right fix, of the other kind): before the
    # rule it scored 15/15 in the other fix's exercise.
    r = run(check, _swapped_sim(tmp_path, filename))
    assert r.score == 0 and f"{filename} also defines {other}" in str(r), str(r)
    assert "changes" in str(r) and "only" in str(r)


@pytest.mark.parametrize("check, filename, source, other", [
    ("fix_a_c", "fix_a.c", ROOT / "solutions" / "fix_b.c", "header_kstat_update()"),
    ("fix_b_c", "fix_b.c", ROOT / "solutions" / "fix_a.c", "kstat_install()"),
    # the template's text for kstat_install, made fix A by macros around it
    ("fix_b_c", "fix_b.c", DATA / "hostile_c" / "macro_fix_a_as_fix_b.c", "kstat_install()"),
])
def test_one_fix_per_exercise_c_file_of_the_other_fix_earns_nothing(tmp_path, check, filename, source, other):
    shutil.copy(source, tmp_path / filename)
    r = run(check, tmp_path)
    assert r.score == 0 and f"{filename} changes {other}" in str(r), str(r)
    assert "refused before it ran" in str(r) and "learner_template.c" in str(r)


def test_one_fix_per_exercise_c_file_without_the_kernels_other_functions_is_told_so(tmp_path):
    # fix B's two functions alone, kstat_install() left out: 'changes kstat_install()' before,
    # which sent the learner looking for a change they never made.
    src = (ROOT / "solutions" / "fix_b.c").read_text()
    start = src.index("void\nkstat_install(")
    end = src.index("\n}\n", start) + 3
    (tmp_path / "fix_b.c").write_text(src[:start] + src[end:])
    r = run("fix_b_c", tmp_path)
    assert r.score == 0 and "fix_b.c has no kstat_install(): this exercise changes" in str(r), str(r)
    assert "changes kstat_install()" not in str(r), str(r)


def hostile_c(tmp_path, case: str) -> Path:
    """solutions/fix_a.c with a hostile snippet appended (most files in hostile_c/ are snippets)."""
    src = (DATA / "hostile_c" / f"{case}.c").read_text()
    if "Appended to solutions/fix_a.c" in src:
        src = (ROOT / "solutions" / "fix_a.c").read_text() + "\n" + src
    (tmp_path / "fix_a.c").write_text(src)
    return tmp_path


def test_wrong_fixes_fail_when_c_forges_when_kstat_install_returned(tmp_path):
    # A fix A that never makes a kstat visible, and whose count pass marks every INVALID kstat as
    # "kstat_install not yet returned" beside it (ekstat_t's old e_done, through a copy of its
    # layout): 7/10 when that mark decided (at 20a3869). The grader now refuses a fix A that
    # changes the count pass (one fix per exercise); and run as it is, the engine's own record
    # (g.unreturned) says those installs had returned, so every copy lacks them. Since e_next left
    # ekstat_t too, the store lands 8 bytes past the kstat's allocation, in the heap's own
    # bookkeeping: the run either crashes (in its child) or goes on and is seen through.
    from labkit.native import race
    r = run("fix_a_c", hostile_c(tmp_path, "forges_installed"))
    assert r.score == 0 and r.status == "fail" and "changes header_kstat_update()" in str(r), str(r)
    for kw in (dict(rounds=200, forced=True), dict(seconds=0.3)):
        out = race(source=tmp_path / "fix_a.c", writers=2, **kw)
        assert out.outcome in ("ok", "crash"), str(out)
        if out.outcome == "ok":
            assert out.overflows == out.uninstalled_copies == 0, str(out)
            assert out.missing_copies >= (199 if kw.get("forced") else 1), str(out)
            assert "(installed before the copy began)" in out.first_missing, str(out)


def test_wrong_fixes_fail_when_c_unlinks_kstats_from_the_chain(tmp_path):
    # The buggy count pass that unlinks every INVALID kstat from the chain through a copy of
    # ekstat_t's old layout (its e_next) and links them back after the copy: no overflow, and the
    # record, walking the same links, asked for none of them: 10/10 at 6e9f548. The chain is the
    # engine's own array now; the stores change nothing it walks, and the bug overflows again.
    shutil.copy(DATA / "hostile_c" / "hides_kstats_by_unlinking.c", tmp_path / "fix_b.c")
    r = run("fix_b_c", tmp_path)
    assert r.score == 0 and r.status == "fail", str(r)
    assert "forced interleavings" in str(r) and "overflowed its buffer 500 times in 500 rounds" in str(r), str(r)


def test_no_builtin_fixes_c_use_is_refused(tmp_path):
    r = run("fix_a_c", hostile_c(tmp_path, "uses_builtin_fix"))
    assert r.score == 0 and "labkit's built-in fixes earn nothing" in str(r), str(r)


@pytest.mark.parametrize("case, words", [
    ("constructor", "__attribute__ is not allowed"),
    ("constructor_section", "__attribute__ is not allowed"),
    ("pasted_asm", "token pasting"),
    ("includes_solution", 'only #include "kstat_model.h" and system headers'),
    ("calls_system", "calls or uses system"),
    ("leaks_memory", "calls or uses malloc"),
    ("defines_engine_symbol", "defines r_over"),
    ("installs_signal_handler", "calls or uses sigaction"),
    ("calls_the_harness", "calls or uses lk_hold_bykid"),
    # read as the compiler reads it: backslash-newlines joined, digraphs, every directive by name
    ("spliced_pragma", "line 82: #pragma is not allowed"),
    ("spliced_attribute", "line 81: __attribute__ is not allowed"),
    ("digraph_include", 'line 82: only #include "kstat_model.h" and system headers'),
    ("imports_a_file", "line 82: #import is not allowed"),
    ("c23_attribute", "attributes ([[...]]) are not allowed"),
    ("named_address_space", "__seg_fs is not allowed"),
    # a call that only the build that runs has (its flags define NDEBUG), or only TSan's
    ("calls_system_only_when_built", "calls or uses system"),
    ("calls_system_only_under_tsan", "__SANITIZE_THREAD__ is not allowed"),
])
def test_c_static_refuses_code_outside_the_fix(tmp_path, case, words):
    r = run("fix_a_c", hostile_c(tmp_path, case))
    assert r.score == 0 and "refused before it ran" in str(r) and words in str(r), str(r)
    assert len(str(r)) < 4000  # the compiler's words are cut too
    assert "root:x:0" not in str(r)  # /etc/passwd, included: the compiler's errors showed it


def test_c_static_refuses_a_forger_hidden_behind_a_digraph(tmp_path):
    # The buggy kernel as fix B, '%:pragma weak g' (a digraph) and a copy of struct lk_run: its copy
    # pass forged the record, and both stress runs passed (7/10 with the static check of 6e9f548)
    shutil.copy(DATA / "hostile_c" / "forges_the_record_by_digraph.c", tmp_path / "fix_b.c")
    r = run("fix_b_c", tmp_path)
    assert r.score == 0 and "refused before it ran" in str(r), str(r)
    assert "line 13: #pragma is not allowed" in str(r), str(r)


def test_c_static_bounds_the_compiler(monkeypatch):
    # macros that double 40 times: the compiler worked on it until the check's timeout (as much as
    # 60 s, then a traceback); now it gets COMPILE_CPU_S of CPU and COMPILE_MEMORY_MB, whichever
    # ends first, and the file is refused saying so
    from labkit.grading import native_checks
    monkeypatch.setattr(native_checks, "COMPILE_CPU_S", 1)
    problems = native_checks.static_check(str(DATA / "hostile_c" / "slow_to_compile.c"))
    assert len(problems) == 1 and "does not compile: the compiler" in problems[0], problems
    assert "more than 1 s of CPU time" in problems[0] or "more than 1024 MiB" in problems[0], problems


# -- it cannot read what it must not -----------------------------------------------------------------

@needs_root
def test_cannot_read_solutions_grader_or_hidden(tmp_path):
    hidden_dir = tmp_path / "hidden"
    hidden_dir.mkdir()
    shutil.copy(DATA / "escapes" / "escapes.py", hidden_dir / "escapes.py")
    (hidden_dir / "SECRET_expected_values.py").write_text("# SECRET\n")
    check = load_hidden(hidden_dir / "escapes.py").get("looks_around")
    sub = tmp_path / "sub"
    sub.mkdir()
    r = run_job(Job(check, sub, str(hidden_dir / "escapes.py"), hide=(str(ROOT / "solutions"), str(hidden_dir))))
    text = " ".join(ln.text for ln in r.lines)
    assert "uid=0" not in text and re.search(r"uid=\d+", text), text
    assert "solutions=[]" in text, text  # an empty tmpfs where solutions/ is
    assert str(hidden_dir) not in text and "pytest" not in text, text  # no grader, no paths, no env
    assert re.search(r"pids=\['1', '\d+'\]", text), text  # alone in its PID namespace


def test_cannot_read_answer_reading_proc_fails(tmp_path):
    r = run("decode_panic", one_file(tmp_path, DATA / "hostile_answers" / "reads_proc.py", "decode_panic.py"))
    assert r.score == 0 and "line 6: the attribute .read is not one" in str(r), str(r)
    assert str(r).count("BAD") == 1, str(r)  # one refusal, said once


def test_cannot_read_the_worker_command_line_names_nothing():
    """Workers are forked from the fork server: their command line and environment are the
    server's, which name nothing but the server's socket and the workers' minimal settings."""
    from labkit.grading import forkserver, runner
    server = forkserver.ForkServer(runner._base_env())
    try:
        pid = server._proc.pid
        for _ in range(100):  # (right after exec the kernel may not show the new command line yet)
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
            if argv:
                break
            time.sleep(0.05)
        environ = dict(e.split(b"=", 1) for e in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if e)
    finally:
        server.close()
    assert argv[1:4] == [b"-P", b"-c", forkserver.SERVE.encode()] and argv[4].isdigit(), argv
    assert {k.decode() for k in environ} <= {"PATH", "LANG", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE",
                                             "CC", *runner.config.WORKER_SETTINGS}, environ


def test_cannot_read_the_fork_server_never_receives_a_job(tmp_path, monkeypatch):
    """What the server is sent (and so what every later worker's memory inherits) is the sandbox's
    set-up only: not the job, the hidden source, or the folders hidden from learner code."""
    from labkit.grading import forkserver
    sent = []
    real = forkserver.ForkServer.spawn
    monkeypatch.setattr(forkserver.ForkServer, "spawn",
                        lambda self, request, *a: sent.append(json.dumps(request)) or real(self, request, *a))
    hidden_dir = tmp_path / "hidden"
    hidden_dir.mkdir()
    shutil.copy(DATA / "escapes" / "escapes.py", hidden_dir / "escapes.py")
    check = load_hidden(hidden_dir / "escapes.py").get("looks_around")
    sub = tmp_path / "sub"
    sub.mkdir()
    run_job(Job(check, sub, str(hidden_dir / "escapes.py"), hide=(str(ROOT / "solutions"), str(hidden_dir))))
    assert len(sent) == 1
    for secret in (str(hidden_dir), "looks_around", "def looks_around", str(ROOT / "solutions"), str(sub)):
        assert secret not in sent[0], (secret, sent[0])


def test_cannot_reach_another_check_no_shared_build_cache(tmp_path, monkeypatch):
    # The grader's own LABKIT_NATIVE_CACHE must not reach its checks either: as root, a cache the
    # checks' uids shared would let one submission plant a module for C another one loads.
    monkeypatch.setenv("LABKIT_NATIVE_CACHE", str(tmp_path / "grader-cache"))
    hostile = DATA / "escapes" / "escapes.py"
    checks = load_hidden(hostile)
    first = run_job(Job(checks.get("plants_a_module"), tmp_path, str(hostile)))
    assert "cache=" in str(first) and str(tmp_path / "grader-cache") not in str(first), str(first)
    second = run_job(Job(checks.get("looks_for_a_planted_module"), tmp_path, str(hostile)))
    assert "found=[]" in str(second), str(second)
    assert not (tmp_path / "grader-cache").exists()


@needs_root
def test_cannot_reach_another_check_two_graders_never_share_a_uid():
    # Slots were counted per grader process: two graders at once as root both gave their first
    # check uid 61000, whose code could then read the other's scratch folder (the submission).
    import subprocess
    import sys
    mine = sandbox.take_uid()
    try:
        other = subprocess.run([sys.executable, "-c", "from labkit.grading import sandbox; "
                                "print(sandbox.take_uid())"], capture_output=True, text=True, timeout=60)
        assert other.returncode == 0 and int(other.stdout) != mine, (mine, other.stdout, other.stderr)
    finally:
        sandbox.give_uid(mine)


# -- it cannot outlive its check -----------------------------------------------------------------

def test_cannot_outlive_setsid_double_fork(tmp_path):
    hostile = DATA / "escapes" / "escapes.py"
    r = run_job(Job(load_hidden(hostile).get("leaves_a_daemon"), tmp_path, str(hostile)))
    assert r.status == "pass", str(r)
    for _ in range(50):
        if not _alive("987.654"):
            break
        time.sleep(0.1)
    assert not _alive("987.654"), "the daemon outlived its check"


# -- it cannot take the machine -------------------------------------------------------------------

def test_memory_bounded_native_checks_too(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_GRADE_MEMORY_MB", "300")
    hostile = DATA / "escapes" / "escapes.py"
    check = load_hidden(hostile).get("hogs_memory")
    assert check.native
    r = run_job(Job(check, tmp_path, str(hostile)))
    assert r.score == 0 and "300 MiB" in str(r), str(r)


def test_time_bounded_a_loop_costs_only_its_check(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_GRADE_TIMEOUT", "4")
    (tmp_path / "find_schedule.py").write_text("def panicking_schedule():\n    while True:\n        pass\n")
    shutil.copy(ROOT / "solutions" / "why_fix_b_races.py", tmp_path)
    a, b = run_jobs([Job(CHECKS.get("find_schedule"), tmp_path), Job(CHECKS.get("why_fix_b_races"), tmp_path)])
    assert a.status == "timeout" and b.status == "pass", (str(a), str(b))


def test_output_bounded_a_huge_answer_is_cut(tmp_path):
    r = run("decode_panic", one_file(tmp_path, DATA / "hostile_answers" / "huge.py", "decode_panic.py"))
    text = str(r)
    assert r.score == 0 and len(text) < 6000 and "AAAAAAAAAA" * 30 not in text, text
    assert "at most 200 are read" in text or "not shown" in text, text
    assert "ran out of memory" in text, text  # [0] * 10**10 is a MemoryError, said as such


def test_report_unforgeable_gradebook_names_are_never_formulas():
    # A submission folder's name is its owner's choice. In gradebook.csv, '=HYPERLINK(...)' was a
    # formula that the instructor's spreadsheet ran, and a carriage return in a name split its row.
    import csv
    import io
    evil = ['=HYPERLINK("http://x","a")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "alice", "b=c"]
    many = ManyReport("class", {n: Report(n, [run("why_fix_b_races", DATA / "answers_wrong")])
                                for n in evil})
    rows = list(csv.reader(io.StringIO(many.to_csv(), newline="")))[1:]
    assert [row[0] for row in rows] == ["'" + n for n in evil[:4]] + [" x", "\\rx", "alice", "b=c"]
    assert {row[1] for row in rows} == {"2"}


def test_report_unforgeable_learner_text_cannot_start_or_hide_a_line(tmp_path, small):
    # The message of a learner's exception is shown in its BAD line. It held a newline and a forged
    # "    GOOD    ..." line, and ANSI escapes that wiped the BAD line in a terminal: the text report
    # (and Gradescope's output) showed them as the grader's own lines.
    r = run("fix_a_sim", one_file(tmp_path, DATA / "hostile_sim" / "forges_report_lines.py", "fix_a_sim.py"))
    text = str(r)
    assert r.score == 0 and "your code raised ValueError (thread W, fix_a_sim.py line 7)" in text, text
    assert [ln.split()[0] for ln in text.splitlines()[1:] if not ln.startswith(" " * 12)] == ["BAD"], text
    assert all(c.isprintable() or c == "\n" for c in text), repr(text)
    assert "\\x1b[2K" in text and "\\u202e" in text, text      # shown, not acted on
    gs = report_of(r).to_gradescope()["tests"][0]["output"]
    assert gs == "\n".join(str(ln) for ln in r.lines) and "\x1b" not in gs, gs
    many = ManyReport("x", {"alice\n\x1b[2Kbob": report_of(r)})
    assert len(str(many).splitlines()) == 3 and "\x1b" not in str(many), str(many)


def test_output_bounded_lowercase_schedule_gets_a_hint(tmp_path):
    (tmp_path / "find_schedule.py").write_text("def panicking_schedule():\n    return 'w12 r25 w1 r2'\n")
    r = run("find_schedule", tmp_path)
    assert r.score == 0 and "capitals" in str(r), str(r)


# -- wrong fixes that passed before ---------------------------------------------------------------

@pytest.mark.parametrize("case, check, reason", [
    ("count_one_extra", "fix_b_sim", "two writers (W and X): the kernel panicked"),
    ("copy_at_most_count", "fix_b_sim", "the snapshot dropped kstat"),
    ("clears_invalid_in_count", "fix_b_sim", "cleared KSTAT_FLAG_INVALID of kstat"),
    ("never_releases", "fix_a_sim", "is never released with kstat_rele"),
    ("over_allocates", "fix_b_sim", "the count over-allocates"),
    ("does_nothing", "fix_a_sim", "still not visible after their kstat_install returned"),
])
def test_wrong_fixes_fail_with_the_reason(tmp_path, small, case, check, reason):
    r = run(check, one_file(tmp_path, DATA / "wrong_sim" / f"{case}.py", f"{check}.py"))
    assert r.score == 0 and r.points == 15 and reason in str(r), str(r)
    if case == "never_releases":
        assert "kstat_install (fix_a_sim.py line" in str(r), str(r)  # where the hold was taken


def test_wrong_fixes_fail_an_install_is_not_forged_by_a_helper_named_kstat_install(tmp_path, small):
    # Which clear of INVALID is a kstat's install was found by the NAME kstat_install on the
    # Python stack (and that frame's first argument): W's fix A that also makes X's kstat visible,
    # before X's own kstat_install runs, through a nested helper named kstat_install, was taken
    # as X's install. At main f985248 its schedule 'W' (W first: it clears X's kstat 3) ended
    # well, nothing recorded; the check scored it 0 only for another schedule it found first (a
    # kstat dropped from the copy). Now the kernel model's own call of kstat_install for that
    # kstat, on that thread (Kernel.run_kstat_install), is what makes a clear an install.
    from labkit.grading.sim_checks import judge_execution, observe_execution
    from labkit.kernel import Scenario
    from labkit.sched.replay import replay
    hostile = DATA / "hostile_sim" / "forges_install_by_name.py"
    scenario = Scenario(3, hostile, writers=2)
    said = judge_execution(observe_execution(replay(scenario, "W"), scenario), 3, 2)
    assert said is not None and said.startswith(
        "thread W cleared KSTAT_FLAG_INVALID of kstat 3 in kstat_install(): only that kstat's own "
        "kstat_install may make it visible"), said
    r = run("fix_a_sim", one_file(tmp_path, hostile, "fix_a_sim.py"))
    assert r.score == 0 and r.points == 15 and "BAD" in str(r), str(r)
    solution = Scenario(3, ROOT / "solutions" / "fix_a_sim.py", writers=2)
    assert judge_execution(observe_execution(replay(solution, "W"), solution), 3, 2) is None


@pytest.mark.parametrize("check", ["fix_a_sim", "fix_b_sim"])
def test_wrong_fixes_fail_but_solutions_pass_at_small_scale(small, check):
    r = run(check, ROOT / "solutions")
    assert r.status == "pass" and r.score == 15, str(r)


# -- the non-root fallback --------------------------------------------------------------------------

def test_cannot_outlive_not_root_subreaper_and_memory_watch(tmp_path, monkeypatch):
    """The fallback a learner's notebook gets (no namespace, cgroup or uid), forced here: the
    daemon still dies (subreaper, tree killed), and a memory hog is stopped by the watcher.
    (Run in-process as root with the root sandbox switched off: this machine's Python lives
    under /root, which an unprivileged uid cannot execute.)"""
    monkeypatch.setattr(sandbox, "_pidns_ok", False)
    monkeypatch.setenv("LABKIT_GRADE_MEMORY_MB", "300")
    hostile = DATA / "escapes" / "escapes.py"
    checks = load_hidden(hostile)
    daemon = run_job(Job(checks.get("leaves_a_daemon"), tmp_path, str(hostile)))
    assert daemon.status == "pass", str(daemon)
    for _ in range(50):
        if not _alive("987.654"):
            break
        time.sleep(0.1)
    assert not _alive("987.654"), "the daemon outlived its check"
    hog = run_job(Job(checks.get("hogs_memory"), tmp_path, str(hostile)))
    assert hog.score == 0 and "300 MiB" in str(hog), str(hog)


def test_server_pristine_a_worker_cannot_change_the_fork_server_for_the_next_check(tmp_path, monkeypatch):
    """A notebook's checks share one fork server (forkserver.shared). Without root the worker runs
    as the server's uid (forced here as in the test above, with CAP_SYS_PTRACE given up, as a
    learner's uid has none): its patch of a module stays in its own copy, it cannot ptrace the
    server or write its memory (with the server made not dumpable taken out, it attached and
    the next check's worker.MAX_JOB was what it wrote: tried; at main 47e23b6 so could any
    worker of a grade run for the run's later checks), and a server it kills is started afresh
    for the next check, which passes."""
    monkeypatch.setattr(sandbox, "_pidns_ok", False)
    tampers = DATA / "escapes" / "tampers.py"
    checks = load_hidden(tampers)

    def run(name: str) -> str:
        return str(run_job(Job(checks.get(name), tmp_path, str(tampers))))

    first = run("tampers_with_the_server")
    server = re.search(r"server=(\d+)", first).group(1)
    assert "ptrace Operation not permitted" in first and "mem Permission denied" in first, first
    second = run("looks_for_tampering")
    assert f"server={server} tampered=False max_job={4 << 20}" in second, second   # the same server
    assert server in run("kills_the_server")
    third = run("looks_for_tampering")
    assert re.search(r"server=(\d+) tampered=False max_job=4194304", third), third
    assert f"server={server} " not in third, third                                   # a fresh one
    shutil.copy(ROOT / "solutions" / "why_fix_b_races.py", tmp_path)
    after = run_job(Job(CHECKS.get("why_fix_b_races"), tmp_path))
    assert after.status == "pass", str(after)


# ---- cannot_hide_from_the_search: shared state the search does not order ---------------------
CHANNELS = DATA / "channels"


@pytest.mark.parametrize("src, words", [
    ("seen = []\n", "only a constant"),
    ("seen = dict()\n", "only a constant"),
    ("from labkit.kernel.api import *\nlock = kstat_chain_lock\nLIMIT = (1, 2)\n"
     "def f(x, seen=[]):\n    return x\n", "a default argument must be a constant"),
    ("def deco(f):\n    return f\n@deco\ndef g():\n    pass\n", "a decorator on g()"),
    ("for i in range(3):\n    pass\n", "not for"),
    ("def f(k):\n    k.ks_ndata = k.ks_data_size = 0\n", "on a line of its own"),
    ("def f(k):\n    del k.ks_ndata\n", "deleting .ks_ndata"),
])
def test_cannot_hide_from_the_search_shared_state_is_refused(tmp_path, src, words):
    p = tmp_path / "fix.py"
    p.write_text(src)
    with pytest.raises(LearnerCodeError) as e:
        load(p, allowed_modules=("labkit.kernel.api",))
    assert "fix.py line" in str(e.value) and words in str(e.value), str(e.value)


def test_cannot_hide_from_the_search_constants_and_functions_load(tmp_path):
    p = tmp_path / "fix.py"
    p.write_text('"""doc"""\nfrom labkit.kernel.api import *\nMASK = KSTAT_FLAG_INVALID | 1\n'
                 'NAMES: tuple = ("a", "b")\n\ndef f(x, n=-1, s="s"):\n    return x + n\n')
    assert load(p, allowed_modules=("labkit.kernel.api",)).f(3) == 2


def test_cannot_hide_from_the_search_top_level_list_fix_scores_nothing(tmp_path, small):
    r = run("fix_b_sim", one_file(tmp_path, CHANNELS / "top_level_list.py", "fix_b_sim.py"))
    assert r.score == 0 and "line 7" in str(r) and "top level" in str(r), str(r)


def test_cannot_hide_from_the_search_field_channel_scores_nothing(tmp_path, small):
    # Both halves of the channel (the writer's store, the reader's count) are learner code, which
    # an exercise no longer allows (one_fix_per_exercise): graded, it fails for that first...
    r = run("fix_b_sim", one_file(tmp_path, CHANNELS / "field_channel.py", "fix_b_sim.py"))
    assert r.score == 0 and "also defines kstat_install()" in str(r), str(r)
    # ... and the guard stops it anyway wherever both halves may run (labkit explore --fix FILE;
    # W and X, who both run a fix A, could share state the same way).
    from labkit.kernel import Scenario
    from labkit.sched import outcomes
    errors = {str(o.failure) for o in outcomes(Scenario(fix=str(CHANNELS / "field_channel.py")),
                                               "dpor", detect_races=False) if o.kind == "error"}
    assert any("storing ks_private without kstat_chain_lock held" in e for e in errors), errors


def _first_outcome(tmp_path, body: str):
    """The first execution of the one-writer small scenario with kstat_install replaced."""
    from labkit.kernel import Scenario
    from labkit.sched import outcomes
    p = tmp_path / "fix.py"
    p.write_text("from labkit.kernel.api import *\n\ndef kstat_install(ksp):\n" + body)
    return next(iter(outcomes(Scenario(fix=str(p)), "dpor", detect_races=False)))


@pytest.mark.parametrize("body, words", [
    ("    n = ksp.ks_ndata\n", "reading ks_ndata without kstat_chain_lock held"),
    ("    t = gethrtime()\n", "calling gethrtime() without kstat_chain_lock held"),
    ("    kstat_install.ks_private = 1\n", "storing ks_private on function"),
    ("    mutex_enter(kstat_chain_lock)\n    ksp.ks_private = [1]\n", "storing list in ks_private"),
    ("    mutex_enter(kstat_chain_lock)\n    ksp.ks_kid = 9\n", "set before kstat_install and never changes"),
    ("    ksp.ks_snaptime += 1\n", "reading ks_snaptime without kstat_chain_lock held"),
])
def test_cannot_hide_from_the_search_unordered_accesses_fail_the_run(tmp_path, body, words):
    o = _first_outcome(tmp_path, body)
    assert o.kind == "error" and words in str(o.failure), (o.kind, o.failure)


def test_cannot_hide_from_the_search_fields_under_the_lock_are_plain(tmp_path):
    body = ("    mutex_enter(kstat_chain_lock)\n    ksp.ks_private += 2\n    ksp.ks_private = ksp.ks_private * 3\n"
            "    t = gethrtime()\n    ksp.ks_flags &= ~KSTAT_FLAG_INVALID\n    mutex_exit(kstat_chain_lock)\n"
            "    kstat_hold_bykid(ksp.ks_kid, ksp.e_zones[0])\n    kstat_rele(ksp)\n")
    o = _first_outcome(tmp_path, body)
    assert o.kind == "ok", (o.kind, o.failure)


def test_cannot_read_a_symlink_to_the_solution_earns_nothing_and_says_why(tmp_path, small):
    (tmp_path / "fix_a_sim.py").symlink_to(ROOT / "solutions" / "fix_a_sim.py")
    r = run("fix_a_sim", tmp_path)
    assert r.score == 0 and "fix_a_sim.py is a symbolic link: submit the file itself" in str(r), str(r)


def test_submission_bounded_many_big_files_are_not_all_copied(tmp_path):
    # 300 files of 1 MiB: every check copied all 300 MiB into its folder, as root, before any
    # timeout (a folder of 10,000 such files filled /tmp once per check). Now the check's own
    # files come first and the rest stop at the bound, saying so.
    for i in range(300):
        with open(tmp_path / f"junk{i:03}.bin", "wb") as f:
            f.truncate(1 << 20)       # (sparse: the test itself writes nothing)
    shutil.copy(ROOT / "solutions" / "why_fix_b_races.py", tmp_path / "zz_why_fix_b_races.py")
    shutil.copy(ROOT / "solutions" / "why_fix_b_races.py", tmp_path)
    hostile = DATA / "hidden" / "counts_files.py"
    copied = run_job(Job(load_hidden(hostile).get("counts_files"), tmp_path, str(hostile)))
    files, size = (int(x) for x in re.search(r"files=(\d+) bytes=(\d+)", str(copied)).groups())
    assert files <= submission_copy.MAX_SUBMISSION_FILES and size <= submission_copy.MAX_SUBMISSION_BYTES, str(copied)
    assert "first=['junk000.bin']" in str(copied), str(copied)
    r = run("why_fix_b_races", tmp_path)        # its own file is copied first, whatever else is there
    assert r.score == r.points, str(r)
    from labkit.grading.base import Missing, Submission
    copy = Path(tempfile.mkdtemp()) / "copy"
    try:
        skipped = submission_copy.copy_submission(tmp_path, copy)
        with pytest.raises(Missing, match="or it was not copied: the grader copies at most 64 files"):
            Submission(copy, skipped=skipped).file("zz_why_fix_b_races.py")
    finally:
        shutil.rmtree(copy.parent)


def test_submission_bounded_a_linked_submission_folder_is_not_graded_as_its_target(tmp_path):
    # In `grade --many`, a submission folder that was a link to solutions/ was copied (by the
    # grader, before the sandbox hides solutions/) and graded as the solution: full marks.
    from labkit.grading.grader import grade_many
    (tmp_path / "alice").mkdir()
    shutil.copy(ROOT / "solutions" / "why_fix_b_races.py", tmp_path / "alice")
    (tmp_path / "mallory").symlink_to(ROOT / "solutions")
    many = grade_many(tmp_path, only=["why_fix_b_races"])
    alice, mallory = many.reports["alice"].results[0], many.reports["mallory"].results[0]
    assert alice.score == alice.points, str(alice)
    assert mallory.score == 0 and "the submission folder is a symbolic link" in str(mallory), str(mallory)


def test_submission_bounded_a_link_swapped_in_after_the_look_is_not_read(tmp_path, monkeypatch):
    # The grader looked at a file (not a link), then copied it by name, following links: a file
    # swapped for a link to solutions/ in between (a live folder on a shared machine) was copied
    # as the solution and scored full marks. Simulated here by a look that is fooled.
    (tmp_path / "decode_panic.py").symlink_to(ROOT / "solutions" / "decode_panic.py")
    monkeypatch.setattr(Path, "is_symlink", lambda self: False)
    monkeypatch.setattr(os.path, "islink", lambda path: False)
    r = run("decode_panic", tmp_path)
    assert r.score == 0 and "decode_panic.py is a symbolic link: submit the file itself" in str(r), str(r)


def test_time_bounded_a_named_pipe_for_a_file_is_refused_not_read(tmp_path, small):
    # Reading a FIFO with no writer would block the grader itself, before any timeout applies.
    os.mkfifo(tmp_path / "fix_a_sim.py")
    r = run("fix_a_sim", tmp_path)
    assert r.score == 0 and "fix_a_sim.py is not a regular file (a named pipe" in str(r), str(r)


def test_submission_bounded_an_answers_file_costs_only_participation(tmp_path, capsys):
    # answers.json is read by the grader itself (root on Gradescope), after the checks. JSON
    # nested 200,000 deep raised RecursionError there: `grade --many` ended in a traceback after
    # grading everyone, with no report for anyone. A link to another submission's answers.json
    # was read as this one's (participation points), and ids of any length were shown whole.
    from labkit.cli import main as cli
    for name in ("alice", "mallory", "trudy", "eve"):
        (tmp_path / name).mkdir()
        shutil.copy(ROOT / "solutions" / "why_fix_b_races.py", tmp_path / name)
    (tmp_path / "alice" / "answers.json").write_text(json.dumps(
        {"answers": [{"qid": "01-fd", "correct": True}, {"qid": "x" * 5000}]}))
    (tmp_path / "mallory" / "answers.json").write_text('{"answers": ' + "[" * 200_000 + "]" * 200_000 + "}")
    (tmp_path / "trudy" / "answers.json").symlink_to(tmp_path / "alice" / "answers.json")
    os.mkfifo(tmp_path / "eve" / "answers.json")     # read, it would block the grader
    assert cli(["grade", "--many", str(tmp_path), "--only", "why_fix_b_races", "--only", "participation",
                "--participation-points", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["submissions"]
    for name, words in [("mallory", "answers.json is nested too deeply to be read"),
                        ("trudy", "answers.json is a symbolic link and was not read"),
                        ("eve", "answers.json is not a regular file and was not read")]:
        checks = {c["name"]: c for c in out[name]["checks"]}
        assert checks["why_fix_b_races"]["score"] == 5, checks
        part = checks["participation"]
        assert part["score"] == 0 and part["points"] == 2 and words in json.dumps(part), (name, part)
    alice = json.dumps(out["alice"])
    assert "x" * 40 + "... (4960 more characters not shown)" in alice and "x" * 41 not in alice, alice[:300]


def test_report_unforgeable_progress_lines_of_grade_many(tmp_path, capsys):
    # `grade --many` prints a line per submission on stderr as it ends: a folder named
    # 'eve<ESC>[2K<CR>[9∕9] alice: 5∕5' (a division slash: a name has no '/') wiped its own line
    # in the instructor's terminal and showed a forged one in its place.
    from labkit.cli import main as cli
    evil = "eve\x1b[2K\r[9\u22159] alice: 5\u22155\u202e"
    (tmp_path / evil).mkdir()
    assert cli(["grade", "--many", str(tmp_path), "--only", "why_fix_b_races", "--json"]) == 0
    err = capsys.readouterr().err
    assert err == "[1/1] eve\\x1b[2K\\r[9\u22159] alice: 5\u22155\\u202e: 0/5\n", repr(err)


def _clear_traces() -> None:
    import ctypes
    for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
        Path(d, "labkit-trace-left-by-a-check").unlink(missing_ok=True)
    libc = ctypes.CDLL(None)
    shmid = libc.shmget(0x1AB5EED, 0, 0)
    if shmid >= 0:
        libc.shmctl(shmid, 0, None)     # IPC_RMID


@needs_root
def test_cannot_reach_another_check_through_shared_folders_ipc_or_network(tmp_path):
    # Every check's uid may write /tmp, /var/tmp, /dev/shm and /run/lock, and System V IPC and the
    # network were the machine's: a file (0666) or a shared memory segment one check left was read
    # by the next check (another submission's), and outlived grading; a check could connect to an
    # abstract unix socket or a loopback port another process (another check) listened on.
    import socket
    hostile = DATA / "escapes" / "escapes.py"
    checks = load_hidden(hostile)
    listeners = [socket.socket(socket.AF_UNIX), socket.socket(socket.AF_INET)]
    _clear_traces()
    try:
        listeners[0].bind("\0labkit-threat-test")
        listeners[1].setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listeners[1].bind(("127.0.0.1", 47391))
        for s in listeners:
            s.listen()
        left = run_job(Job(checks.get("leaves_traces"), tmp_path, str(hostile)))
        assert "left=['/tmp', '/var/tmp', '/dev/shm', '/run/lock', 'shm']" in str(left), str(left)  # its own
        found = run_job(Job(checks.get("finds_traces"), tmp_path, str(hostile)))
        assert "found=[]" in str(found), str(found)
        assert not any(Path(d, "labkit-trace-left-by-a-check").exists()       # nothing outlived it
                       for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"))
        import ctypes
        assert ctypes.CDLL(None).shmget(0x1AB5EED, 0, 0) < 0
    finally:
        for s in listeners:
            s.close()
        _clear_traces()


@needs_root
def test_memory_bounded_what_a_check_writes_is_memory_too(tmp_path, monkeypatch):
    # A check's HOME and TMPDIR were folders of /tmp, on the grader's disk: files of 64 MiB each
    # (RLIMIT_FSIZE), as many as it liked, could fill it (the page cache they passed through was
    # charged to its cgroup, the disk they filled was not). They are in a tmpfs of its own now,
    # at most its memory bound, charged to its cgroup.
    monkeypatch.setenv("LABKIT_GRADE_MEMORY_MB", "300")
    hostile = DATA / "escapes" / "escapes.py"
    r = run_job(Job(load_hidden(hostile).get("where_it_writes"), tmp_path, str(hostile)))
    assert "MiB=[300, 300, 300]" in str(r), str(r)


def test_submission_bounded_a_folder_socket_or_device_for_a_file_is_said_as_such(tmp_path):
    # Each costs its own check only, said exactly: a folder named decode_panic.py was "file not
    # found", a unix socket "could not be read (No such device or address)"; a device (/dev/zero's
    # numbers) is never read, it has no end. A submission "folder" that is a device "did not exist".
    import socket
    from labkit.errors import LabkitError
    (tmp_path / "decode_panic.py").mkdir()
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tmp_path / "find_schedule.py"))
        try:
            os.mknod(tmp_path / "fix_a_sim.py", 0o644 | stat.S_IFCHR, os.makedev(1, 5))
        except PermissionError:
            pytest.skip("mknod needs root")
        shutil.copy(ROOT / "solutions" / "why_fix_b_races.py", tmp_path)
        report = grade(tmp_path, only=["decode_panic", "find_schedule", "fix_a_sim", "why_fix_b_races"])
    r = {c.name: c for c in report.results}
    assert r["why_fix_b_races"].score == 5, str(r["why_fix_b_races"])
    for name, words in [("decode_panic", "decode_panic.py is a folder, not a file: submit the file itself"),
                        ("find_schedule", "find_schedule.py is not a regular file (a named pipe, a socket"),
                        ("fix_a_sim", "fix_a_sim.py is not a regular file (a named pipe, a socket")]:
        assert r[name].score == 0 and r[name].status == "missing" and words in str(r[name]), str(r[name])
    with pytest.raises(LabkitError, match="submission folder /dev/null is not a folder"):
        grade("/dev/null")


def test_submission_bounded_a_gradescope_upload_is_copied_by_the_same_bounded_copy(tmp_path):
    # The Gradescope entry point copied an upload by its own walk (rglob): every file of every
    # subfolder up to 8 MiB each, however many, as root, before any check's bound applied; a
    # file swapped for a link between its look and its copy was followed. It now copies by the
    # grader's one copy (submission_copy), and a check that needs a file it left out says why.
    from labkit.classroom import gradescope
    up = tmp_path / "upload"
    (up / "deep" / "deeper").mkdir(parents=True)
    for i in range(100):                              # 100 files of 100 KiB: 10 MiB
        (up / f"junk{i:03}.bin").write_bytes(b"\0" * (100 << 10))
    (up / "deep" / "deeper" / "more.bin").write_bytes(b"x")
    (up / "fix_a_sim.py").write_text("#" * (2 << 20))    # 2 MiB: more than a file may be
    shutil.copy(ROOT / "solutions" / "why_fix_b_races.py", up)
    (up / "decode_panic.py").symlink_to(ROOT / "solutions" / "decode_panic.py")
    work = tmp_path / "work" / "submission"
    left_out = gradescope.copy_upload(up, work)
    files = [p for p in work.rglob("*") if p.is_file()]
    assert len(files) <= submission_copy.MAX_SUBMISSION_FILES + len(gradescope.exercise_files()) + 1, len(files)
    assert sum(p.stat().st_size for p in files) <= submission_copy.MAX_SUBMISSION_BYTES
    assert not (work / "deep").exists() and not (work / "decode_panic.py").exists()
    assert "at most 64 files and 8 MiB" in left_out[submission_copy.SKIPPED_REST], left_out
    report = grade(work, only=["why_fix_b_races", "fix_a_sim", "decode_panic"], left_out=left_out)
    got = {r.name: r for r in report.results}
    assert got["why_fix_b_races"].score == got["why_fix_b_races"].points, str(got["why_fix_b_races"])
    assert got["fix_a_sim"].score == 0 and "fix_a_sim.py is larger than 1048576 bytes" in str(got["fix_a_sim"])
    assert got["decode_panic"].score == 0 and "decode_panic.py is a symbolic link" in str(got["decode_panic"])


# -- C include leaks: nothing a fix's C names may bring solutions/ or a hidden check into a report --

MARKER = "labkit-hidden-marker-4997"
_LEAKS = [   # appended to solutions/fix_a.c, so each is a right fix but for the line that leaks
    ("absolute_include", '#include "{hidden}/secret_check.py"', 'only #include "kstat_model.h" and system headers'),
    ("relative_include", '#include "../../solutions/fix_a.c"', 'only #include "kstat_model.h" and system headers'),
    ("has_include", '#if __has_include("{hidden}/secret_check.py")\n#error the hidden check exists\n#endif',
     "__has_include is not allowed"),
    ("has_include_next", '#if __has_include_next(<secret_check.py>)\n#error the hidden check exists\n#endif',
     "__has_include_next is not allowed"),
    ("embed", 'static const char e[] = {{\n#embed "{hidden}/secret_check.py"\n}};', "#embed is not allowed"),
    ("line", '#line 1 "{hidden}/secret_check.py"', "#line is not allowed"),
    ("linemarker", '# 1 "{hidden}/secret_check.py"', "#1 is not allowed"),
]


def _leak_setup(tmp_path, mode, monkeypatch) -> tuple[Path, Path, tuple]:
    """(the submission folder, the hidden folder holding MARKER, the folders hidden from checks);
    mode 'root' grades as root does (the check's own uid, those folders covered), 'user' as a
    grader without root: learner code may read what the grader can, solutions/ and hidden too."""
    if mode == "root" and not ROOT_MODE:
        pytest.skip("the root sandbox needs root and PID namespaces")
    if mode == "user":
        monkeypatch.setattr(sandbox, "_pidns_ok", False)
    hidden, sub = tmp_path / "hidden", tmp_path / "sub"
    hidden.mkdir()
    sub.mkdir()
    (hidden / "secret_check.py").write_text(f'MARKER = "{MARKER}"\n')
    return sub, hidden, (str(ROOT / "solutions"), str(hidden))


@pytest.mark.parametrize("mode", ["root", "user"])
@pytest.mark.parametrize("case, line, words", _LEAKS)
def test_c_include_leaks_no_directive_reads_another_file(tmp_path, monkeypatch, mode, case, line, words):
    # gcc 12 here has no #embed (it would be C23's): refused by name all the same. __has_include
    # passed at main 68efe7d ('#error the hidden check exists' was in the report); the rest were
    # refused there too. Each is refused before any compiler reads the file.
    sub, hidden, hide = _leak_setup(tmp_path, mode, monkeypatch)
    (sub / "fix_a.c").write_text((ROOT / "solutions" / "fix_a.c").read_text() + "\n" + line.format(hidden=hidden) + "\n")
    r = run_job(Job(CHECKS.get("fix_a_c"), sub, hide=hide))
    assert r.score == 0 and "refused before it ran" in str(r) and words in str(r), str(r)
    assert MARKER not in str(r) and "exists" not in str(r).replace(words, ""), str(r)


@pytest.mark.parametrize("mode", ["root", "user"])
def test_c_include_leaks_a_header_beside_the_fix_is_not_read(tmp_path, monkeypatch, mode):
    # A quoted #include looks first in the including file's folder: a kstat_model.h in the
    # submission was read instead of the model's, and it is not checked. Graded without root, a
    # fix_b.c of one '#include "kstat_model.h"' whose header included solutions/fix_b.c scored
    # 10/10, and one that included a hidden check had its lines in the compiler's errors, in the
    # report (main 68efe7d; as root the paths were covered, so it failed to compile). The fix is
    # now checked and compiled as a copy alone in a folder of its own: the header is never read.
    sub, hidden, hide = _leak_setup(tmp_path, mode, monkeypatch)
    (sub / "fix_b.c").write_text('#include "kstat_model.h"\n')
    (sub / "kstat_model.h").write_text(f'#include "{ROOT}/labkit/native/kstat_model.h"\n'
                                       f'#include "{ROOT}/solutions/fix_b.c"\n')
    r = run_job(Job(CHECKS.get("fix_b_c"), sub, hide=hide))
    assert r.score == 0 and "refused before it ran" in str(r), str(r)
    (sub / "kstat_model.h").write_text(f'#include "{ROOT}/labkit/native/kstat_model.h"\n'
                                       f'#include "{hidden}/secret_check.py"\n')
    shutil.copy(ROOT / "solutions" / "fix_b.c", sub)    # a right fix: the header beside it is ignored
    r = run_job(Job(CHECKS.get("fix_b_c"), sub, hide=hide))
    assert r.score == 10 and MARKER not in str(r), str(r)


@pytest.mark.parametrize("mode", ["root", "user"])
def test_c_include_leaks_file_macros_name_only_the_checked_copy(tmp_path, monkeypatch, mode):
    # __FILE__ and __BASE_FILE__ are the one path a fix's C can put in a report (through
    # lk_assert_failed, whose words the report shows): the copy checked, in a folder of its own,
    # never a path in solutions/ or the hidden folder (so at main too, where it was the check's
    # copy of the submission).
    sub, hidden, hide = _leak_setup(tmp_path, mode, monkeypatch)
    src = (ROOT / "solutions" / "fix_a.c").read_text()
    (sub / "fix_a.c").write_text(src.replace("\tkstat_rele(ksp);\n\t/* END SOLUTION */",
                                             "\tkstat_rele(ksp);\n\tlk_assert_failed(__BASE_FILE__, __FILE__, 0);\n"
                                             "\t/* END SOLUTION */"))
    r = run_job(Job(CHECKS.get("fix_a_c"), sub, hide=hide))
    paths = [p for p in re.findall(r"(/[\w./-]+fix_a\.c)", str(r)) if p != str(sub / "fix_a.c")]  # ('run it again')
    assert r.score == 0 and paths, str(r)
    assert all("/labkit-c-" in p and "solutions" not in p and str(hidden) not in p for p in paths), paths

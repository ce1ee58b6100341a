"""The fix checks against real fixes: the solutions score full marks, the stubs zero, and each
known-wrong fix loses that check's points with a reason a learner can act on."""

import re
import shutil
from pathlib import Path

import pytest

from labkit.grading.exercises import CHECKS
from labkit.grading.grader import grade, grade_many
from labkit.grading.runner import Job, run_job

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "grading"


def run(name, submission):
    return run_job(Job(CHECKS.get(name), Path(submission)))


def one_file(tmp_path, src: Path, name: str) -> Path:
    shutil.copy(src, tmp_path / name)
    return tmp_path


@pytest.fixture(scope="module")
def solutions_report():
    return grade(ROOT / "solutions")


def test_solutions_score_full_marks(solutions_report):
    for r in solutions_report.results:
        assert r.status == "pass" and r.score == r.points, str(r)
    assert solutions_report.score == solutions_report.max_score + sum(
        r.points for r in solutions_report.results if r.bonus)
    full, bonus = solutions_report.max_score, solutions_report.bonus_max
    assert str(solutions_report).splitlines()[-1] == f"Score: {full:g}/{full:g}, bonus {bonus:g}/{bonus:g}"


def test_untouched_exercises_score_zero():
    report = grade(ROOT / "exercises")
    assert report.score == 0, str(report)
    for r in report.results:
        assert "not implemented yet" in str(r), str(r)


# -- the simulator fixes ------------------------------------------------------------------------

@pytest.mark.parametrize("case, check, reason", [
    ("delay_not_lock", "fix_a_sim", "the kernel panicked"),
    ("clear_before_lock", "fix_a_sim", "the kernel panicked"),
    ("rele_under_lock", "fix_a_sim", "deadlock"),
    ("count_in_snapshot", "fix_b_sim", "the kernel panicked"),
    ("copies_invalid", "fix_b_sim", "before kstat_install had made them visible"),
    ("skips_copy", "fix_b_sim", "the snapshot lacks kstats"),
    ("raises", "fix_b_sim", "your code raised NameError (thread R, fix_b_sim.py line 6)"),
    ("eats_memory", "fix_a_sim", "your code ran out of memory (thread W, fix_a_sim.py line 5)"),
])
def test_wrong_sim_fix_loses_its_points(tmp_path, case, check, reason):
    sub = one_file(tmp_path, DATA / "wrong_sim" / f"{case}.py", f"{check}.py")
    r = run(check, sub)
    text = str(r)
    assert r.score == 0 and r.status == "fail", text
    assert reason in text
    # The failing schedule comes with the command that replays it, on the learner's own file.
    m = re.search(r"replay it: labkit replay --fix (\S+) --kstats 3 '([RW0-9 ]+)'", text)
    assert m and m.group(1) == str(sub / f"{check}.py"), text


def test_replay_command_reproduces_the_failure(tmp_path):
    from labkit.kernel import Scenario, load_variant
    from labkit.sched import replay
    sub = one_file(tmp_path, DATA / "wrong_sim" / "delay_not_lock.py", "fix_a_sim.py")
    schedule = re.search(r"schedule: ([RW0-9 ]+)\n", str(run("fix_a_sim", sub))).group(1)
    outcome = replay(Scenario.small(fix=load_variant(sub / "fix_a_sim.py")), schedule)
    assert outcome.kind == "panic"


def test_sim_fix_that_never_yields_costs_only_its_check(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_GRADE_TIMEOUT", "8")
    sub = one_file(tmp_path, DATA / "wrong_sim" / "loops_forever.py", "fix_a_sim.py")
    shutil.copy(ROOT / "solutions" / "why_fix_b_races.py", sub)
    report = grade(sub)
    by = {r.name: r for r in report.results}
    assert by["fix_a_sim"].status == "timeout" and "did not finish within 8 s" in str(by["fix_a_sim"])
    assert by["why_fix_b_races"].status == "pass"


@pytest.mark.parametrize("schedule, reason", [
    ("R", "ran to the end without a panic"),
    ("X3 R", "X"),
])
def test_find_schedule_wrong(tmp_path, schedule, reason):
    (tmp_path / "find_schedule.py").write_text(f"def panicking_schedule():\n    return {schedule!r}\n")
    r = run("find_schedule", tmp_path)
    assert r.score == 0 and reason in str(r), str(r)


# -- the C fixes --------------------------------------------------------------------------------

_FUNC = re.compile(r"^(?:\w[\w ]*\*?)\n(\w+)\(.*?^}\n", re.M | re.S)


def splice(base: str, snippet: str) -> str:
    """Replace the functions of `base` that `snippet` defines; keep its #includes and statics on top."""
    for m in _FUNC.finditer(snippet):
        name = m.group(1)
        old = re.search(rf"^(?:\w[\w ]*\*?)\n{name}\(.*?^}}\n", base, re.M | re.S)
        base = base[:old.start()] + m.group(0) + base[old.end():]
    # its #includes and its file-scope static variables (a lock of its own) go on top
    top = "".join(ln + "\n" for ln in snippet.splitlines()
                  if ln.startswith("#include") or re.match(r"static [^(]*;$", ln))
    return base.replace('#include "kstat_model.h"\n', '#include "kstat_model.h"\n' + top)


#: Cases that change the buggy kernel (the template), not a solution: a fix of the other pass.
ON_THE_BUGGY_KERNEL = {case: ROOT / "labkit" / "native" / "learner_template.c"
                       for case in ("copy_at_most_count", "copies_without_bcopy")}


@pytest.mark.parametrize("case, check, status, reason", [
    ("segfault", "fix_a_c", "fail", "your C crashed"),
    # kstat_rele under the lock: illumos panics ("recursive mutex_enter"); named, with where
    ("never_returns", "fix_a_c", "fail", "took kstat_chain_lock in kstat_rele, called from kstat_install, "
                                         "while it already held it (taken in kstat_install). illumos panics"),
    ("unlock_skipped_by_goto", "fix_a_c", "fail", "recursive mutex_enter: thread "),
    ("exits_unheld_lock", "fix_a_c", "fail", "mutex_exit: not owner: thread "),
    # the lock left held when kstat_install returns: always, or on one early return only
    ("lock_left_after_clear", "fix_a_c", "fail", "kstat_install calls returned with kstat_chain_lock still "
                                                 "held (taken in kstat_install)"),
    ("lock_left_on_error_path", "fix_a_c", "fail", "kstat_install calls returned with kstat_chain_lock still "
                                                   "held (taken in kstat_install)"),
    # the bug, copied by struct assignment instead of bcopy: found past the buffer (detect mode)
    ("copies_without_bcopy", "fix_b_c", "fail", "the reader's copy overflowed its buffer"),
    # ... and clears kmutex_t's owner field: the engine's record is not in it
    ("hides_lock_owner", "fix_a_c", "fail", "kstat_install calls returned with kstat_chain_lock still "
                                            "held (taken in kstat_install)"),
    # never returns, holding the lock or not: the record says where each thread is
    ("spins_holding_lock", "fix_a_c", "fail", "made no progress for 5 s (of the time the run had a CPU): "
                                              "kstat_chain_lock is held by "),
    ("loops_forever", "fix_a_c", "fail", "never returned (a deadlock? a loop?): "),
    ("delay_not_lock", "fix_a_c", "fail", "overflowed its buffer"),
    ("clear_before_lock", "fix_a_c", "fail", "overflowed its buffer"),
    ("does_not_compile", "fix_a_c", "fail", "fix_a.c"),
    ("count_in_snapshot", "fix_b_c", "fail", "overflowed its buffer"),
    ("skips_copy", "fix_b_c", "fail", "lacked a kstat installed before the copy began (its kstat_install had returned"),
    # no overflow, but the kstats installed between the passes are dropped
    ("copy_at_most_count", "fix_b_c", "fail", "lacked a kstat installed before the copy began (its kstat_install had returned"),
    ("copies_invalid", "fix_b_c", "fail", "before its kstat_install had been called"),
    # the slots left over filled with the last copy: the simulator's "nothing twice", now in C too
    ("copies_twice", "fix_b_c", "fail", "in 250 of 500 rounds the reader's copy held a kstat twice or more"),
    # ... the same, and 4246, hidden by kids written into the copy or the chain: a copied header is
    # known by the engine's shadow of each kstat, not by its ks_kid (10/10, 10/10 and 7/10 before)
    ("hides_duplicate_as_header", "fix_b_c", "fail", "in 250 of 500 rounds the reader's copy held a header "
                                                     "that is no kstat's copy, first the header at byte "),
    ("relabels_uninstalled", "fix_b_c", "fail", "in 250 of 500 rounds the reader's copy held a header that is "
                                                "no kstat's copy, first the header at byte "),
    ("swaps_kids_in_the_chain", "fix_b_c", "fail", "in 250 of 500 rounds the reader's copy held a header that "
                                                   "is no kstat's copy, first the header at byte "),
    # right for short chains only: the forced rounds at the seed's 5698 kstats overflow
    ("right_for_short_chains", "fix_b_c", "fail", "forced interleavings at the seed's chain length (5698 kstats), "
                                                  "20 rounds, 2 writers: "),
    # right while one zone is created at a time: two writers clear between the passes
    ("room_for_one", "fix_b_c", "fail", "overflowed its buffer"),
    # fix A's lock, but the writer's hold leaks: named, with where it was taken
    ("no_rele", "fix_a_c", "fail", "hold(s) had never been released; the first: kstat "),
    # ... and renames the kstat with bytes that are not UTF-8, which the record quotes: its copies
    # are no kstat's, said so (the record was a UnicodeDecodeError in place of a verdict)
    ("no_rele_renames", "fix_a_c", "fail", "the reader's copy held a header that is no kstat's copy"),
    # ... and clears the holder beside the kstat through its pointer: the thread's own tally says
    ("hides_hold_by_pointer", "fix_a_c", "fail", "kstat_install calls returned still holding a kstat: 1 "
                                                 "hold(s) by "),
    ("clears_in_count", "fix_b_c", "fail", "before its kstat_install had been called"),
    # a reader's callback that returns without kstat_chain_lock: illumos' KSTAT_EXIT then panics
    ("update_drops_lock", "fix_b_c", "fail", "header_kstat_update returned without kstat_chain_lock, which "
                                             "read_kstat_data holds from its count to its copy: a callback must "
                                             "leave the lock as it found it. On illumos read_kstat_data's "
                                             "KSTAT_EXIT (io/kstat.c line 159 at c9bbee95)"),
    # a writer's second hold on the kstat it holds: illumos' kstat_hold waits for itself forever
    ("holds_twice", "fix_a_c", "fail", "which holds it already: on illumos it would wait for its own hold "
                                       "forever (kstat_hold's cv_wait, kstat_fr.c line 385 at c9bbee95)"),
    # ... never released: its holder enters it again (illumos panics), the other writer waits for it
    ("own_lock_kept", "fix_a_c", "fail", "took a lock of your C's in kstat_install, while it already held it. "
                                         "illumos panics here (\"recursive mutex_enter\", mutex.c line 411 at "
                                         "c9bbee95)"),
])
def test_wrong_c_fix_loses_its_points(tmp_path, case, check, status, reason):
    filename = "fix_a.c" if check == "fix_a_c" else "fix_b.c"
    base = (ON_THE_BUGGY_KERNEL.get(case, ROOT / "solutions" / filename)).read_text()
    (tmp_path / filename).write_text(splice(base, (DATA / "wrong_c" / f"{case}.c").read_text()))
    r = run(check, tmp_path)
    text = str(r)
    assert r.score == 0 and r.status == status, text
    assert reason in text
    if case != "does_not_compile":
        assert "run it again: labkit.native.race(source=" in text and "writers=2" in text


def test_a_right_fix_with_a_lock_of_its_own_scores_full_marks(tmp_path):
    # The engine's checks of a learner's own lock (recursion, release by a non-owner, its holder
    # in a stall's report) must not misjudge one used rightly, nor add a race ThreadSanitizer sees.
    src = (ROOT / "solutions" / "fix_a.c").read_text()
    src = src.replace('#include "kstat_model.h"\n', '#include "kstat_model.h"\n\nstatic kmutex_t install_lock;\n')
    src = src.replace("\tmutex_enter(&kstat_chain_lock);\n\tksp->ks_flags",
                      "\tmutex_enter(&install_lock);\n\tmutex_enter(&kstat_chain_lock);\n\tksp->ks_flags")
    src = src.replace("\tkstat_rele(ksp);\n\t/* END SOLUTION */",
                      "\tmutex_exit(&install_lock);\n\tkstat_rele(ksp);\n\t/* END SOLUTION */")
    assert src.count("install_lock") == 3
    (tmp_path / "fix_a.c").write_text(src)
    r = run("fix_a_c", tmp_path)
    assert r.status == "pass" and r.score == 10, str(r)


def test_fix_a_in_c_must_be_race_free(tmp_path):
    # DORMANT cleared before the lock: no overflow (INVALID changes under it), but
    # ThreadSanitizer sees the unlocked store to ks_flags.
    _wrong_c(tmp_path, "dormant_outside_lock", "fix_a.c")
    r = run("fix_a_c", tmp_path)
    assert r.status == "partial" and r.score == 7, str(r)
    # either writer's unlocked store may be the one reported (W and X run the same kstat_install)
    assert re.search(r"ThreadSanitizer reports a data race: [WX] writes ks_flags in kstat_install", str(r)), str(r)


# -- many submissions ---------------------------------------------------------------------------

def test_grade_many_in_one_command(tmp_path):
    for name, src in [("alice", ROOT / "solutions"), ("bob", DATA / "answers_wrong"), ("carol", None)]:
        (tmp_path / name).mkdir()
        if src is not None:
            for f in ("decode_panic.py", "why_fix_b_races.py"):
                shutil.copy(src / f, tmp_path / name / f)
    many = grade_many(tmp_path)
    assert list(many.reports) == ["alice", "bob", "carol"]
    scores = {k: r.score for k, r in many.reports.items()}
    assert scores == {"alice": 18, "bob": 7, "carol": 0}
    assert "alice" in str(many) and many.to_json()["submissions"]["bob"]["score"] == 7


def test_reconstruct_rejects_a_schedule_that_does_not_reproduce_the_dump(tmp_path):
    # The small scenario's panicking schedule: on seed 0's kernel (10 kstats) W clears before R
    # has counted. More cases: tests/test_postmortem_reconstruct.py.
    (tmp_path / "reconstruct.py").write_text("def schedule_from_dump():\n    return 10, 'W12 R25 W1 R2'\n")
    r = run("reconstruct", tmp_path)
    assert r.score == 0 and "your schedule ends 'ok'; the dump is of a panic" in str(r), str(r)
    assert "labkit replay --fix none --kstats 10" in str(r)


def _wrong_c(tmp_path, case: str, filename: str) -> Path:
    path = tmp_path / filename
    path.write_text(splice((ROOT / "solutions" / filename).read_text(), (DATA / "wrong_c" / f"{case}.c").read_text()))
    return path


def test_room_for_one_fails_only_with_the_second_writer(tmp_path):
    # The case above fails fix_b_c because of X: with W alone, the same forced rounds pass.
    from labkit.native import race
    path = _wrong_c(tmp_path, "room_for_one", "fix_b.c")
    one = race(source=path, rounds=200, forced=True, writers=1)
    two = race(source=path, rounds=200, forced=True, writers=2)
    assert one.outcome == "ok" and one.overflows == 0, str(one)
    assert two.overflows == 100 and two.first_overflow_round == 1, str(two)   # every odd round


def test_a_hold_taken_in_the_learners_c_is_named_as_theirs(tmp_path):
    from labkit.native import race
    path = tmp_path / "fix_a.c"
    src = (ROOT / "solutions" / "fix_a.c").read_text()
    path.write_text(src.replace("\tkstat_rele(ksp);\n\t/* END SOLUTION */",
                                "\tkstat_rele(ksp);\n\t(void) kstat_hold_bykid(ksp->ks_kid);\n\t/* END SOLUTION */"))
    r = race(source=path, rounds=50, forced=True, writers=2)
    # each install leaves its hold (a writer may finish one more install once R has stopped)
    assert r.outcome == "ok" and r.holds_left == r.installs >= 100, str(r)
    assert "held by W; the hold was taken by a kstat_hold_bykid() call in your C" in r.first_held \
        or "held by X; the hold was taken by a kstat_hold_bykid() call in your C" in r.first_held, str(r)


def test_a_second_kstat_rele_is_refused_as_illumos_asserts(tmp_path):
    # fix A with the hold released twice: kstat_rele asserts e_owner == curthread, as illumos' does
    src = (ROOT / "solutions" / "fix_a.c").read_text()
    (tmp_path / "fix_a.c").write_text(src.replace("\tkstat_rele(ksp);\n\t/* END SOLUTION */",
                                                  "\tkstat_rele(ksp);\n\tkstat_rele(ksp);\n\t/* END SOLUTION */"))
    r = run("fix_a_c", tmp_path)
    assert r.score == 0 and r.status == "fail", str(r)
    assert re.search(r"kstat_rele of kstat \d+ by thread [WX], which does not hold it", str(r)), str(r)


def test_the_thread_sanitizer_runs_record_is_judged_as_the_stress_runs_are():
    from labkit.grading.base import Ctx
    from labkit.grading.native_checks import judge_c_fix
    ok = {"outcome": "ok", "rounds": 300, "installs": 900, "overflows": 0, "uninstalled_copies": 0,
          "missing_copies": 0, "holds_left": 0, "lock_left": 0}
    clean = {"hang": False, "exit_code": 0, "detail": "", "races": [], "record": dict(ok)}
    data = {"static": [], "shown": "fix_b.c", "forced": ok, "forced_long": ok, "free": ok, "tsan": clean}

    def judged(tsan):
        ctx = Ctx(CHECKS.get("fix_b_c"))
        judge_c_fix(dict(data, tsan=tsan), ctx, "fix_b.c", True)
        return ctx.finish()

    assert judged(clean).score == 10
    r = judged(dict(clean, record=dict(ok, missing_copies=3, first_missing="kstat 71 (zone_zfs:0:zone7_zfs)")))
    assert r.score == 7 and "ThreadSanitizer's run (free-running, 2 writers): in 3 of 300 rounds the " \
        "reader's copy lacked a kstat" in str(r), str(r)
    # races found, then no record of the run (it crashed, or the engine stopped it with an
    # error): not a clean run, even when the only race is the one fix B keeps
    flag_race = {"accesses": [
        {"thread": "W", "kind": "write", "field": "ks_flags", "function": "kstat_install", "file": "x.c", "line": 1},
        {"thread": "R", "kind": "read", "field": "ks_flags", "function": "header_kstat_update", "file": "x.c",
         "line": 2}]}
    assert judged(dict(clean, races=[flag_race])).score == 10
    for tsan in (dict(clean, races=[flag_race], record=None, exit_code=66, detail="the run ended (exit code 66) ..."),
                 dict(clean, record=None, exit_code=0)):
        r = judged(tsan)
        assert r.score == 7 and "ThreadSanitizer: the run did not finish normally: " in str(r), str(r)
    assert "it ended (exit code 0) without its record of the run" in str(r), str(r)


def test_a_right_fix_that_copies_by_assignment_has_no_overflow(tmp_path):
    from labkit.native import race
    path = tmp_path / "fix_a.c"
    path.write_text((ROOT / "solutions" / "fix_a.c").read_text().replace(
        "bcopy(ksp, kbuf, sizeof (kstat_t));", "*kbuf = *ksp;"))
    r = race(source=path, rounds=200, forced=True, writers=2)
    assert r.outcome == "ok" and r.overflows == 0 and r.missing_copies == r.uninstalled_copies == 0, str(r)


def test_a_run_that_stops_making_progress_says_who_holds_the_lock(tmp_path):
    """The engine stops it itself (a thread made no progress for 5 s of CPU time) and says why,
    before the child's timeout would kill it unexplained. Who holds the lock and where each
    thread waits come only from that stop, so the messages below show it happened (a wall-clock
    bound here failed at load 5: both limits count the time the run had a CPU)."""
    from labkit.native import race
    path = _wrong_c(tmp_path, "spins_holding_lock", "fix_a.c")
    r = race(source=path, rounds=500, forced=True, writers=2, timeout=30)
    assert r.outcome == "hang" and r.lock_held_by in ("W", "X"), str(r)
    assert "made no progress for 5 s" in r.detail, r.detail
    assert f"kstat_chain_lock is held by {r.lock_held_by} (taken in kstat_install)" in r.detail, r.detail
    assert f"{r.lock_held_by} is in kstat_install (a loop that never ends?)" in r.detail, r.detail
    assert re.search(r"R waits for kstat_chain_lock in \w+, called from read_kstat_data", r.detail), r.detail


def test_a_deadlock_on_a_lock_of_the_learners_own_is_named_with_its_cycle(tmp_path):
    # own_lock_deadlock.c changes kstat_install and the copy pass (the grader refuses a file that
    # changes both: one fix per exercise), so it is run as labkit.native.race runs it in a notebook
    from labkit.native import race
    path = _wrong_c(tmp_path, "own_lock_deadlock", "fix_a.c")
    r = race(source=path, rounds=500, forced=True, writers=2, timeout=30)
    assert r.outcome == "hang", str(r)
    assert re.search(r"a deadlock \(R waits for a lock ([WX]) holds, \1 waits for a lock R holds: on illumos "
                     r"they would sleep in mutex_enter forever, turnstile_block, mutex.c line 447 at c9bbee95\)",
                     r.detail), r.detail
    assert re.search(r"R waits for a lock of your C's, held by [WX], in header_kstat_snapshot", r.detail), r.detail


def test_the_record_judges_a_right_fix_clean_in_every_mode(tmp_path):
    from labkit.native import race
    for fix in ("lock", "count"):
        for kw in (dict(rounds=300, forced=True), dict(seconds=0.3)):
            r = race(fix, writers=2, **kw)
            assert (r.overflows, r.uninstalled_copies, r.missing_copies, r.holds_left, r.lock_held_by) \
                == (0, 0, 0, 0, None), str(r)

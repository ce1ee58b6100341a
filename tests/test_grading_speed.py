"""The grader's speed plumbing: checks split into parallel parts, and the engine compiled once.

Neither may change a verdict (tests/test_grading_threats.py and test_grading_fixes.py run every
wrong fix through the split checks); these tests pin the plumbing itself.
"""

import json
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from labkit.grading import runner, sandbox
from labkit.grading.exercises import CHECKS
from labkit.grading.runner import Job, Unit, judge_units, parts_of, run_jobs
from labkit.grading.sim_checks import merge_runs, scales
from labkit.native import _cbuild

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "grading"


def _run(kstats, writers, kind="ok"):
    """One run's observations as a worker reports them (one observed execution)."""
    obs = {"kind": kind}
    if kind == "ok":
        obs.update(error=0, ndata=kstats, data_size=184 * kstats, new_copied=[], boot_missing=[],
                   boot_missing_n=0, dups=[], zero_filled=0,
                   facts={"invalid_cleared": [], "uninstalled_copies": [], "visible_at_snapshot": [],
                          "holds_left": [], "lock_held_by": None, "not_visible_at_end": []})
    return {"kstats": kstats, "writers": writers, "executions": 1, "complete": True, "seconds": 0.0,
            "observed": [{"obs": obs, "count": 1, "preemptions": 0, "steps": 1, "schedule": "R",
                          "replay": "labkit replay"}]}


def _unit(check, part, data):
    raw = json.dumps({"kind": "observed", "check": check.name, "part": part, "data": data}).encode()
    return Unit(part, raw, 0, False, 10, False, "")


@pytest.mark.parametrize("name", ["fix_a_sim", "fix_b_sim"])
def test_a_simulator_fix_runs_one_part_per_run_of_every_scale(name):
    check = CHECKS.get(name)
    runs = [run for _, rs in scales() for run in rs]
    parts = parts_of(check)
    assert [p for p, _ in parts] == [[si, ri] for si, (_, rs) in enumerate(scales()) for ri in range(len(rs))]
    assert len(parts) == len(runs) == 4  # small and seed: one writer, two writers
    # the seed's two-writer search is the longest: it is started first
    assert max(parts, key=lambda p: p[1])[0] == [1, 1]


def test_a_check_is_split_only_when_it_alone_is_more_than_a_cores_share(monkeypatch):
    fix_a = CHECKS.get("fix_a_sim")
    one = runner.units_of([Job(fix_a, ROOT)], workers=2)
    assert [part for _, part, _ in one] == [p for p, _ in parts_of(fix_a)]  # a learner's check()
    assert [part for _, part, _ in runner.units_of([Job(fix_a, ROOT)], workers=1)] == [None]
    many = runner.units_of([Job(c, ROOT) for c in CHECKS] * 20, workers=2)  # a class: cores busy
    assert all(part is None for _, part, _ in many) and len(many) == 20 * len(CHECKS)
    whole = [c for i, _, c in many if CHECKS.names()[i % len(CHECKS)] == "fix_a_sim"][0]
    assert whole == sum(c for _, _, c in one)  # a whole check costs what its parts cost


@pytest.mark.parametrize("case", ["count_one_extra", "skips_copy"])
def test_split_and_whole_give_the_same_verdict(tmp_path, monkeypatch, case):
    monkeypatch.setenv("LABKIT_GRADE_SCALES", "small")
    (tmp_path / "fix_b_sim.py").write_text((DATA / "wrong_sim" / f"{case}.py").read_text())
    job = Job(CHECKS.get("fix_b_sim"), tmp_path)
    split, = run_jobs([job], workers=2)
    whole, = run_jobs([job], workers=1)
    assert split.score == whole.score == 0
    assert str(split) == str(whole), (str(split), str(whole))


def test_other_checks_are_one_part():
    for name in ("decode_panic", "find_schedule", "fix_a_c", "reconstruct"):
        assert parts_of(CHECKS.get(name)) == [(None, CHECKS.get(name).cost)]


def test_the_parts_are_merged_in_the_order_asked_whatever_order_they_end():
    merged = merge_runs([_run(3, 1), _run(3, 2), _run(5698, 1), _run(5698, 2)])
    assert [s["label"] for s in merged["scales"]] == ["small", "seed"]
    assert [(r["kstats"], r["writers"]) for s in merged["scales"] for r in s["runs"]] == [
        (3, 1), (3, 2), (5698, 1), (5698, 2)]
    with pytest.raises(ValueError):
        merge_runs([_run(3, 1), _run(3, 2), _run(5698, 1)])


def test_run_jobs_judges_a_split_check_once_from_all_its_parts(monkeypatch):
    """Parts finish in any order (shuffled here); the verdict is the same, judged once."""
    check = CHECKS.get("fix_a_sim")
    datas = {(0, 0): _run(3, 1), (0, 1): _run(3, 2, "deadlock"), (1, 0): _run(5698, 1),
             (1, 1): _run(5698, 2)}
    ran = []

    def fake(job, part, engine=None, server=None, budget=None):
        ran.append(tuple(part))
        return _unit(job.check, part, datas[tuple(part)])

    for seed in range(3):
        ran.clear()
        monkeypatch.setattr(runner, "run_unit", fake)
        order = list(datas)
        random.Random(seed).shuffle(order)
        (r,) = run_jobs([Job(check, ROOT / "solutions")], workers=4)
        assert sorted(ran) == sorted(datas)
        assert r.score == 0 and "two writers (W and X): deadlock" in str(r), str(r)
        assert "seed scale" in str(r) and r.status == "fail"


def test_a_hanging_split_check_gets_its_timeout_once_not_once_per_part(tmp_path, monkeypatch):
    """Four parts of a fix that never returns run at once: together they may use the check's
    timeout, not four times it (each part used to get the whole of it)."""
    monkeypatch.setenv("LABKIT_GRADE_TIMEOUT", "6")
    (tmp_path / "fix_a_sim.py").write_text((DATA / "wrong_sim" / "loops_forever.py").read_text())
    job = Job(CHECKS.get("fix_a_sim"), tmp_path)
    assert len(runner.units_of([job], workers=4)) == 4
    started, budgets = [], []
    real_unit, real_budget = runner.run_unit, runner.Budget
    monkeypatch.setattr(runner, "run_unit", lambda *a: started.append(a[1]) or real_unit(*a))
    monkeypatch.setattr(runner, "Budget", lambda seconds: budgets.append(real_budget(seconds)) or budgets[-1])
    t0 = time.monotonic()
    (r,) = run_jobs([job], workers=4)
    wall = time.monotonic() - t0
    assert r.status == "timeout" and r.score == 0 and "did not finish within 6 s" in str(r), str(r)
    assert len(started) == 4
    # the time the four workers ran, summed: 6 s (it was 4 x 6 s), spent 4 s a second
    ran = sum(b.seconds - b.left()[0] for b in budgets)
    assert 6 <= ran < 6.5, ran
    # counted in the time the workers had a CPU: four busy ones on two cores spend it at about
    # half speed each, so about 3 s of running on an idle machine (more on a loaded one); each
    # part with the whole budget would have run 24 s of it
    assert wall < 4 * 6, wall


def test_the_parts_share_a_budget_and_a_late_part_does_not_run():
    budget = runner.Budget(2.0)
    a, b = budget.begin(), budget.begin()
    left, running = budget.left()
    assert running == 2 and 1.9 < left <= 2.0
    time.sleep(0.3)
    assert budget.left()[0] < 2.0 - 2 * 0.3 + 0.05   # two running: spent twice as fast
    budget.end(a)
    budget.end(b)
    assert budget.left()[1] == 0
    spent = runner.Budget(0.0)
    unit = runner.run_unit(Job(CHECKS.get("fix_a_sim"), ROOT / "solutions"), [0, 0], None, None, spent)
    assert unit.timed_out and unit.raw == b"" and unit.code is None   # never started


class _Machine:
    """A fake clock and the run-queue waits of one worker thread, moved on by hand, the budget
    looked at every step (as runner._wait does)."""

    def __init__(self):
        self.now, self.waited, self.budget = 100.0, 0, None

    def clock(self):
        return self.now

    def waits(self):
        return {1: self.waited}

    def run(self, seconds, starved=0.0, step=0.25):
        for _ in range(round(seconds / step)):
            self.now += step
            self.waited += int(starved * step * 1e9)
            self.budget.left()


def test_the_budget_counts_the_time_a_worker_had_a_cpu():
    # A check's timeout (fix_a_c's 120 s) was wall-clock: on a loaded machine a right fix could
    # run out of it. Now a worker's time counts only while its threads were not waiting for a CPU.
    m = _Machine()
    budget = m.budget = runner.Budget(120.0, clock=m.clock)
    key = budget.begin(m.waits)
    m.run(100.0, starved=0.5)                 # half of it waiting for a CPU: 50 s of its own
    assert 69.0 < budget.left()[0] < 71.0, budget.left()
    m.run(60.0)
    assert 9.0 < budget.left()[0] < 11.0, budget.left()
    m.run(11.0)
    assert budget.left()[0] < 0 and budget.why() == "within 120 s of the time it had a CPU (171 s in all)"
    budget.end(key)
    assert budget.left()[1] == 0 and budget.left()[0] < 0


def test_the_budget_of_a_starved_check_still_ends_at_the_wall_clock_backstop():
    m = _Machine()
    budget = m.budget = runner.Budget(120.0, clock=m.clock)
    key = budget.begin(m.waits)
    m.run(479.0, starved=1.0)                   # never given a CPU
    assert 0 < budget.left()[0] <= 1.0
    m.run(1.0, starved=1.0)
    assert budget.left()[0] <= 0 and budget.why().startswith("in 480 s (only 0.0 s of them with a CPU")
    budget.end(key)


def test_a_part_that_reports_another_part_or_fails_decides_the_check():
    check = CHECKS.get("fix_a_sim")
    good = [_unit(check, [0, 0], _run(3, 1)), _unit(check, [0, 1], _run(3, 2)),
            _unit(check, [1, 0], _run(5698, 1)), _unit(check, [1, 1], _run(5698, 2))]
    assert judge_units(check, good).score == 15
    forged = list(good)
    forged[1] = _unit(check, [1, 0], _run(5698, 1))  # a worker claiming to be another part
    forged[1].part = [0, 1]
    r = judge_units(check, forged)
    assert r.score == 0 and r.status == "error", str(r)
    slow = list(good)
    slow[2] = Unit([1, 0], b"", None, True, 7, False, "")
    r = judge_units(check, slow)
    assert r.score == 0 and r.status == "timeout" and "within 7 s" in str(r), str(r)
    swapped = [good[1], good[0], good[2], good[3]]  # observations of the wrong scenario in a slot
    for u, p in zip(swapped, ([0, 0], [0, 1], [1, 0], [1, 1])):
        u.part = p
    r = judge_units(check, [_unit(check, u.part, json.loads(u.raw)["data"]) for u in swapped])
    assert r.score == 0 and r.status == "error", str(r)


# -- the engine, compiled once ---------------------------------------------------------------------

def test_engine_objects_are_compiled_once_then_found_by_content(tmp_path, monkeypatch):
    first = _cbuild.engine_objects(into=str(tmp_path))
    assert [Path(p).parent for p in first] == [tmp_path] * len(_cbuild.fixed(False)) == [tmp_path] * 5
    assert all(os.stat(p).st_mode & 0o777 == 0o644 for p in first)
    calls = []
    real = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert _cbuild.engine_objects(into=str(tmp_path)) == first
    assert not any("-c" in a[0] for a in calls)  # nothing compiled the second time
    tsan = _cbuild.engine_objects(tsan=True, into=str(tmp_path))
    assert set(tsan).isdisjoint(first)  # another flavour, other objects
    assert [os.path.basename(p).split("-", 1)[1] for p in tsan][-1] == "tsan_main.o"  # its program's main


def test_a_check_only_reads_the_graders_engine_folder(tmp_path, monkeypatch):
    """With $LABKIT_NATIVE_ENGINE set, objects come from there; if it lacks them, they are
    compiled into a private folder, never into the (shared) cache."""
    graders = tmp_path / "graders"
    graders.mkdir()
    made = _cbuild.engine_objects(into=str(graders))
    monkeypatch.setenv("LABKIT_NATIVE_ENGINE", str(graders))
    monkeypatch.setenv("LABKIT_NATIVE_CACHE", str(tmp_path / "cache"))
    assert _cbuild.engine_objects() == made
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("LABKIT_NATIVE_ENGINE", str(empty))
    own = _cbuild.engine_objects()
    assert not os.listdir(empty) and not (tmp_path / "cache" / "engine").exists()
    assert all(Path(p).parent != empty for p in own)


def test_a_learner_build_links_the_engine_objects_and_still_runs(tmp_path, monkeypatch):
    from labkit.native import race
    monkeypatch.setenv("LABKIT_NATIVE_CACHE", str(tmp_path / "cache"))
    r = race(source=ROOT / "solutions" / "fix_a.c", rounds=50, forced=True, seed=0)
    assert r.outcome == "ok" and r.rounds == 50 and not r.overflows
    assert len(os.listdir(tmp_path / "cache" / "engine")) == len(_cbuild.fixed(False))
    from labkit.native import TEMPLATE
    buggy = race(source=TEMPLATE, rounds=50, forced=True, seed=0)  # the buggy kernel, as learner C
    assert buggy.overflows, buggy  # the engine objects still race


@pytest.mark.skipif(os.geteuid() != 0, reason="the grader's /tmp folder is root's in root mode")
def test_the_graders_engine_folder_is_its_own_and_a_squatted_one_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(runner.tempfile, "gettempdir", lambda: str(tmp_path))
    home = Path(runner._engine_home(True))
    st = os.lstat(home)
    assert st.st_uid == 0 and st.st_mode & 0o777 == 0o755
    os.chmod(home, 0o777)  # as if someone else had made it, writable by all
    other = Path(runner._engine_home(True))
    assert other != home and os.lstat(other).st_uid == 0 and os.lstat(other).st_mode & 0o022 == 0


def test_the_engine_is_built_by_the_grader_for_native_checks_only(monkeypatch):
    built = []
    monkeypatch.setattr(runner, "EngineBuild", lambda root: built.append(root) or None)
    monkeypatch.setattr(runner, "run_unit", lambda job, part, engine=None, server=None, budget=None: Unit(part, b"", 1))
    run_jobs([Job(CHECKS.get("decode_panic"), ROOT / "solutions")])
    assert built == []
    run_jobs([Job(CHECKS.get("fix_a_c"), ROOT / "solutions")])
    assert built == [sandbox.has_pid_namespaces()]


# -- the fork server -------------------------------------------------------------------------------

def test_a_fork_server_killed_from_outside_is_started_again(tmp_path):
    from labkit.grading.forkserver import ForkServer
    shutil.copy(ROOT / "solutions" / "why_fix_b_races.py", tmp_path)
    server = ForkServer(runner._base_env())
    try:
        job = Job(CHECKS.get("why_fix_b_races"), tmp_path)
        first = judge_units(job.check, [runner.run_unit(job, None, None, server)])
        server._proc.kill()
        server._proc.wait()
        second = judge_units(job.check, [runner.run_unit(job, None, None, server)])
    finally:
        server.close()
    assert first.status == second.status == "pass", (str(first), str(second))
    assert str(first) == str(second)


def test_a_process_starts_one_fork_server_for_all_its_checks(tmp_path, monkeypatch):
    """A notebook's check() after check(), or grade() after grade(), asks the same server
    (forkserver.shared): its start (an interpreter and the checks' imports) is paid once. A
    worker setting that changes (LABKIT_GRADE_SCALES) gets a server started with it.
    At main 47e23b6 every run started its own (3 starts here, not 2)."""
    from labkit.grading import forkserver
    from labkit.grading.grader import check
    shutil.copy(ROOT / "solutions" / "why_fix_b_races.py", tmp_path)
    forkserver.close_shared()
    starts = []
    real = forkserver.ForkServer._start
    monkeypatch.setattr(forkserver.ForkServer, "_start", lambda self: starts.append(1) or real(self))
    monkeypatch.setattr("labkit.grading.grader._record_progress", lambda name, result: None)
    first = check("why_fix_b_races", tmp_path, progress=False)
    second = check("why_fix_b_races", tmp_path, progress=False)
    assert len(starts) == 1 and first.status == second.status == "pass", (starts, str(first), str(second))
    monkeypatch.setenv("LABKIT_GRADE_SCALES", "small")
    third = run_jobs([Job(CHECKS.get("why_fix_b_races"), tmp_path)])[0]
    assert len(starts) == 2 and third.status == "pass", (starts, str(third))

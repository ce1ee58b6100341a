"""The engine's cheaper steps keep every schedule, trace and copy as they were (issue 13).

A skipped step no longer enters the trace (the trace is read from the decisions), and a boot
kstat's copy is made once while nothing changes it. Each test here compares the cheap path with
the plain one on the same work, so a wrong shortcut fails it.
"""

import pytest

from labkit.kernel import Scenario
from labkit.kernel.layout import KSTAT_FLAG_INVALID
from labkit.sched import explore, replay
from labkit.sched.dpor import DporSearch
from labkit.sched.program import run_once
from labkit.sched.strategies.replay import ReplayChooser
from labkit.sched.schedule import parse_schedule


def _plain_trace(program, schedule):
    """The thread per step of a replay with no quiet points: every step is a decision."""
    _, exe = run_once(program, ReplayChooser(parse_schedule(schedule, program.thread_names)))
    assert exe.decisions == exe.steps
    return list(exe.trace)


@pytest.mark.parametrize("kstats,fix,writers", [(3, "none", 1), (3, "lock", 1), (40, "count", 1)])
def test_a_quiet_search_traces_every_step_as_the_plain_replay_does(kstats, fix, writers):
    prog = Scenario(kstats, fix, writers=writers)
    search = DporSearch(prog, detect_races=False)
    seen = 0
    for outcome in search.outcomes():
        # the outcome's schedule, replayed with every point a decision, takes the same steps
        plain = _plain_trace(prog, outcome.schedule)
        assert len(plain) == outcome.steps
        again = replay(prog, outcome.schedule, detect_races=False)
        assert (again.kind, again.schedule, again.steps) == (outcome.kind, outcome.schedule,
                                                            outcome.steps)
        seen += 1
    assert search.complete and seen > 3


def test_the_trace_view_answers_like_the_list_it_stands_for():
    prog = Scenario(40, "none")
    quiet = DporSearch(prog).learn()
    from labkit.sched.dpor import _Serial
    _, exe = run_once(prog, _Serial(1), quiet=quiet, detect_races=False)
    assert exe.decisions < exe.steps             # most steps were skipped
    names = list(exe.trace)
    assert names == _plain_trace(prog, " ".join(f"{n}{c}" for n, c in exe.trace.runs()))
    assert len(exe.trace) == len(names) == exe.steps
    for i in (0, 1, exe.steps // 2, exe.steps - 1, -1):
        assert exe.trace[i] == names[i]
    assert exe.trace[3:9] == names[3:9]
    with pytest.raises(IndexError):
        exe.trace[exe.steps]
    assert sum(c for _, c in exe.trace.runs()) == exe.steps
    assert [t.steps for t in exe.threads] == [names.count(t.name) for t in exe.threads]


def test_a_boot_kstat_copied_twice_is_the_same_copy_until_a_store_changes_it():
    prog = Scenario(5)
    boot = prog.boot_image().kstats[0]
    first = boot.copy()
    assert boot.copy() is first                  # made once ...
    boot.ks_snaptime = 77                        # ... until a store into the kstat
    changed = boot.copy()
    assert changed is not first and changed.get("ks_snaptime") == 77
    assert prog.boot_image() is not boot.image   # and the next execution boots a fresh image


def test_an_uninstalled_boot_kstat_is_recorded_at_every_copy():
    from labkit.kernel import context
    from labkit.kernel.kstat import Kernel
    prog = Scenario(5)
    boot = prog.boot_image().kstats[1]
    object.__setattr__(boot, "installed", False)  # as if its kstat_install had not run
    k = Kernel()
    context._booting.append(k)
    try:
        boot.copy()
        boot.copy()
    finally:
        context._booting.pop()
    assert k.uninstalled_copies == [boot.ks_kid, boot.ks_kid]
    assert boot._flags & KSTAT_FLAG_INVALID == 0


def test_seed_scale_verdicts_and_failing_schedules_are_unchanged():
    # the figures of the first edition's search at seed scale (benchmarks/bench_explore.py)
    r = explore(Scenario.seed("none"))
    assert (r.executions, r.pruned, r.outcomes) == (47, 0, {"ok": 43, "panic": 4})
    assert r.shortest_failing.schedule == "W12 R28500 W1 R2"
    assert r.exhaustive

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
    # the figures of the first edition's search at seed scale, every point a step
    # (benchmarks/bench_explore.py, its 'plain' rows)
    r = explore(Scenario.seed("none"), whole_sections=False)
    assert (r.executions, r.pruned, r.outcomes) == (47, 0, {"ok": 43, "panic": 4})
    assert r.shortest_failing.schedule == "W12 R28500 W1 R2"
    assert r.exhaustive


# ---- the fast path of a skipped step (runtime.SKIPPING) counts in bulk, settled later --------
def _serial(prog, first, **kw):
    from labkit.sched.dpor import _Serial
    return run_once(prog, _Serial(first), detect_races=False, **kw)


@pytest.mark.parametrize("budget", [1, 2, 15, 16, 17, 4000, 9000, 11400, 11401, 11402, 22820, 28517])
def test_a_step_budget_that_runs_out_among_skipped_steps_hangs_where_the_plain_run_does(budget):
    # The fast path may only skip while the budget lasts: a quiet run must stop on the very step
    # a run with no skipping stops on, however far into a stretch of skipped steps that is.
    prog = Scenario(5698, "none")
    quiet = DporSearch(prog).learn()
    for first in (0, 1):
        fast, fexe = _serial(prog, first, budget=budget, quiet=quiet)
        plain, pexe = _serial(prog, first, budget=budget)
        assert fexe.decisions < fexe.steps or budget < 30     # it did skip
        assert (fast.kind, fast.steps, fast.schedule) == (plain.kind, plain.steps, plain.schedule)
        assert [t.steps for t in fexe.threads] == [t.steps for t in pexe.threads]
        assert fast.kind == "hang" and fast.steps == budget


def test_no_skipping_outside_an_execution_whatever_it_ended_with():
    from labkit.sched.runtime import SKIPPING
    for fix in ("none", "lock"):
        prog = Scenario(40, fix)
        quiet = DporSearch(prog).learn()
        for first in (0, 1):
            outcome, _ = _serial(prog, first, quiet=quiet)
            assert (SKIPPING.room, SKIPPING.granted, SKIPPING.thread) == (0, 0, None)
            assert not SKIPPING.reads and not SKIPPING.writes
    # a search whose executions end in panics too: nothing stays armed after any of them, and a
    # panic's steps are the plain replay's
    kinds = set()
    prog = Scenario(40, "none")
    for outcome in DporSearch(prog, detect_races=False).outcomes():
        assert (SKIPPING.room, SKIPPING.granted, SKIPPING.thread) == (0, 0, None)
        if outcome.kind == "panic":
            assert len(_plain_trace(prog, outcome.schedule)) == outcome.steps
        kinds.add(outcome.kind)
    assert kinds == {"ok", "panic"}


def _count_then_fail(header_ksp, rw):
    """A learner's header_kstat_update with a bug: it raises in the middle of its walk."""
    from labkit.kernel.context import kstat_avl_bykid
    from labkit.kernel.kstat_fr import avl_walk
    n = 0
    for ksp in avl_walk(kstat_avl_bykid):
        n += (ksp.ks_flags & KSTAT_FLAG_INVALID) == 0
        if n == 20:
            raise ValueError("a learner's bug")
    return 0


def test_an_execution_that_fails_among_skipped_steps_counts_them():
    # the exception is raised right after skipped steps, with no point in between to credit them
    from labkit.kernel.variants import Variant
    prog = Scenario(40, Variant("count_then_fail", {"header_kstat_update": _count_then_fail}))
    errors = [o for o in DporSearch(prog, detect_races=False).outcomes() if o.kind == "error"]
    assert errors
    for outcome in errors:
        assert len(_plain_trace(prog, outcome.schedule)) == outcome.steps
        assert replay(prog, outcome.schedule, detect_races=False).steps == outcome.steps


def test_bcopy_faults_exactly_where_a_search_of_the_allocations_says():
    # bcopy tests the range of the buffer it last stored into before it searches the allocations:
    # every store, in any order, must fault (or not) as that search says, at the same byte.
    import random
    from labkit.kernel.context import booting
    from labkit.kernel.kstat import Kernel, Kstat
    from labkit.kernel.kstat_fr import bcopy
    from labkit.kernel.panic import KernelPanic
    rng = random.Random(0)
    for allocator in ("firewall", "redzone", "slab"):
        k = Kernel(allocator)
        k.header_ksp = Kstat(k.ekstat_addr(0), 0, "unix", 0, "kstat_headers", "kstat", 1, 0)
        src = Kstat(k.ekstat_addr(1), 1, "m", 0, "n", "misc", 1, 0)
        bufs = [k.memory.kmem_zalloc(size) for size in (0xfff71, 0x229, 0x30, 0x2001)]
        faults = 0
        # runs of stores one header apart (as a copy makes them), starting anywhere near a buffer
        dsts = []
        for _ in range(300):
            a = rng.choice(bufs)
            at = rng.choice((a.addr, a.addr + a.size, a.addr + rng.randrange(a.size)))
            start = at + rng.randrange(-0x400, 0x400)
            dsts += [start + i * 0xB8 for i in range(rng.randrange(1, 12))]
        for dst in dsts:
            expect = k.memory.first_unmapped(dst, 0xB8, k.memory.allocation_for(dst))
            with booting(k):
                try:
                    bcopy(src, dst, 0xB8)
                    got = None
                except KernelPanic as p:
                    got = p.record.fault_addr
            assert got == expect, (allocator, hex(dst))
            faults += got is not None
        assert faults > 100 or allocator == "slab"


def test_a_read_results_kids_with_and_without_records_left_zero():
    from labkit.kernel.scenario import ReadResult
    from labkit.kernel.kstat_drv import UserKstat
    ok = replay(Scenario(40, "none"), "R").result
    assert ok.kids == list(range(40)) and ok.signature()[2] == tuple(range(40))
    user = UserKstat(ks_kid=0, ks_data_size=0)
    user.data = list(ok.records[:3]) + [None] + list(ok.records[3:5])
    r = ReadResult(0, 1, user)
    assert r.kids == [0, 1, 2, 3, 4] and r.signature()[2] == (0, 1, 2, None, 3, 4)
    assert r.zero_filled == 1


def test_bcopy_copies_a_boot_kstat_once_and_records_an_uninstalled_one_every_time():
    from labkit.kernel.context import booting
    from labkit.kernel.kstat import Kernel
    from labkit.kernel.kstat_fr import bcopy
    prog = Scenario(5)
    boot = prog.boot_image().kstats[1]
    k = Kernel("redzone")
    buf = k.memory.kmem_zalloc(4 * 0xB8)
    with booting(k):
        bcopy(boot, buf.addr, 0xB8)
        bcopy(boot, buf.addr + 0xB8, 0xB8)
        assert k.memory.stores[buf.addr] is k.memory.stores[buf.addr + 0xB8]   # made once
        assert k.uninstalled_copies == []
        object.__setattr__(boot, "installed", False)  # as if its kstat_install had not run
        bcopy(boot, buf.addr + 2 * 0xB8, 0xB8)
        bcopy(boot, buf.addr + 3 * 0xB8, 0xB8)
    assert k.uninstalled_copies == [boot.ks_kid, boot.ks_kid]
    assert k.memory.stores[buf.addr + 3 * 0xB8] == k.memory.stores[buf.addr]   # the same members


def _search_record(prog, monkeypatch):
    """Every execution of the grader's search (schedule, kind, steps), every step's Event as the
    search recorded it (with its footprint: a whole section's is what it read quietly), and the
    search's counters."""
    from labkit.sched import dpor
    events, taken = [], dpor._Steps._taken

    def record(self, exe):
        ev = taken(self, exe)
        events.append((ev.p, ev.kind, ev.key, ev.whole, list(ev.fp.items())))
        return ev
    monkeypatch.setattr(dpor._Steps, "_taken", record)
    search = DporSearch(prog, detect_races=False)
    runs = [(o.schedule, o.kind, o.steps) for o in search.outcomes()]
    monkeypatch.setattr(dpor._Steps, "_taken", taken)
    return runs, events, (search.learning_runs, search.probes, search.restarts, search.repeated,
                          search.pruned, sorted(map(str, search.quiet.loud)))


@pytest.mark.parametrize("fix,writers", [("none", 2), ("lock", 2), ("count", 2), ("count", 1)])
def test_a_kstats_flag_read_is_decided_as_a_plain_point_decides_it(monkeypatch, fix, writers):
    # Kstat.ks_flags asks Quiet.first_read itself on point()'s fast path: the same search with
    # every flag read a plain point() (which asks skips()) makes the same executions in the same
    # order, records the same footprints and learns the same keys
    from labkit.kernel.kstat import Kstat
    from labkit.sched.runtime import point
    cheap = _search_record(Scenario(40, fix, writers=writers), monkeypatch)

    def plain(self):
        point("read", self, self.flags_what, depth=2)
        return self._flags
    monkeypatch.setattr(Kstat, "ks_flags", property(plain, Kstat.ks_flags.fset))
    assert _search_record(Scenario(40, fix, writers=writers), monkeypatch) == cheap
    assert cheap[2][-1] or fix == "lock"    # (a key was learned loud, where one is)
    if writers == 1 or fix == "lock":     # (with two writers the reader's section breaks at the loud kstat)
        assert any(len(fp) > 40 for *_, fp in cheap[1])   # a whole section that read every kstat


def test_the_chain_finds_a_kid_as_a_walk_over_it_would():
    from labkit.kernel.context import booting
    from labkit.kernel.kstat import Kernel
    prog = Scenario(40, "none")
    k = Kernel()
    k.avl_bykid.nodes = list(prog.boot_image().kstats)
    del k.avl_bykid.nodes[7]       # a gap: a kid removed
    with booting(k):
        for kid in range(-1, 42):
            assert k.avl_bykid.find(kid) is next((n for n in k.avl_bykid.nodes if n.ks_kid == kid), None)


def test_an_observed_execution_is_what_the_plain_loops_make_of_it():
    from labkit.grading.sim_checks import observe_execution

    def plain(outcome, scenario):      # observe_execution's figures, one kid at a time
        res = outcome.result
        kids = [r.kid for r in res.records if r is not None]
        present = set(kids)
        missing = [x for x in range(scenario.kstats) if x not in present]
        seen, dups = set(), []
        for x in kids:
            if x in seen:
                dups.append(x)
            seen.add(x)
        return dict(new_copied=sorted(x for x in present if x >= scenario.kstats), boot_missing=missing[:10],
                    boot_missing_n=len(missing), dups=dups[:10],
                    zero_filled=sum(1 for r in res.records if r is None))

    checked = 0
    for fix, writers in (("none", 2), ("count", 2), ("lock", 1)):
        prog = Scenario(40, fix, writers=writers)
        for outcome in DporSearch(prog, detect_races=False).outcomes():
            if outcome.kind == "ok":
                obs = observe_execution(outcome, prog)
                assert {key: obs[key] for key in plain(outcome, prog)} == plain(outcome, prog)
                checked += 1
    # and records copied twice, missing, or left zero between others
    from labkit.kernel.kstat_drv import UserKstat
    from labkit.kernel.scenario import ReadResult
    from labkit.kernel.kstat import KstatCopy
    ok = replay(Scenario(40, "none"), "R")
    recs = ok.result.records
    new = [KstatCopy(r[:_kid_at(r)] + (kid,) + r[_kid_at(r) + 1:]) for r, kid in ((recs[3], 40), (recs[4], 41))]
    for records, dups, missing, copied in ((recs[:3] + [None, recs[1]] + recs[5:], [1], [3, 4], []),
                                           (recs[:3] + new + recs[5:], [], [3, 4], [40, 41])):
        user = UserKstat(ks_kid=0, ks_data_size=0)
        user.data = records
        ok.result = ReadResult(0, 1, user)
        obs = observe_execution(ok, Scenario(40, "none"))
        assert {key: obs[key] for key in plain(ok, Scenario(40, "none"))} == plain(ok, Scenario(40, "none"))
        assert (obs["dups"], obs["boot_missing"], obs["new_copied"]) == (dups, missing, copied)
    assert checked > 10


def _kid_at(record) -> int:
    return list(record.keys()).index("ks_kid")

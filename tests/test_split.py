"""One DPOR search with helpers (DporSearch(jobs=2), split.py) is exactly the sequential one: the
same executions in the same order, the same counters, whether the helpers' records are followed,
go another way, stop short, die or hang; and no process is left behind."""

import os
import random
import time

import pytest

from labkit.kernel import Scenario
from labkit.sched import benchprograms as bp
from labkit.sched import split
from labkit.sched.dpor import DporSearch
from labkit.sched.explore import signature
from test_sched import LITMUS_QUIET

KSTAT = [Scenario(k, fix, writers=w) for fix in ("none", "lock", "count")
         for k, w in ((3, 1), (1, 2), (3, 2))]
PROGRAMS = bp.SMALL + bp.SECTIONS + LITMUS_QUIET + KSTAT


def _seen(outcome):
    return outcome.schedule, outcome.kind, signature(outcome)


def _run(prog, jobs, whole_sections=True):
    search = DporSearch(prog, detect_races=False, whole_sections=whole_sections, observe=_seen,
                        jobs=jobs)
    got = list(search.outcomes())
    counters = (search.complete, search.probes, search.pruned, search.restarts, search.repeated,
                search.learning_runs)
    return got, counters, search.split


def _no_child_left():
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def _same(prog, whole_sections=True):
    want = _run(prog, 1, whole_sections)
    got = _run(prog, 2, whole_sections)
    assert got[0] == want[0], "the executions or their order differ"
    assert got[1] == want[1], "the counters differ"
    _no_child_left()
    return got[2]


@pytest.mark.parametrize("prog", PROGRAMS, ids=lambda p: getattr(p, "name", repr(p)))
def test_helpers_change_nothing(prog):
    _same(prog)


@pytest.mark.parametrize("prog", [bp.peeking_counters(3), bp.branching(1), KSTAT[2]],
                         ids=repr)
def test_helpers_change_nothing_point_by_point(prog):
    _same(prog, whole_sections=False)


def _slow_search(monkeypatch):
    """The search's own runs 20 ms slower, its helpers' not."""
    import labkit.sched.dpor as dpor
    me, real = os.getpid(), dpor.run_once

    def slow(*a, **kw):
        if os.getpid() == me:
            time.sleep(0.02)
        return real(*a, **kw)
    monkeypatch.setattr(dpor, "run_once", slow)


def test_records_are_followed(monkeypatch):
    """Two writers at 3 kstats (fix B), the search's own runs made slower (helpers' are not, so
    that they run ahead whatever the machine's load): most executions are followed from the
    helpers' records."""
    _slow_search(monkeypatch)
    sp = _same(Scenario(3, "count", writers=2))
    assert sp.forked >= 1 and sp.followed >= 40, (sp.forked, sp.followed)


def _helper_then(monkeypatch, before):
    """Helpers that do `before(splitter, search)` first, then explore as usual."""
    real = split.Splitter._helper

    def helper(self, d, b, w, parent):
        before(self, self.search)
        real(self, d, b, w, parent)
    monkeypatch.setattr(split.Splitter, "_helper", helper)


def test_a_helper_whose_trees_go_another_way_changes_nothing(monkeypatch):
    """Helpers that explore their branches in another order than the search will: their runs
    are real runs of the program, followed only where the search's own decisions lead there."""
    def shuffle(self, search):
        rng = random.Random(os.getpid())
        for st in search.states:
            if len(st.wut) > 2:
                rest = st.wut[1:]
                rng.shuffle(rest)
                st.wut[1:] = rest
    _helper_then(monkeypatch, shuffle)
    for prog in (Scenario(3, "count", writers=2), Scenario(1, "none", writers=2), bp.indexer(3)):
        _same(prog)


def _dies_after(monkeypatch, n, then):
    """Each helper sends n runs, then does then()."""
    real = split.Splitter.recorded
    sent = {"n": 0}

    def recorded(self, *a):
        real(self, *a)
        sent["n"] += 1
        if sent["n"] >= n:
            then()
    monkeypatch.setattr(split.Splitter, "recorded", recorded)


def test_a_helper_that_dies_changes_nothing(monkeypatch):
    """Each helper sends a few runs, then dies: the search runs the rest itself."""
    _dies_after(monkeypatch, 3, lambda: os._exit(1))
    _slow_search(monkeypatch)
    sp = _same(Scenario(3, "count", writers=2))
    assert sp.forked >= 2


def test_a_helper_that_sends_garbage_changes_nothing(monkeypatch):
    real = split.Splitter._helper

    def helper(self, d, b, w, parent):
        os.write(w, b"\0\0\0\x05junk!")
        real(self, d, b, w, parent)
    monkeypatch.setattr(split.Splitter, "_helper", helper)
    _same(Scenario(3, "count", writers=2))


def test_a_helper_that_hangs_changes_nothing(monkeypatch):
    """A helper that sends two runs, then nothing: the search, waiting for it in its branch,
    waits HUNG_S at most, then runs that branch itself."""
    monkeypatch.setattr(split, "HUNG_S", 0.5)
    _dies_after(monkeypatch, 2, lambda: time.sleep(3600))
    waits = []
    real = split.Splitter._wait_for

    def wait_for(self, *a):
        started = time.monotonic()
        got = real(self, *a)
        waits.append(time.monotonic() - started)
        return got
    monkeypatch.setattr(split.Splitter, "_wait_for", wait_for)
    started = time.monotonic()
    _same(Scenario(3, "count", writers=2))
    assert time.monotonic() - started < 60
    assert max(waits) >= 0.5, "the search never waited for a hung helper"


def test_a_search_left_early_leaves_no_process():
    """A caller that stops iterating (the grader stops at a stub's first NotImplementedError)."""
    search = DporSearch(Scenario(3, "count", writers=2), detect_races=False, observe=_seen, jobs=2)
    it = search.outcomes()
    for _ in range(5):
        next(it)
    it.close()
    _no_child_left()


def test_jobs_needs_an_observe_and_no_cap():
    with pytest.raises(ValueError):
        DporSearch(bp.indexer(2), jobs=2)
    with pytest.raises(ValueError):
        DporSearch(bp.indexer(2), jobs=2, observe=_seen, max_executions=3)

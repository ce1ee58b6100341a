"""The engine's contract (issue 12): the kinds an execution can end with, the hooks of explore()
and its iterator, the sync objects deciding who may proceed, and the global-execution lock."""

import sys
import threading

import pytest

from labkit.errors import LabkitError
from labkit.kernel import Scenario
from labkit.sched import (OUTCOME_KINDS, Failure, Mutex, Outcome, Progress, Recipe, SimThread, exclusive,
                          explore, outcomes, point, replay)
from labkit.sched.outcome import ALL_KINDS, STOP_KINDS
from labkit.sched.program import run_once
from labkit.sched.runtime import Chooser, Execution, default_choice


@pytest.mark.parametrize("kind", ALL_KINDS + ("something new",))
def test_summary_never_raises(kind):
    out = Outcome(kind=kind, schedule="R1", steps=1, preemptions=0, recipe=Recipe("R1"),
                  failure=ValueError("why"))
    assert out.summary() and str(out)


def test_the_kinds_are_listed_once_and_apart():
    assert set(OUTCOME_KINDS) & set(STOP_KINDS) == set()
    assert ALL_KINDS == OUTCOME_KINDS + STOP_KINDS


class _Prog:
    """Two threads; A takes m and writes, B takes m; `body` replaces A's work when given."""

    thread_names = ("A", "B")

    def __init__(self, body=None):
        self.body = body

    def instantiate(self):
        prog = self

        class Inst:
            def __init__(self):
                self.m = Mutex("m")
                self.cell = object()

                def a():
                    if prog.body is not None:
                        prog.body()
                    self.m.enter()
                    point("write", self.cell, "cell")
                    self.m.exit()

                def b():
                    self.m.enter()
                    point("write", self.cell, "cell")
                    self.m.exit()

                self.threads = [SimThread("A", a), SimThread("B", b)]

        return Inst()

    def describe(self):
        return {}

    def recipe(self, s):
        return Recipe(s)


def test_an_unknown_stop_kind_is_refused():
    class Bad(Chooser):
        def choose(self, exe, enabled):
            exe.stop("made up")

    with pytest.raises(AssertionError, match="unknown way for an execution to end"):
        run_once(_Prog(), Bad())


def test_a_failure_of_an_unknown_kind_is_an_error():
    class Odd(Failure):
        kind = "odd"

    def boom():
        raise Odd("odd failure")

    out = replay(_Prog(boom), "A1")
    assert out.kind == "error" and "odd failure" in out.summary()


def test_the_mutex_decides_who_may_proceed():
    m = Mutex("m")
    owner, other = SimThread("A", lambda: None), SimThread("B", lambda: None)
    assert m.waiting(other, "acquire") == ""
    m.owner = owner
    assert m.waiting(other, "acquire") == "spinning" and not m.waiters    # owner on CPU: spin
    owner.waiting = "blocked"
    assert m.waiting(other, "acquire") == "blocked" and m.waiters         # owner off CPU: block
    assert m.owner_word & 1


def test_a_thread_that_cannot_proceed_is_not_enabled():
    class Probe(Chooser):
        seen: list = []

        def choose(self, exe, enabled):
            a, b = exe.threads
            if a.pending and a.pending[0] == "write":
                Probe.seen.append((b.state, [t.name for t in enabled]))
            return default_choice(exe, enabled)

    run_once(_Prog(), Probe())
    # while A holds m and is about to write, B (waiting to take m) spins and is not enabled
    assert Probe.seen and all(state in ("spinning", "blocked") and names == ["A"]
                              for state, names in Probe.seen[:1])


@pytest.mark.parametrize("strategy, executions", [("random", 40), ("pct", 30), ("dpor", None),
                                                  ("dfs", None)])
def test_outcomes_iterates_the_executions_explore_counts(strategy, executions):
    prog = _Prog() if strategy == "dfs" else Scenario.small()   # dfs: every interleaving, so tiny
    result = explore(prog, strategy, seed=5, executions=executions)
    runs = list(outcomes(prog, strategy, seed=5, executions=executions))
    assert len(runs) == result.executions
    counts = {}
    for o in runs:
        counts[o.kind] = counts.get(o.kind, 0) + 1
    assert counts == result.outcomes


def test_progress_is_told_each_execution_and_stop_ends_the_search():
    prog = Scenario.small()
    seen: list[Progress] = []
    result = explore(prog, "random", seed=0, executions=50, progress=seen.append,
                     stop=lambda: len(seen) >= 7)
    assert [p.executions for p in seen] == list(range(1, 8)) and all(p.total == 50 for p in seen)
    assert result.executions == 7 and result.stopped and not result.exhaustive
    assert seen[-1].failing == result.executions - result.outcomes.get("ok", 0)
    full = explore(prog, "dpor", progress=seen.append, stop=lambda: False)
    assert full.exhaustive and not full.stopped and seen[-1].total is None


def test_stop_on_the_last_execution_is_not_an_early_stop():
    result = explore(Scenario.small(), "random", seed=0, executions=5, stop=lambda: True)
    assert result.executions == 1 and result.stopped
    result = explore(Scenario.small(), "random", seed=0, executions=1, stop=lambda: True)
    assert result.executions == 1 and not result.stopped


def test_executions_in_two_threads_take_turns():
    """The global-execution lock: runs from several OS threads end as they do alone. (Without
    the lock this fails most times: the threads' greenlets trample one current execution.)"""
    prog = Scenario.small()
    golden = explore(prog, "dpor").shortest_failing.schedule
    alone = replay(prog, golden)
    got, errors = [], []

    def work():
        try:
            for _ in range(20):
                got.append(replay(prog, golden).schedule)
        except Exception as e:     # collected, so the assertion says what went wrong
            errors.append(e)

    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)         # switch OS threads as often as the interpreter can
    try:
        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(before)
    assert errors == [] and got == [alone.schedule] * 60


def test_exclusive_holds_other_threads_off_and_says_busy():
    prog = Scenario.small()
    result = {}
    with exclusive():
        t = threading.Thread(target=lambda: result.update(
            err=_busy(lambda: _with_exclusive(0.05, lambda: replay(prog, "W1 R")))))
        t.start()
        t.join(10)
        assert "simulator is busy" in result["err"]
        assert replay(prog, "W1 R").kind == "ok"      # the holder itself goes straight in


def _with_exclusive(wait, fn):
    with exclusive(wait):
        return fn()


def _busy(fn):
    try:
        fn()
    except LabkitError as e:
        return str(e)
    return ""


def test_execution_stop_is_the_one_way_to_end_a_run():
    """Choosers and searches end a run with Execution.stop(); the old private alias is gone."""
    import pathlib
    import re
    assert not hasattr(Execution, "_stop")
    sched = pathlib.Path(Execution.__module__.replace(".", "/")).parent
    root = pathlib.Path(__file__).resolve().parent.parent
    callers = sorted(str(p.relative_to(root)) for p in (root / sched).rglob("*.py")
                     if re.search(r"\bexe\w*\._stop\(", p.read_text()))
    assert callers == []


def test_strategies_holds_only_choosers():
    """strategies/ is the choosers (one small file each); drivers (replay, Stepper, the searches)
    live in sched itself. Every class there is a Chooser, every function makes choosers."""
    import importlib
    import inspect
    import pkgutil

    import labkit.sched.strategies as strategies
    for info in pkgutil.iter_modules(strategies.__path__):
        mod = importlib.import_module(f"{strategies.__name__}.{info.name}")
        own = [obj for _, obj in inspect.getmembers(mod) if getattr(obj, "__module__", None) == mod.__name__]
        for obj in own:
            if inspect.isclass(obj):
                assert issubclass(obj, Chooser), f"{mod.__name__}.{obj.__name__} is not a chooser"
            elif inspect.isfunction(obj):
                assert obj.__name__ == "choosers", f"{mod.__name__}.{obj.__name__}() is not a chooser factory"


def test_note_is_never_a_point_nor_a_step():
    from labkit.sched import note

    note("write", object())                       # outside any execution: nothing happens
    cell = object()

    def body():
        note("read", cell)
        note("write", cell)

    plain = replay(_Prog(), "A")
    noted = replay(_Prog(body), "A")
    assert (noted.kind, noted.steps, noted.schedule) == (plain.kind, plain.steps, plain.schedule)
    heard = []

    class Listening(Chooser):
        def choose(self, exe, enabled):
            return default_choice(exe, enabled)

    def a():
        point("write", object())
        body()
        point("write", object())

    exe = Execution([SimThread("A", a)], Listening())
    exe.noting = lambda kind, obj: heard.append((exe.running.name, kind, obj))
    assert exe.run() == "ok" and exe.steps == 2
    assert heard == [("A", "read", cell), ("A", "write", cell)]


def test_note_refuses_a_kind_it_does_not_know():
    from labkit.sched import note

    def a():
        point("write", object())
        note("acquire", object())

    exe = Execution([SimThread("A", a)], Chooser())
    exe.chooser.choose = lambda exe, enabled: enabled[0]
    exe.noting = lambda kind, obj: None
    assert exe.run() == "error" and "takes 'read' or 'write'" in str(exe.failure)

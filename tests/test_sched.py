"""The scheduler on small litmus programs: DPOR must find exactly the outcomes that plain
enumeration of every interleaving finds, schedules replay exactly, and bad input is refused."""

import pytest

from labkit.errors import LabkitError
from labkit.sched import (Mutex, Recipe, Schedule, SimThread, Stepper, explore, format_schedule, parse_schedule,
                          point, replay)


class Cell:
    def __init__(self):
        self.v = 0


class KeyedCell(Cell):
    """A cell that names itself across executions, so a DPOR search may skip its quiet accesses."""

    def __init__(self, key):
        super().__init__()
        self.sched_key = key


class _Result:
    def __init__(self, values):
        self.values = values

    def signature(self):
        return self.values


class Litmus:
    """n threads each doing `ops` on shared cells; result = the final cell values."""

    def __init__(self, name, bodies, keyed=False):
        self.name = name + (" (keyed cells)" if keyed else "")
        self.bodies = bodies
        self.keyed = keyed
        self.thread_names = tuple("ABCD"[: len(bodies)])

    def instantiate(self):
        prog = self

        class Inst:
            def __init__(self):
                if prog.keyed:
                    self.x, self.y = KeyedCell("x"), KeyedCell("y")
                else:
                    self.x, self.y = Cell(), Cell()
                self.m = Mutex("m")
                self.seen = {}
                self.threads = [SimThread(n, (lambda b=b, n=n: b(self, n)))
                                for n, b in zip(prog.thread_names, prog.bodies)]

            def result(self):
                return _Result((self.x.v, self.y.v, tuple(sorted(self.seen.items()))))

        return Inst()

    def describe(self):
        return {"litmus": self.name}

    def recipe(self, s):
        return Recipe(s, call=f"litmus_{self.name}()")


def rd(s, cell, who, key):
    point("read", cell, "cell")
    s.seen[key] = cell.v


def wr(s, cell, v):
    point("write", cell, "cell")
    cell.v = v


def incr(s, n):
    point("read", s.x, "x")
    v = s.x.v
    point("write", s.x, "x")
    s.x.v = v + 1


def locked_incr(s, n):
    s.m.enter()
    incr(s, n)
    s.m.exit()


def sb_a(s, n):
    wr(s, s.x, 1)
    rd(s, s.y, n, "a")


def sb_b(s, n):
    wr(s, s.y, 1)
    rd(s, s.x, n, "b")


def count_then_copy(s, n):          # the kstat race in miniature: count under lock, copy under lock
    s.m.enter()
    rd(s, s.y, n, "count")
    point("read", s.x, "x")
    rd(s, s.y, n, "copy")
    s.m.exit()


def unlocked_flag(s, n):
    point("read", s.x, "x")
    wr(s, s.y, 1)


def locked_flag(s, n):
    s.m.enter()
    wr(s, s.y, 1)
    s.m.exit()


def deadlocker(s, n):
    s.m.enter()
    s.m.enter()


LITMUS = [
    Litmus("racy increments", [incr, incr]),
    Litmus("three racy increments", [incr, incr, incr]),
    Litmus("locked increments", [locked_incr, locked_incr]),
    Litmus("store buffering", [sb_a, sb_b]),
    Litmus("count then copy, unlocked flag", [count_then_copy, unlocked_flag]),
    Litmus("count then copy, locked flag", [count_then_copy, locked_flag]),
    Litmus("self deadlock", [deadlocker, incr]),
]
# The same programs with cells that carry a sched_key: the reduced search then skips the points
# of quiet accesses (sched/quiet.py) and must still find every outcome.
LITMUS_KEYED = [Litmus(p.name, p.bodies, keyed=True) for p in LITMUS]


def reader_of_constant(s, n):      # reads y, which nobody writes while threads run
    rd(s, s.y, n, n)
    rd(s, s.y, n, n + "2")


def guarded_incr_twice(s, n):
    locked_incr(s, n)
    locked_incr(s, n)


def peek_then_set(s, n):           # its own unlocked read, then a write under the lock (the writer's ks_flags)
    rd(s, s.x, n, n)
    s.m.enter()
    wr(s, s.x, 1)
    s.m.exit()


def locked_read(s, n):
    s.m.enter()
    rd(s, s.x, n, n)
    s.m.exit()


LITMUS_QUIET = [
    Litmus("read-only cell", [reader_of_constant, reader_of_constant], keyed=True),
    Litmus("lock-guarded cell", [guarded_incr_twice, guarded_incr_twice], keyed=True),
    Litmus("guarded, then unguarded", [guarded_incr_twice, incr], keyed=True),
    Litmus("own unlocked read, locked write", [peek_then_set, locked_read], keyed=True),
]


@pytest.mark.parametrize("prog", LITMUS + LITMUS_KEYED + LITMUS_QUIET, ids=lambda p: p.name)
def test_dpor_finds_exactly_the_outcomes_of_full_enumeration(prog):
    full = explore(prog, "dfs")
    reduced = explore(prog, "dpor")
    assert full.exhaustive and reduced.exhaustive
    assert reduced.outcome_set == full.outcome_set
    assert reduced.executions <= full.executions


def test_outcome_sets_are_the_known_ones():
    racy = explore(LITMUS[0], "dpor")
    assert {s[1][0] for s in racy.outcome_set} == {1, 2}          # a lost update is possible
    locked = explore(LITMUS[2], "dpor")
    assert {s[1][0] for s in locked.outcome_set} == {2}
    sb = explore(LITMUS[3], "dpor")
    seen = {dict(s[1][2])["a"] * 10 + dict(s[1][2])["b"] for s in sb.outcome_set}
    assert seen == {1, 10, 11}                                    # never both 0: sequential consistency
    flag = explore(LITMUS[4], "dpor")
    counts = {(dict(s[1][2])["count"], dict(s[1][2])["copy"]) for s in flag.outcome_set}
    assert (0, 1) in counts                                       # the count and the copy disagree
    locked = explore(LITMUS[5], "dpor")
    assert {(dict(s[1][2])["count"], dict(s[1][2])["copy"]) for s in locked.outcome_set} == {(0, 0), (1, 1)}
    dl = explore(LITMUS[6], "dpor")
    assert dl.deadlocks == dl.executions


def test_quiet_accesses_are_skipped_only_while_no_other_thread_can_disturb_them():
    from labkit.sched.dpor import DporSearch
    read_only, guarded, mixed, own = LITMUS_QUIET
    # pairwise: x is loud only when two threads' accesses, one a write, share no lock; A's own
    # unlocked read of x conflicts with no other thread's access (B's is a read under m)
    for prog, loud in ((read_only, set()), (guarded, set()), (mixed, {"x"}), (own, set())):
        search = DporSearch(prog)
        list(search.outcomes())
        assert search.quiet.loud == loud
        # the learning runs saw every loud cell, so the search never had to start over
        assert search.restarts == 0
    # a read-only cell costs no schedule choices at all; a lock-guarded one, one execution per
    # order of the four critical sections (two per thread: C(4, 2) = 6)
    assert explore(read_only, "dpor").executions == 1
    assert explore(guarded, "dpor").executions == 6
    # skipped steps still count, so every schedule replays without the reduction
    for out in DporSearch(mixed).outcomes():
        again = replay(mixed, out.schedule)
        assert (again.kind, again.steps, again.result.signature()) == (
            out.kind, out.steps, out.result.signature())


def test_race_detector_names_both_accesses():
    out = replay(LITMUS[4], "B1 A")
    assert any(r.second.what == "cell" for r in out.races)
    assert explore(LITMUS[5]).races == []


def test_schedule_strings_round_trip():
    steps = ["A", "A", "B", "A", "B", "B", "B"]
    assert format_schedule(steps) == "A2 B1 A1 B3"
    assert parse_schedule("A2 B1 A1 B3", "AB") == Schedule(tuple(steps))
    assert parse_schedule("A2 B", "AB") == Schedule(("A", "A"), to_end="B")
    assert str(parse_schedule("A2 B1 A", "AB")) == "A2 B1 A"


def test_a_bare_name_is_only_accepted_last():
    with pytest.raises(LabkitError, match="only the last run may leave out its count.*write A1"):
        parse_schedule("A B2", "AB")


@pytest.mark.parametrize("bad", ["Q3", "A0", "a2", "A2 ?", "A99999999", "A B", "B A2 B"])
def test_malformed_schedules_are_refused(bad):
    with pytest.raises(LabkitError):
        parse_schedule(bad, "AB")


def test_replay_reproduces_every_explored_outcome():
    prog = LITMUS[0]
    from labkit.sched.dpor import DporSearch
    for out in DporSearch(prog).outcomes():
        again = replay(prog, out.schedule)
        assert (again.kind, again.result.signature()) == (out.kind, out.result.signature())


def test_random_and_pct_are_seeded():
    a = explore(LITMUS[1], "random", seed=3, executions=30)
    b = explore(LITMUS[1], "random", seed=3, executions=30)
    assert (a.outcomes, a.outcome_set) == (b.outcomes, b.outcome_set)
    p = explore(LITMUS[1], "pct", executions=30)
    assert p.seed == 0 and sum(p.outcomes.values()) == 30


def test_stepper_steps_and_undoes():
    s = Stepper(LITMUS[0])
    s.step("A").step("B", 2)
    assert s.schedule == "A1 B2"
    with pytest.raises(LabkitError):
        s.step("Z")
    s.undo()
    assert s.schedule == "A1 B1"
    s.run("A")
    s.run("B")
    assert s.done and s.outcome.result.signature()[0] == 1        # the lost update

"""The trace counter (traces.py: one run per trace, normal forms) against brute force (every
prefix up to trace equivalence, one run each: what traces.py did before): the same traces, by
name, and the same outcomes, both ways of counting steps, on every program the DPOR tests and
bench_dpor.py check where the brute force finishes; and each trace is reached by one run only."""

import pytest

from labkit.sched import benchprograms as bp
from labkit.sched import traces
from labkit.sched.dpor import HALTING
from labkit.sched.runtime import WRITE_KINDS
from test_dpor import PROGRAMS
from test_whole_sections import BENCH, SMALL_KSTAT

EXTRA = [bp.locked_list(3), bp.section_panic(3), bp.halt_early(3), bp.branching(2)]   # bench_dpor's
ALL = list({repr(p): p for p in PROGRAMS + bp.SECTIONS + SMALL_KSTAT + BENCH + EXTRA}.values())


def brute_force(program, whole: bool) -> dict:
    """Every prefix up to trace equivalence, one run each; each maximal run named by its steps
    as traces.py names it (with whole sections, in the order it ran them)."""
    n = len(program.thread_names)
    todo: list[list[int]] = [[]]
    seen = {traces._name([], [], n)}
    ends = []
    while todo:
        prefix = todo.pop()
        chooser = traces._Prefix(prefix, notes=whole)
        sig = traces._run(program, chooser, None)
        if sig is not None:
            ends.append((chooser.steps, chooser.facts, sig))
            continue
        steps = traces._fine(chooser.steps, chooser.facts) if whole else chooser.steps
        for p, kind, key in chooser.enabled:
            more = steps + [(p, key, kind in WRITE_KINDS)]
            name = traces._name(more, traces._clocks(more, n), n)
            if name not in seen:
                seen.add(name)
                todo.append(prefix + [p])
    loud = traces._loud([(s, f) for s, f, _ in ends], whole)
    tried = ({k for s, f, _ in ends for (_, k, _), fact in zip(s, f) if fact[0] == "tryacquire"}
             if whole else None)
    out = {}
    for s, f, sig in ends:
        halted = sig[0] in HALTING
        if not (whole or halted):
            out[traces._name(s, traces._clocks(s, n), n)] = sig
            continue
        block_of: list[int] = []
        coarse = traces._coarse(s, f, loud, tried, block_of)
        if halted and halt_inside(traces._fine(s, f) if whole else s, block_of, n):
            continue
        name = traces._name(coarse, traces._clocks(coarse, n), n)
        out[name if whole else ("halted", name)] = sig
    return out


def halt_inside(steps, block_of, n) -> bool:
    """Whether another thread's point comes after the first point of the step that halted, in
    the run's own order (its clocks): that point would have to run inside that step."""
    clocks = traces._clocks(steps, n)
    p = steps[-1][0]
    first = block_of.index(block_of[-1])          # the halting step's first point
    return any(steps[k][0] != p and clocks[k][p] >= clocks[first][p] for k in range(first, len(steps)))


@pytest.mark.parametrize("whole", [False, True], ids=["plain", "whole_sections"])
@pytest.mark.parametrize("prog", ALL, ids=lambda p: getattr(p, "name", repr(p)))
def test_one_run_per_trace_and_the_brute_forces_traces(prog, whole):
    ends = traces._normal_forms(prog, whole, 100_000, None)
    n = len(prog.thread_names)
    fine = [traces._fine(s, f) if whole else s for s, f, _ in ends]
    assert len({traces._name(s, traces._clocks(s, n), n) for s in fine}) == len(ends)
    assert traces.enumerate_traces(prog, whole_sections=whole) == brute_force(prog, whole)

"""Checks on the simulator: a panicking schedule (2), fixes A and B (3, 4), the bonus (8).

Design note: a fix is not judged on one run. The DPOR explorer runs it over every schedule (one
per class of equivalent interleavings, which is all of them as far as any outcome can tell) at the
small scale and at the seed's scale, and every execution must end well AND keep the kernel's
behaviour: the read succeeds, no INVALID kstat is in the snapshot (illumos 4246's point), every
kstat installed before the race is there, nothing is copied twice. The failing execution with the
fewest preemptions is reported, with its schedule and the `labkit replay` command that shows it. We iterate
labkit.sched.outcomes(), not explore(), because explore() keeps counts and the shortest failure
only, and the behaviour rules need every execution's result.
"""

from __future__ import annotations

import time

from labkit import config
from labkit.errors import LabkitError
from labkit.grading.base import CheckSet, LearnerError, Missing
from labkit.kernel import Scenario, load_variant
from labkit.kernel.layout import KSTAT_FLAG_INVALID
from labkit.sched import outcomes, replay
from labkit.sched.outcome import failure_rank

CHECKS = CheckSet()


def _variant(sub, filename: str, needs: str):
    variant = load_variant(sub.file(filename))  # a LabkitError names the line at fault
    if needs not in variant.functions:
        raise Missing(f"{filename}: no function {needs}(); define it with that exact name")
    return variant


def judge(outcome, scenario) -> str | None:
    """What is wrong with one execution, in words, or None if it ended well."""
    if outcome.kind == "error" and isinstance(outcome.failure, NotImplementedError):
        raise Missing(str(outcome.failure))
    if outcome.kind == "panic":
        rec = outcome.panic
        if rec is not None and rec.fault_addr is not None:
            return (f"the kernel panicked: the copy of header {rec.header_index} (0-based) ran past "
                    f"the buffer, which had room for the {rec.counted} headers counted (page fault "
                    f"at kbuf+{rec.offset:#x})")
        return f"the kernel panicked: {outcome.failure}"
    if outcome.kind == "deadlock":
        return ("deadlock: every thread is waiting (does your code take kstat_chain_lock and then "
                "call something that takes it again, such as kstat_rele?)")
    if outcome.kind == "hang":
        return f"no end in sight: still running after {outcome.steps} scheduling steps (a loop that never ends?)"
    if outcome.kind == "error":
        return f"your code raised {type(outcome.failure).__name__}: {outcome.failure}"
    res = outcome.result
    if res.error not in (0, None):
        return f"the reader's ioctl failed with error {res.error} instead of returning the headers"
    invalid = [h[0] for h in res.headers if h is not None and h[3] & KSTAT_FLAG_INVALID]
    if invalid:
        return (f"the snapshot holds INVALID kstats (kids {invalid}): a reader must never see a "
                f"kstat before kstat_install has made it valid")
    kids = res.kids
    if len(set(kids)) != len(kids):
        return f"the snapshot holds a kstat twice (kids {kids})"
    lost = [k for k in range(scenario.kstats) if k not in kids]
    if lost:
        return (f"the snapshot lacks kstats that were installed long before (kids {lost}); "
                f"the reader got kids {kids}")
    return None


def explore_fix(ctx, variant, scales, points_each: float) -> None:
    for label, scenario in scales(variant):
        if ctx._required_failed:
            ctx.note(f"{label} scale ({scenario.kstats} kstats) not explored: fix the failure above first")
            continue
        start, n, worst = time.monotonic(), 0, None
        # every schedule class, one execution each (the public search: no cap, so it completes)
        for outcome in outcomes(scenario, "dpor", detect_races=False):
            n += 1
            problem = judge(outcome, scenario)
            if problem and (worst is None or failure_rank(outcome) < failure_rank(worst[0])):
                worst = (outcome, problem)
        where = f"{label} scale ({scenario.kstats} kstats)"
        if worst is None:
            ctx.part(True, points_each, good=f"{where}: all {n} schedules end well: no panic, no "
                     f"deadlock, no INVALID kstat in the snapshot, every installed kstat there "
                     f"({time.monotonic() - start:.1f} s)")
        else:
            o, problem = worst
            ctx.part(False, points_each, required=True,
                     bad=f"{where}: {problem}\n            schedule: {o.schedule}\n"
                         f"            replay it: {o.replay_command}")


#: The scales a fix is explored at: "small", "seed" (5698 kstats, about 1 s per execution) or a
#: number of kstats. LABKIT_GRADE_SCALES="small,64" trades the seed's numbers for speed (CI).
SCALES = config.GRADE_SCALES


def _scales(variant):
    for label in SCALES.split(","):
        label = label.strip()
        if label == "small":
            yield label, Scenario.small(fix=variant)
        elif label == "seed":
            yield label, Scenario.seed(fix=variant)
        elif label.isdigit():
            yield "medium", Scenario(int(label), variant)
        else:
            raise LabkitError(f"LABKIT_GRADE_SCALES: unknown scale {label!r}; accepted: small, seed, a number")


@CHECKS.check(points=10, files=("find_schedule.py",), timeout=60)
def find_schedule(sub, ctx):
    """Find a schedule that panics the buggy kernel"""
    schedule = sub.call("find_schedule.py", "panicking_schedule")
    if not isinstance(schedule, str):
        raise LearnerError(f"panicking_schedule() returned {schedule!r}; expected a schedule string "
                           f"such as 'R5 W9 R'")
    scenario = Scenario.small(fix="none")
    outcome = replay(scenario, schedule)  # a malformed schedule is a LabkitError saying why
    if outcome.kind == "panic":
        rec = outcome.panic
        ctx.part(True, 10, good=f"{schedule!r} panics the buggy kernel: the copy of header "
                 f"{rec.header_index} wrote at kbuf+{rec.offset:#x}")
        return
    what = {"ok": "ran to the end without a panic", "deadlock": "deadlocked",
            "hang": "never ended", "error": f"stopped with an error: {outcome.failure}"}[outcome.kind]
    ctx.part(False, 10, bad=f"{schedule!r} {what}; the panic needs W to clear the flag after R "
             f"counted and before R copies that kstat\n            see it: {outcome.replay_command}")


@CHECKS.check(points=15, files=("fix_a_sim.py",), timeout=240, cost=60)
def fix_a_sim(sub, ctx):
    """Fix A in the simulator: clear the flag under kstat_chain_lock"""
    explore_fix(ctx, _variant(sub, "fix_a_sim.py", "kstat_install"), _scales, 7.5)


@CHECKS.check(points=15, files=("fix_b_sim.py",), timeout=240, cost=50)
def fix_b_sim(sub, ctx):
    """Fix B in the simulator: count every kstat in the first pass"""
    explore_fix(ctx, _variant(sub, "fix_b_sim.py", "header_kstat_update"), _scales, 7.5)


@CHECKS.check(points=5, files=("reconstruct.py",), timeout=90, bonus=True, cost=2)
def reconstruct(sub, ctx):
    """Bonus: reconstruct the interleaving from the crash dump"""
    # The target is recomputed from the seed (the dump file never held its schedule); the two
    # dumps are compared as plain data (labkit.postmortem.reconstruct), part by part.
    from labkit import config
    from labkit.postmortem import replay_dump
    from labkit.postmortem.reconstruct import compare, signature, target_dump
    got = sub.call("reconstruct.py", "schedule_from_dump")
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[1], str)
            and isinstance(got[0], int) and not isinstance(got[0], bool)):
        raise LearnerError(f"schedule_from_dump() returned {got!r}; expected (kstats, schedule), "
                           f"e.g. (3, 'W12 R25 W1 R')")
    kstats, schedule = got
    try:
        outcome, dump = replay_dump(Scenario(kstats, "none"), schedule)
    except LabkitError as e:
        raise LearnerError(f"schedule_from_dump() returned {got!r}: {e}") from None
    see = f"\n            see it: {outcome.replay_command} --dump mine.dump"
    for part in compare(signature(target_dump(config.SEED)), signature(dump)):
        ctx.part(part.ok, part.points, required=part.required, good=part.good, bad=part.bad + see)

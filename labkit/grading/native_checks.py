"""Checks on the learner's C (exercises 5 and 6): stress-tested on real threads, then ThreadSanitizer.

Design note: the stress test runs twice. First in forced mode, which imposes the losing
interleaving on every round (R counts, W clears, R copies), so a broken fix overflows at once and
the verdict does not depend on luck; then free-running for a second with the seed shown, which
catches what forcing cannot (a fix that deadlocks only sometimes, a reader that starves the
writer). Every copy is bounds-checked (detect mode), and labkit.native runs the learner's C in a
child process, so a crash or hang comes back as a result. ThreadSanitizer comes last: fix A must
be clean; fix B must show only the race the lesson expects (ks_flags, written in kstat_install
without the lock), because that is exercise 7's point, and nothing else.
"""

from __future__ import annotations

from labkit.errors import LabkitError
from labkit.grading.base import CheckSet, Missing
from labkit.grading.runner import timeout_for

CHECKS = CheckSet()

FORCED_ROUNDS = 500
FREE_SECONDS = 1.0
SEED = 0


def _call(path, forced: bool) -> str:
    budget = f"rounds={FORCED_ROUNDS}, forced=True" if forced else f"seconds={FREE_SECONDS}"
    return f"labkit.native.race(source={str(path)!r}, {budget}, seed={SEED})"


def _stub_or(exc_text: str, path) -> None:
    """A stub still in place is MISSING, not BAD: the learner has not started."""
    if "not implemented yet" in exc_text:
        raise Missing(f"{path.name}: " + exc_text.split("assertion failed: ")[-1].split(", file")[0])


def _stress(ctx, check, path, forced: bool, points: float) -> bool:
    try:
        return _stress_run(ctx, check, path, forced, points)
    except LabkitError as exc:  # it did not compile, or the engine refused to start it
        _stub_or(str(exc), path)
        return ctx.part(False, points, required=True, bad=f"{path.name}: {exc}")


def _stress_run(ctx, check, path, forced: bool, points: float) -> bool:
    from labkit.native import race  # imported here: grading still loads where C cannot be built
    hang_after = max(5.0, min(20.0, timeout_for(check) / 4))
    if forced:
        r = race(source=path, rounds=FORCED_ROUNDS, forced=True, seed=SEED, timeout=hang_after)
        what = f"forced interleaving, {FORCED_ROUNDS} rounds"
    else:
        r = race(source=path, seconds=FREE_SECONDS, seed=SEED, timeout=hang_after + FREE_SECONDS)
        what = f"free-running for {FREE_SECONDS:g} s, seed {SEED}"
    again = f"\n            run it again: {_call(path, forced)}"
    if r.outcome != "ok":
        _stub_or(r.detail, path)
        why = {"crash": "your C crashed", "hang": "your C never returned (a deadlock? a loop?)",
               "error": "your C stopped with an error"}.get(r.outcome, r.outcome)
        return ctx.part(False, points, required=True, bad=f"{what}: {why}: {r.detail}{again}")
    if r.overflows:
        return ctx.part(False, points, required=True,
                        bad=f"{what}: the reader's copy overflowed its buffer {r.overflows} times in "
                            f"{r.rounds} rounds (first in round {r.first_overflow_round}){again}")
    if r.installs == 0 or r.rounds == 0:
        return ctx.part(False, points, required=True,
                        bad=f"{what}: no progress ({r.rounds} reader rounds, {r.installs} kstats "
                            f"installed): one thread is stuck{again}")
    if r.short_rounds * 2 > r.rounds:
        return ctx.part(False, points, required=True,
                        bad=f"{what}: in {r.short_rounds} of {r.rounds} rounds the reader got fewer "
                            f"headers than it counted; the copy must give it every installed kstat{again}")
    return ctx.part(True, points, good=f"{what}: no overflow in {r.rounds} rounds, "
                    f"{r.installs} kstats installed")


def _expected_flag_race(race_report) -> bool:
    a, b = race_report["accesses"]
    funcs = {a["function"], b["function"]}
    return (a["field"] == b["field"] == "ks_flags" and "kstat_install" in funcs
            and funcs & {"header_kstat_update", "header_kstat_snapshot"} != set())


_ENGINE_FILES = ("kstat_fr.c", "engine.c", "fault.c")


def _describe(race_report) -> str:
    """'W writes ks_flags in kstat_install (line 19); R reads ...': the write first.

    Lines in the learner's file are shown as `line N`: the build cache is keyed by content, so
    the file name in the debug info may be another copy's with the same text."""
    def where(a):
        return f"{a['file']}:{a['line']}" if a["file"] in _ENGINE_FILES else f"line {a['line']}"
    accesses = sorted(race_report["accesses"], key=lambda a: a["kind"] != "write")
    return "; ".join(f"{a['thread']} {a['kind']}s {a['field'] or 'memory'} in {a['function']} ({where(a)})"
                     for a in accesses)


def check_c_fix(sub, ctx, filename: str, flag_race_expected: bool) -> None:
    from labkit.native import tsan
    check = ctx.check
    path = sub.file(filename)
    if not _stress(ctx, check, path, True, 4) or not _stress(ctx, check, path, False, 3):
        ctx.note("ThreadSanitizer not run: the fix must pass the stress test first")
        return
    t = tsan(source=path, timeout=max(10.0, timeout_for(check) / 3))
    again = f"\n            run it again: labkit.native.tsan(source={str(path)!r})"
    if t.hang or (not t.races and t.exit_code != 0):
        ctx.part(False, 3, bad=f"ThreadSanitizer: the run did not finish normally: {t.detail}{again}")
        return
    unexpected = [r for r in t.races if not (flag_race_expected and _expected_flag_race(r))]
    if unexpected:
        ctx.part(False, 3, bad="ThreadSanitizer reports a data race: " +
                 " | ".join(_describe(r) for r in unexpected) + again)
    elif t.races:
        ctx.part(True, 3, good="ThreadSanitizer reports only the race fix B keeps (exercise 7): " +
                 _describe(t.races[0]))
    else:
        ctx.part(True, 3, good="ThreadSanitizer: no data race")


@CHECKS.check(points=10, files=("fix_a.c",), timeout=120, native=True, cost=5)
def fix_a_c(sub, ctx):
    """Fix A in C: stress-tested, and clean under ThreadSanitizer"""
    check_c_fix(sub, ctx, "fix_a.c", flag_race_expected=False)


@CHECKS.check(points=10, files=("fix_b.c",), timeout=120, native=True, cost=5)
def fix_b_c(sub, ctx):
    """Fix B in C: stress-tested, and only the expected race under ThreadSanitizer"""
    check_c_fix(sub, ctx, "fix_b.c", flag_race_expected=True)

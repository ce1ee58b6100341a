"""Checks on the simulator: a panicking schedule (2), fixes A and B (3, 4), the bonus (8).

Design note: a fix is not judged on one run. The DPOR explorer runs it over every schedule (one
per class of equivalent interleavings, which is all of them as far as any outcome can tell) at the
small scale and at the seed's, each with one writer and with two concurrent writers. The
worker only observes: for each execution, plain data of what happened (the outcome, the kids the
reader got, and the kernel's own record of who installed what, which holds were never released,
who holds the chain lock at the end); identical observations are sent once with a count and the
schedule with the fewest preemptions. The grader judges them (`judge_execution`), never the flag
bits a fix could clear itself: a reader must never get a kstat its own kstat_install had not yet
made visible (so a first pass that clears INVALID fails), must get every kstat installed before its
copy began (so a copy that stops at the count fails), nothing twice, and every hold and lock is
released when an execution ends.

Modelling choices: the search runs a critical section with no scheduling point inside as one
step, and lets two such sections of one lock commute unless what they touched conflicts
(dpor.py, whole_sections=True; tests/test_whole_sections.py checks it against full
enumeration). That is what makes two writers at the seed scale affordable: fix A's search
there runs 27 executions, not 9,240 (about 5 minutes before). The second writer (thread X)
only installs (see kernel/scenario.py). A hidden search bound would make a pass mean less, so
there is none.
"""

from __future__ import annotations

import json
import time
from typing import Any

from labkit import config
from labkit.fixes import CHANGES
from labkit.answer_values import cut
from labkit.errors import LabkitError
from labkit.grading.base import CheckSet, LearnerError, Missing, Submission, progress
from labkit.kernel import Scenario
from labkit.kernel.layout import EACCES, EAGAIN, ENOMEM, ENXIO, SIZEOF_KSTAT_T
from labkit.kernel.variants import REPLACEABLE, Variant
from labkit.sched import outcomes, replay
from labkit.sched.explore import fewer_collections
from labkit.sched.outcome import failure_rank

CHECKS = CheckSet()
ERRNO = {ENOMEM: "ENOMEM", EAGAIN: "EAGAIN", EACCES: "EACCES", ENXIO: "ENXIO"}


def _variant(sub, filename: str, needs: str, fix: str) -> Variant:
    """The learner's fix: it must define `needs` and may define no other of REPLACEABLE than
    what `fix` changes of the buggy kernel (labkit.fixes.CHANGES)."""
    module = sub.module(filename)  # the one loader of learner files, under its allow-list
    from labkit.learner_code import functions
    found = functions(module, REPLACEABLE)
    if needs not in found:
        raise Missing(f"{filename}: no function {needs}(); define it with that exact name")
    # Each exercise is one fix: fix A changes kstat_install only, fix B the reader's passes only.
    # A file that also replaces the other side would be graded for a fix it did not make (fix A's
    # lock submitted as fix B passes every schedule), so it earns nothing, and says why.
    others = sorted(set(found) - CHANGES[fix])
    if others:
        listed = ", ".join(f"{name}()" for name in others)
        allowed = " and ".join(f"{name}()" for name in sorted(CHANGES[fix]))
        raise LearnerError(f"{filename} also defines {listed}: this exercise changes {allowed} only "
                           f"and leaves the rest of the kernel as it is; take {listed} out of the file "
                           f"(helpers with names of your own are fine)")
    sub.file(filename)
    return Variant(filename.removesuffix(".py"), found, sub.shown(filename))


# ---- in the worker: what happened ------------------------------------------------------------
def observe_execution(outcome: Any, scenario: Scenario) -> dict:
    """One execution as plain data."""
    obs = {"kind": outcome.kind}
    if outcome.failure is not None and outcome.kind in ("error", "panic"):
        obs["failure_type"] = type(outcome.failure).__name__
        obs["failure"] = cut(str(outcome.failure), 300)
    if outcome.kind == "error" and outcome.failure is not None:
        obs["where"] = _where(outcome, scenario)
    rec = outcome.panic
    if rec is not None and getattr(rec, "fault_addr", None) is not None:
        obs["panic"] = [rec.header_index, rec.counted, rec.offset]
    res = outcome.result
    if outcome.kind == "ok" and res is not None:
        kids = res.kids
        present = set(kids)
        boot = range(scenario.kstats)
        # (each asked of the whole set in C first: at seed scale 5698 kids, every execution)
        missing = [] if present.issuperset(boot) else [k for k in boot if k not in present]
        seen, dups = set(), []
        for k in kids if len(present) < len(kids) else ():
            if k in seen:
                dups.append(k)
            seen.add(k)
        obs.update(error=res.error, ndata=res.ndata, data_size=res.data_size,
                   new_copied=sorted(k for k in present.difference(boot) if k >= scenario.kstats),
                   boot_missing=missing[:10], boot_missing_n=len(missing), dups=dups[:10],
                   zero_filled=res.zero_filled, facts=res.facts())
    return obs


def _where(outcome: Any, scenario: Scenario) -> str:
    """Which thread raised, and the learner's deepest line in the traceback: "thread W,
    fix_a_sim.py line 4" (the thread is the last step's: an exception ends the run there)."""
    from labkit.learner_code import learner_line, where
    thread = outcome.schedule.split()[-1][0] if outcome.schedule else "?"
    if scenario.variant.source:      # a learner's file: its functions name it as it was loaded
        for loaded in sorted({fn.__code__.co_filename for fn in scenario.variant.functions.values()}):
            line = learner_line(outcome.failure, loaded)
            if line:
                return f"thread {thread}, {where(loaded, line)}"
    return f"thread {thread}"


def explore_scale(scenario: Scenario) -> dict:
    start, n = time.monotonic(), 0
    distinct: dict[str, list[Any]] = {}
    what = f"{scenario.kstats} kstats, {scenario.writers} writer{'s' if scenario.writers > 1 else ''}"
    # every schedule class, one execution each (the public search, whole critical sections as
    # one step: no cap, so it completes)
    with fewer_collections():       # (as explore() runs it)
        for outcome in outcomes(scenario, "dpor", detect_races=False):
            n += 1
            obs = observe_execution(outcome, scenario)
            if obs.get("failure_type") == "NotImplementedError":
                # One unwritten function makes the whole check "not done yet" (judge_execution), so
                # the rest of the search could not change the verdict: an exercise's stub answers at
                # once, and shows no progress line (a notebook's saved output has none).
                return {"kstats": scenario.kstats, "writers": scenario.writers, "executions": 1,
                        "complete": False, "seconds": round(time.monotonic() - start, 2),
                        "observed": [{"obs": obs, "count": 1, "preemptions": 0, "steps": 0,
                                      "schedule": outcome.schedule, "replay": outcome.replay_command}]}
            progress(f"exploring {what}: {n} executions so far")
            key = json.dumps(obs, sort_keys=True)
            rank = failure_rank(outcome)     # each kind of run shown by its easiest schedule to follow
            kept = distinct.get(key)
            if kept is None:
                distinct[key] = [obs, 1, rank, outcome.schedule, outcome.replay_command]
            else:
                kept[1] += 1
                if rank < kept[2]:
                    kept[2:] = [rank, outcome.schedule, outcome.replay_command]
    progress(f"explored {what}: every schedule, {n} executions", final=True)
    return {"kstats": scenario.kstats, "writers": scenario.writers, "executions": n,
            "complete": True, "seconds": round(time.monotonic() - start, 2),
            "observed": [{"obs": o, "count": c, "preemptions": r[0], "steps": r[1], "schedule": s,
                          "replay": cmd} for o, c, r, s, cmd in distinct.values()]}


def scales() -> list[tuple[str, list[tuple[int, int]]]]:
    """[(label, [(kstats, writers), ...])] from LABKIT_GRADE_SCALES (config.grade_scales())."""
    out = []
    for label in config.grade_scales().split(","):
        label = label.strip()
        if label == "small":
            out.append((label, [(Scenario.small().kstats, 1), (Scenario.small().kstats, 2)]))
        elif label == "seed":
            out.append((label, [(Scenario.seed().kstats, 1), (Scenario.seed().kstats, 2)]))
        elif label.isdigit():
            n = int(label)
            out.append((f"{n}-kstat", [(n, 1)] + ([(n, 2)] if n <= 64 else [])))
        else:
            raise LabkitError(f"LABKIT_GRADE_SCALES: unknown scale {label!r}; accepted: small, seed, "
                              f"a number of kstats (comma-separated)")
    return out


def fix_parts(two_writer_cost: float, seed_cost: float, seed_two_cost: float) -> list[tuple[object, float]]:
    """A fix's check in parts, one per run of every scale ([scale, run] indexes into scales()):
    the runs are independent searches, so the runner may run each as a worker of its own, in
    parallel. The costs (about an idle core's seconds with the solution) only order the work:
    by (a long chain, writers), any chain over 64 kstats costing as the seed's."""
    cost = {(False, 1): 0.1, (False, 2): two_writer_cost, (True, 1): seed_cost, (True, 2): seed_two_cost}
    return [([si, ri], cost[kstats > 64, writers])
            for si, (_, runs) in enumerate(scales()) for ri, (kstats, writers) in enumerate(runs)]


def observe_fix(sub: Any, filename: str, needs: str, fix: str, part: Any = None) -> dict:
    """Every run of every scale (part None), or one run (part [scale, run] of scales()): every
    schedule class of each scenario."""
    variant = _variant(sub, filename, needs, fix)
    if part is None:
        return merge_runs([explore_scale(Scenario(k, variant, writers=w))
                           for _, runs in scales() for k, w in runs])
    kstats, writers = scales()[int(part[0])][1][int(part[1])]
    return explore_scale(Scenario(kstats, variant, writers=writers))


def merge_runs(observed: list) -> dict:
    """The parts' runs (in fix_parts() order) grouped back by scale, as judge_fix reads them."""
    wanted = scales()
    if len(observed) != sum(len(runs) for _, runs in wanted):
        raise ValueError("a run is missing")
    it = iter(observed)
    return {"scales": [{"label": label, "runs": [next(it) for _ in runs]} for label, runs in wanted]}


# ---- in the grader: the verdict ----------------------------------------------------------------
def _kids(xs) -> str:
    return ", ".join(str(int(x)) for x in xs[:10]) + (", ..." if len(xs) > 10 else "")


def judge_execution(obs: dict, kstats: int, writers: int) -> str | None:
    """What is wrong with one observed execution, in words, or None if it ended well."""
    kind = obs["kind"]
    if obs.get("failure_type") == "NotImplementedError":
        raise Missing(cut(str(obs.get("failure", "")), 300) or "not implemented yet")
    if kind == "panic":
        if obs.get("panic"):
            index, counted, offset = (int(x) for x in obs["panic"])
            return (f"the kernel panicked: the copy of header {index} (0-based) ran past the buffer, "
                    f"which had room for the {counted} headers counted (page fault at kbuf+{offset:#x})")
        return f"the kernel panicked: {cut(str(obs.get('failure', '')), 300)}"
    if kind == "deadlock":
        return ("deadlock: every thread is waiting (does your code take kstat_chain_lock and then "
                "call something that takes it again, such as kstat_rele?)")
    if kind == "hang":
        return "no end in sight: the execution ran out of scheduling steps (a loop that never ends?)"
    if kind == "error":
        what = cut(str(obs.get("failure", "")), 300)
        where = f" ({cut(str(obs['where']), 80)})" if obs.get("where") else ""
        if obs.get("failure_type") == "MemoryError":
            return f"your code ran out of memory{where}: every check's memory is bounded"
        return f"your code raised {cut(str(obs.get('failure_type', 'an exception')), 40)}{where}: {what}"
    if kind != "ok":
        raise ValueError(f"outcome {kind!r}")
    error, facts = obs["error"], obs["facts"]
    if error not in (0, None):
        name = ERRNO.get(error, f"error {int(error)}")
        if error == ENOMEM:
            room = (kstats + writers) * SIZEOF_KSTAT_T
            return (f"the reader's ioctl failed with ENOMEM (not enough room): your first pass asked for "
                    f"{int(obs['data_size'])} bytes ({int(obs['ndata'])} headers), more than the "
                    f"{room} bytes of the reader's buffer, which has room for every kstat there is: "
                    f"the count over-allocates")
        return {EAGAIN: "the reader's ioctl failed with EAGAIN (try again): the header kstat looked INVALID",
                EACCES: "the reader's ioctl failed with EACCES (permission denied): a read was refused as if "
                        "it were a write", ENXIO: "the reader's ioctl failed with ENXIO: the header kstat "
                        "was not found"}.get(error, f"the reader's ioctl failed with {name}")
    for kid, thread, function in facts["invalid_cleared"]:
        return (f"thread {cut(str(thread), 8)} cleared KSTAT_FLAG_INVALID of kstat {int(kid)} in "
                f"{cut(str(function), 60)}(): only that kstat's own kstat_install may make it visible "
                f"(readers would get a kstat nobody installed)")
    if facts["uninstalled_copies"]:
        return (f"the reader got kstat(s) {_kids(facts['uninstalled_copies'])} before kstat_install had "
                f"made them visible: a reader must never see an uninstalled kstat")
    if obs["boot_missing_n"]:
        return (f"the snapshot lacks kstats that were installed long before (kids "
                f"{_kids(obs['boot_missing'])}; {int(obs['boot_missing_n'])} in all)")
    dropped = [k for k in (facts["visible_at_snapshot"] or []) if k not in obs["new_copied"]]
    if dropped:
        return (f"the snapshot dropped kstat(s) {_kids(dropped)}, installed before the copy began: "
                f"the copy must give the reader every installed kstat")
    if obs["dups"]:
        return f"the snapshot holds a kstat twice (kids {_kids(obs['dups'])})"
    for kid, thread, where in facts["holds_left"]:
        return (f"kstat {int(kid)} is still held by thread {cut(str(thread), 8)} when the execution "
                f"ended: the hold taken in {cut(str(where), 120)} is never released with kstat_rele "
                f"(on illumos every later hold on that kstat would wait forever)")
    if facts["lock_held_by"] is not None:
        return (f"kstat_chain_lock is still held by thread {cut(str(facts['lock_held_by']), 8)} when "
                f"the execution ended: every mutex_enter needs its mutex_exit")
    if facts["not_visible_at_end"]:
        return (f"kstat(s) {_kids(facts['not_visible_at_end'])} are still not visible after their "
                f"kstat_install returned: kstat_install must make the kstat visible")
    return None


def judge_fix(data: dict, ctx: Any, points: float) -> None:
    runs_by_scale = data["scales"]
    wanted = scales()
    if [s["label"] for s in runs_by_scale] != [label for label, _ in wanted]:
        raise ValueError("the scales observed are not the ones asked for")
    each = points / len(wanted)
    for scale, (label, runs) in zip(runs_by_scale, wanted):
        if len(scale["runs"]) != len(runs):
            raise ValueError("a run is missing")
        worst: tuple[Any, Any, str, Any] | None = None
        total, secs = 0, 0.0
        for run, (kstats, writers) in zip(scale["runs"], runs):
            if (run["kstats"], run["writers"]) != (kstats, writers):
                raise ValueError("a run of another scenario")
            if not run["complete"] or int(run["executions"]) < 1:
                worst = worst or (None, run, "the search did not complete", None)
            total += int(run["executions"])
            secs += float(run["seconds"])
            if sum(int(o["count"]) for o in run["observed"]) != int(run["executions"]):
                raise ValueError("the counts do not add up")
            for o in run["observed"]:
                problem = judge_execution(o["obs"], kstats, writers)
                # The simplest failure is shown: one writer before two, then fewest preemptions.
                rank = (run["writers"], o["preemptions"], o["steps"])
                if problem and (worst is None or worst[0] is None or rank < worst[3]):
                    worst = (o, run, problem, rank)
        where = f"{label} scale ({runs[0][0]} kstats" + (", one writer and two" if len(runs) > 1 else "") + ")"
        if worst is None:
            ctx.part(True, each, good=f"{where}: all {total} schedules end well: no panic, no deadlock, "
                     f"no kstat seen before its kstat_install made it visible, every installed kstat "
                     f"there, every hold and lock released ({secs:.1f} s)")
        else:
            o, run, problem, _ = worst
            who = "two writers (W and X)" if run["writers"] == 2 else "one writer"
            detail = "" if o is None else (f"\n            schedule: {cut(str(o['schedule']), 200)}"
                                           f"\n            replay it: {cut(str(o['replay']), 400)}")
            ctx.part(False, each, required=True, bad=f"{where}, {who}: {problem}{detail}")


@CHECKS.check(points=10, files=("find_schedule.py",), timeout=60,
              judge=lambda data, ctx: judge_find_schedule(data, ctx))
def find_schedule(sub: Submission) -> dict:
    """Find a schedule that panics the buggy kernel"""
    schedule = sub.call("find_schedule.py", "panicking_schedule")
    if type(schedule) is not str:
        raise LearnerError(f"panicking_schedule() returned {_shown(schedule)}; expected a schedule "
                           f"string such as 'R5 W9 R'")
    return _replayed(Scenario.small(fix="none"), schedule)


def _shown(value) -> str:
    from labkit.answer_values import shown
    return shown(value)


def _replayed(scenario, schedule: str) -> dict:
    if len(schedule) > 2000:
        raise LearnerError(f"the schedule is {len(schedule)} characters long; a schedule names "
                           f"threads and step counts, such as 'W12 R25 W1 R'")
    try:
        outcome = replay(scenario, schedule)  # a malformed schedule is a LabkitError saying why
    except LabkitError as exc:
        hint = ""
        if any(c.islower() for c in schedule if c.isalpha()):
            hint = " (thread names are capitals: R, W; a lowercase 'r' or 'w' is not a thread)"
        raise LearnerError(f"{exc}{hint}") from None
    rec = outcome.panic
    obs: dict[str, Any] = {"schedule": cut(schedule, 200), "kind": outcome.kind, "replay": outcome.replay_command,
           "failure": cut(str(outcome.failure or ""), 300)}
    if rec is not None:
        obs["panic"] = {"header_index": rec.header_index, "offset": rec.offset, "counted": rec.counted,
                        "writer_stack": [f.function for f in rec.thread("W").stack][:12]}
    return obs


def judge_find_schedule(data: dict, ctx: Any) -> None:
    schedule = cut(str(data["schedule"]), 200)
    if data["kind"] == "panic" and data.get("panic"):
        p = data["panic"]
        ctx.part(True, 10, good=f"{schedule!r} panics the buggy kernel: the copy of header "
                 f"{int(p['header_index'])} wrote at kbuf+{int(p['offset']):#x}")
        return
    what = {"ok": "ran to the end without a panic", "deadlock": "deadlocked", "hang": "never ended",
            "panic": "panicked, but not in the copy",
            "error": f"stopped with an error: {cut(str(data.get('failure', '')), 200)}"}[data["kind"]]
    ctx.part(False, 10, bad=f"{schedule!r} {what}; the panic needs W to clear the flag after R "
             f"counted and before R copies that kstat\n            see it: {cut(str(data['replay']), 300)}")


@CHECKS.check(points=15, files=("fix_a_sim.py",), timeout=240,
              parts=lambda: fix_parts(0.1, 0.4, 1.4), merge=merge_runs,
              judge=lambda data, ctx: judge_fix(data, ctx, 15))
def fix_a_sim(sub: Submission, part: Any) -> dict:
    """Fix A in the simulator: a reader's copy never holds more than it counted, in any schedule"""
    return observe_fix(sub, "fix_a_sim.py", "kstat_install", "lock", part)


@CHECKS.check(points=15, files=("fix_b_sim.py",), timeout=240,
              parts=lambda: fix_parts(0.2, 0.4, 2.8), merge=merge_runs,
              judge=lambda data, ctx: judge_fix(data, ctx, 15))
def fix_b_sim(sub: Submission, part: Any) -> dict:
    """Fix B in the simulator: the count is never short of the copy, in any schedule"""
    return observe_fix(sub, "fix_b_sim.py", "header_kstat_update", "count", part)


@CHECKS.check(points=5, files=("reconstruct.py",), timeout=90, bonus=True, cost=0.3,
              judge=lambda data, ctx: judge_reconstruct(data, ctx))
def reconstruct(sub: Submission) -> dict:
    """Bonus: reconstruct the interleaving from the crash dump"""
    # In the worker: the learner's (kstats, schedule), replayed; its dump's signature (plain data).
    from labkit.postmortem import replay_dump
    from labkit.postmortem.reconstruct import signature
    got = sub.call("reconstruct.py", "schedule_from_dump")
    if not (type(got) in (tuple, list) and len(got) == 2 and type(got[1]) is str
            and type(got[0]) is int):
        raise LearnerError(f"schedule_from_dump() returned {_shown(got)}; expected (kstats, schedule), "
                           f"e.g. (3, 'W12 R25 W1 R')")
    kstats, schedule = int(got[0]), str.__str__(got[1])
    if len(schedule) > 2000:
        raise LearnerError(f"the schedule is {len(schedule)} characters long; a schedule names "
                           f"threads and step counts, such as 'W12 R25 W1 R'")
    try:
        outcome, dump = replay_dump(Scenario(kstats, "none"), schedule)
    except LabkitError as e:
        raise LearnerError(f"schedule_from_dump() returned {_shown(got)}: {cut(str(e), 300)}") from None
    return {"signature": signature(dump), "replay": outcome.replay_command}


def judge_reconstruct(data: dict, ctx: Any) -> None:
    # In the grader: the target is recomputed from the seed (the dump file never held its
    # schedule); the two dumps are compared as plain data (labkit.postmortem.reconstruct).
    from labkit.postmortem.reconstruct import compare, signature, target_dump
    see = f"\n            see it: {cut(str(data['replay']), 300)} --dump mine.dump"
    for part in compare(signature(target_dump(config.SEED)), data["signature"]):
        ctx.part(part.ok, part.points, required=part.required, good=cut(part.good, 600),
                 bad=cut(part.bad, 600) + see)

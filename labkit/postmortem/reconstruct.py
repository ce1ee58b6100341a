"""The dump-first exercise: from a crash dump back to the interleaving that made it.

    exercise_dump(path, seed=None)   write the learner's dump: made on the buggy kernel by a
                                     schedule chosen by the seed (default labkit.config.SEED,
                                     which the instructor may set), with the schedule left out
    target(seed)                     (Scenario, schedule): the run the dump is of
    signature(dump)                  what the grader compares, as plain data
    compare(want, got)               the parts of the comparison, each with its points

The dump file never holds the schedule; the grader recomputes the target from the seed, replays
the learner's schedule on the same kernel and compares the two dumps' signatures: the same
outcome, the same counts (ks_ndata, ks_data_size), the same fault (header index and offset),
each thread in the same place (its state and its stack's functions). Times and addresses of
the learner's own making are not compared.
"""

import os
import random
from dataclasses import dataclass
from functools import lru_cache

from labkit import config
from labkit.errors import LabkitError
from labkit.kernel import Scenario
from labkit.postmortem.dump import Dump, kstat_members, replay_dump
from labkit.sched import replay

KSTATS = range(3, 13)        # the kernels a target may have (the header kstat included)
W_PREFIX = 12                # W creates its kstat (INVALID, in the chain) and holds it


@lru_cache(maxsize=16)
def target(seed: int) -> tuple[Scenario, str]:
    """The hidden run for a seed: a number of kstats, and a schedule in which R has counted and
    W clears INVALID before R's copy reaches W's kstat (so the copy overflows)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabkitError(f"the exercise's seed must be a whole number, 0 or more; got {seed!r}")
    rng = random.Random(f"labkit reconstruct {seed}")
    kstats = rng.choice(KSTATS)
    program = Scenario(kstats, "none")
    panicking = []
    for n in range(1, 8 * kstats + 40):
        try:
            if replay(program, f"W{W_PREFIX} R{n} W1 R", detect_races=False).kind == "panic":
                panicking.append(n)
        except LabkitError:          # R had finished: W1 asks for a step R's end left no room for
            break
    if not panicking:                # pragma: no cover - the kernel changed under us
        raise LabkitError(f"no panicking schedule of the form W12 Rn W1 R at {kstats} kstats")
    return program, f"W{W_PREFIX} R{rng.choice(panicking)} W1 R"


def target_dump(seed: int | None = None) -> Dump:
    program, schedule = target(config.SEED if seed is None else seed)
    dump = replay_dump(program, schedule, hide_schedule=True)[1]
    assert dump is not None, "a target's schedule panics (target() chose it so)"
    return dump


def exercise_dump(path: str | os.PathLike = "reconstruct.dump", seed: int | None = None) -> str:
    """Write the exercise's dump to path (the schedule is not in it); returns the path."""
    target_dump(seed).save(path)
    return str(path)


def signature(dump: Dump | None) -> dict:
    """The parts of a dump the exercise compares, as plain data (None: the run left no dump)."""
    if dump is None:
        return {"kind": "ok"}
    header = kstat_members(dump.header_kstat.raw) if dump.header_kstat is not None else {}
    return {
        "kind": dump.kind,
        "counted": dump.counted, "data_size": header.get("ks_data_size"),
        "header_index": dump.header_index,
        "offset": None if dump.fault_addr is None or dump.kbuf is None else dump.fault_addr - dump.kbuf.addr,
        "threads": {t.name: {"state": t.state, "stack": [f.function for f in t.stack]}
                    for t in dump.threads},
    }


@dataclass(frozen=True)
class Part:
    ok: bool
    points: float
    good: str
    bad: str
    required: bool = False


def compare(want: dict, got: dict) -> list:
    """Each part of the comparison of the learner's dump (got) with the target's (want)."""
    parts = [Part(got["kind"] == want["kind"], 2,
                  f"your schedule ends in a {want['kind']}, as the dump's run did",
                  f"your schedule ends {got['kind']!r}; the dump is of a {want['kind']}", required=True)]
    if not parts[0].ok:
        return parts
    n, size = want["counted"], want["data_size"]
    parts.append(Part((got["counted"], got["data_size"]) == (n, size), 1,
                      f"the count pass found {n} headers (ks_data_size {size:#x}), as in the dump",
                      f"your run's count pass found {got['counted']} headers (ks_data_size "
                      f"{_hex(got['data_size'])}); the dump's header kstat says {n} ({size:#x})"))
    where = (want["header_index"], want["offset"])
    parts.append(Part((got["header_index"], got["offset"]) == where, 1,
                      f"the copy of header {where[0]} faulted at kbuf+{_hex(where[1])}, as in the dump",
                      f"your run faulted copying header {got['header_index']} at kbuf+"
                      f"{_hex(got['offset'])}; the dump's fault is at header {where[0]}, kbuf+{_hex(where[1])}"))
    differ = [name for name, t in want["threads"].items() if got["threads"].get(name) != t]
    parts.append(Part(not differ, 1, "each thread is where the dump shows it",
                      "not where the dump shows them: thread " + ", ".join(
                          f"{name} is {_place(got['threads'].get(name))}" for name in differ)))
    return parts


def _hex(v) -> str:
    return "?" if v is None else f"{v:#x}"


def _place(t) -> str:
    if t is None:
        return "missing"
    stack = t["stack"]
    return f"{t['state']} in {' <- '.join(stack[:3]) or 'no function'}"


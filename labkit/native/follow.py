"""The native race following a simulator schedule: crash(schedule="W12 R25 W1 R", kstats=3).

Design note. Real threads cannot be stepped one scheduling point at a time, and need not be:
what decides the outcome is the order of a few points, and those the C engine can impose with
handshakes (engine.c's schedule mode). The simulator replays the schedule first, on the same
fix and number of kstats, and an observer notes, in the order they happened:
    create   W inserts its new kstat into the chain (INVALID)
    count    R's count pass has ended (R allocates the buffer it sized)
    test     R's copy pass tests W's kstat's flag
    clear    W clears KSTAT_FLAG_INVALID in kstat_install
    done     R drops kstat_chain_lock after the copy
From them: W's kstat is created before the count or after the read, and W's clear falls before
the count, between the count and the copy's test, or after it. The engine runs one round of R
and W in that order, with the buffer placed as the simulator's allocator places it, so the
overflow (if the order has one) faults at the same header index and offset. The fault handler
reports what a dump needs (fault.c); this module turns it into a Dump of origin "native".

A schedule the simulator cannot replay, or whose run ends in a deadlock, a hang or an error,
is refused with the reason; so is a learner's C file (the simulator has no such variant).
"""

import bisect
import json
import os
import subprocess
import sys
from functools import lru_cache

from labkit.errors import LabkitError
from labkit.kernel import Scenario, symbols
from labkit.kernel.kstat import AvlTree
from labkit.kernel.memory import KernelMemory, roundup
from labkit.kernel.layout import PAGESIZE, SIZEOF_KSTAT_T
from labkit.kernel.panic import Frame, ThreadRecord
from labkit.native import _args, _cbuild
from labkit.native.crash import parse
from labkit.native.results import CrashResult
from labkit.postmortem.dump import Buffer, Dump, KstatImage, kstat_members
from labkit.sched.program import run_once
from labkit.sched.schedule import parse_schedule
from labkit.sched.strategies.replay import ReplayChooser

CLEAR_PHASES = {"before": 1, "between": 2, "after": 3}    # engine.c's CLEAR_BEFORE ...
SIGNAL_FRAMES = ("fault_handler", "stack_handler")         # a backtrace taken in a handler


class _Points:
    """An observer of a simulated run: the step at which each point that matters happened."""

    def __init__(self, new_kid: int):
        self.new_kid = new_kid
        self.at: dict = {}

    def on_step(self, exe, t, access):
        kind, obj, _ = access
        step = len(exe.trace)
        fn = t.frame.f_code.co_name if t.frame is not None else ""
        mine = getattr(obj, "ks_kid", None) == self.new_kid and not isinstance(obj, AvlTree)
        if t.name == "W":
            if kind == "write" and isinstance(obj, AvlTree):
                self.at.setdefault("create", step)
            elif kind == "write" and mine and fn == "kstat_install":
                self.at.setdefault("clear", step)
        elif t.name == "R":
            if kind == "alloc" and isinstance(obj, KernelMemory):
                self.at.setdefault("count", step)
            elif kind == "read" and mine and fn == "header_kstat_snapshot":
                self.at.setdefault("test", step)
            elif kind == "release" and "count" in self.at:
                self.at.setdefault("done", step)


def plan(schedule: str, kstats: int, fix: str = "none") -> dict:
    """Replay the schedule in the simulator and say the order the native threads must follow."""
    if fix not in _args.FIXES:
        raise LabkitError(f"--schedule follows the simulator, which knows the fixes "
                          f"{', '.join(_args.FIXES)}; not {fix!r} (a C file of your own has no "
                          f"simulator twin)")
    program = Scenario(kstats, fix)
    points = _Points(new_kid=kstats)          # W's kstat gets the next kid: kstat_chain_id = kstats
    steps = parse_schedule(schedule, program.thread_names)
    outcome, _ = run_once(program, ReplayChooser(steps), detect_races=False, observers=[points])
    if outcome.kind == "invalid":
        raise LabkitError(f"the native engine cannot follow {schedule!r}: the simulator cannot "
                          f"either ({outcome.failure})")
    if outcome.kind not in ("ok", "panic") or (outcome.kind == "panic" and outcome.panic.fault_addr is None):
        raise LabkitError(f"the native engine cannot follow {schedule!r}: in the simulator that run "
                          f"ends in {outcome.kind} ({outcome.summary()}), and the native engine "
                          f"imposes only the order of the count, the clear and the copy")
    at = points.at
    inf = float("inf")
    if "count" not in at or "create" not in at:
        raise LabkitError(f"the native engine cannot follow {schedule!r}: in the simulator R never "
                          f"counted, or W never created its kstat")
    create_after = at["create"] > at["count"]
    clear, test = at.get("clear", inf), at.get("test", inf)
    if create_after or clear > min(test, at.get("done", inf)):
        phase = "after"
    elif clear < at["count"]:
        phase = "before"
    else:
        phase = "between"
    rec = outcome.panic
    return {"schedule": outcome.schedule, "kstats": kstats, "fix": fix, "create_after": create_after,
            "clear": phase, "clear_phase": CLEAR_PHASES[phase],
            "firewall": program.allocator == "firewall",
            "simulator": {"outcome": outcome.kind, "counted": rec.counted if rec else None,
                          "header_index": rec.header_index if rec else None,
                          "offset": rec.offset if rec else None}}


def crash_following(schedule: str, *, kstats: int, fix: str | None = None, dump: str | os.PathLike | None = None,
                    timeout: float = 60.0) -> CrashResult:
    """Crash mode, one round, in the schedule's order. Returns a CrashResult with .plan, and on a
    crash .dump (a Dump), written to the file `dump` when given."""
    fix = "none" if fix is None else fix
    pl = plan(schedule, kstats, fix)
    _cbuild.load()
    p = dict(variant=fix, label=fix, seconds=None, rounds=1, window_ns=0, seed=0, forced=False,
             nkstats=kstats - 1, plan=pl)
    base = dict(fix=fix, seed=0, window_ns=0, forced=False, source=None)
    try:
        proc = subprocess.run([sys.executable, "-m", "labkit.native._child", "crash", json.dumps(p)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LabkitError(f"the native run following {schedule!r} did not end within {timeout:.0f} s") from None
    result = parse(proc.returncode, proc.stdout, proc.stderr, base)
    result.schedule, result.kstats, result.order = pl["schedule"], kstats, _order(pl)
    sim = result.simulator = pl["simulator"]
    result.agrees = ((sim["outcome"] == "panic") == result.crashed
                     and (sim["header_index"], sim["offset"]) == (result.header_index, result.offset))
    result.dump = None
    if result.crashed and result.kbuf is not None:
        result.dump = native_dump(proc.stdout, proc.stderr, result, pl)
        if dump is not None:
            result.dump.save(dump)
            result.dump_file = os.fspath(dump)
    return result


def _order(pl) -> str:
    create = "W creates its kstat after R's read" if pl["create_after"] else "W creates its kstat"
    clear = {"before": "W clears INVALID, R counts, R copies",
             "between": "R counts, W clears INVALID, R copies",
             "after": "R counts, R copies, W clears INVALID"}[pl["clear"]]
    return f"{create}; {clear}"


# ---- the native dump ---------------------------------------------------------------------
def native_dump(stdout: str, stderr: str, r: CrashResult, pl: dict) -> Dump:
    lines = {}
    kstats, stacks = [], {}
    for line in stderr.splitlines():
        tag, _, rest = line.partition(" ")
        if tag == "labkit-kstat":
            addr, hexed = rest.split()
            raw = bytes.fromhex(hexed)
            m = kstat_members(raw)
            # The header kstat answers at the model's header_kstat, as kstat_chain_lock does at
            # the model's symbol: mdb's symbols are the model's (the others keep their addresses).
            at = symbols.DATA["header_kstat"] if m["ks_kid"] == 0 else int(addr, 16)
            kstats.append(KstatImage(at, m["ks_kid"],
                                     f"{m['ks_module']}:{m['ks_instance']}:{m['ks_name']}", raw))
        elif tag == "labkit-stack":
            who, *pcs = rest.split()
            stacks[who] = [int(x, 16) for x in pcs]
        elif tag in ("labkit-regs", "labkit-kbuf"):
            lines[tag] = rest
    maps: list = next((json.loads(x[5:]) for x in stdout.splitlines() if x.startswith("maps ")), [])
    regs = dict(kv.split("=", 1) for kv in lines.get("labkit-regs", "").split())
    copied = bytes.fromhex(lines.get("labkit-kbuf", "").strip())
    threads = []
    for name in ("R", "W"):
        frames = _frames(stacks.get(name, []), maps)
        state = "panicked" if name == "R" else _native_state(frames)
        threads.append(ThreadRecord(
            name=name, addr=symbols.THREADS[name], state=state, stack=frames,
            call_chain=[f.function for f in frames], sp=0,
            description="its native stack (return addresses in the C model, real threads)"))
    owner = regs.get("owner", "-")
    word = symbols.THREADS.get(owner, 0) | (1 if owner != "-" and threads[1].state == "blocked" else 0)
    assert r.counted is not None and r.kbuf is not None and r.guard is not None   # a crash in the copy says them
    size = r.counted * SIZEOF_KSTAT_T + 1           # kmem_zalloc(ks_data_size + 1)
    kbuf = Buffer(r.kbuf, size, r.guard - roundup(size, PAGESIZE), r.guard,
                  "mmap (native)")
    stores = []
    for i in range(0, len(copied), SIZEOF_KSTAT_T):
        stores.append((r.kbuf + i, copied[i:i + SIZEOF_KSTAT_T].ljust(SIZEOF_KSTAT_T, b"\0")))
    return Dump(
        kind="panic", origin="native", program={"fix": pl["fix"], "kstats": pl["kstats"]},
        scenario={3: "small", 5698: "seed"}.get(pl["kstats"], ""), schedule=pl["schedule"],
        message=f"SIGSEGV: page fault at {r.fault_addr:x} in the copy of header {r.header_index} "
                f"(native, real threads)",
        trap="SIGSEGV (a store to the PROT_NONE guard page)", fault_addr=r.fault_addr,
        registers={"rip": int(regs.get("pc", "0"), 16), "cr2": r.fault_addr},
        threads=threads, panic_thread="R", header_index=r.header_index, counted=r.counted,
        chain_lock_word=word, chain_id=int(regs.get("chain_id", "0")), kstats=kstats,
        kbuf=kbuf, stores=stores)


def _native_state(frames) -> str:
    names = [f.function for f in frames]
    if "mutex_enter" not in names:
        return "on cpu"
    # our mutex_enter spins on trylock, then sleeps in pthread_mutex_lock (libc, below it)
    return "spinning" if names[0] == "mutex_enter" or names[0].startswith("pthread_mutex_trylock") else "blocked"


def _frames(pcs, maps) -> list:
    """Name each return address; drop the signal handler's own frames and the trampoline."""
    named = [_symbolize(pc, maps) for pc in pcs]
    cut = next((i for i, (fn, _) in enumerate(named) if fn in SIGNAL_FRAMES), None)
    if cut is not None:
        named, pcs = named[cut + 2:], pcs[cut + 2:]
    return [Frame(pc, fn, off) for pc, (fn, off) in zip(pcs, named)]


def _symbolize(pc: int, maps):
    for start, end, offset, path in maps:
        if start <= pc < end:
            base = start - offset
            syms = _symbols(path)
            i = bisect.bisect_right(syms, (pc - base, "\uffff")) - 1
            if i >= 0:
                return syms[i][1], pc - base - syms[i][0]
            return os.path.basename(path), pc - base
    return f"0x{pc:x}", 0


@lru_cache(maxsize=None)
def _symbols(path: str) -> list:
    """[(address, name)] of a file's functions, from its symbol table (nm). A library without
    one (libc) gets none: its frames print as file+offset, never as a wrong nearby name."""
    try:
        text = subprocess.run(["nm", "--defined-only", path], capture_output=True, text=True,
                              timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            out.append((int(parts[0], 16), parts[2]))
    return sorted(out)

"""Crash mode: the same race with the buffer ending at a PROT_NONE page, in a child process.

Design note: the copy is unchecked (bcopy copies forward byte by byte), so the first byte past
the buffer is the first byte of the guard page and the overflow is a real SIGSEGV. The child's
fault reporter (fault.c) prints the fault address and the reader's buffer from inside the signal
handler; here we turn that into a panic-shaped report. The caller never dies; a child that does
not finish within its timeout is killed and reported as a hang.
"""

import json
import os
import re
import signal
import subprocess
import sys

from labkit.errors import LabkitError
from labkit.native import _args, _cbuild
from labkit.native.results import KSTAT_SIZE, CrashResult

CRASH_SECONDS = 3.0   # how long a run may go on looking for the crash
_FAULT = re.compile(r"labkit-fault signo=(\d+) addr=0x([0-9a-f]+) kbuf=0x([0-9a-f]+) "
                    r"size=0x([0-9a-f]+) ndata=(\d+) guard=0x([0-9a-f]+) round=(\d+)")


def crash(fix: str | None = None, *, window_ns: int | None = None, seed: int = 0,
          source: str | os.PathLike | None = None, forced: bool = False, seconds: float | None = None,
          timeout: float | None = None, schedule: str | None = None, kstats: int | None = None,
          dump: str | os.PathLike | None = None) -> CrashResult:
    """Run the race until the overflow faults on the guard page, or for `seconds` (default 3).

    With schedule="W12 R25 W1 R" and kstats=N, one round follows that simulator schedule instead
    (labkit.native.follow); the result's .dump is the crash dump, also written to `dump` if given.
    """
    if schedule is not None or kstats is not None:
        if schedule is None or kstats is None:
            raise LabkitError("give both a schedule and a number of kstats (the simulator's --kstats)")
        if source is not None or forced or window_ns is not None:
            raise LabkitError("a schedule fixes the order itself: no source file, forced or window_ns with it")
        from labkit.native.follow import crash_following
        return crash_following(schedule, kstats=kstats, fix=fix, dump=dump)
    variant, label = _args.variant(fix, source)
    window_ns, seed = _args.window(window_ns), _args.seed(seed)
    seconds, _ = _args.budget(CRASH_SECONDS if seconds is None else seconds, None)
    _cbuild.load(source)   # build (or fail to) here, not in the child
    p = dict(variant=variant, label=label, seconds=seconds, rounds=None, window_ns=window_ns,
             seed=seed, forced=bool(forced), source=None if source is None else os.fspath(source))
    timeout = seconds + 20 if timeout is None else timeout
    base = dict(fix=label, seed=seed, window_ns=window_ns, forced=bool(forced), source=p["source"])
    try:
        proc = subprocess.run([sys.executable, "-m", "labkit.native._child", "crash", json.dumps(p)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return CrashResult(crashed=False, signal=None, fault_addr=None, kbuf=None, offset=None,
                           header_index=None, hang=True, detail=f"killed after {timeout:.0f} s", **base)
    return parse(proc.returncode, proc.stdout, proc.stderr, base)


def parse(code: int, stdout: str, stderr: str, base: dict) -> CrashResult:
    for line in stdout.splitlines():
        if line.startswith("error "):
            raise LabkitError(json.loads(line[6:]))
    fault = _FAULT.search(stderr)
    if code >= 0 and not fault:
        detail = ""
        for line in stdout.splitlines():
            if line.startswith("result "):
                r = json.loads(line[7:])
                detail = f"{r['rounds']} reader rounds in {r['seconds']:.2f} s, none faulted."
        if code != 0:
            detail = f"exit code {code}: " + (stderr.strip().splitlines() or [""])[-1]
        return CrashResult(crashed=False, signal=None, fault_addr=None, kbuf=None, offset=None,
                           header_index=None, exit_code=code, detail=detail, **base)
    signame = signal.Signals(-code).name if code < 0 else None
    if not fault:
        return CrashResult(crashed=True, signal=signame, fault_addr=None, kbuf=None, offset=None,
                           header_index=None, exit_code=code,
                           detail="no fault report: the crash was not in the reader's copy", **base)
    signo, addr, kbuf, size, ndata, guard, rnd = fault.groups()
    addr, kbuf, guard = int(addr, 16), int(kbuf, 16), int(guard, 16)
    offset = addr - kbuf
    if not (kbuf and guard and kbuf <= addr < guard + 4096):
        return CrashResult(crashed=True, signal=signame or signal.Signals(int(signo)).name,
                           fault_addr=addr, kbuf=None, offset=None, header_index=None, exit_code=code,
                           detail=f"the fault at {addr:#x} is not in the reader's buffer: a bad pointer?",
                           **base)
    return CrashResult(crashed=True, signal=signame or signal.Signals(int(signo)).name,
                       fault_addr=addr, kbuf=kbuf, offset=offset, header_index=offset // KSTAT_SIZE,
                       counted=int(ndata), guard=guard, round=int(rnd), exit_code=code, **base)

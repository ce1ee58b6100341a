"""labkit.native: the kstat race (illumos bug 4997) on real pthreads and real memory.

The C model (kstat_model.h, kstat_fr.c, engine.c) runs a reader R, read_kstat_data() on the
header kstat, and a writer W, zone_create() -> kstat_install(), over a chain of 184-byte kstat_t
records guarded by a pthread kstat_chain_lock. Which kernel code they run is a variant:
"none" (the bug), "lock" (fix A, illumos c9bbee95), "count" (fix B), or a learner's own file
(`source=`, written from learner_template.c; built on first use, run in a child process).

The API (each result has to_json() and a repr that echoes the seed):

    race(fix="none", *, seconds=None, rounds=None, window_ns=None, seed=0, source=None,
         progress=None, stop=None, forced=False, timeout=None) -> RaceResult
        detect mode: every copy bounds-checked, overflows counted, never performed; safe in a
        notebook. progress(rounds, overflows, elapsed_s) about every 50 ms; a threading.Event
        `stop` ends the run early. window_ns widens R's allocate-and-zero step (default
        labkit.config.WINDOW_NS; 0 is the realistic race).
    crash(fix="none", *, window_ns=None, seed=0, source=None, forced=False, seconds=None,
          timeout=None) -> CrashResult
        crash mode, in a child process: the buffer ends at a PROT_NONE page, so the overflow is
        a real SIGSEGV, reported like a panic (fault address, kbuf, offset, header index).
    forced(fix="none", *, source=None, rounds=20, crash=False) -> RaceResult | CrashResult
        impose count -> W clears -> copy every round: the bug overflows every time.
    tsan(fix="none", *, source=None, seconds=0.5, timeout=120) -> TsanResult
        the same C under ThreadSanitizer, in a child (a C program, tsan_main.c): the racing
        accesses with file:line.

Layout: _build.py (cffi, run at install time), _cbuild.py (first-use builds), detect.py,
crash.py, tsan.py (and tsan_main.c, its child), _child.py (the child process of the others),
_zygote.py (which forks the stress runs' children),
results.py, _args.py (argument checks).
"""

import os as _os

from labkit.native.crash import crash
from labkit.native.crash import crash as _crash
from labkit.native.detect import race
from labkit.native.results import CrashResult, RaceResult, TsanResult
from labkit.native.tsan import tsan

__all__ = ["race", "crash", "forced", "tsan", "RaceResult", "CrashResult", "TsanResult",
           "TEMPLATE"]

#: The learner's starting point: the buggy kernel, with the interface documented at its top.
TEMPLATE = _os.path.join(_os.path.dirname(__file__), "learner_template.c")


def forced(fix: str | None = None, *, source: "str | _os.PathLike | None" = None, rounds: int = 20,
           crash: bool = False) -> RaceResult | CrashResult:
    """Impose the losing interleaving on every round: R counts, W clears, R copies.

    Hooks in the C make R wait after its count pass until W, inside kstat_install, has reached
    kstat_chain_lock. The buggy variant then overflows on every round (or, with crash=True,
    faults on the first); fix A makes W wait for the lock before it clears; fix B counted the
    INVALID kstat already.
    """
    if crash:
        return _crash(fix, source=source, forced=True)
    return race(fix, source=source, rounds=rounds, forced=True)

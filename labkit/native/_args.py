"""Checking the arguments every native entry point shares, so each error reads the same."""

import os

from labkit import config
from labkit.errors import LabkitError, choice_error
from labkit.fixes import FIX_NAMES as FIXES
KSTATS = 64              # kstats in the chain besides the header (the kernel had 5698)
MAX_KSTATS = 100_000     # as many as the simulator takes (labkit.kernel.scenario.MAX_KSTATS)
DEFAULT_SECONDS = 1.0    # a race() given neither seconds nor rounds


def variant(fix, source):
    """The engine's variant name, and the label results carry."""
    if source is not None:
        if fix not in (None, "none"):
            raise LabkitError("give either a fix or a source file, not both: the file replaces the built-in fix")
        if not os.path.isfile(os.fspath(source)):
            raise LabkitError(f"source file {os.fspath(source)!r} does not exist")
        return "learner", "learner"
    fix = "none" if fix is None else fix
    if fix not in FIXES:
        raise choice_error("fix", fix, FIXES)
    return fix, fix


def window(window_ns):
    window_ns = config.WINDOW_NS if window_ns is None else window_ns
    if not isinstance(window_ns, int) or isinstance(window_ns, bool) or window_ns < 0:
        raise LabkitError(f"window_ns must be a whole number of nanoseconds, 0 or more; got {window_ns!r}")
    if window_ns > 10**9:
        raise LabkitError(f"window_ns {window_ns} is more than a second; the kernel's was about 10**5")
    return window_ns


def writers(value):
    """Concurrent zone_create threads: 1 (W) or 2 (W and X)."""
    if value not in (1, 2) or isinstance(value, bool):
        raise LabkitError(f"writers must be 1 or 2 (concurrent zone_create threads); got {value!r}")
    return value


def kstats(value):
    """kstats in the chain besides the header kstat: KSTATS by default, at most MAX_KSTATS (the
    simulator's bound, not imported from it: the runs' children import labkit.native only)."""
    value = KSTATS if value is None else value
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_KSTATS:
        raise LabkitError(f"kstats must be a whole number from 1 to {MAX_KSTATS} (kstats in the chain besides "
                          f"the header kstat; the kernel had 5698); got {value!r}")
    return value


def seed(value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LabkitError(f"seed must be a whole number, 0 or more; got {value!r}")
    return value


def budget(seconds, rounds):
    """(seconds, rounds): exactly one of them limits a run."""
    if seconds is not None and rounds is not None:
        raise LabkitError("give seconds or rounds, not both")
    if rounds is not None:
        if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds <= 0:
            raise LabkitError(f"rounds must be a whole number above 0; got {rounds!r}")
        return None, rounds
    seconds = DEFAULT_SECONDS if seconds is None else seconds
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 < seconds <= 3600:
        raise LabkitError(f"seconds must be above 0 and at most 3600; got {seconds!r}")
    return float(seconds), None

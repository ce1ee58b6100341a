"""The kernels the course compares: the buggy one, the two fixes, and a learner's own.

A Variant names replacements for any of the three functions the fixes touch; everything else is
the buggy kernel's. Fix A is what illumos shipped for bug 4997 (commit c9bbee95, 2014): take
kstat_chain_lock around the clear in kstat_install. Fix B is the alternative the bug's analysis
names: count INVALID kstats too in the first pass, so the buffer is never too small.
"""

import os
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, field
from pathlib import Path

from labkit import learner_code
from labkit.errors import LabkitError, choice_error
from labkit.fixes import FIX_NAMES
from labkit.kernel import fields, kstat_fr
from labkit.kernel.context import kstat_avl_bykid, kstat_chain_lock
from labkit.kernel.kstat import Kstat
from labkit.kernel.kstat_fr import (ASSERT, CE_WARN, MUTEX_HELD, avl_walk, cmn_err, getzoneid, kstat_hold_bykid,
                                    kstat_rele, kstat_zone_find, mutex_enter, mutex_exit, sizeof)
from labkit.kernel.layout import EACCES, KSTAT_FLAG_DORMANT, KSTAT_FLAG_INVALID, KSTAT_WRITE

REPLACEABLE = ("kstat_install", "header_kstat_update", "header_kstat_snapshot")
#: What a kernel file loaded here may import (labkit.learner_code enforces it): the kernel's API,
#: and the buggy kernel's own functions, so a variant may wrap one (the wrong fixes of notebook
#: 4 do). The grader allows the API only (labkit.grading.base.ALLOWED_IMPORTS).
LEARNER_IMPORTS = ("labkit.kernel.api", "labkit.kernel.kstat_fr")


@dataclass
class Variant:
    name: str
    functions: dict = field(default_factory=dict)   # C name -> Python function
    source: str | None = None                         # the file it came from, if any

    def get(self, fname: str) -> Callable[..., Any]:
        return self.functions.get(fname) or getattr(kstat_fr, fname)

    def __repr__(self):
        own = ", ".join(sorted(self.functions)) or "nothing"
        return f"<Variant {self.name}: replaces {own}>"


# ---- fix A: what illumos shipped -----------------------------------------------------------
def kstat_install(ksp):
    zoneid = ksp.e_zones[0]
    if kstat_hold_bykid(ksp.ks_kid, zoneid) is not ksp:
        cmn_err(CE_WARN, f"kstat_install({ksp.addr:#x}): does not exist")
        return
    if ksp.ks_flags & KSTAT_FLAG_DORMANT:
        ksp.ks_flags &= ~KSTAT_FLAG_DORMANT
    # The header kstat decides membership by this flag while holding kstat_chain_lock, so the
    # flag may only change under that lock: then both passes of a reader see the same value.
    mutex_enter(kstat_chain_lock)
    ksp.ks_flags &= ~KSTAT_FLAG_INVALID
    mutex_exit(kstat_chain_lock)
    kstat_rele(ksp)


# ---- fix B: count what might become valid ---------------------------------------------------
def header_kstat_update(header_ksp, rw):
    if rw == KSTAT_WRITE:
        return EACCES
    ASSERT(MUTEX_HELD(kstat_chain_lock), "MUTEX_HELD(&kstat_chain_lock)")
    nkstats = 0
    zoneid = getzoneid()
    for ksp in avl_walk(kstat_avl_bykid):
        # Count INVALID kstats too: one may turn valid before the copy, and the copy must fit.
        if kstat_zone_find(ksp, zoneid):
            nkstats += 1
    header_ksp.ks_ndata = nkstats
    header_ksp.ks_data_size = nkstats * sizeof(Kstat)
    return 0


# What each fix replaces (the names themselves are labkit.fixes.FIX_NAMES).
_REPLACES: dict[str, dict] = {"lock": {"kstat_install": kstat_install},
                              "count": {"header_kstat_update": header_kstat_update}}
FIXES = {name: Variant(name, _REPLACES[name]) if name in _REPLACES else Variant(name)
         for name in FIX_NAMES}

def resolve_variant(fix: "str | os.PathLike[str] | Variant") -> Variant:
    if isinstance(fix, Variant):
        return fix
    if isinstance(fix, str) and fix in FIXES:
        return FIXES[fix]
    if isinstance(fix, (str, Path)) and str(fix).endswith(".py"):
        return load_variant(fix)
    raise choice_error("fix", fix, list(FIXES) + ["a path to a .py file"])


def load_variant(path: "str | os.PathLike[str]") -> Variant:
    """Load a learner's file defining any of kstat_install, header_kstat_update,
    header_kstat_snapshot; they replace the buggy kernel's functions of the same names."""
    path = Path(path)
    # the one loader of learner files (its allow-list, its wording of errors: file and line)
    module = learner_code.load(path, allowed_modules=LEARNER_IMPORTS, prefix="variant", field_access=fields)
    functions = learner_code.functions(module, REPLACEABLE)
    if not functions:
        raise LabkitError(f"{path.name} defines none of {', '.join(REPLACEABLE)}")
    return Variant(path.stem, functions, str(path))

"""The kernels the course compares: the buggy one, the two fixes, and a learner's own.

A Variant names replacements for any of the three functions the fixes touch; everything else is
the buggy kernel's. Fix A is what illumos shipped for bug 4997 (commit c9bbee95, 2014): take
kstat_chain_lock around the clear in kstat_install. Fix B is the alternative the bug's analysis
names: count INVALID kstats too in the first pass, so the buffer is never too small.
"""

import importlib.util
import itertools
import os
import traceback
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, field
from pathlib import Path

from labkit.errors import LabkitError, choice_error
from labkit.fixes import FIX_NAMES
from labkit.kernel import kstat_fr
from labkit.kernel.context import kstat_avl_bykid, kstat_chain_lock
from labkit.kernel.kstat import Kstat
from labkit.kernel.kstat_fr import (ASSERT, CE_WARN, MUTEX_HELD, avl_walk, cmn_err, getzoneid, kstat_hold_bykid,
                                    kstat_rele, kstat_zone_find, mutex_enter, mutex_exit, sizeof)
from labkit.kernel.layout import EACCES, KSTAT_FLAG_DORMANT, KSTAT_FLAG_INVALID, KSTAT_WRITE

REPLACEABLE = ("kstat_install", "header_kstat_update", "header_kstat_snapshot")


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

_counter = itertools.count()


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
    if not path.is_file():
        raise LabkitError(f"no such file: {path}")
    name = f"labkit_variant_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LabkitError(f"{path}: Python cannot load this file as a module (is it a .py file?)")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        raise LabkitError(f"{path.name} line {e.lineno}: syntax error: {e.msg}") from None
    except Exception as e:
        tb = traceback.extract_tb(e.__traceback__)[-1]
        raise LabkitError(f"{path.name} line {tb.lineno}: loading it raised "
                          f"{type(e).__name__}: {e}") from None
    functions = {f: getattr(module, f) for f in REPLACEABLE if callable(getattr(module, f, None))}
    if not functions:
        raise LabkitError(f"{path.name} defines none of {', '.join(REPLACEABLE)}")
    return Variant(path.stem, functions, str(path))

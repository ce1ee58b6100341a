"""Fix A that also holds the header kstat for a moment, as the reader does.

Right, and odd on purpose (tests/test_shared_state.py): a writer that shares with the reader the
header's hold (e_owner; it waits on e_cv while the reader holds it), which no built-in fix does.
"""
from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    hdr = kstat_hold_bykid(0, GLOBAL_ZONEID)
    if hdr is not None:
        kstat_rele(hdr)
    if kstat_hold_bykid(ksp.ks_kid, ksp.e_zones[0]) is not ksp:
        return
    mutex_enter(kstat_chain_lock)
    ksp.ks_flags &= ~KSTAT_FLAG_INVALID
    mutex_exit(kstat_chain_lock)
    kstat_rele(ksp)

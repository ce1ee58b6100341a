"""A wrong fix A (level 3 of notebook 4): the clear is under kstat_chain_lock, and so is the
kstat_rele() that follows it. A learner's file in form: load it with labkit.kernel.load_variant."""

from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    zoneid = ksp.e_zones[0]
    if kstat_hold_bykid(ksp.ks_kid, zoneid) is not ksp:
        panic(f"kstat_install({ksp.addr:#x}): does not exist")
    mutex_enter(kstat_chain_lock)
    ksp.ks_flags &= ~KSTAT_FLAG_INVALID
    kstat_rele(ksp)
    mutex_exit(kstat_chain_lock)

"""Fix A, wrong: never calls kstat_rele (the creator's hold leaks)."""
from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    zoneid = ksp.e_zones[0]
    if kstat_hold_bykid(ksp.ks_kid, zoneid) is not ksp:
        panic("does not exist")
    mutex_enter(kstat_chain_lock)
    ksp.ks_flags &= ~KSTAT_FLAG_INVALID
    mutex_exit(kstat_chain_lock)

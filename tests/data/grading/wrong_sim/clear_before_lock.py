"""Fix A, wrong: the flag is cleared before the lock is taken, so the lock protects nothing."""
from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    if kstat_hold_bykid(ksp.ks_kid, ksp.e_zones[0]) is not ksp:
        panic("does not exist")
    ksp.ks_flags &= ~KSTAT_FLAG_INVALID
    mutex_enter(kstat_chain_lock)
    mutex_exit(kstat_chain_lock)
    kstat_rele(ksp)

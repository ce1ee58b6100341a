"""Fix A, wrong: kstat_rele while still holding kstat_chain_lock (it takes the lock: self-deadlock)."""
from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    if kstat_hold_bykid(ksp.ks_kid, ksp.e_zones[0]) is not ksp:
        panic("does not exist")
    mutex_enter(kstat_chain_lock)
    ksp.ks_flags &= ~KSTAT_FLAG_INVALID
    kstat_rele(ksp)
    mutex_exit(kstat_chain_lock)

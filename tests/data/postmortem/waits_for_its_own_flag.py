"""Fix A, wrong: waits, dropping and retaking the chain lock, for the flag it should clear (a hang)."""
from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    kstat_hold_bykid(ksp.ks_kid, ksp.e_zones[0])
    mutex_enter(kstat_chain_lock)
    while ksp.ks_flags & KSTAT_FLAG_INVALID:
        mutex_exit(kstat_chain_lock)
        mutex_enter(kstat_chain_lock)
    kstat_rele(ksp)

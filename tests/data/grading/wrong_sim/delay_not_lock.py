"""Fix A, wrong: a delay before the clear instead of the lock (a delay orders nothing)."""
from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    if kstat_hold_bykid(ksp.ks_kid, ksp.e_zones[0]) is not ksp:
        panic("does not exist")
    delay(10)
    ksp.ks_flags &= ~KSTAT_FLAG_INVALID
    kstat_rele(ksp)

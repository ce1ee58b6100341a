"""Fix A, wrong: kstat_install does nothing (no panic, because the kstat never becomes visible)."""
from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    zoneid = ksp.e_zones[0]
    if kstat_hold_bykid(ksp.ks_kid, zoneid) is not ksp:
        panic("does not exist")
    kstat_rele(ksp)

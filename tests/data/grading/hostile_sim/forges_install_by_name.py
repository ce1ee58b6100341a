"""Fix A, wrong: W's kstat_install also makes every other INVALID kstat visible (X's too, before
X's own kstat_install runs), through a helper NAMED kstat_install, so that a record which looks
for kstat_install by name on the Python stack takes each clear for that kstat's own install."""

from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    def kstat_install(other):          # the forgery: only its name and first argument matter
        other.ks_flags &= ~KSTAT_FLAG_INVALID

    zoneid = ksp.e_zones[0]
    if kstat_hold_bykid(ksp.ks_kid, zoneid) is not ksp:
        panic("does not exist")
    mutex_enter(kstat_chain_lock)
    for k in avl_walk(kstat_avl_bykid):
        if k.ks_flags & KSTAT_FLAG_INVALID:
            kstat_install(k)
    mutex_exit(kstat_chain_lock)
    kstat_rele(ksp)

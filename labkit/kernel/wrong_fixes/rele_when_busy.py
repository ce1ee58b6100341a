"""A wrong fix A (level 3 of notebook 4): the clear is under kstat_chain_lock on both paths, but
the path taken when the lock is busy calls kstat_rele() before letting the lock go. A learner's
file in form: load it with labkit.kernel.load_variant.

Its author wanted W not to wait when it need not: mutex_tryenter() takes the lock at once when it
is free; only when a reader holds it does W wait in mutex_enter(). The slow path is a copy of the
fast one with two lines in the wrong order, so it runs only when W installs while a reader holds
the chain lock: the same window as the race this fix was written for. (Modelling choice: the
simulator reports W's recursive mutex_enter as a deadlock; illumos panics.)
"""

from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    zoneid = ksp.e_zones[0]
    if kstat_hold_bykid(ksp.ks_kid, zoneid) is not ksp:
        cmn_err(CE_WARN, f"kstat_install({ksp.addr:#x}): does not exist")
        return
    if mutex_tryenter(kstat_chain_lock):
        ksp.ks_flags &= ~KSTAT_FLAG_INVALID
        mutex_exit(kstat_chain_lock)
        kstat_rele(ksp)
    else:
        mutex_enter(kstat_chain_lock)
        ksp.ks_flags &= ~KSTAT_FLAG_INVALID
        kstat_rele(ksp)
        mutex_exit(kstat_chain_lock)

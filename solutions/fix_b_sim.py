"""Exercise 4: fix B in the simulator.

Leave kstat_install() as it is (it still clears the flag without the lock). Rewrite
header_kstat_update() so that header_kstat_snapshot() can never copy more headers than it
counted. This file replaces the functions it defines, of header_kstat_update() and
header_kstat_snapshot() (helpers of your own are fine); kstat_install() stays the kernel's.

The buggy kernel's version (labkit/kernel/kstat_fr.py) reads:

    def header_kstat_update(header_ksp, rw):
        if rw == KSTAT_WRITE:
            return EACCES
        ASSERT(MUTEX_HELD(kstat_chain_lock), "MUTEX_HELD(&kstat_chain_lock)")
        nkstats = 0
        zoneid = getzoneid()
        for ksp in avl_walk(kstat_avl_bykid):
            if kstat_zone_find(ksp, zoneid) and (ksp.ks_flags & KSTAT_FLAG_INVALID) == 0:
                nkstats += 1
        header_ksp.ks_ndata = nkstats
        header_ksp.ks_data_size = nkstats * sizeof(kstat_t)
        return 0

Try it:   labkit explore --fix exercises/fix_b_sim.py
Check it: from labkit import check; check("fix_b_sim")
"""

from labkit.kernel.api import *  # noqa: F401,F403  the kernel's names: avl_walk, sizeof, ...


def header_kstat_update(header_ksp, rw):
    """The first pass, under kstat_chain_lock: set ks_ndata and ks_data_size for the copy."""
    ### BEGIN SOLUTION
    if rw == KSTAT_WRITE:
        return EACCES
    ASSERT(MUTEX_HELD(kstat_chain_lock), "MUTEX_HELD(&kstat_chain_lock)")
    nkstats = 0
    zoneid = getzoneid()
    for ksp in avl_walk(kstat_avl_bykid):
        # Count INVALID kstats too: one may become valid before the copy, and the copy must fit.
        if kstat_zone_find(ksp, zoneid):
            nkstats += 1
    header_ksp.ks_ndata = nkstats
    header_ksp.ks_data_size = nkstats * sizeof(kstat_t)
    return 0
    ### END SOLUTION

"""A fix that covers only one concurrent install (level 4 of notebook 4): the first pass leaves
room for one more header than it counts. A learner's file in form: load it with
labkit.kernel.load_variant."""

from labkit.kernel.api import *  # noqa: F401,F403


def header_kstat_update(header_ksp, rw):
    if rw == KSTAT_WRITE:
        return EACCES
    ASSERT(MUTEX_HELD(kstat_chain_lock), "MUTEX_HELD(&kstat_chain_lock)")
    nkstats = 0
    zoneid = getzoneid()
    for ksp in avl_walk(kstat_avl_bykid):
        if kstat_zone_find(ksp, zoneid) and (ksp.ks_flags & KSTAT_FLAG_INVALID) == 0:
            nkstats += 1
    nkstats += 1
    header_ksp.ks_ndata = nkstats
    header_ksp.ks_data_size = nkstats * sizeof(kstat_t)
    return 0

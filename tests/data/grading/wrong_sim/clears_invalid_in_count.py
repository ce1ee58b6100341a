"""Fix B, wrong: the first pass clears INVALID on every kstat it counts (readers see kstats nobody installed)."""
from labkit.kernel.api import *  # noqa: F401,F403


def header_kstat_update(header_ksp, rw):
    if rw == KSTAT_WRITE:
        return EACCES
    nkstats = 0
    for ksp in avl_walk(kstat_avl_bykid):
        if kstat_zone_find(ksp, getzoneid()):
            if ksp.ks_flags & KSTAT_FLAG_INVALID:
                ksp.ks_flags &= ~KSTAT_FLAG_INVALID
            nkstats += 1
    header_ksp.ks_ndata = nkstats
    header_ksp.ks_data_size = nkstats * sizeof(kstat_t)
    return 0

"""Fix B, wrong: count one extra slot if any kstat is INVALID (right for one concurrent install only)."""
from labkit.kernel.api import *  # noqa: F401,F403


def header_kstat_update(header_ksp, rw):
    if rw == KSTAT_WRITE:
        return EACCES
    nkstats = 0
    extra = 0
    for ksp in avl_walk(kstat_avl_bykid):
        if kstat_zone_find(ksp, getzoneid()):
            if ksp.ks_flags & KSTAT_FLAG_INVALID:
                extra = 1
            else:
                nkstats += 1
    nkstats += extra
    header_ksp.ks_ndata = nkstats
    header_ksp.ks_data_size = nkstats * sizeof(kstat_t)
    return 0

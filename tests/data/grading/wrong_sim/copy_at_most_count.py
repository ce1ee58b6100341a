"""Fix B, wrong: keep the buggy count and stop copying at it (silently drops an installed kstat)."""
from labkit.kernel.api import *  # noqa: F401,F403


def header_kstat_snapshot(header_ksp, buf, rw):
    if rw == KSTAT_WRITE:
        return EACCES
    header_ksp.ks_snaptime = gethrtime()
    copied = 0
    for ksp in avl_walk(kstat_avl_bykid):
        if copied == header_ksp.ks_ndata:
            break
        if kstat_zone_find(ksp, getzoneid()) and (ksp.ks_flags & KSTAT_FLAG_INVALID) == 0:
            bcopy(ksp, buf, sizeof(kstat_t))
            buf += sizeof(kstat_t)
            copied += 1
    return 0


def header_kstat_update(header_ksp, rw):
    """The buggy count, unchanged: valid kstats only."""
    if rw == KSTAT_WRITE:
        return EACCES
    nkstats = 0
    for ksp in avl_walk(kstat_avl_bykid):
        if kstat_zone_find(ksp, getzoneid()) and (ksp.ks_flags & KSTAT_FLAG_INVALID) == 0:
            nkstats += 1
    header_ksp.ks_ndata = nkstats
    header_ksp.ks_data_size = nkstats * sizeof(kstat_t)
    return 0

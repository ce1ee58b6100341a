"""Fix B, wrong: 'no copy, no overflow': the snapshot copies nothing."""
from labkit.kernel.api import *  # noqa: F401,F403


def header_kstat_update(header_ksp, rw):
    if rw == KSTAT_WRITE:
        return EACCES
    nkstats = 0
    for ksp in avl_walk(kstat_avl_bykid):
        nkstats += 1
    header_ksp.ks_ndata = nkstats
    header_ksp.ks_data_size = nkstats * sizeof(kstat_t)
    return 0


def header_kstat_snapshot(header_ksp, buf, rw):
    header_ksp.ks_snaptime = gethrtime()
    return 0

"""Fix B, wrong: counts ten more than there are, to be safe (the reader's buffer is not that big)."""
from labkit.kernel.api import *  # noqa: F401,F403


def header_kstat_update(header_ksp, rw):
    if rw == KSTAT_WRITE:
        return EACCES
    nkstats = 10
    for ksp in avl_walk(kstat_avl_bykid):
        nkstats += 1
    header_ksp.ks_ndata = nkstats
    header_ksp.ks_data_size = nkstats * sizeof(kstat_t)
    return 0

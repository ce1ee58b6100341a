"""The same channel through a kstat field: kstat_install marks its kstat in ks_private without
kstat_chain_lock, and the count pass adds one for each kstat so marked."""
from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    zoneid = ksp.e_zones[0]
    if kstat_hold_bykid(ksp.ks_kid, zoneid) is not ksp:
        return
    if ksp.ks_flags & KSTAT_FLAG_DORMANT:
        ksp.ks_flags &= ~KSTAT_FLAG_DORMANT
    ksp.ks_private = 1
    ksp.ks_flags &= ~KSTAT_FLAG_INVALID
    ksp.ks_private = 0
    kstat_rele(ksp)


def header_kstat_update(header_ksp, rw):
    if rw == KSTAT_WRITE:
        return EACCES
    nkstats = 0
    zoneid = getzoneid()
    for ksp in avl_walk(kstat_avl_bykid):
        if kstat_zone_find(ksp, zoneid) and (ksp.ks_flags & KSTAT_FLAG_INVALID) == 0:
            nkstats += 1
        nkstats += ksp.ks_private
    header_ksp.ks_ndata = nkstats
    header_ksp.ks_data_size = nkstats * sizeof(kstat_t)
    return 0

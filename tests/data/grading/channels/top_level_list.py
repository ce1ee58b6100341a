"""A wrong fix B that passed the search before the loader refused shared state: kstat_install
keeps a list at the top of the file that the count pass reads. Its appends run glued to the point
before them, so the search never tried the order where the count reads the list before the writer
appends (full enumeration finds that panic: R4 W10 R21 W3 R2 at small scale)."""
from labkit.kernel.api import *  # noqa: F401,F403

installing = []


def kstat_install(ksp):
    zoneid = ksp.e_zones[0]
    if kstat_hold_bykid(ksp.ks_kid, zoneid) is not ksp:
        return
    if ksp.ks_flags & KSTAT_FLAG_DORMANT:
        ksp.ks_flags &= ~KSTAT_FLAG_DORMANT
    installing.append(1)
    ksp.ks_flags &= ~KSTAT_FLAG_INVALID
    installing.pop()
    kstat_rele(ksp)


def header_kstat_update(header_ksp, rw):
    if rw == KSTAT_WRITE:
        return EACCES
    nkstats = 0
    zoneid = getzoneid()
    for ksp in avl_walk(kstat_avl_bykid):
        if kstat_zone_find(ksp, zoneid) and (ksp.ks_flags & KSTAT_FLAG_INVALID) == 0:
            nkstats += 1
    nkstats += len(installing)
    header_ksp.ks_ndata = nkstats
    header_ksp.ks_data_size = nkstats * sizeof(kstat_t)
    return 0

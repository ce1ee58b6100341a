"""The writer: zone_create() making a zone's zone_zfs kstat (a SmartOS path, as in the seed).

zone(ZONE_CREATE) -> zone_create -> zone_kstat_create -> zone_zfs_kstat_create, which creates
the kstat (INVALID, already in the chain), makes it visible to the global zone, and installs it.
zone_kstat_create runs after the point where zone creation can no longer fail.
"""

from labkit.kernel.context import kernel
from labkit.kernel.kstat_fr import kstat_create_zone, kstat_zone_add
from labkit.kernel.layout import GLOBAL_ZONEID, KSTAT_FLAG_VIRTUAL, KSTAT_TYPE_NAMED

ZONE_CREATE = 0


def sys_syscall(code: int, zone_name: str, zoneid: int):
    return zone(code, zone_name, zoneid)


def zone(cmd: int, zone_name: str, zoneid: int):
    return zone_create(zone_name, zoneid)


def zone_create(zone_name: str, zoneid: int):
    # (the zone's datasets, privileges and resource controls are set up here first)
    zone_kstat_create(zoneid, zone_name)
    return zoneid


def zone_kstat_create(zoneid: int, zone_name: str):
    zone_zfs_kstat_create(zoneid, zone_name)


def zone_zfs_kstat_create(zoneid: int, zone_name: str):
    ksp = kstat_create_zone("zone_zfs", zoneid, zone_name[:30], "zone_zfs", KSTAT_TYPE_NAMED,
                            6, KSTAT_FLAG_VIRTUAL, zoneid)
    if zoneid != GLOBAL_ZONEID:
        kstat_zone_add(ksp, GLOBAL_ZONEID)
    kernel().run_kstat_install(ksp)
    return ksp


def zone_kstat_install(ksp):
    """Thread X of a two-writer scenario: its zone's kstat was created before the reader began
    (see kernel/scenario.py), so it only installs it."""
    kernel().run_kstat_install(ksp)
    return ksp

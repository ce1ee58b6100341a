"""What a learner's kernel code imports: `from labkit.kernel.api import *`.

The names are the C names. A fix is written as plain code over them; the scheduler plumbing
stays out of sight (every flag access, lock operation and chain step is a scheduling point).
"""

from labkit.kernel.context import kstat_avl_bykid, kstat_chain_lock
from labkit.kernel.fields import gethrtime  # the clock, shared: under kstat_chain_lock (fields.py)
from labkit.kernel.kstat import Kstat as kstat_t
from labkit.kernel.kstat_fr import (ASSERT, CE_WARN, MUTEX_HELD, avl_walk, bcopy, cmn_err,
                                    cv_broadcast, cv_wait,
                                    delay, getzoneid, kstat_hold_bykid, kstat_rele,
                                    kstat_zone_find, mutex_enter, mutex_exit, mutex_tryenter, panic,
                                    sizeof)
from labkit.kernel.layout import (EACCES, EAGAIN, ENOMEM, ENXIO, GLOBAL_ZONEID,
                                  KSTAT_FLAG_DORMANT, KSTAT_FLAG_INVALID, KSTAT_FLAG_PERSISTENT,
                                  KSTAT_FLAG_VAR_SIZE, KSTAT_FLAG_VIRTUAL, KSTAT_FLAG_WRITABLE,
                                  KSTAT_READ, KSTAT_WRITE)

__all__ = [
    "kstat_avl_bykid", "kstat_chain_lock", "kstat_t", "ASSERT", "CE_WARN", "cmn_err", "MUTEX_HELD", "avl_walk", "bcopy",
    "cv_broadcast", "cv_wait", "delay", "gethrtime", "getzoneid", "kstat_hold_bykid",
    "kstat_rele", "kstat_zone_find", "mutex_enter", "mutex_exit", "mutex_tryenter", "panic", "sizeof", "EACCES",
    "EAGAIN", "ENOMEM", "ENXIO", "GLOBAL_ZONEID", "KSTAT_FLAG_DORMANT", "KSTAT_FLAG_INVALID",
    "KSTAT_FLAG_PERSISTENT", "KSTAT_FLAG_VAR_SIZE", "KSTAT_FLAG_VIRTUAL", "KSTAT_FLAG_WRITABLE",
    "KSTAT_READ", "KSTAT_WRITE",
]

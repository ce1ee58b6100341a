"""Fix A that also reads the header kstat's count, says what it read, and reads the clock.

Right, and odd on purpose (tests/test_shared_state.py): a writer that shares with the reader the
header's ks_ndata (found by walking the chain, under the lock) and the clock (alone in a critical
section of its own, where nothing else orders it), and with the other writer the console: state
no built-in fix shares between threads in a way nothing else orders.
"""
from labkit.kernel.api import *  # noqa: F401,F403


def kstat_install(ksp):
    mutex_enter(kstat_chain_lock)
    for hdr in avl_walk(kstat_avl_bykid):
        counted = hdr.ks_ndata
        break
    mutex_exit(kstat_chain_lock)
    cmn_err(CE_WARN, "installing after a count of " + str(counted))
    if kstat_hold_bykid(ksp.ks_kid, ksp.e_zones[0]) is not ksp:
        return
    mutex_enter(kstat_chain_lock)
    ksp.ks_flags &= ~KSTAT_FLAG_INVALID
    mutex_exit(kstat_chain_lock)
    kstat_rele(ksp)
    mutex_enter(kstat_chain_lock)
    gethrtime()
    mutex_exit(kstat_chain_lock)

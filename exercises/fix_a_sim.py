"""Exercise 3: fix A in the simulator.

Rewrite kstat_install() so that a reader of the header kstat can never see KSTAT_FLAG_INVALID
change between its first pass (the count) and its second (the copy). Leave the other kernel
functions alone: this file replaces kstat_install() only (helpers of your own are fine).

The buggy kernel's version (labkit/kernel/kstat_fr.py) reads:

    def kstat_install(ksp):
        zoneid = ksp.e_zones[0]
        if kstat_hold_bykid(ksp.ks_kid, zoneid) is not ksp:
            cmn_err(CE_WARN, f"kstat_install({ksp.addr:#x}): does not exist")
            return
        if ksp.ks_flags & KSTAT_FLAG_DORMANT:
            ksp.ks_flags &= ~KSTAT_FLAG_DORMANT
        # Now that the kstat is active, make it visible to the kstat driver.
        ksp.ks_flags &= ~KSTAT_FLAG_INVALID
        kstat_rele(ksp)

Try it:   labkit explore --fix exercises/fix_a_sim.py
Check it: from labkit import check; check("fix_a_sim")
"""

from labkit.kernel.api import *  # noqa: F401,F403  the kernel's names: mutex_enter, kstat_rele, ...


def kstat_install(ksp):
    """Make the new kstat `ksp` visible to readers of the chain, then release the hold on it."""
    raise NotImplementedError("fix_a_sim.py: kstat_install() is not implemented yet")

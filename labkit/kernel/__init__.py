"""The simulated illumos kernel (layer 2), on the deterministic scheduler.

    Scenario(kstats, fix)       a booted kernel, a reader (R) and zone_create (W); Scenario.small(),
                                Scenario.seed() (5698 headers, the seed's numbers)
    FIXES                       "none" (the bug), "lock" (fix A), "count" (fix B)
    Variant, load_variant(path) a learner's own kstat_install / header_kstat_update / _snapshot
    PanicRecord                 what a panic leaves: fault, buffer, header index, thread stacks
    layout                      kstat_t's real amd64 layout, flags, ioctls

Kernel code lives in kstat_fr.py (the framework), kstat_drv.py (the driver and syscall path),
zone.py (the writer) and variants.py (the fixes); api.py is what a learner's code imports.
"""

from labkit.kernel import layout
from labkit.kernel.kstat import Kernel, Kstat
from labkit.kernel.panic import Frame, KernelPanic, PanicRecord, ThreadRecord
from labkit.kernel.scenario import SEED_KSTATS, SMALL_KSTATS, ReadResult, Scenario
from labkit.kernel.variants import FIXES, Variant, load_variant, resolve_variant

__all__ = ["layout", "Kernel", "Kstat", "Frame", "KernelPanic", "PanicRecord", "ThreadRecord",
           "SEED_KSTATS", "SMALL_KSTATS", "ReadResult", "Scenario", "FIXES", "Variant",
           "load_variant", "resolve_variant"]

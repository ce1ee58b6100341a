"""Fix A, hostile: stores into ks_flags of the kstat_t class itself, replacing the kernel's
property (the scheduling points of every flag access, and the record of who installed what)
with a plain number, for every kstat of every execution in the worker."""
from labkit.kernel.api import *  # noqa: F401,F403

kstat_t.ks_flags = 0


def kstat_install(ksp):
    kstat_rele(ksp)

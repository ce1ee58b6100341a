"""Fix B, wrong: a typo that raises at run time."""
from labkit.kernel.api import *  # noqa: F401,F403


def header_kstat_update(header_ksp, rw):
    header_ksp.ks_ndata = len(kstat_avl_bykidz)
    return 0

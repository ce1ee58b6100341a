"""A fix that covers only one concurrent install (level 4 of notebook 4): the first pass leaves
room for one more header than it counts. A learner's file in form: load it with
labkit.kernel.load_variant."""

from labkit.kernel.api import *  # noqa: F401,F403
from labkit.kernel.kstat_fr import header_kstat_update as buggy_header_kstat_update


def header_kstat_update(header_ksp, rw):
    error = buggy_header_kstat_update(header_ksp, rw)
    if error == 0:
        header_ksp.ks_ndata += 1
        header_ksp.ks_data_size += sizeof(kstat_t)
    return error

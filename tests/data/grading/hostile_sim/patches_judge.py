"""The buggy kstat_install, plus a patch that makes the grader's judge a no-op."""
import labkit.grading.sim_checks as checks

checks.judge = lambda outcome, scenario: None


def kstat_install(ksp):
    zoneid = ksp.e_zones[0]
    kstat_hold_bykid(ksp.ks_kid, zoneid)
    ksp.ks_flags &= ~KSTAT_FLAG_INVALID
    kstat_rele(ksp)

"""The course's graded exercises, in the order a learner meets them.

Design note: each family of checks lives in its own module with its own CheckSet (answers, the
simulator, the native C); this module only merges them in course order. `EXERCISES` is the list of
names `labkit.grading.check()` accepts.
"""

from labkit.grading import answers, native_checks, sim_checks
from labkit.grading.base import CheckSet

ORDER = ["decode_panic", "find_schedule", "fix_a_sim", "fix_b_sim", "fix_a_c", "fix_b_c",
         "why_fix_b_races", "reconstruct"]

CHECKS = CheckSet()
_all = {c.name: c for part in (answers.CHECKS, sim_checks.CHECKS, native_checks.CHECKS) for c in part}
for _name in ORDER:
    if _name in _all:  # a family whose layer is not built yet contributes nothing
        CHECKS._checks[_name] = _all[_name]

EXERCISES = tuple(CHECKS.names())

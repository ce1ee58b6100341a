"""The course's three kernels, named once: every layer (the simulator's variants, the native
engine, the command line) takes the names from here.

    "none"   the kernel as it shipped, with the bug
    "lock"   fix A (what illumos shipped in commit c9bbee95)
    "count"  fix B
"""

FIX_NAMES = ("none", "lock", "count")

#: What each fix changes of the buggy kernel; its exercise's file may change these functions and
#: no other (the grader's one_fix_per_exercise): fix A is the writer's, fix B the reader's passes.
CHANGES = {"lock": frozenset({"kstat_install"}),
           "count": frozenset({"header_kstat_update", "header_kstat_snapshot"})}

#: The --fix help every command shares.
FIX_HELP = "none: the bug; lock: fix A (c9bbee95); count: fix B"

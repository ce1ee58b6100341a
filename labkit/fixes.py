"""The course's three kernels, named once: every layer (the simulator's variants, the native
engine, the command line) takes the names from here.

    "none"   the kernel as it shipped, with the bug
    "lock"   fix A (what illumos shipped in commit c9bbee95)
    "count"  fix B
"""

FIX_NAMES = ("none", "lock", "count")

#: The --fix help every command shares.
FIX_HELP = "none: the bug; lock: fix A (c9bbee95); count: fix B"

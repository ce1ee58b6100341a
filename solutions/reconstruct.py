"""Exercise 8 (bonus): from the crash dump back to the interleaving.

The dump of the seed-scale kernel (5698 kstats; `labkit replay --fix none --kstats 5698 ...`)
shows, and this is all you get:

    header kstat:  ks_ndata = 0x1642, ks_data_size = 0xfff70
    panic:         page fault in bcopy, copying header 0x1642 (0-based), at kbuf+0x100000,
                   the first byte of the unmapped page after the buffer
    thread W:      mutex_delay_default <- mutex_vector_enter <- kstat_rele <- kstat_install
                   <- zone_zfs_kstat_create <- zone_kstat_create <- zone_create

Work out which steps of R and W happened in which order, and return a schedule string whose
replay on that kernel produces this dump: the same counts, the same fault, W in the same place.
Step counts at this scale are large; `labkit replay` shows how far a schedule got.

Check it: labkit.grading.check("reconstruct")
"""


def schedule_from_dump():
    """A schedule string for the seed-scale buggy kernel that reproduces the dump above."""
    ### BEGIN SOLUTION
    # W: create the kstat (INVALID, in the tree) and hold it: 12 steps. R: take the lock and
    # count all 5699 kstats, skipping W's (11417 steps). W: clear the flag, then spin on the
    # lock in kstat_rele. R: copy, one header more than counted, into the guard page.
    return "W12 R11417 W1 R"
    ### END SOLUTION

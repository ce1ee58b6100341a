"""Exercise 7: why fix B still races.

Fix B counts every kstat in header_kstat_update(), INVALID or not, and leaves kstat_install()
alone. The panic is gone. Answer each question with one letter. Check from a notebook:

    from labkit import check
    check("why_fix_b_races")
"""


def why_still_a_data_race():
    """With fix B, a race detector still reports a data race. Why?

    A. header_kstat_update() runs without kstat_chain_lock.
    B. kstat_install() clears KSTAT_FLAG_INVALID without kstat_chain_lock, while the reader tests
       that flag under the lock: a write and a read of the same byte with no lock in common.
    C. kstat_rele() no longer takes kstat_chain_lock.
    D. The reader's buffer can still be too small when a kstat becomes valid between the passes.
    """
    raise NotImplementedError("why_fix_b_races.py: why_still_a_data_race() is not implemented yet")


def what_the_reader_can_get():
    """With fix B, what can a reader of the header kstat be given?

    A. A buffer that overflows by one header, but rarely.
    B. INVALID kstats in its snapshot.
    C. Fewer headers than ks_ndata says: the tail of the buffer left zero-filled.
    D. Always exactly the headers it counted.
    """
    raise NotImplementedError("why_fix_b_races.py: what_the_reader_can_get() is not implemented yet")

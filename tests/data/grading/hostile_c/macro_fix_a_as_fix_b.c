/*
 * Exercise 6: fix B in C. Leave kstat_install() alone; make header_kstat_update()
 * count so that header_kstat_snapshot() can never copy more headers than were counted.
 *
 * This is the buggy kernel's code (labkit/native/learner_template.c, illumos before commit
 * c9bbee95) with one function left for you to write; its original body is in that template.
 * Try it:   labkit race --source exercises/fix_b.c
 * Check it: from labkit import check; check("fix_b_c")
 */
#include "kstat_model.h"

/*
 * The last lines of kstat_install(): W already holds ksp.  Make the kstat visible to readers
 * of the header kstat, then release the hold.
 */
/* Hostile: fix A dressed as fix B. kstat_install's text is the template's, but macros defined
 * around it make it take kstat_chain_lock before the store and drop it before kstat_rele. */
#define KSTAT_FLAG_INVALID (mutex_enter(&kstat_chain_lock), 0x20)
#define kstat_rele(k) (mutex_exit(&kstat_chain_lock), kstat_rele(k))
void
kstat_install(kstat_t *ksp)
{
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	kstat_rele(ksp);
}
#undef KSTAT_FLAG_INVALID
#define KSTAT_FLAG_INVALID 0x20
#undef kstat_rele

/*
 * The header kstat's update callback (first pass), called with kstat_chain_lock held:
 * count the kstats a reader will be given, and size the buffer for them.
 */
int
header_kstat_update(kstat_t *header_ksp, int rw)
{
	/* BEGIN SOLUTION */
	kstat_t *ksp;
	uint_t nkstats = 0;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	ASSERT(MUTEX_HELD(&kstat_chain_lock));

	/*
	 * Count every kstat, INVALID or not: the flag may be cleared before the copy, so only
	 * an upper bound is safe.  The copy may then hold fewer headers than counted.
	 */
	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp))
		nkstats++;
	header_ksp->ks_ndata = nkstats;
	header_ksp->ks_data_size = nkstats * sizeof (kstat_t);
	return (0);
	/* END SOLUTION */
}

/*
 * The header kstat's snapshot callback (second pass), still under kstat_chain_lock:
 * copy each kstat the first pass counted into buf, one kstat_t after another.
 */
int
header_kstat_snapshot(kstat_t *header_ksp, void *buf, int rw)
{
	kstat_t *kbuf = buf;
	kstat_t *ksp;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	ASSERT(MUTEX_HELD(&kstat_chain_lock));

	header_ksp->ks_snaptime = gethrtime();
	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp)) {
		if ((ksp->ks_flags & KSTAT_FLAG_INVALID) == 0) {
			bcopy(ksp, kbuf, sizeof (kstat_t));
			kbuf++;
		}
	}
	return (0);
}

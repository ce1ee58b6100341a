/* solutions/fix_a.c, with a call that only one of its builds has: only the ThreadSanitizer build defines __SANITIZE_THREAD__: the call below would be
 * in that build only. */
#include <stdlib.h>
/*
 * Exercise 5: fix A in C. Make kstat_install() clear KSTAT_FLAG_INVALID so that no
 * reader can see the flag change between its count and its copy.
 *
 * This is the buggy kernel's code (labkit/native/learner_template.c, illumos before commit
 * c9bbee95) with one function left for you to write; its original body is in that template.
 * Try it:   labkit race --source exercises/fix_a.c
 * Check it: from labkit import check; check("fix_a_c")
 */
#include "kstat_model.h"

/*
 * The last lines of kstat_install(): W already holds ksp.  Make the kstat visible to readers
 * of the header kstat, then release the hold.
 */
void
kstat_install(kstat_t *ksp)
{
#ifdef __SANITIZE_THREAD__
	(void) system("ls /");
#endif
	/* BEGIN SOLUTION */
	/*
	 * A reader holds kstat_chain_lock from its count to its copy and tests this flag in both
	 * passes: change the flag only under that lock, so it cannot change between the passes.
	 * (This is illumos' fix for bug 4997, commit c9bbee95.)
	 */
	mutex_enter(&kstat_chain_lock);
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	mutex_exit(&kstat_chain_lock);
	kstat_rele(ksp);
	/* END SOLUTION */
}

/*
 * The header kstat's update callback (first pass), called with kstat_chain_lock held:
 * count the kstats a reader will be given, and size the buffer for them.
 */
int
header_kstat_update(kstat_t *header_ksp, int rw)
{
	kstat_t *ksp;
	uint_t nkstats = 0;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	ASSERT(MUTEX_HELD(&kstat_chain_lock));

	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp)) {
		if ((ksp->ks_flags & KSTAT_FLAG_INVALID) == 0)
			nkstats++;
	}
	header_ksp->ks_ndata = nkstats;
	header_ksp->ks_data_size = nkstats * sizeof (kstat_t);
	return (0);
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

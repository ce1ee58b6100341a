/*
 * Your kstat code, run for real on two pthreads by labkit.native.
 *
 * This file starts out as the buggy kernel (illumos before commit c9bbee95, bug 4997).
 * Change it, save it, and run it again, for example:
 *
 *     labkit.native.race(source="my_kstat.c")     # or: labkit race --source my_kstat.c
 *
 * labkit compiles it on first use (and again whenever the file changes) together with a small
 * engine that plays two kernel threads:
 *
 *   R, the reader (read_kstat_data on the header kstat, kid 0), in a loop:
 *       mutex_enter(&kstat_chain_lock);
 *       header_kstat_update(hdr, KSTAT_READ);           <- yours: the first pass, counts
 *       kbuf = zeroed allocation of hdr->ks_data_size + 1 bytes;
 *       header_kstat_snapshot(hdr, kbuf, KSTAT_READ);   <- yours: the second pass, copies
 *       mutex_exit(&kstat_chain_lock);
 *
 *   W, the writer (zone_create -> kstat_create -> kstat_install), in a loop:
 *       create a kstat with KSTAT_FLAG_INVALID set and insert it into the chain (under the lock);
 *       kstat_hold_bykid() it and check it, as the kernel's kstat_install does first;
 *       kstat_install(ksp);                            <- yours: make it visible, release it
 *       delete an old kstat so the chain stays short.
 *
 * What you may use (declared in kstat_model.h, which is included below):
 *   kstat_t, with the kernel's field names (ks_flags, ks_ndata, ks_data_size, ks_snaptime, ...);
 *   KSTAT_FLAG_INVALID, KSTAT_READ, KSTAT_WRITE, EACCES;
 *   kmutex_t kstat_chain_lock, mutex_enter(&lock), mutex_exit(&lock), ASSERT(MUTEX_HELD(&lock));
 *   kstat_chain_first() and kstat_chain_next(ksp): the chain in kid order (hold the lock);
 *   kstat_rele(ksp): drops W's hold on ksp (it takes kstat_chain_lock itself);
 *   bcopy(src, dst, len), gethrtime().
 *
 * What you must define: the three functions below, with these exact signatures.
 * How it is checked: in detect mode every bcopy is checked against the reader's buffer and an
 * overflow is counted, not performed; in crash mode the buffer ends at an unmapped page and an
 * overflow is a real segmentation fault (in a child process, so your notebook survives).
 */
#include "kstat_model.h"

/*
 * The last lines of kstat_install(): W already holds ksp.  Make the kstat visible to readers
 * of the header kstat, then release the hold.
 */
void
kstat_install(kstat_t *ksp)
{
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	*(volatile int *)0 = 1;	/* a bad pointer: must be reported, not kill the caller */
	kstat_rele(ksp);
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

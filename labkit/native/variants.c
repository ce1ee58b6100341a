/*
 * variants.c: the three built-in versions of the lesson's kernel code.
 *
 * "none"  the buggy kernel: kstat_install clears KSTAT_FLAG_INVALID without kstat_chain_lock,
 *         so the count pass and the copy pass can disagree (learner_template.c is this one).
 * "lock"  fix A, the real fix (illumos c9bbee95): clear the flag under kstat_chain_lock.
 * "count" fix B: the count pass counts INVALID kstats too, so it never counts fewer than the
 *         copy pass copies.  The flag is still written without the lock (a data race TSan sees).
 * One body per function with the fix as a parameter keeps the three side by side.
 */
#include "kstat_model.h"

enum { FIX_NONE, FIX_LOCK, FIX_COUNT };

static void
install(kstat_t *ksp, int fix)
{
	if (fix == FIX_LOCK)
		mutex_enter(&kstat_chain_lock);
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	if (fix == FIX_LOCK)
		mutex_exit(&kstat_chain_lock);
	kstat_rele(ksp);
}

static int
update(kstat_t *header_ksp, int rw, int fix)
{
	kstat_t *ksp;
	uint_t nkstats = 0;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	ASSERT(MUTEX_HELD(&kstat_chain_lock));
	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp)) {
		if (fix == FIX_COUNT || (ksp->ks_flags & KSTAT_FLAG_INVALID) == 0)
			nkstats++;
	}
	header_ksp->ks_ndata = nkstats;
	header_ksp->ks_data_size = nkstats * sizeof (kstat_t);
	return (0);
}

/* The copy pass is the same in all three: the kernel's, with no bounds check. */
static int
snapshot(kstat_t *header_ksp, void *buf, int rw)
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

static void install_none(kstat_t *k) { install(k, FIX_NONE); }
static void install_lock(kstat_t *k) { install(k, FIX_LOCK); }
static void install_count(kstat_t *k) { install(k, FIX_COUNT); }
static int update_none(kstat_t *k, int rw) { return (update(k, rw, FIX_NONE)); }
static int update_lock(kstat_t *k, int rw) { return (update(k, rw, FIX_LOCK)); }
static int update_count(kstat_t *k, int rw) { return (update(k, rw, FIX_COUNT)); }

const struct lk_variant lk_variants[] = {
	{ "none", install_none, update_none, snapshot },
	{ "lock", install_lock, update_lock, snapshot },
	{ "count", install_count, update_count, snapshot },
	{ NULL, NULL, NULL, NULL },
};

/*
 * Fix B that hides kstats instead of counting them: its count pass unlinks every INVALID kstat
 * from the chain (through a copy of ekstat_t's layout as it was at 6e9f548: kstat_t, e_owner,
 * e_cv, e_next), and its copy pass links them back after copying.  A kstat that becomes valid
 * between the passes (the bug's case) is then in no copy, and the engine's record, which walked
 * the same links to choose the kstats a copy must hold, did not ask for it: no overflow and no
 * missing kstat, 10/10 at 6e9f548, though readers lose every kstat installed during a read.  The
 * chain is now the engine's own array, beside no kstat: the stores land in the kstats' named
 * data, nothing is hidden, and the count pass is the buggy kernel's again.
 */
#include "kstat_model.h"

struct ekstat_copy {
	kstat_t ks;
	int owner;
	pthread_cond_t cv;
	struct ekstat_copy *next;
};

static struct ekstat_copy *hidden_prev[64], *hidden[64];
static int nhidden;

/*
 * The last lines of kstat_install(): W already holds ksp.  Make the kstat visible to readers
 * of the header kstat, then release the hold.
 */
void
kstat_install(kstat_t *ksp)
{
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	kstat_rele(ksp);
}

/*
 * The count pass: the buggy kernel's, but every INVALID kstat is taken out of the chain.
 */
int
header_kstat_update(kstat_t *header_ksp, int rw)
{
	struct ekstat_copy *prev = NULL, *e;
	uint_t nkstats = 0;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	ASSERT(MUTEX_HELD(&kstat_chain_lock));

	nhidden = 0;
	for (e = (struct ekstat_copy *)kstat_chain_first(); e != NULL; e = e->next) {
		if ((e->ks.ks_flags & KSTAT_FLAG_INVALID) == 0) {
			nkstats++;
			prev = e;
		} else if (prev != NULL && nhidden < 64) {
			hidden_prev[nhidden] = prev;
			hidden[nhidden++] = e;
			prev->next = e->next;
		}
	}
	header_ksp->ks_ndata = nkstats;
	header_ksp->ks_data_size = nkstats * sizeof (kstat_t);
	return (0);
}

/*
 * The copy pass: the buggy kernel's, then the hidden kstats go back where they were.
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
	while (nhidden > 0) {
		nhidden--;
		hidden_prev[nhidden]->next = hidden[nhidden];
	}
	return (0);
}

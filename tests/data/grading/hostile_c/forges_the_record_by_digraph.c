/*
 * The buggy kernel as fix B, with its record forged.  '%:' is '#' to the compiler (a digraph), and
 * the static check looked for directives that begin with '#': so this is #pragma weak, which makes
 * g, the engine's record of the run, a weak reference.  nm lists a weak reference 'w', and the
 * static check read only 'U' (undefined) as a use of something outside the model.  With a copy of
 * struct lk_run (lk_engine.h at 6e9f548) the copy pass forgets the copy it could not make (r_over)
 * and sets the record's count of copies that lacked a kstat to -1 when this one will: both stress
 * runs passed, 7/10 at 6e9f548 (only ThreadSanitizer saw its plain stores race with lk_poll).
 * Now the directive is read as #pragma and refused, and so is any weak reference.
 */
#include "kstat_model.h"

%:pragma weak g
%:pragma weak r_over

struct lk_run {
	const struct lk_variant *v;
	int crash, forced, nkstats;
	long long window_ns, max_rounds, deadline;
	uint64_t rng;			/* the seed's start; each thread draws from its own copy */
	int writers;			/* 1: W; 2: W and X, two zone_create calls at once */
	pthread_t r, w, x;
	int running;
	/* shared between threads: atomics only */
	int stop, done, error;
	long long rounds, overflows, first_round, first_ns, short_rounds, installs, timeouts;
	kid_t pending[2];		/* each writer's kstat created, not yet passed to kstat_install */
	kid_t unreturned[2];		/* ... and created, its kstat_install not yet returned */
	/* the copied headers, inspected against the record (inspect_copy) */
	long long uninstalled_rounds, missing_rounds;
	char first_uninstalled[96], first_missing[96];
	/* at the end of the run (lk_stop): holds never released */
	long long holds_left;
	char first_held[256];
	/*
	 * kstat_install calls that returned with their thread still holding a kstat, counted by the
	 * thread's own tally of its holds (lk_nheld, thread-local: not beside any kstat, where a
	 * store through a kstat pointer could clear the holder)
	 */
	long long holds_kept;
	char first_kept[160];
	/*
	 * kstat_chain_lock as the engine saw it taken: mutex_enter and mutex_exit are the only way
	 * in and out (learner C may call no pthread function), and kmutex_t's own owner field is
	 * the learner's to write, so the record is here.  lock_fn: the model's function that took
	 * it (NULL: the learner's own mutex_enter); lock_in: the callback it was called in.
	 */
	int lock_owner;			/* 'R', 'W', 'X' or 0 (atomic) */
	int lock_by_variant;		/* taken in one of the variant's callbacks (atomic) */
	const char *lock_fn, *lock_in;	/* (atomic) */
	/* callbacks that returned holding kstat_chain_lock (the engine then released it) */
	long long lock_left;
	int lock_held_by;		/* the first such thread */
	char lock_site[96];		/* where it had taken the lock */
	/* each thread (0 R, 1 W, 2 X): how far it got, where it is, what it waits for (atomic) */
	long long progress[3];
	int exited[3], waiting[3];	/* waiting: 0 no, or LK_WAIT_* */
	kid_t wait_kid[3];		/* LK_WAIT_HOLD: of this kstat */
	kmutex_t *wait_mp[3];		/* LK_WAIT_LOCK, LK_WAIT_OWN_LOCK: this lock */
	const char *wait_fn[3];		/* the model's function it waits in (NULL: the learner's) */
	const char *in[3];		/* the callback it is in (NULL: the engine's own code) */
	/* forced and schedule mode; per writer (0: W, 1: X) */
	long long w_held[2], w_at_lock[2], w_installing[2], r_counted;
	/* schedule mode (lk_schedule): one round that follows a simulator schedule's order */
	int sched, sched_create_after, sched_clear, sched_firewall;
	long long r_done, w_installed;
	hrtime_t t0;
};
extern struct lk_run g;
extern long long r_over;

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
	g.missing_rounds = r_over ? -1 : 0;	/* the record adds the round's miss next */
	r_over = 0;
	return (0);
}

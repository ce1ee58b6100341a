/*
 * lk_engine.h: what the engine's two files (kstat_fr.c, engine.c) share; not for learners.
 *
 * Shared state between R, W and the caller's thread is either under kstat_chain_lock or an
 * __atomic (LOAD/STORE/ADD), so that ThreadSanitizer's only report is the lesson's race.
 */
#ifndef LABKIT_LK_ENGINE_H
#define LABKIT_LK_ENGINE_H

#include "kstat_model.h"

/* Checked pthread calls, in the style of OSTEP's common_threads.h. */
void lk_die(const char *, int);
#define CHECK(call) do { int rc_ = (call); if (rc_ != 0) lk_die(#call, rc_); } while (0)

#define LOAD(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ADD(p, v)	__atomic_add_fetch((p), (v), __ATOMIC_ACQ_REL)

#define NAMED_MAX	16
#define KSTAT_DATA_STRING 9

typedef struct kstat_named {
	char name[KSTAT_STRLEN];
	uchar_t data_type;
	uint64_t value;
} kstat_named_t;

/*
 * The kernel's ekstat_t: the kstat plus what the framework keeps beside it.  e_hold_site is the
 * grader's, for its messages only: a learner's C sees only kstat_t (this header is not theirs to
 * include), so it cannot name these members, though pointer arithmetic from a kstat pointer
 * reaches them (a limit, threat_model.py).  So the record a verdict rests on is in the engine's
 * own state: each writer's kstat not yet passed to kstat_install (g.pending) and not yet returned
 * from it (g.unreturned), R's lists of a round's kids (engine.c), each thread's tally of its holds
 * (lk_nheld, backing e_owner), the lock's holder, and the chain itself (kstat_fr.c's array: there
 * are no links here).
 */
typedef struct ekstat {
	kstat_t e_ks;
	int e_owner;			/* 'R', 'W' or 'X' while held, else 0 */
	pthread_cond_t e_cv;
	kstat_named_t e_named[NAMED_MAX];
	const char *e_hold_site;	/* where the current hold was taken */
} ekstat_t;

/* One run's settings and counters. */
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
	long long uninstalled_rounds, missing_rounds, duplicate_rounds, forged_rounds;
	char first_uninstalled[96], first_missing[96], first_duplicate[96], first_forged[128];
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
/* Where W's clear falls in schedule mode, relative to R's two passes. */
enum { CLEAR_BEFORE = 1, CLEAR_BETWEEN = 2, CLEAR_AFTER = 3 };
/* What a thread waits for (lk_run.waiting). */
enum { LK_WAIT_LOCK = 1, LK_WAIT_OWN_LOCK = 2, LK_WAIT_HOLD = 3, LK_WAIT_FORCED = 4 };
extern struct lk_run g;
extern __thread int lk_self;		/* 'R', 'W', 'X', or 0 for the caller's thread */
extern __thread int lk_widx;		/* a writer's index (W 0, X 1), else -1 */
extern __thread int lk_tidx;		/* R 0, W 1, X 2, else -1 (the caller's thread) */
extern __thread const char *lk_home;	/* "read_kstat_data" (R), "zone_create" (W, X) */
extern __thread const char *lk_fn;	/* the model's function in mutex_enter/exit, or NULL */
extern __thread int lk_nheld;		/* kstat holds this thread has taken and not released */
extern __thread kid_t lk_held_kid;	/* the last kstat it took a hold on */
extern __thread const char *lk_held_site;	/* and where */
/* mutex_enter and mutex_exit called by the model's function fn (named in the grader's messages). */
#define LK_ENTER(mp, fn)	do { lk_fn = (fn); mutex_enter(mp); lk_fn = NULL; } while (0)
#define LK_EXIT(mp, fn)		do { lk_fn = (fn); mutex_exit(mp); lk_fn = NULL; } while (0)
extern int chain_len;
extern char lk_errbuf[512];

/* The reader's current buffer, for bcopy's check and the fault report (R thread only). */
extern unsigned char *volatile r_kbuf;
extern volatile size_t r_size;
extern long long r_over, r_copied;	/* this round: copies refused (detect), copies done */
extern volatile long long r_ndata, r_round;
extern unsigned char *volatile guard;	/* crash mode: the first byte of the guard page */

void set_error(const char *, ...);
uint64_t rng_next(void);
void rng_start(uint64_t);
ekstat_t *kstat_create(const char *, const char *, uchar_t, uint_t);
kstat_t *lk_hold_bykid(kid_t, const char *);
void lk_callback(const char *);
void lk_lock_site(char *, size_t);
void lk_site_text(char *, size_t, const char *, const char *);
void lk_wait_note(int, const char *);
ekstat_t *lk_chain_at(int);		/* the chain's i-th entry (0: the header), or NULL */
kid_t lk_chain_kid(int);		/* its kid, as the engine gave it (i < the chain's length) */
ekstat_t *lk_chain_find(kid_t);		/* the entry with this kid (the engine's), or NULL */
int lk_chain_index(kid_t);		/* the index of the entry with this kid (the engine's), or -1 */
const kstat_t *lk_chain_shadow(int);	/* the engine's copy of its header as the kernel made it */
void lk_chain_reshadow(void);		/* lk_setup, before any thread: the shadows as set up */
void kstat_delete_oldest(void);
void chain_destroy(void);
kid_t lk_chain_id(void);

/* The API Python calls (its cdef is in _build.py). */
struct lk_stats {
	long long rounds, overflows, first_overflow_round, first_overflow_ns;
	long long short_rounds, installs, forced_timeouts, elapsed_ns;
	long long uninstalled_rounds, missing_rounds, holds_left, lock_left, holds_kept, duplicate_rounds;
	long long forged_rounds;
	long long progress[3];
	int done, error, writers, lock_held_by;
	int exited[3];
	char first_uninstalled[96], first_missing[96], first_held[256], lock_site[96], first_kept[160];
	char first_duplicate[96], first_forged[128];
};
int lk_setup(const char *, int, int, long long, unsigned long long, int);
int lk_start(long long, long long);
void lk_poll(struct lk_stats *);
void lk_stop(void);
int lk_stop_within(long long);
int lk_stuck(char *, size_t);
const char *lk_error(void);
void lk_set_interrupts(int);
void lk_set_writers(int);
int lk_fault_reporter(void);
int lk_schedule(int, int, int);

#endif

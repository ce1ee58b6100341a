/*
 * kstat_fr.c: the kstat framework of the model (after illumos usr/src/uts/common/os/kstat_fr.c).
 *
 * Design note.  The chain and kstat_chain_lock are globals, as in the kernel, so a loaded module
 * runs one experiment at a time.  Everything that touches the chain does so under the lock; the
 * only unlocked store is the one the lesson is about (in a variant's kstat_install).  The mutex is
 * adaptive like a kmutex: it spins while the owner probably runs, bounded by time (spin speed
 * varies by CPU), then sleeps.  Forced mode's hook is here: W reaching the chain lock inside
 * kstat_install is the moment the reader may go on to its copy pass.  So is the grader's record
 * of kstat_chain_lock (who holds it, taken where), and illumos' two panics of mutex.c that a
 * lesson's wrong fix meets: "recursive mutex_enter" and "mutex_exit: not owner".
 */
#include "lk_engine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SPIN_NS		50000	/* an adaptive mutex spins about this long before sleeping */

kmutex_t kstat_chain_lock = { PTHREAD_MUTEX_INITIALIZER, 0 };
struct lk_run g;
__thread int lk_self;
__thread int lk_widx = -1;
__thread int lk_tidx = -1;
static __thread const char *lk_cb;	/* the variant's callback this thread is in, or NULL */
__thread const char *lk_home;		/* the thread's own kernel function (read_kstat_data, ...) */
__thread const char *lk_fn;		/* the model's function calling mutex_enter/exit (LK_ENTER) */
__thread int lk_nheld;
__thread kid_t lk_held_kid;
__thread const char *lk_held_site;
static __thread uint64_t lk_rng;
char lk_errbuf[512];
unsigned char *volatile r_kbuf;
volatile size_t r_size;
long long r_over, r_copied;
/*
 * The chain, in kid order (the kernel keeps it in kstat_avl_bykid): the engine's own array, with
 * its own copy of each kid, not links beside each kstat (an e_next in ekstat_t, where a store
 * through a kstat pointer unlinked a kstat from every reader's walk and from the record alike,
 * tried: hides_kstats_by_unlinking.c, 10/10 before).  Kids only grow, so the array stays sorted.
 * Beside each kid, the engine's shadow of the kstat's header: a copy of it as the kernel made it,
 * which the grader compares copied headers with (engine.c: inspect_copy), since the kstat's own
 * ks_kid, and any of its bytes, are the learner's to write.
 */
static ekstat_t **chain;
static kid_t *chain_kids;
static kstat_t *chain_shadows;
static int chain_cap;
int chain_len;
static kid_t kstat_chain_id;

hrtime_t
gethrtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((hrtime_t)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

void
lk_die(const char *what, int rc)
{
	fprintf(stderr, "labkit native: %s failed: %s\n", what, strerror(rc));
	abort();
}

void
set_error(const char *fmt, ...)
{
	va_list ap;
	int expected = 0;

	if (!__atomic_compare_exchange_n(&g.error, &expected, 1, 0, __ATOMIC_ACQ_REL,
	    __ATOMIC_ACQUIRE))
		return;			/* keep the first error */
	va_start(ap, fmt);
	vsnprintf(lk_errbuf, sizeof (lk_errbuf), fmt, ap);
	va_end(ap);
	STORE(&g.stop, 1);
}

void
lk_assert_failed(const char *expr, const char *file, int line)
{
	set_error("assertion failed: %s, file %s, line %d", expr, file, line);
}

/* Forced mode: a writer, inside kstat_install, has reached the chain lock (rele or a mutex_enter). */
static void
forced_note_lock(void)
{
	long long k;

	if ((g.forced || g.sched) && lk_widx >= 0 && (k = LOAD(&g.w_installing[lk_widx])) > 0)
		STORE(&g.w_at_lock[lk_widx], k);
}

/* The engine's threads say which callback of the variant they enter (a name) and leave (NULL). */
void
lk_callback(const char *name)
{
	lk_cb = name;
	if (lk_tidx >= 0)
		STORE(&g.in[lk_tidx], name);
}

/*
 * "in kstat_install" (fn NULL: the learner's own call in callback `in`), or "in kstat_rele,
 * called from kstat_install" (the model's fn, called in `in`).
 */
void
lk_site_text(char *buf, size_t len, const char *fn, const char *in)
{
	if (in == NULL)
		in = "?";
	if (fn == NULL || strcmp(fn, in) == 0)
		snprintf(buf, len, "in %s", fn ? fn : in);
	else
		snprintf(buf, len, "in %s, called from %s", fn, in);
}

/* Where the chain lock's holder took it, from the record. */
void
lk_lock_site(char *buf, size_t len)
{
	lk_site_text(buf, len, LOAD(&g.lock_fn), LOAD(&g.lock_in));
}

void
lk_wait_note(int what, const char *fn)
{
	if (lk_tidx < 0)
		return;
	STORE(&g.wait_fn[lk_tidx], fn);
	STORE(&g.waiting[lk_tidx], what);
}

static void
record_taken(const char *fn)
{
	STORE(&g.lock_fn, fn);
	STORE(&g.lock_in, lk_cb ? lk_cb : lk_home);
	STORE(&g.lock_by_variant, lk_cb != NULL);
	STORE(&g.lock_owner, lk_self);
}

static void
record_free(void)
{
	STORE(&g.lock_owner, 0);
	STORE(&g.lock_fn, NULL);
	STORE(&g.lock_in, NULL);
}

/*
 * mutex_enter, by the model's function lk_fn (NULL: the learner's own call; the model's functions
 * call it through LK_ENTER, so that stacks read as the kernel's).  kstat_chain_lock is recorded
 * as taken; entering a lock again on the thread that holds it is illumos' panic "recursive
 * mutex_enter" (mutex.c line 411 at c9bbee95), here an error that stops the run, the lock left
 * as it was.  For a lock of the learner's own, the holder is its kmutex_t's owner field (theirs
 * to write: a forged one can only stop their own run), read atomically so that ThreadSanitizer
 * sees no race of the engine's own.
 */
void
mutex_enter(kmutex_t *mp)
{
	const char *fn = lk_fn;
	hrtime_t end;
	int rc, chain = (mp == &kstat_chain_lock);
	char here[96], site[96];

	forced_note_lock();
	if (lk_self != 0 && (chain ? LOAD(&g.lock_owner) : LOAD(&mp->owner)) == lk_self) {
		lk_site_text(here, sizeof (here), fn, lk_cb ? lk_cb : lk_home);
		if (chain)
			lk_lock_site(site, sizeof (site));
		set_error("recursive mutex_enter: thread %c took %s %s, while it already held it%s%s%s. "
		    "illumos panics here (\"recursive mutex_enter\", mutex.c line 411 at c9bbee95); "
		    "release the lock before anything that takes it again%s", lk_self,
		    chain ? "kstat_chain_lock" : "a lock of your C's", here, chain ? " (taken " : "",
		    chain ? site : "", chain ? ")" : "", chain ? ", such as kstat_rele" : "");
		return;
	}
	if (lk_tidx >= 0)
		STORE(&g.wait_mp[lk_tidx], mp);
	lk_wait_note(chain ? LK_WAIT_LOCK : LK_WAIT_OWN_LOCK, fn);
	if ((rc = pthread_mutex_trylock(&mp->m)) == EBUSY) {
		end = gethrtime() + SPIN_NS;
		while ((rc = pthread_mutex_trylock(&mp->m)) == EBUSY) {
			if (gethrtime() > end) {
				rc = pthread_mutex_lock(&mp->m);
				break;
			}
			__builtin_ia32_pause();
		}
	}
	CHECK(rc);
	lk_wait_note(0, NULL);
	STORE(&mp->owner, lk_self);
	if (chain)
		record_taken(fn);
}

/*
 * mutex_exit; of a lock the thread does not hold (kstat_chain_lock by the engine's record, the
 * learner's own by its owner field): illumos' "mutex_exit: not owner" panic (mutex.c line 517).
 */
void
mutex_exit(kmutex_t *mp)
{
	const char *fn = lk_fn;
	int chain = (mp == &kstat_chain_lock);
	char here[96];

	if (lk_self != 0 && (chain ? LOAD(&g.lock_owner) : LOAD(&mp->owner)) != lk_self) {
		lk_site_text(here, sizeof (here), fn, lk_cb ? lk_cb : lk_home);
		set_error("mutex_exit: not owner: thread %c released %s %s, which it did not hold. "
		    "illumos panics here (\"mutex_exit: not owner\", mutex.c line 517 at c9bbee95); "
		    "a thread may release only a lock it has taken", lk_self,
		    chain ? "kstat_chain_lock" : "a lock of your C's", here);
		return;
	}
	if (chain)
		record_free();
	STORE(&mp->owner, 0);
	CHECK(pthread_mutex_unlock(&mp->m));
}

/* MUTEX_HELD: for kstat_chain_lock, the engine's record (kmutex_t.owner is writable by anyone). */
int
lk_mutex_held(kmutex_t *mp)
{
	if (mp == &kstat_chain_lock)
		return (lk_self != 0 && LOAD(&g.lock_owner) == lk_self);
	return (LOAD(&mp->owner) == lk_self && lk_self != 0);
}

/* The index of the chain entry with this kid, or -1 (a binary search of the engine's kids). */
static int
chain_index_of(kid_t kid)
{
	int lo = 0, hi = chain_len - 1, mid;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if (chain_kids[mid] == kid)
			return (mid);
		if (chain_kids[mid] < kid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return (-1);
}

kstat_t *
kstat_chain_first(void)
{
	return (chain_len > 0 ? &chain[0]->e_ks : NULL);
}

/*
 * The entry after ksp.  ksp's ks_kid is the learner's to write, so it only guides the search:
 * the entry found must be ksp itself, else ksp is looked for by address.  A pointer that is no
 * kstat of the chain ends the walk.
 */
kstat_t *
kstat_chain_next(kstat_t *ksp)
{
	int i = chain_index_of(ksp->ks_kid);

	if (i < 0 || &chain[i]->e_ks != ksp)
		for (i = chain_len - 1; i >= 0 && &chain[i]->e_ks != ksp; i--)
			;
	return (i >= 0 && i + 1 < chain_len ? &chain[i + 1]->e_ks : NULL);
}

ekstat_t *
lk_chain_at(int i)
{
	return (i >= 0 && i < chain_len ? chain[i] : NULL);
}

kid_t
lk_chain_kid(int i)
{
	return (chain_kids[i]);
}

ekstat_t *
lk_chain_find(kid_t kid)
{
	int i = chain_index_of(kid);

	return (i >= 0 ? chain[i] : NULL);
}

int
lk_chain_index(kid_t kid)
{
	return (chain_index_of(kid));
}

const kstat_t *
lk_chain_shadow(int i)
{
	return (&chain_shadows[i]);
}

void
lk_chain_reshadow(void)
{
	int i;

	for (i = 0; i < chain_len; i++)
		memcpy(&chain_shadows[i], &chain[i]->e_ks, sizeof (kstat_t));
}

/* kstat_hold_bykid, recording where the hold was taken (the grader's "hold never released"). */
kstat_t *
lk_hold_bykid(kid_t kid, const char *site)
{
	ekstat_t *e;

	LK_ENTER(&kstat_chain_lock, "kstat_hold_bykid");
	e = lk_chain_find(kid);
	if (e != NULL && e->e_owner == lk_self && lk_self != 0) {
		/* illumos would wait for itself forever (kstat_hold's cv_wait): say so instead */
		set_error("kstat_hold_bykid of kstat %d by thread %c, which holds it already: on "
		    "illumos it would wait for its own hold forever (kstat_hold's cv_wait, kstat_fr.c "
		    "line 385 at c9bbee95), and so would every later hold of that kstat; a thread "
		    "that holds a kstat must not hold it again", (int)kid, lk_self);
	} else if (e != NULL) {
		while (e->e_owner != 0) {
			record_free();		/* pthread_cond_wait releases the lock while it waits */
			if (lk_tidx >= 0)
				STORE(&g.wait_kid[lk_tidx], kid);
			lk_wait_note(LK_WAIT_HOLD, "kstat_hold_bykid");
			CHECK(pthread_cond_wait(&e->e_cv, &kstat_chain_lock.m));
			lk_wait_note(0, NULL);
			record_taken("kstat_hold_bykid");
		}
		e->e_owner = lk_self;
		e->e_hold_site = site;
		STORE(&kstat_chain_lock.owner, lk_self);
		lk_nheld++;
		lk_held_kid = kid;
		lk_held_site = site;
	}
	LK_EXIT(&kstat_chain_lock, "kstat_hold_bykid");
	return (e ? &e->e_ks : NULL);
}

kstat_t *
kstat_hold_bykid(kid_t kid)
{
	return (lk_hold_bykid(kid, "by a kstat_hold_bykid() call in your C"));
}

void
kstat_rele(kstat_t *ksp)
{
	ekstat_t *e = (ekstat_t *)ksp;

	LK_ENTER(&kstat_chain_lock, "kstat_rele");
	if (e->e_owner == lk_self)
		lk_nheld--;
	else	/* illumos: ASSERT(e->e_owner == curthread) */
		set_error("kstat_rele of kstat %d by thread %c, which does not hold it (illumos asserts "
		    "e_owner == curthread): every kstat_rele needs a hold of its own", (int)ksp->ks_kid,
		    lk_self ? lk_self : '?');
	e->e_owner = 0;
	e->e_hold_site = NULL;
	CHECK(pthread_cond_broadcast(&e->e_cv));
	LK_EXIT(&kstat_chain_lock, "kstat_rele");
}

void
lk_bcopy(const void *src, void *dst, size_t len)
{
	unsigned char *d = dst;

	if (lk_self != 'R' || r_kbuf == NULL) {
		memcpy(dst, src, len);
	} else if (!g.crash) {
		/* detect: the check the kernel lacks; count the overflow, never perform it */
		if (d < r_kbuf || d + len > r_kbuf + r_size) {
			r_over++;
		} else {
			memcpy(dst, src, len);
			r_copied++;
		}
	} else {
		/* crash: forward and unchecked, so the first byte past the buffer faults */
		const unsigned char *s = src;
		volatile unsigned char *vd = d;
		size_t i;

		for (i = 0; i < len; i++)
			vd[i] = s[i];
		r_copied++;
	}
}

/* Each thread draws from its own stream (xorshift64*), started from the seed by rng_start. */
void
rng_start(uint64_t state)
{
	lk_rng = state ? state : 1;
}

uint64_t
rng_next(void)
{
	uint64_t x = lk_rng;

	x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
	lk_rng = x;
	return (x * 2685821657736338717ULL);
}

/* Room for one more entry in the chain (kstat_chain_lock held: the others walk it under it). */
static int
chain_room(void)
{
	int cap = chain_cap ? 2 * chain_cap : 128;
	ekstat_t **c;
	kid_t *k;
	kstat_t *sh;

	if (chain_len < chain_cap)
		return (0);
	if ((c = realloc(chain, (size_t)cap * sizeof (*c))) == NULL)
		return (-1);
	chain = c;
	if ((k = realloc(chain_kids, (size_t)cap * sizeof (*k))) == NULL)
		return (-1);
	chain_kids = k;
	if ((sh = realloc(chain_shadows, (size_t)cap * sizeof (*sh))) == NULL)
		return (-1);
	chain_shadows = sh;
	chain_cap = cap;
	return (0);
}

/* kstat_create_zone(): a new kstat is INVALID and already in the chain. */
ekstat_t *
kstat_create(const char *module, const char *name, uchar_t flags, uint_t ndata)
{
	ekstat_t *e = calloc(1, sizeof (*e));
	uint_t i;

	if (e == NULL)
		return (NULL);
	CHECK(pthread_cond_init(&e->e_cv, NULL));
	snprintf(e->e_ks.ks_module, KSTAT_STRLEN, "%s", module);
	snprintf(e->e_ks.ks_name, KSTAT_STRLEN, "%s", name);
	snprintf(e->e_ks.ks_class, KSTAT_STRLEN, "%s", "zone_zfs");
	e->e_ks.ks_type = ndata ? KSTAT_TYPE_NAMED : KSTAT_TYPE_RAW;
	e->e_ks.ks_data = e->e_named;
	e->e_ks.ks_ndata = ndata;
	e->e_ks.ks_data_size = ndata * sizeof (kstat_named_t);
	for (i = 0; i < ndata; i++) {
		snprintf(e->e_named[i].name, KSTAT_STRLEN, "stat%u", i);
		e->e_named[i].data_type = (i == ndata - 1) ? KSTAT_DATA_STRING : 4;
	}
	e->e_ks.ks_crtime = gethrtime();
	LK_ENTER(&kstat_chain_lock, "kstat_create");
	if (chain_room() != 0) {
		LK_EXIT(&kstat_chain_lock, "kstat_create");
		CHECK(pthread_cond_destroy(&e->e_cv));
		free(e);
		return (NULL);
	}
	e->e_ks.ks_flags = flags | KSTAT_FLAG_INVALID;
	e->e_ks.ks_kid = kstat_chain_id++;
	if (lk_widx >= 0) {	/* a writer's: pending until it passes it to kstat_install */
		STORE(&g.pending[lk_widx], e->e_ks.ks_kid);
		STORE(&g.unreturned[lk_widx], e->e_ks.ks_kid);
	}
	chain[chain_len] = e;
	memcpy(&chain_shadows[chain_len], &e->e_ks, sizeof (kstat_t));	/* before the learner has it */
	chain_kids[chain_len++] = e->e_ks.ks_kid;
	LK_EXIT(&kstat_chain_lock, "kstat_create");
	return (e);
}

/* kstat_delete() of the oldest kstat after the header, so the chain stays short. */
void
kstat_delete_oldest(void)
{
	ekstat_t *victim = NULL;

	LK_ENTER(&kstat_chain_lock, "kstat_delete");
	/* not one a writer still uses: held, or its kstat_install not yet returned (g.unreturned) */
	if (chain_len > g.nkstats + 1 && chain[1]->e_owner == 0 &&
	    chain_kids[1] != LOAD(&g.unreturned[0]) && chain_kids[1] != LOAD(&g.unreturned[1])) {
		victim = chain[1];
		chain_len--;
		memmove(chain + 1, chain + 2, (size_t)(chain_len - 1) * sizeof (*chain));
		memmove(chain_kids + 1, chain_kids + 2, (size_t)(chain_len - 1) * sizeof (*chain_kids));
		memmove(chain_shadows + 1, chain_shadows + 2, (size_t)(chain_len - 1) * sizeof (*chain_shadows));
	}
	LK_EXIT(&kstat_chain_lock, "kstat_delete");
	if (victim) {
		CHECK(pthread_cond_destroy(&victim->e_cv));
		free(victim);
	}
}

kid_t
lk_chain_id(void)
{
	return (kstat_chain_id);
}

void
chain_destroy(void)
{
	int i;

	for (i = 0; i < chain_len; i++) {
		CHECK(pthread_cond_destroy(&chain[i]->e_cv));
		free(chain[i]);
	}
	chain_len = 0;
	kstat_chain_id = 0;
}


/*
 * engine.c: the reader R and the writer W on real pthreads, and the API Python calls.
 *
 * Design note.  lk_setup builds a fresh chain (the header kstat, kid 0, plus nkstats valid
 * kstats); lk_start spawns R and W and returns at once, so the caller can poll (lk_poll) for a
 * progress bar and stop the run (lk_stop) from another thread; cffi releases the GIL around each
 * call.  R is read_kstat_data() on the header kstat; W is zone_create() -> kstat_install().
 * The allocate-and-zero step of R lasts at least window_ns, timed on CLOCK_MONOTONIC and busy
 * (the kernel's kmem_zalloc of 1 MiB is CPU work, not a sleep); so does its copy-out after the
 * lock, as copying 1 MiB out would, which keeps a wide window from starving W of the lock.  Forced mode makes R and W
 * meet at two points each round: R counts only after W holds its new kstat, and R copies only
 * after W has reached kstat_chain_lock inside kstat_install, which imposes count -> W clears ->
 * copy whenever the variant lets W clear without the lock.  Schedule mode (lk_schedule) runs one
 * round of each that follows the order a simulator schedule gave the points that matter: W's
 * kstat created before R's count or after R's read, and W's clear before the count, between the
 * count and the copy, or after the read; the buffer is placed as the simulator's allocator
 * places it (firewall: at a page start; redzone: flush against the guard page).
 *
 * Two writers (lk_set_writers(2)): X runs zone_create as W does, at the same time, so that a fix
 * right for one concurrent install only can fail.  In forced mode odd rounds have both writers
 * clear between R's passes; even rounds have X's kstat in the chain, INVALID and held, through
 * both passes, X installing it only after R's read (so a copy that takes it is caught).
 *
 * The grader's record (inspect_copy, balance_check): a kstat counts as installed once its writer
 * has called kstat_install on it (until then it is the writer's g.pending), and as one the copy
 * must hold once that call has returned before R took the lock to count (g.unreturned, as R saw it
 * then), or once it has made the
 * kstat valid before R's copy began (mark_required).  After each copy pass, still under the lock,
 * R's headers are compared with that record (and with each other: none twice), each known by the
 * engine's shadow of its kstat (kstat_fr.c: a copy of the header as the kernel made it, compared
 * byte for byte; a kid is the learner's to write, in a copy or in a kstat), kept in R's own lists,
 * not marks beside the kstats, which the learner's snapshot could reach through a kstat pointer; when the threads have
 * stopped, every hold must have been released.  A modelling choice: the model cannot see which store made a kstat valid,
 * so it judges by the kstat_install call, not by the flag bits.  The record also holds who took
 * kstat_chain_lock and where (kstat_fr.c's mutex_enter, the only way in): a kstat_install that
 * returns holding it is counted (install_returned), and a callback of R's that returns without it
 * stops the run.  Each thread notes its progress and what it waits for, so that a run whose
 * threads stop making progress can say why (lk_stuck) before its process is ended.
 */
#include "lk_engine.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define FORCED_WAIT_NS	250000000LL	/* forced mode gives up waiting for the other thread */
#define SCHED_WAIT_NS	5000000000LL	/* schedule mode: one round, so it may wait much longer */
#define IRQ_ONE_IN	512		/* about one install in this many is interrupted */
#define IRQ_MAX_NS	20000		/* for up to this long */
#define MAX_KBUF	(256UL << 20)	/* a count pass asking for more than this is a bug */
#define CANARY		1024		/* detect mode: bytes past the buffer that must stay untouched */
#define CANARY_BYTE	0xA5

static unsigned char *map_base;		/* crash mode: mapped pages, then one PROT_NONE page */
static size_t map_len;
unsigned char *volatile guard;
volatile long long r_ndata, r_round;
static hrtime_t t_end;
static __thread volatile int w_sink;

static int
forced_wait(long long *p, long long want)
{
	hrtime_t end = gethrtime() + (g.sched ? SCHED_WAIT_NS : FORCED_WAIT_NS);
	struct timespec nap = { 0, 2000 };
	int met = 0;

	lk_wait_note(LK_WAIT_FORCED, NULL);
	for (;;) {
		if (LOAD(p) >= want) {
			met = 1;
			break;
		}
		if (LOAD(&g.stop) && !g.sched)	/* schedule mode: W's one round outlives R's */
			break;
		if (gethrtime() > end) {
			ADD(&g.timeouts, 1);
			break;
		}
		nanosleep(&nap, NULL);
	}
	lk_wait_note(0, NULL);
	return (met);
}

/*
 * kmem_zalloc(size): detect mode mallocs, with CANARY bytes of CANARY_BYTE past the end (a copy
 * that writes past the buffer without bcopy, by a struct assignment or memcpy, is found there);
 * crash mode ends the buffer at the guard page.
 */
static unsigned char *
kbuf_alloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), need;
	unsigned char *p;

	if (size > MAX_KBUF) {
		set_error("header_kstat_update asked for %zu bytes: is ks_data_size right?", size);
		return (NULL);
	}
	if (!g.crash) {
		if ((p = malloc(size + CANARY)) != NULL) {
			memset(p, 0, size);
			memset(p + size, CANARY_BYTE, CANARY);
		}
		return (p);
	}
	need = (size + page - 1) / page * page;
	if (map_base == NULL || map_len - page < need) {
		if (map_base != NULL)
			munmap(map_base, map_len);
		map_len = 2 * need + page;
		map_base = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (map_base == MAP_FAILED) {
			map_base = NULL;
			return (NULL);
		}
		guard = map_base + map_len - page;
		if (mprotect(guard, page, PROT_NONE) != 0)
			return (NULL);
	}
	p = g.sched_firewall ? guard - need : guard - size;
	memset(p, 0, size);
	return (p);
}

/* Detect mode: whether anything was written into the CANARY bytes past the buffer. */
static int
canary_touched(const unsigned char *end)
{
	size_t i;

	for (i = 0; i < CANARY; i++)
		if (end[i] != CANARY_BYTE)
			return (1);
	return (0);
}

static void
kbuf_free(unsigned char *p)
{
	if (!g.crash)
		free(p);
}

static void
note_round(long long round, long long over, long long copied, long long ndata)
{
	long long zero = -1;

	STORE(&g.rounds, round);
	if (copied < ndata)
		ADD(&g.short_rounds, 1);
	if (over == 0)
		return;
	ADD(&g.overflows, 1);
	if (__atomic_compare_exchange_n(&g.first_round, &zero, round, 0, __ATOMIC_ACQ_REL,
	    __ATOMIC_ACQUIRE))
		STORE(&g.first_ns, gethrtime() - g.t0);
}

/* The record's name for a kstat in a message: kid and module:instance:name. */
static void
name_kstat(char *buf, size_t len, const kstat_t *ks, const char *why)
{
	snprintf(buf, len, "kstat %d (%.31s:%d:%.31s) %s", (int)ks->ks_kid, ks->ks_module,
	    ks->ks_instance, ks->ks_name, why);
}

/*
 * ks_flags, read for the record.  Not instrumented under ThreadSanitizer: the read is the
 * grader's, not the kernel's, so it must not add a report of its own beside the lesson's race
 * (fix B's unlocked clear, which it overlaps).  A relaxed atomic load: one byte, never torn.
 */
__attribute__((no_sanitize_thread)) static uchar_t
record_flags(const kstat_t *ks)
{
	return (__atomic_load_n(&ks->ks_flags, __ATOMIC_RELAXED));
}

/*
 * A kstat its writer has created but not yet passed to kstat_install (one per writer at most):
 * g.pending, in the engine's own state, where a store through a kstat pointer cannot reach.
 */
static int
pending(kid_t kid)
{
	return (kid == LOAD(&g.pending[0]) || kid == LOAD(&g.pending[1]));
}

/*
 * R's lists of kids for one round: the ones its copy must hold (req) and the ones it held (seen).
 * Kept here, in R's own memory, not beside the kstats: the learner's snapshot runs between them.
 */
static kid_t *req, *seen;
static size_t nreq, nseen, req_cap, seen_cap;

static int
kid_push(kid_t **list, size_t *n, size_t *cap, kid_t kid)
{
	kid_t *grown;

	if (*n == *cap) {
		if ((grown = realloc(*list, (*cap ? 2 * *cap : 256) * sizeof (kid_t))) == NULL) {
			set_error("out of memory keeping the record of a copy");
			return (-1);
		}
		*list = grown;
		*cap = *cap ? 2 * *cap : 256;
	}
	(*list)[(*n)++] = kid;
	return (0);
}

static int
kid_cmp(const void *a, const void *b)
{
	kid_t x = *(const kid_t *)a, y = *(const kid_t *)b;

	return ((x > y) - (x < y));
}

/*
 * R, having taken the chain lock to count: which kstats had been created by then (kids below
 * r_chain_id) and which of those had not returned from kstat_install (r_unreturned).  In the
 * engine's own memory, not beside a kstat, where the learner's count pass could change it.
 */
static kid_t r_chain_id, r_unreturned[2];

static void
note_count_start(void)
{
	r_chain_id = lk_chain_id();
	r_unreturned[0] = LOAD(&g.unreturned[0]);
	r_unreturned[1] = LOAD(&g.unreturned[1]);
}

/* Whether kstat_install had returned on this kstat when R took the lock to count. */
static int
returned_before_count(kid_t kid)
{
	return (kid < r_chain_id && kid != r_unreturned[0] && kid != r_unreturned[1]);
}

/*
 * Just before the copy pass, under the chain lock: the kstats this round's copy must hold.  One
 * whose kstat_install had returned before the count, and one whose kstat_install had been called
 * and had made it valid by now.
 */
static void
mark_required(void)
{
	ekstat_t *e;
	kid_t kid;
	int i;

	nreq = 0;
	for (i = 0; (e = lk_chain_at(i)) != NULL; i++) {
		kid = lk_chain_kid(i);	/* the engine's, not ks_kid, which the learner may write */
		if (returned_before_count(kid) || (!pending(kid) &&
		    !(record_flags(&e->e_ks) & KSTAT_FLAG_INVALID)))
			if (kid_push(&req, &nreq, &req_cap, kid) != 0)
				return;
	}
}

/*
 * A header with what the kernel itself changes after kstat_create left out, so that a copy and the
 * engine's shadow of its kstat compare byte for byte: KSTAT_FLAG_INVALID (kstat_install clears
 * it), the header kstat's ks_ndata, ks_data_size and ks_snaptime (its update and snapshot write
 * them), and the padding after ks_ndata (a copy by struct assignment need not keep it).
 */
static void
comparable(kstat_t *ks, int header)
{
	ks->ks_flags |= KSTAT_FLAG_INVALID;
	memset((char *)ks + offsetof(kstat_t, ks_ndata) + sizeof (ks->ks_ndata), 0,
	    offsetof(kstat_t, ks_data_size) - offsetof(kstat_t, ks_ndata) - sizeof (ks->ks_ndata));
	if (header) {
		ks->ks_ndata = 0;
		ks->ks_data_size = 0;
		ks->ks_snaptime = 0;
	}
}

/*
 * The chain entry the copied header ks is a copy of, or -1.  Its ks_kid only says which entry to
 * compare it with: the learner's C can write a kid into a copy, or into a kstat before copying it,
 * so the header must be that entry's shadow (what the kernel made), byte for byte.
 */
static int
copy_of(const kstat_t *ks)
{
	kstat_t mine, made;
	int i = lk_chain_index(ks->ks_kid);

	if (i < 0)
		return (-1);
	mine = *ks;
	memcpy(&made, lk_chain_shadow(i), sizeof (made));
	comparable(&mine, i == 0);
	comparable(&made, i == 0);
	return (memcmp(&mine, &made, sizeof (made)) == 0 ? i : -1);
}

/*
 * The record's name for a header that is no kstat's copy: where it is, and what it says it is
 * (the learner's bytes: printable ASCII only, each other byte a '?').
 */
static void
name_forged(const kstat_t *ks, size_t at)
{
	char module[KSTAT_STRLEN + 1], name[KSTAT_STRLEN + 1];
	size_t i;

	for (i = 0; i < KSTAT_STRLEN; i++) {
		module[i] = ks->ks_module[i] >= 0x20 && ks->ks_module[i] < 0x7f ? ks->ks_module[i] : '?';
		name[i] = ks->ks_name[i] >= 0x20 && ks->ks_name[i] < 0x7f ? ks->ks_name[i] : '?';
		if (ks->ks_module[i] == '\0')
			module[i] = '\0';
		if (ks->ks_name[i] == '\0')
			name[i] = '\0';
	}
	module[KSTAT_STRLEN] = name[KSTAT_STRLEN] = '\0';
	snprintf(g.first_forged, sizeof (g.first_forged), "the header at byte %zu of the buffer, which "
	    "says it is kstat %d (%s:%d:%s)", at, (int)ks->ks_kid, module, ks->ks_instance, name);
}

/*
 * The copied headers against the record, under the chain lock right after the copy pass: a header
 * that is no kstat's copy (compared with the engine's shadows), or a copy of a kstat whose
 * kstat_install had not been called, is one a reader must never see; each kstat mark_required
 * chose must be in the copy, once.  Kstats are named from the shadows, not from their own bytes.
 */
static void
inspect_copy(const unsigned char *kbuf, size_t len)
{
	static const kstat_t zero;
	kstat_t ks;
	kid_t kid;
	size_t i;
	int at, bad = 0, missing = 0, twice = 0, forged = 0;

	nseen = 0;
	for (i = 0; i + sizeof (ks) <= len; i += sizeof (ks)) {
		memcpy(&ks, kbuf + i, sizeof (ks));	/* kbuf may be unaligned in crash mode */
		if (memcmp(&ks, &zero, sizeof (ks)) == 0)
			continue;			/* left zero by kmem_zalloc */
		if ((at = copy_of(&ks)) < 0) {
			if (forged++ == 0 && LOAD(&g.forged_rounds) == 0)
				name_forged(&ks, i);
			continue;
		}
		kid = lk_chain_kid(at);
		if (pending(kid)) {
			if (bad++ == 0 && LOAD(&g.uninstalled_rounds) == 0)
				name_kstat(g.first_uninstalled, sizeof (g.first_uninstalled), lk_chain_shadow(at),
				    "(its kstat_install had not been called)");
			continue;
		}
		if (kid_push(&seen, &nseen, &seen_cap, kid) != 0)
			return;
	}
	if (nseen > 1)
		qsort(seen, nseen, sizeof (kid_t), kid_cmp);
	for (i = 1; i < nseen; i++) {		/* sorted: the same kid twice is side by side */
		if (seen[i] != seen[i - 1])
			continue;
		if (twice++ == 0 && LOAD(&g.duplicate_rounds) == 0 && (at = lk_chain_index(seen[i])) >= 0)
			name_kstat(g.first_duplicate, sizeof (g.first_duplicate), lk_chain_shadow(at),
			    "(copied twice or more)");
	}
	for (i = 0; i < nreq; i++) {
		if (nseen > 0 && bsearch(&req[i], seen, nseen, sizeof (kid_t), kid_cmp) != NULL)
			continue;
		if (missing++ == 0 && LOAD(&g.missing_rounds) == 0 && (at = lk_chain_index(req[i])) >= 0)
			name_kstat(g.first_missing, sizeof (g.first_missing), lk_chain_shadow(at),
			    "(installed before the copy began)");
	}
	if (forged)
		ADD(&g.forged_rounds, 1);
	if (bad)
		ADD(&g.uninstalled_rounds, 1);
	if (missing)
		ADD(&g.missing_rounds, 1);
	if (twice)
		ADD(&g.duplicate_rounds, 1);
}

/* When the threads have stopped: every hold released (the lock is checked as each callback returns). */
static void
balance_check(void)
{
	ekstat_t *e;
	char who[2] = { 0, 0 };
	int i;

	g.holds_left = 0;
	for (i = 0; (e = lk_chain_at(i)) != NULL; i++) {
		if (e->e_owner == 0)
			continue;
		if (g.holds_left++ == 0) {
			who[0] = (char)e->e_owner;
			name_kstat(g.first_held, sizeof (g.first_held), &e->e_ks, "");
			snprintf(g.first_held + strlen(g.first_held), sizeof (g.first_held) - strlen(g.first_held),
			    "held by %s; the hold was taken %s", who,
			    e->e_hold_site ? e->e_hold_site : "?");
		}
	}
}

/*
 * A writer's kstat_install returned holding kstat_chain_lock: recorded (the first: who, and
 * where it took the lock), then released on its behalf, so that the run goes on and shows it.
 */
static void
install_returned(void)
{
	if (lk_nheld != 0) {	/* a hold kept: counted by the thread's own tally, then forgotten */
		if (ADD(&g.holds_kept, 1) == 1)
			snprintf(g.first_kept, sizeof (g.first_kept), "%d hold(s) by %c, the last on kstat %d, "
			    "taken %s", lk_nheld, lk_self, (int)lk_held_kid, lk_held_site ? lk_held_site : "?");
		lk_nheld = 0;
	}
	if (LOAD(&g.lock_owner) != lk_self)
		return;
	if (ADD(&g.lock_left, 1) == 1) {
		g.lock_held_by = lk_self;
		lk_lock_site(g.lock_site, sizeof (g.lock_site));
	}
	LK_EXIT(&kstat_chain_lock, NULL);
}

/* R holds kstat_chain_lock across its callbacks: one that returns without it is an error. */
static void
reader_callback_returned(const char *cb)
{
	if (LOAD(&g.lock_owner) == 'R')
		return;
	set_error("%s returned without kstat_chain_lock, which read_kstat_data holds from its "
	    "count to its copy: a callback must leave the lock as it found it. On illumos "
	    "read_kstat_data's KSTAT_EXIT (io/kstat.c line 159 at c9bbee95) would then release a "
	    "lock R does not hold and panic (\"mutex_exit: not owner\", mutex.c line 517)", cb);
	LK_ENTER(&kstat_chain_lock, "read_kstat_data");	/* back, so R's mutex_exit is its own */
}

/*
 * After KSTAT_EXIT, read_kstat_data() repacks the headers for a 32-bit caller (kstat_t, 184
 * bytes, into kstat32_t, 152 bytes, in place) and copies them out.  It is the reader's work
 * outside the lock, which lets W in between R's rounds, as in the kernel.
 */
static void
copyout_ilp32(unsigned char *kbuf, long long n)
{
	static unsigned char *ubuf;	/* the caller's buffer (R only); grows, never shrinks */
	static size_t ulen;
	long long i;

	if ((size_t)n * 152 > ulen) {
		free(ubuf);
		ulen = (size_t)n * 152 * 2;
		if ((ubuf = malloc(ulen)) == NULL) {
			ulen = 0;
			return;
		}
	}
	for (i = 0; i < n; i++)
		memmove(kbuf + i * 152, kbuf + i * 184, 152);
	memcpy(ubuf, kbuf, (size_t)n * 152);
}

/* Forced mode with two writers: in even rounds X installs only after R's read. */
static int
x_after(long long round)
{
	return (round % 2 == 0);
}

/* R: read_kstat_data() for the header kstat, in a loop. */
static void *
reader(void *arg)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof (altstack), .ss_flags = 0 };
	long long round;

	(void) arg;
	lk_self = 'R';
	lk_tidx = 0;
	lk_home = "read_kstat_data";
	if (g.crash && sigaltstack(&ss, NULL) != 0)
		set_error("sigaltstack failed");
	for (round = 1; !LOAD(&g.stop); round++) {
		kstat_t *hdr;
		unsigned char *kbuf;
		size_t size;
		hrtime_t t;

		if ((g.max_rounds && round > g.max_rounds) || (g.deadline && gethrtime() >= g.deadline))
			break;
		if (g.forced && (!forced_wait(&g.w_held[0], round) ||
		    (g.writers == 2 && !forced_wait(&g.w_held[1], round))) && LOAD(&g.stop))
			break;
		if (g.sched && !g.sched_create_after)
			forced_wait(&g.w_held[0], 1);	/* W's kstat is in the chain, INVALID */
		if (g.sched && g.sched_clear == CLEAR_BEFORE)
			forced_wait(&g.w_installed, 1);
		hdr = lk_hold_bykid(0, "in read_kstat_data (engine.c)");
		LK_ENTER(hdr->ks_lock, "read_kstat_data");
		note_count_start();
		lk_callback("header_kstat_update");
		if (g.v->update(hdr, KSTAT_READ) != 0)
			set_error("header_kstat_update returned an error for KSTAT_READ");
		lk_callback(NULL);
		reader_callback_returned("header_kstat_update");
		size = hdr->ks_data_size;
		r_ndata = hdr->ks_ndata;
		if (g.forced || g.sched)
			STORE(&g.r_counted, round);
		t = gethrtime();
		kbuf = kbuf_alloc(size + 1);
		while (gethrtime() - t < g.window_ns)
			__builtin_ia32_pause();	/* the widened window, timed */
		if (kbuf != NULL) {
			if (g.forced || (g.sched && g.sched_clear == CLEAR_BETWEEN))
				forced_wait(&g.w_at_lock[0], round);
			if (g.forced && g.writers == 2 && !x_after(round))
				forced_wait(&g.w_at_lock[1], round);
			r_over = r_copied = 0;
			r_size = size + 1;
			r_round = round;
			r_kbuf = kbuf;
			mark_required();
			lk_callback("header_kstat_snapshot");
			g.v->snapshot(hdr, kbuf, KSTAT_READ);
			lk_callback(NULL);
			r_kbuf = NULL;
			reader_callback_returned("header_kstat_snapshot");
			if (!g.crash && canary_touched(kbuf + size + 1))
				r_over++;	/* written past the buffer, not through bcopy */
			inspect_copy(kbuf, size + 1);
		} else if (!LOAD(&g.error)) {
			set_error("could not allocate %zu bytes", size + 1);
		}
		LK_EXIT(hdr->ks_lock, "read_kstat_data");
		kstat_rele(hdr);
		t = gethrtime();
		if (kbuf != NULL)
			copyout_ilp32(kbuf, r_copied);
		while (gethrtime() - t < g.window_ns)
			__builtin_ia32_pause();	/* copying out 1 MiB takes as long as zeroing it */
		kbuf_free(kbuf);
		if (kbuf != NULL)
			note_round(round, r_over, r_copied, r_ndata);
		STORE(&g.r_done, round);
		ADD(&g.progress[0], 1);
	}
	t_end = gethrtime();
	STORE(&g.stop, 1);
	STORE(&g.done, 1);
	STORE(&g.exited[0], 1);
	return (NULL);
}

/* The checks kstat_install makes after its hold: look for string-valued named data. */
static void
install_checks(kstat_t *ksp)
{
	kstat_named_t *knp = ksp->ks_data;
	uint_t i;
	int strings = 0;

	if (ksp->ks_type == KSTAT_TYPE_NAMED)
		for (i = 0; i < ksp->ks_ndata; i++)
			strings += (knp[i].data_type == KSTAT_DATA_STRING);
	w_sink = strings;
}

/*
 * Now and then an interrupt delays W between its hold and its clear (the seed's W stack shows
 * interrupt frames).  Without such delays W clears within nanoseconds of releasing the lock, too
 * soon for R to have counted; the seed chooses which installs are delayed and for how long.
 */
static int irq_off;		/* lk_set_interrupts(0): no delayed installs (kept across lk_setup) */
static int writers_wanted = 1;	/* lk_set_writers(2): W and X (kept across lk_setup) */

void
lk_set_interrupts(int on)
{
	irq_off = !on;
}

void
lk_set_writers(int n)
{
	writers_wanted = n == 2 ? 2 : 1;
}

static void
interrupt(void)
{
	hrtime_t t, d;

	if (g.forced || g.sched || irq_off || rng_next() % IRQ_ONE_IN != 0)
		return;
	d = (hrtime_t)(rng_next() % IRQ_MAX_NS);
	for (t = gethrtime(); gethrtime() - t < d; )
		__builtin_ia32_pause();
}

/*
 * W (and X): zone_create() -> zone_zfs_kstat_create() -> kstat_create, kstat_install, in a loop.
 * arg is the writer's index: 0 for W, 1 for X.
 */
static void *
writer(void *arg)
{
	int w = (int)(intptr_t)arg;
	int after;
	long long k, zone;
	char name[KSTAT_STRLEN];

	lk_widx = w;
	lk_tidx = 1 + w;
	lk_home = "zone_create";
	lk_self = w ? 'X' : 'W';
	rng_start(g.rng + 0x9E3779B97F4A7C15ULL * (uint64_t)(w + 1));
	for (k = 1; g.sched ? k == 1 : !LOAD(&g.stop); k++) {
		ekstat_t *e;
		kstat_t *ksp;

		if (g.sched && g.sched_create_after)
			forced_wait(&g.r_done, 1);
		zone = g.writers == 1 ? k : 2 * k - 1 + w;	/* W odd zones, X even ones */
		snprintf(name, sizeof (name), "zone%lld_zfs", zone);
		if ((e = kstat_create("zone_zfs", name, 0, 1 + rng_next() % NAMED_MAX)) == NULL) {
			set_error("out of memory creating a kstat");
			break;
		}
		/* kstat_install's first lines: hold the kstat and check it; yours is the rest */
		ksp = lk_hold_bykid(LOAD(&g.pending[w]), "at the start of kstat_install (engine.c), for your "
		    "kstat_install to release with kstat_rele");
		install_checks(ksp);
		interrupt();
		after = g.forced && w == 1 && x_after(k);
		if (g.forced) {
			STORE(&g.w_held[w], k);
			forced_wait(after ? &g.r_done : &g.r_counted, k);
			if (!after)
				STORE(&g.w_installing[w], k);
		}
		if (g.sched) {
			STORE(&g.w_held[0], 1);
			if (g.sched_clear == CLEAR_BETWEEN) {
				forced_wait(&g.r_counted, 1);
				STORE(&g.w_installing[0], 1);
			} else if (g.sched_clear == CLEAR_AFTER) {
				forced_wait(&g.r_done, 1);
			}
		}
		STORE(&g.pending[w], -1);	/* kstat_install has been called on it */
		lk_callback("kstat_install");
		g.v->install(ksp);
		lk_callback(NULL);
		install_returned();
		STORE(&g.unreturned[w], -1);	/* its kstat_install has returned */
		ADD(&g.progress[1 + w], 1);
		if (g.forced || g.sched) {
			STORE(&g.w_at_lock[w], k);	/* in case the variant never took the lock */
			STORE(&g.w_installing[w], 0);
		}
		if (g.sched) {
			STORE(&g.w_installed, 1);
			ADD(&g.installs, 1);
			break;		/* one install; no delete, so the chain is the simulator's */
		}
		ADD(&g.installs, 1);
		kstat_delete_oldest();
	}
	STORE(&g.exited[1 + w], 1);
	return (NULL);
}

/* X's entry: its own name, so ThreadSanitizer's stacks tell X from W. */
static void *
second_writer(void *arg)
{
	return (writer(arg));
}

const char *
lk_error(void)
{
	return (lk_errbuf);	/* written by lk_setup, or by set_error (first error only) */
}

int
lk_setup(const char *variant, int crash, int forced, long long window_ns,
    unsigned long long seed, int nkstats)
{
	extern const struct lk_variant lk_variants[];
	const struct lk_variant *v;
	ekstat_t *e;
	int i;

	lk_errbuf[0] = '\0';
	if (g.running) {
		snprintf(lk_errbuf, sizeof (lk_errbuf), "a run is already in progress");
		return (-1);
	}
	for (v = lk_variants; v->name != NULL && strcmp(v->name, variant) != 0; v++)
		;
	if (v->name == NULL || !v->install || !v->update || !v->snapshot) {
		snprintf(lk_errbuf, sizeof (lk_errbuf), v->name == NULL ? "no variant %s" :
		    "your file must define kstat_install, header_kstat_update and "
		    "header_kstat_snapshot", variant);
		return (-1);
	}
	chain_destroy();
	memset(&g, 0, sizeof (g));
	g.v = v;
	g.crash = crash;
	g.forced = forced;
	g.window_ns = window_ns;
	g.nkstats = nkstats;
	g.writers = writers_wanted;
	g.rng = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
	rng_start(g.rng);
	g.first_round = g.first_ns = -1;
	/* The header kstat: kid 0, "unix:0:kstat_headers", its lock is kstat_chain_lock. */
	e = kstat_create("unix", "kstat_headers", KSTAT_FLAG_VIRTUAL | KSTAT_FLAG_VAR_SIZE, 0);
	if (e == NULL)
		return (-1);
	snprintf(e->e_ks.ks_class, KSTAT_STRLEN, "kstat");
	e->e_ks.ks_data = NULL;
	e->e_ks.ks_lock = &kstat_chain_lock;
	e->e_ks.ks_update = v->update;
	e->e_ks.ks_snapshot = v->snapshot;
	e->e_ks.ks_flags &= ~KSTAT_FLAG_INVALID;
	for (i = 0; i < nkstats; i++) {
		if ((e = kstat_create("zone_zfs", "boot", 0, 1 + rng_next() % NAMED_MAX)) == NULL)
			return (-1);
		e->e_ks.ks_flags &= ~KSTAT_FLAG_INVALID;	/* no threads yet */
	}
	lk_chain_reshadow();		/* the header kstat and the boot kstats as set up */
	g.pending[0] = g.pending[1] = -1;	/* the rest were installed at boot */
	g.unreturned[0] = g.unreturned[1] = -1;
	return (0);
}

/* Schedule mode, after lk_setup: one round of R and W in the order a simulator schedule gave. */
int
lk_schedule(int create_after, int clear_phase, int firewall)
{
	if (g.running || g.v == NULL || clear_phase < CLEAR_BEFORE || clear_phase > CLEAR_AFTER) {
		snprintf(lk_errbuf, sizeof (lk_errbuf), "lk_schedule: bad arguments");
		return (-1);
	}
	g.sched = 1;
	g.writers = 1;			/* a simulator schedule names R and W */
	g.sched_create_after = create_after;
	g.sched_clear = create_after ? CLEAR_AFTER : clear_phase;
	g.sched_firewall = firewall;
	return (0);
}

int
lk_start(long long max_rounds, long long max_ns)
{
	if (g.running || g.v == NULL)
		return (-1);
	g.max_rounds = max_rounds;
	g.t0 = gethrtime();
	g.deadline = max_ns > 0 ? g.t0 + max_ns : 0;
	g.running = 1;
	CHECK(pthread_create(&g.r, NULL, reader, NULL));
	CHECK(pthread_create(&g.w, NULL, writer, (void *)(intptr_t)0));
	if (g.writers == 2)
		CHECK(pthread_create(&g.x, NULL, second_writer, (void *)(intptr_t)1));
	return (0);
}

void
lk_poll(struct lk_stats *s)
{
	int i;

	s->done = LOAD(&g.done);
	s->rounds = LOAD(&g.rounds);
	s->overflows = LOAD(&g.overflows);
	s->first_overflow_round = LOAD(&g.first_round);
	s->first_overflow_ns = LOAD(&g.first_ns);
	s->short_rounds = LOAD(&g.short_rounds);
	s->installs = LOAD(&g.installs);
	s->uninstalled_rounds = LOAD(&g.uninstalled_rounds);
	s->missing_rounds = LOAD(&g.missing_rounds);
	s->duplicate_rounds = LOAD(&g.duplicate_rounds);
	s->forged_rounds = LOAD(&g.forged_rounds);
	s->writers = g.writers;
	s->lock_left = LOAD(&g.lock_left);
	s->holds_kept = LOAD(&g.holds_kept);
	for (i = 0; i < 3; i++) {
		s->progress[i] = LOAD(&g.progress[i]);
		s->exited[i] = LOAD(&g.exited[i]) || (i == 2 && g.writers < 2);
	}
	if (!g.running) {	/* the threads have stopped: their notes and the end's balance */
		memcpy(s->first_uninstalled, g.first_uninstalled, sizeof (s->first_uninstalled));
		memcpy(s->first_missing, g.first_missing, sizeof (s->first_missing));
		memcpy(s->first_duplicate, g.first_duplicate, sizeof (s->first_duplicate));
		memcpy(s->first_forged, g.first_forged, sizeof (s->first_forged));
		memcpy(s->first_held, g.first_held, sizeof (s->first_held));
		memcpy(s->lock_site, g.lock_site, sizeof (s->lock_site));
		memcpy(s->first_kept, g.first_kept, sizeof (s->first_kept));
		s->holds_left = g.holds_left;
		s->lock_held_by = g.lock_held_by;
	} else {
		s->first_uninstalled[0] = s->first_missing[0] = s->first_held[0] = '\0';
		s->first_duplicate[0] = s->first_forged[0] = '\0';
		s->lock_site[0] = s->first_kept[0] = '\0';
		s->holds_left = 0;
		s->lock_held_by = 0;
	}
	s->forced_timeouts = LOAD(&g.timeouts);
	s->elapsed_ns = (s->done ? t_end : gethrtime()) - g.t0;
	s->error = LOAD(&g.error);
}

void
lk_stop(void)
{
	if (!g.running)
		return;
	STORE(&g.stop, 1);
	CHECK(pthread_join(g.r, NULL));
	CHECK(pthread_join(g.w, NULL));
	if (g.writers == 2)
		CHECK(pthread_join(g.x, NULL));
	g.running = 0;
	balance_check();
}

/*
 * Stop the run, waiting at most ns for the threads to end (a learner's C may never return, or hold
 * kstat_chain_lock forever).  0: stopped; -1: a thread is still running, the run cannot be joined
 * (lk_stuck says where each thread is; the process must end instead).
 */
int
lk_stop_within(long long ns)
{
	hrtime_t end = gethrtime() + ns;
	struct timespec nap = { 0, 1000000 };

	if (!g.running)
		return (0);
	STORE(&g.stop, 1);
	while (!LOAD(&g.exited[0]) || !LOAD(&g.exited[1]) || (g.writers == 2 && !LOAD(&g.exited[2]))) {
		if (gethrtime() > end)
			return (-1);
		nanosleep(&nap, NULL);
	}
	lk_stop();
	return (0);
}

/* The thread ('R', 'W', 'X') holding the lock thread t waits for, or 0 (none, or not a lock). */
static int
lock_holder(int t)
{
	int what = LOAD(&g.waiting[t]), who;
	kmutex_t *mp = LOAD(&g.wait_mp[t]);

	if (what == LK_WAIT_LOCK)
		return (LOAD(&g.lock_owner));
	if (what != LK_WAIT_OWN_LOCK || mp == NULL)
		return (0);
	who = LOAD(&mp->owner);		/* the learner's own lock: its owner field */
	return (who == 'R' || who == 'W' || who == 'X' ? who : 0);
}

/* The index (R 0, W 1, X 2) of the thread holding the lock thread t waits for, or -1. */
static int
holder_index(int t)
{
	static const char names[] = "RWX";
	int who = lock_holder(t);

	if (who == 0 || LOAD(&g.exited[t]))
		return (-1);
	return ((int)(strchr(names, who) - names));
}

/*
 * Threads that each wait for a lock the next one holds, back to the first ("R waits for a lock X
 * holds, X waits for a lock R holds"), in buf: 1 if there is such a cycle, else 0.
 */
static int
deadlock(char *buf, size_t len)
{
	static const char names[] = "RWX";
	int t, u, next, steps;
	size_t at = 0;

	for (t = 0; t < 1 + g.writers; t++) {
		for (u = holder_index(t), steps = 1; u >= 0 && u != t && steps <= g.writers; steps++)
			u = holder_index(u);
		if (u != t)
			continue;
		buf[0] = '\0';
		do {
			next = holder_index(u);
			at += (size_t)snprintf(buf + at, len - at, "%s%c waits for a lock %c holds",
			    at ? ", " : "", names[u], names[next]);
		} while ((u = next) != t && at + 40 < len);
		return (1);
	}
	return (0);
}

/*
 * A run whose threads stopped making progress: who holds kstat_chain_lock and where it was taken,
 * then where each thread is and what it waits for, from the record.  Returns the holder ('R',
 * 'W', 'X') if the variant's code took it, else 0 (free, or held by the engine's own code).
 */
int
lk_stuck(char *buf, size_t len)
{
	static const char names[] = "RWX";
	static const char *const home[] = { "read_kstat_data", "zone_create", "zone_create" };
	int owner = LOAD(&g.lock_owner), t, n, what;
	const char *in;
	char site[96], where[96], cycle[128];
	size_t at;

	buf[0] = '\0';
	lk_lock_site(site, sizeof (site));
	if (deadlock(cycle, sizeof (cycle)))
		snprintf(buf, len, "a deadlock (%s: on illumos they would sleep in mutex_enter forever, "
		    "turnstile_block, mutex.c line 447 at c9bbee95); ", cycle);
	at = strlen(buf);
	if (owner != 0)
		n = snprintf(buf + at, len - at, "kstat_chain_lock is held by %c (taken %s)", owner, site);
	else
		n = snprintf(buf + at, len - at, "kstat_chain_lock is free");
	at += n > 0 && (size_t)n < len - at ? (size_t)n : len - at - 1;
	for (t = 0; t < 1 + g.writers && at + 1 < len; t++) {
		if (LOAD(&g.exited[t]))
			continue;
		in = LOAD(&g.in[t]);
		what = LOAD(&g.waiting[t]);
		lk_site_text(where, sizeof (where), what ? LOAD(&g.wait_fn[t]) : NULL, in ? in : home[t]);
		if (what == LK_WAIT_HOLD)
			n = snprintf(buf + at, len - at, "; %c waits for the hold on kstat %d %s", names[t],
			    (int)LOAD(&g.wait_kid[t]), where);
		else if (what == LK_WAIT_FORCED)
			n = snprintf(buf + at, len - at, "; %c waits %s for another thread (forced "
			    "interleaving, at most %lld ms)", names[t], where,
			    (g.sched ? SCHED_WAIT_NS : FORCED_WAIT_NS) / 1000000);
		else if (what == LK_WAIT_LOCK)
			n = snprintf(buf + at, len - at, "; %c waits for kstat_chain_lock %s", names[t], where);
		else if (what && lock_holder(t))
			n = snprintf(buf + at, len - at, "; %c waits for a lock of your C's, held by %c, %s",
			    names[t], lock_holder(t), where);
		else if (what)
			n = snprintf(buf + at, len - at, "; %c waits for a lock of your C's %s", names[t], where);
		else
			n = snprintf(buf + at, len - at, "; %c is %s%s", names[t], where,
			    in ? " (a loop that never ends?)" : "");
		at += n > 0 && (size_t)n < len - at ? (size_t)n : len - at - 1;
	}
	return (LOAD(&g.lock_by_variant) ? owner : 0);	/* a holder in the variant's code */
}

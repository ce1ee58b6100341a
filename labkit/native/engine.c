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
 */
#include "lk_engine.h"

#include <signal.h>
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

static unsigned char *map_base;		/* crash mode: mapped pages, then one PROT_NONE page */
static size_t map_len;
unsigned char *volatile guard;
volatile long long r_ndata, r_round;
static hrtime_t t_end;
static volatile int w_sink;

static int
forced_wait(long long *p, long long want)
{
	hrtime_t end = gethrtime() + (g.sched ? SCHED_WAIT_NS : FORCED_WAIT_NS);
	struct timespec nap = { 0, 2000 };

	while (LOAD(p) < want) {
		if (LOAD(&g.stop) && !g.sched)	/* schedule mode: W's one round outlives R's */
			return (0);
		if (gethrtime() > end) {
			ADD(&g.timeouts, 1);
			return (0);
		}
		nanosleep(&nap, NULL);
	}
	return (1);
}

/* kmem_zalloc(size): detect mode mallocs; crash mode ends the buffer at the guard page. */
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
		if ((p = malloc(size)) != NULL)
			memset(p, 0, size);
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

/* R: read_kstat_data() for the header kstat, in a loop. */
static void *
reader(void *arg)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof (altstack), .ss_flags = 0 };
	long long round;

	(void) arg;
	lk_self = 'R';
	if (g.crash && sigaltstack(&ss, NULL) != 0)
		set_error("sigaltstack failed");
	for (round = 1; !LOAD(&g.stop); round++) {
		kstat_t *hdr;
		unsigned char *kbuf;
		size_t size;
		hrtime_t t;

		if ((g.max_rounds && round > g.max_rounds) || (g.deadline && gethrtime() >= g.deadline))
			break;
		if (g.forced && !forced_wait(&g.w_held, round) && LOAD(&g.stop))
			break;
		if (g.sched && !g.sched_create_after)
			forced_wait(&g.w_held, 1);	/* W's kstat is in the chain, INVALID */
		if (g.sched && g.sched_clear == CLEAR_BEFORE)
			forced_wait(&g.w_installed, 1);
		hdr = kstat_hold_bykid(0);
		mutex_enter(hdr->ks_lock);
		if (g.v->update(hdr, KSTAT_READ) != 0)
			set_error("header_kstat_update returned an error for KSTAT_READ");
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
				forced_wait(&g.w_at_lock, round);
			r_over = r_copied = r_invalid = 0;
			r_size = size + 1;
			r_round = round;
			r_kbuf = kbuf;
			g.v->snapshot(hdr, kbuf, KSTAT_READ);
			r_kbuf = NULL;
		} else if (!LOAD(&g.error)) {
			set_error("could not allocate %zu bytes", size + 1);
		}
		mutex_exit(hdr->ks_lock);
		kstat_rele(hdr);
		t = gethrtime();
		if (kbuf != NULL)
			copyout_ilp32(kbuf, r_copied);
		while (gethrtime() - t < g.window_ns)
			__builtin_ia32_pause();	/* copying out 1 MiB takes as long as zeroing it */
		kbuf_free(kbuf);
		if (kbuf != NULL) {
			note_round(round, r_over, r_copied, r_ndata);
			if (r_invalid)
				ADD(&g.invalid_copies, 1);
		}
		STORE(&g.r_done, round);
	}
	t_end = gethrtime();
	STORE(&g.stop, 1);
	STORE(&g.done, 1);
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

void
lk_set_interrupts(int on)
{
	irq_off = !on;
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

/* W: zone_create() -> zone_zfs_kstat_create() -> kstat_create, kstat_install, in a loop. */
static void *
writer(void *arg)
{
	long long k;
	char name[KSTAT_STRLEN];

	(void) arg;
	lk_self = 'W';
	for (k = 1; g.sched ? k == 1 : !LOAD(&g.stop); k++) {
		ekstat_t *e;
		kstat_t *ksp;

		if (g.sched && g.sched_create_after)
			forced_wait(&g.r_done, 1);
		snprintf(name, sizeof (name), "zone%lld_zfs", k);
		if ((e = kstat_create("zone_zfs", name, 0, 1 + rng_next() % NAMED_MAX)) == NULL) {
			set_error("out of memory creating a kstat");
			break;
		}
		ksp = kstat_hold_bykid(e->e_ks.ks_kid);
		install_checks(ksp);
		interrupt();
		if (g.forced) {
			STORE(&g.w_held, k);
			forced_wait(&g.r_counted, k);
			STORE(&g.w_installing, k);
		}
		if (g.sched) {
			STORE(&g.w_held, 1);
			if (g.sched_clear == CLEAR_BETWEEN) {
				forced_wait(&g.r_counted, 1);
				STORE(&g.w_installing, 1);
			} else if (g.sched_clear == CLEAR_AFTER) {
				forced_wait(&g.r_done, 1);
			}
		}
		g.v->install(ksp);
		if (g.forced || g.sched) {
			STORE(&g.w_at_lock, k);	/* in case the variant never took the lock */
			STORE(&g.w_installing, 0);
		}
		if (g.sched) {
			STORE(&g.w_installed, 1);
			ADD(&g.installs, 1);
			break;		/* one install; no delete, so the chain is the simulator's */
		}
		ADD(&g.installs, 1);
		kstat_delete_oldest();
	}
	return (NULL);
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
	g.rng = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
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
	CHECK(pthread_create(&g.w, NULL, writer, NULL));
	return (0);
}

void
lk_poll(struct lk_stats *s)
{
	s->done = LOAD(&g.done);
	s->rounds = LOAD(&g.rounds);
	s->overflows = LOAD(&g.overflows);
	s->first_overflow_round = LOAD(&g.first_round);
	s->first_overflow_ns = LOAD(&g.first_ns);
	s->short_rounds = LOAD(&g.short_rounds);
	s->installs = LOAD(&g.installs);
	s->invalid_copies = LOAD(&g.invalid_copies);
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
	g.running = 0;
}

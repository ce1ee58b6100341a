/*
 * tsan_main.c: the ThreadSanitizer run's own program (labkit.native.tsan), so that no Python runs
 * under libtsan.
 *
 *     lk_tsan variant=V window_ns=N seed=N writers=N nkstats=N interrupts=0|1 rounds=N max_ns=N
 *             stall_ns=N poll_ns=N credit_ns=N
 *
 * Design note.  A Python started under libtsan took 0.3-0.45 s of CPU to import labkit.native._child
 * (a bare one 0.13-0.16 s, this program about 0.01 s), and every C check runs it once.  So this is
 * the run labkit.native.detect.run_here makes in a child, for ThreadSanitizer's build: it waits for
 * a "go" line on stdin (tsan.prepare starts it ahead), sets the run up, starts it, polls it every
 * poll_ns with the same stall watch (a thread that makes no progress for stall_ns of the time the
 * process had a CPU: detect._Stall and detect.Scheduled, whose docstrings say why), and stops it
 * within stall_ns of that time (detect._stopped).  It prints one line on stdout and the parent
 * makes the result of it (detect.result, detect.hung: the messages are made there, once):
 *
 *     result {struct lk_stats's fields detect.STAT_NUMBERS and STAT_TEXTS}
 *     stuck {"quiet": "WX" or "" (the run was over, a thread did not end), "owner": N,
 *            "record": lk_stuck's text, "error": lk_error's text or null}
 *     error "lk_error's text"      (exit code 3: the engine refused or stopped the run)
 *
 * Every text is the C string's bytes in hex: a learner's C can write any bytes into a kstat's name,
 * which the messages quote, and the parent decodes them as detect._text does.  After "stuck" the
 * threads cannot be joined, so the process ends with _exit (as the Python child did).
 */
#include "lk_engine.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_TASKS 64

/* The arguments, all whole numbers but the variant's name. */
static const char *variant;
static long long window_ns, seed, writers, nkstats, interrupts, rounds, max_ns, stall_ns, poll_ns, credit_ns;
static const struct { const char *key; long long *value; } args[] = {
	{ "window_ns", &window_ns }, { "seed", &seed }, { "writers", &writers }, { "nkstats", &nkstats },
	{ "interrupts", &interrupts }, { "rounds", &rounds }, { "max_ns", &max_ns },
	{ "stall_ns", &stall_ns }, { "poll_ns", &poll_ns }, { "credit_ns", &credit_ns },
};

static int
parse(int argc, char **argv)
{
	size_t i, n;
	int a;
	char *end;

	for (a = 1; a < argc; a++) {
		if (strncmp(argv[a], "variant=", 8) == 0) {
			variant = argv[a] + 8;
			continue;
		}
		for (i = 0; i < sizeof (args) / sizeof (args[0]); i++) {
			n = strlen(args[i].key);
			if (strncmp(argv[a], args[i].key, n) == 0 && argv[a][n] == '=')
				break;
		}
		if (i == sizeof (args) / sizeof (args[0]))
			return (-1);
		*args[i].value = strtoll(argv[a] + n + 1, &end, 10);
		if (*end != '\0')
			return (-1);
	}
	return (variant == NULL || poll_ns <= 0 ? -1 : 0);
}

/* detect.Scheduled: the time this process was given the CPU, tick by tick. */
struct scheduled {
	long long at;
	int n;
	long tid[MAX_TASKS];
	long long waited[MAX_TASKS];
};

/* Each thread's run-queue wait (schedstat's second number), as detect.runqueue_waits reads it. */
static int
runqueue_waits(long *tid, long long *waited)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char path[64];
	FILE *f;
	int n = 0;

	if (d == NULL)
		return (0);
	while (n < MAX_TASKS && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof (path), "/proc/self/task/%s/schedstat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(f, "%*llu %lld", &waited[n]) == 1)
			tid[n++] = atol(e->d_name);
		fclose(f);
	}
	closedir(d);
	return (n);
}

static void
scheduled_start(struct scheduled *s)
{
	s->at = gethrtime();
	s->n = runqueue_waits(s->tid, s->waited);
}

static long long
scheduled_tick(struct scheduled *s)
{
	long long now = gethrtime(), starved = 0, credit, waited[MAX_TASKS];
	long tid[MAX_TASKS];
	int n = runqueue_waits(tid, waited), i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < s->n; j++)
			if (tid[i] == s->tid[j] && waited[i] - s->waited[j] > starved)
				starved = waited[i] - s->waited[j];
	credit = now - s->at < credit_ns ? now - s->at : credit_ns;
	credit = credit - starved > 0 ? credit - starved : 0;
	s->at = now;
	s->n = n;
	memcpy(s->tid, tid, sizeof (tid[0]) * n);
	memcpy(s->waited, waited, sizeof (waited[0]) * n);
	return (credit);
}

/* detect._Stall: whether R (a round), W or X (an install) has been quiet for more than stall_ns. */
struct stall {
	struct scheduled clock;
	int polled;
	long long last[3], quiet[3];
};

static int
stalled(struct stall *w, const struct lk_stats *s)
{
	long long credit = scheduled_tick(&w->clock);
	int i, any = 0;

	for (i = 0; i < 3; i++) {
		if (!w->polled || s->progress[i] != w->last[i] || s->exited[i])
			w->quiet[i] = 0;
		else
			w->quiet[i] += credit;
		w->last[i] = s->progress[i];
		any |= w->quiet[i] > stall_ns;
	}
	w->polled = 1;
	return (any);
}

/* detect._stopped: stop the run; 0 once its threads are joined, -1 if one did not end in time. */
static int
stopped(void)
{
	struct scheduled clock;
	long long waited = 0;

	scheduled_start(&clock);
	while (lk_stop_within(poll_ns) != 0) {
		waited += scheduled_tick(&clock);
		if (waited > stall_ns)
			return (-1);
	}
	return (0);
}

static void
hex(const char *text, size_t max)
{
	size_t i;

	putchar('"');
	for (i = 0; i < max && text[i] != '\0'; i++)
		printf("%02x", (unsigned char)text[i]);
	putchar('"');
}

#define NUMBER(name)	printf("\"" #name "\": %lld, ", (long long)s.name)
#define TEXT(name)	(printf("\"" #name "\": "), hex(s.name, sizeof (s.name)))

int
main(int argc, char **argv)
{
	static const char names[] = "RWX";
	struct lk_stats s;
	struct stall watch;
	struct timespec nap;
	char line[16], record[1024], quiet[4] = "";
	int stuck = 0, owner, i, n = 0;

	if (parse(argc, argv) != 0) {
		fprintf(stderr, "usage: %s variant=V and whole numbers: window_ns seed writers nkstats "
		    "interrupts rounds max_ns stall_ns poll_ns credit_ns\n", argv[0]);
		return (2);
	}
	if (fgets(line, sizeof (line), stdin) == NULL || strcmp(line, "go\n") != 0)
		return (0);		/* started ahead (tsan.prepare), then not wanted */
	lk_set_interrupts((int)interrupts);
	lk_set_writers((int)writers);
	if (lk_setup(variant, 0, 0, window_ns, (unsigned long long)seed, (int)nkstats) != 0) {
		printf("error ");
		hex(lk_error(), 512);
		printf("\n");
		return (3);
	}
	lk_start(rounds, max_ns);
	memset(&watch, 0, sizeof (watch));
	scheduled_start(&watch.clock);
	nap.tv_sec = poll_ns / 1000000000LL;
	nap.tv_nsec = poll_ns % 1000000000LL;
	for (;;) {
		lk_poll(&s);
		if (s.done)
			break;
		if (stalled(&watch, &s)) {
			stuck = 1;
			for (i = 0; i < 3; i++)
				if (watch.quiet[i] > stall_ns)
					quiet[n++] = names[i];
			break;
		}
		nanosleep(&nap, NULL);
	}
	if (!stuck && stopped() != 0)
		stuck = 1;		/* quiet stays "": the run was over, a thread did not end */
	lk_poll(&s);
	if (stuck) {
		owner = lk_stuck(record, sizeof (record));
		printf("stuck {\"quiet\": \"%s\", \"owner\": %d, \"record\": ", quiet, owner);
		hex(record, sizeof (record));
		printf(", \"error\": ");
		if (s.error)
			hex(lk_error(), 512);
		else
			printf("null");
		printf("}\n");
		fflush(stdout);
		_exit(0);		/* its threads cannot be joined: end them with us */
	}
	if (s.error) {
		printf("error ");
		hex(lk_error(), 512);
		printf("\n");
		return (3);
	}
	printf("result {");
	NUMBER(rounds); NUMBER(overflows); NUMBER(first_overflow_round); NUMBER(first_overflow_ns);
	NUMBER(short_rounds); NUMBER(installs); NUMBER(elapsed_ns); NUMBER(writers);
	NUMBER(uninstalled_rounds); NUMBER(missing_rounds); NUMBER(duplicate_rounds); NUMBER(forged_rounds);
	NUMBER(holds_left); NUMBER(lock_held_by); NUMBER(lock_left); NUMBER(holds_kept);
	TEXT(first_uninstalled); printf(", "); TEXT(first_missing); printf(", ");
	TEXT(first_duplicate); printf(", "); TEXT(first_forged); printf(", "); TEXT(first_held);
	printf(", "); TEXT(lock_site); printf(", "); TEXT(first_kept);
	printf("}\n");
	return (0);
}

/*
 * fault.c: report a crash-mode fault from inside the SIGSEGV handler, then die of it for real.
 *
 * Design note.  The handler runs on the reader's sigaltstack (the fault may come from a thread
 * whose stack is fine, but a handler must never depend on that), formats its one line with
 * hand-written number printing and write(2) only (both async-signal-safe), puts the previous
 * handler back and returns: the faulting store runs again, faults again, and this time the
 * default action (or Python's faulthandler, installed before us) ends the process with SIGSEGV.
 * The parent parses the line:
 *   labkit-fault signo=11 addr=0x... kbuf=0x... size=0x... ndata=N guard=0x... round=N
 * In schedule mode the handler also writes what a dump needs (crash.py builds it), each a line:
 *   labkit-regs pc=0x... chain_id=N owner=C      the faulting pc; kstat_chain_lock's owner
 *   labkit-stack R|W 0x... 0x...                 each thread's return addresses, innermost first
 *                                                (W's, from its own SIGUSR2 handler)
 *   labkit-kstat 0xADDR HEX                      each kstat_t in the chain, 184 bytes
 *   labkit-kbuf HEX                              the buffer, from kbuf up to the faulting byte
 * backtrace() is not on POSIX's async-signal-safe list; glibc's is safe once loaded, so
 * lk_fault_reporter calls it once beforehand (glibc's backtrace(3) notes).
 */
#define _GNU_SOURCE	/* REG_RIP in <ucontext.h> */
#include "lk_engine.h"

#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#define MAX_FRAMES	64

static struct sigaction old_segv, old_bus;
static void *w_frames[MAX_FRAMES];
static volatile int w_nframes = -1;

static char *
put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return (p);
}

static char *
put_num(char *p, unsigned long long v, unsigned base)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return (p);
}

/* Bytes as hex, written in chunks so a 1 MiB buffer needs no big stack array. */
static void
put_hex_fd(const unsigned char *b, size_t n)
{
	char out[4096];
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		out[k++] = "0123456789abcdef"[b[i] >> 4];
		out[k++] = "0123456789abcdef"[b[i] & 15];
		if (k == sizeof (out)) {
			(void) !write(2, out, k);
			k = 0;
		}
	}
	(void) !write(2, out, k);
}

static void
put_stack(const char *who, void **frames, int n)
{
	char buf[32 * MAX_FRAMES], *p = buf;
	int i;

	p = put_str(p, "labkit-stack ");
	p = put_str(p, who);
	for (i = 0; i < n; i++) {
		p = put_str(p, " 0x");
		p = put_num(p, (uintptr_t)frames[i], 16);
	}
	p = put_str(p, "\n");
	(void) !write(2, buf, (size_t)(p - buf));
}

/* W's half: record where W is, for R's handler to write. */
static void
stack_handler(int sig, siginfo_t *si, void *uc)
{
	(void) sig; (void) si; (void) uc;
	STORE(&w_nframes, backtrace(w_frames, MAX_FRAMES));
}

static void
report_schedule_dump(void *uc, uintptr_t addr)
{
	char buf[160], *p = buf;
	void *frames[MAX_FRAMES];
	int n = backtrace(frames, MAX_FRAMES);
	hrtime_t end;
	kstat_t *ksp;

	p = put_str(p, "labkit-regs pc=0x");
	p = put_num(p, (uintptr_t)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP], 16);
	p = put_str(p, " chain_id=");
	p = put_num(p, (unsigned long long)lk_chain_id(), 10);
	p = put_str(p, " owner=");
	*p++ = kstat_chain_lock.owner ? (char)kstat_chain_lock.owner : '-';
	p = put_str(p, "\n");
	(void) !write(2, buf, (size_t)(p - buf));
	put_stack("R", frames, n);
	if (pthread_kill(g.w, SIGUSR2) == 0) {
		for (end = gethrtime() + 200000000LL; LOAD(&w_nframes) < 0 && gethrtime() < end; )
			;
		if (LOAD(&w_nframes) >= 0)
			put_stack("W", w_frames, w_nframes);
	}
	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp)) {
		p = put_str(buf, "labkit-kstat 0x");
		p = put_num(p, (uintptr_t)ksp, 16);
		p = put_str(p, " ");
		(void) !write(2, buf, (size_t)(p - buf));
		put_hex_fd((const unsigned char *)ksp, sizeof (kstat_t));
		(void) !write(2, "\n", 1);
	}
	(void) !write(2, "labkit-kbuf ", 12);
	if (r_kbuf != NULL && addr > (uintptr_t)r_kbuf)
		put_hex_fd(r_kbuf, addr - (uintptr_t)r_kbuf);
	(void) !write(2, "\n", 1);
}

static void
fault_handler(int sig, siginfo_t *si, void *uc)
{
	char buf[256], *p = buf;

	p = put_str(p, "labkit-fault signo=");
	p = put_num(p, (unsigned)sig, 10);
	p = put_str(p, " addr=0x");
	p = put_num(p, (uintptr_t)si->si_addr, 16);
	p = put_str(p, " kbuf=0x");
	p = put_num(p, (uintptr_t)r_kbuf, 16);
	p = put_str(p, " size=0x");
	p = put_num(p, r_size, 16);
	p = put_str(p, " ndata=");
	p = put_num(p, (unsigned long long)r_ndata, 10);
	p = put_str(p, " guard=0x");
	p = put_num(p, (uintptr_t)guard, 16);
	p = put_str(p, " round=");
	p = put_num(p, (unsigned long long)r_round, 10);
	p = put_str(p, "\n");
	(void) !write(2, buf, (size_t)(p - buf));
	if (g.sched && lk_self == 'R')
		report_schedule_dump(uc, (uintptr_t)si->si_addr);
	sigaction(sig, sig == SIGSEGV ? &old_segv : &old_bus, NULL);
}

int
lk_fault_reporter(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof (sa));
	sa.sa_sigaction = fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old_segv) != 0 || sigaction(SIGBUS, &sa, &old_bus) != 0)
		return (-1);
	sa.sa_sigaction = stack_handler;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGUSR2, &sa, NULL) != 0)
		return (-1);
	(void) backtrace(w_frames, 1);		/* load libgcc's unwinder now, not in a handler */
	return (0);
}

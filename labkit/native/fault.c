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
 */
#include "lk_engine.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static struct sigaction old_segv, old_bus;

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

static void
fault_handler(int sig, siginfo_t *si, void *uc)
{
	char buf[256], *p = buf;

	(void) uc;
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
	return (0);
}

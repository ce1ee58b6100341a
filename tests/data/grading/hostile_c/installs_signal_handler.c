/* Appended to solutions/fix_a.c by tests/test_grading_threats.py: a handler that would swallow
 * the engine's SIGALRM and the guard page's SIGSEGV, installed from a helper of the fix. */
#include <signal.h>

static void
ignore(int sig)
{
	(void) sig;
}

static void
take_signals(void)
{
	struct sigaction sa = { .sa_handler = ignore };

	sigaction(SIGSEGV, &sa, NULL);
	signal(SIGALRM, ignore);
}
void (*keep_take_signals)(void) = take_signals;

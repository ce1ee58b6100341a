/* Fix A, wrong: a pause instead of the lock. */
#include <time.h>

void
kstat_install(kstat_t *ksp)
{
	struct timespec ts = { 0, 1000 };

	nanosleep(&ts, NULL);
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	kstat_rele(ksp);
}

/* Fix A, wrong: it waits, without the lock, for a flag only it would clear. */
void
kstat_install(kstat_t *ksp)
{
	while (ksp->ks_flags & KSTAT_FLAG_INVALID)
		;
	kstat_rele(ksp);
}

/* Fix A, wrong: it waits, holding kstat_chain_lock, for the flag to be cleared by someone else. */
void
kstat_install(kstat_t *ksp)
{
	mutex_enter(&kstat_chain_lock);
	while (ksp->ks_flags & KSTAT_FLAG_INVALID)
		;
	mutex_exit(&kstat_chain_lock);
	kstat_rele(ksp);
}

/* Fix A, wrong: the flag is cleared before the lock is taken. */
void
kstat_install(kstat_t *ksp)
{
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	mutex_enter(&kstat_chain_lock);
	mutex_exit(&kstat_chain_lock);
	kstat_rele(ksp);
}

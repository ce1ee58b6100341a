/* Fix A, wrong: the lock is released once more than it was taken. */
void
kstat_install(kstat_t *ksp)
{
	mutex_enter(&kstat_chain_lock);
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	mutex_exit(&kstat_chain_lock);
	mutex_exit(&kstat_chain_lock);
	kstat_rele(ksp);
}

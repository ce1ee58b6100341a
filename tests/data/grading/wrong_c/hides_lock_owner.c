/* Fix A, wrong, and it hides it: the lock is left held, and kmutex_t's owner field is cleared. */
void
kstat_install(kstat_t *ksp)
{
	kstat_rele(ksp);
	mutex_enter(&kstat_chain_lock);
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	kstat_chain_lock.owner = 0;
}

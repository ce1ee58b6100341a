/* Fix A, wrong: INVALID is cleared under kstat_chain_lock, but DORMANT is cleared before it, without the lock. No copy ever overflows (INVALID changes only under the lock), yet the store to ks_flags races with the reader's passes: ThreadSanitizer sees it. */
void
kstat_install(kstat_t *ksp)
{
	ksp->ks_flags &= ~KSTAT_FLAG_DORMANT;
	mutex_enter(&kstat_chain_lock);
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	mutex_exit(&kstat_chain_lock);
	kstat_rele(ksp);
}

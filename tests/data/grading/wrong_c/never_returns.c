/* Fix A, wrong: kstat_rele takes kstat_chain_lock, which this thread already holds. */
void
kstat_install(kstat_t *ksp)
{
	mutex_enter(&kstat_chain_lock);
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	kstat_rele(ksp);
	mutex_exit(&kstat_chain_lock);
}

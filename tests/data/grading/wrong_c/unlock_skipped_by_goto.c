/* Fix A, wrong on one path only: the error path jumps past the mutex_exit, so its kstat_rele
 * takes kstat_chain_lock while this thread still holds it. */
void
kstat_install(kstat_t *ksp)
{
	mutex_enter(&kstat_chain_lock);
	if (ksp->ks_ndata > 12)
		goto out;
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	mutex_exit(&kstat_chain_lock);
out:
	kstat_rele(ksp);
}

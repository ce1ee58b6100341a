/* Fix A, wrong: the flag is cleared under the lock and the hold released, but the lock is never
 * released (kstat_rele comes first here, so it does not meet the lock this thread holds). */
void
kstat_install(kstat_t *ksp)
{
	kstat_rele(ksp);
	mutex_enter(&kstat_chain_lock);
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
}

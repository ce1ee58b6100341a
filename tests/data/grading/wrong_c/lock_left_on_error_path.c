/* Fix A, wrong on one path only: a kstat it refuses (more than 12 named entries, a rule of the
 * fix's own) returns early, and that path leaves the lock held (and the hold, and the flag). */
void
kstat_install(kstat_t *ksp)
{
	mutex_enter(&kstat_chain_lock);
	if (ksp->ks_ndata > 12)
		return;
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	mutex_exit(&kstat_chain_lock);
	kstat_rele(ksp);
}

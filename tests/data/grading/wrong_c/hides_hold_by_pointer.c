/* Fix A without kstat_rele, and it forges the record: the holder field that sits right after
 * kstat_t in the engine's ekstat_t is cleared through the kstat pointer (no cast needed). */
void
kstat_install(kstat_t *ksp)
{
	void *p = ksp + 1;
	int *holder = p;

	mutex_enter(&kstat_chain_lock);
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	*holder = 0;
	mutex_exit(&kstat_chain_lock);
}

/* Fix A, wrong: the flag is cleared under the lock, but the writer's hold is never released. */
void
kstat_install(kstat_t *ksp)
{
	mutex_enter(&kstat_chain_lock);
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	mutex_exit(&kstat_chain_lock);
}

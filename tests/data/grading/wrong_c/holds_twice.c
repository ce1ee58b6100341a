/* Fix A, wrong: it takes a hold of its own on the kstat before clearing the flag, to be sure the
 * kstat cannot go away meanwhile; but the caller already holds it, and this thread is the holder. */
void
kstat_install(kstat_t *ksp)
{
	kstat_t *held = kstat_hold_bykid(ksp->ks_kid);

	mutex_enter(&kstat_chain_lock);
	held->ks_flags &= ~KSTAT_FLAG_INVALID;
	mutex_exit(&kstat_chain_lock);
	kstat_rele(held);
	kstat_rele(ksp);
}

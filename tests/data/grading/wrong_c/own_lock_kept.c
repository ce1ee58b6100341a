/* Fix A, wrong: one install at a time, by a lock of its own, which it never releases: W's next
 * kstat_install enters install_lock again, and X waits for it forever. */

static kmutex_t install_lock;

void
kstat_install(kstat_t *ksp)
{
	mutex_enter(&install_lock);
	mutex_enter(&kstat_chain_lock);
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	mutex_exit(&kstat_chain_lock);
	kstat_rele(ksp);
}

/* Fix A, wrong: writes through a null pointer. Spliced into solutions/fix_a.c by the tests. */
void
kstat_install(kstat_t *ksp)
{
	kstat_t *nothing = NULL;

	mutex_enter(&kstat_chain_lock);
	nothing->ks_flags &= ~KSTAT_FLAG_INVALID;
	mutex_exit(&kstat_chain_lock);
	kstat_rele(ksp);
}

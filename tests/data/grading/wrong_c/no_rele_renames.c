/*
 * Fix A, wrong: the hold leaks (as no_rele.c), and the kstat's name is overwritten with bytes that
 * are not UTF-8, which the record quotes when it names the kstat whose hold leaked.
 */
void
kstat_install(kstat_t *ksp)
{
	mutex_enter(&kstat_chain_lock);
	ksp->ks_name[0] = (char)0xff;
	ksp->ks_name[1] = (char)0xc3;
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	mutex_exit(&kstat_chain_lock);
}

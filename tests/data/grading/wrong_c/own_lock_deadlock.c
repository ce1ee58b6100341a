/* Fix A, wrong: a lock of its own instead of kstat_chain_lock.  kstat_install holds it from the
 * clear through kstat_rele, and the copy pass takes it too, under kstat_chain_lock: R holds
 * kstat_chain_lock and waits for install_lock, W holds install_lock and waits (in kstat_rele) for
 * kstat_chain_lock. */

static kmutex_t install_lock;

void
kstat_install(kstat_t *ksp)
{
	mutex_enter(&install_lock);
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
	kstat_rele(ksp);
	mutex_exit(&install_lock);
}

int
header_kstat_snapshot(kstat_t *header_ksp, void *buf, int rw)
{
	kstat_t *kbuf = buf;
	kstat_t *ksp;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	ASSERT(MUTEX_HELD(&kstat_chain_lock));

	mutex_enter(&install_lock);
	header_ksp->ks_snaptime = gethrtime();
	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp)) {
		if ((ksp->ks_flags & KSTAT_FLAG_INVALID) == 0) {
			bcopy(ksp, kbuf, sizeof (kstat_t));
			kbuf++;
		}
	}
	mutex_exit(&install_lock);
	return (0);
}

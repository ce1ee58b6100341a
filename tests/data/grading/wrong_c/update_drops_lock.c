/* Fix B, wrong: the count pass releases kstat_chain_lock before it returns, so that writers are
 * not kept waiting while the reader allocates (read_kstat_data still holds the lock, it thinks). */
int
header_kstat_update(kstat_t *header_ksp, int rw)
{
	kstat_t *ksp;
	uint_t nkstats = 0;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	ASSERT(MUTEX_HELD(&kstat_chain_lock));

	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp))
		nkstats++;
	header_ksp->ks_ndata = nkstats;
	header_ksp->ks_data_size = nkstats * sizeof (kstat_t);
	mutex_exit(&kstat_chain_lock);
	return (0);
}

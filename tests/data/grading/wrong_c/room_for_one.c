/* Fix B, wrong: room for one more kstat when any is INVALID (right while one zone is created at a time). */
int
header_kstat_update(kstat_t *header_ksp, int rw)
{
	kstat_t *ksp;
	uint_t nkstats = 0, invalid = 0;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp)) {
		if ((ksp->ks_flags & KSTAT_FLAG_INVALID) == 0)
			nkstats++;
		else
			invalid = 1;
	}
	nkstats += invalid;
	header_ksp->ks_ndata = nkstats;
	header_ksp->ks_data_size = nkstats * sizeof (kstat_t);
	return (0);
}

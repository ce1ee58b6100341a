/*
 * Fix B, wrong: the upper bound only while the chain is short; past 1000 kstats it counts as the
 * buggy kernel does (right at the stress runs' 64 kstats, the 4997 overflow at the seed's 5698).
 */
int
header_kstat_update(kstat_t *header_ksp, int rw)
{
	kstat_t *ksp;
	uint_t all = 0, valid = 0;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp)) {
		all++;
		if ((ksp->ks_flags & KSTAT_FLAG_INVALID) == 0)
			valid++;
	}
	if (all > 1000)
		all = valid;
	header_ksp->ks_ndata = all;
	header_ksp->ks_data_size = all * sizeof (kstat_t);
	return (0);
}

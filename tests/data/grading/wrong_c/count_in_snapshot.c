/* Fix B, wrong: the update still skips INVALID kstats, the snapshot copies them all. */
int
header_kstat_update(kstat_t *header_ksp, int rw)
{
	kstat_t *ksp;
	uint_t nkstats = 0;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp)) {
		if ((ksp->ks_flags & KSTAT_FLAG_INVALID) == 0)
			nkstats++;
	}
	header_ksp->ks_ndata = nkstats;
	header_ksp->ks_data_size = nkstats * sizeof (kstat_t);
	return (0);
}

int
header_kstat_snapshot(kstat_t *header_ksp, void *buf, int rw)
{
	kstat_t *kbuf = buf;
	kstat_t *ksp;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	header_ksp->ks_snaptime = gethrtime();
	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp)) {
		bcopy(ksp, kbuf, sizeof (kstat_t));
		kbuf++;
	}
	return (0);
}

/* Fix B, wrong (on the buggy kernel's count): the copy stops at the count, so it cannot overflow (it silently drops a kstat installed between the passes). */
int
header_kstat_snapshot(kstat_t *header_ksp, void *buf, int rw)
{
	kstat_t *kbuf = buf;
	kstat_t *ksp;
	uint_t n = 0;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	header_ksp->ks_snaptime = gethrtime();
	for (ksp = kstat_chain_first(); ksp != NULL && n < header_ksp->ks_ndata; ksp = kstat_chain_next(ksp)) {
		if ((ksp->ks_flags & KSTAT_FLAG_INVALID) == 0) {
			bcopy(ksp, kbuf, sizeof (kstat_t));
			kbuf++;
			n++;
		}
	}
	return (0);
}

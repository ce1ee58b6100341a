/* Fix B, wrong: counts every kstat and also copies every kstat, INVALID ones too (illumos 4246). */
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

/* Fix B, wrong: counts every kstat and copies the valid ones, then fills the slots left over with
 * the last one copied (so that no header is left zero): a reader gets that kstat twice or more. */
int
header_kstat_snapshot(kstat_t *header_ksp, void *buf, int rw)
{
	kstat_t *kbuf = buf;
	kstat_t *ksp, *last = NULL;
	uint_t n = 0;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	header_ksp->ks_snaptime = gethrtime();
	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp)) {
		if ((ksp->ks_flags & KSTAT_FLAG_INVALID) == 0) {
			bcopy(ksp, kbuf, sizeof (kstat_t));
			last = ksp;
			kbuf++;
			n++;
		}
	}
	for (; last != NULL && n < header_ksp->ks_ndata; n++)
		bcopy(last, kbuf++, sizeof (kstat_t));
	return (0);
}

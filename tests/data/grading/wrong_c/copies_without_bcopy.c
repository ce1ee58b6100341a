/* On the buggy kernel (fix A not made): the copy is a struct assignment, not bcopy; the
 * overflow is found past the buffer all the same. */
int
header_kstat_snapshot(kstat_t *header_ksp, void *buf, int rw)
{
	kstat_t *kbuf = buf;
	kstat_t *ksp;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	header_ksp->ks_snaptime = gethrtime();
	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp)) {
		if ((ksp->ks_flags & KSTAT_FLAG_INVALID) == 0)
			*kbuf++ = *ksp;
	}
	return (0);
}

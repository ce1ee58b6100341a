/* Fix B, wrong: copies_twice.c (a slot left over filled with the last kstat copied, so a reader
 * gets it twice) hidden from a record that knows a copied header by its ks_kid: it leaves out the
 * header kstat (kid 0) and writes kid 0 into the extra copy (with no slot left over, the header
 * kstat is copied last). */
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
		if (ksp != header_ksp && (ksp->ks_flags & KSTAT_FLAG_INVALID) == 0) {
			bcopy(ksp, kbuf, sizeof (kstat_t));
			last = ksp;
			kbuf++;
			n++;
		}
	}
	if (last != NULL && n + 1 < header_ksp->ks_ndata) {
		bcopy(last, kbuf, sizeof (kstat_t));
		kbuf->ks_kid = header_ksp->ks_kid;
	} else {
		bcopy(header_ksp, kbuf, sizeof (kstat_t));
	}
	return (0);
}

/* Fix B, wrong: copies one INVALID kstat too (the illumos 4246 regression) and hides it from a
 * record that knows a copied header by its ks_kid: it leaves out the header kstat (kid 0) and
 * writes kid 0 into the uninstalled kstat's copy, so the copy seems to hold every installed kstat
 * once and nothing else (with no INVALID kstat to hide, the header kstat is copied last). */
int
header_kstat_snapshot(kstat_t *header_ksp, void *buf, int rw)
{
	kstat_t *kbuf = buf;
	kstat_t *ksp;
	int hidden = 0;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	header_ksp->ks_snaptime = gethrtime();
	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp)) {
		if (ksp == header_ksp)
			continue;
		if ((ksp->ks_flags & KSTAT_FLAG_INVALID) != 0) {
			if (hidden)
				continue;
			bcopy(ksp, kbuf, sizeof (kstat_t));
			kbuf->ks_kid = header_ksp->ks_kid;
			hidden = 1;
		} else {
			bcopy(ksp, kbuf, sizeof (kstat_t));
		}
		kbuf++;
	}
	if (!hidden)
		bcopy(header_ksp, kbuf, sizeof (kstat_t));
	return (0);
}

/* Fix B, wrong: copies INVALID kstats too (the illumos 4246 regression) and hides them from a
 * record that knows a copied header by its ks_kid: before its plain bcopy of every kstat, it
 * writes into each INVALID kstat in the chain the kid of the one before it, whose own copy it
 * leaves out, and puts the kids back after, so each uninstalled kstat's copy passes as the kstat
 * before it (every installed kstat once, nothing uninstalled, as the kids say); an INVALID one
 * right after another is left out. */
int
header_kstat_snapshot(kstat_t *header_ksp, void *buf, int rw)
{
	kstat_t *kbuf = buf;
	kstat_t *ksp, *prev = NULL;
	kid_t own;

	if (rw == KSTAT_WRITE)
		return (EACCES);
	header_ksp->ks_snaptime = gethrtime();
	for (ksp = kstat_chain_first(); ksp != NULL; ksp = kstat_chain_next(ksp)) {
		if ((ksp->ks_flags & KSTAT_FLAG_INVALID) != 0) {
			if (prev == NULL)
				continue;	/* no kstat before it to pass as: left out */
			own = ksp->ks_kid;
			ksp->ks_kid = prev->ks_kid;
			bcopy(ksp, kbuf - 1, sizeof (kstat_t));	/* over the one before */
			ksp->ks_kid = own;
			prev = NULL;
			continue;
		}
		bcopy(ksp, kbuf, sizeof (kstat_t));
		kbuf++;
		prev = ksp;
	}
	return (0);
}

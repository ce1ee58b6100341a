/* Fix B, wrong: "no copy, no overflow". */
int
header_kstat_snapshot(kstat_t *header_ksp, void *buf, int rw)
{
	header_ksp->ks_snaptime = gethrtime();
	return (0);
}

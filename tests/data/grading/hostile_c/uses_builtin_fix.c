/* Appended to solutions/fix_a.c by tests/test_grading_threats.py. */
static void
install_theirs(kstat_t *ksp)
{
	extern const struct lk_variant lk_variants[];
	lk_variants[1].install(ksp);
}
void (*keep_it)(kstat_t *) = install_theirs;

/* Appended to solutions/fix_a.c by tests/test_grading_threats.py. */
static void *kept[4096];
static int n;

static int
hoard(void)
{
	extern void *malloc(unsigned long);
	kept[n++ % 4096] = malloc(8 << 20);
	return (kept[0] == (void *)1);
}
int (*keep_hoard)(void) = hoard;

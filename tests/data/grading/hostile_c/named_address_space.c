/* Appended to solutions/fix_a.c: GCC's named address space __seg_fs reads memory relative to the
 * thread pointer, where the engine's thread-locals are (lk_nheld, each thread's tally of its
 * holds): no symbol, no pointer from the model, nothing nm shows. */
static int
lk_tls_word(long off)
{
	return (*(int __seg_fs *)off);
}

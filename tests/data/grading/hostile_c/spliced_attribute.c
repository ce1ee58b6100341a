/* Appended to solutions/fix_a.c: __attribute__ split over two lines by a backslash-newline,
 * which the compiler joins first; the static check looked for the word line by line. */
static int __attri\
bute__((used)) lk_peek(void)
{
	return (kstat_chain_lock.owner);
}

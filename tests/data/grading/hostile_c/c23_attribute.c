/* Appended to solutions/fix_a.c: GCC reads C23's [[...]] attributes in gnu11 too, and the static
 * check banned only the word __attribute__: [[gnu::weak]] made the engine's r_over a weak
 * reference, which nm lists as 'w', not 'U', so it was not read as a use of the engine either. */
[[gnu::weak]] extern long long r_over;
[[gnu::used]] static void
forget_overflows(void)
{
	r_over = 0;
}

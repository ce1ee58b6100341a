/* Appended to solutions/fix_a.c by tests/test_grading_threats.py. */
static void
look(void)
{
	extern int system(const char *);
	system("ls /");
}
void (*keep_look)(void) = look;

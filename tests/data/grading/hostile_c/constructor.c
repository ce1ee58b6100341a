/* Appended to solutions/fix_a.c by tests/test_grading_threats.py. */
#include <stdio.h>
__attribute__((constructor)) static void
forge(void)
{
	printf("result {\"rounds\": 500, \"overflows\": 0}\n");
}

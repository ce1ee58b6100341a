/* Appended to solutions/fix_a.c by tests/test_grading_threats.py. */
#define GLUE(a, b) a ## b
static void spin(void) { GLUE(as, m)("nop"); }

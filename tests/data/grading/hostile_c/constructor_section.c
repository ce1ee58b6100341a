/* Appended to solutions/fix_a.c by tests/test_grading_threats.py. */
static void forge(void) { }
void (*forge_ptr)(void) __attribute__((section(".init_array"))) = forge;

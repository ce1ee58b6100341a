/* Appended to solutions/fix_a.c by tests/test_grading_threats.py. */
long long r_over;

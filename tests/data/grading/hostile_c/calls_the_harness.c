/* Appended to solutions/fix_a.c by tests/test_grading_threats.py: it calls the engine's own
 * functions (stop the run, take a hold under another name) instead of the model's. */
extern void lk_stop(void);
extern void *lk_hold_bykid(int, const char *);

static void
cheat(void)
{
	(void) lk_hold_bykid(0, "nowhere");
	lk_stop();
}
void (*keep_cheat)(void) = cheat;

/*
 * learner_glue.c: presents a learner's three functions to the engine as the variant "learner".
 *
 * The references are weak so that a file missing one of them still links; the engine then
 * reports which function is missing instead of the loader failing on an undefined symbol.
 */
#include "kstat_model.h"

extern void kstat_install(kstat_t *) __attribute__((weak));
extern int header_kstat_update(kstat_t *, int) __attribute__((weak));
extern int header_kstat_snapshot(kstat_t *, void *, int) __attribute__((weak));

const struct lk_variant lk_variants[] = {
	{ "learner", kstat_install, header_kstat_update, header_kstat_snapshot },
	{ NULL, NULL, NULL, NULL },
};

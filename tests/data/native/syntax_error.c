#include "kstat_model.h"
void kstat_install(kstat_t *ksp) { ksp->ks_flags = 0 }

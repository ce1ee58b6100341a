#include "../../../../solutions/fix_a.c"

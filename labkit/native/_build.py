"""cffi build script for the native race (run by setuptools at install time, and by _cbuild).

Design note: this file must run standalone (setuptools execs it before labkit is importable),
so it imports nothing from labkit. `make_ffi` is shared with the on-first-use builds of a
learner's C and of the ThreadSanitizer variant; only the sources and the flags differ.
"""

import os

from cffi import FFI

CDEF = """
struct lk_stats {
    long long rounds, overflows, first_overflow_round, first_overflow_ns;
    long long short_rounds, installs, forced_timeouts, elapsed_ns;
    long long uninstalled_rounds, missing_rounds, holds_left, lock_left, holds_kept, duplicate_rounds;
    long long forged_rounds;
    long long progress[3];
    int done, error, writers, lock_held_by;
    int exited[3];
    char first_uninstalled[96], first_missing[96], first_held[256], lock_site[96], first_kept[160];
    char first_duplicate[96], first_forged[128];
};
int lk_setup(const char *variant, int crash, int forced, long long window_ns,
             unsigned long long seed, int nkstats);
int lk_start(long long max_rounds, long long max_ns);
void lk_poll(struct lk_stats *);
void lk_stop(void);
int lk_stop_within(long long ns);
int lk_stuck(char *buf, size_t len);
const char *lk_error(void);
void lk_set_interrupts(int on);
void lk_set_writers(int n);
int lk_fault_reporter(void);
int lk_schedule(int create_after, int clear_phase, int firewall);
"""

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINE = ["kstat_fr.c", "engine.c", "fault.c"]
CFLAGS = ["-std=gnu11", "-O2", "-pthread", "-Wall"]
#: The C of every module's own part: cffi's wrapper for CDEF is generated after it.
PREAMBLE = '#include "lk_engine.h"\n'


def make_ffi(module_name, sources, include_dirs, extra_compile_args=(), extra_link_args=(),
             extra_objects=()):
    ffi = FFI()
    ffi.cdef(CDEF)
    ffi.set_source(
        module_name,
        PREAMBLE,
        sources=list(sources),
        include_dirs=list(include_dirs),
        extra_compile_args=CFLAGS + list(extra_compile_args),
        extra_link_args=["-pthread"] + list(extra_link_args),
        extra_objects=list(extra_objects),
    )
    return ffi


def _require_compiler():
    import shlex
    import shutil
    import sysconfig

    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "gcc"
    cc = shlex.split(cc)[0]
    if shutil.which(cc) is None:
        raise SystemExit(
            f"labkit: the native race is C, and no C compiler was found (looked for {cc!r}).\n"
            "labkit: install one (Debian/Ubuntu: apt-get install gcc) and run pip install again.")


if __name__ == "__cffi__":   # run by setuptools at install time (cffi's setuptools_ext)
    _require_compiler()
    # At install time setuptools runs from the project root and wants relative paths. (Only
    # then: parsing CDEF costs every process that imports labkit.native, the C's children too.)
    _rel = os.path.join("labkit", "native")
    ffibuilder = make_ffi(
        "labkit.native._race",
        [os.path.join(_rel, f) for f in ENGINE + ["variants.c"]],
        [_rel],
    )

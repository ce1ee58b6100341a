"""Checks on the learner's C (exercises 5 and 6): stress-tested on real threads, then ThreadSanitizer.

Design note: the stress test runs twice, with two writers (W and X, two zone_create calls at
once), so that a fix right for one concurrent install only fails. First in forced mode, which
imposes the losing interleavings round by round (odd rounds: R counts, W and X both clear, R
copies; even rounds: X's kstat stays INVALID and held through both passes, installed after the
read), so a broken fix fails at once and the verdict does not depend on luck, on a chain of 64
kstats and then for LONG_ROUNDS rounds on the seed's 5698 (a fix right only for short chains);
then free-running
for a second with the seed shown, which catches what forcing cannot (a fix that deadlocks only
sometimes, a reader that starves the writers). Every copy is bounds-checked (detect mode), and
labkit.native runs the learner's C in a child process, so a crash or hang comes back as a result.
The engine also keeps the grader's record, where the learner's C cannot name it: which kstats
their writer had passed to kstat_install, and which of those were valid when the copy pass began
or had returned from it before the count; after each copy pass the copied headers are compared
with it (a kstat not yet installed must not be there, one installed before the copy must, and
each header must be, byte for byte, the engine's own copy of the kstat it names), each
kstat_install must return with kstat_chain_lock released (the record knows who took it, and where),
and at the end of the run every hold must be released. A run whose threads stop making progress is
stopped by the engine, which says who holds the lock and where each thread is. ThreadSanitizer comes
last: fix A must be clean; fix B must show only the race the lesson expects (ks_flags, written in
kstat_install without the lock), because that is exercise 7's point, and nothing else; the
TSan run's record is judged as the stress runs' are.

Before any of the learner's C runs, its translation unit is checked statically (`static_check`):
an in-process forger cannot be stopped at run time, so the file (read as the compiler reads it:
lines spliced, digraphs as their tokens) may include only kstat_model.h, may not use asm,
attributes, pragmas, builtins or token pasting, and, compiled alone, must define only
the three functions of a variant (static helpers allowed), call only the model's functions
(ALLOWED_CALLS), and have no constructor or destructor sections. The worker observes; the grader
judges the data (judge_c_fix).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from typing import Any

from labkit import fixes
from labkit.answer_values import cut
from labkit.errors import LabkitError
from labkit.grading.base import CheckSet, Missing, Submission
from labkit.grading.runner import timeout_for
from labkit.kernel import SEED_KSTATS

CHECKS = CheckSet()

FORCED_ROUNDS = 500
#: The forced interleavings again at the seed's chain length, so that a fix right only for short
#: chains (a fixed-size buffer, a count capped) fails: forced rounds are deterministic (both
#: writers clear between the passes in odd rounds), so a few show it; 20 take about 0.1 s.
LONG_KSTATS = SEED_KSTATS
LONG_ROUNDS = 20
FREE_SECONDS = 1.0
SEED = 0
WRITERS = 2
#: The stress runs, in the order they run (each only if the one before found nothing wrong), by
#: the key of their observation: how a message names it, and race()'s arguments for it besides
#: source, seed, writers and timeout.
_RUNS: dict[str, tuple[str, dict[str, Any]]] = {
    "forced": (f"forced interleavings, {FORCED_ROUNDS} rounds, {WRITERS} writers",
               {"rounds": FORCED_ROUNDS, "forced": True}),
    "forced_long": (f"forced interleavings at the seed's chain length ({LONG_KSTATS} kstats), {LONG_ROUNDS} "
                    f"rounds, {WRITERS} writers", {"rounds": LONG_ROUNDS, "forced": True, "kstats": LONG_KSTATS}),
    "free": (f"free-running for {FREE_SECONDS:g} s, {WRITERS} writers, seed {SEED}", {"seconds": FREE_SECONDS}),
}
#: The points of each stress run (ThreadSanitizer's 3 make the check's 10).
_RUN_POINTS = {"forced": 3, "forced_long": 1, "free": 3}

#: What a learner's translation unit may define (globally) and call.
DEFINES = {"kstat_install", "header_kstat_update", "header_kstat_snapshot"}
ALLOWED_CALLS = {"mutex_enter", "mutex_exit", "lk_mutex_held", "lk_assert_failed",
                 "kstat_chain_first", "kstat_chain_next", "kstat_hold_bykid", "kstat_rele",
                 "lk_bcopy", "gethrtime", "kstat_chain_lock",
                 "nanosleep", "usleep", "sched_yield",  # waiting is harmless (and a wrong fix)
                 # what the compiler itself may emit for struct copies and stack protection
                 "memcpy", "memset", "memmove", "__stack_chk_fail", "_GLOBAL_OFFSET_TABLE_"}
#: What each exercise's file may change (the rest stays the buggy kernel's): labkit.fixes.CHANGES.
CHANGES = {"fix_a.c": fixes.CHANGES["lock"], "fix_b.c": fixes.CHANGES["count"]}
#: labkit's own fixes (variants.c): using them earns nothing.
BUILTIN_FIXES = {"lk_variants", "lk_variant_by_name", "install", "update", "snapshot"}
#: (__has_include and its kin look up any path: `#if __has_include("/.../solutions/fix_a.c")` then
#: `#error` told the report whether a file exists. __SANITIZE_THREAD__ is defined in the
#: ThreadSanitizer build only, which the static check does not compile: code behind it is unseen.)
_BANNED_WORDS = re.compile(r"\b(asm|__asm__|__asm|__attribute__|__attribute|_Pragma|__builtin_\w*|"
                           r"__thread|_Thread_local|__seg_fs|__seg_gs|__has_include|__has_include_next|"
                           r"__has_embed|__SANITIZE_THREAD__)\b")
#: The preprocessor directives a fix may use (#include is checked on its own); any other, such as
#: #pragma (weak, GCC optimize), #import (a second #include), #line or #ident, is refused.
_DIRECTIVES = {"include", "define", "undef", "if", "ifdef", "ifndef", "elif", "else", "endif", "error"}
#: C's digraphs, as the compiler reads them: '%:include' is '#include', '<:<:' is '[['.
_DIGRAPHS = (("%:", "#"), ("<:", "["), (":>", "]"), ("<%", "{"), ("%>", "}"))
#: How long the compiler may work on a learner's file, in CPU seconds (RLIMIT_CPU: a starved
#: machine does not shorten it) and, as a hard bound, on the wall clock. A fix compiles in well
#: under a second; macros that expand exponentially would otherwise keep it busy until the
#: check's timeout.
COMPILE_CPU_S = 10
COMPILE_WALL_S = 60
#: ... and in memory (RLIMIT_AS; measured: such macros took the compiler to 1.2 GB in 10 s of CPU).
COMPILE_MEMORY_MB = 1024
_CTOR_SECTIONS = re.compile(r"\.(init_array|fini_array|preinit_array|ctors|dtors|init|fini)\b")


# kstat_model.h, or a system header by a plain name (no "..", no path of one's own: the
# compiler's error messages must not become a way to read files).
_INCLUDE_OK = re.compile(r'^\s*#\s*include\s*("kstat_model\.h"|<[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)?\.h>)\s*$')


def _strip_comments(src: str) -> str:
    src = re.sub(r"/\*.*?\*/", lambda m: " " + "\n" * m.group().count("\n"), src, flags=re.S)
    return re.sub(r"//[^\n]*", "", src)


def _strip_comments_and_strings(src: str) -> str:
    src = _strip_comments(src)
    return re.sub(r'"(\\.|[^"\\\n])*"|\'(\\.|[^\'\\\n])*\'', '""', src)


def _spliced(src: str) -> str:
    """The source with each backslash-newline removed, as the compiler does before anything else
    (a directive or a word split over two lines is read whole), each logical line followed by the
    newlines it joined, so that line numbers still name the line it starts on."""
    out, joined = [], 0
    for line in src.split("\n"):
        line = line.rstrip("\r")
        stripped = line.rstrip(" \t")
        if stripped.endswith("\\"):
            out.append(stripped[:-1])
            joined += 1
        else:
            out.append(line + "\n" * joined + "\n")
            joined = 0
    return "".join(out)


def _undigraphed(code: str) -> str:
    for digraph, plain in _DIGRAPHS:
        code = code.replace(digraph, plain)
    return code


def _tool(cmd: list[str], cpu_s: int | None = None) -> tuple[subprocess.CompletedProcess, str | None]:
    """A compiler or binutils run on the learner's file, bounded in CPU time (cpu_s, with
    COMPILE_MEMORY_MB of memory) and wall time: (its result, None), or (it, what it took too much of)."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
        memory = COMPILE_MEMORY_MB << 20
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=COMPILE_WALL_S,
                              preexec_fn=limit if cpu_s else None)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, -1, "", ""), f"took more than {COMPILE_WALL_S} s"
    if done.returncode and cpu_s:
        if "CPU time limit" in done.stderr or "signal terminated program" in done.stderr:
            return done, f"took more than {cpu_s} s of CPU time"
        if "out of memory" in done.stderr or "cannot allocate" in done.stderr.lower():
            return done, f"needed more than {COMPILE_MEMORY_MB} MiB"
    return done, None


def static_check(path: str, changes: frozenset[str] | None = None) -> list[str]:
    """What the learner's C may not contain or do, in words (empty: it may run). `changes`: the
    functions the exercise may change; the file's others must be the buggy kernel's (_kept_check)."""
    name = os.path.basename(path)
    try:
        src = open(path, encoding="utf-8", errors="strict").read()
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{name}: cannot be read as text ({exc})"]
    problems = []
    # read as the compiler reads it: lines spliced first (so a comment, a directive or a word
    # cannot be split to hide it), then comments; digraphs are their plain tokens
    src = _spliced(src)
    code = _undigraphed(_strip_comments_and_strings(src))
    uncommented = _undigraphed(_strip_comments(src)).splitlines()
    for n, line in enumerate(code.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#"):
            directive = stripped[1:].strip()
            word = re.split(r"\W", directive, maxsplit=1)[0]
            if word == "include":
                if not _INCLUDE_OK.match(uncommented[n - 1]):
                    problems.append(f"{name} line {n}: only #include \"kstat_model.h\" and system "
                                    f"headers such as <time.h> are allowed")
            elif word not in _DIRECTIVES and directive:
                problems.append(f"{name} line {n}: #{cut(directive.split()[0], 20)} is not allowed "
                                f"(allowed: #{', #'.join(sorted(_DIRECTIVES))})")
            elif "##" in directive or re.search(r"#\s*\w", directive):
                problems.append(f"{name} line {n}: token pasting and stringizing (# and ##) are not allowed")
        m = _BANNED_WORDS.search(line)
        if m:
            problems.append(f"{name} line {n}: {m.group(1)} is not allowed in an exercise's C")
        elif re.search(r"\[\s*\[", line):
            problems.append(f"{name} line {n}: attributes ([[...]]) are not allowed in an exercise's C")
    if problems:
        return problems
    return _object_check(path, name) or (_kept_check(path, name, changes) if changes else [])


_TOKEN = re.compile(r"\w+|[^\s\w]")


def _bodies(preprocessed: str) -> dict[str, list[str]]:
    """Each of DEFINES found in preprocessed C, as its tokens from the name to the closing brace."""
    out = {}
    for fn in DEFINES:
        m = re.search(rf"\b{fn}\s*\([^;{{}}]*\)\s*{{", preprocessed)
        if m is None:
            continue
        depth, end = 0, m.end() - 1
        for end in range(m.end() - 1, len(preprocessed)):
            depth += {"{": 1, "}": -1}.get(preprocessed[end], 0)
            if depth == 0:
                break
        # ASSERT() expands to the file's name and line (__FILE__, __LINE__), which differ by copy
        body = re.sub(r'(lk_assert_failed\s*\(.*?),\s*"[^"\n]*"\s*,\s*\d+\s*\)', r"\1)",
                      preprocessed[m.start():end + 1])
        out[fn] = _TOKEN.findall(body)
    return out


def _kept_check(path: str, name: str, changes: frozenset[str]) -> list[str]:
    """Each exercise is one fix: fix A changes kstat_install only, fix B the reader's passes only.
    The file's other functions must be the buggy kernel's (learner_template.c), compared after the
    preprocessor so that a macro cannot change them unseen: otherwise fix A's lock, submitted as
    fix B, would be graded as fix B (it passes every stress run, and ThreadSanitizer finds no race)."""
    from labkit.native._cbuild import NATIVE_DIR, compiler
    bodies = []
    for src in (path, os.path.join(NATIVE_DIR, "learner_template.c")):
        cpp, late = _tool([compiler(), *_build_flags(), "-E", "-P", "-I", NATIVE_DIR, src], COMPILE_CPU_S)
        if late:
            return [f"{name} could not be preprocessed: the preprocessor {late} on it"]
        if cpp.returncode != 0:
            return [f"{name} could not be preprocessed:\n{cut(cpp.stderr.strip(), 1500)}"]
        bodies.append(_bodies(cpp.stdout))
    mine, kernel = bodies
    kept = DEFINES - changes
    missing = sorted(fn for fn in kept if fn not in mine)
    changed = sorted(fn for fn in kept if fn in mine and mine[fn] != kernel[fn])
    allowed = " and ".join(f"{fn}()" for fn in sorted(changes))
    problems = []
    if missing:
        listed = ", ".join(f"{fn}()" for fn in missing)
        problems.append(f"{name} has no {listed}: this exercise changes {allowed} only, and the file keeps "
                        f"the buggy kernel's other functions as they are; copy {listed} back from "
                        f"labkit/native/learner_template.c (or start again from the exercise's file)")
    if changed:
        listed = ", ".join(f"{fn}()" for fn in changed)
        problems.append(f"{name} changes {listed}: this exercise changes {allowed} only, and the rest stays "
                        f"as the buggy kernel has it (labkit/native/learner_template.c); put {listed} back "
                        f"as the template has it (compared with macros expanded)")
    return problems


def _build_flags() -> list[str]:
    """The flags the module that runs is compiled with (_cbuild: Python's CFLAGS, -DNDEBUG among
    them, then labkit's): the static check reads the file as that build does, so that no
    `#ifdef NDEBUG` (or __PIC__, __OPTIMIZE__...) can put a call in the run that its object lacks."""
    from labkit.native._cbuild import build_flags
    return build_flags(False)


def _object_check(path, name) -> list[str]:
    from labkit.native._cbuild import NATIVE_DIR, compiler
    with tempfile.TemporaryDirectory(prefix="labkit-static-") as tmp:
        obj = os.path.join(tmp, "learner.o")
        cc, late = _tool([compiler(), *_build_flags(), "-c", "-I", NATIVE_DIR, path, "-o", obj], COMPILE_CPU_S)
        if late:
            return [f"{name} does not compile: the compiler {late} on it (a fix needs well "
                    f"under a second and a few MiB; macros that expand without end?)"]
        if cc.returncode != 0:
            return [f"{name} does not compile:\n{cut(cc.stderr.strip(), 1500)}"]
        nm, late_nm = _tool(["nm", "-P", obj])
        sections, late_elf = _tool(["readelf", "-SW", obj])
    if late_nm or late_elf:
        return [f"{name}: its object file could not be inspected in time"]
    if nm.returncode != 0 or sections.returncode != 0:
        return [f"{name}: its object file could not be inspected"]
    problems = []
    for line in nm.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        sym, kind = parts[0], parts[1]
        if kind in ("U", "w", "v"):     # undefined, or a weak reference (#pragma weak, [[gnu::weak]])
            if sym in BUILTIN_FIXES:
                problems.append(f"{name} uses {sym}, labkit's own fixes: a submission must be your own "
                                f"code, and labkit's built-in fixes earn nothing")
            elif sym not in ALLOWED_CALLS:
                problems.append(f"{name} calls or uses {sym}, which is not part of the kernel model "
                                f"(allowed: {', '.join(sorted(ALLOWED_CALLS - {'memcpy', 'memset', 'memmove', '__stack_chk_fail', '_GLOBAL_OFFSET_TABLE_'}))})")
        elif (kind.isupper() or kind == "u") and sym not in DEFINES:   # u: a unique global
            problems.append(f"{name} defines {sym} for the whole program; it may define only "
                            f"{', '.join(sorted(DEFINES))} (make helpers static)")
    m = _CTOR_SECTIONS.search(sections.stdout)
    if m:
        problems.append(f"{name} has a .{m.group(1)} section (a constructor or destructor): code that "
                        f"runs outside the functions of a fix is not allowed")
    return problems


def _call(shown: str, run: str) -> str:
    args = _RUNS[run][1]
    budget = ", ".join(f"{k}={v!r}" for k, v in args.items() if k != "kstats")
    chain = f", kstats={args['kstats']}" if "kstats" in args else ""
    return f"labkit.native.race(source={shown!r}, {budget}, seed={SEED}, writers={WRITERS}{chain})"


def _stub(text: str) -> str | None:
    """A stub still in place is MISSING, not BAD: the learner has not started."""
    if "not implemented yet" in text:
        return text.split("assertion failed: ")[-1].split(", file")[0]
    return None


def _race(path, check, run: str) -> dict:
    from labkit.native import _cbuild, race  # imported here: grading still loads where C cannot be built
    hang_after = max(5.0, min(20.0, timeout_for(check) / 4))
    try:
        _cbuild.build(path)
    except LabkitError as exc:  # it did not compile
        return {"outcome": "build", "detail": cut(str(exc), 1500)}
    try:
        args = _RUNS[run][1]
        r = race(source=path, seed=SEED, timeout=hang_after + args.get("seconds", 0), writers=WRITERS, **args)
    except LabkitError as exc:  # the engine stopped the run with an error (or refused to start it)
        return {"outcome": "error", "detail": cut(str(exc), 1500)}
    out = r.to_json()
    for key in ("detail", "first_uninstalled", "first_missing", "first_duplicate", "first_forged", "first_held",
                "lock_site", "first_kept"):
        out[key] = cut(str(out.get(key, "")), 600)
    return out


def _alone(path: str) -> str:
    """A copy of the learner's file in a new folder of its own (in the check's TMPDIR), which is
    what is checked and compiled: a quoted #include looks first in the file's own folder, so a
    kstat_model.h beside it in the submission was read instead of the model's, unchecked (it
    included solutions/fix_b.c, 10/10 for a fix_b.c of one #include, or a hidden check, which the
    compiler's errors showed)."""
    folder = tempfile.mkdtemp(prefix="labkit-c-", dir=os.environ.get("TMPDIR"))
    copy = os.path.join(folder, os.path.basename(path))
    shutil.copyfile(path, copy)
    return copy


def observe_c_fix(sub: Any, check: Any, filename: str) -> dict:
    """In the worker: the static check, then (only if it passes) the stress runs and TSan, one
    after another: nothing else of the check runs during a stress window, whose rounds depend on
    the CPU it gets. (tsan() overlaps its child's slow start-up with its build, not with a window.)"""
    from labkit.native import _zygote
    path = _alone(str(sub.file(filename)))
    _zygote.warm()   # the stress runs' server imports while the static check compiles
    try:
        return _observe(sub, check, filename, path)
    finally:
        _zygote.stop()   # waited for: its runs' CPU time is counted in the worker's
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def _observe(sub: Any, check: Any, filename: str, path: str) -> dict:
    from labkit.native import tsan
    problems = static_check(path, CHANGES[filename])
    if problems:
        return {"static": [cut(p, 1600) for p in problems[:5]]}
    obs: dict[str, Any] = {"static": [], "shown": sub.shown(filename)}
    for run in _RUNS:
        obs[run] = _race(path, check, run)
        if not _c_ok(obs[run]):
            return obs
    t = tsan(source=path, timeout=max(10.0, timeout_for(check) / 3), writers=WRITERS)
    obs["tsan"] = {"hang": bool(t.hang), "exit_code": t.exit_code, "detail": cut(str(t.detail), 600),
                   "races": [{"accesses": r["accesses"]} for r in t.races[:5]],
                   "record": _recorded(t.record)}
    return obs


def _recorded(record: dict | None) -> dict | None:
    """What _stress_wrong reads of a run's record (the TSan run's), its texts cut."""
    if not record or record.get("outcome") != "ok":
        return None
    keys = ("rounds", "installs", "overflows", "first_overflow_round", "uninstalled_copies",
            "first_uninstalled", "missing_copies", "first_missing", "duplicate_copies", "first_duplicate",
            "forged_copies", "first_forged",
            "holds_left", "first_held",
            "lock_left", "lock_held_by", "lock_site", "holds_kept", "first_kept")
    return {k: cut(str(record[k]), 600) if isinstance(record.get(k), str) else record.get(k)
            for k in keys}


def _c_ok(r: dict) -> bool:
    """Worth running the next stage: the run finished and the grader's own reading of it
    (_stress_wrong) finds nothing wrong. A pre-test only: the grader judges the data itself."""
    return r.get("outcome") == "ok" and _stress_wrong(r) is None


# ---- in the grader -----------------------------------------------------------------------------
def _stress_wrong(r: dict) -> str | None:
    """What a stress run that finished shows is wrong, in words (None: nothing)."""
    rounds, installs = int(r["rounds"]), int(r["installs"])
    overflows, uninstalled = int(r["overflows"]), int(r.get("uninstalled_copies", 0))
    missing, holds = int(r.get("missing_copies", 0)), int(r.get("holds_left", 0))
    lock_left = int(r.get("lock_left") or 0)
    if overflows:
        return (f"the reader's copy overflowed its buffer {overflows} times in {rounds} rounds "
                f"(first in round {r.get('first_overflow_round')})")
    if lock_left:
        return (f"{lock_left} of {installs} kstat_install calls returned with kstat_chain_lock still "
                f"held (taken {cut(str(r.get('lock_site', '')), 80)}), the first by thread "
                f"{cut(str(r.get('lock_held_by')), 5)}: every mutex_enter needs its mutex_exit, on every "
                f"path through the function (on illumos the next mutex_enter of the lock would wait "
                f"forever or panic)")
    forged = int(r.get("forged_copies") or 0)
    if forged:   # compared with the engine's shadow of each kstat, not known by its (writable) ks_kid
        return (f"in {forged} of {rounds} rounds the reader's copy held a header that is no kstat's copy, "
                f"first {cut(str(r.get('first_forged', '')), 200)}: its bytes match no kstat of the chain "
                f"as the kernel made it. A reader must be given each installed kstat's header as it is: "
                f"bcopy it whole, and write nothing into the copy or into a kstat")
    if uninstalled:
        return (f"in {uninstalled} of {rounds} rounds the reader's copy held a kstat before its "
                f"kstat_install had been called, first {cut(str(r.get('first_uninstalled', '')), 200)}: "
                f"a reader must be given installed kstats only (copying INVALID ones is the illumos "
                f"4246 regression)")
    if missing:
        return (f"in {missing} of {rounds} rounds the reader's copy lacked a kstat installed before the "
                f"copy began (its kstat_install had returned before the count, or had made it valid), "
                f"first {cut(str(r.get('first_missing', '')), 200)}: "
                f"the copy must give the reader every installed kstat")
    twice = int(r.get("duplicate_copies") or 0)
    if twice:
        return (f"in {twice} of {rounds} rounds the reader's copy held a kstat twice or more, first "
                f"{cut(str(r.get('first_duplicate', '')), 200)}: a reader must be given each installed "
                f"kstat once")
    if holds:
        return (f"when the run ended, {holds} kstat hold(s) had never been released; the first: "
                f"{cut(str(r.get('first_held', '')), 300)}. Every hold needs its kstat_rele (on illumos "
                f"every later kstat_hold of that kstat would wait forever)")
    kept = int(r.get("holds_kept") or 0)
    if kept:   # the thread's own tally of its holds (the record beside a kstat said otherwise)
        return (f"{kept} of {installs} kstat_install calls returned still holding a kstat: "
                f"{cut(str(r.get('first_kept', '')), 200)}. Every hold needs its kstat_rele")
    if installs == 0 or rounds == 0:
        return f"no progress ({rounds} reader rounds, {installs} kstats installed): one thread is stuck"
    return None


def _judge_stress(ctx, r: dict, name: str, shown: str, run: str) -> bool:
    what, points = _RUNS[run][0], _RUN_POINTS[run]
    again = f"\n            run it again: {_call(shown, run)}"
    outcome, detail = str(r["outcome"]), cut(str(r.get("detail", "")), 600)
    stub = _stub(detail)
    if stub:
        raise Missing(f"{name}: {stub}")
    if outcome == "build":
        return ctx.part(False, points, required=True, bad=f"{name}: {detail}")
    if outcome == "hang" and r.get("lock_held_by"):
        return ctx.part(False, points, required=True, bad=(
            f"{what}: {detail}. "
            f"Nothing may wait or loop while it holds kstat_chain_lock, and every mutex_enter "
            f"needs its mutex_exit{again}"))
    if outcome != "ok":
        why = {"crash": "your C crashed", "hang": "your C never returned (a deadlock? a loop?)",
               "error": "your C stopped with an error"}.get(outcome, cut(outcome, 20))
        return ctx.part(False, points, required=True, bad=f"{what}: {why}: {detail}{again}")
    wrong = _stress_wrong(r)
    if wrong:
        return ctx.part(False, points, required=True, bad=f"{what}: {wrong}{again}")
    rounds, installs = int(r["rounds"]), int(r["installs"])
    return ctx.part(True, points, good=f"{what}: no overflow in {rounds} rounds, {installs} kstats "
                                       f"installed, each copy held every installed kstat once and no other, "
                                       f"every hold released")


def _expected_flag_race(race_report) -> bool:
    a, b = race_report["accesses"]
    funcs = {a["function"], b["function"]}
    return (a["field"] == b["field"] == "ks_flags" and "kstat_install" in funcs
            and funcs & {"header_kstat_update", "header_kstat_snapshot"} != set())


_ENGINE_FILES = ("kstat_fr.c", "engine.c", "fault.c")


def _describe(race_report) -> str:
    """'W writes ks_flags in kstat_install (line 19); R reads ...': the write first.

    Lines in the learner's file are shown as `line N`: the build cache is keyed by content, so
    the file name in the debug info may be another copy's with the same text."""
    def where(a):
        return f"{a['file']}:{a['line']}" if a["file"] in _ENGINE_FILES else f"line {a['line']}"
    accesses = sorted(race_report["accesses"], key=lambda a: a["kind"] != "write")
    return cut("; ".join(f"{a['thread']} {a['kind']}s {a['field'] or 'memory'} in {a['function']} ({where(a)})"
                         for a in accesses), 400)


def judge_c_fix(data: dict, ctx: Any, filename: str, flag_race_expected: bool) -> None:
    if data["static"]:
        ctx.part(False, ctx.check.points, required=True,
                 bad="refused before it ran: " + "; ".join(cut(str(p), 1600) for p in data["static"]))
        return
    shown = cut(str(data["shown"]), 300)
    if not all(_judge_stress(ctx, data[run], filename, shown, run) for run in _RUNS):
        ctx.note("ThreadSanitizer not run: the fix must pass the stress test first")
        return
    t = data["tsan"]
    again = f"\n            run it again: labkit.native.tsan(source={shown!r}, writers={WRITERS})"
    # The run must have ended with its own record of what happened (outcome "ok"): races found
    # by a run that then crashed, or stopped with an engine error, do not show a clean run.
    if t["hang"] or not t.get("record") or (not t["races"] and t["exit_code"] != 0):
        why = cut(str(t["detail"]), 600) or f"it ended (exit code {t['exit_code']}) without its record of the run"
        ctx.part(False, 3, bad=f"ThreadSanitizer: the run did not finish normally: {why}{again}")
        return
    wrong = _stress_wrong(t["record"])
    if wrong:   # the same record, judged the same way, in the run under ThreadSanitizer
        ctx.part(False, 3, bad=f"ThreadSanitizer's run (free-running, {WRITERS} writers): {wrong}{again}")
        return
    unexpected = [r for r in t["races"] if not (flag_race_expected and _expected_flag_race(r))]
    if unexpected:
        ctx.part(False, 3, bad="ThreadSanitizer reports a data race: " +
                 " | ".join(_describe(r) for r in unexpected) + again)
    elif t["races"]:
        ctx.part(True, 3, good="ThreadSanitizer reports only the race fix B keeps (exercise 7): " +
                 _describe(t["races"][0]))
    else:
        ctx.part(True, 3, good="ThreadSanitizer: no data race")


@CHECKS.check(points=10, files=("fix_a.c",), timeout=120, native=True, cost=2.5,
              judge=lambda data, ctx: judge_c_fix(data, ctx, "fix_a.c", False))
def fix_a_c(sub: Submission) -> dict:
    """Fix A in C: stress-tested, and clean under ThreadSanitizer"""
    return observe_c_fix(sub, CHECKS.get("fix_a_c"), "fix_a.c")


@CHECKS.check(points=10, files=("fix_b.c",), timeout=120, native=True, cost=2.5,
              judge=lambda data, ctx: judge_c_fix(data, ctx, "fix_b.c", True))
def fix_b_c(sub: Submission) -> dict:
    """Fix B in C: stress-tested, and only the expected race under ThreadSanitizer"""
    return observe_c_fix(sub, CHECKS.get("fix_b_c"), "fix_b.c")

"""The grader's threat model: what a hostile submission cannot do, and how that is ensured.

A submission is hostile: it may contain any Python or C the exercises let it write. Each line
below is a guarantee with an id; tests/test_grading_threats.py has at least one test per id (a
test of it is named test_<id>_...), and a meta-test fails if a line has none.

What is NOT guaranteed is listed too (LIMITS), so nobody reads more into a grade than it says.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Guarantee:
    id: str
    claim: str
    how: str


GUARANTEES = (
    Guarantee("score_forged_file", "No file a submission writes (such as a result.json) changes a verdict.",
              "the worker reports on a pipe the grader opened, never a file; the learner's Python "
              "cannot open files (labkit.learner_code: no open, no import of os)"),
    Guarantee("score_exit_code", "No exit code or output a submission picks changes a verdict.",
              "a verdict comes only from the observations on the pipe; a worker that ends without "
              "them scores 0 (runner.judge_report)"),
    Guarantee("score_clamped", "A score is clamped to [0, points] of the check that was asked for.",
              "Ctx.finish clamps; observations name their check (and part) and are refused if it is "
              "another; "
              "a hidden check's parts are validated (bool, finite points within the check's)"),
    Guarantee("judge_not_patchable", "Patching labkit (its judge, its kernel, its modules) from a "
              "submission is impossible, and could not change a verdict anyway.",
              "learner Python may import only the public names of labkit.kernel.api, has no '_' names "
              "or attributes and may store only ks_* fields, and only into a kstat (the field guard; "
              "for ks_flags, learner_code.flags_target: `kstat_t.ks_flags = 0` replaced the kernel's "
              "property on the class); the judge runs in the grader process"),
    Guarantee("answers_plain", "An answer is converted to a plain built-in before it is compared; a "
               "learner object's methods are never called by the judge.",
              "labkit.answer_values tests exact types (type(v) is int) and the worker sends only "
              "plain JSON; classes cannot even be defined in an exercise file"),
    Guarantee("no_builtin_fixes", "A submission that uses labkit's own fixes (Python or C) earns "
               "nothing for that fix, and is told why.",
              "Python: imports other than labkit.kernel.api are refused with the reason; C: a "
              "reference to labkit's variants (lk_variants) is refused by the static check"),
    Guarantee("one_fix_per_exercise", "A fix is graded only as the fix its exercise asks for: "
               "fix A changes the writer (kstat_install), fix B the reader's passes; a file that "
               "changes the other side earns nothing for it, and is told why.",
              "simulator: the file may define only its exercise's functions (sim_checks._variant); "
              "C: the file's other functions must equal the buggy kernel's (learner_template.c) "
              "after the preprocessor, so a macro cannot change them unseen "
              "(native_checks._kept_check)"),
    Guarantee("c_static", "Learner C cannot run code outside the functions of its fix, include "
               "other files, use asm, or call anything but the kernel model.",
              "native_checks.static_check, reading the file as the compiler does (backslash-newlines "
              "joined first, digraphs such as %: as #): only #include \"kstat_model.h\" or a system "
              "header by a plain name, and no directive a fix does not need (#pragma, #import, #line, "
              "a line marker, #embed); no asm, attributes (__attribute__ or [[...]]), builtins, "
              "__seg_fs/__seg_gs, __has_include (it looks up any path), __SANITIZE_THREAD__ (defined in "
              "the ThreadSanitizer build only), # or ##; it is compiled and preprocessed with the flags "
              "of the build that runs (-DNDEBUG among them: no call hidden behind #ifdef NDEBUG); the file is checked "
              "and compiled as a copy alone in a folder of its own (native_checks._alone: a header "
              "beside it in the submission, a kstat_model.h of its own, is never read), so the "
              "compiler reads no file but it, the model's headers and the system's, and its errors "
              "quote nothing else, as root and as a normal user; "
              "compiled alone (the compiler bounded: COMPILE_CPU_S of CPU, COMPILE_MEMORY_MB), it "
              "defines only the three functions, uses only ALLOWED_CALLS (weak references "
              "included) and has no .init_array/.ctors/.fini_array section"),
    Guarantee("cannot_read", "Learner code cannot read the hidden checks, solutions/, other "
               "submissions, or the grader's command line and environment.",
              "workers are forked from a fork server started with the workers' minimal environment "
              "and a command line naming nothing, which never receives a job (the job, hidden source "
              "included, comes on the worker's own stdin after the fork); as root the worker is alone in a PID "
              "namespace (/proc shows no grader), empty tmpfs hide solutions/, the hidden folder "
              "and the folder of submissions, and it runs under its own uid"),
    Guarantee("cannot_reach_another_check", "Nothing one check writes is read by another check "
               "(of the same submission or another): no shared build cache, scratch or home.",
              "each check has its own scratch folder, HOME and native build cache inside it (owned by "
              "its uid as root, a uid no other check on the machine has: sandbox.take_uid locks its "
              "slot machine-wide, so two graders at once never share one); only the grader writes the engine objects checks link; the grader's "
              "own LABKIT_NATIVE_CACHE is not passed on; as root, the folders any uid may write (/tmp, "
              "/var/tmp, /dev/shm, /run/lock) and the check's scratch are an empty tmpfs of its "
              "own (sandbox.private_folders), and it has its own System V IPC and network "
              "namespaces (a 0666 file or shared memory segment one check left was read by the "
              "next; an abstract unix socket or a loopback port was reachable from every check)"),
    Guarantee("server_pristine", "What one check's worker does to the fork server it was forked "
               "from (patching a module, ptrace, writing its memory, killing it) does not reach the "
               "checks after it, which the same server forks (a notebook's checks share one).",
              "the server never runs learner code or receives a job, and imports nothing once it "
              "serves (forkserver.PRELOAD); a worker is a copy-on-write fork, so a patched module is its own "
              "copy; the server is not dumpable (prctl PR_SET_DUMPABLE 0), so a worker of its uid "
              "(no root: a learner's own check) can neither ptrace it nor open its /proc/<pid>/mem; "
              "as root a worker is in its own PID namespace under its own uid and sees no server; "
              "a server that was killed is started afresh at the next spawn (ForkServer.spawn)"),
    Guarantee("cannot_outlive", "Every process a check starts is gone when the check ends, including "
               "ones that setsid or double-fork.",
              "as root: PID namespace (its PID 1 dying kills all) and a cgroup emptied at the end; "
              "otherwise the worker is a child subreaper and the runner stops and kills its whole "
              "tree"),
    Guarantee("memory_bounded", "Memory is bounded for every check, native ones included.",
              "as root: a memory cgroup (TSan's address-space reservation does not count, resident "
              "memory does), which what the check writes is charged to too (its HOME, TMPDIR and "
              "/tmp are a tmpfs of at most the memory bound: they were on the grader's disk); "
              "otherwise RLIMIT_AS for Python checks and a resident-memory watcher over the "
              "check's process tree for native ones"),
    Guarantee("time_bounded", "A check that hangs or loops is stopped at its timeout; the others go on.",
              "a timeout in the time the check's workers had a CPU (runner.Budget: wall time less the "
              "longest run-queue wait of any thread of the worker's tree, as detect.ChildClock counts "
              "a stress run's child; a learner's own SIGSTOP counts as its time), with a wall-clock "
              "backstop of four times it (at least a minute more), then the whole process tree or "
              "cgroup is killed; a check split into parallel parts shares one timeout, its parts' "
              "time summed, so a hanging fix gets the check's time once, not once per part; the "
              "ThreadSanitizer child's timeout is a ChildClock's too"),
    Guarantee("output_bounded", "Learner text in a report is cut to a few hundred characters, saying so.",
              "answer_values.cut on every learner-made string (values, messages, schedules); "
              "RLIMIT_FSIZE on files; the report pipe is read up to 16 MiB"),
    Guarantee("report_unforgeable", "Learner text cannot forge, hide or restyle a line of a report.",
              "every line's text is made printable where lines are made (model.Line: ANSI escapes, "
              "carriage returns, right-to-left overrides and line separators are shown as escapes) "
              "and a continuation line is indented under the text, so it never starts at a line's "
              "column; submission names in `grade --many` are shown on one line (in its report and in the "
              "progress line it prints as each submission ends), and in its gradebook.csv "
              "a name that a spreadsheet would run as a formula (= + - @) is written as text"),
    Guarantee("submission_bounded", "What the grader reads of a submission is bounded, and read "
               "without following a link or blocking, even if the folder changes while it is graded.",
              "one copy, submission_copy.copy_submission, for each check's folder (runner) and for "
              "a Gradescope upload (classroom.gradescope.copy_upload): top-level files only, the "
              "check's own files first, then at most "
              "MAX_SUBMISSION_FILES files and MAX_SUBMISSION_BYTES in all (saying why the rest was "
              "left out, and a check that needs a file left out says why); the folder opened once "
              "with O_NOFOLLOW (a submission folder of grade --many that links to solutions/ is not "
              "graded as it) and each file from it (openat) with "
              "O_NOFOLLOW | O_NONBLOCK, copied from that open file if fstat says it is a regular file "
              "(a folder, socket, pipe or device named as a check's file is said to be one); "
              "the answers.json the grader itself reads for participation the same way, at most "
              "4 MiB, JSON too deep to parse a problem of that file only (participation.read_answers)"),
    Guarantee("cannot_hide_from_the_search", "A simulator fix cannot pass by sharing state the "
               "exhaustive search does not order (a wrong fix hidden that way loses its check's points).",
              "the loader refuses mutable state at a file's top level, mutable default arguments and "
              "decorators; kstat fields other than ks_flags (and gethrtime's clock) are read and "
              "stored only under kstat_chain_lock, through a guard the loader writes into the code "
              "(labkit.kernel.fields), and stores hold an int in a kstat, never a function or class"),
    Guarantee("wrong_fixes_fail", "Fixes right for one concurrent install only, or that break the "
               "kernel's behaviour without a panic, lose the points of their check.",
              "two concurrent writers, in the simulator at small and seed scale and in C (threads W "
              "and X, forced on 64 kstats and on the seed's 5698, and free-running); invariants judged from the kernel's record of what happened "
              "(who installed what: in the simulator a clear of INVALID is an install only "
              "inside the kernel model's own call of kstat_install for that kstat on that thread, "
              "Kernel.run_kstat_install, not a function named so on the stack; when the copy read "
              "it, holds at the end, who holds "
              "kstat_chain_lock and where it was taken, checked as each kstat_install returns), kept "
              "in C where learner code cannot name it, compared with the copied headers (none may be "
              "there twice; each known by the engine's shadow of every kstat's header, byte for byte, "
              "not by its ks_kid, which learner C can write into a copy or a kstat), and judged "
              "in the ThreadSanitizer run too; a recursive mutex_enter or a mutex_exit by a "
              "non-owner (of kstat_chain_lock or a lock of the learner's own) stops the run as illumos "
              "panics; a run where a thread makes no progress for 5 s of the time it had a CPU "
              "(not of the wall clock: a paused or loaded machine cannot fake it) is reported with "
              "the lock's holder, where each thread is and what it waits for (so are the 5 s its threads "
              "get to end once stopped, and each stress run's 20 s timeout, bounded at four times "
              "that on the wall clock: detect.ChildClock)"),
)

LIMITS = (
    "Learner C runs in-process with the native engine. The static check stops constructors, asm, "
    "and calls outside the model, but not deliberate memory corruption through pointer arithmetic "
    "(for example writing into the engine's counters or a return address). Nothing a verdict rests "
    "on sits beside a kstat_t in ekstat_t any more, where such arithmetic reaches without finding "
    "the engine (`void *p = ksp + 1;`, or a copy of ekstat_t's layout): a hold's holder there is "
    "backed by each thread's own tally of its holds (thread-local, checked as each kstat_install "
    "returns), and which kstats are not yet installed, not yet returned from kstat_install, must be "
    "in a copy or were in it are kept in the engine's own state and R's own lists, as is the lock's "
    "holder (tried: a fix that forged when its kstat_install returned, forges_installed.c, scored "
    "7/10 before; its forgery is now in vain, and the one-fix rule refuses it too). The chain "
    "itself is the engine's own array of kstats and their kids, not links beside each kstat (a "
    "count pass that unlinked INVALID kstats through ekstat_t's old e_next hid them from every copy "
    "and from the record alike: hides_kstats_by_unlinking.c, 10/10 before, 0 now). What is left "
    "beside a kstat is its holder (backed by the tally) and its named data. A forger "
    "who finds the engine's own state (its layout in the built module) could change any count; the "
    "sandbox still bounds what it can read, how long it lives and how much memory it takes.",
    "Without root (a learner's own labkit.grading.check() in a notebook) learner code runs as the "
    "learner: it could read what the learner can (no hidden checks are on a learner's machine), "
    "and memory is bounded only at the watcher's pace (every 50 ms) for native checks.",
    "In C a kstat counts as installed once its writer has called kstat_install on it (the C's "
    "stores cannot be watched as the simulator's are), so a first pass that clears INVALID on a "
    "kstat whose kstat_install has already begun is caught in the simulator only.",
    "A check's time is the time its threads were not waiting for a CPU: a check that keeps one of "
    "its own threads always runnable and waiting (more busy threads than cores) stretches its "
    "time towards the wall-clock backstop, four times its timeout (RLIMIT_CPU still bounds each "
    "process's CPU time, two cores' worth of the timeout).",
    "The simulator checks run fixed scales (3 kstats and the seed's 5698, LABKIT_GRADE_SCALES): a "
    "fix written to misbehave only at other chain lengths would pass them. An instructor who "
    "fears that adds a hidden check at another scale (INSTRUCTORS.md section 4).",
    "Hidden checks are the instructor's own code: they run in the worker next to learner code and "
    "report their parts, which the grader validates and clamps; the learner's code cannot reach "
    "them (it cannot import or touch '_' names), but an instructor's check that calls learner "
    "objects' methods itself trusts them.",
)

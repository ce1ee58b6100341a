"""The course's questions, by id: what notebooks ask with `ask(qid)`.

Kept here, not in the notebooks, so that the answer and its explanation are never in a cell's
shown source: a notebook cell says only `ask("02-index")`, and the widget records the learner's
answer before it reveals the one below (see question.py).
"""

from typing import Any


QUESTIONS: dict[str, dict[str, Any]] = {
    '00-try': dict(
        prompt='Practice: the number 0x1642 in decimal is?',
        answer=0x1642,
        kind='int',
        explanation='0x1642 = 1*4096 + 6*256 + 4*16 + 2 = 5698. Type numbers either way: 5698 and 0x1642 are the same answer. (You will meet this one again in notebook 2.)',
    ),
    '01-top-frame': dict(
        prompt='Which function was executing when the thread stopped?',
        answer='bcopy',
        choices=['_sys_sysenter_post_swapgs', 'ioctl', 'read_kstat_data', 'bcopy'],
        explanation='The innermost frame is printed first. bcopy copies bytes; offset 0x194 is the instruction it was executing.',
    ),
    '01-fd': dict(
        prompt="ioctl's first argument is printed as d. Which file descriptor is that, in decimal?",
        answer=13,
        kind='int',
        explanation='mdb prints arguments in hex: d = 0xd = 13.',
    ),
    '01-ioctl-letter': dict(
        prompt='0x4b is the ASCII code of which letter?',
        answer='K',
        choices=['D', 'K', 'Z', 'k'],
        explanation="0x4b = 75 = 'K' (lowercase 'k' is 0x6b). /dev/kstat's commands are ('K' << 8) | n.",
    ),
    '01-user-pointer': dict(
        prompt='Is 0x80475e8 a kernel address or an address in the calling process?',
        answer='in the calling process (user space)',
        choices=['in the kernel', 'in the calling process (user space)'],
        explanation='amd64 kernel addresses sit at the very top of the address space (0xfffff...). 0x80475e8 is small: a user address, and one a 32-bit program could make.',
    ),
    '01-major': dict(
        prompt='What is the major number of dev_t 0x200000000?',
        answer=2,
        kind='int',
        explanation='0x200000000 >> 32 = 2, and the low 32 bits (the minor number) are 0.',
    ),
    '01-model': dict(
        prompt='Which data model does the flag word 0x100001 carry?',
        answer='DATAMODEL_ILP32 (32-bit)',
        choices=['DATAMODEL_ILP32 (32-bit)', 'DATAMODEL_LP64 (64-bit)', 'none'],
        explanation='0x100001 & 0x0ff00000 = 0x00100000 = DATAMODEL_ILP32; the low bit 0x1 is FREAD.',
    ),
    '01-missing': dict(
        prompt='Which function called bcopy, even though it does not appear on the stack?',
        answer='header_kstat_snapshot',
        choices=['header_kstat_update', 'header_kstat_snapshot', 'kmem_zalloc', 'kstat_hold_bykid'],
        explanation='header_kstat_snapshot copies each header with bcopy. It is missing because bcopy builds no stack frame of its own (see below).',
    ),
    '01-lock': dict(
        prompt='This thread is in mutex_vector_enter, the slow path of mutex_enter, spinning (mutex_delay_default): it wants a mutex whose owner is running on a CPU. The panicking reader was running, and held one mutex from its count to its copy. Which mutex is this thread most likely after?',
        answer='kstat_chain_lock',
        choices=['kstat_chain_lock', "the new kstat's own ks_lock", 'a zone lock'],
        explanation="The reader held kstat_chain_lock and was on a CPU until it died, which is what a spinner waits on. The source confirms it: kstat_rele() takes kstat_chain_lock to drop its hold on the kstat.",
    ),
    '02-sizeof': dict(
        prompt='ks_data_size = 0xfff70 and ks_ndata = 0x1642. How many bytes does one header take? (decimal or 0x hex)',
        answer=184,
        kind='int',
        explanation='0xfff70 / 0x1642 = 0xb8 = 184, with nothing left over: sizeof (kstat_t) on amd64.',
    ),
    '02-mapped': dict(
        prompt='How many bytes are mapped for a 0xfff71-byte allocation, rounded up to whole 0x1000-byte pages?',
        answer=1048576,
        kind='int',
        explanation='0xfff71 rounded up to a multiple of 0x1000 is 0x100000 (1 MiB). The 0x8f bytes after the allocation are rounding slack; kbuf+0x100000 is unmapped.',
    ),
    '02-index': dict(
        prompt='The fault is at kbuf+0x100000. Which header (0-based index) was the copy writing? Headers are 0xb8 bytes each.',
        answer=5698,
        kind='int',
        explanation='0x100000 / 0xb8 = 5698 remainder 0x90: byte 0x90 of header index 5698, the 5699th header. The count was 5698, so valid indexes end at 5697.',
    ),
    '02-reading': dict(
        prompt='Which reading of kbuf+0x100028 fits a buffer of 0x100000 mapped bytes followed by an unmapped page?',
        answer="B: it is bcopy's %rsi; the fault was at kbuf+0x100000",
        choices=['A: it is the faulting byte; two extra headers were copied', "B: it is bcopy's %rsi; the fault was at kbuf+0x100000"],
        explanation="kbuf+0x100028 is in the same unmapped page as kbuf+0x100000, and header 5698 covers kbuf+0xfff70 to kbuf+0x100027: copying it touches kbuf+0x100000 first. Under A the copy would have faulted there, before reaching 0x100028. B fits, but it rests on an inference about bcopy's code; the report has no registers to confirm it.",
    ),
    '02-owner': dict(
        prompt="Whose address is in kstat_chain_lock's word?",
        answer="the panicking reader's",
        choices=["the panicking reader's", "the zone_create thread's", "nobody's (0)"],
        explanation='The reader took kstat_chain_lock before counting and still held it while copying: the lock word is its kthread_t address, waiters bit clear.',
    ),
    '02-spin': dict(
        prompt='Another thread wanted kstat_chain_lock, yet the waiters bit is clear. Why?',
        answer='it was spinning, because the owner was running on a CPU',
        choices=['it was spinning, because the owner was running on a CPU', 'it had not tried to take the lock yet', 'only readers set the waiters bit'],
        explanation='An adaptive mutex spins while its owner runs and sleeps (setting MUTEX_WAITERS) only when the owner is off CPU. The reader was on a CPU until it panicked.',
    ),
    '03-invalid-bit': dict(
        prompt="W's new kstat before and after kstat_install(), which clears exactly one flag: which ks_flags bit is KSTAT_FLAG_INVALID?",
        answer='0x20',
        choices=['0x01', '0x02', '0x10', '0x20'],
        explanation='Before, ks_flags was 0x21; after, 0x01: the bit that went is 0x20. VIRTUAL 0x01, VAR_SIZE 0x02, WRITABLE 0x04, PERSISTENT 0x08, DORMANT 0x10, INVALID 0x20. kstat_create_zone() sets INVALID on every new kstat; kstat_install() clears it.',
    ),
    '03-install-lock': dict(
        prompt='When kstat_install() clears KSTAT_FLAG_INVALID, what protects that store?',
        answer='only the hold on the kstat (no mutex)',
        choices=['kstat_chain_lock', "the new kstat's own ks_lock", 'only the hold on the kstat (no mutex)'],
        explanation='kstat_hold_bykid() took and dropped kstat_chain_lock before returning; the clear happens with the hold only. kstat_rele() takes the chain lock again, after the clear.',
    ),
    '03-data-size': dict(
        prompt='ks_ndata = 0x1642 headers: what ks_data_size did the first pass set?',
        answer=1048432,
        kind='int',
        explanation='0x1642 = 5698 headers x 0xb8 = 184 bytes = 1048432 = 0xfff70 bytes, the value in the dump. kmem_zalloc is then asked for 0xfff71 bytes.',
    ),
    '03-half-made': dict(
        prompt='W has created kid 3 (INVALID) but not installed it; R reads the headers now. Which kids does R get?',
        answer='0, 1, 2',
        choices=['0, 1, 2', '0, 1, 2, 3', '0, 1, 2 and a zero-filled record'],
        explanation='Both passes skip INVALID kstats, so the half-made kid 3 is neither counted nor copied: 3 headers, 3 records.',
    ),
    '03-why-4246': dict(
        prompt='Why did adding the INVALID test to both passes make an overflow possible?',
        answer='membership now depends on a flag written without kstat_chain_lock',
        choices=['the test made the count pass slower', 'membership now depends on a flag written without kstat_chain_lock', 'the two passes used different tests'],
        explanation='The two passes use the same test, under the same lock. But the lock only freezes what is written under it; ks_flags is cleared in kstat_install() outside it, so the answer to the test can change between the count and the copy.',
    ),
    # Notebook 04's questions, as issue-11b's notebook defines them today (for ask()).
    '04-order': dict(
        prompt="For R's copy to write past its buffer, in which order must these happen?",
        answer='R counts, W clears INVALID, R copies',
        choices=['W clears INVALID, R counts, R copies', 'R counts, W clears INVALID, R copies', 'R counts, R copies, W clears INVALID'],
        explanation="The copy must find one kstat more than the count did: W's kstat must be INVALID when R counts and valid when R copies it. W also has to have created it before R counts (the kstat must be in the tree).",
    ),
    '04-where-w': dict(
        prompt="Predict: at the moment R's copy writes past its buffer, what will W be doing?",
        answer='spinning in mutex_enter() for kstat_chain_lock, called from kstat_rele()',
        choices=['still creating its kstat in kstat_create_zone()', 'about to clear KSTAT_FLAG_INVALID in kstat_install()', 'spinning in mutex_enter() for kstat_chain_lock, called from kstat_rele()', 'finished: zone_create() has returned'],
        explanation="W cleared the flag without any lock, then kstat_rele() wanted kstat_chain_lock, which R holds from before its count until after its copy. R is on a CPU, so W spins (the adaptive mutex's choice), and the lock word shows no waiters bit: the same picture as the seed's dump.",
    ),
    '04-recursive-mutex': dict(   # asked by level 3 (labkit/widgets/levels.py) once its goal is reached
        prompt="The simulator calls this a deadlock. In a real illumos kernel, what happens when W's mutex_enter() finds kstat_chain_lock owned by W itself?",
        answer='the kernel panics: "recursive mutex_enter"',
        choices=['W spins on the lock forever, and its CPU hangs', "W sleeps on the lock's turnstile forever (a deadlock)", 'the kernel panics: "recursive mutex_enter"', 'mutex_enter() returns at once: kernel mutexes may be taken twice'],
        explanation='An adaptive kmutex is not recursive, and illumos checks: in mutex_vector_enter() (usr/src/uts/common/os/mutex.c), a thread that finds itself the owner calls mutex_panic("recursive mutex_enter", lp). The simulator\'s mutex does not check; it reports a deadlock instead. That is the model\'s choice, not what illumos does: a real machine would have panicked at W\'s mutex_enter().',
    ),
    '04-rare': dict(
        prompt='Under random scheduling, about what share of runs of the small buggy kernel panic?',
        answer='under 2%',
        choices=['about half', 'about 10%', 'under 2%', 'none at all'],
        explanation="Well under one run in fifty (the table shows this notebook's own figure, seed 0): W must stop inside a window of a few steps, after making its kstat and before clearing its flag, and R must then run its whole count before W goes on.",
    ),
    '04-pct': dict(
        prompt='Will PCT at depth 2 (one priority change per run) find the panic?',
        answer='no',
        choices=['yes', 'no'],
        explanation="No. The panic needs W to be stopped twice in the right places: after creating its kstat (so R can count without it), and again right after its unlocked store (so R copies before W goes on). The shortest failing schedule has 2 preemptions; in PCT's terms the bug has depth 3. A strategy's guarantee is only as good as the depth you give it.",
    ),
    '05-time': dict(
        prediction=True,
        prompt='Buggy kernel, 5 µs window: over ten runs on this machine, each stopped at its first overflow or after 0.5 s, what will the median time to the first overflow be?',
        ranges=[(0.01, 'under 10 ms'), (0.5, 'between 10 ms and 0.5 s'), (float('inf'), 'no overflow within 0.5 s in most runs')],
        explanation='Your answer is checked against this notebook\'s own measurement, so it depends on this machine. R counts and copies thousands of times a second (the runs in this notebook print how many), and W installs many kstats in that time, but an overflow needs W\'s clear to land between one count and its copy.',
    ),
    '05-fault-header': dict(
        prompt='65 headers were counted and the buffer ends at the guard page. The copy of which header (0-based) faults?',
        answer=65,
        kind='int',
        explanation='Headers 0..64 fit. Header 65 starts at kbuf + 65*0xb8 = kbuf+0x2eb8, the extra byte of the buffer; its second byte, kbuf+0x2eb9, is the first byte of the guard page. One header more than counted is enough.',
    ),
    '05-tsan': dict(
        prompt="Which kstat_t field will ThreadSanitizer name in the buggy kernel's race?",
        answer='ks_flags',
        choices=['ks_ndata', 'ks_data_size', 'ks_flags', 'ks_next'],
        explanation='W writes ks_flags (clearing INVALID) with no lock; R reads ks_flags in both passes under kstat_chain_lock. A lock only orders accesses if both sides take it.',
    ),
    '06-where-w-waits': dict(
        prompt="In illumos' fix A (the diff above), R is between its count and its copy when W reaches kstat_install(). Where does W wait?",
        answer='at mutex_enter(&kstat_chain_lock), before clearing the flag',
        choices=['at mutex_enter(&kstat_chain_lock), before clearing the flag',
                 'in kstat_rele(), after clearing the flag',
                 'nowhere: it clears the flag and R copies one header too many'],
        explanation='Before the fix W waited in kstat_rele(), after the clear: too late. With the fix the clear itself is inside the lock, so W waits before it, until R has copied and dropped the lock.',
    ),
    '06-drop-before-rele': dict(
        prompt='Fix A drops kstat_chain_lock before calling kstat_rele(). Why not hold it across the call?',
        answer='kstat_rele() takes kstat_chain_lock itself',
        choices=['kstat_rele() takes kstat_chain_lock itself', 'to make the critical section faster',
                 'it makes no difference'],
        explanation='kstat_rele() enters kstat_chain_lock to clear the owner and wake waiters. On illumos, mutex_enter on an adaptive mutex the thread already owns panics: mutex_vector_enter() calls mutex_panic("recursive mutex_enter", lp) (usr/src/uts/common/os/mutex.c). It does not hang.',
    ),
    '07-overflow': dict(
        prompt='Fix B: the first pass counts every kstat visible in the zone, INVALID or not; the copy is unchanged. Can the copy ever write more headers than the count?',
        answer='no',
        choices=['yes', 'no'],
        explanation='Every kstat the copy takes (in the tree, visible in the zone, not INVALID) was in the tree and visible at count time, and the count took all of those: tree and zone membership only change under kstat_chain_lock, which R holds throughout.',
    ),
    '07-short-copy': dict(
        prompt='Fix B. W has created kid 3 (INVALID) but not installed it; R reads now. What does R get?',
        answer='ks_ndata 4, but 3 headers and one record of zeros',
        choices=['ks_ndata 3 and 3 headers', 'ks_ndata 4 and 4 headers', 'ks_ndata 4, but 3 headers and one record of zeros'],
        explanation="The count includes the INVALID kid 3 (4 headers, 4 * 0xb8 bytes); the copy skips it, so the last 0xb8 bytes of the kmem_zalloc'ed buffer stay zero.",
    ),
    '08-restores': dict(
        prompt="Exactly what does illumos' fix (commit c9bbee95) make true?",
        answer='INVALID is cleared under kstat_chain_lock on the install path',
        choices=['INVALID is cleared under kstat_chain_lock on the install path',
                 'every write of ks_flags happens under kstat_chain_lock',
                 'the copy never writes more headers than the buffer holds'],
        explanation="The commit wraps one store, kstat_install()'s clear of KSTAT_FLAG_INVALID, in mutex_enter/mutex_exit of kstat_chain_lock. Other ks_flags writes still happen under the kstat's hold only: kstat_delete() sets DORMANT, kstat_install() clears it, and kstat_create_zone()'s dormant reactivation sets INVALID again. None of those can make a copy longer than its count (setting INVALID can only make it shorter). No bounds check was added to the copy.",
    ),
    '09-owner': dict(
        prompt='At the moment your buggy small kernel panicked, which thread owned kstat_chain_lock?',
        answer='R, the reader whose copy faulted',
        choices=['R, the reader whose copy faulted', 'W, the zone_create thread', 'nobody: the lock was free'],
        explanation="R takes kstat_chain_lock before its count and keeps it through the copy, and the copy is where it faulted. kstat_chain_lock/K shows R's thread address.",
    ),
    '09-where-w': dict(
        prompt='And where was W at that moment?',
        answer='in kstat_rele(), after its clear, spinning on kstat_chain_lock',
        choices=['in kstat_install(), before its clear of KSTAT_FLAG_INVALID',
                 'in kstat_rele(), after its clear, spinning on kstat_chain_lock',
                 'done: its kstat_install() had returned'],
        explanation="The copy found one header more than the count, so W's clear landed between R's two passes. Right after it W calls kstat_rele(), which begins with mutex_enter(&kstat_chain_lock): R holds that lock until after the copy, so W can go no further. THREAD::findstack -v shows W in mutex_vector_enter, called from kstat_rele.",
    ),
    '09-waiters': dict(
        prompt="Is the waiters bit (bit 0 of kstat_chain_lock's owner word) set in your dump?",
        answer='no',
        choices=['yes', 'no'],
        explanation="W found the lock held by R, and R was running on its CPU, so W spins: an adaptive mutex spins while its owner runs, and only a waiter that goes to sleep sets MUTEX_WAITERS. The seed's dump has the same shape: an owner, no waiters bit.",
    ),
    '09-wrong-fix-end': dict(
        prompt='In the simulator, what becomes of this kernel once W runs its kstat_install()?',
        answer='it stops: no thread can run again',
        choices=['it panics, as the buggy kernel can', 'it stops: no thread can run again',
                 'it runs to the end, as fix A does'],
        explanation="W takes kstat_chain_lock, clears the flag, and calls kstat_rele(), whose first act is mutex_enter(&kstat_chain_lock): W waits for a lock it holds itself, and so does R if it has not finished. The simulator calls that a deadlock. That is our modelling choice: illumos checks, and its mutex_vector_enter() would panic at that mutex_enter() with \"recursive mutex_enter\" (usr/src/uts/common/os/mutex.c).",
    ),
    '09-wrong-fix-lock': dict(
        prompt="When it has stopped, who owns kstat_chain_lock, and is the waiters bit set?",
        answer='W owns it, and the waiters bit is set',
        choices=['R owns it, and the waiters bit is clear', 'W owns it, and the waiters bit is clear',
                 'W owns it, and the waiters bit is set', 'nobody owns it'],
        explanation="W owns the lock and waits for it. The simulator's adaptive mutex lets a waiter spin only while the owner runs; this owner is itself waiting, so the waiter blocks and sets MUTEX_WAITERS: the owner word is W's thread address with bit 0 set. ::mutex says so, and that a real kernel would have panicked before this.",
    ),
}

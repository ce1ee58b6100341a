"""Where a check's worker runs: its own processes, user, memory and lifetime (see threat_model.py).

Two modes, chosen by who runs the grader:

- root (Gradescope's autograder, `labkit grade` in a container): the worker is forked (by
  forkserver.py) as `unshare --pid --fork --mount-proc --kill-child` would start it: PID 1 of a
  new PID namespace with its own /proc, killed if its monitor dies (every
  process it or its children start, setsid or double-forked, dies with it, and /proc shows no
  process outside it: not the grader's command line or environment). It joins a fresh cgroup
  (memory and pids controllers) before it reads its job, so memory is bounded for native checks
  too, whatever ThreadSanitizer reserves. Then, still root inside its own mount namespace, it
  mounts empty tmpfs over the paths learner code must not read (solutions/, the hidden-check
  folder, the folder of other submissions), puts an empty tmpfs of its own over the folders
  any uid may write (private_folders: its scratch folder is made again in it) and drops to a
  uid of its own (one per concurrent check, never 0), with no supplementary groups. Its System V
  IPC and network namespaces are its own too (forkserver.py).
- not root (a learner's `labkit.grading.check()` in a notebook): no namespace, no other uid. The
  worker becomes a child subreaper (PR_SET_CHILD_SUBREAPER), so nothing it starts can leave its
  tree; at the end the runner stops and kills the whole tree. Memory: RLIMIT_AS for Python checks,
  and the runner sums the resident memory of the tree every WATCH_SECONDS and kills it over the
  limit (native checks: TSan's reservation makes RLIMIT_AS useless). What this mode cannot
  guarantee: learner code runs as the learner, so it could read what the learner can read (there is
  nothing secret on a learner's machine: hidden checks are not there), and memory is bounded only
  at the watcher's pace.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable
import fcntl
import os
import signal
import stat
import threading
import time
from pathlib import Path

_MiB = 1 << 20
#: A check's memory bound (bytes, every process of the check together): LABKIT_GRADE_MEMORY_MB.
WATCH_SECONDS = 0.05
UID_BASE = 61000  # the uids checks run as when the grader is root: UID_BASE + slot
PIDS_MAX = 256

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_CHILD_SUBREAPER = 36
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC = 2, 4, 8, 4096, 16384


def is_root() -> bool:
    return os.geteuid() == 0


def has_pid_namespaces() -> bool:
    """unshare --pid works here (root, and a kernel and container that allow it)."""
    global _pidns_ok
    if _pidns_ok is None:
        import subprocess
        try:
            _pidns_ok = is_root() and subprocess.run(
                ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "true"],
                capture_output=True, timeout=20).returncode == 0
        except (OSError, subprocess.SubprocessError):
            _pidns_ok = False
    return _pidns_ok


_pidns_ok: bool | None = None


# ---- uids: one per concurrent check, on the whole machine ---------------------------------------
# A slot is taken by this process (_slots_used, for its threads) and, across processes, by an
# flock() on the slot's file in a folder only root may write: two graders running at once as root
# (two instructors, CI beside a grading run) once gave their first checks the same uid, so one
# submission's code could read the other's scratch folder (0700, but its own uid's). A grader that
# dies releases its locks with its files.
SLOT_LOCKS = ("/run/labkit-grade-uids", "/tmp/labkit-grade-uids-0")
_slots_lock = threading.Lock()
_slots_used: set[int] = set()
_slot_files: dict[int, int] = {}   # slot -> the fd holding its lock


def _slot_folder() -> str | None:
    """The first folder of SLOT_LOCKS that is root's own, written by nobody else (made if need be)."""
    for d in SLOT_LOCKS:
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
        except OSError:
            continue
        st = os.lstat(d)
        if stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and not st.st_mode & 0o022:
            return d
    return None


def take_uid() -> int:
    """A uid (UID_BASE + slot) no other check on this machine has now."""
    with _slots_lock:
        folder = _slot_folder() if is_root() else None
        for slot in range(10_000):
            if slot in _slots_used:
                continue
            if folder is not None:
                fd = os.open(os.path.join(folder, str(slot)),
                             os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:         # another grader's check has it
                    os.close(fd)
                    continue
                _slot_files[slot] = fd
            _slots_used.add(slot)
            return UID_BASE + slot
    raise OSError("no free uid for a check (10,000 in use)")


def give_uid(uid: int) -> None:
    with _slots_lock:
        _slots_used.discard(uid - UID_BASE)
        fd = _slot_files.pop(uid - UID_BASE, None)
        if fd is not None:
            os.close(fd)                # (the lock goes with it)


# ---- cgroups (v1, as mounted here; v2 unified if that is what there is) -----------------------
class Cgroup:
    """A memory + pids cgroup for one check; `kill()` empties it, `close()` removes it."""

    ROOT = Path("/sys/fs/cgroup")

    def __init__(self, name: str, memory: int):
        self.dirs: list[Path] = []
        self.memory_dir: Path | None = None
        for ctl, settings in (("memory", {"memory.limit_in_bytes": memory,
                                          "memory.memsw.limit_in_bytes": memory}),
                              ("pids", {"pids.max": PIDS_MAX})):
            base = self.ROOT / ctl
            if not (base / "cgroup.procs").exists():
                continue
            d = base / name
            d.mkdir(exist_ok=True)
            self.dirs.append(d)
            for f, v in settings.items():
                try:
                    (d / f).write_text(str(v))
                except OSError:
                    pass  # memsw needs swap accounting; the memory limit alone still bounds RAM
            if ctl == "memory":
                self.memory_dir = d

    @classmethod
    def available(cls) -> bool:
        return is_root() and (cls.ROOT / "memory" / "cgroup.procs").exists()

    def add(self, pid: int) -> None:
        for d in self.dirs:
            (d / "cgroup.procs").write_text(str(pid))

    def pids(self) -> set[int]:
        out: set[int] = set()
        for d in self.dirs:
            try:
                out |= {int(x) for x in (d / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return out

    def hit_memory_limit(self) -> bool:
        """Did the check reach its memory bound (a failed charge, an OOM kill, or a peak at it)?"""
        d = self.memory_dir
        if d is None:
            return False

        def num(name: str) -> int:
            try:
                return int((d / name).read_text().split()[0])
            except (OSError, ValueError, IndexError):
                return 0
        try:
            oom = (d / "memory.oom_control").read_text()
        except OSError:
            oom = ""
        killed = any(line.split()[-1] != "0" for line in oom.splitlines() if line.startswith("oom_kill "))
        return (num("memory.failcnt") > 0 or num("memory.memsw.failcnt") > 0 or killed
                or num("memory.max_usage_in_bytes") >= num("memory.limit_in_bytes") - (1 << 20))

    def peak(self) -> int:
        try:
            return int((self.memory_dir / "memory.max_usage_in_bytes").read_text()) if self.memory_dir else 0
        except (OSError, ValueError):
            return 0

    def kill(self) -> None:
        for _ in range(100):
            pids = self.pids()
            if not pids:
                return
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def close(self) -> None:
        self.kill()
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)


# ---- process trees (the non-root mode) --------------------------------------------------------
def children(pid: int) -> set[int]:
    out: set[int] = set()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                out |= {int(x) for x in Path(f"/proc/{pid}/task/{task}/children").read_text().split()}
            except OSError:
                pass
    except OSError:
        pass
    return out


def tree(pid: int) -> set[int]:
    """pid and all its descendants (a subreaper keeps orphans in the tree)."""
    seen, todo = set(), [pid]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(children(p))
    return seen


def rss(pids: Iterable[int]) -> int:
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for p in pids:
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * page
        except (OSError, ValueError, IndexError):
            pass
    return total


def kill_tree(pid: int) -> None:
    """Stop the whole tree first (so nothing forks or reaps meanwhile), then kill it."""
    for _ in range(20):
        pids = tree(pid)
        for p in pids:
            try:
                os.kill(p, signal.SIGSTOP)
            except (ProcessLookupError, PermissionError):
                pass
        if tree(pid) == pids:
            break
    for p in tree(pid):
        try:
            os.kill(p, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# ---- inside the worker ---------------------------------------------------------------------
def become_subreaper() -> None:
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def hide_paths(paths: Iterable[str]) -> list[str]:
    """Mount an empty read-only tmpfs over each path (root, in our own mount namespace)."""
    hidden = []
    for p in paths:
        if not p or not os.path.isdir(p):
            continue
        rc = _libc.mount(b"none", os.fsencode(p), b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                         b"size=4k,mode=0555")
        if rc != 0:
            raise OSError(ctypes.get_errno(), f"mount tmpfs over {p}")
        hidden.append(p)
    return hidden


def _mount(src: str, dst: str, fstype, flags: int, data) -> None:
    rc = _libc.mount(os.fsencode(src), os.fsencode(dst), fstype, flags, data)
    if rc != 0:
        raise OSError(ctypes.get_errno(), f"mount {src} on {dst}")


_covered: set[str] = set()


def expose(paths: Iterable[str], stash: str) -> None:
    """Make each path usable by an unprivileged uid where an ancestor folder is closed to others
    (Python under /root/.pyenv, /root being 0700): in our own mount namespace, the closed ancestor
    is covered by an empty tmpfs (so nothing else in it can be read, such as the grader's home) and
    the path is bind-mounted back in its place."""
    for i, path in enumerate(dict.fromkeys(os.path.realpath(p) for p in paths)):
        closed = None
        for anc in reversed(Path(path).parents):
            if str(anc) != "/" and not os.stat(anc).st_mode & 0o001:
                closed = anc
                break
        if closed is None:
            continue
        keep = os.path.join(stash, f"keep{i}")
        os.mkdir(keep)
        _mount(path, keep, None, MS_BIND | MS_REC, None)
        if str(closed) not in _covered:
            _mount("none", str(closed), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755")
            _covered.add(str(closed))
        Path(path).mkdir(parents=True, exist_ok=True)
        _mount(keep, path, None, MS_BIND | MS_REC, None)


#: Folders any uid may write. A check's own uid could leave a file there (0666) for another check
#: to read, or fill the disk there, so each check gets its own, empty, in a tmpfs (memory: charged
#: to the check's cgroup and at most its memory bound), gone when its mount namespace is.
SHARED_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


def private_folders(scratch: str, keep: Iterable[str], uid: int, size: int) -> None:
    """As root in our own mount namespace: an empty tmpfs of at most `size` bytes over each of
    SHARED_WRITABLE; the check's `scratch` folder (under /tmp) made again in it for `uid`, empty
    but for its submission, bound back from the grader's copy (so the check's HOME, TMPDIR and
    builds are in memory, not on a disk); each path of `keep` under a covered folder (the engine
    objects, Python) bound back too."""
    covered = [d for d in dict.fromkeys(os.path.realpath(d) for d in SHARED_WRITABLE)
               if os.path.isdir(d) and not os.path.islink(d)]

    def under(path: str) -> bool:
        return any(path == d or path.startswith(d + os.sep) for d in covered)

    scratch = os.path.realpath(scratch)
    back = {os.path.join(scratch, "submission"): "submission"}
    back.update({p: "kept" for p in dict.fromkeys(os.path.realpath(k) for k in keep if k)
                 if under(p) and not p.startswith(scratch + os.sep) and p != scratch and os.path.isdir(p)})
    held = {p: os.open(p, os.O_PATH | os.O_DIRECTORY) for p in back}   # still reachable once covered
    try:
        for d in covered:
            _mount("none", d, b"tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777".encode())
        if under(scratch):
            os.makedirs(scratch, mode=0o700)
            for name in ("home", "tmp"):
                os.mkdir(os.path.join(scratch, name), 0o700)
                os.chown(os.path.join(scratch, name), uid, uid)
            os.chown(scratch, uid, uid)
        for p, fd in held.items():
            os.makedirs(p, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", p, None, MS_BIND | MS_REC, None)
    finally:
        for fd in held.values():
            os.close(fd)
    os.chdir(scratch)    # (the old cwd is the grader's folder, now covered)


def drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise OSError("could not drop root")


def kill_descendants() -> None:
    """Kill every process this one started (used by the worker before it reports)."""
    me = os.getpid()
    for p in tree(me) - {me}:
        try:
            os.kill(p, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                break
        except ChildProcessError:
            break

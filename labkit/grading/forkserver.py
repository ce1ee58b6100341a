"""The checks' workers, forked from one process that has already imported the checks' code.

Design note: starting `python -m labkit.grading.worker` afresh cost about 0.25 s of CPU a worker
(the interpreter, then labkit's checks, cffi and the compiler driver's Python); a submission has
eight or more workers, so that was a quarter of grading a class. The grader starts this server
once per process (`shared`: a notebook's second check() uses the first one's) and asks it for
each worker; it forks, so a worker starts in a few milliseconds with everything imported.

What the server may hold, and why forking from it keeps the sandbox's guarantees:
- It is started with the workers' minimal environment (runner._env without the check's own
  values), in /, with a command line that names nothing; a forked worker's /proc/self/environ
  and cmdline are the server's, so they name nothing either.
- It never runs learner code and never receives a job: a request holds only what the sandbox
  needs (the check's folder, environment, rlimits, cgroup, whether to unshare) and the worker's
  pipes as file descriptors. The job itself (an instructor's hidden source included) still goes
  to the worker on its own stdin after the fork, so no worker holds another check's job.
- Each request forks a monitor that does what `unshare --pid --fork --mount-proc --kill-child`
  and runner's rlimits did: a new session, the check's cgroup joined first, the rlimits, the
  fds, the folder and environment, then (root) new PID, mount, IPC and network namespaces, private mounts, and
  the worker forked as PID 1 of its namespace with its own /proc, killed if the monitor dies.
  The monitor waits for it and writes its exit status (as Popen's returncode: negative for a
  signal) on the status pipe, which the worker does not have. From there on the worker is what
  it was: worker.main() hides paths, drops to its uid (root) or becomes a subreaper.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x20000000, 0x08000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
MAX_REQUEST = 1 << 16
#: What the server imports before it forks anything: everything a worker of any check loads.
#: (and what its monitors import, so that neither it nor they load a module once it serves)
PRELOAD = ("labkit.grading.worker", "labkit.grading.exercises", "labkit.grading.hidden",
           "labkit.native", "labkit.native._cbuild", "labkit.native.tsan", "cffi.recompiler",
           "fcntl", "resource", "traceback")
#: The server's program (-c: run as a module, it would be a second copy of this one, as __main__).
SERVE = "import sys; from labkit.grading.forkserver import serve; serve(int(sys.argv[1]))"
RLIMITS = {"core": "RLIMIT_CORE", "fsize": "RLIMIT_FSIZE", "cpu": "RLIMIT_CPU", "as": "RLIMIT_AS"}


# ---- in the grader -----------------------------------------------------------------------------
class Worker:
    """A forked worker as the grader sees it (the parts of subprocess.Popen the runner uses): its
    monitor's pid (its session, process group and process tree), wait() and returncode."""

    def __init__(self, status_fd: int) -> None:
        self._fd = status_fd
        self._buf = b""
        self.returncode: int | None = None
        line = self._line(30.0)
        if line is None or not line.isdigit():
            os.close(self._fd)
            raise OSError("the fork server did not start the worker")
        self.pid = int(line)

    def _line(self, timeout: float | None) -> str | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self._fd], [], [], left)[0]:
                raise subprocess.TimeoutExpired("worker", timeout or 0)
            chunk = os.read(self._fd, 256)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            line = self._line(timeout)
            # No status: the monitor itself was killed (a timeout, the memory bound), as a Popen
            # of `unshare` would have been.
            self.returncode = int(line) if line and line.lstrip("-").isdigit() else -signal.SIGKILL
            os.close(self._fd)
        return self.returncode

    def poll(self) -> int | None:
        try:
            return self.wait(0)
        except subprocess.TimeoutExpired:
            return None


class ForkServer:
    """One server process; `spawn` is thread-safe; `close` ends the server. (The grader uses
    `shared`: one per grading process, for all its runs.)

    A server that has died (killed from outside, or by a worker) is started again, once per
    spawn, so the checks after it still run."""

    def __init__(self, env: dict) -> None:
        self.env = dict(env)
        self.owner = os.getpid()
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock = ours
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-P", "-c", SERVE, str(theirs.fileno())],
                cwd="/", env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),), start_new_session=True)
        finally:
            theirs.close()

    def spawn(self, request: dict, stdin: int, stderr: int, fds: dict[str, int]) -> Worker:
        """Start a worker: `request` as _monitor reads it, the worker's stdin and stderr, and
        `fds` {environment variable: fd} passed to it under the number the variable then holds."""
        msg = json.dumps(dict(request, fds=list(fds))).encode()
        if len(msg) > MAX_REQUEST:
            raise OSError("worker request too long")
        for again in (False, True):
            status_r, status_w = os.pipe()
            try:
                with self._lock:
                    if again:
                        self._restart()
                    socket.send_fds(self._sock, [msg], [stdin, stderr, status_w, *fds.values()])
            except OSError:
                os.close(status_r)
                if again:
                    raise
                continue
            finally:
                os.close(status_w)
            try:
                return Worker(status_r)
            except OSError:
                if again:
                    raise
        raise AssertionError("unreachable")

    def _restart(self) -> None:
        self._sock.close()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._start()

    def close(self) -> None:
        with self._lock:
            self._sock.close()            # the server reads end-of-file and exits
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


_shared: ForkServer | None = None
_shared_lock = threading.Lock()


def shared(env: dict) -> ForkServer:
    """This process's fork server for workers started with `env`: started on its first use and
    kept for every later run, so a notebook that checks again and again pays the server's start
    (an interpreter and the checks' imports, about 0.3 s of CPU) once, not per check. A new one
    replaces it when `env` changes (a LABKIT_* worker setting) or in a forked copy of this
    process. It ends when this process does (end-of-file on its socket).

    Reuse is safe because the server stays as it started: it never runs learner code or
    receives a job (see the module's note), a worker is a forked copy that cannot write the
    server's memory (copy-on-write; the server is not dumpable, so a worker of the same uid
    cannot ptrace it or open its /proc/<pid>/mem; as root a worker is in another PID namespace
    under its own uid, and sees no server at all), and a worker that kills it only makes the
    next spawn start a fresh one (threat_model: server_pristine)."""
    global _shared
    with _shared_lock:
        server = _shared
        if server is not None and server.env == env and server.owner == os.getpid():
            return server
        if server is not None:
            if server.owner == os.getpid():
                server.close()
            else:                     # a forked copy of the grader: the server is the parent's
                server._sock.close()
        _shared = ForkServer(env)
        return _shared


def close_shared() -> None:
    """End this process's shared server (if any): the next run starts a new one, as this
    process's first did (benchmarks/bench_grade.py times a learner's first check so)."""
    global _shared
    with _shared_lock:
        if _shared is not None and _shared.owner == os.getpid():
            _shared.close()
        _shared = None


# ---- the server ----------------------------------------------------------------------------------
def serve(fd: int) -> None:
    # Not dumpable: a worker running as this uid (no root: a learner's own check) cannot ptrace
    # this process or open its memory, so nothing a check does reaches the checks after it.
    # Its workers are made dumpable again (_monitor), as a process started afresh is.
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:      # (a layer not built here: a worker that needs it says so itself)
            pass
    sock = socket.socket(fileno=fd)
    # Each monitor is reaped as it ends (not SIG_IGN: a reaped child's CPU time is added to ours,
    # and ours to the grader's when we end: bench_grade.py reads a running server's as well).
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, MAX_REQUEST, 16)
        except OSError:
            return
        if not msg:
            return                                     # the grader closed its end
        if os.fork() == 0:
            try:
                sock.close()
                _monitor(json.loads(msg), fds)
            except BaseException:      # a monitor that fails says so on the check's error output
                import traceback
                traceback.print_exc()
            finally:
                os._exit(127)
        for f in fds:
            os.close(f)


def _reap(*_) -> None:
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def _check(rc: int, what: str) -> None:
    if rc != 0:
        raise OSError(ctypes.get_errno(), what)


def _monitor(req: dict, fds: list[int]) -> None:
    """In the fork: set up the check's sandbox, fork its worker, report how it ended."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # Each fd to its place: 0, 1, 2, the passed ones from 3 in order, the status pipe after them
    # (first moved above every target, so that no dup2 clobbers one still to be placed).
    import fcntl
    high = [fcntl.fcntl(f, fcntl.F_DUPFD, 100) for f in fds]
    for f in fds:
        os.close(f)
    stdin, stderr, status, *passed = high
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(stdin, 0)
    os.dup2(devnull, 1)
    os.dup2(stderr, 2)
    env = dict(req["env"])
    for n, (name, f) in enumerate(zip(req["fds"], passed)):
        os.dup2(f, 3 + n)
        env[name] = str(3 + n)
    status_target = 3 + len(passed)
    os.dup2(status, status_target)
    os.closerange(status_target + 1, max(os.sysconf("SC_OPEN_MAX"), 1 << 16))
    status = status_target
    os.write(status, f"{os.getpid()}\n".encode())
    os.setsid()
    for procs in req["cgroup"]:     # join the check's cgroup before anything of the check runs
        with open(procs, "w") as cg:
            cg.write(str(os.getpid()))
    import resource
    for key, limit in req["rlimits"].items():
        resource.setrlimit(getattr(resource, RLIMITS[key]), (limit[0], limit[1]))
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(env)
    if req["pidns"]:
        # (its own System V IPC and network too: a shared memory segment or message queue it
        # leaves would outlive it and be read by another check, as would an abstract unix socket
        # or a port on loopback it listens on; its network has only a loopback that is down)
        _check(_libc.unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET), "unshare")
        _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    alive_r, alive_w = os.pipe()    # the monitor holds the write end: end-of-file means it died
    child = os.fork()
    if child == 0:
        os.close(status)
        os.close(alive_w)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)     # (the monitor stays as the server is)
        if select.select([alive_r], [], [], 0)[0]:
            os._exit(1)              # the monitor died before we asked to die with it
        os.close(alive_r)
        if req["pidns"]:
            _check(_libc.mount(b"none", b"/proc", None, MS_REC | MS_PRIVATE, None), "mount private /proc")
            _check(_libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, None),
                   "mount /proc")
        os._exit(_worker())
    os.close(alive_r)
    _, wstatus = os.waitpid(child, 0)
    os.write(status, f"{os.waitstatus_to_exitcode(wstatus)}\n".encode())
    os._exit(0)


def _worker() -> int:
    """What `python -m labkit.grading.worker` did, in the fork: what was read from the server's
    environment at import is read again from the check's (labkit.config; tempfile's folder)."""
    sys.stdin = open(0, encoding="utf-8", errors="strict", closefd=False)
    from labkit import config
    importlib.reload(config)
    tempfile.tempdir = None
    from labkit.grading import worker
    try:
        return int(worker.main() or 0)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback
        traceback.print_exc()
        sys.stderr.flush()
        return 1


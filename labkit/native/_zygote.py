"""The stress runs' children, forked from one process that has already imported what they need.

Design note: a learner's C runs in a child process of its own (a crash or a hang must not take
the caller with it). Starting `python -m labkit.native._child` afresh cost about 0.15 s of CPU a
run, most of it importing labkit.native, which is twice a forced run's own work; a C check makes
three such runs. So the first run starts this server once per calling process (`spawn`), and it
forks each run's child from there: a few milliseconds.

What makes a forked child as fresh as an exec'd one:
- The server imports labkit.native._child and its modules, and does nothing else: it never loads
  any C (the child loads the learner's module, after the fork, in itself only), never runs a
  run, and is single-threaded, so a fork copies no lock another thread held. Each child is a
  new process: a run that corrupts its memory or dies leaves the server and the next run as they
  were.
- A request carries the run's parameters, the caller's environment and folder (the child takes
  them, as an exec'd child would inherit them) and three file descriptors: the child's stdout
  and stderr, and a status socket of the run's own. The child has only those (as 1 and 2; stdin
  is /dev/null) and dies with the server (PR_SET_PDEATHSIG), which ends when its caller does.
- On the status socket the server writes "pid N" at the fork and "exit CODE" (as Popen's
  returncode: negative for a signal) when the child has ended; it reaps the child only once the
  caller has closed that socket, so that the pid the caller signals cannot be another process's.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading

#: The server's program (-c: as a module, it would be imported twice, once as __main__).
SERVE = "import sys; from labkit.native._zygote import serve; serve(int(sys.argv[1]))"
MAX_REQUEST = 1 << 20
#: How long a caller waits for the server to fork a child (its first request waits for its imports).
START_TIMEOUT_S = 60.0

_lock = threading.Lock()
_server: dict = {}   # "proc": the server's Popen, "sock": our end of its request socket


# ---- in the caller -----------------------------------------------------------------------------
class Child:
    """A forked run as its caller sees it: the parts of subprocess.Popen detect._run_child uses."""

    def __init__(self, stdout: int, stderr: int, status: socket.socket) -> None:
        self.stdout = os.fdopen(stdout, "rb", buffering=0)
        self._stderr, self._status, self._buf = stderr, status, b""
        self.returncode: int | None = None
        line = self._line(START_TIMEOUT_S)
        if not line.startswith("pid "):
            self._close()
            raise OSError("the native runs' server did not start the run")
        self.pid = int(line.split()[1])

    def _line(self, timeout: float | None) -> str:
        """The status socket's next line ('' once it is closed: the server has gone)."""
        while b"\n" not in self._buf:
            if not select.select([self._status], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("native run", timeout or 0)
            chunk = self._status.recv(256)
            if not chunk:
                return ""
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._status], [], [], 0)[0]:
            self.wait()
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            line = self._line(None)
            # the server gone before the child's end: the child died with it (PR_SET_PDEATHSIG)
            self.returncode = int(line.split()[1]) if line.startswith("exit ") else -signal.SIGKILL
            self._close()
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:   # until then the pid is the child's, alive or not yet reaped
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self) -> tuple[bytes, bytes]:
        """What is left of the child's stdout and stderr, once both are closed; then its end."""
        out, err = self.stdout.fileno(), self._stderr
        chunks: dict[int, list[bytes]] = {out: [], err: []}
        open_fds = [out, err]
        while open_fds:
            for fd in select.select(open_fds, [], [])[0]:
                data = os.read(fd, 65536)
                if data:
                    chunks[fd].append(data)
                else:
                    open_fds.remove(fd)
        self.stdout.close()
        os.close(err)
        self.wait()
        return b"".join(chunks[out]), b"".join(chunks[err])

    def _close(self) -> None:
        self._status.close()   # the server may reap the child now


def _start() -> socket.socket:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        proc = subprocess.Popen([sys.executable, "-c", SERVE, str(theirs.fileno())], pass_fds=[theirs.fileno()],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    finally:
        theirs.close()
    _server.update(proc=proc, sock=ours, pid=os.getpid())
    return ours


def _running() -> bool:
    """Whether this process started the server and it is still there (a forked copy of the caller
    has the parent's record, not a server of its own)."""
    return _server.get("pid") == os.getpid() and _server["proc"].poll() is None


def warm() -> None:
    """Start the server now, if it is not running, so that its imports overlap other work."""
    with _lock:
        if not _running():
            _start()


def stop() -> None:
    """End the server (if this process started one) and wait for it: its children's CPU time,
    which it has reaped, is then counted in ours (os.times, a worker's tree)."""
    with _lock:
        if _server.get("pid") == os.getpid():
            _server["sock"].close()
            try:
                _server["proc"].wait(10)
            except subprocess.TimeoutExpired:
                _server["proc"].kill()
                _server["proc"].wait()
        _server.clear()


def server_pid() -> int | None:
    """The running server's pid (the runs' children are its children), if it was started here."""
    return _server["proc"].pid if _server.get("pid") == os.getpid() else None


def spawn(mode: str, params: dict) -> Child:
    """Fork a child that runs `python -m labkit.native._child MODE PARAMS` would, in the
    caller's current environment and folder."""
    request = json.dumps(dict(mode=mode, params=params, env=dict(os.environ), cwd=os.getcwd())).encode()
    if len(request) > MAX_REQUEST:
        raise OSError("a native run's request is too large")
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    status, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with _lock:
            for attempt in (0, 1):   # a server that has gone (killed, or a fork's copy) is started again
                if not _running():
                    _start()
                try:
                    socket.send_fds(_server["sock"], [request], [out_w, err_w, theirs.fileno()])
                    break
                except OSError:
                    if attempt:
                        raise
                    _server.clear()
    except BaseException:
        for fd in (out_r, err_r):
            os.close(fd)
        status.close()
        raise
    finally:
        for fd in (out_w, err_w):
            os.close(fd)
        theirs.close()
    return Child(out_r, err_r, status)


# ---- in the server -----------------------------------------------------------------------------
def serve(fd: int) -> None:
    import ctypes

    import _cffi_backend  # noqa: F401  (what loading a cffi module imports: once, here)

    from labkit.native import _child
    libc = ctypes.CDLL(None, use_errno=True)
    sock = socket.socket(fileno=fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # a terminal's ^C is the caller's and its run's
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    running: dict[int, socket.socket] = {}   # pid -> its status socket
    ended: dict[socket.socket, int] = {}      # status socket -> pid, exit written, not reaped yet
    while True:
        ready = select.select([sock.fileno(), wake_r, *(s.fileno() for s in ended)], [], [])[0]
        if sock.fileno() in ready:
            try:
                msg, fds, _, _ = socket.recv_fds(sock, MAX_REQUEST, 3)
            except OSError:
                msg, fds = b"", []
            if not msg:                       # the caller has gone or stopped us: so do its runs
                for pid in running:
                    os.kill(pid, signal.SIGKILL)
                for pid in [*running, *ended.values()]:
                    os.waitpid(pid, 0)        # reaped, so that their CPU time is counted as ours
                return
            if len(fds) == 3:
                status = socket.socket(fileno=fds[2])
                pid = os.fork()
                if pid == 0:
                    _child_main(_child, libc, json.loads(msg), fds[0], fds[1])
                os.close(fds[0])
                os.close(fds[1])
                running[pid] = status
                _send(status, f"pid {pid}\n")
            else:
                for f in fds:
                    os.close(f)
        if wake_r in ready:
            while True:
                try:
                    if not os.read(wake_r, 512):
                        break
                except BlockingIOError:
                    break
        for pid in list(running):
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            if info is not None and info.si_pid == pid:
                code = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
                status = running.pop(pid)
                _send(status, f"exit {code}\n")
                ended[status] = pid
        for status in [s for s in ended if s.fileno() in ready]:
            try:
                closed = not status.recv(256)
            except OSError:
                closed = True
            if closed:
                os.waitpid(ended.pop(status), 0)
                status.close()


def _send(status: socket.socket, text: str) -> None:
    try:
        status.sendall(text.encode())
    except OSError:
        pass   # the caller has stopped listening


def _child_main(_child, libc, request: dict, out: int, err: int) -> None:
    """In a forked child: become what `python -m labkit.native._child` would be, run, end."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        libc.prctl(1, signal.SIGKILL)            # PR_SET_PDEATHSIG: die with the server
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        code = 0
        try:
            _child.run(request["mode"], request["params"])
        except SystemExit as exc:
            if isinstance(exc.code, int) or exc.code is None:
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)

"""ThreadSanitizer mode: the same C built with -fsanitize=thread, run in a child, report parsed.

Design note: the child is a program of its own (tsan_main.c, linked with the engine and the
learner's C, all built with -fsanitize=thread: _cbuild.build(tsan=True)), not a Python: a Python
under libtsan took 0.3-0.45 s of CPU to start, the program about 0.01 s. It makes the run
detect.run_here makes (the same setup, window, writers, stall watch and stop) and prints its
stats; the result is made here, by the same code (detect.result, detect.hung). TSan finds the
race from the happens-before order of one run, not from luck, so a short run suffices. Each
report becomes two accesses (thread R or W, read or write, function, file:line, and the kstat_t
field when the address lies in a kstat), deduplicated by their source lines. The run's own record
(overflows, copies against what was installed, holds and the lock) comes back too, as `record`.
The child is killed after `timeout` seconds of the time it had a CPU (detect.ChildClock, as a
stress run's child: a right fix on a starved machine is not killed as hung), or after
ChildClock's wall-clock backstop.
"""

import json
import os
import re
import subprocess
import threading

from labkit.errors import LabkitError
from labkit.native import _args, _cbuild
from labkit.native.detect import (MAX_POLL_CREDIT_S, POLL_S, STALL_S, STAT_TEXTS, ChildClock, hung, listed, result,
                                   stuck_record, text, why_stuck)
from labkit.native.results import TsanResult

TSAN_SECONDS = 0.5
_ACCESS = re.compile(r"^  (Previous )?(?:Atomic )?(read|write) of size (\d+) at (0x[0-9a-f]+) by ([^:]+):",
                     re.I | re.M)
_FRAME = re.compile(r"^\s+#\d+ (\S+) (\S+?):(\d+)(?::\d+)? ", re.M)
_HEAP = re.compile(r"Location is heap block of size \d+ at (0x[0-9a-f]+)")
FIELDS = [(0x00, "ks_crtime"), (0x08, "ks_next"), (0x10, "ks_kid"), (0x14, "ks_module"),
          (0x33, "ks_resv"), (0x34, "ks_instance"), (0x38, "ks_name"), (0x57, "ks_type"),
          (0x58, "ks_class"), (0x77, "ks_flags"), (0x78, "ks_data"), (0x80, "ks_ndata"),
          (0x88, "ks_data_size"), (0x90, "ks_snaptime"), (0x98, "ks_update"), (0xa0, "ks_private"),
          (0xa8, "ks_snapshot"), (0xb0, "ks_lock"), (0xb8, None)]


def tsan(fix: str | None = None, *, source: str | os.PathLike | None = None, seconds: float = TSAN_SECONDS,
         timeout: float = 120, writers: int = 1) -> TsanResult:
    """Run the race under ThreadSanitizer and return the data races it reports (writers=2: with
    thread X, a second zone_create, beside W)."""
    return prepare(fix, source=source, seconds=seconds, timeout=timeout, writers=writers).run()


def prepare(fix: str | None = None, *, source: str | os.PathLike | None = None, seconds: float = TSAN_SECONDS,
            timeout: float = 120, writers: int = 1) -> "TsanRun":
    """tsan(), in two steps: this builds the program (or finds it in the cache) and starts it, to
    wait; TsanRun.run() then starts the run itself, its `seconds` counted from then, and returns
    what tsan() does. A build error is raised by run()."""
    variant, label = _args.variant(fix, source)
    seconds, _ = _args.budget(seconds, None)
    p = dict(variant=variant, label=label, seconds=seconds, rounds=None, window_ns=0, seed=0,
             forced=False, source=None if source is None else os.fspath(source),
             writers=_args.writers(writers), stall_s=min(STALL_S, timeout / 3))
    try:
        _, program = _cbuild.build(source, tsan=True)
    except LabkitError as exc:   # no runtime to link is the clearer cause, if it is the cause
        runtime = subprocess.run([_cbuild.compiler(), "-print-file-name=libtsan.so"],
                                 capture_output=True, text=True).stdout.strip()
        error = exc if os.path.isabs(runtime) else LabkitError("this compiler has no ThreadSanitizer runtime "
                                                               "(libtsan.so)")
        return TsanRun(None, p, timeout, error)
    ns = {"window_ns": p["window_ns"], "seed": p["seed"], "writers": p["writers"], "nkstats": _args.KSTATS,
          "interrupts": 1, "rounds": 0, "max_ns": int(seconds * 1e9), "stall_ns": int(p["stall_s"] * 1e9),
          "poll_ns": int(POLL_S * 1e9), "credit_ns": int(MAX_POLL_CREDIT_S * 1e9)}
    argv = [program, f"variant={variant}", *(f"{k}={v}" for k, v in ns.items())]
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=0 exitcode=66 report_signal_unsafe=0")
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)
    except OSError as exc:   # e.g. a cache folder on a noexec mount
        return TsanRun(None, p, timeout, LabkitError(f"could not start the ThreadSanitizer program {program}: {exc}"))
    return TsanRun(proc, p, timeout, None)


class TsanRun:
    """A ThreadSanitizer child started by prepare(): run() it once, or cancel() it."""

    def __init__(self, proc: subprocess.Popen | None, params: dict, timeout: float,
                 error: LabkitError | None) -> None:
        self._proc, self._p, self._timeout, self._error = proc, params, timeout, error
        self._out: tuple[str, str] = ("", "")   # the child's stdout and stderr, once it has ended

    def run(self) -> TsanResult:
        if self._error is not None or self._proc is None:
            raise self._error or LabkitError("this ThreadSanitizer run was cancelled")
        p, proc = self._p, self._proc
        late = self._wait(proc)
        if late:
            return TsanResult(fix=p["label"], source=p["source"], hang=True, detail=f"{late}; the child was killed")
        stdout, stderr = self._out
        races, (record, error) = parse(stderr), _record(stdout, p)
        if record is not None and record.get("outcome") == "hang":   # it stopped making progress
            return TsanResult(fix=p["label"], races=races, exit_code=proc.returncode, source=p["source"],
                              hang=True, detail=str(record.get("detail", "")), record=record)
        detail = error or ("" if record is not None or not (races or proc.returncode) else _ended_early(proc.returncode, stderr))
        return TsanResult(fix=p["label"], races=races, exit_code=proc.returncode, source=p["source"], detail=detail,
                          record=record)

    def _wait(self, proc: subprocess.Popen) -> str | None:
        """Start the run and wait for it to end (its output in self._out): None, or why the child
        was killed (ChildClock: its timeout in the time it had a CPU, or the wall-clock backstop)."""
        talk = threading.Thread(target=lambda: setattr(self, "_out", proc.communicate("go\n")), daemon=True)
        clock = ChildClock(proc.pid, self._timeout)
        talk.start()
        while True:
            talk.join(POLL_S)
            if not talk.is_alive():
                return None
            late = clock.over()
            if late:
                proc.kill()
                talk.join()
                return late

    def cancel(self) -> None:
        """The child exits without running (it reads no "go")."""
        if self._proc is None:
            return
        try:
            self._proc.communicate("", timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.communicate()


def _record(stdout: str, p: dict) -> tuple[dict | None, str]:
    """The run's own result (the engine's record of what happened, as a RaceResult's JSON), made
    from the program's line (tsan_main.c says what it prints), and the engine's error if it
    stopped the run with one ("" if not)."""
    for line in stdout.splitlines():
        kind, _, rest = line.partition(" ")
        try:
            if kind == "result":
                values = json.loads(rest)
                values.update((k, _hex(values[k])) for k in STAT_TEXTS)
                return result(values, p).to_json(), ""
            if kind == "stuck":
                s = json.loads(rest)
                error = None if s["error"] is None else _hex(s["error"])
                stuck = stuck_record(s["owner"], why_stuck(listed(s["quiet"]), p["stall_s"]), _hex(s["record"]))
                return hung(p, stuck, error).to_json(), ""
            if kind == "error":
                return None, _hex(json.loads(rest))
        except (ValueError, KeyError, TypeError):
            return None, f"the ThreadSanitizer program printed a line labkit cannot read: {line[:200]!r}"
    return None, ""


def _ended_early(code: int, stderr: str) -> str:
    """Why a program that printed no record ended: ThreadSanitizer's summary (a SEGV under it
    exits 66, as a race report does), else its last line, else how it ended."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    summary = [line for line in lines if line.startswith("SUMMARY: ThreadSanitizer:") and "data race" not in line]
    how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    said = summary[-1] if summary else lines[-1] if lines else ""
    return f"the run ended ({how}) before it reported what happened" + (f": {said[:300]}" if said else "")


def _hex(raw: str) -> str:
    """One of the program's texts: a C string's bytes in hex (any bytes: a kstat's name is learner C's)."""
    return text(bytes.fromhex(raw))


def _field(addr, heap_base):
    if heap_base is None:
        return None
    off = addr - heap_base
    for (start, name), (end, _) in zip(FIELDS, FIELDS[1:]):
        if start <= off < end:
            return name
    return None


def _access(block, m, heap_base):
    stack = block[m.end():].split("\n\n")[0]
    frames = [(f, os.path.basename(path), int(line)) for f, path, line in _FRAME.findall(stack)]
    ours = [fr for fr in frames if fr[1].endswith(".c") and not fr[0].startswith("__")] or frames or [("?", "?", 0)]
    names = {f for f, _, _ in frames}
    thread = ("R" if "reader" in names else "X" if "second_writer" in names
              else "W" if "writer" in names else m.group(5))
    addr = int(m.group(4), 16)
    return dict(thread=thread, kind=m.group(2).lower(), size=int(m.group(3)), function=ours[0][0],
                file=ours[0][1], line=ours[0][2], field=_field(addr, heap_base))


def parse(stderr: str) -> list[dict]:
    races, seen = [], set()
    for block in stderr.split("WARNING: ThreadSanitizer: ")[1:]:
        if not block.startswith("data race"):
            continue
        heap = _HEAP.search(block)
        heap_base = int(heap.group(1), 16) if heap else None
        accesses = [_access(block, m, heap_base) for m in _ACCESS.finditer(block)][:2]
        key = tuple((a["file"], a["line"]) for a in accesses)
        if key in seen or len(accesses) < 2:
            continue
        seen.add(key)
        summary = re.search(r"SUMMARY: ThreadSanitizer: (.*)", block)
        races.append(dict(accesses=accesses, summary=summary.group(1) if summary else ""))
    return races

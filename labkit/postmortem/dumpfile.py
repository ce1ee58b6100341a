"""The dump file: a Dump written to disk and read back, safely.

A dump may come from a learner's own variant, a classmate, or anywhere, so reading one never
executes anything (it is JSON, never pickle) and trusts none of its fields: every value is
checked for its type and range, sizes are bounded, and compressed memory is inflated only up to
the size it claims. What is wrong comes back as one LabkitError naming the file and the field.

The format, version 1 (one JSON object, UTF-8):

    format         "labkit-dump" (anything else: not a labkit dump)
    version        1; a reader refuses a version it does not know
    kind           "panic" | "deadlock" | "hang"
    origin         "simulator" | "native" (a real crash of the C model: labkit crash --schedule)
    program        {"fix": ..., "kstats": N}: what ran
    scenario       "small" | "seed" | "" (another size)
    schedule       the schedule that replays the run, or null when it is withheld (an exercise)
    steps          scheduling steps the run took
    message, trap  the panic message (for a deadlock or hang: why the dump was taken); the trap
    fault_addr, header_index, counted     the fault, the header being copied, ks_ndata (or null)
    registers      {"rip"|"rsi"|"rdi"|"rdx"|"cr2": int}
    panic_thread   "R" | "W" | "" (no panic: a deadlock or a hang)
    threads        [{name, addr, state, sp, description, call_chain: [str],
                     stack: [[fp, function, offset, [args]]]}], innermost frame first
    chain_lock_word, chain_id, hrtime     kstat_chain_lock's owner word, kstat_chain_id, time
    kstats         [[addr, kid, label]] in kid order; kstat_bytes: their kstat_t images (0xb8 bytes
                   each, in the same order), zlib-compressed, base64
    kbuf           {addr, size, map_start, map_end, arena} or null (no header buffer)
    stores         [addr]: where the copy wrote each header; store_bytes: those headers' bytes,
                   as kstat_bytes

Integers are plain JSON numbers (addresses are 64-bit). Dump.save(path) writes it;
load(path) reads it back into an equal Dump (to_data(dump) of both is the same).
"""

import base64
import binascii
import json
import os
import zlib

from labkit.errors import LabkitError
from labkit.kernel.layout import SIZEOF_KSTAT_T
from labkit.kernel.panic import Frame, ThreadRecord
from labkit.postmortem.dump import DUMP_KINDS, Buffer, Dump, KstatImage

FORMAT = "labkit-dump"
VERSION = 1
MAX_FILE = 64 << 20                  # bytes: the seed-scale dump is about 0.1 MiB
MAX_KSTATS = 200_000
MAX_THREADS = 16
MAX_FRAMES = 256
MAX_TEXT = 4096
MAX_BUFFER = 256 << 20               # the native engine refuses a bigger header buffer too
WORD = (1 << 64) - 1
REGISTERS = ("rip", "rsi", "rdi", "rdx", "cr2")
STATES = ("panicked", "on cpu", "spinning", "blocked", "sleeping", "finished")


class DumpFileError(LabkitError):
    """A file that is not a labkit dump, or one this labkit cannot read."""


# ---- writing -------------------------------------------------------------------------------
def _pack(chunks) -> str:
    return base64.b64encode(zlib.compress(b"".join(chunks), 6)).decode("ascii")


def to_data(d: Dump) -> dict:
    """The dump as the plain data the file holds."""
    stores = d.stores
    return {
        "format": FORMAT, "version": VERSION, "kind": d.kind, "origin": d.origin,
        "program": d.program, "scenario": d.scenario, "schedule": d.schedule, "steps": d.steps,
        "message": d.message, "trap": d.trap, "fault_addr": d.fault_addr,
        "header_index": d.header_index, "counted": d.counted,
        "registers": {k: v for k, v in d.registers.items() if k in REGISTERS},
        "panic_thread": d.panic_thread.name if d.panic_thread else "",
        "threads": [{"name": t.name, "addr": t.addr, "state": t.state, "sp": t.sp,
                     "description": t.description, "call_chain": list(t.call_chain),
                     "stack": [[f.fp, f.function, f.offset, list(f.args)] for f in t.stack]}
                    for t in d.threads],
        "chain_lock_word": d.chain_lock_word, "chain_id": d.chain_id, "hrtime": d.hrtime,
        "kstats": [[s.addr, s.kid, s.label] for s in d.kstats],
        "kstat_bytes": _pack(s.raw for s in d.kstats),
        "kbuf": None if d.kbuf is None else {
            "addr": d.kbuf.addr, "size": d.kbuf.size, "map_start": d.kbuf.map_start,
            "map_end": d.kbuf.map_end, "arena": d.kbuf.arena},
        "stores": [a for a, _ in stores],
        "store_bytes": _pack(raw for _, raw in stores),
    }


def save(d: Dump, path: str | os.PathLike) -> None:
    if not isinstance(d, Dump):
        raise LabkitError(f"only a Dump can be saved as a dump file, not {type(d).__name__}")
    text = json.dumps(to_data(d), separators=(",", ":"))
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)               # never a half-written dump under the real name


# ---- reading -------------------------------------------------------------------------------
class _Check:
    """Field checks that say which field of which file is wrong."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, field: str, what: str):
        raise DumpFileError(f"{self.where}: field {field!r} {what}; the file is damaged or was "
                            f"not written by labkit (labkit.postmortem.dumpfile documents the format)")

    def int(self, v, field, lo=0, hi=WORD, null=False):
        if v is None and null:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            self.fail(field, f"must be a whole number from {lo} to {hi:#x}"
                      + (" or null" if null else "") + f", not {_short(v)}")
        return v

    def str(self, v, field, choices=None, null=False, limit=MAX_TEXT):
        if v is None and null:
            return None
        if not isinstance(v, str) or len(v) > limit:
            self.fail(field, f"must be text of at most {limit} characters, not {_short(v)}")
        if choices is not None and v not in choices:
            self.fail(field, f"must be one of {', '.join(map(repr, choices))}, not {v!r}")
        return v

    def list(self, v, field, limit):
        if not isinstance(v, list) or len(v) > limit:
            self.fail(field, f"must be a list of at most {limit} items, not {_short(v)}")
        return v

    def dict(self, v, field, null=False):
        if v is None and null:
            return None
        if not isinstance(v, dict):
            self.fail(field, f"must be an object, not {_short(v)}")
        return v

    def blob(self, v, field, size):
        """Inflate a zlib+base64 blob that must come to exactly `size` bytes."""
        self.str(v, field, limit=MAX_FILE)
        try:
            packed = base64.b64decode(v.encode("ascii"), validate=True)
            z = zlib.decompressobj()
            raw = z.decompress(packed, size + 1)       # never inflate more than it claims
        except (binascii.Error, ValueError, zlib.error, UnicodeEncodeError) as e:
            self.fail(field, f"is not zlib-compressed base64 ({e})")
        if len(raw) != size or z.unconsumed_tail:
            self.fail(field, f"must hold {size} bytes, and holds {'more' if len(raw) > size else len(raw)}")
        return raw


def _short(v) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


def load(path: str | os.PathLike) -> Dump:
    """Read a dump file; DumpFileError (a LabkitError) says clearly why one cannot be read."""
    where = os.fspath(path)
    try:
        size = os.path.getsize(where)
        if size > MAX_FILE:
            raise DumpFileError(f"{where}: {size} bytes is too big for a labkit dump "
                                f"(at most {MAX_FILE}); is it really one?")
        with open(where, "rb") as f:
            raw = f.read(MAX_FILE + 1)
    except OSError as e:
        raise DumpFileError(f"cannot read the dump file {where}: {e.strerror or e}") from None
    return from_text(raw, where)


def from_text(raw: bytes, where: str = "dump") -> Dump:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DumpFileError(f"{where} is not a labkit dump: it is not JSON text (a labkit dump is "
                            f"the JSON file written by `labkit replay ... --dump FILE`)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DumpFileError(f"{where} is not a labkit dump: it has no \"format\": \"{FORMAT}\" "
                            f"(written by `labkit replay ... --dump FILE` or Dump.save)")
    version = data.get("version")
    if version != VERSION:
        raise DumpFileError(
            f"{where} is a labkit dump of format version {_short(version)}; this labkit reads "
            f"version {VERSION} only" + (" (it was written by a newer labkit: upgrade labkit)"
                                         if isinstance(version, int) and version > VERSION else ""))
    return from_data(data, where)


def from_data(data: dict, where: str = "dump") -> Dump:
    c = _Check(where)
    kind = c.str(data.get("kind"), "kind", DUMP_KINDS)
    program = c.dict(data.get("program", {}), "program")
    program = {c.str(k, "program", limit=64): (c.str(v, f"program.{k}") if isinstance(v, str)
                                               else c.int(v, f"program.{k}"))
               for k, v in list(program.items())[:8]}
    regs = c.dict(data.get("registers", {}), "registers")
    registers = {c.str(k, "registers", REGISTERS): c.int(v, f"registers.{k}") for k, v in regs.items()}
    threads = [_thread(c, t, i) for i, t in enumerate(c.list(data.get("threads"), "threads", MAX_THREADS))]
    names = [t.name for t in threads]
    if len(set(names)) != len(names):
        c.fail("threads", f"names each thread once, not {names}")
    panic_thread = c.str(data.get("panic_thread", ""), "panic_thread", ["", *names])
    kstats = c.list(data.get("kstats"), "kstats", MAX_KSTATS)
    kraw = c.blob(data.get("kstat_bytes"), "kstat_bytes", len(kstats) * SIZEOF_KSTAT_T)
    images = []
    for i, entry in enumerate(kstats):
        f = f"kstats[{i}]"
        if not isinstance(entry, list) or len(entry) != 3:
            c.fail(f, "must be [addr, kid, label]")
        images.append(KstatImage(c.int(entry[0], f + ".addr"), c.int(entry[1], f + ".kid", 0, 2**31 - 1),
                                 c.str(entry[2], f + ".label", limit=128),
                                 kraw[i * SIZEOF_KSTAT_T:(i + 1) * SIZEOF_KSTAT_T]))
    kb = c.dict(data.get("kbuf"), "kbuf", null=True)
    kbuf = None
    if kb is not None:
        kbuf = Buffer(c.int(kb.get("addr"), "kbuf.addr"), c.int(kb.get("size"), "kbuf.size", 0, MAX_BUFFER),
                      c.int(kb.get("map_start"), "kbuf.map_start"), c.int(kb.get("map_end"), "kbuf.map_end"),
                      c.str(kb.get("arena"), "kbuf.arena", limit=64))
        if not kbuf.map_start <= kbuf.addr <= kbuf.map_end or kbuf.map_end - kbuf.map_start > MAX_BUFFER + 0x2000:
            c.fail("kbuf", "must describe a buffer inside its mapping")
    addrs = [c.int(a, f"stores[{i}]") for i, a in enumerate(c.list(data.get("stores", []), "stores", MAX_KSTATS))]
    sraw = c.blob(data.get("store_bytes"), "store_bytes", len(addrs) * SIZEOF_KSTAT_T)
    stores = [(a, sraw[i * SIZEOF_KSTAT_T:(i + 1) * SIZEOF_KSTAT_T]) for i, a in enumerate(addrs)]
    return Dump(
        kind=kind, origin=c.str(data.get("origin", "simulator"), "origin", ("simulator", "native")),
        program=program, scenario=c.str(data.get("scenario", ""), "scenario", limit=32),
        schedule=c.str(data.get("schedule"), "schedule", null=True),
        steps=c.int(data.get("steps", 0), "steps"),
        message=c.str(data.get("message"), "message"), trap=c.str(data.get("trap", ""), "trap"),
        fault_addr=c.int(data.get("fault_addr"), "fault_addr", null=True),
        header_index=c.int(data.get("header_index"), "header_index", 0, MAX_KSTATS, null=True),
        counted=c.int(data.get("counted"), "counted", 0, MAX_KSTATS, null=True),
        registers=registers, threads=threads, panic_thread=panic_thread,
        chain_lock_word=c.int(data.get("chain_lock_word"), "chain_lock_word"),
        chain_id=c.int(data.get("chain_id"), "chain_id"), hrtime=c.int(data.get("hrtime", 0), "hrtime"),
        kstats=images, kbuf=kbuf, stores=stores)


def _thread(c: _Check, t, i: int) -> ThreadRecord:
    f = f"threads[{i}]"
    c.dict(t, f)
    frames = []
    for j, fr in enumerate(c.list(t.get("stack"), f + ".stack", MAX_FRAMES)):
        g = f"{f}.stack[{j}]"
        if not isinstance(fr, list) or len(fr) != 4:
            c.fail(g, "must be [fp, function, offset, [args]]")
        args = tuple(c.int(a, g + ".args") for a in c.list(fr[3], g + ".args", 8))
        frames.append(Frame(c.int(fr[0], g + ".fp"), c.str(fr[1], g + ".function", limit=128),
                            c.int(fr[2], g + ".offset", 0, 1 << 32), args))
    chain = [c.str(x, f + ".call_chain", limit=128) for x in c.list(t.get("call_chain", []), f + ".call_chain", MAX_FRAMES)]
    return ThreadRecord(name=c.str(t.get("name"), f + ".name", limit=8), addr=c.int(t.get("addr"), f + ".addr"),
                        state=c.str(t.get("state"), f + ".state", STATES), stack=frames, call_chain=chain,
                        description=c.str(t.get("description", ""), f + ".description"),
                        sp=c.int(t.get("sp", 0), f + ".sp"))

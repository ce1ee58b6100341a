"""The post-mortem kit (layer 3): read the seed's panic the way its engineers did.

    seed_evidence()            the bug report's debugger output, parsed (evidence.py; the
                               verbatim text is in data/*.txt, read_data(name))
    decode.*                   every number in it worked out: ioctl_cmd, ioctl_flag, dev_t,
                               user_pointer, ks_flags, mutex_owner, kstat_size,
                               fault_arithmetic, fault_readings, fd
    explain_frame, explain_stack   what each function on the stacks does and why it is there
    Dump, seed_dump("seed"|"small")   a crash dump of the simulated panic (cached per process)
    replay_dump(program, schedule) -> (Outcome, Dump | None)   the dump of any run that panics,
                               deadlocks or hangs (a learner's variant too)
    load_dump(path), dump.save(path)  the dump file (format: dumpfile.py), refused clearly when
                               it is not a labkit dump or not a version this labkit reads
    Mdb(dump).run("::status")  a small mdb over a dump -> MdbResult (.text, .ok, .illumos)

Layers: imports labkit.kernel, labkit.sched and labkit.errors only.
"""

from labkit.postmortem import decode
from labkit.postmortem.dcmds import Illumos
from labkit.postmortem.dump import (GOLDEN, Dump, DumpFault, dump_from_outcome, replay_dump,
                                    seed_dump)
from labkit.postmortem.dumpfile import DumpFileError
from labkit.postmortem.dumpfile import load as load_dump
from labkit.postmortem.evidence import (SEED_DIED_AT, SEED_KBUF, parse_findstack, parse_print,
                                        parse_stack, parse_word, read_data, seed_evidence)
from labkit.postmortem.frames import NOTES, explain_frame, explain_stack
from labkit.postmortem.mdb import Mdb, MdbResult

__all__ = ["decode", "Illumos", "GOLDEN", "Dump", "DumpFault", "dump_from_outcome", "seed_dump",
           "replay_dump", "load_dump", "DumpFileError",
           "SEED_DIED_AT", "SEED_KBUF", "parse_findstack", "parse_print", "parse_stack",
           "parse_word", "read_data", "seed_evidence", "NOTES", "explain_frame", "explain_stack",
           "Mdb", "MdbResult"]

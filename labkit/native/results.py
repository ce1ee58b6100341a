"""The results of the native race: plain dataclasses with to_json() and a readable repr.

Design note: the JSON keys of the CLI contract (which the course and the tests read) come first
and are never renamed;
the extra keys (seed, window_ns, outcome, ...) say how the run was made. Every repr echoes the
seed, because a run you cannot describe is a run you cannot repeat.
"""

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkit.postmortem.dump import Dump

KSTAT_SIZE = 184


def _label(fix, source):
    return f"source={source!r}" if source else f"fix={fix!r}"


@dataclass
class RaceResult:
    fix: str
    rounds: int
    overflows: int
    first_overflow_round: int | None
    time_to_first_overflow_s: float | None
    rounds_per_s: float
    seed: int
    window_ns: int
    seconds: float = 0.0
    short_rounds: int = 0       # rounds that copied fewer headers than counted (fix B's zero tail)
    installs: int = 0           # kstats the writer installed meanwhile
    forced: bool = False
    source: str | None = None
    writers: int = 1            # concurrent zone_create threads: W, or W and X
    # The grader's record (engine.c: inspect_copy, balance_check), judged by labkit.grading:
    uninstalled_copies: int = 0  # rounds whose copy held a kstat before its kstat_install was called
    first_uninstalled: str = ""
    missing_copies: int = 0     # rounds whose copy lacked a kstat installed before the copy began
    first_missing: str = ""
    duplicate_copies: int = 0   # rounds whose copy held a kstat twice or more
    first_duplicate: str = ""
    forged_copies: int = 0      # rounds whose copy held a header that is no kstat's copy
    first_forged: str = ""
    holds_left: int = 0         # kstat holds never released when the run ended
    first_held: str = ""
    lock_held_by: str | None = None   # who left kstat_chain_lock held (R, W or X; a hang: who holds it)
    lock_left: int = 0          # kstat_install calls that returned holding kstat_chain_lock
    lock_site: str = ""         # where the first of them took it ("in kstat_install")
    holds_kept: int = 0         # kstat_install calls that returned with a hold not released
    first_kept: str = ""        # (counted by the thread's own tally of its holds)
    outcome: str = "ok"         # ok | crash | hang | error (the last three: a learner's C misbehaved)
    detail: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    def __str__(self):
        head = (f"RaceResult({_label(self.fix, self.source)}, seed={self.seed}, "
                f"window_ns={self.window_ns}{', writers=2' if self.writers == 2 else ''}"
                f"{', forced' if self.forced else ''})")
        if self.outcome != "ok":
            return f"{head}: {self.outcome}: {self.detail}"
        text = (f"{head}: {self.rounds} reader rounds in {self.seconds:.2f} s "
                f"({self.rounds_per_s:,.0f}/s), {self.installs} kstats installed; ")
        if self.overflows:
            text += (f"{self.overflows} overflows, the first in round {self.first_overflow_round} "
                     f"after {self.time_to_first_overflow_s:.4f} s")
        else:
            text += "no overflow"
        if self.short_rounds:
            text += f"; {self.short_rounds} rounds copied fewer headers than they counted"
        if self.uninstalled_copies:
            text += f"; {self.uninstalled_copies} rounds copied a kstat not yet installed ({self.first_uninstalled})"
        if self.missing_copies:
            text += f"; {self.missing_copies} rounds lacked an installed kstat ({self.first_missing})"
        if self.duplicate_copies:
            text += f"; {self.duplicate_copies} rounds held a kstat twice ({self.first_duplicate})"
        if self.forged_copies:
            text += f"; {self.forged_copies} rounds held a header that is no kstat's copy ({self.first_forged})"
        if self.holds_left:
            text += f"; {self.holds_left} kstat holds never released ({self.first_held})"
        if self.holds_kept:
            text += f"; {self.holds_kept} kstat_install calls returned holding a kstat ({self.first_kept})"
        if self.lock_left:
            text += (f"; {self.lock_left} kstat_install calls returned holding kstat_chain_lock "
                     f"(the first by {self.lock_held_by}, taken {self.lock_site})")
        return text

    __repr__ = __str__


@dataclass
class CrashResult:
    fix: str
    crashed: bool
    signal: str | None
    fault_addr: int | None
    kbuf: int | None
    offset: int | None
    header_index: int | None
    seed: int = 0
    window_ns: int = 0
    forced: bool = False
    source: str | None = None
    counted: int | None = None      # headers the count pass found (ks_ndata)
    guard: int | None = None        # first byte of the guard page
    round: int | None = None
    hang: bool = False
    exit_code: int | None = None
    detail: str = ""
    # crash(schedule=...): the run followed a simulator schedule (labkit.native.follow)
    schedule: str | None = None
    kstats: int | None = None
    order: str | None = None          # the order imposed on the points that matter
    simulator: dict | None = None     # the simulator's replay: outcome, counted, header_index, offset
    agrees: bool | None = None        # same outcome, header index and offset as the simulator
    dump_file: str | None = None

    def __post_init__(self) -> None:
        # crash(schedule=...)'s dump of the crash: an attribute, not a field (to_json leaves it out)
        self.dump: "Dump | None" = None

    def to_json(self) -> dict:
        return asdict(self)

    def __str__(self):
        text = self._text()
        if self.schedule is None:
            return text
        sim = self.simulator or {}
        lines = [text, f"  schedule       {self.schedule} at {self.kstats} kstats: {self.order}"]
        if sim.get("outcome") == "panic":
            lines.append(f"  simulator      header index {sim['header_index']}, offset {sim['offset']:#x}"
                         f" -> {'the same' if self.agrees else 'DIFFERENT'}")
        else:
            lines.append(f"  simulator      no panic -> {'the same' if self.agrees else 'DIFFERENT'}")
        if self.dump_file:
            lines.append(f"  dump           {self.dump_file} (labkit mdb --dump {self.dump_file})")
        return "\n".join(lines)

    def _text(self):
        head = (f"CrashResult({_label(self.fix, self.source)}, seed={self.seed}, "
                f"window_ns={self.window_ns}{', forced' if self.forced else ''})")
        if self.hang:
            return f"{head}: the child hung and was killed: {self.detail}"
        if not self.crashed:
            return f"{head}: no crash. {self.detail}".rstrip()
        if self.kbuf is None:
            return f"{head}: the child died of {self.signal} (exit {self.exit_code}). {self.detail}"
        past = "the first byte of the guard page" if self.fault_addr == self.guard else "not the guard page"
        return "\n".join([
            f"{head}:",
            f"panic: {self.signal} in bcopy <- header_kstat_snapshot <- read_kstat_data (thread R, round {self.round})",
            f"  fault address  {self.fault_addr:#x}  ({past})",
            f"  kbuf           {self.kbuf:#x}  (ks_data_size + 1 = {self.offset:#x} bytes before the guard page)"
            if self.fault_addr == self.guard else f"  kbuf           {self.kbuf:#x}",
            f"  offset         {self.offset:#x} = {self.offset // KSTAT_SIZE} * {KSTAT_SIZE:#x} + {self.offset % KSTAT_SIZE}",
            f"  header index   {self.header_index} (the count pass found {self.counted}: indexes 0..{(self.counted or 0) - 1} fit)",
        ])

    __repr__ = __str__


@dataclass
class TsanResult:
    fix: str
    races: list = field(default_factory=list)   # each: {"accesses": [a, b], "summary": str}
    exit_code: int | None = None
    source: str | None = None
    hang: bool = False
    detail: str = ""
    record: dict | None = None   # the run's RaceResult.to_json(): the engine's record, under TSan too

    @property
    def clean(self) -> bool:
        return not self.races and not self.hang and self.exit_code == 0

    def to_json(self) -> dict:
        return {**asdict(self), "clean": self.clean}

    def __str__(self):
        head = f"TsanResult({_label(self.fix, self.source)}, exit_code={self.exit_code})"
        if self.hang:
            return f"{head}: the child hung and was killed: {self.detail}"
        if not self.races:
            return f"{head}: no data race reported. {self.detail}".rstrip()
        lines = [f"{head}: {len(self.races)} data race(s):"]
        for race in self.races:
            for a in race["accesses"]:
                lines.append(f"  {a['thread']}: {a['kind']} of {a['size']} byte(s) at {a['field'] or 'memory'}"
                             f" in {a['function']} ({a['file']}:{a['line']})")
            lines.append("")
        return "\n".join(lines).rstrip()

    __repr__ = __str__


def median_first_overflow(runs: "list[RaceResult]") -> float:
    """The median time to the first overflow over runs, in seconds; a run without an overflow
    counts as never (infinity), so the median is infinite when at most half the runs overflowed."""
    times = sorted(float(r.time_to_first_overflow_s)
                   if r.overflows and r.time_to_first_overflow_s is not None else float("inf")
                   for r in runs)
    if not times:
        raise ValueError("no runs to take the median of")
    return times[(len(times) - 1) // 2]

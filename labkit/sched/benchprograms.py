"""Classic DPOR benchmarks written as labkit programs (for benchmarks/bench_dpor.py and the tests).

    readers_writer(n)  one writer of x and n readers of it: 2^n traces
    lastzero(n)        thread 0 looks for the last zero of array[0..n] while thread i sets
                       array[i] = array[i-1] + 1 (Abdulla et al., POPL 2014)
    indexer(n)         n threads insert messages into a small hash table with compare-and-swap,
                       probing on a collision (Flanagan and Godefroid, POPL 2005; the table
                       here is smaller than the original 128 slots so that few threads collide)
    locked_counter(n)  n threads increment x under one lock: n! orders of the critical sections
    philosophers(n)    n threads take two locks each, left then right: some orders deadlock
    private_counters(n) n threads each increment a cell of their own under one lock: n! orders
                       of the critical sections, all ending alike (they touch disjoint data)
    peeking_counters(n) the same, but thread A also reads the last thread's cell inside its
                       critical section: two of the critical sections conflict, and only through
                       accesses a search skips as quiet (every one is made under the lock)

and eleven for whole critical sections (a section with no scheduling point inside is one step):
    locked_list(n)     thread A walks a linked list under a lock while n threads each insert a
                       node at its head under the same lock: (n+1)! orders of the sections
    mixed_sections(n)  n threads add to x under a lock (whole sections), and one of them also
                       writes y there, which another thread writes without the lock (a point
                       inside: that section is not whole)
    trylock(n)         n threads write x under a lock while B tries the lock (mutex_tryenter)
                       and reads x only if it got it
    section_panic(n)   A panics inside its critical section if it finds x set; n threads set x,
                       each under the lock
    panic_last(n)      section_panic with the checker the last thread: the first run the search
                       makes is the panic, the other orders come only from its races
    relay_panic(n)     A sets y; n threads each read y and set x under the lock; the last thread
                       panics inside its section if it finds x set
    relay_late(n)      the same threads in another order: the checker first, the setter of y last
    try_panic(n)       section_panic with setters that set x only if mutex_tryenter gets the lock:
                       one that finds the checker holding it fails just before the checker panics
    try_or_mark(n)     section_panic's checker, a thread that sets x if mutex_tryenter gets the
                       lock and marks y if not, and n setters under the lock
    halt_early(n)      A panics if it finds x set; B sets x, then takes and drops a lock n times
                       (sections that touch nothing of A's): how far B got when A panicked
                       makes n + 1 traces of their own
    branching(n)       A's section reads x, then y if x was unset or z if it was set; B sets x,
                       and n threads set y and n set z, each under the lock: what a section
                       touches depends on what it read, so it changes when the search reorders

Cells name themselves (sched_key) so a search may skip their quiet accesses. A compare-and-swap
is one write step (it reads and may write the cell atomically). Every program's result is the
final memory and what each thread saw.
"""

from collections.abc import Callable

from labkit.sched.recipe import Recipe
from labkit.sched.runtime import Failure, SimThread, point
from labkit.sched.sync import Mutex

_NAMES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Cell:
    __slots__ = ("v", "sched_key")

    def __init__(self, name: str, v: int = 0):
        self.v = v
        self.sched_key = ("cell", name)


def load(cell: Cell) -> int:
    point("read", cell, cell.sched_key[1])
    return cell.v


def store(cell: Cell, v: int) -> None:
    point("write", cell, cell.sched_key[1])
    cell.v = v


def cas(cell: Cell, old: int, new: int) -> bool:
    point("write", cell, cell.sched_key[1])
    if cell.v != old:
        return False
    cell.v = new
    return True


class _Result:
    def __init__(self, values):
        self.values = values

    def signature(self):
        return self.values


class _Instance:
    def __init__(self, program: "BenchProgram"):
        self.cells: dict[str, Cell] = {}
        self.locks: dict[str, Mutex] = {}
        self.seen: dict[str, int] = {}
        self.threads = [SimThread(name, self._runner(body))
                        for name, body in zip(program.thread_names, program.bodies())]

    def _runner(self, body: "Body") -> Callable[[], None]:
        return lambda: body(self)

    def cell(self, name: str) -> Cell:
        c = self.cells.get(name)
        if c is None:
            c = self.cells[name] = Cell(name)
        return c

    def lock(self, name: str) -> Mutex:
        m = self.locks.get(name)
        if m is None:
            m = self.locks[name] = Mutex(name)
        return m

    def result(self):
        return _Result((tuple(sorted((k, c.v) for k, c in self.cells.items())),
                        tuple(sorted(self.seen.items()))))


#: A thread's body: a function of the execution's instance (its cells, locks and what it saw).
Body = Callable[[_Instance], None]


class BenchProgram:
    """A program for the scheduler made of thread bodies, each a function of the instance."""

    def __init__(self, name: str, n: int):
        if not 1 <= n < len(_NAMES):
            raise ValueError(f"{name}: n must be from 1 to {len(_NAMES) - 1}, not {n}")
        self.name = name
        self.n = n
        self.thread_names = tuple(_NAMES[:self.threads()])

    def threads(self) -> int:
        return self.n

    def bodies(self) -> list[Body]:
        raise NotImplementedError

    def instantiate(self) -> _Instance:
        inst = _Instance(self)
        self.setup(inst)
        return inst

    def setup(self, inst: _Instance) -> None:
        """Create the cells and locks every execution starts with (before any thread runs)."""

    def describe(self) -> dict:
        return {"program": f"{self.name}({self.n})"}

    def recipe(self, schedule: str) -> Recipe:
        return Recipe(schedule, call=f"{self.name}({self.n})")

    def __repr__(self):
        return f"{self.name}({self.n})"


class ReadersWriter(BenchProgram):
    def threads(self) -> int:
        return self.n + 1

    def setup(self, inst: _Instance) -> None:
        inst.cell("x")

    def bodies(self) -> list[Body]:
        def writer(s):
            store(s.cells["x"], 1)

        def reader(i):
            def body(s):
                s.seen[f"r{i}"] = load(s.cells["x"])
            return body
        return [writer] + [reader(i) for i in range(self.n)]


class LastZero(BenchProgram):
    def threads(self) -> int:
        return self.n + 1

    def setup(self, inst: _Instance) -> None:
        for i in range(self.n + 1):
            inst.cell(f"array[{i}]")

    def bodies(self) -> list[Body]:
        n = self.n

        def finder(s):
            i = n
            while i > 0 and load(s.cells[f"array[{i}]"]) != 0:
                i -= 1
            s.seen["last zero"] = i

        def setter(j):
            def body(s):
                store(s.cells[f"array[{j}]"], load(s.cells[f"array[{j - 1}]"]) + 1)
            return body
        return [finder] + [setter(j) for j in range(1, n + 1)]


class Indexer(BenchProgram):
    SIZE = 8
    MESSAGES = 2

    def setup(self, inst: _Instance) -> None:
        for h in range(self.SIZE):
            inst.cell(f"table[{h}]")

    def bodies(self) -> list[Body]:
        def inserter(tid):
            def body(s):
                for w in range(self.MESSAGES):
                    m = self.MESSAGES * tid + w + 1
                    h = (m * 7) % (self.SIZE // 2)     # half the slots: threads collide
                    while not cas(s.cells[f"table[{h}]"], 0, m):
                        h = (h + 1) % self.SIZE
            return body
        return [inserter(t) for t in range(self.n)]


class LockedCounter(BenchProgram):
    def setup(self, inst: _Instance) -> None:
        inst.cell("x")
        inst.lock("m")

    def bodies(self) -> list[Body]:
        def body(s):
            m = s.locks["m"]
            m.enter()
            store(s.cells["x"], load(s.cells["x"]) + 1)
            m.exit()
        return [body] * self.n


class PrivateCounters(BenchProgram):
    PEEK = False          # thread A also reads the last thread's cell (PeekingCounters)

    def setup(self, inst: _Instance) -> None:
        for i in range(self.n):
            inst.cell(f"c{i}")
        inst.lock("m")

    def bodies(self) -> list[Body]:
        last = f"c{self.n - 1}"

        def counter(i):
            def body(s):
                m = s.locks["m"]
                m.enter()
                store(s.cells[f"c{i}"], load(s.cells[f"c{i}"]) + 1)
                if self.PEEK and i == 0:
                    s.seen["A saw"] = load(s.cells[last])
                m.exit()
            return body
        return [counter(i) for i in range(self.n)]


class PeekingCounters(PrivateCounters):
    PEEK = True


class Philosophers(BenchProgram):
    def setup(self, inst: _Instance) -> None:
        for i in range(self.n):
            inst.lock(f"fork{i}")
            inst.cell(f"meals{i}")

    def bodies(self) -> list[Body]:
        n = self.n

        def phil(i):
            def body(s):
                left, right = s.locks[f"fork{i}"], s.locks[f"fork{(i + 1) % n}"]
                left.enter()
                right.enter()
                store(s.cells[f"meals{i}"], 1)
                right.exit()
                left.exit()
            return body
        return [phil(i) for i in range(n)]


class LockedList(BenchProgram):
    def threads(self) -> int:
        return self.n + 1

    def setup(self, inst: _Instance) -> None:
        inst.cell("head")          # 0: the empty list, else the number of the first node
        for i in range(1, self.n + 1):
            inst.cell(f"next{i}")
        inst.lock("m")

    def bodies(self) -> list[Body]:
        def walker(s):
            m = s.locks["m"]
            m.enter()
            seen, at = [], load(s.cells["head"])
            while at:
                seen.append(at)
                at = load(s.cells[f"next{at}"])
            m.exit()
            s.seen["walked"] = int("".join(map(str, seen)) or "0")

        def inserter(i):
            def body(s):
                m = s.locks["m"]
                m.enter()
                store(s.cells[f"next{i}"], load(s.cells["head"]))
                store(s.cells["head"], i)
                m.exit()
            return body
        return [walker] + [inserter(i) for i in range(1, self.n + 1)]


class MixedSections(BenchProgram):
    def threads(self) -> int:
        return self.n + 1

    def setup(self, inst: _Instance) -> None:
        inst.cell("x")
        inst.cell("y")
        inst.lock("m")

    def bodies(self) -> list[Body]:
        def adder(i):
            def body(s):
                m = s.locks["m"]
                m.enter()
                if i == 0:
                    store(s.cells["y"], 1)       # y is written without the lock too: a point
                store(s.cells["x"], load(s.cells["x"]) + 1)
                m.exit()
            return body

        def other(s):
            store(s.cells["y"], 2)
        return [adder(i) for i in range(self.n)] + [other]


class Trylock(BenchProgram):
    def threads(self) -> int:
        return self.n + 1

    def setup(self, inst: _Instance) -> None:
        inst.cell("x")
        inst.lock("m")

    def bodies(self) -> list[Body]:
        def writer(i):
            def body(s):
                m = s.locks["m"]
                m.enter()
                store(s.cells["x"], load(s.cells["x"]) * 10 + i + 1)
                m.exit()
            return body

        def trier(s):
            m = s.locks["m"]
            if m.tryenter():
                s.seen["B got"] = load(s.cells["x"])
                m.exit()
            else:
                s.seen["B got"] = -1
        return [writer(0), trier] + [writer(i) for i in range(1, self.n)]


class SectionPanic(BenchProgram):
    def threads(self) -> int:
        return self.n + 1

    def setup(self, inst: _Instance) -> None:
        inst.cell("x")
        inst.lock("m")

    def bodies(self) -> list[Body]:
        def checker(s):
            m = s.locks["m"]
            m.enter()
            if load(s.cells["x"]) == 1:
                raise Failure("found x set inside the section")
            m.exit()

        def setter(s):
            m = s.locks["m"]
            m.enter()
            store(s.cells["x"], 1)
            m.exit()
        return [checker] + [setter] * self.n


class PanicLast(SectionPanic):
    def bodies(self) -> list[Body]:
        checker, *setters = super().bodies()
        return setters + [checker]


class _PanicWithY(SectionPanic):
    """section_panic's cell and lock, a cell y, and one thread more than section_panic."""

    def threads(self) -> int:
        return self.n + 2

    def setup(self, inst: _Instance) -> None:
        super().setup(inst)
        inst.cell("y")


class RelayPanic(_PanicWithY):
    def bodies(self) -> list[Body]:
        checker = super().bodies()[0]

        def first(s):
            store(s.cells["y"], 1)

        def relay(s):
            m = s.locks["m"]
            m.enter()
            load(s.cells["y"])
            store(s.cells["x"], 1)
            m.exit()
        return [first] + [relay] * self.n + [checker]


class RelayLate(RelayPanic):
    def bodies(self) -> list[Body]:
        first, *relays, checker = super().bodies()
        return [checker] + relays + [first]


class TryPanic(SectionPanic):
    def bodies(self) -> list[Body]:
        def trier(s):
            m = s.locks["m"]
            if m.tryenter():
                store(s.cells["x"], 1)
                m.exit()
        return [super().bodies()[0]] + [trier] * self.n


class TryOrMark(_PanicWithY):
    def bodies(self) -> list[Body]:
        checker, *setters = super().bodies()

        def marker(s):
            m = s.locks["m"]
            if m.tryenter():
                store(s.cells["x"], 1)
                m.exit()
            else:
                store(s.cells["y"], 2)
        return [checker, marker] + setters


class HaltEarly(BenchProgram):
    def threads(self) -> int:
        return 2

    def setup(self, inst: _Instance) -> None:
        inst.cell("x")
        inst.lock("m")

    def bodies(self) -> list[Body]:
        def checker(s):
            if load(s.cells["x"]) == 1:
                raise Failure("found x set")

        def setter(s):
            store(s.cells["x"], 1)
            m = s.locks["m"]
            for _ in range(self.n):
                m.enter()
                m.exit()
        return [checker, setter]


class Branching(BenchProgram):
    def threads(self) -> int:
        return 2 * self.n + 2

    def setup(self, inst: _Instance) -> None:
        for name in ("x", "y", "z"):
            inst.cell(name)
        inst.lock("m")

    def bodies(self) -> list[Body]:
        def reader(s):
            m = s.locks["m"]
            m.enter()
            if load(s.cells["x"]):
                s.seen["z"] = load(s.cells["z"])
            else:
                s.seen["y"] = load(s.cells["y"])
            m.exit()

        def setter(name, v):
            def body(s):
                m = s.locks["m"]
                m.enter()
                store(s.cells[name], v)
                m.exit()
            return body
        return ([reader, setter("x", 1)] + [setter("y", i + 1) for i in range(self.n)]
                + [setter("z", i + 1) for i in range(self.n)])


def readers_writer(n: int) -> ReadersWriter:
    return ReadersWriter("readers_writer", n)


def lastzero(n: int) -> LastZero:
    return LastZero("lastzero", n)


def indexer(n: int) -> Indexer:
    return Indexer("indexer", n)


def locked_counter(n: int) -> LockedCounter:
    return LockedCounter("locked_counter", n)


def philosophers(n: int) -> Philosophers:
    return Philosophers("philosophers", n)


def private_counters(n: int) -> PrivateCounters:
    return PrivateCounters("private_counters", n)


def peeking_counters(n: int) -> PeekingCounters:
    return PeekingCounters("peeking_counters", n)


def locked_list(n: int) -> LockedList:
    return LockedList("locked_list", n)


def mixed_sections(n: int) -> MixedSections:
    return MixedSections("mixed_sections", n)


def trylock(n: int) -> Trylock:
    return Trylock("trylock", n)


def section_panic(n: int) -> SectionPanic:
    return SectionPanic("section_panic", n)


def panic_last(n: int) -> PanicLast:
    return PanicLast("panic_last", n)


def relay_panic(n: int) -> RelayPanic:
    return RelayPanic("relay_panic", n)


def relay_late(n: int) -> RelayLate:
    return RelayLate("relay_late", n)


def try_panic(n: int) -> TryPanic:
    return TryPanic("try_panic", n)


def try_or_mark(n: int) -> TryOrMark:
    return TryOrMark("try_or_mark", n)


def halt_early(n: int) -> HaltEarly:
    return HaltEarly("halt_early", n)


def branching(n: int) -> Branching:
    return Branching("branching", n)


#: Programs for whole sections (dpor.py's whole_sections), checked as SMALL is.
SECTIONS = [locked_list(2), mixed_sections(2), trylock(2), section_panic(2), panic_last(2),
            relay_panic(1), relay_late(1), try_panic(2), try_or_mark(1), halt_early(2), branching(1)]

#: The programs (and sizes) the tests check against full enumeration and the benchmark reports.
SMALL = [readers_writer(2), readers_writer(4), lastzero(2), lastzero(4), indexer(2), indexer(3),
         locked_counter(3), philosophers(2), philosophers(3), private_counters(3),
         peeking_counters(3)]

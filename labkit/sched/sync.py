"""Simulated synchronisation: an adaptive mutex and a condition variable.

The mutex models illumos's adaptive kmutex closely enough to explain a crash dump: its owner
word is the owning thread's address with bit 0 (MUTEX_WAITERS) set only once some waiter has
gone to sleep. A waiter spins, without setting that bit, while the owner is on a CPU; it blocks
and sets the bit only when the owner is not running. That is why, in the seed's dump, the chain
lock shows an owner and no waiters although a thread was trying to take it.

Taking, releasing, waiting and waking are scheduling points (see runtime.point), so the
scheduler sees every lock operation. Whether a thread may go on is decided here, not by the
runtime: before each choice the runtime asks the object a thread waits on, `waiting(thread,
kind)`, and runs only the threads told "" (the others are "spinning" or "blocked").
"""

from labkit.sched.runtime import SimThread, current_thread, point

MUTEX_WAITERS = 0x1


class Mutex:
    """An adaptive mutex; `addr` is where it lives in the simulated kernel's memory."""

    __slots__ = ("name", "addr", "owner", "waiters", "sched_key")

    def __init__(self, name: str, addr: int = 0) -> None:
        self.name = name
        self.sched_key = ("Mutex", name)   # (the name dpor.key_of gave it: whole sections need one)
        self.addr = addr
        self.owner: SimThread | None = None   # the SimThread holding it, or None
        self.waiters = False   # MUTEX_WAITERS: some waiter blocked rather than spun

    def waiting(self, t: SimThread, kind: str) -> str:
        """May t, about to take this mutex, go on? "" if it is free, else how t waits.

        Adaptive mutex: spin while the owner is on a CPU, otherwise block and set the waiters
        bit. Every simulated thread has a CPU of its own, so the owner is "on CPU" unless it is
        itself waiting or done. (Asked again after every thread's state is known, so a spinner
        whose owner has since blocked blocks too.)
        """
        owner = self.owner
        if owner is None:
            return ""
        if owner is not t and not owner.finished and not owner.waiting:
            return "spinning"
        self.waiters = True
        return "blocked"

    @property
    def owner_word(self) -> int:
        """The mutex's first word as mdb's ADDR/K would print it."""
        if self.owner is None:
            return 0
        return self.owner.addr | (MUTEX_WAITERS if self.waiters else 0)

    def enter(self) -> None:
        # A thread that enters a mutex it already owns waits for itself forever: the scheduler
        # reports that as a deadlock. (A real kmutex panics with "recursive mutex_enter".)
        point("acquire", self)
        me = self.owner = current_thread()
        if me is not None:
            me.set_held(me.held | {self})

    def tryenter(self) -> bool:
        """mutex_tryenter(): take the mutex if it is free and say so; never wait.

        Its one scheduling point, a "tryacquire", is never held back: the searches order it
        against every acquire and release of the mutex (dpor.py), since they decide whether it
        succeeds, and it takes a free mutex in the same step. The race detector (hb.py) orders
        the steps after a successful tryenter as after an acquire."""
        point("tryacquire", self)
        if self.owner is not None:
            return False
        me = self.owner = current_thread()
        if me is not None:
            me.set_held(me.held | {self})
        return True

    def exit(self) -> None:
        point("release", self)
        me = self.owner
        if me is not None:
            me.set_held(me.held - {self})
        self.owner = None
        self.waiters = False

    def held(self) -> bool:
        """MUTEX_HELD(): does the calling thread own it?"""
        me = current_thread()
        return self.owner is not None and self.owner is me

    def __repr__(self) -> str:
        return f"<Mutex {self.name} owner_word={self.owner_word:#x}>"


class CondVar:
    """A condition variable: wait releases the mutex, sleeps until woken, and retakes the mutex."""

    __slots__ = ("name", "sleepers", "sched_key")

    def __init__(self, name: str) -> None:
        self.name = name
        self.sched_key = ("CondVar", name)   # (the name dpor.key_of gave it: quiet.py needs one)
        self.sleepers: list[SimThread | None] = []

    def waiting(self, t: SimThread, kind: str) -> str:
        """May t, asleep here, go on? Only once someone has woken it (signal or broadcast)."""
        return "blocked" if t in self.sleepers else ""

    def wait(self, mutex: Mutex) -> None:
        me = current_thread()
        mutex.exit()
        self.sleepers.append(me)
        point("wakeup", self)        # enabled only once someone has woken this thread
        mutex.enter()

    def broadcast(self) -> None:
        point("signal", self)
        self.sleepers.clear()

    def signal(self) -> None:
        point("signal", self)
        if self.sleepers:
            self.sleepers.pop(0)

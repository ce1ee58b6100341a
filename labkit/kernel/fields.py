"""What a learner's kernel code may share between threads: only what the simulator orders.

The exhaustive search orders the accesses it sees: scheduling points (ks_flags, the chain, the
locks, bcopy) and anything done while holding kstat_chain_lock (critical sections run in every
order). A thread's plain Python between two points runs glued to the point before it, so a value
one thread changes there and another reads there is a channel the search cannot see: a fix could
pass its check only because the search never tried the order that breaks it (a list kept at the
top of the file, filled by kstat_install and read by the count pass, did exactly that).

So in learner code (labkit.learner_code rewrites its field accesses to call these):
  - a kstat's fields that change after kstat_create (ks_ndata, ks_data_size, ks_snaptime,
    ks_data, ks_private, e_owner, ...) are read and stored only with kstat_chain_lock held;
    ks_flags is a scheduling point of its own and needs no lock;
  - the fields set before kstat_install and never changed after (ks_kid, ks_module, ks_name,
    ks_update, ...) are read freely and never stored;
  - stores go to a kstat, never to a function or a class, and hold a number;
  - gethrtime() reads the kernel's clock, which every call advances: it too needs the lock.
The learner_code loader refuses the other shared state at load time (top-level lists, mutable
default arguments). A kstat's e_zones is read freely: it changes only in kstat_zone_add, which
learner code cannot call, and a kstat's zones are added by its creator before kstat_install.

Modelling choice, stated as such: in illumos a kstat's data is protected by its ks_lock
(sys/kstat.h: "protects this kstat's data"), which for the header kstat is &kstat_chain_lock
(kstat_init in kstat_fr.c, line 497 at c9bbee95). The model asks for kstat_chain_lock for every
kstat: it is the lock the race is about, and the one the course's reader holds.

Outside a simulated execution (a learner calling a function of their fix directly) nothing is
checked: there is only one thread.
"""

from __future__ import annotations

from typing import Any

from labkit.errors import LabkitError
from labkit.learner_code import AUGMENT_OPS
from labkit.kernel.context import kstat_chain_lock, resolve
from labkit.kernel.kstat import Kstat
from labkit.kernel.kstat_fr import gethrtime as _kernel_gethrtime
from labkit.sched import current_thread

#: Set before kstat_install, never changed after: readable without the lock, never stored.
FIXED = frozenset(("ks_crtime", "ks_next", "ks_kid", "ks_module", "ks_resv", "ks_instance",
                   "ks_name", "ks_type", "ks_class", "ks_update", "ks_snapshot", "ks_lock"))
#: Fields a fix may store (under the lock): the header kstat's update and snapshot set these.
STORABLE = frozenset(("ks_data", "ks_ndata", "ks_data_size", "ks_snaptime", "ks_private"))


class SharedStateError(LabkitError):
    """Learner code touched shared state the simulator could not order."""


def _need_lock(what: str) -> None:
    if current_thread() is not None and not resolve(kstat_chain_lock).held():
        raise SharedStateError(
            f"{what} without kstat_chain_lock held: in this model a value that changes after "
            f"kstat_create is shared only under kstat_chain_lock (ks_flags excepted), so that "
            f"the search can order every change against every read; take the lock around it")


def load(obj: Any, name: str) -> Any:
    """`obj.name` in learner code, name a ks_* field other than ks_flags, or e_owner."""
    if isinstance(obj, Kstat) and name not in FIXED:
        _need_lock(f"reading {name}")
    return getattr(obj, name)


def store(obj: Any, name: str, value: Any) -> None:
    """`obj.name = value` in learner code."""
    if not isinstance(obj, Kstat):
        raise SharedStateError(f"storing {name} on {type(obj).__name__}: only a kstat's fields may "
                               f"be stored (a function, a class or a module shares it between threads)")
    if name not in STORABLE:
        accepted = ", ".join(sorted(STORABLE | {"ks_flags"}))
        raise SharedStateError(f"storing {name}: a fix may store only {accepted}"
                               + (" (it is set before kstat_install and never changes)" if name in FIXED else ""))
    if type(value) is not int:
        raise SharedStateError(f"storing {type(value).__name__} in {name}: a kstat_t member holds a "
                               f"number (an int)")
    _need_lock(f"storing {name}")
    setattr(obj, name, value)


def augment(obj: Any, name: str, op: str, value: Any) -> None:
    """`obj.name <op>= value` in learner code."""
    store(obj, name, AUGMENT_OPS[op](load(obj, name), value))


def gethrtime() -> int:
    """gethrtime() for learner code: the kernel's clock, which every call advances (so it is
    shared between threads): read under kstat_chain_lock in this model."""
    _need_lock("calling gethrtime()")
    return _kernel_gethrtime()

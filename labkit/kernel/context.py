"""How kernel code finds its kernel, and the C vocabulary it is written in.

Kernel functions are plain Python written to read like the C they model; they reach the kernel
they run in through `kernel()` (the running simulated thread carries it), and use the C names:
mutex_enter(&kstat_chain_lock) is `mutex_enter(kstat_chain_lock)`, where `kstat_chain_lock`
stands for "this kernel's chain lock" wherever it is used.
"""

from typing import TYPE_CHECKING, Any

from labkit.errors import LabkitError
from labkit.sched import runtime

if TYPE_CHECKING:                 # kstat.py finds its kernel here: the type only
    from labkit.kernel.kstat import Kernel

_booting: "list[Kernel]" = []     # kernels being set up outside any execution (boot-time kstat creation)


def kernel() -> "Kernel":
    try:       # (current_thread(), inlined: bcopy asks once per header it copies)
        k = runtime._current.running.context    # type: ignore[union-attr]  # (None: caught)
    except AttributeError:     # no execution running (_current None), or no thread (running None)
        k = None
    if k is not None:
        return k
    if _booting:
        return _booting[-1]
    raise LabkitError("kernel functions run inside a simulated kernel: build a Scenario and "
                      "run it (replay, explore or Stepper), rather than calling them directly")


class _KernelGlobal:
    """A name that means "this kernel's X", like a global in C."""

    def __init__(self, name: str, attr: str):
        self.name = name
        self.attr = attr

    def resolve(self) -> Any:
        return getattr(kernel(), self.attr)

    def __repr__(self):
        return f"&{self.name}"


kstat_chain_lock = _KernelGlobal("kstat_chain_lock", "chain_lock")
kstat_avl_bykid = _KernelGlobal("kstat_avl_bykid", "avl_bykid")


def resolve(obj: object) -> Any:
    return obj.resolve() if isinstance(obj, _KernelGlobal) else obj


class booting:
    """Context manager: kernel functions called inside run against `k` (used at boot)."""

    def __init__(self, k: "Kernel"):
        self.k = k

    def __enter__(self) -> "Kernel":
        _booting.append(self.k)
        return self.k

    def __exit__(self, *exc: object) -> None:
        _booting.pop()

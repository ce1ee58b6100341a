"""Kernel symbols as a debugger needs them: name -> address, and address -> name+offset.

labkit.kernel.symbols lays out the simulated kernel's text and data; it gives data symbols an
address but no size. A debugger needs the size to say that header_kstat+0x88 is inside
header_kstat, so the sizes are added here (an adaptive mutex is one word, kid_t is an int,
an avl_tree_t is 0x28 bytes, and header_kstat is a whole ekstat_t).
"""

from labkit.errors import LabkitError
from labkit.kernel import symbols

DATA_SIZES = {"kstat_chain_lock": 8, "kstat_chain_id": 4, "kstat_avl_bykid": 0x28,
              "kstat_avl_byname": 0x28, "header_kstat": symbols.EKSTAT_STRIDE}


def symbol_at(addr: int) -> tuple[str, int, str] | None:
    """(name, offset, "text" | "data") for an address inside a kernel symbol, else None."""
    for name, (start, size) in symbols.FUNCTION_TABLE.items():
        if start <= addr < start + size:
            return name, addr - start, "text"
    for name, start in symbols.DATA.items():
        if start <= addr < start + DATA_SIZES.get(name, 8):
            return name, addr - start, "data"
    return None


def lookup(name: str) -> int:
    """A symbol's address, or LabkitError for an unknown name."""
    if name in symbols.FUNCTION_TABLE:
        return symbols.FUNCTION_TABLE[name][0]
    if name in symbols.DATA:
        return symbols.DATA[name]
    raise LabkitError(f"unknown symbol name {name!r}")

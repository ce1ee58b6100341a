"""mdb's arithmetic: the expressions that stand before a verb (`ADDR::print`, `EXPR=K`).

mdb's rules, not Python's or C's: numbers are hex by default (0t for decimal, 0x, 0o and 0i
too), `%` is integer division (not modulo), `#` rounds up to a multiple (`fff71#1000` is
100000, the mapped size), a name is a symbol's address, `<rsi` is a register of the panicking
thread, `.` is dot (the last address), and unary `*` reads the pointer-sized word at an
address (`*kstat_chain_lock` is the lock's owner word). Arithmetic is on 64-bit unsigned words.
"""

import re
from collections.abc import Callable

MASK = 2**64 - 1

_TOKEN = re.compile(r"\s*(0[xX][0-9a-fA-F]+|0[tT][0-9]+|0[oO][0-7]+|0[iI][01]+|<<|>>|<[A-Za-z]\w*"
                    r"|[A-Za-z_][\w`]*|[0-9a-fA-F]+|[-+*%#~()&^|.])")

# binary operators by precedence level, loosest first
_LEVELS = (("|",), ("^",), ("&",), ("<<", ">>"), ("+", "-"), ("*", "%", "#"))


class ExprError(Exception):
    """Carries mdb's own wording for what went wrong."""


def tokenize(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ExprError(f'syntax error near "{text[pos:].strip()}"')
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


class Evaluator:
    """Evaluates one expression. `resolve(name)`, `register(name)` and `deref(addr)` come from
    the debugger, so this module knows nothing of dumps."""

    def __init__(self, resolve, register, deref, dot: int = 0):
        self.resolve, self.register, self.deref, self.dot = resolve, register, deref, dot

    def evaluate(self, text: str) -> int:
        self.tokens = tokenize(text)
        self.pos = 0
        if not self.tokens:
            raise ExprError("syntax error: expected an expression")
        value = self._binary(0)
        if self.pos != len(self.tokens):
            raise ExprError(f'syntax error near "{" ".join(self.tokens[self.pos:])}"')
        return value

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _binary(self, level: int) -> int:
        if level == len(_LEVELS):
            return self._unary()
        left = self._binary(level + 1)
        while self._peek() in _LEVELS[level]:
            op = self.tokens[self.pos]
            self.pos += 1
            left = _apply(op, left, self._binary(level + 1))
        return left

    def _unary(self) -> int:
        tok = self._peek()
        if tok in ("-", "~", "#", "*"):
            self.pos += 1
            v = self._unary()
            return {"-": lambda: -v & MASK, "~": lambda: ~v & MASK, "#": lambda: int(v == 0),
                    "*": lambda: self.deref(v)}[tok]()
        return self._primary()

    def _primary(self) -> int:
        tok = self._peek()
        if tok is None:
            raise ExprError("syntax error: the expression ends too soon")
        self.pos += 1
        if tok == "(":
            v = self._binary(0)
            if self._peek() != ")":
                raise ExprError('syntax error near "(": missing ")"')
            self.pos += 1
            return v
        if tok == ".":
            return self.dot
        if tok.startswith("<") and tok not in ("<<",):
            return self.register(tok[1:]) & MASK
        return number(tok, self.resolve)


def number(tok: str, resolve: Callable[[str], int]) -> int:
    low = tok.lower()
    for prefix, base in (("0x", 16), ("0t", 10), ("0o", 8), ("0i", 2)):
        if low.startswith(prefix) and len(low) > 2:
            return int(low[2:], base)
    if re.fullmatch(r"[0-9a-f]+", low):
        return int(low, 16)          # mdb's default radix is 16
    if re.fullmatch(r"[A-Za-z_][\w`]*", tok):
        return resolve(tok.split("`")[-1])
    raise ExprError(f'syntax error near "{tok}"')


def _apply(op: str, a: int, b: int) -> int:
    if op in ("%", "#") and b == 0:
        raise ExprError("attempted to divide by zero")
    return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "%": lambda: a // b,
            "#": lambda: (a + b - 1) // b * b, "<<": lambda: a << b, ">>": lambda: a >> b,
            "&": lambda: a & b, "^": lambda: a ^ b, "|": lambda: a | b}[op]() & MASK

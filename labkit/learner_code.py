"""The one loader of learner files: a learner's Python file, compiled under an allow-list, run in a
namespace of its own. Every error names the file and the line, in one wording.

What a learner's file may contain (checked on the syntax tree before anything runs):
  - functions (def), plain statements and expressions, `raise`, `assert`, loops, `if`;
  - imports only of the form `from M import *` or `from M import a, b` where M is one of the
    modules the caller allows (for the kernel fixes: labkit.kernel.api); those modules are seen
    through a copy holding their public names (their __all__) only;
  - no name, attribute, argument or keyword starting with "_" (no dunders: no __class__,
    __globals__, __subclasses__...);
  - attributes read only from ALLOWED_ATTRIBUTES (kstat fields ks_*, e_zones, e_owner, addr, and
    a few methods of plain lists, dicts and strings), and stored or deleted only when they are a
    kstat's ks_* field: a fix may set ks_flags or ks_ndata, not patch a function, a module or
    the kernel's own bookkeeping (e_owner, the chain);
  - no class, try, with, yield, await, async, global, nonlocal, match, lambda defaults to
    escape these rules; no `import M`.
  - builtins: SAFE_BUILTINS only (no open, getattr, setattr, type, vars, eval, exec, __import__);
  - at the top level only imports, functions (undecorated) and constants; default arguments are
    constants; a kstat field is stored on a line of its own. With `field_access` (kernel code),
    every access to a kstat field other than ks_flags goes through that guard (see
    labkit.kernel.fields: state the simulated threads share must be state the search orders).

Design note: an allow-list on the syntax tree (not RestrictedPython) because the exercises need
very little Python, every refusal can say in the course's words what was refused and where, and it
adds no dependency. It is the line of defence that matters in-process: a file that passes cannot
import os, open a file, fork, reach another module's globals or patch the grader; what it can still
do is compute (bounded by the grader's time and memory limits) and call the functions it was given.
Only labkit.errors is imported here (a low layer: kernel, grading and widgets all use it).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable
import builtins
import importlib
import itertools
import operator
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import LabkitError

#: Attributes a learner's code may read. ks_* (any kstat_t member) are allowed besides these.
ALLOWED_ATTRIBUTES = frozenset({
    "e_zones", "e_owner", "addr",
    # plain containers and strings the learner builds
    "append", "add", "extend", "pop", "get", "items", "keys", "values", "index", "count",
    "upper", "lower", "strip", "split", "startswith", "endswith", "removesuffix", "join",
})

SAFE_BUILTINS = {name: getattr(builtins, name) for name in (
    "abs", "all", "any", "bin", "bool", "dict", "divmod", "enumerate", "filter", "frozenset", "hex",
    "int", "len", "list", "map", "max", "min", "oct", "ord", "chr", "pow", "print", "range",
    "reversed", "round", "set", "sorted", "str", "sum", "tuple", "zip", "isinstance",
    "True", "False", "None",
    "Exception", "ValueError", "TypeError", "RuntimeError", "AssertionError", "NotImplementedError",
    "KeyError", "IndexError", "ZeroDivisionError",
)}

_FORBIDDEN_NODES = {
    ast.ClassDef: "a class", ast.Try: "try/except", ast.With: "with", ast.AsyncWith: "async with",
    ast.AsyncFunctionDef: "async def", ast.AsyncFor: "async for", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield from", ast.Global: "global",
    ast.Nonlocal: "nonlocal", ast.Import: "import (only `from ... import` is allowed)",
    ast.Match: "match",
}
if hasattr(ast, "TryStar"):
    _FORBIDDEN_NODES[ast.TryStar] = "try/except*"


#: Why a file Python's parser or compiler gives up on is refused (thousands of nested parts).
TOO_DEEP = ("it is nested too deeply to be read (an expression of thousands of parts?): write it "
            "in smaller steps")


class LearnerCodeError(LabkitError):
    """A learner's file was refused or failed to load; the message names the file and line."""


@dataclass(frozen=True)
class Refusal:
    line: int
    what: str


def where(path: str | os.PathLike, line: int | None) -> str:
    """The one wording of a place in a learner's file: `fix_a_sim.py line 12`."""
    name = Path(path).name
    return f"{name} line {line}" if line else name


def check_source(source: str, filename: str, allowed_modules: Iterable[str] = (),
                 refused_modules: dict[str, str] | None = None) -> list[Refusal]:
    """Every construct of `source` the allow-list refuses (empty: the file may run).

    `refused_modules` maps a module (or a prefix of one) to the reason it is refused, for a
    clearer message than "not allowed" (the package's own fixes: "write your own fix")."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as e:
        return [Refusal(e.lineno or 0, f"syntax error: {e.msg}")]
    except (RecursionError, MemoryError):   # Python's own parser gives up on it (it is not the learner's code running)
        return [Refusal(0, TOO_DEEP)]
    out: list[Refusal] = []
    allowed_modules = set(allowed_modules)
    refused_modules = refused_modules or {}

    def bad(node, what):
        out.append(Refusal(getattr(node, "lineno", 0), what))

    _check_shared_state(tree, bad)
    for node in ast.walk(tree):
        kind = _FORBIDDEN_NODES.get(type(node))
        if kind:
            bad(node, f"{kind} is not allowed in an exercise file")
            continue
        if isinstance(node, ast.ImportFrom):
            mod = ("." * node.level) + (node.module or "")
            if mod not in allowed_modules:
                why = next((r for m, r in refused_modules.items() if mod == m or mod.startswith(m + ".")),
                           None)
                accepted = ", ".join(f"`from {m} import *`" for m in sorted(allowed_modules)) or "none"
                bad(node, f"importing from {mod} is not allowed" + (f": {why}" if why else "")
                    + f" (accepted imports: {accepted})")
            for alias in node.names:
                if alias.name.startswith("_") or (alias.asname or "").startswith("_"):
                    bad(node, f"the name {alias.name!r} starts with '_': such names are not allowed")
        elif isinstance(node, ast.Name) and node.id.startswith("_"):
            bad(node, f"the name {node.id!r} starts with '_': such names are not allowed")
        elif isinstance(node, ast.Attribute):
            attr = node.attr
            if attr.startswith("_"):
                bad(node, f"the attribute .{attr} starts with '_': such attributes are not allowed")
            elif isinstance(node.ctx, ast.Del):
                bad(node, f"deleting .{attr} is not allowed: a kstat_t keeps all its members")
            elif isinstance(node.ctx, ast.Store):
                if not attr.startswith("ks_"):
                    bad(node, f"assigning .{attr} is not allowed: a fix may change a kstat's ks_* "
                              f"fields only, not the kernel's bookkeeping, a function or a module")
            elif not attr.startswith("ks_") and attr not in ALLOWED_ATTRIBUTES:
                bad(node, f"the attribute .{attr} is not one an exercise may use (kstat fields "
                          f"ks_*, e_zones, e_owner, addr, and list/str methods such as .append)")
        elif isinstance(node, (ast.FunctionDef, ast.Lambda)):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("_"):
                bad(node, f"the function name {node.name!r} starts with '_': such names are not allowed")
            a = node.args
            for arg in a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]:
                if arg.arg.startswith("_"):
                    bad(node, f"the argument {arg.arg!r} starts with '_': such names are not allowed")
        elif isinstance(node, ast.keyword) and node.arg and node.arg.startswith("_"):
            bad(node, f"the keyword {node.arg!r} starts with '_': such names are not allowed")
    return sorted(set(out), key=lambda r: (r.line, r.what))


# ---- state shared between simulated threads ----------------------------------------------------
# A kernel fix runs on several simulated threads at once, and the search orders only what it sees
# (labkit.kernel.fields says why). So a file may keep nothing mutable at its top level, default
# arguments are constants, and its accesses to kstat fields go through a guard (`field_access`).

#: What a constant expression (a top-level value, a default argument) may be made of. (Attributes
#: are checked on their own: only allowed ones of constants and kernel objects get this far.)
_CONSTANT_NODES = (ast.Constant, ast.Name, ast.Attribute, ast.Tuple, ast.BinOp, ast.UnaryOp, ast.BoolOp,
                   ast.Compare, ast.IfExp, ast.JoinedStr, ast.FormattedValue, ast.operator,
                   ast.unaryop, ast.boolop, ast.cmpop, ast.expr_context)
_SHARED_WHY = ("threads share what a file keeps at its top level, and the simulator cannot "
               "order changes to it; keep state in local variables or in a kstat's fields")


def _constant(node: ast.AST | None) -> bool:
    return node is None or all(isinstance(n, _CONSTANT_NODES) for n in ast.walk(node))


def guarded(attr: str) -> bool:
    """Is `.attr` a kstat field whose accesses go through the field guard? (ks_flags is a
    scheduling point of its own.)"""
    return (attr.startswith("ks_") and attr != "ks_flags") or attr == "e_owner"


def _check_shared_state(tree: ast.Module, bad) -> None:
    for node in tree.body:
        if isinstance(node, (ast.ImportFrom, ast.Pass)) or type(node) in _FORBIDDEN_NODES:
            continue            # (a forbidden statement is refused below, in its own words)
        if isinstance(node, ast.FunctionDef):
            if node.decorator_list:
                bad(node, f"a decorator on {node.name}() is not allowed: " + _SHARED_WHY)
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue                     # a docstring
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else None)
        if targets is not None and any(isinstance(t, ast.Attribute) for t in targets):
            continue            # (storing an attribute is refused below, in its own words)
        if targets is not None and all(isinstance(t, ast.Name) for t in targets):
            if _constant(getattr(node, "value", None)):
                continue
            bad(node, "only a constant (a number, a string, a tuple of them) may be kept at the top "
                      "level of an exercise file: " + _SHARED_WHY)
            continue
        bad(node, f"only imports, functions and constants may be at the top level of an exercise "
                  f"file, not {type(node).__name__.lower()}: " + _SHARED_WHY)
    for sub in ast.walk(tree):
        if isinstance(sub, (ast.FunctionDef, ast.Lambda)):
            args = sub.args
            for d in list(args.defaults) + [d for d in args.kw_defaults if d is not None]:
                if not _constant(d):
                    bad(d, "a default argument must be a constant (a list or dict default is one "
                           "object shared by every call, on every thread)")
            if isinstance(sub, ast.FunctionDef) and sub.decorator_list and sub not in tree.body:
                bad(sub, f"a decorator on {sub.name}() is not allowed: " + _SHARED_WHY)
        elif isinstance(sub, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
            nested = [t for t in targets for n in ast.walk(t)
                      if isinstance(n, ast.Attribute) and guarded(n.attr)]
            if nested and (isinstance(sub, ast.AnnAssign) or len(targets) > 1
                           or not isinstance(targets[0], ast.Attribute)):
                bad(sub, "store a kstat field on a line of its own (`ksp.ks_ndata = n`)")


class _GuardFields(ast.NodeTransformer):
    """Rewrites `x.ks_ndata`, `x.ks_ndata = v` and `x.ks_ndata += v` (and e_owner loads) into
    calls of the guard: `_lk_load(x, "ks_ndata")`, `_lk_store(...)`, `_lk_augment(...)`; and
    stores of ks_flags (a scheduling point of its own, not guarded) into `_lk_store_flags(x, v)`
    and `_lk_augment_flags(...)` (see store_flags)."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load) and guarded(node.attr):
            return ast.copy_location(ast.Call(ast.Name("_lk_load", ast.Load()),
                                              [node.value, ast.Constant(node.attr)], []), node)
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        self.generic_visit(node)
        t = node.targets[0]
        if len(node.targets) == 1 and isinstance(t, ast.Attribute) and guarded(t.attr):
            call = ast.Call(ast.Name("_lk_store", ast.Load()), [t.value, ast.Constant(t.attr), node.value], [])
            return ast.copy_location(ast.Expr(call), node)
        if len(node.targets) == 1 and isinstance(t, ast.Attribute) and t.attr == "ks_flags":
            _check_flags_store(t, node)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        t = node.target
        if isinstance(t, ast.Attribute) and guarded(t.attr):
            call = ast.Call(ast.Name("_lk_augment", ast.Load()),
                            [t.value, ast.Constant(t.attr), ast.Constant(type(node.op).__name__), node.value], [])
            return ast.copy_location(ast.Expr(call), node)
        if isinstance(t, ast.Attribute) and t.attr == "ks_flags":
            _check_flags_store(t, node)
        return node


def _check_flags_store(target: ast.Attribute, node: ast.Assign | ast.AugAssign) -> None:
    """`x.ks_flags = v` (or `op=`) becomes `_lk_flags_target(x).ks_flags = _lk_flags_value(v)`:
    both checked before the store, which stays in the learner's own frame (the kernel's record
    of who cleared a flag, and the scheduling point's line, are read from that frame)."""
    target.value = ast.copy_location(ast.Call(ast.Name("_lk_flags_target", ast.Load()), [target.value], []),
                                     target.value)
    node.value = ast.copy_location(ast.Call(ast.Name("_lk_flags_value", ast.Load()), [node.value], []),
                                   node.value)


def flags_target(obj: object) -> object:
    """The object of a learner's store into ks_flags, if it may be stored into: one whose kind
    has the field (a kstat), never a class, a module or a function. (`kstat_t.ks_flags = ...`
    replaced the kernel's ks_flags, the property every kstat's flag accesses go through: their
    scheduling points and the record of who installed what.)"""
    if isinstance(obj, (type, types.ModuleType)) or callable(obj) or not hasattr(type(obj), "ks_flags"):
        what = f"the class {obj.__name__}" if isinstance(obj, type) else type(obj).__name__
        raise TypeError(f"storing ks_flags on {what}: only a kstat's fields may be stored (a class, "
                        f"a function or a module is shared by every kstat and every thread)")
    return obj


def flags_value(value: object) -> int:
    """The value of a learner's store into ks_flags, if it is an int (an exact one)."""
    if type(value) is not int:
        raise TypeError(f"storing {type(value).__name__} in ks_flags: a kstat_t member holds a number (an int)")
    return value


def _public_copy(modname: str) -> types.ModuleType:
    """A fresh module holding only `modname`'s public names (its __all__)."""
    real = importlib.import_module(modname)
    names = getattr(real, "__all__", None) or [n for n in vars(real) if not n.startswith("_")]
    copy = types.ModuleType(modname)
    for n in names:
        setattr(copy, n, getattr(real, n))
    copy.__dict__["__all__"] = list(names)
    return copy


def _importer(path, allowed_modules):
    def restricted_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name in allowed_modules and fromlist:
            return _public_copy(name)
        raise ImportError(f"{Path(path).name}: importing {name} is not allowed")
    return restricted_import


_ids = itertools.count()


def load(path: str | os.PathLike, *, allowed_modules: Iterable[str] = (),
         refused_modules: dict[str, str] | None = None, prefix: str = "learner",
         field_access: types.ModuleType | None = None) -> types.ModuleType:
    """Check, compile and run a learner's file; its module (not in sys.modules).

    A refusal, a syntax error or an exception while running its top level is a LearnerCodeError
    naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise LearnerCodeError(f"{path.name}: file not found in {path.parent}")
    try:
        # UTF-8 whatever the locale (the grader's and the learner's machine read the same text),
        # and a byte-order mark dropped as Python does when it runs a file (Notepad writes one).
        source = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise LearnerCodeError(f"{path.name}: cannot be read as text: byte {e.start} is not UTF-8 "
                               f"(save the file as UTF-8 text)") from None
    except OSError as e:
        raise LearnerCodeError(f"{path.name}: cannot be read as text: {e.strerror}") from None
    return load_source(source, path, allowed_modules=allowed_modules,
                       refused_modules=refused_modules, prefix=prefix, field_access=field_access)


def load_source(source: str, path: str | os.PathLike, *, allowed_modules: Iterable[str] = (),
                refused_modules: dict[str, str] | None = None, prefix: str = "learner",
                field_access: types.ModuleType | None = None) -> types.ModuleType:
    """As load(), from source text. `field_access` (labkit.kernel.fields: load, store, augment)
    guards every access to a kstat field the search could not order; without it (a file that
    never runs on simulated threads) the accesses are plain."""
    refusals = check_source(source, str(path), allowed_modules, refused_modules)
    if refusals:
        first = refusals[0]
        more = f" (and {len(refusals) - 1} more refusals)" if len(refusals) > 1 else ""
        raise LearnerCodeError(f"{where(path, first.line)}: {first.what}{more}")
    try:
        tree = ast.fix_missing_locations(_GuardFields().visit(ast.parse(source, str(path))))
        code = compile(tree, str(path), "exec", dont_inherit=True)
    except (RecursionError, MemoryError):
        raise LearnerCodeError(f"{where(path, None)}: {TOO_DEEP}") from None
    module = types.ModuleType(f"_labkit_{prefix}_{Path(path).stem}_{next(_ids)}")
    module.__file__ = str(path)
    vars(module)["__builtins__"] = dict(SAFE_BUILTINS, __import__=_importer(path, set(allowed_modules)),
                               __build_class__=None)
    guard = field_access
    vars(module).update(
        _lk_load=guard.load if guard else getattr,
        _lk_store=guard.store if guard else setattr,
        _lk_augment=guard.augment if guard else _plain_augment,
        _lk_flags_target=flags_target, _lk_flags_value=flags_value)
    try:
        exec(code, vars(module))
    except BaseException as exc:  # a learner's top level may raise anything, even SystemExit
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise LearnerCodeError(f"{describe(exc, path, 'loading it raised')}") from None
    return module


#: The operator of each augmented assignment (`x.ks_ndata += 1` is `Add`), for the field guard.
AUGMENT_OPS = {"Add": operator.add, "Sub": operator.sub, "Mult": operator.mul, "Div": operator.truediv,
               "FloorDiv": operator.floordiv, "Mod": operator.mod, "Pow": operator.pow,
               "LShift": operator.lshift, "RShift": operator.rshift, "BitOr": operator.or_,
               "BitAnd": operator.and_, "BitXor": operator.xor, "MatMult": operator.matmul}


def _plain_augment(obj, name: str, op: str, value):
    setattr(obj, name, AUGMENT_OPS[op](getattr(obj, name), value))


def learner_line(exc: BaseException, path: str | os.PathLike) -> int | None:
    """The deepest line of the learner's file `path` in the exception's traceback, if any."""
    name = Path(path).name
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).name == name
              and Path(f.filename).resolve() == Path(path).resolve()]
    return frames[-1].lineno if frames else None


def describe(exc: BaseException, path: str | os.PathLike, verb: str = "raised") -> str:
    """`fix_a_sim.py line 12: loading it raised TypeError: ...`: the learner's deepest line in it."""
    line = learner_line(exc, path)
    if isinstance(exc, MemoryError):
        msg = "ran out of memory (the grader bounds every check's memory)"
    else:
        text = str(exc).strip().splitlines()
        msg = text[0][:300] if text else ""
    return f"{where(path, line)}: {verb} {type(exc).__name__}" + (f": {msg}" if msg else "")


def functions(module: types.ModuleType, names: Iterable[str]) -> dict:
    """{name: function} for those of `names` the module defines as functions."""
    out = {}
    for n in names:
        fn = vars(module).get(n)
        if isinstance(fn, types.FunctionType):
            out[n] = fn
    return out


__all__ = ["ALLOWED_ATTRIBUTES", "SAFE_BUILTINS", "LearnerCodeError", "Refusal", "check_source",
           "AUGMENT_OPS", "describe", "functions", "guarded", "learner_line", "load", "load_source", "where"]


"""Loading the C: the extension built at install time, or a build made on first use.

Design note: the built-in variants of the normal build come from `labkit.native._race` (built by
setup.py). A learner's file, and the ThreadSanitizer build, are compiled on first use: the
module is named by a hash of every source and option, built in a private temporary directory,
moved into the cache with os.replace (atomic, so two kernels racing to build are both fine) and
loaded by path. Editing the file changes the hash, so a running notebook just picks it up.

The ThreadSanitizer build is not a module but a program (tsan_main.c as its main: no Python runs
under libtsan, whose start-up under it cost 0.3-0.45 s of CPU a run), which labkit.native.tsan runs.

The engine (kstat_fr.c, engine.c, fault.c), the learner glue and cffi's wrapper (generated from
CDEF; the program's tsan_main.c in its place) are the same in every such build, and nearly all of
its compile time: they are compiled once per content, compiler and flags (`engine_objects`,
normal and ThreadSanitizer flavours) and linked in, so a learner's build compiles only its own
file (and a module's two-line init). The grader
compiles these objects itself, before any check runs, into a folder only it can write
($LABKIT_NATIVE_ENGINE for its checks, which only read it).
"""

import hashlib
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from typing import Any

from labkit import config
from labkit.errors import LabkitError
from labkit.native import _build

NATIVE_DIR = _build.HERE
TSAN_FLAGS = ["-fsanitize=thread", "-g", "-O1"]
_loaded: dict[str, Any] = {}   # module name -> the loaded cffi module


def cache_dir() -> str:
    """Where first-use builds live ($LABKIT_NATIVE_CACHE, else ~/.cache/labkit/native)."""
    return config.native_cache()


def compiler() -> str:
    cc = os.environ.get("CC") or (sysconfig.get_config_var("CC") or "gcc").split()[0]
    path = shutil.which(cc)
    if path is None:
        raise LabkitError(f"no C compiler found ({cc!r}); install gcc to build C for the native race")
    return path


def engine_dir() -> str:
    """Where engine objects built here go: the cache's engine/ folder."""
    return os.path.join(cache_dir(), "engine")


def build_flags(tsan: bool) -> list[str]:
    """The flags cffi's own build would compile the engine with (Python's CFLAGS, then ours)."""
    py = shlex.split(sysconfig.get_config_var("CFLAGS") or "") + shlex.split(
        sysconfig.get_config_var("CCSHARED") or "-fPIC")
    return py + _build.CFLAGS + (TSAN_FLAGS if tsan else [])


def fixed(tsan: bool) -> list[str]:
    """What every first-use build links, compiled once: the engine, the glue that presents a
    learner's functions as the variant "learner" (left out of a build of variants.c), and cffi's
    wrapper ("wrapper": generated) for a module, or tsan_main.c for ThreadSanitizer's program."""
    return [*_build.ENGINE, "learner_glue.c", "tsan_main.c" if tsan else "wrapper"]


#: The name cffi's wrapper is generated under. It is compiled once, so it cannot carry a module's
#: name: each module gets its own two-line PyInit, which calls lk_cffi_init (appended to it).
WRAPPER_NAME = "_lk_wrapper"
_WRAPPER_INIT = re.compile(r'return _cffi_init\("_lk_wrapper", (0x[0-9a-fA-F]+), &_cffi_type_context\);')


def engine_objects(tsan: bool = False, into: str | None = None) -> list[str]:
    """The fixed(tsan) object files of a first-use build (in that order), compiled once and then
    found by content.

    Looked for in one folder: `into` if given; else $LABKIT_NATIVE_ENGINE if it is set (the
    grader's folder, which its checks only read; if it lacks them, they are compiled into a
    private temporary folder, nothing else is trusted); else engine_dir(). Compiled into that
    folder if it does not have them."""
    cc, flags, files = compiler(), build_flags(tsan), fixed(tsan)
    sources = [f for f in files if f != "wrapper"]
    import cffi
    digest = hashlib.sha256(repr((cc, flags, sys.version, cffi.__version__, _build.CDEF, _build.PREAMBLE,
                                  sysconfig.get_paths()["include"])).encode())
    for f in [*sources, "kstat_model.h", "lk_engine.h"]:
        with open(os.path.join(NATIVE_DIR, f), "rb") as fh:
            digest.update(f.encode() + b"\0" + fh.read())
    key = digest.hexdigest()[:20]
    names = [f"{key}-{os.path.splitext(f)[0]}.o" for f in files]
    given = None if into else config.native_engine()
    folder = into or given or engine_dir()
    if all(os.path.isfile(os.path.join(folder, n)) for n in names):
        return [os.path.join(folder, n) for n in names]
    target = tempfile.mkdtemp(prefix="labkit-engine-own-") if given else folder
    os.makedirs(target, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="labkit-engine-")
    try:
        paths = [os.path.join(NATIVE_DIR, f) if f != "wrapper" else os.path.join(tmp, "wrapper.c") for f in files]
        if "wrapper" in files:
            _write_wrapper(os.path.join(tmp, "wrapper.c"))
        objs = [os.path.join(tmp, n) for n in names]
        _compile(list(zip(paths, objs)), tsan, "building the native engine")
        for obj, name in zip(objs, names):
            os.chmod(obj, 0o644)
            os.replace(obj, os.path.join(target, name))  # atomic: racing builders are both fine
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [os.path.join(target, n) for n in names]


def _write_wrapper(path: str) -> None:
    """cffi's wrapper for CDEF, generated under WRAPPER_NAME, with lk_cffi_init(name) appended:
    what cffi's own PyInit does, for the name a module is loaded under."""
    from cffi import FFI
    from cffi.recompiler import make_c_source
    ffi = FFI()
    ffi.cdef(_build.CDEF)
    make_c_source(ffi, WRAPPER_NAME, _build.PREAMBLE, path)
    with open(path) as f:
        text = f.read()
    m = _WRAPPER_INIT.search(text)
    if m is None:
        import cffi
        raise LabkitError(f"cffi {cffi.__version__} writes its module's init in a form labkit does not "
                          f"know (no '_cffi_init(\"{WRAPPER_NAME}\", ...)'); report this, with the version")
    with open(path, "a") as f:
        f.write("\nPyObject *lk_cffi_init(const char *name)\n"
                f"{{\n  return _cffi_init(name, {m.group(1)}, &_cffi_type_context);\n}}\n")


def _compile(pairs: list[tuple[str, str]], tsan: bool, what: str) -> None:
    """Compile each (source, object) with the engine's flags, all at once."""
    cc = compiler()
    includes = [f"-I{d}" for d in [NATIVE_DIR, *sorted({os.path.dirname(src) for src, _ in pairs}),
                                   sysconfig.get_paths()["include"]]]
    procs = [(src, subprocess.Popen([cc, *build_flags(tsan), *includes, "-c", src, "-o", obj],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
             for src, obj in pairs]
    errors = [(src, proc.communicate()[1].decode(errors="replace").strip()) for src, proc in procs]
    failed = [f"{os.path.basename(src)}: {err}" for (src, err), (_, proc) in zip(errors, procs) if proc.returncode]
    if failed:
        raise LabkitError(f"{what} failed:\n" + "\n".join(failed))


def check_source(source: str) -> str:
    """The absolute path of a learner's C file, after a syntax check that reports gcc's words."""
    path = os.path.abspath(os.fspath(source))
    if not os.path.isfile(path):
        raise LabkitError(f"source file {source!r} does not exist")
    proc = subprocess.run(
        [compiler(), "-std=gnu11", "-Wall", "-fsyntax-only", "-I", NATIVE_DIR, path],
        capture_output=True, text=True)
    if proc.returncode != 0:
        raise LabkitError(f"{source} does not compile:\n{proc.stderr.strip()}")
    return path


def load(source=None):
    """(ffi, lib) for the built-in variants, or for a learner's file (its variant is "learner")."""
    if source is None:
        try:
            from labkit.native import _race
        except ImportError as exc:
            raise LabkitError("the native extension is not built; reinstall labkit with a C "
                              f"compiler present (pip install -e .): {exc}") from None
        return _race.ffi, _race.lib
    name, path = build(source)
    if name not in _loaded:
        _loaded[name] = _import(name, path)
    mod = _loaded[name]
    return mod.ffi, mod.lib


def build(source=None, tsan=False):
    """Compile (or find in the cache) a first-use build; its (name, path), without loading it: a
    module, or with tsan=True ThreadSanitizer's program (tsan_main.c's), which labkit.native.tsan
    runs (it links libtsan itself: no preload)."""
    objects = engine_objects(tsan)
    if source is None:
        sources = [os.path.join(NATIVE_DIR, "variants.c")]
        objects = [o for o, f in zip(objects, fixed(tsan)) if f != "learner_glue.c"]
    else:
        path = os.path.abspath(os.fspath(source))
        if not os.path.isfile(path):
            raise LabkitError(f"source file {source!r} does not exist")
        sources = [path]
    flags = TSAN_FLAGS if tsan else []
    # The fixed objects are named by their own content hash, which the build's name includes.
    digest = hashlib.sha256(repr((flags, sys.version, _build.CDEF,
                                  [os.path.basename(o) for o in objects])).encode())
    for path in sources + [os.path.join(NATIVE_DIR, h) for h in ("kstat_model.h", "lk_engine.h")]:
        with open(path, "rb") as f:
            digest.update(f.read())
    name = ("lk_tsan_" if tsan else "_lk_") + digest.hexdigest()[:20]
    suffix = "" if tsan else sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    target = os.path.join(cache_dir(), name + suffix)
    if not os.path.exists(target):   # (a build in the cache compiled: no need to check it again)
        if source is not None:
            check_source(source)
        _build_one(name, target, sources, tsan, objects)
    return name, target


def _build_one(name, target, sources, tsan, objects):
    """`sources` (and a module's own init) compiled as the fixed objects are (the same flags, each
    file by its own compiler at once), linked with them: a module, or with tsan ThreadSanitizer's
    program. (cffi's own compile goes through setuptools, which costs more than the compiling,
    and changes directory, which a build in a thread must not.)"""
    os.makedirs(cache_dir(), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="labkit-build-")
    try:
        if not tsan:
            init = os.path.join(tmp, "init.c")
            with open(init, "w") as f:
                f.write("extern void *lk_cffi_init(const char *);\n"
                        f'__attribute__((visibility("default"))) void *PyInit_{name}(void)\n'
                        f'{{\n  return lk_cffi_init("{name}");\n}}\n')
            sources = [init, *sources]
        pairs = [(src, os.path.join(tmp, f"{n}.o")) for n, src in enumerate(sources)]
        what = "building the ThreadSanitizer program" if tsan else "building the native module"
        _compile(pairs, tsan, what)
        built = os.path.join(tmp, os.path.basename(target))
        kind = ["-fsanitize=thread"] if tsan else ["-shared"]
        link = subprocess.run([compiler(), *kind, *[obj for _, obj in pairs], *objects, "-pthread", "-o", built],
                              capture_output=True, text=True)
        if link.returncode != 0:
            raise LabkitError(f"{what} failed:\n{link.stderr.strip()}")
        os.replace(built, target)  # atomic: racing builders are both fine
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _import(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

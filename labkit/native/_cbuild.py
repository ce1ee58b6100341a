"""Loading the C: the extension built at install time, or a build made on first use.

Design note: the built-in variants of the normal build come from `labkit.native._race` (built by
setup.py). A learner's file, and the ThreadSanitizer build, are compiled on first use: the
module is named by a hash of every source and option, built in a private temporary directory,
moved into the cache with os.replace (atomic, so two kernels racing to build are both fine) and
loaded by path. Editing the file changes the hash, so a running notebook just picks it up.
"""

import hashlib
import importlib.util
import os
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


def load(source=None, tsan=False):
    """(ffi, lib) for the built-in variants, or for a learner's file (its variant is "learner")."""
    if source is None and not tsan:
        try:
            from labkit.native import _race
        except ImportError as exc:
            raise LabkitError("the native extension is not built; reinstall labkit with a C "
                              f"compiler present (pip install -e .): {exc}") from None
        return _race.ffi, _race.lib
    name, path = build(source, tsan)
    if name not in _loaded:
        _loaded[name] = _import(name, path)
    mod = _loaded[name]
    return mod.ffi, mod.lib


def build(source=None, tsan=False):
    """Compile (or find in the cache) a first-use module; its (name, path), without loading it.

    A ThreadSanitizer build can only be loaded with libtsan preloaded: build it here, load it in
    a child.
    """
    sources = [os.path.join(NATIVE_DIR, f) for f in _build.ENGINE]
    if source is None:
        sources.append(os.path.join(NATIVE_DIR, "variants.c"))
    else:
        sources += [os.path.join(NATIVE_DIR, "learner_glue.c"), check_source(source)]
    flags = TSAN_FLAGS if tsan else []
    digest = hashlib.sha256(repr((flags, sys.version, _build.CDEF)).encode())
    for path in sources + [os.path.join(NATIVE_DIR, h) for h in ("kstat_model.h", "lk_engine.h")]:
        with open(path, "rb") as f:
            digest.update(f.read())
    name = "_lk_" + digest.hexdigest()[:20]
    return name, _build_module(name, sources, flags)


def _build_module(name, sources, flags):
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    target = os.path.join(cache_dir(), name + suffix)
    if os.path.exists(target):
        return target
    os.makedirs(cache_dir(), exist_ok=True)
    includes = [NATIVE_DIR] + sorted({os.path.dirname(s) for s in sources})
    ffi = _build.make_ffi(name, sources, includes, flags, ["-fsanitize=thread"] if flags else [])
    tmp = tempfile.mkdtemp(prefix="labkit-build-")
    try:
        built = ffi.compile(tmpdir=tmp, verbose=False)
        os.replace(built, target)
    except Exception as exc:  # the compiler's own words are more use than a traceback
        raise LabkitError(f"building the native module failed: {exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _import(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (made by
# `labkit autograder build`). It installs a Python >= 3.11 (Gradescope's Ubuntu images ship an
# older one), gcc and Python's headers (learners' C is compiled at grading time), labkit into its
# own venv, and the unprivileged user the learners' code runs as.
# LABKIT_AUTOGRADER_ROOT (default /autograder) lets CI run this against a temporary folder.
set -euo pipefail
ROOT="${LABKIT_AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"
VENV="$ROOT/labkit-venv"
USER_NAME="${LABKIT_GRADE_USER_NAME:-labkit-student}"

fits() {  # a Python >= 3.11 with venv, ensurepip and its C headers
  "$1" - <<'PY' 2>/dev/null
import ensurepip, os, sys, sysconfig, venv
sys.exit(sys.version_info < (3, 11) or not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))
PY
}
find_python() {
  for p in ${LABKIT_AUTOGRADER_PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$p" >/dev/null 2>&1 && fits "$(command -v "$p")"; then command -v "$p"; return 0; fi
  done
  return 1
}

PY="$(find_python || true)"
if [ -z "$PY" ] || ! command -v gcc >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q gcc
  if [ -z "$PY" ]; then
    # Ubuntu 22.04 has python3.11 in universe, 24.04 has 3.12; older releases need deadsnakes.
    apt-get install -y -q python3.11 python3.11-venv python3.11-dev \
      || apt-get install -y -q python3.12 python3.12-venv python3.12-dev \
      || { apt-get install -y -q software-properties-common \
           && add-apt-repository -y ppa:deadsnakes/ppa && apt-get update -q \
           && apt-get install -y -q python3.11 python3.11-venv python3.11-dev; }
    PY="$(find_python)" || { echo "setup.sh: could not install a Python >= 3.11 with its headers" >&2; exit 1; }
  fi
fi
echo "setup.sh: using $PY ($("$PY" --version))"

"$PY" -m venv "$VENV"
# Only what grading needs (labkit's notebook dependencies are not used here), at the versions
# the autograder was built and tested with.
"$VENV/bin/python" -m pip install -q -r "$SRC/requirements.txt" || {
  echo "setup.sh: the pinned versions do not install here; taking the newest (see extra_data.versions)"
  "$VENV/bin/python" -m pip install -q $(sed 's/==.*//' "$SRC/requirements.txt")
}
# The wheel fits the Python it was built with; on any other, or if its native module does not
# load here (another C library), build labkit from its source (gcc and the headers are there).
if ! { "$VENV/bin/python" -m pip install -q --no-deps "$SRC"/labkit-*.whl 2>/dev/null \
       && "$VENV/bin/python" -c "import labkit.native._race, labkit.grading" 2>/dev/null; }; then
  echo "setup.sh: the wheel does not fit this Python; building labkit from its source"
  rm -rf "$ROOT/labkit-src" && tar -xzf "$SRC/labkit-src.tar.gz" -C "$ROOT"
  "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation --force-reinstall "$ROOT/labkit-src"
  "$VENV/bin/python" -c "import labkit.native._race, labkit.grading"
fi

if [ "$(id -u)" = 0 ] && ! id "$USER_NAME" >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin "$USER_NAME" 2>/dev/null \
    || useradd -r -M -s /bin/false "$USER_NAME"
fi
echo "setup.sh: labkit $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("labkit"))') is ready"

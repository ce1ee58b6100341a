# The two commands of the README, and what they need. Everything lives in .venv; a second run
# only reinstalls when pyproject.toml, setup.py or the C model changed.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
NATIVE := $(wildcard labkit/native/*.c labkit/native/*.h labkit/native/_build.py)

.PHONY: lab test bench browser-deps

lab: $(STAMP)
	$(VENV)/bin/labkit lab

test: $(STAMP) browser-deps
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider

bench: $(STAMP) browser-deps
	$(VENV)/bin/python benchmarks/bench_import.py
	$(VENV)/bin/python benchmarks/bench_explore.py
	$(VENV)/bin/python benchmarks/bench_native.py
	$(VENV)/bin/python benchmarks/bench_dump.py
	$(VENV)/bin/python benchmarks/bench_grade.py
	$(VENV)/bin/python benchmarks/bench_notebooks.py
	$(VENV)/bin/python benchmarks/bench_classroom.py

# The browser tests (tests/browser) drive Debian's Chromium: `playwright install` would download a
# browser build, which this network refuses. apt needs root; without it, say what to run.
browser-deps:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	  else echo "The browser tests need Chromium at /usr/bin/chromium: run 'sudo apt-get install -y chromium'"; \
	       echo "(or, without them: $(VENV)/bin/python -m pytest -m 'not browser')"; exit 1; fi; }

$(STAMP): pyproject.toml setup.py $(NATIVE) labkit/__init__.py   # an editable install records whether labkit is a package
	@command -v gcc >/dev/null || { echo "labkit needs a C compiler (gcc) to build its native race; install one first"; exit 1; }
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	touch $(STAMP)

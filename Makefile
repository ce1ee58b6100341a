# The two commands of the README, and what they need. Everything lives in .venv; a second run
# only reinstalls when pyproject.toml, setup.py or the C model changed.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
NATIVE := $(wildcard labkit/native/*.c labkit/native/*.h labkit/native/_build.py)

.PHONY: lab test bench browser-deps

lab: $(STAMP)
	$(VENV)/bin/labkit lab

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench_explore.py
	$(VENV)/bin/python benchmarks/bench_native.py
	$(VENV)/bin/python benchmarks/bench_grade.py

$(STAMP): pyproject.toml setup.py $(NATIVE)
	@command -v gcc >/dev/null || { echo "labkit needs a C compiler (gcc) to build its native race; install one first"; exit 1; }
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	touch $(STAMP)

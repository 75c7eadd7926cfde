# Two set-up commands (README): `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: demo test bench derivations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_RUN): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(STAMP_TEST): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test,dask]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/asymexp demo --out demo-output

test: $(STAMP_TEST)
	$(BIN)/python -m pytest

bench: $(STAMP_TEST)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

derivations: $(STAMP_RUN)
	$(BIN)/python -m asymexp.symbolic.regenerate derivations

clean:
	-if [ -x $(BIN)/python ]; then $(BIN)/python -m asymexp.jit --clear; fi
	find asymexp \( -name '*.nbi' -o -name '*.nbc' \) -type f -delete
	rm -rf $(VENV) demo-output .pytest_cache .hypothesis

# Two set-up commands (README): `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
STAMP_DOCS := $(VENV)/.installed-docs

.PHONY: demo test docs bench derivations clean mutate warmup

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_RUN): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(STAMP_TEST): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test,dask]'
	touch $@ $(STAMP_RUN)

$(STAMP_DOCS): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e '.[docs]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/asymexp warmup --workload demo
	$(BIN)/asymexp demo --out demo-output

# compile the Numba kernels ahead of the first run (asymexp warmup; minutes on a cold cache, seconds after)
warmup: $(STAMP_RUN)
	$(BIN)/asymexp warmup

test: $(STAMP_TEST)
	$(BIN)/python -m pytest

# the documentation site (docs/conf.py): fresh environment (-E), so every tutorial is executed and every docstring
# re-read; -W: a warning fails the build. Open docs/_build/html/index.html.
docs: $(STAMP_DOCS)
	$(BIN)/python -m sphinx -b html -E -W --keep-going docs docs/_build/html

# mutation testing of the numeric core (tools/mutate.py; slow, not part of `make test`): by default a seeded
# sample of 20 mutants per module; MUTATE_ARGS= (empty) runs every mutant (hours on two cores)
MUTATE_ARGS ?= --sample 20 --seed 1
mutate: $(STAMP_TEST)
	nice -n 10 $(BIN)/python tools/mutate.py $(MUTATE_ARGS)

bench: $(STAMP_TEST)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

derivations: $(STAMP_RUN)
	$(BIN)/python -m asymexp.symbolic.regenerate derivations

clean:
	-if [ -x $(BIN)/python ]; then $(BIN)/python -m asymexp.jit --clear; fi
	find asymexp \( -name '*.nbi' -o -name '*.nbc' \) -type f -delete
	rm -rf $(VENV) demo-output .pytest_cache .hypothesis docs/_build

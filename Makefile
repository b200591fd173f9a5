# Two commands matter: `make demo` (the whole pipeline offline) and `make test` (lint, types, tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install demo rollback test lint typecheck importlint pytest airflow bench wheel lock clean

help:
	@echo "make demo     - run the whole pipeline end to end offline (local GCS + Vertex AI emulators)"
	@echo "make rollback - roll the demo's champion back to the previous one (DAG gemini_squad_rollback)"
	@echo "make test     - ruff, mypy, the import-linter contracts (layering) and pytest"
	@echo "make airflow  - a full local Airflow on http://localhost:8080 wired to the emulators"
	@echo "make bench    - run the benchmarks in bench/"
	@echo "make test-compat - the Airflow-facing tests on Airflow 3.1 (Cloud Composer's other line), in .venv-compat"
	@echo "make composer-deploy ENV=... LOCATION=... [PROJECT=...] [RUN=1] - print (or run) the Composer deploy commands"

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

# Roll the demo's champion back to the previous one (the manual DAG gemini_squad_rollback).
rollback: install
	$(BIN)/python -m devtools.rollback_demo

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

# pytest-xdist: one worker per core (PYTEST_WORKERS=0 runs in this process). --dist loadgroup keeps the
# tests of one xdist_group on one worker (those sharing the make-airflow stack; see tests/conftest.py).
PYTEST_WORKERS ?= auto

pytest: install $(CHROMIUM)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

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
	rm -rf $(VENV) $(VENV_COMPAT) .local dist build .mypy_cache .ruff_cache .pytest_cache .import_linter_cache .grimp_cache

# ------------------------------------------------------------------ Cloud Composer's Airflow lines (issue 13)
# Composer 3 offers Airflow 3.3 (the main .venv) and 3.1. make test-compat installs Airflow 3.1 with the same
# runtime pins (requirements.txt: the Google provider resolves with both) in a second virtualenv, locked
# by constraints-compat.txt, and runs the tests whose code meets Airflow: the adapters (operators,
# sensors, triggers, hooks, links), the pipeline layer, the DAG file's integrity and the provider entry
# point. Not the browser test nor the make-airflow stack (tests/ui, tests/integration).
.PHONY: test-compat lock-compat composer-deploy
VENV_COMPAT := .venv-compat
COMPAT_BIN := $(VENV_COMPAT)/bin
COMPAT_STAMP := $(VENV_COMPAT)/.installed
COMPAT_TESTS := tests/operators tests/sensors tests/triggers tests/hooks tests/links tests/dags tests/pipeline \
	tests/test_provider.py tests/test_job_polling.py tests/test_native_arguments.py

$(COMPAT_BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV_COMPAT)

$(COMPAT_STAMP): $(COMPAT_BIN)/python requirements.txt requirements-compat.txt constraints-compat.txt pyproject.toml
	$(COMPAT_BIN)/python -m pip install --quiet -c constraints-compat.txt -r requirements-compat.txt
	@touch $(COMPAT_STAMP)

test-compat: $(COMPAT_STAMP)
	@$(COMPAT_BIN)/python -c 'from importlib.metadata import version as v; print("Airflow", v("apache-airflow"), "/ Google provider", v("apache-airflow-providers-google"))'
	$(COMPAT_BIN)/python -m pytest -p no:cacheprovider $(COMPAT_TESTS)

lock-compat: $(COMPAT_STAMP)
	{ sed -n '/^#/p' constraints-compat.txt; $(COMPAT_BIN)/python -m pip freeze --exclude-editable | grep '=='; } > constraints-compat.txt.new
	mv constraints-compat.txt.new constraints-compat.txt

# Prints the gcloud commands (RUN=1 runs them); the logic is devtools/composer.py.
composer-deploy: wheel
	$(BIN)/python -m devtools.composer --environment "$(ENV)" --location "$(LOCATION)" \
		$(if $(PROJECT),--project "$(PROJECT)") $(if $(RUN),--run)

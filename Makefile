# Two promises: `make run` and `make test` work on a fresh machine from a clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test bench lint system-test-deps clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e '.[test]'
	touch $@

$(BENCH_STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e '.[test,bench]'
	touch $@

# Debian packages the tests start for real: Redis, Chromium, PostgreSQL.
system-test-deps:
	@bash scripts/install-system-deps.sh

run: $(STAMP)
	DEBUG=$${DEBUG:-true} $(PY) manage.py demo

# The suite runs twice: on SQLite (the default database) in full, then again on a throwaway
# PostgreSQL cluster (tests/pg_plugin.py) without the slow server and browser tests, which start
# their own databases anyway. `make test POSTGRES=no` leaves the second run out.
POSTGRES ?= yes
test: $(TEST_STAMP) system-test-deps
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)
ifeq ($(POSTGRES),yes)
	$(PY) -m pytest -p tests.pg_plugin --postgres -m "not slow" $(PYTEST_ARGS) || [ $$? -eq 5 ]
endif

bench: $(BENCH_STAMP) system-test-deps
	$(PY) -m bench.run

lint: $(TEST_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV)

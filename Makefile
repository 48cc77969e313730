# Two promises: `make run` and `make test` work on a fresh machine from a clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test bench lint lock system-test-deps clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Installs come from the lock files (requirements/*.txt: every package pinned, with its hashes),
# then the project itself without dependencies. A stamp is older than its lock file after
# `make lock` or a pull that changed it, so the next run installs again.
define install_locked
	$(PIP) install -q --require-hashes -r $(1)
	$(PIP) install -q --no-deps -e .
	touch $@
endef

$(STAMP): requirements/run.txt pyproject.toml | $(PY)
	$(call install_locked,requirements/run.txt)

$(TEST_STAMP): requirements/test.txt pyproject.toml | $(PY)
	$(call install_locked,requirements/test.txt)

$(BENCH_STAMP): requirements/bench.txt pyproject.toml | $(PY)
	$(call install_locked,requirements/bench.txt)

# Refresh the lock files from pyproject.toml's ranges with uv (pinned here): the pins already in
# them are kept where they still fit, a new dependency gets its newest fitting release.
# `make lock UPGRADE=1` moves every pin to the newest release its range allows.
UV_VERSION := 0.13.9
LOCK := $(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	--quiet --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)
lock: | $(PY)
	$(PIP) install -q 'uv==$(UV_VERSION)'
	$(LOCK) -o requirements/run.txt
	$(LOCK) --extra test -o requirements/test.txt
	$(LOCK) --extra test --extra bench -o requirements/bench.txt

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

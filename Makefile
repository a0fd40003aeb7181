# The few entry points people type. Everything installs into .venv from the lock files.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DB     ?= sqlite:///demo.db
HOST   ?= 127.0.0.1
PORT   ?= 8080
DEMO_USER ?= demo
DEMO_PASSWORD ?= demo-password

.PHONY: demo test unit newcomer bench check docs lint typecheck lock clean page

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.base: requirements/base.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/base.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: requirements/dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.base

# The report page's libraries (git-ignored), from package-lock.json with its integrity
# hashes; rebuilt when the lock file or the copy script changes.
PAGE := agentcdr/web/static/vendor/manifest.json

$(PAGE): package.json package-lock.json scripts/build-page.mjs
	@command -v npm >/dev/null || { echo "make: the report page needs Node.js and npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	node scripts/build-page.mjs

## page: the report page's libraries in agentcdr/web/static/vendor/
page: $(PAGE)

## demo: demo database, demo API user, server on http://$(HOST):$(PORT)
demo: $(VENV)/.base $(PAGE)
	$(BIN)/agentcdr --db $(DB) demo --days 7 --agents 300 --calls-per-day 6000 --fresh
	AGENTCDR_PASSWORD=$(DEMO_PASSWORD) $(BIN)/agentcdr --db $(DB) users add $(DEMO_USER) --all-tenants --if-missing
	@echo
	@echo "Try it:"
	@echo "  curl -s -X POST 'http://$(HOST):$(PORT)/goAPIv2/goReports/goAPI.php' \\"
	@echo "    --data-urlencode goAction=agent_cdr --data-urlencode goUser=$(DEMO_USER) \\"
	@echo "    --data-urlencode goPass=$(DEMO_PASSWORD) --data-urlencode responsetype=json \\"
	@echo "    --data-urlencode 'profile[]=COLLECTIONS' --data-urlencode limit=3"
	@echo "  Report page: http://$(HOST):$(PORT)/?preset=last7  (the demo week)"
	@echo
	$(BIN)/agentcdr --db $(DB) serve --host $(HOST) --port $(PORT)

## test: lint and types, the whole suite, then the newcomer's path (.ci/newcomer); with its time
## (SQLite always; PostgreSQL and MariaDB when reachable, required in CI)
test: $(VENV)/.dev
	@started=$$(date +%s); \
	$(MAKE) --no-print-directory check unit newcomer; status=$$?; \
	echo "make test: $$(( $$(date +%s) - started )) s"; exit $$status

## unit: the test suite alone, in parallel
unit: $(VENV)/.dev $(PAGE)
	$(BIN)/pytest -n auto --cov --cov-report=term

## newcomer: make demo in a fresh copy with the base install, and the wheel without extras
newcomer: $(VENV)/.dev
	PYTHON=$(PYTHON) .ci/newcomer

check: $(VENV)/.dev $(PAGE)
	$(BIN)/ruff check agentcdr tests bench hatch_build.py
	$(BIN)/ruff format --check agentcdr tests bench hatch_build.py
	$(BIN)/mypy

## docs: regenerate what docs/ shows of the code (cli.md from --help, the settings table of
## configuration.md); a test fails when they differ
docs: $(VENV)/.dev
	$(BIN)/cog -r docs/cli.md docs/configuration.md

## bench: the benchmark of docs/benchmarks.md (options: make bench BENCH_ARGS="--stores sqlite --quick")
## wrk (the load generator) comes from the system packages; installed here when run as root.
bench: $(VENV)/.dev
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || apt-get install -y -qq wrk >/dev/null || true
	@command -v wrk >/dev/null || echo "bench: wrk is missing (sudo apt-get install -y wrk): load tests are skipped"
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## lock: regenerate the lock files after changing dependencies in pyproject.toml
lock: $(BIN)/python
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --generate-hashes -o requirements/base.lock -q
	$(BIN)/uv pip compile pyproject.toml --extra postgres --extra mysql --extra vicidial --extra parquet --extra redis --extra dev --generate-hashes -o requirements/dev.lock -q

clean:
	rm -rf $(VENV) node_modules agentcdr/web/static/vendor .pytest_cache .mypy_cache .ruff_cache .coverage demo.db demo.db-wal demo.db-shm

# make run   — set up everything and start web, worker and scheduler with demo data
# make test  — the whole suite (PostgreSQL + Redis when reachable, else SQLite + a private Redis)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n 2 --dist loadfile -q tests

.PHONY: help venv pwa chromium run test test-sqlite lint clean

help:
	@echo "make run          set up and start web, worker and scheduler with demo data"
	@echo "make test         run the test suite (PostgreSQL when reachable, else SQLite)"
	@echo "make test-sqlite  run the test suite on SQLite"
	@echo "make lint         ruff check ."
	@echo "make clean        remove build output and caches (keeps .venv and the dev database)"

# --- Python ---------------------------------------------------------------
venv: $(VENV)/.installed

$(VENV)/.installed: $(wildcard requirements*.txt)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# --- PWA (only once pwa/package.json exists) ------------------------------
ifneq ($(wildcard pwa/package.json),)
PWA_SOURCES := $(shell find pwa -path pwa/node_modules -prune -o -path pwa/dist -prune -o -type f -print)

pwa: pwa/dist/.built

# node_modules/.installed vanishes with node_modules, so a missing tree reinstalls too.
pwa/node_modules/.installed: pwa/package.json $(wildcard pwa/package-lock.json)
	cd pwa && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
	touch $@

pwa/dist/.built: pwa/node_modules/.installed $(PWA_SOURCES)
	cd pwa && npm run build
	touch $@
else
pwa:
	@echo "pwa/package.json does not exist yet: skipping the PWA build"
endif

# Browsers come from the system (/usr/bin/chromium); never let npm fetch one.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
export PUPPETEER_SKIP_DOWNLOAD := 1

# Debian's chromium for the browser tests (tests/pwa) and bench/lighthouse.py, and a
# small Chinese font so its screenshots show Chinese; never `playwright install`.
# Root installs directly, others through sudo when it asks no password. When they
# cannot be installed the browser tests skip and say why.
chromium:
	@need=""; [ -x /usr/bin/chromium ] || need="chromium"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || need="$$need fonts-wqy-microhei"; \
	if [ -z "$$need" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else echo "chromium: cannot install$$need (not root, no sudo; without chromium the browser tests skip)"; exit 0; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$SUDO apt-get install -y --no-install-recommends $$need \
	  || { $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends $$need; } \
	  || echo "chromium: apt-get could not install$$need (without chromium the browser tests skip)"

# --- Running and testing --------------------------------------------------
run: venv pwa
	$(BIN)/python -m workers.run_all

# The suite's own summary line "database backend used: ..." says which database ran.
test: venv pwa chromium
	$(BIN)/pytest $(PYTEST_ARGS)

test-sqlite: venv pwa chromium
	FA_TEST_BACKEND=sqlite $(BIN)/pytest $(PYTEST_ARGS)

# Benchmarks (scripts, not tests): one real stack (gunicorn with production settings, RQ
# workers, PostgreSQL, a private Redis, the fake push service), one table, also written to
# bench/results/latest.json and latest.md (bench/README.md). QUICK=1: smaller runs.
# LIGHTHOUSE=1: also Lighthouse on the PWA (builds it and installs chromium first).
.PHONY: bench
bench: venv $(if $(LIGHTHOUSE),pwa chromium)
	$(BIN)/python bench/run_all.py $(if $(QUICK),--quick)
	$(if $(LIGHTHOUSE),$(BIN)/python bench/lighthouse.py)

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf pwa/dist .pytest_cache .ruff_cache test-artifacts
	find . -path ./$(VENV) -prune -o -path ./pwa/node_modules -prune -o -name __pycache__ -type d -print0 | xargs -0 -r rm -rf

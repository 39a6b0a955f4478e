# One door for every routine: people and CI call the same targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_BIN := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))

.PHONY: install run test test-only lint format bench postgres clean web web-api web-test chromium bench-web

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Tests start a throwaway PostgreSQL from the local binaries; install them when missing.
postgres:
	@if [ -z "$(PG_BIN)" ] && ! command -v initdb >/dev/null; then \
		echo "installing Debian's postgresql for the test cluster"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

# Browser tests drive Debian's chromium (never `playwright install`, which downloads a browser).
chromium:
	@if ! command -v chromium >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# The web app (web/): npm ci when the lock changed, a build when any source is newer than it.
WEB_DEPS := web/node_modules/.package-lock.json
WEB_DIST := src/tidings/web_dist/index.html
WEB_SRC := $(shell find web/src -type f 2>/dev/null) web/index.html web/package.json \
	web/vite.config.ts web/tsconfig.json

$(WEB_DEPS): web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

$(WEB_DIST): $(WEB_DEPS) $(WEB_SRC)
	cd web && npm run build

web: $(WEB_DIST)

# The typed API client, generated from the API's OpenAPI document, and the flow JSON Schema
# the editor's catalogue is tested against; commit the results.
web-api: $(STAMP) $(WEB_DEPS)
	$(BIN)/python web/scripts/dump_openapi.py > web/.openapi.json
	cd web && npx openapi-typescript .openapi.json -o src/api/schema.d.ts
	$(BIN)/python web/scripts/dump_flow_schema.py > web/src/api/flow-schema.json

# The web app's figures in headless Chromium (bundle size, list, a big flow, panning), as JSON.
bench-web: $(STAMP) chromium web
	$(BIN)/python web/scripts/bench_web.py

# Unit tests of the editor (document <-> canvas conversion).
web-test: $(WEB_DEPS)
	cd web && npm test

.tidings-api-key:
	@$(PYTHON) -c "import secrets; print('tdk_' + secrets.token_urlsafe(32))" > $@

run: $(STAMP) .tidings-api-key web
	@echo "API key: $$(cat .tidings-api-key)"
	TIDINGS_API_KEY=$$(cat .tidings-api-key) $(BIN)/tidings serve

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports
	# the contracts import-linter cannot state: no SQL text in engine/, no import cycle
	# anywhere in src/tidings (read with ast and graphlib; no database is started)
	$(BIN)/pytest -q -p no:cacheprovider --noconftest tests/test_no_sql_in_engine.py tests/test_import_cycles.py

format: $(STAMP)
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

test: lint postgres test-only

test-only: $(STAMP) postgres chromium web web-test
	$(BIN)/pytest -n 2 

bench: $(STAMP)
	$(BIN)/tidings bench ingest
	$(BIN)/tidings bench ingest --batch 1 --concurrency 32

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache web/node_modules src/tidings/web_dist

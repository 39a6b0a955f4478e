# One door for every routine: people and CI call the same targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_BIN := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))

.PHONY: install run test test-only lint format bench postgres clean

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

.tidings-api-key:
	@$(PYTHON) -c "import secrets; print('tdk_' + secrets.token_urlsafe(32))" > $@

run: $(STAMP) .tidings-api-key
	@echo "API key: $$(cat .tidings-api-key)"
	TIDINGS_API_KEY=$$(cat .tidings-api-key) $(BIN)/tidings serve

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

test: lint postgres test-only

test-only: $(STAMP) postgres
	$(BIN)/pytest -n 2 

bench: $(STAMP)
	$(BIN)/tidings bench ingest
	$(BIN)/tidings bench ingest --batch 1 --concurrency 32

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

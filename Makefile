# Certbroker: `make run` starts the sandbox (API, worker, simulators); `make test` runs the suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(HOME)/.local/bin:$(PATH)
export UV_LINK_MODE ?= copy
HOST ?= 127.0.0.1
PORT ?= 8000
SCM_PORT ?= 8500
PYTEST_ARGS ?=

REDOCLY := tools/node_modules/.bin/redocly
TOOLS_STAMP := tools/node_modules/.installed

.PHONY: help install uv deps system-deps run serve worker migrate demo test lint spec-lint fmt openapi bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv

deps: uv
	@uv sync --frozen --quiet

# pebble (the ACME server used by the sandbox and the tests), BIND, PowerDNS, lego, certbot and
# Chromium with its driver (the dashboard's browser tests) and redis-server (bench/chaos.py
# starts its own) come from Debian.
system-deps:
	@missing=""; \
	command -v pebble >/dev/null 2>&1 || missing="$$missing pebble"; \
	command -v named >/dev/null 2>&1 || missing="$$missing bind9"; \
	command -v nsupdate >/dev/null 2>&1 || missing="$$missing bind9-dnsutils"; \
	command -v pdns_server >/dev/null 2>&1 || missing="$$missing pdns-server"; \
	ls /usr/lib/*/pdns/libgsqlite3backend.so >/dev/null 2>&1 || missing="$$missing pdns-backend-sqlite3"; \
	command -v lego >/dev/null 2>&1 || missing="$$missing lego"; \
	command -v certbot >/dev/null 2>&1 || missing="$$missing certbot"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium-driver"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

install: deps system-deps ## install uv, the locked dependencies, pebble, BIND, lego, Chromium when absent

migrate: deps ## upgrade the database to the latest schema
	@uv run certbroker migrate

demo: migrate
	@uv run certbroker demo

run: install migrate ## the sandbox: API on $(HOST):$(PORT), a worker, the SCM simulator, pebble, demo tenant
	@exec uv run certbroker dev --host $(HOST) --port $(PORT) --scm-port $(SCM_PORT)

serve: deps ## the API alone
	@uv run certbroker serve --host $(HOST) --port $(PORT)

worker: deps ## a worker alone
	@uv run certbroker worker

test: install spec-lint ## the spec lint, then the whole suite against real PostgreSQL, Redis, pebble and BIND
	@uv run pytest $(PYTEST_ARGS)

lint: deps spec-lint ## ruff, and the OpenAPI document's lint
	@uv run ruff check app tests bench alembic
	@uv run ruff format --check app tests bench alembic

# Node tools (the pinned Redocly CLI) live in tools/node_modules, installed from the lock file.
$(TOOLS_STAMP): tools/package.json tools/package-lock.json
	@npm ci --prefix tools --no-audit --no-fund --loglevel=error
	@touch $@

spec-lint: $(TOOLS_STAMP) ## Redocly CLI's lint of openapi/openapi.yaml: zero errors (redocly.yaml)
	@REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(REDOCLY) lint openapi/openapi.yaml \
	  --format=summary 2>&1 | grep -v '[║╔╚]' | grep -v '^\s*$$'; exit $${PIPESTATUS[0]}

fmt: deps ## format and autofix
	@uv run ruff format app tests bench alembic
	@uv run ruff check --fix app tests bench alembic

openapi: deps ## regenerate openapi/openapi.json and openapi.yaml
	@uv run certbroker openapi --out openapi

# Every benchmark, each printing its figures and the ratios to its reference (bench/loadgen.py is
# shared code, not a benchmark).
BENCHES := bench/inventory_scale.py bench/acme_issue.py bench/api_load.py bench/e2e_issue.py bench/acme_facade.py bench/chaos.py

bench: install ## the benchmarks in bench/ (BENCHES)
	@for script in $(BENCHES); do echo "== $$script"; uv run python $$script || exit 1; done

clean:
	rm -rf var .pytest_cache .ruff_cache tools/node_modules

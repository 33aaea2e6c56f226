# hsmd: `make run` serves, `make test` checks everything. Both set up what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-12)

.PHONY: run test build bench lint lock clean help
.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-* && touch $@

build: $(STAMP) ## generate adapters if stale, then compile changed plugins (incremental, parallel)
	$(BIN)/plugingen --all
	$(BIN)/python -m plugingen.build

run: build ## install, build the plugins and serve hsmd.toml on 127.0.0.1:1500
	$(BIN)/hsmd serve --config hsmd.toml

lint: $(STAMP) ## ruff, mypy and plugingen --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/plugingen --all --check
	$(BIN)/plugingen --cmd ZF --logic tests.plugins.faulty --out tests/plugins/commands/ZF --check

test: lint ## the whole suite: lint, then every test (builds the plugins it needs)
	$(BIN)/python -m pytest

bench: build ## throughput, latency and overhead against same-run baselines
	$(BIN)/python -m bench

lock: ## re-pin requirements.lock from the current venv
	{ echo "# Every package hsmd installs, runtime and development, pinned (make lock regenerates it)."; \
	  echo "setuptools==80.9.0"; $(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e'; } > requirements.lock

clean: ## remove build output (components, staging, compile cache)
	rm -rf build

# One command per habit. Every target sets up what it needs on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The generator's ruff post-hooks and the tools below run from the virtual environment.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export REDOCLY_TELEMETRY := off
export NO_UPDATE_NOTIFIER := 1

SPEC := openapi/customers.yaml
GEN_CONFIG := generator-config.yml
TEMPLATES := templates/openapi-python-client
GEN_OUT := generated
NODE_DIR := tools/spec
NODE_BIN := $(NODE_DIR)/node_modules/.bin
VENV_STAMP := $(VENV)/.installed
NODE_STAMP := $(NODE_DIR)/node_modules/.installed

.PHONY: help venv node generate check-generated lint lint-python lint-spec test test-python demo bench fuzz clean

help:
	@echo "make demo   - set everything up and run the tour of the CLI against the local mock"
	@echo "make test   - set everything up and run every check and test"
	@echo "make generate | check-generated | lint | bench | fuzz | clean"

# --- environments -----------------------------------------------------------
$(VENV_STAMP): pyproject.toml mock/pyproject.toml $(GEN_OUT)/pyproject.toml requirements/dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
		|| { echo "error: Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/dev.lock pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/dev.lock \
		-e ./$(GEN_OUT) -e ./mock -e '.[dev]'
	touch $@

venv: $(VENV_STAMP)

$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "error: Node.js and npm are required (spec linters, TypeScript check)"; exit 1; }
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: $(NODE_STAMP)

# --- generation -------------------------------------------------------------
GENERATE = $(BIN)/openapi-python-client generate --path $(SPEC) --config $(GEN_CONFIG) \
	--custom-template-path $(TEMPLATES) \
	--meta pdm --overwrite --fail-on-warning

generate: $(VENV_STAMP)
	$(GENERATE) --output-path $(GEN_OUT)
	rm -rf $(GEN_OUT)/.ruff_cache

check-generated: $(VENV_STAMP)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(GENERATE) --output-path "$$tmp/out" >/dev/null && rm -rf "$$tmp/out/.ruff_cache"; \
	if diff -ru --exclude=__pycache__ --exclude=.ruff_cache --exclude='*.egg-info' --exclude=.pdm-build $(GEN_OUT) "$$tmp/out"; then \
		echo "generated/ matches $(SPEC)"; \
	else \
		echo "error: generated/ differs from what $(SPEC) produces; run 'make generate' and commit"; exit 1; \
	fi

# --- checks -----------------------------------------------------------------
lint-python: $(VENV_STAMP)
	$(BIN)/ruff check overlay mock tests benchmarks demo
	$(BIN)/ruff format --check overlay mock tests benchmarks demo
	$(BIN)/mypy
	$(BIN)/mypy --strict mock/threedcart_mock

lint-spec: $(VENV_STAMP) $(NODE_STAMP)
	$(BIN)/openapi-spec-validator $(SPEC)
	$(NODE_BIN)/redocly lint --config $(NODE_DIR)/redocly.yaml $(SPEC)
	$(NODE_BIN)/spectral lint --ruleset $(NODE_DIR)/.spectral.yaml --fail-severity=warn $(SPEC)
	$(NODE_BIN)/openapi-typescript $(SPEC) --output $(NODE_DIR)/out/customers.d.ts
	$(NODE_BIN)/tsc -p $(NODE_DIR)/tsconfig.json

lint: lint-python lint-spec

test-python: $(VENV_STAMP)
	$(BIN)/python -m pytest

test: lint check-generated test-python

# --- the main job and measurements -------------------------------------------
demo: $(VENV_STAMP)
	$(BIN)/python demo/tour.py

bench: $(VENV_STAMP)
	$(BIN)/python -m benchmarks

fuzz: $(VENV_STAMP)
	SCHEMATHESIS_MAX_EXAMPLES=500 $(BIN)/python -m pytest tests/test_schemathesis.py -p no:cacheprovider -o timeout=1800

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules $(NODE_DIR)/out .pytest_cache .mypy_cache .ruff_cache

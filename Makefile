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

.PHONY: help venv node generate check-generated lint lint-python lint-spec lint-types test test-fast test-python demo \
	bench fuzz clean api-diff release-spec docs mutation dist mock

help:
	@echo "make demo   - set everything up and run the tour of the CLI against the local mock"
	@echo "make mock   - serve the local mock store on 127.0.0.1:$(MOCK_PORT); prints the environment to paste first"
	@echo "make test   - set everything up and run every check and test"
	@echo "make test-fast - the edit loop: ruff and the tests that need no server (seconds)"
	@echo "make docs   - build the offline HTML API reference, $(DOCS_HTML)"
	@echo "make dist   - build the three wheels (threedcart, threedcart-customers-client, threedcart-mock) into $(DIST)/"
	@echo "make mutation - mutation testing of the SDK's core (mutmut); writes tests/MUTATION.md"
	@echo "make generate | check-generated | api-diff | release-spec | lint | lint-types | bench | fuzz | clean"

# --- environments -----------------------------------------------------------
PIP_INSTALL = $(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/dev.lock
# pip's warnings about this machine's own pip configuration (an extra index or find-links folder
# that does not exist), one per package: not the project's findings. Everything else pip says stays.
QUIET_PIP = 2>&1 | { grep -vF -e 'is ignored: it is neither a file nor a directory' || true; }

$(VENV_STAMP): pyproject.toml mock/pyproject.toml $(GEN_OUT)/pyproject.toml requirements/dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
		|| { echo "error: Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) tools/versions.py check
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	set -o pipefail; $(PIP_INSTALL) pip $(QUIET_PIP)
	set -o pipefail; $(PIP_INSTALL) -e ./$(GEN_OUT) -e ./mock -e '.[dev]' $(QUIET_PIP)
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

# Then tools/spec_tables.py writes the tables the SDK derives from the spec (fields, filters,
# operations, versions) into the same package, so that check-generated covers them too.
SPEC_TABLES = $(BIN)/python tools/spec_tables.py $(SPEC) $(1)/threedcart_customers_client/spec.py \
	&& $(BIN)/ruff format --quiet $(1)/threedcart_customers_client/spec.py

generate: $(VENV_STAMP)
	$(BIN)/python tools/spec_derive.py $(SPEC)
	$(BIN)/python tools/unasync.py
	$(GENERATE) --output-path $(GEN_OUT)
	$(call SPEC_TABLES,$(GEN_OUT))
	rm -rf $(GEN_OUT)/.ruff_cache
	cp $(SPEC) overlay/threedcart/contract/customers.yaml

check-generated: $(VENV_STAMP)
	@$(BIN)/python tools/spec_derive.py $(SPEC) --check
	@$(BIN)/python tools/unasync.py --check
	@$(BIN)/python tools/template_forks.py
	@cmp -s $(SPEC) overlay/threedcart/contract/customers.yaml || { echo "error: overlay/threedcart/contract/customers.yaml differs from $(SPEC); run 'make generate' and commit"; exit 1; }
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(GENERATE) --output-path "$$tmp/out" >/dev/null && $(call SPEC_TABLES,"$$tmp/out") && rm -rf "$$tmp/out/.ruff_cache"; \
	if diff -ru --exclude=__pycache__ --exclude=.ruff_cache --exclude='*.egg-info' --exclude=.pdm-build $(GEN_OUT) "$$tmp/out"; then \
		echo "generated/ matches $(SPEC)"; \
	else \
		echo "error: generated/ differs from what $(SPEC) produces; run 'make generate' and commit"; exit 1; \
	fi

# --- the contract's versions -------------------------------------------------
# The last released spec is the highest openapi/released/customers-X.Y.Z.yaml; `redocly diff
# --check-version` grades every change since then (tools/api_diff.py). Override SPEC and
# RELEASED_DIR to check another copy (the tests do).
RELEASED_DIR ?= openapi/released
CHANGELOG ?= CHANGELOG.md

api-diff: $(VENV_STAMP) $(NODE_STAMP)
	$(BIN)/python tools/api_diff.py check $(SPEC) $(RELEASED_DIR)

# A major release of the contract is a major release of threedcart: tools/versions.py edits
# pyproject.toml first (before the virtual environment's version check), see README "Versions".
.PHONY: versions-bump
versions-bump:
	$(PYTHON) tools/versions.py bump

release-spec:
	$(PYTHON) tools/versions.py bump
	$(MAKE) --no-print-directory venv node
	$(BIN)/python tools/api_diff.py release $(SPEC) $(RELEASED_DIR) $(CHANGELOG)

# --- checks -----------------------------------------------------------------
PY_TOOLS := tools/api_diff.py tools/mutation.py tools/spec_tables.py tools/versions.py tools/spec_derive.py \
	tools/unasync.py tools/template_forks.py

lint-python: $(VENV_STAMP)
	$(BIN)/ruff check overlay mock tests benchmarks demo $(PY_TOOLS)
	$(BIN)/ruff format --check overlay mock tests benchmarks demo $(PY_TOOLS)
	$(BIN)/mypy
	$(BIN)/mypy --strict mock/threedcart_mock $(PY_TOOLS)

# The Node tools' findings without their chatter (banners, "Woohoo!", blank lines): tools/spec/quiet.awk.
QUIET_NODE_TOOLS = awk -v blanks=1 -f $(NODE_DIR)/quiet.awk
QUIET_NODE_BUILD = awk -v blanks=0 -f $(NODE_DIR)/quiet.awk

lint-spec: $(VENV_STAMP) $(NODE_STAMP)
	$(BIN)/openapi-spec-validator $(SPEC)
	set -o pipefail; $(NODE_BIN)/redocly lint --config $(NODE_DIR)/redocly.yaml $(SPEC) 2>&1 | $(QUIET_NODE_TOOLS)
	$(NODE_BIN)/spectral lint --ruleset $(NODE_DIR)/.spectral.yaml --fail-severity=warn $(SPEC)
	set -o pipefail; $(NODE_BIN)/openapi-typescript $(SPEC) --output $(NODE_DIR)/out/customers.d.ts 2>&1 | $(QUIET_NODE_TOOLS)
	$(NODE_BIN)/tsc -p $(NODE_DIR)/tsconfig.json
	$(NODE_BIN)/tsc -p $(NODE_DIR)/consumer/tsconfig.json --noEmit

# pyright strict on the overlay (pyrightconfig.json), then the public API as users' type checkers
# see it: `pyright --verifytypes` must score 100% (every exported symbol's type known, nothing
# left to inference), or this fails and lists the symbols that are not. verifytypes finds the
# installed package through the `python` first on PATH (the virtual environment's, exported
# above: pyright 1.1.414 does not apply --pythonpath in this mode).
define VERIFYTYPES_REPORT
import json, sys
report = json.load(sys.stdin)
done = report["typeCompleteness"]
for symbol in done["symbols"]:
    for d in symbol["diagnostics"]:
        if d["severity"] == "error":
            print(f"{symbol['name']}: {d['message']}".replace("\xa0", " "))
errors = [d["message"] for d in report["generalDiagnostics"] if d["severity"] == "error"]
for message in errors:
    print(message)
counts = done["exportedSymbolCounts"]
score = done["completenessScore"]
print(f"threedcart type completeness: {score:.1%} ({counts['withKnownType']} exported symbols known, "
      f"{counts['withAmbiguousType']} ambiguous, {counts['withUnknownType']} unknown)")
sys.exit(0 if score == 1 and not errors else 1)
endef
export VERIFYTYPES_REPORT

lint-types: $(VENV_STAMP) $(NODE_STAMP)
	$(NODE_BIN)/pyright
	$(NODE_BIN)/pyright --verifytypes threedcart --ignoreexternal --pythonpath $(BIN)/python --outputjson \
		| $(BIN)/python -c "$$VERIFYTYPES_REPORT"

lint: lint-python lint-spec lint-types

# One worker more than the machine has cores (pytest-xdist): the suite mostly waits on loopback
# servers and the subprocesses it starts, so a third worker on two cores still gains (2,251 tests:
# 328 s with three workers while a benchmark's mock held one core busy; 356 s with two, idle).
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 2) + 1 )))

# The mirror's tests start a throwaway PostgreSQL 15 cluster (tests/_postgres.py: initdb, pg_ctl).
MIRROR_DEBS := postgresql-15

.PHONY: mirror-debs
mirror-debs:
	@$(POLYGLOT_DIR)/install-debs.sh $(MIRROR_DEBS)

test-python: mirror-debs $(VENV_STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --durations=15

test: lint check-generated api-diff polyglot test-python

# The edit loop: ruff and the tests that need no server or external tool (pure cores, units, the
# generated client, the spec-driven tables), in seconds. `make test` runs them too.
FAST_TESTS := tests/test_cores_behaviour.py tests/test_pagination.py tests/test_sync_core.py \
	tests/test_import_core.py tests/test_params_and_errors.py tests/test_sdk_units.py \
	tests/test_spec_driven.py tests/test_decode.py tests/test_generated_models.py \
	tests/test_resources_behaviour.py tests/test_transport_behaviour.py

test-fast: $(VENV_STAMP)
	$(BIN)/ruff check overlay mock tests tools/api_diff.py tools/spec_tables.py tools/versions.py tools/spec_derive.py
	$(BIN)/python -m pytest -q -p no:cacheprovider -o console_output_style=count \
		-m "not slow and not external" $(FAST_TESTS)

# --- clients in other languages ------------------------------------------------
# TypeScript (openapi-typescript + openapi-fetch, orval, @hey-api/openapi-ts), Java and Go clients
# generated from the spec, compiled (strict tsc with exactOptionalPropertyTypes, javac, go) and run
# against the mock: tools/polyglot/run.py, tests/test_polyglot.py. Installs what it needs: the
# Debian packages (as root or with sudo; apt-get update only when needed), openapi-generator-cli
# from requirements/polyglot.lock into .venv, tools/polyglot's npm lock file.
POLYGLOT_DIR := tools/polyglot
POLYGLOT_DEBS := openjdk-17-jdk-headless golang-go libjackson2-core-java libjackson2-annotations-java \
	libjackson2-databind-java libjsr305-java libgeronimo-annotation-1.3-spec-java
POLYGLOT_VENV_STAMP := $(VENV)/.polyglot-installed
POLYGLOT_NODE_STAMP := $(POLYGLOT_DIR)/node_modules/.installed

$(POLYGLOT_VENV_STAMP): $(VENV_STAMP) requirements/polyglot.lock
	set -o pipefail; $(PIP_INSTALL) -r requirements/polyglot.lock $(QUIET_PIP)
	touch $@

$(POLYGLOT_NODE_STAMP): $(POLYGLOT_DIR)/package.json $(POLYGLOT_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "error: Node.js and npm are required (TypeScript clients)"; exit 1; }
	cd $(POLYGLOT_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: polyglot polyglot-debs
polyglot-debs:
	@$(POLYGLOT_DIR)/install-debs.sh $(POLYGLOT_DEBS)

polyglot: polyglot-debs $(POLYGLOT_VENV_STAMP) $(POLYGLOT_NODE_STAMP)
	$(BIN)/python $(POLYGLOT_DIR)/run.py all

# --- the API reference ---------------------------------------------------------
# One self-contained HTML file: the Redoc renderer inlined (--inlineBundle), and a
# Content-Security-Policy in the page template that lets the browser load nothing from the
# network. Redoc 3 draws its "API docs by Redocly" logo from cdn.redoc.ly, which that policy
# blocks (a broken image): tools/spec/docs-offline.mjs puts an inline data: image in its place
# and fails when the page still names a remote image. Built, not committed; tests/test_docs.py
# builds it into a temporary folder.
DOCS_HTML ?= docs/api.html

docs: $(NODE_STAMP)
	rm -f $(DOCS_HTML)
	set -o pipefail; $(NODE_BIN)/redocly build-docs $(SPEC) --inlineBundle --config $(NODE_DIR)/redocly.yaml \
		--template $(NODE_DIR)/docs-template.hbs --output $(DOCS_HTML) 2>&1 | $(QUIET_NODE_BUILD)
	node $(NODE_DIR)/docs-offline.mjs $(DOCS_HTML) || { rm -f $(DOCS_HTML); exit 1; }

# --- the main job and measurements -------------------------------------------
demo: $(VENV_STAMP)
	$(BIN)/python demo/tour.py

# The mock store for trying the SDK and the CLI by hand, in the foreground (Ctrl-C stops it):
# MOCK_CUSTOMERS seeded customers on 127.0.0.1:MOCK_PORT, after the environment that points the
# SDK and the CLI at it, printed first, to paste into another terminal. README "Try it in one
# minute" shows the same lines (tests/test_dist.py keeps the two equal).
MOCK_PORT ?= 8300
MOCK_CUSTOMERS ?= 1000
MOCK_SECURE_URL := https://demo-store.3dcartstores.com
MOCK_PRIVATE_KEY := demo-private-key
MOCK_TOKEN := demo-token

mock: $(VENV_STAMP)
	@echo "# The mock store with $(MOCK_CUSTOMERS) customers on 127.0.0.1:$(MOCK_PORT) (Ctrl-C stops it). In another terminal, paste:"
	@echo "export THREEDCART_SECURE_URL=$(MOCK_SECURE_URL)"
	@echo "export THREEDCART_PRIVATE_KEY=$(MOCK_PRIVATE_KEY)"
	@echo "export THREEDCART_TOKEN=$(MOCK_TOKEN)"
	@echo "export THREEDCART_BASE_URL=http://127.0.0.1:$(MOCK_PORT)"
	@echo "# then: .venv/bin/threedcart customers count"
	@exec $(BIN)/threedcart-mock --host 127.0.0.1 --port $(MOCK_PORT) --seed-customers $(MOCK_CUSTOMERS) \
		--store $(MOCK_SECURE_URL),$(MOCK_PRIVATE_KEY),$(MOCK_TOKEN)

# --- the packages ------------------------------------------------------------------
# The three wheels, threedcart (this folder's pyproject.toml), threedcart-customers-client
# (generated/) and threedcart-mock (mock/), into DIST: pip's isolated builds, each from a copy of
# the sources (so no stale build/ folder can leak old modules into a wheel, and the worktree gets
# no build folders). tests/test_dist.py installs them in a clean virtual environment.
DIST ?= dist
DIST_SOURCES := pyproject.toml README.md LICENSE overlay $(GEN_OUT) mock openapi

dist: $(VENV_STAMP)
	@mkdir -p $(DIST)
	@rm -f $(DIST)/threedcart-*.whl $(DIST)/threedcart_customers_client-*.whl $(DIST)/threedcart_mock-*.whl
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	tar -c --exclude=__pycache__ --exclude='*.egg-info' --exclude=build --exclude=.pdm-build $(DIST_SOURCES) \
		| tar -x -C "$$tmp" \
	&& $(BIN)/python -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir $(DIST) \
		"$$tmp" "$$tmp/$(GEN_OUT)" "$$tmp/mock"
	@ls -1 $(DIST)/threedcart-*.whl $(DIST)/threedcart_customers_client-*.whl $(DIST)/threedcart_mock-*.whl

bench: mirror-debs $(VENV_STAMP)
	$(BIN)/python -m benchmarks

# Mutation testing (not part of `make test`): mutmut, pinned in requirements/mutation.lock, on each
# group of modules (the SDK's core, the store, the shared limit, the CLI, the contract check, the
# mock) against the tests that pin it; the table lands in tests/MUTATION.md. MODULES picks modules or
# groups (`make mutation MODULES="_params _throttle"`, `MODULES=core`); none means every group.
MUTATION_STAMP := $(VENV)/.mutation-installed
$(MUTATION_STAMP): $(VENV_STAMP) requirements/mutation.lock
	set -o pipefail; $(PIP_INSTALL) -r requirements/mutation.lock $(QUIET_PIP)
	touch $@

mutation: $(MUTATION_STAMP)
	$(BIN)/python tools/mutation.py run $(MODULES)

fuzz: $(VENV_STAMP)
	SCHEMATHESIS_MAX_EXAMPLES=500 $(BIN)/python -m pytest tests/test_schemathesis.py -p no:cacheprovider -o timeout=1800

# The spec against the store in THREEDCART_BASE_URL with THREEDCART_SECURE_URL/_PRIVATE_KEY/_TOKEN
# (CONTRACT_ARGS=--allow-writes also creates, updates and deletes one customer). Without
# credentials: the check against the mock (clean) and a drifted server, as `make test` runs it.
.PHONY: contract-check
contract-check: $(VENV_STAMP)
	@if [ -n "$$THREEDCART_SECURE_URL" ]; then \
		$(BIN)/threedcart contract-check $(CONTRACT_ARGS); \
	else \
		echo "THREEDCART_SECURE_URL is not set: checking the local mock and a drifted server instead"; \
		$(BIN)/python -m pytest tests/test_contract_check.py -q -p no:cacheprovider; \
	fi

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules $(NODE_DIR)/out $(DOCS_HTML) dist .pytest_cache .mypy_cache .ruff_cache

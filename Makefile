# One entry point for everything. `make test` and `make scenario` install what is missing
# first (node_modules, .venv), so a fresh clone needs nothing else.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# The offline compiler bridge (tools/solc/solc-v0.8.30 -> npm's solcjs) and npm's anvil.
export SOLCX_BINARY_PATH := $(CURDIR)/tools/solc
export PATH := $(CURDIR)/node_modules/.bin:$(BIN):$(PATH)

NODE_STAMP := node_modules/.setup-stamp
PY_STAMP := $(VENV)/.setup-stamp

.PHONY: help setup chromium compile test lint scenario deploy devnet devnet-stop clean bench bench-quick page abi audit fuzz permissions serve

help:
	@echo "make test       install what is missing, run ruff and mypy (make lint), slither (make audit), then the whole test suite on anvil"
	@echo "make lint       ruff on every Python file, mypy on scf/"
	@echo "make scenario   install what is missing, run the end-to-end financing story (ape run scenario)"
	@echo "make setup      install npm (anvil, solc, OpenZeppelin) and Python dependencies into the project"
	@echo "make compile    compile the contracts with the offline solc bridge; export ABIs and shared constants to frontend_bridge/"
	@echo "make fuzz       the voucher, registry, trade registry and vault property tests with a deep budget (FUZZ_EXAMPLES=200 FUZZ_STEPS=50)"
	@echo "make audit      slither on the contracts; fails on an unexplained High or Medium finding"
	@echo "make permissions  regenerate docs/permissions.md, the access-control matrix"
	@echo "make bench      the benchmarks (bench/results.json)"
	@echo "make serve      the read API and the supervision view on the devnet (http://127.0.0.1:8700/supervision.html)"
	@echo "make devnet     start a long-running anvil on 127.0.0.1:8545 (network ethereum:devnet:node); DEVNET_BLOCK_TIME=2 mines a block every 2 s (unset: one per transaction), DEVNET_GAS_LIMIT=30000000"
	@echo "make devnet-stop  stop it"

setup: $(NODE_STAMP) $(PY_STAMP) chromium

# Headless Chromium for the member page's browser test: Debian's package (browsers cannot be
# downloaded here). Installed when missing and we are root; otherwise the test says why it skips.
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "setup: installing Debian's chromium for the browser test (about a minute)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "setup: chromium is missing and cannot be installed here (not root): the browser test will be skipped"; fi

$(NODE_STAMP): package.json package-lock.json
	@echo "setup: npm packages (anvil, solcjs, OpenZeppelin) into node_modules/"
	@# Not `npm ci`: it demands every optional platform package of @foundry-rs/anvil in the
	@# lock, and the registry here serves only linux-amd64. `npm install` installs the
	@# locked versions and leaves package-lock.json unchanged.
	npm install --no-fund --no-audit --loglevel=error
	@test -x node_modules/.bin/anvil || { echo "setup: anvil binary missing after npm ci" >&2; exit 1; }
	@touch $@

$(PY_STAMP): pyproject.toml tools/ape-scf-toolchain/pyproject.toml
	@echo "setup: Python virtual environment in $(VENV)/"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint]' -e tools/ape-scf-toolchain
	@touch $@

# --force: ape recompiles a changed file but not the files importing it, whose metadata hash
# (the tail of their code, what explorers verify) would then be stale (scf/sources.py warns).
compile: setup
	ape compile --force
	python -m scf.export

abi: compile

# The whole suite, style, types and static analysis first (seconds each; a finding fails fast).
test: setup lint audit
	ape test tests

lint: setup
	ruff check scf scripts bench tools tests
	mypy

scenario: setup
	ape run scenario

deploy: setup
	ape run deploy

# anvil otherwise writes the state of every block to ~/.foundry/anvil/tmp, never pruned while it
# runs: 77 GB after 25,000 admissions here, and each block slower than the last. Blocks, receipts
# and logs are all kept; state is kept for the last $(DEVNET_STATES) blocks (in memory).
DEVNET_STATES ?= 256
# A consortium chain's cadence: DEVNET_BLOCK_TIME=2 mines a block every 2 seconds, as QBFT does
# (unset: anvil mines each transaction at once); DEVNET_GAS_LIMIT is each block's gas limit.
DEVNET_BLOCK_TIME ?=
DEVNET_GAS_LIMIT ?= 30000000
devnet: setup
	@mkdir -p .cache
	@if [ -f .cache/anvil.pid ] && kill -0 "$$(cat .cache/anvil.pid)" 2>/dev/null; then \
		echo "devnet already running (pid $$(cat .cache/anvil.pid))"; \
	else \
		nohup anvil --hardfork cancun --port 8545 --prune-history $(DEVNET_STATES) \
			--gas-limit $(DEVNET_GAS_LIMIT) $(if $(DEVNET_BLOCK_TIME),--block-time $(DEVNET_BLOCK_TIME)) > .cache/anvil.log 2>&1 & echo $$! > .cache/anvil.pid; \
		sleep 1; echo "devnet: anvil on http://127.0.0.1:8545 (pid $$(cat .cache/anvil.pid)); use --network ethereum:devnet:node"; \
	fi

devnet-stop:
	@if [ -f .cache/anvil.pid ]; then kill "$$(cat .cache/anvil.pid)" 2>/dev/null || true; rm -f .cache/anvil.pid; echo "devnet stopped"; fi

clean:
	rm -rf .build .cache

# Deeper invariant fuzzing of the voucher ledger, the registries and the document vault than
# CI's budget (voucher: 8 histories of 25 steps; registry: 15 of 20; vault: 10 of 25).
FUZZ_EXAMPLES ?= 200
FUZZ_STEPS ?= 50
fuzz: setup
	SCF_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SCF_FUZZ_STEPS=$(FUZZ_STEPS) ape test tests/test_voucher_properties.py tests/test_registry_model.py \
		tests/test_trade_registry_model.py tests/test_vault_model.py -s

# Static analysis (slither, in its own virtual environment: its pins differ from ape's).
AUDIT_VENV := .venv-audit
$(AUDIT_VENV)/.setup-stamp: tools/audit/requirements.txt
	@test -x $(AUDIT_VENV)/bin/python || $(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install --quiet -r tools/audit/requirements.txt
	@touch $@

audit: setup $(AUDIT_VENV)/.setup-stamp
	$(AUDIT_VENV)/bin/python tools/audit/run_slither.py

permissions: setup
	SCF_WRITE_PERMISSIONS=docs/permissions.md ape test tests/test_access_matrix.py -q

bench: setup
	ape run bench

page: setup
	vite build --config frontend_bridge/vite.config.mjs

# The read API and the web app beside a running chain (the devnet by default: make devnet, then
# ape run deploy --network ethereum:devnet:node). SERVE_NETWORK and SERVE_PORT change where.
SERVE_NETWORK ?= ethereum:devnet:node
SERVE_PORT ?= 8700
serve: page
	ape run serve --network $(SERVE_NETWORK) --port $(SERVE_PORT)

bench-quick: setup
	ape run bench --quick --repeat 1 --out bench/results-quick.json

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

.PHONY: help setup compile test scenario deploy clean

help:
	@echo "make test       install what is missing, compile, run the whole test suite on anvil"
	@echo "make scenario   install what is missing, run the end-to-end financing story (ape run scenario)"
	@echo "make setup      install npm (anvil, solc, OpenZeppelin) and Python dependencies into the project"
	@echo "make compile    compile the contracts with the offline solc bridge"

setup: $(NODE_STAMP) $(PY_STAMP)

$(NODE_STAMP): package.json package-lock.json
	@echo "setup: npm packages (anvil, solcjs, OpenZeppelin) into node_modules/"
	@# Not `npm ci`: it demands every optional platform package of @foundry-rs/anvil in the
	@# lock, and the registry here serves only linux-amd64. `npm install` installs the
	@# locked versions and leaves package-lock.json unchanged.
	npm install --no-fund --no-audit --loglevel=error
	@test -x node_modules/.bin/anvil || { echo "setup: anvil binary missing after npm ci" >&2; exit 1; }
	@touch $@

$(PY_STAMP): pyproject.toml
	@echo "setup: Python virtual environment in $(VENV)/"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

compile: setup
	ape compile

test: setup
	ape test tests

scenario: setup
	ape run scenario

deploy: setup
	ape run deploy

clean:
	rm -rf .build .cache

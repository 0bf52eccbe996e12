# b00t-pulumi: the two commands a newcomer needs are `make up` and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export B00T_CACHE ?= $(HOME)/.cache/b00t-pulumi
export PIP_CACHE_DIR ?= $(B00T_CACHE)/pip

.PHONY: venv lint typecheck unit engine test up down help
help:
	@echo "make up    - build the toolchain, start a local k0s-like API server, pulumi up the examples"
	@echo "make test  - ruff, mypy, unit tests and engine tests"
	@echo "make down  - pulumi destroy and stop the local cluster"

# The virtualenv is rebuilt only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found; install Python 3.11" >&2; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy b00t_pulumi bench tests __main__.py toolchain/localcluster toolchain/cluster.py

unit: venv
	$(BIN)/pytest -q -m 'not engine' -n 2

# Engine tests start their own API servers and Pulumi backends in temporary directories. They
# mostly wait (on clusters, Pulumi and kwok's scaled time): two at a time used 0.6 of the 2 cores,
# so three run at once. Four took 6 min instead of 10.4 but showed timing races in 3 of 5 runs
# (fixed since); three is the margin kept until four is shown clean over many runs.
engine: venv toolchain
	$(BIN)/pytest -q -m engine -n 3 --dist loadfile

# The README's test command: lint, types, unit tests, then the real engine against a real API server.
test: lint typecheck unit engine

# The README's main job: pulumi up of the example stacks against the local k0s-like API server.
up: venv cluster-up
	@bash scripts/up.sh

down:
	@bash scripts/down.sh

include toolchain/toolchain.mk

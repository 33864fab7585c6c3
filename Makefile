# Docflow: the commands a newcomer needs. `make run` and `make test` work on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test unit lint typecheck bench migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

## run: start RabbitMQ/PostgreSQL if down, migrate, seed, run every service and the gateway
run: $(STAMP)
	$(PY) -m services.devstack

## test: the whole suite (unit, integration, e2e) against real RabbitMQ and PostgreSQL
test: $(STAMP)
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest tests/unit

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check services gateway org_svc

typecheck: $(STAMP)
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/rpc.py

migrate: $(STAMP)
	for s in org counterparty contracts payments mail archive notify; do \
		$(PY) -m services.runner migrate $${s}_svc || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

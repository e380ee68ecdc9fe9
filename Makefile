# Entry points of the formula's tooling. `make test` is what CI runs.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/pytest

.PHONY: venv lint test test-render converge kitchen deploy bench clean

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

lint: venv
	$(BIN)/yamllint --strict .
	$(BIN)/salt-lint $$(find glance -name '*.sls') 

test-render: venv
	$(PYTEST) tests/unit

test: lint test-render

clean:
	rm -rf $(VENV) .pytest_cache

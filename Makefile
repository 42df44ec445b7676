PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo demo-serve test test-slow lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint,bench]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/safereport demo

demo-serve: $(STAMP)
	$(BIN)/safereport demo --serve

test: $(STAMP)
	scripts/install-test-deps
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

bench: $(STAMP)
	# -P: bench/http.py must not stand in for the standard library's http module.
	$(BIN)/python -P bench/decide.py
	$(BIN)/python -P bench/log.py
	$(BIN)/python -P bench/verify.py
	$(BIN)/python -P bench/redact.py
	$(BIN)/python -P bench/http.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache

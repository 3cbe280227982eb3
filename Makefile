# Two commands: `make run` serves a demo on 127.0.0.1:8000, `make test` runs every check.
# Both create the virtual environment on first use from the pinned constraints.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat constraints.txt pyproject.toml | cksum | cut -d' ' -f1)
export CEHOURS_DATABASE_URL ?= sqlite:///var/cehours.sqlite3

.PHONY: run test lint typecheck unit bench system-deps clean

$(STAMP): constraints.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

system-deps:
	@sh scripts/system-deps.sh

run: $(STAMP) system-deps
	$(BIN)/cehours db upgrade
	$(BIN)/cehours demo
	$(BIN)/cehours serve --bind 127.0.0.1:8000 --dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) system-deps lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) var/*.sqlite3* .pytest_cache .mypy_cache .ruff_cache

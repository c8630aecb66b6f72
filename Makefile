# `make run` sets everything up and opens ClerkDesk on the demo database;
# `make test` sets everything up and runs the whole test suite (lint and layer checks included).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test portal screenshots benchmarks clean

$(INSTALLED): pyproject.toml scripts/ensure-system-libs
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	scripts/ensure-system-libs $(BIN)/python
	touch $@

run: $(INSTALLED)
	$(BIN)/python main.py --demo

portal: $(INSTALLED)
	$(BIN)/python main.py portal serve --demo

test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

screenshots: $(INSTALLED)
	$(BIN)/python scripts/screenshots.py
	$(BIN)/python scripts/portal_screenshots.py

benchmarks: $(INSTALLED)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache

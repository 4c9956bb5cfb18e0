# Everything installs into .venv in the repository root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install test demo lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest -q tests

demo: install
	$(BIN)/gapviz demo --out demo-output

lint: install
	$(BIN)/ruff check src tests scripts benchmarks

bench: install
	$(BIN)/python benchmarks/bench_compare.py

clean:
	rm -rf $(VENV) demo-output build *.egg-info src/*.egg-info

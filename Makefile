# Everything installs into .venv in the repository root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Blender engine's own environment: bpy 4.5 (CPython 3.11 wheels only) needs numpy<2, TensorFlow numpy>=2.
BLENDER_VENV := .venv-blender
BLENDER_BASE_PYTHON ?= $(shell command -v python3.11 || echo python3)
BLENDER_STAMP := $(BLENDER_VENV)/.installed

export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install blender test demo demo-blender lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

blender: $(BLENDER_STAMP)

$(BLENDER_STAMP):
	test -x $(BLENDER_VENV)/bin/python || $(BLENDER_BASE_PYTHON) -m venv $(BLENDER_VENV)
	$(BLENDER_VENV)/bin/python -m pip install --quiet 'bpy==4.5.*'
	touch $(BLENDER_STAMP)

test: install blender
	$(BIN)/python -m pytest -q tests

demo: install
	$(BIN)/gapviz demo --out demo-output

demo-blender: install blender
	$(BIN)/gapviz demo --engine blender --out demo-output-blender

lint: install
	$(BIN)/ruff check src tests scripts benchmarks

bench: install
	$(BIN)/python benchmarks/bench_compare.py

clean:
	rm -rf $(VENV) $(BLENDER_VENV) demo-output demo-output-blender build *.egg-info src/*.egg-info

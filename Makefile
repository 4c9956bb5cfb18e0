# Everything installs into .venv in the repository root.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export TF_CPP_MIN_LOG_LEVEL ?= 2

# Blender (bpy 4.5 LTS, CPython 3.11 wheels) needs numpy < 2, so it gets its own venv; the tests find it
# through $GAPVIZ_BLENDER_PYTHON or here, and skip the Blender checks (saying why) when it is missing.
BLENDER_PYTHON ?= $(shell command -v python3.11 || echo python3)
BLENDER_VENV := .venv-blender
BLENDER_STAMP := $(BLENDER_VENV)/.installed

.PHONY: install test demo lint bench clean blender-venv

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

blender-venv: $(BLENDER_STAMP)

$(BLENDER_STAMP):
	@test -x $(BLENDER_VENV)/bin/python || $(BLENDER_PYTHON) -m venv $(BLENDER_VENV)
	@if $(BLENDER_VENV)/bin/python -m pip install --quiet 'bpy==4.5.*'; then touch $(BLENDER_STAMP); \
	else echo "warning: bpy 4.5 could not be installed into $(BLENDER_VENV) (it needs CPython 3.11); the Blender tests will be skipped"; fi

test: install blender-venv
	$(BIN)/python -m pytest -q tests

demo: install
	$(BIN)/gapviz demo --out demo-output

lint: install
	$(BIN)/ruff check src tests scripts benchmarks

bench: install
	$(BIN)/python benchmarks/bench_compare.py

clean:
	rm -rf $(VENV) $(BLENDER_VENV) demo-output build *.egg-info src/*.egg-info

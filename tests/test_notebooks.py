"""The example notebooks: built from their scripts, saved without outputs, and run top to bottom.

Each notebook is executed with nbclient in a kernel running this interpreter (a kernelspec made
in a temporary folder, so no ``ipykernel install`` step is needed), with gapviz importable from
this checkout. Any error cell fails the test; so does a run that shows no progress bar.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("[0-9][0-9]_*.ipynb"))

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

sys.path.insert(0, str(EXAMPLES))
import build_notebooks  # noqa: E402

#: wall-clock limit of one cell; each notebook takes well under a minute on a quiet machine
CELL_TIMEOUT = 600


def test_every_script_has_its_notebook():
    scripts = build_notebooks.scripts(EXAMPLES)
    assert [p.stem for p in scripts] == [p.stem for p in NOTEBOOKS]
    assert len(scripts) >= 3


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_built_from_its_script_and_has_no_outputs(notebook):
    assert notebook.read_text(encoding="utf-8") == build_notebooks.render(notebook.with_suffix(".py")), (
        "notebook out of date: run python examples/build_notebooks.py")
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    text = notebook.read_text(encoding="utf-8")
    for local in ("/work/", "/tmp/", "/home/", str(ROOT)):
        assert local not in text


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """A kernelspec that runs this very interpreter, and an environment where gapviz imports
    from this checkout."""
    folder = tmp_path_factory.mktemp("jupyter")
    spec = folder / "kernels" / "gapviz-tests"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "gapviz tests", "language": "python",
    }))
    return folder


def _progress_shown(nb) -> bool:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if "application/vnd.jupyter.widget-view+json" in out.get("data", {}):
                return True
            text = out.get("text", "")
            if out.get("name") == "stderr" and "gapviz:" in text and "100%" in text:
                return True
    return False


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(notebook, kernel, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", str(kernel))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("GAPVIZ_EXAMPLE_OUT", str(tmp_path))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.delenv("CI", raising=False)  # a notebook user's session, not a CI log
    nb = nbformat.read(notebook, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="gapviz-tests", timeout=CELL_TIMEOUT,
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    seconds = time.perf_counter() - start
    print(f"\n{notebook.name}: {seconds:.0f} s")
    errors = [out for cell in nb.cells for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors
    assert _progress_shown(nb), "the notebook run showed no progress bar"
    assert (tmp_path / "report.html").is_file()

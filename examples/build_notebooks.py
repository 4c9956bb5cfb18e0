"""Build the example notebooks from the example scripts, so the two never drift.

Each ``examples/NN_name.py`` is a plain script in the "percent" cell format (the one jupytext and
VS Code read): ``# %%`` starts a code cell, ``# %% [markdown]`` a Markdown cell whose lines are
comments (``# `` stripped). This writes ``NN_name.ipynb`` beside it with nbformat, without outputs
or execution counts, and with the metadata the kernel needs and nothing from this machine.

Usage::

    python examples/build_notebooks.py          # rewrite every notebook
    python examples/build_notebooks.py --check  # exit 1 if a notebook differs from its script
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def scripts(folder: Path = HERE) -> list[Path]:
    """The example scripts, in order (``NN_*.py``)."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.py"))


def _cells(text: str) -> list[tuple[str, list[str]]]:
    cells: list[tuple[str, list[str]]] = []
    kind, lines = None, []
    for line in text.splitlines():
        if line.startswith("# %%"):
            if kind is not None or any(s.strip() for s in lines):
                cells.append((kind or "code", lines))
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        else:
            lines.append(line)
    cells.append((kind or "code", lines))
    return cells


def _strip(lines: list[str]) -> str:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(lines)


def notebook(script: Path) -> nbformat.NotebookNode:
    """The notebook of one script: its docstring-free cells, no outputs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    for kind, lines in _cells(script.read_text(encoding="utf-8")):
        if kind == "markdown":
            text = _strip([line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines])
            if text:
                nb.cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            text = _strip(lines)
            if text:
                nb.cells.append(nbformat.v4.new_code_cell(text))
    for i, cell in enumerate(nb.cells):  # stable ids: the same script gives the same file
        cell["id"] = f"{script.stem[:2]}-{i:02d}"
    return nb


def render(script: Path) -> str:
    return nbformat.writes(notebook(script)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a notebook is out of date")
    args = parser.parse_args(argv)
    stale = []
    for script in scripts():
        target = script.with_suffix(".ipynb")
        text = render(script)
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(target.name)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(HERE.parent)}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python examples/build_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

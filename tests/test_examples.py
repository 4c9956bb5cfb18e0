"""Every Examples block in ``src/gapviz`` runs, and every public definition has one.

The docstrings are the first code a user copies, so they run here as doctests (on the shipped demo model and
built-in scenes; nothing is skipped). A public definition is a name in the ``__all__`` of a public module
(no ``_``-prefixed part in its dotted path), or a public function or class defined in such a module.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import os
import pkgutil

import pytest

import gapviz

# Modules that run only inside Blender's own interpreter (bpy): their examples cannot run here.
BLENDER_ONLY = {"gapviz.scenes.blender._worker"}


def _all_modules() -> list[str]:
    names = ["gapviz"] + [m.name for m in pkgutil.walk_packages(gapviz.__path__, "gapviz.")]
    return sorted(n for n in names if n not in BLENDER_ONLY)


def _public_modules() -> list[str]:
    return [n for n in _all_modules() if not any(part.startswith("_") for part in n.split(".")[1:])]


def _with_examples() -> list[str]:
    out = []
    for name in _all_modules():
        spec = importlib.util.find_spec(name)
        with open(spec.origin, encoding="utf-8") as fh:
            if ">>>" in fh.read():
                out.append(name)
    return out


@pytest.fixture
def in_tmp(tmp_path):
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@pytest.mark.parametrize("module", _with_examples())
def test_examples_run(module, in_tmp):
    mod = importlib.import_module(module)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(mod, module, globs=vars(mod).copy()) if t.examples]
    if not tests:
        pytest.skip(f"{module}: '>>>' appears in its source outside a docstring")
    skipped = [f"{t.name}:{ex.lineno}" for t in tests for ex in t.examples if ex.options.get(doctest.SKIP)]
    assert not skipped, f"examples marked +SKIP (make them runnable): {skipped}"
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {module}"


def _public_definitions() -> dict[str, object]:
    seen: dict[str, object] = {}
    for name in _public_modules():
        mod = importlib.import_module(name)
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [n for n, o in vars(mod).items() if not n.startswith("_") and getattr(o, "__module__", "") == name]
        for n in names:
            obj = getattr(mod, n)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                seen.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return seen


def test_every_public_definition_has_examples():
    defs = _public_definitions()
    missing = sorted(k for k, obj in defs.items() if ">>>" not in (inspect.getdoc(obj) or ""))
    assert len(defs) > 100
    assert not missing, f"{len(missing)} public definitions without an Examples block: {', '.join(missing)}"

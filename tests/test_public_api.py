"""The front door: the exported names, a cheap import, and the version."""

import subprocess
import sys

import gapviz

EXPECTED = {
    "GapResult",
    "GapvizError",
    "LayerInfo",
    "Tapper",
    "__version__",
    "compare",
    "demo_model",
    "list_layers",
    "load_camera",
    "load_model",
    "render_pair",
    "render_scene",
    "renderer_settings",
    "tap",
}


def test_all_is_pinned():
    assert set(gapviz.__all__) == EXPECTED


def test_import_does_not_import_tensorflow():
    code = "import sys, gapviz; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gapviz.nope  # noqa: B018


def test_public_functions_are_not_shadowed_by_submodules():
    """Importing every submodule must leave gapviz.compare etc. callable (a submodule of the same
    name would replace the attribute on import)."""
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(gapviz.__path__, "gapviz."):
        if "templates" not in info.name:
            importlib.import_module(info.name)
    for name in gapviz.__all__:
        if name not in ("__version__", "GapvizError", "GapResult", "LayerInfo", "Tapper"):
            assert callable(getattr(gapviz, name)), name
